"""The Arrow I/O manager: upstream relations in, returned frames out.

``load`` reads a relation as the kind a Python asset's parameter asks for (see
``compiler.assets.input_kind``); ``scannable`` turns whatever the asset returned into an
object DuckDB can scan in place (no per-row Python, no CSV).
"""

from __future__ import annotations

from typing import Any

from teal.compiler.assets import SUPPORTED_INPUTS


class UnsupportedOutput(TypeError):
    """A Python asset returned something teal cannot write."""


def load(cur: Any, select_sql: str, kind: str) -> Any:
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
        return rel.df()
    raise ValueError(f"unknown input kind {kind!r}")


def scannable(obj: Any) -> Any:
    """An Arrow-compatible object DuckDB can ``CREATE TABLE ... AS SELECT * FROM``."""
    module = (type(obj).__module__ or "").split(".")[0].lstrip("_")
    name = type(obj).__name__
    if module == "pyarrow" and name in ("Table", "RecordBatchReader"):
        return obj
    if module == "pyarrow" and name == "RecordBatch":
        import pyarrow as pa

        return pa.Table.from_batches([obj])
    if module == "polars" and name == "DataFrame":
        return obj.to_arrow()
    if module == "polars" and name == "LazyFrame":
        return obj.collect().to_arrow()
    if module == "pandas" and name == "DataFrame":
        return obj
    if module == "duckdb" and name == "DuckDBPyRelation":
        return obj.to_arrow_table()
    if obj is None:
        raise UnsupportedOutput("returned None (is a `return` missing?)")
    owner = type(obj).__module__
    shown = type(obj).__qualname__ if owner == "builtins" else f"{owner}.{type(obj).__qualname__}"
    raise UnsupportedOutput(f"returned {shown}")


SUPPORTED_OUTPUTS = SUPPORTED_INPUTS
