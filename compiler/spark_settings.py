"""The Spark settings of a target: where Spark runs and where its tables live.

::

    [targets.spark]
    engine = "spark"
    [targets.spark.spark]
    master = "local[2]"                 # a local session (the default: local[*])
    # remote = "sc://spark-connect:15002"   # or a Spark Connect server
    warehouse_dir = ".teal/spark-warehouse" # tables, metastore and state (project-relative)
    table_format = "parquet"            # parquet (default), delta or iceberg
    catalog = "spark_catalog"           # the catalog models' schemas live in
    database = "default"                # the current database of the user's statements
    arrow_warn_rows = 5000000           # collecting more rows than this to Python warns
    [targets.spark.spark.conf]          # any Spark setting, by Spark's name
    "spark.sql.shuffle.partitions" = "8"

An unknown key is an error naming the file and line, with the closest known key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teal.compiler.errors import ProjectError, did_you_mean

TABLE_FORMATS = ("parquet", "delta", "iceberg")
# key -> (type, what it must be)
SPARK_KEYS: dict[str, tuple[type, str]] = {
    "master": (str, 'a Spark master URL such as "local[2]"'),
    "remote": (str, 'a Spark Connect URL such as "sc://host:15002"'),
    "catalog": (str, "a catalog name"),
    "database": (str, "a database name"),
    "warehouse_dir": (str, "a folder"),
    "table_format": (str, "parquet, delta or iceberg"),
    "arrow_warn_rows": (int, "a number of rows"),
    "conf": (dict, "a table of Spark settings"),
}


@dataclass(frozen=True)
class SparkSettings:
    """Where a Spark target runs and keeps its tables (paths absolute)."""

    warehouse_dir: Path
    master: str = "local[*]"
    remote: str | None = None
    catalog: str | None = None
    database: str | None = None
    table_format: str = "parquet"
    arrow_warn_rows: int = 5_000_000
    conf: dict[str, str] = field(default_factory=dict)

    @property
    def stamp(self) -> Path:
        """The file the engine rewrites after each build that changed something: its
        identity tells a cached plan state that the warehouse changed (runtime/kept_state)."""
        return self.warehouse_dir / "teal.stamp"


def parse_spark_settings(
    raw: dict[str, Any],
    root: Path,
    where: str,
    config_file: str,
    key_line: Callable[[str], int | None],
) -> SparkSettings:
    """``[targets.<name>.spark]`` checked key by key (``where`` names the table)."""
    for key, value in raw.items():
        if key not in SPARK_KEYS:
            raise ProjectError(
                f"unknown key '{key}' in {where}",
                path=config_file,
                line=key_line(key),
                hint=did_you_mean(key, SPARK_KEYS) or "known: " + ", ".join(sorted(SPARK_KEYS)),
            )
        kind, what = SPARK_KEYS[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ProjectError(
                f"{where}.{key} must be {what}, got {value!r}",
                path=config_file,
                line=key_line(key),
            )
    fmt = str(raw.get("table_format", "parquet")).lower()
    if fmt not in TABLE_FORMATS:
        raise ProjectError(
            f"{where}.table_format must be one of {', '.join(TABLE_FORMATS)}, got {fmt!r}",
            path=config_file,
            line=key_line("table_format"),
        )
    if "master" in raw and "remote" in raw:
        raise ProjectError(
            f"{where} sets both master and remote",
            path=config_file,
            line=key_line("remote"),
            hint="master runs Spark in this process (local[2]); remote connects to Spark Connect",
        )
    conf = raw.get("conf", {})
    return SparkSettings(
        warehouse_dir=(root / str(raw.get("warehouse_dir", ".teal/spark-warehouse"))).resolve(),
        master=str(raw.get("master", "local[*]")),
        remote=raw.get("remote"),
        catalog=raw.get("catalog"),
        database=raw.get("database"),
        table_format=fmt,
        arrow_warn_rows=int(raw.get("arrow_warn_rows", 5_000_000)),
        conf={str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in conf.items()},
    )
