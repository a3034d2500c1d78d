"""Arrow in and out of Spark.

In: Arrow-compatible rows (a Python asset's output) are written as one Parquet file in the
warehouse folder's ``_staging`` and read by Spark from there (a local session and its
executors share the disk), so no rows go through Python objects one by one. Out: a
query's rows collected through Arrow; above ``arrow_warn_rows`` rows a warning says that
they all went through this one process.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

    from teal.warehouse.spark.session import SparkSQL


def _as_arrow(data: Any) -> pa.Table | pa.RecordBatchReader:
    import pyarrow as pa

    if isinstance(data, (pa.Table, pa.RecordBatchReader)):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if type(data).__module__.startswith("pyspark"):
        return collect(data)
    return pa.Table.from_pandas(data, preserve_index=False)


@contextlib.contextmanager
def staged(sql: SparkSQL, data: Any) -> Iterator[str]:
    """``data`` as a Spark query source for the block (``parquet.`<file>```)."""
    import pyarrow.parquet as pq

    if type(data).__module__.startswith("pyspark"):  # a Spark DataFrame: a view, no copy
        name = f"__teal_frame_{uuid.uuid4().hex}"
        data.createOrReplaceTempView(name)
        try:
            yield f"`{name}`"
        finally:
            sql.session.catalog.dropTempView(name)
        return
    folder = sql.settings.warehouse_dir / "_staging"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.parquet"
    table = _as_arrow(data)
    try:
        if hasattr(table, "read_next_batch"):  # a stream: written batch by batch
            with pq.ParquetWriter(path, table.schema) as writer:
                for batch in table:
                    writer.write_batch(batch)
        else:
            pq.write_table(table, path)
        yield f"parquet.`{path.as_uri()}`"
    finally:
        path.unlink(missing_ok=True)


def collect(frame: DataFrame, warn_rows: int | None = None) -> pa.Table:
    """A Spark DataFrame's rows as one Arrow table."""
    import pyarrow as pa

    if hasattr(frame, "_collect_as_arrow"):  # a classic session
        from pyspark.sql.pandas.types import to_arrow_schema

        batches = frame._collect_as_arrow()
        table = pa.Table.from_batches(batches, schema=to_arrow_schema(frame.schema))
    else:  # Spark Connect
        connect: Any = frame
        table = connect._to_table()[0]
    if warn_rows is not None and table.num_rows > warn_rows:
        logging.getLogger("teal").warning(
            "collected %s rows from Spark into this process through Arrow (more than "
            "arrow_warn_rows = %s): a Python model this large is better written for Spark",
            f"{table.num_rows:,}",
            f"{warn_rows:,}",
        )
    return table


def as_kind(table: pa.Table, frame: DataFrame, kind: str) -> Any:
    """``table`` (the rows of ``frame``) as what a Python asset asked for."""
    if kind == "spark":
        return frame
    if kind == "arrow":
        return table
    if kind == "arrow_reader":
        return table.to_reader()
    if kind in ("polars", "polars_lazy"):
        import polars as pl

        found = pl.from_arrow(table)
        assert isinstance(found, pl.DataFrame)
        return found.lazy() if kind == "polars_lazy" else found
    if kind == "pandas":
        return table.to_pandas()
    raise ValueError(f"input kind {kind!r} is not available on the Spark engine")
