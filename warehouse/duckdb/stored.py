"""A Python asset's rows handed to its I/O manager (``BuildTarget.store``): audited by the
asset's checks first (a failing one means the manager is never called), saved in the
transaction that records them, with the view the manager offers, if any."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from teal.warehouse.duckdb import state
from teal.warehouse.duckdb.external import Part
from teal.warehouse.duckdb.file_sql import replace_view
from teal.warehouse.duckdb.io import registered
from teal.warehouse.duckdb.partitions import place_rows
from teal.warehouse.duckdb.sql import SQL
from teal.warehouse.duckdb.transactions import (
    Check,
    now,
    record_model_build,
    record_partition_build,
    transaction,
)
from teal.warehouse.engine import BuildTarget, Built, PartitionRowsError
from teal.warehouse.io import as_table

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection


def write_stored(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    data: Any,
    audit: Check,
    *,
    key: str | None = None,
    keys: tuple[str, ...] = (),
    partition_filter: str = "",
) -> Built:
    """A Python asset's rows audited, then saved by its I/O manager (``target.store``) in
    the transaction that records them; the view the manager offers, if any, is created
    there too. A failing check means the manager is never called."""
    store = target.store
    assert store is not None
    table = as_table(data)
    started = now()
    with registered(cur, table, (target.model, key)) as view, transaction(cur):
        if partition_filter:
            row = cur.execute(
                f"SELECT count(*) FROM {view} WHERE NOT coalesce(({partition_filter}), false)"
            ).fetchone()
            if row and row[0]:
                raise PartitionRowsError(
                    f"{row[0]:,} of {table.num_rows:,} rows do not belong to partition {key} "
                    f"(they fail {partition_filter})"
                )
        if audit is not None:
            audit(view)
        store.save(table, keys or ((key,) if key is not None else ()))
        relation = store.relation()
        kind: str | None = None
        tag: str | None = None
        if relation:
            tag = replace_view(cur, target, SQL.select_all(relation))
            kind = "view"
        finished = now()
        if key is None and not keys:
            record_model_build(cur, target, table.num_rows, started)
        elif key is not None:
            record_partition_build(cur, target, key, table.num_rows, started)
    if kind is not None:
        target.committed(kind, tag)
    return Built(rows=table.num_rows, started_at=started, finished_at=finished)


def stored_partitions(
    cur: DuckDBPyConnection, target: BuildTarget, parts: list[Part], audit: Check
) -> Built:
    """``--full-refresh`` of a partitioned asset an I/O manager stores: each partition
    saved and recorded in turn (as a multi_run build), then the build's row."""
    started = now()
    total = 0
    for key, make, partition_filter in parts:
        data = make() if callable(make) else make
        built = write_stored(cur, target, data, audit, key=key, partition_filter=partition_filter)
        total += built.rows or 0
    with transaction(cur):
        finished = record_model_build(cur, target, total, started)
    return Built(rows=total, started_at=started, finished_at=finished)


def stored_single_run(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    windows: list[tuple[str, datetime, datetime]],
    data: Any,
    column: str,
    audit: Check,
) -> Built:
    """Many time partitions from one call, saved by the I/O manager in one ``save``: every
    row must fall in one of the windows, and each partition is recorded with its rows, in
    the transaction of the save."""
    table = as_table(data)
    keys = tuple(k for k, _, _ in windows)
    started = now()
    with registered(cur, table, (target.model, "range")) as view, transaction(cur):
        counts, outside = place_rows(cur, target.model, view, windows, column)
        if outside:
            raise PartitionRowsError(
                f"{outside:,} rows fall outside the {len(windows)} partitions being built "
                f"({keys[0]}..{keys[-1]})"
            )
        if audit is not None:
            audit(view)
        store = target.store
        assert store is not None
        store.save(table, keys)
        relation = store.relation()
        tag = replace_view(cur, target, SQL.select_all(relation)) if relation else None
        finished = now()
        state.record_partitions(
            cur,
            run_id=target.run_id,
            model=target.model,
            counts=[(k, counts.get(k, 0)) for k in keys],
            sql_hash=target.sql_hash,
            started_at=started,
            finished_at=finished,
            duration_ms=(finished - started).total_seconds() * 1000.0 / max(len(keys), 1),
            versions=target.partition_versions,
        )
    if tag is not None:
        target.committed("view", tag)
    return Built(rows=table.num_rows, started_at=started, finished_at=finished)
