"""What a Python asset's ``context`` parameter receives."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AssetContext:
    """The running asset: its name, relation, run id, a logger and the warehouse cursor.

    ``context.log.info(...)`` messages appear in the build output under the asset's name.
    ``context.cursor`` is this worker's DuckDB cursor, for assets that want to run SQL.
    """

    asset_name: str
    relation: str
    run_id: str
    log: logging.Logger
    cursor: Any = field(default=None, repr=False)
    vars: dict[str, Any] = field(default_factory=dict)
    partition_key: str | None = None  # the partition being built (partitioned assets)
    partition_window: tuple[Any, Any] | None = None  # [start, end) of a time partition
    # every key of this run: one, or several with backfill_policy='single_run'
    partition_keys: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.asset_name

    @property
    def has_partition_key(self) -> bool:
        return self.partition_key is not None


def asset_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(f"teal.asset.{name}")
    return logger
