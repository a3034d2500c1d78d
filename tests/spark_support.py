"""The local Spark session the Spark tests share, and the cleanup between them."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def start_test_session(folder: Path) -> Any:
    """A ``local[2]`` session with its metastore in ``folder`` (teal's settings otherwise)."""
    from teal.compiler.spark_settings import SparkSettings
    from teal.warehouse.spark.session import start_session

    return start_session(SparkSettings(warehouse_dir=folder, master="local[2]"))


def drop_databases(session: Any) -> None:
    """Drop every database but ``default`` (each test's tables are its own)."""
    for database in session.catalog.listDatabases():
        if database.name != "default":
            session.sql(f"DROP DATABASE IF EXISTS `{database.name}` CASCADE")
