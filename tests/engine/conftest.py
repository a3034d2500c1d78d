"""The engine-interface suite: every test takes ``engine``, an open ``Engine`` on a real
file in tmp_path. A second implementation runs the same suite by adding itself to
``IMPLEMENTATIONS`` (and a way to write its expected SQL for ``make_rows``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from teal.warehouse.engine import BuildTarget, Engine


def _duckdb(path: Path) -> Engine:
    from teal.warehouse.duckdb import DuckDBEngine

    return DuckDBEngine(path / "warehouse.duckdb")


IMPLEMENTATIONS: dict[str, Callable[[Path], Engine]] = {"duckdb": _duckdb}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    opened = IMPLEMENTATIONS[request.param](tmp_path)
    opened.ensure_schemas({"main", "marts"})
    try:
        yield opened
    finally:
        opened.close()


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
