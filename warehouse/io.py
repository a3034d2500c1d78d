"""What a Python asset returns, made Arrow-compatible for any engine to write.

``scannable`` turns whatever the asset returned into an object an engine can scan in place
(no per-row Python, no CSV); reading inputs is the engine cursor's ``load``.
"""

from __future__ import annotations

from typing import Any

from teal.compiler.assets import SUPPORTED_INPUTS


class UnsupportedOutput(TypeError):
    """A Python asset returned something teal cannot write."""


def scannable(obj: Any) -> Any:
    """An Arrow-compatible object an engine writes as a table (Arrow, or pandas)."""
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
    if module == "pyspark" and name == "DataFrame":  # the Spark engine reads it in place
        return obj
    if obj is None:
        raise UnsupportedOutput("returned None (is a `return` missing?)")
    owner = type(obj).__module__
    shown = type(obj).__qualname__ if owner == "builtins" else f"{owner}.{type(obj).__qualname__}"
    raise UnsupportedOutput(f"returned {shown}")


SUPPORTED_OUTPUTS = SUPPORTED_INPUTS


def as_table(obj: Any) -> Any:
    """A ``pyarrow.Table`` of scannable data (a stream read whole, pandas converted): what
    an I/O manager saves, after the same rows were audited."""
    import pyarrow as pa

    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatchReader):
        return obj.read_all()
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    return pa.Table.from_pandas(obj, preserve_index=False)
