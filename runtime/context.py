"""What a Python asset's ``context`` parameter receives."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
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
    log: logging.Logger | logging.LoggerAdapter[logging.Logger]
    cursor: Any = field(default=None, repr=False)
    vars: dict[str, Any] = field(default_factory=dict)
    partition_key: str | None = None  # the partition being built (partitioned assets)
    partition_window: tuple[Any, Any] | None = None  # [start, end) of a time partition
    # every key of this run: one, or several with backfill_policy='single_run'
    partition_keys: tuple[str, ...] = ()
    # the run's resources this asset names (``context.resources.api``) and its run config
    resources: Resources = field(default_factory=lambda: Resources({}))
    config: Any = None

    @property
    def name(self) -> str:
        return self.asset_name

    @property
    def has_partition_key(self) -> bool:
        return self.partition_key is not None


class Resources:
    """The resources of a run by attribute: ``context.resources.api``."""

    def __init__(self, by_name: Mapping[str, Any]) -> None:
        self._by_name = dict(by_name)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise AttributeError(f"no resource '{name}' in this run (resources: {known})") from None

    def __repr__(self) -> str:
        return f"Resources({', '.join(sorted(self._by_name))})"


def asset_logger(
    name: str, redact: Callable[[str], str] | None = None
) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The logger of asset ``name``; with ``redact``, one that hides the run's secrets from
    every message (arguments and tracebacks included) before any handler sees it."""
    logger = logging.getLogger(f"teal.asset.{name}")
    return _Redacting(logger, redact) if redact is not None else logger


class _Redacting(logging.LoggerAdapter[logging.Logger]):
    def __init__(self, logger: logging.Logger, redact: Callable[[str], str]) -> None:
        super().__init__(logger, {})
        self.redact = redact

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        info = kwargs.pop("exc_info", None)
        if info:
            text += (
                "\n"
                + "".join(
                    traceback.format_exception(info)
                    if isinstance(info, BaseException)
                    else traceback.format_exc()
                ).rstrip()
            )
        kwargs.setdefault("stacklevel", 2)
        self.logger.log(level, self.redact(text), **kwargs)
