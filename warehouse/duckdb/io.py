"""Arrow in and out of DuckDB: upstream relations read as the kind a Python asset asks
for, and Arrow-compatible objects exposed to SQL, scanned in place (no copy)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from teal.warehouse.duckdb.sql import quote

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection


@contextmanager
def registered(cur: DuckDBPyConnection, data: Any, hint: Any = "") -> Iterator[str]:
    """Expose an Arrow-compatible object to SQL on ``cur`` for the block; yields its quoted
    name (DuckDB scans it in place, no copy)."""
    name = f"__teal_input_{abs(hash((id(data), hint)))}"
    cur.register(name, data)
    try:
        yield quote(name)
    finally:
        cur.unregister(name)


def load(cur: DuckDBPyConnection, select_sql: str, kind: str) -> Any:
    """Run ``select_sql`` on ``cur`` and return its rows as ``kind``."""
    rel = cur.sql(select_sql)
    if kind == "duckdb":
        return rel
    if kind == "arrow":
        return rel.to_arrow_table()
    if kind == "arrow_reader":
        return rel.to_arrow_table().to_reader()
    if kind == "polars":
        return rel.pl()
    if kind == "polars_lazy":
        return rel.pl().lazy()
    if kind == "pandas":
        return _pandas(cur, rel.to_arrow_table())
    if kind == "spark":
        raise ValueError(
            'a pyspark.sql.DataFrame input needs a Spark target (engine = "spark"); '
            "on DuckDB annotate it as pyarrow.Table, polars.DataFrame or duckdb.DuckDBPyRelation"
        )
    raise ValueError(f"unknown input kind {kind!r}")


def _pandas(cur: DuckDBPyConnection, table: Any) -> Any:
    """The rows as DuckDB's ``df()`` gives them (nullable integers, datetime64 dates), but
    with DECIMAL columns as Decimal objects, exact (``df()`` gives float64): one run of
    the query, its Arrow table read twice in the same order."""
    import pyarrow as pa

    frame = cur.from_arrow(table).df()
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            frame[field.name] = table.column(i).to_pandas()
    return frame
