"""The engine-interface suite: every test takes ``engine``, an open ``Engine`` on a real
file (DuckDB) or folder (Spark) in tmp_path. An implementation runs the same suite by
adding itself to ``IMPLEMENTATIONS``.

The Spark cases run on one local session for the whole test session (starting a JVM costs
seconds); each test's databases live in its own tmp_path and are dropped after it. They
are marked ``spark`` and ``slow``: ``-m "not spark"`` skips them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from teal.warehouse.engine import BuildTarget, Engine


def _duckdb(path: Path) -> Engine:
    from teal.warehouse.duckdb import DuckDBEngine

    return DuckDBEngine(path / "warehouse.duckdb")


def _spark(path: Path) -> Engine:
    from teal.compiler.spark_settings import SparkSettings
    from teal.warehouse.spark import SparkEngine

    return SparkEngine(SparkSettings(warehouse_dir=path / "spark-warehouse", master="local[2]"))


IMPLEMENTATIONS: dict[str, Callable[[Path], Engine]] = {"duckdb": _duckdb, "spark": _spark}


@pytest.fixture(
    params=[
        "duckdb",
        pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.slow]),
    ]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "spark":
        request.getfixturevalue("spark_session")
    opened = IMPLEMENTATIONS[request.param](tmp_path)
    opened.ensure_schemas({"main", "marts"})
    try:
        yield opened
    finally:
        opened.close()
        if request.param == "spark":
            from tests.spark_support import drop_databases

            drop_databases(request.getfixturevalue("spark_session"))


@pytest.fixture
def target() -> Callable[..., BuildTarget]:
    def make(name: str = "orders", materialization: str = "table", **kw: object) -> BuildTarget:
        return BuildTarget(
            model=name,
            schema=str(kw.get("schema", "marts")),
            name=name,
            materialization=materialization,
            sql_hash=str(kw.get("sql_hash", "h1")),
            run_id=str(kw.get("run_id", "r1")),
        )

    return make
