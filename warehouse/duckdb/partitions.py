"""Partitioned tables: one partition replaced in one transaction, a full refresh of every
partition swapped in at once, and many time partitions replaced from one query
(``backfill_policy='single_run'``). Each writes its partitions' state rows in the same
transaction as their rows. The SQL here is DuckDB's own (``error()``, ``count_if``,
``date_trunc``, ASOF joins).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any

from teal.warehouse.duckdb import state
from teal.warehouse.duckdb.io import registered
from teal.warehouse.duckdb.schema_change import aligned
from teal.warehouse.duckdb.sql import SQL, qualified, quote
from teal.warehouse.duckdb.sql import string_literal as _literal
from teal.warehouse.duckdb.transactions import (
    NEW_SUFFIX,
    Check,
    existing,
    in_transaction,
    insert_by_name,
    now,
    record_partition_build,
    stage_name,
    swap_in,
    transaction,
)
from teal.warehouse.engine import BuildTarget, Built, PartitionRowsError, PartitionWrite

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

OUTSIDE = "__teal_row_outside_partition"  # the error a guarded insert raises


def replace_partition(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    key: str,
    source: Any,
    partition_filter: str,
    *,
    exists: bool | None = None,
    has_rows: bool = True,
    audit: Check = None,
) -> Built:
    """Replace one partition in one transaction: delete the partition's old rows, insert the
    new ones (checking that every one of them belongs to the partition), record it.
    ``has_rows=False`` (the table was created by this step, before this partition) skips
    the delete.

    ``source`` is SQL, or an Arrow-compatible object (Python assets). A kill at any point
    leaves the old partition or the new one, never both and never neither. ``exists`` says
    whether the table exists (None: look it up), saving a catalog query per partition.
    Statements are kept few, since each costs a fixed overhead paid once per partition: the
    rows go straight from the query into the table, guarded by ``error()`` on any row
    outside the partition (which aborts the transaction; they are counted afterwards, for
    the message). A stream from Python is staged first, since it can be read only once.
    """
    relation = qualified(target.schema, target.name)
    started = now()
    where = f" WHERE {partition_filter}" if partition_filter else ""
    if exists is None:
        exists = existing(cur, target) is not None
    try:
        with ExitStack() as scope, transaction(cur):
            if isinstance(source, str):
                rows_sql = SQL.select_all(f"(\n{source}\n)")
            else:
                view = scope.enter_context(registered(cur, source, (target.model, key)))
                if _row_count(source) is None:  # a stream: stage what arrives
                    view, stream = stage_name(target.model), view
                    cur.execute(SQL.create_as(view, SQL.select_all(stream), kind="TEMP TABLE"))
                rows_sql = SQL.select_all(view)
            if exists:  # the model's columns against the table's (on_schema_change)
                rows_sql = SQL.select_all(
                    aligned(cur, target, f"({rows_sql})", same_query=isinstance(source, str))
                )
            guarded = rows_sql
            if partition_filter:
                guarded = (
                    f"{rows_sql} AS __teal_rows WHERE CASE WHEN coalesce(({partition_filter}), "
                    f"false) THEN true ELSE error('{OUTSIDE}') END"
                )
            if not exists:
                rows = cur.execute(SQL.create_from(relation, f"({guarded})")).fetchall()[0][0]
            else:
                if has_rows:
                    cur.execute(SQL.delete(relation, partition_filter))
                rows = insert_by_name(cur, target, f"({guarded})")
            if audit is not None:  # the partition's new rows, before they are published
                audit(f"(SELECT * FROM {relation}{where})")
            finished = record_partition_build(cur, target, key, rows, started)
    except Exception as exc:
        if OUTSIDE not in str(exc):
            raise
        raise _outside_partition(cur, target, key, source, partition_filter) from None
    target.committed("table")
    return Built(rows=int(rows), started_at=started, finished_at=finished)


def replace_partition_group(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    writes: Sequence[PartitionWrite],
    audits: Sequence[Check],
    *,
    has_rows: bool = True,
    covering: str | None = None,
) -> list[int]:
    """Replace several partitions of an existing table in one transaction, each from its
    own query: the rows of each partition's query, guarded as :func:`replace_partition`
    guards them, go in with one INSERT of their UNION ALL, the old rows out with one
    DELETE, the state rows in with one statement. Each write's audit sees its partition's
    new rows alone (``audits``: each write's audit, bound to ``cur``). Any failure rolls back the whole group (the caller then replaces its
    partitions one at a time, so that a failure is one partition's). The rows of each
    write, in order.

    A partition costs a few statements and a commit when replaced alone (the fixed cost
    of a daily backfill); here that is paid once per group. ``covering``: one predicate
    selecting exactly the group's partitions (contiguous time windows), cheaper to scan
    with than the OR of their filters.
    """
    if not writes or not all(w.partition_filter for w in writes):
        raise ValueError("a group of partitions needs each partition's filter")
    relation = qualified(target.schema, target.name)
    started = now()
    filters = [w.partition_filter for w in writes]
    either = covering or " OR ".join(f"({f})" for f in filters)
    branches = "\nUNION ALL BY NAME\n".join(
        f"SELECT * FROM (\n{w.sql}\n) AS __teal_rows WHERE CASE WHEN coalesce(({f}), false) "
        f"THEN true ELSE error('{OUTSIDE}') END"
        for w, f in zip(writes, filters)
    )
    try:
        with transaction(cur):
            if has_rows:
                cur.execute(SQL.delete(relation, either))
            source = aligned(cur, target, f"(\n{branches}\n)")
            insert_by_name(cur, target, source)
            which = " ".join(f"WHEN {f} THEN {i}" for i, f in enumerate(filters))
            found = dict(
                cur.execute(
                    f"SELECT CASE {which} END, count(*) FROM {relation} WHERE {either} GROUP BY 1"
                ).fetchall()
            )
            for check, f in zip(audits, filters):
                if check is not None:  # the partition's new rows, before they are published
                    check(f"(SELECT * FROM {relation} WHERE {f})")
            counts = [(w.key, int(found.get(i, 0))) for i, w in enumerate(writes)]
            finished = now()
            state.record_partitions(
                cur,
                run_id=target.run_id,
                model=target.model,
                counts=counts,
                sql_hash=target.sql_hash,
                started_at=started,
                finished_at=finished,
                duration_ms=(finished - started).total_seconds() * 1000.0 / len(writes),
                versions=target.partition_versions,
            )
    except Exception as exc:
        if OUTSIDE not in str(exc):
            raise
        raise PartitionRowsError("rows outside their partition in a group of partitions") from None
    target.committed("table")
    return [n for _, n in counts]


def _outside_partition(
    cur: DuckDBPyConnection, target: BuildTarget, key: str, source: Any, partition_filter: str
) -> PartitionRowsError:
    """The error for rows outside their partition, with how many (read again to count)."""
    try:
        with ExitStack() as scope:
            # a cursor of its own: the failed one may still hold a Python asset's input stream
            own = cur.cursor()
            scope.callback(own.close)
            rows_sql = (
                f"({source})"
                if isinstance(source, str)
                else scope.enter_context(registered(own, source, (target.model, key, "count")))
            )
            total, outside = own.execute(
                f"SELECT count(*), count_if(NOT coalesce(({partition_filter}), false)) "
                f"FROM {rows_sql} AS __teal_rows"
            ).fetchall()[0]
        return PartitionRowsError(
            f"{outside:,} of {total:,} rows do not belong to partition {key} "
            f"(they fail {partition_filter})"
        )
    except Exception:  # noqa: BLE001 - a stream cannot be read twice
        return PartitionRowsError(
            f"rows do not belong to partition {key} (they fail {partition_filter})"
        )


def _row_count(data: Any) -> int | None:
    rows = getattr(data, "num_rows", None)
    if rows is None and hasattr(data, "shape"):  # pandas
        rows = data.shape[0]
    return int(rows) if rows is not None else None


def rebuild_partitions(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    parts: list[tuple[str, Any, str]],
    audit: Check = None,
) -> Built:
    """``--full-refresh`` of a partitioned model: every partition built into a new table,
    swapped in atomically with all the partition records (one transaction). Each part is
    (key, SQL or a callable returning an Arrow-compatible object, partition filter)."""
    staged = qualified(target.schema, target.name + NEW_SUFFIX)
    started = now()

    def body() -> int:
        total = 0
        cur.execute(SQL.drop(staged, if_exists=True))
        stage = stage_name(target.model)
        for i, (key, sql, partition_filter) in enumerate(parts):
            t0 = now()
            source = sql() if callable(sql) else sql  # a callable: a Python asset's rows
            if isinstance(source, str):
                cur.execute(SQL.create_as(stage, source, kind="TEMP TABLE"))
            else:
                with registered(cur, source, (target.model, key)) as view:
                    cur.execute(SQL.create_as(stage, SQL.select_all(view), kind="TEMP TABLE"))
            if partition_filter:
                outside = cur.execute(
                    f"SELECT count(*) FROM {stage} WHERE NOT coalesce(({partition_filter}), false)"
                ).fetchall()[0][0]
                if outside:
                    raise PartitionRowsError(f"{outside:,} rows do not belong to partition {key}")
            if i == 0:
                rows = cur.execute(SQL.create_from(staged, stage)).fetchall()[0][0]
            else:
                rows = cur.execute(SQL.insert_by_name(staged, stage)).fetchall()[0][0]
            cur.execute(SQL.drop(stage))
            record_partition_build(cur, target, key, int(rows), t0)
            total += int(rows)
        if audit is not None:
            audit(staged)
        swap_in(cur, target)
        return total

    built = in_transaction(cur, target, body)
    return Built(rows=built.rows, started_at=started, finished_at=built.finished_at)


def record_partition_failure(
    cur: DuckDBPyConnection, target: BuildTarget, key: str, started: datetime, message: str
) -> None:
    """A failed attempt at partition ``key``, rolled back: recorded as an error carrying the
    data version of the rows it left in place (compiler/versions.py)."""
    state.record_partition(
        cur,
        run_id=target.run_id,
        model=target.model,
        key=key,
        status="error",
        rows=None,
        sql_hash=target.sql_hash,
        started_at=started,
        finished_at=now(),
        message=message[:2000],
        # the attempt rolled back: its readers still read the rows of the last success
        data_version=state.standing_version(cur, target.model, key),
    )


def replace_partitions_single_run(
    cur: DuckDBPyConnection,
    target: BuildTarget,
    windows: list[tuple[str, datetime, datetime]],
    source: Any,
    column: str,
    audit: Check = None,
) -> Built:
    """Replace many time partitions from one query or frame (``backfill_policy='single_run'``).

    One transaction: stage the rows, place each in its partition's window (an ASOF join on
    the window starts, so the cost is a sort, not rows x windows), fail if any falls outside
    every window, delete those windows' old rows, insert, and record every partition with
    its row count. A kill leaves all of them old or all of them new.
    """
    relation = qualified(target.schema, target.name)
    stage = stage_name(target.model)
    col = quote(column)
    started = now()

    # a bound's literal: its offset written in the hour clocks repeat in autumn
    from teal.compiler.partition_sql import timestamp_literal as ts

    # contiguous runs of windows: the delete predicate
    runs: list[list[datetime]] = []
    for _, lo, hi in windows:
        if runs and runs[-1][1] == lo:
            runs[-1][1] = hi
        else:
            runs.append([lo, hi])
    in_windows = " OR ".join(f"({col} >= {ts(lo)} AND {col} < {ts(hi)})" for lo, hi in runs)
    with transaction(cur):
        # a new table is written directly (one copy of the rows); an existing one via a stage
        exists = existing(cur, target) is not None
        into = stage if exists else relation
        kind = "TEMP TABLE" if exists else "TABLE"
        if isinstance(source, str):
            cur.execute(SQL.create_as(into, source, kind=kind))
        else:
            with registered(cur, source, target.model) as view:
                cur.execute(SQL.create_as(into, SQL.select_all(view), kind=kind))
        stage = into
        counts, outside = place_rows(cur, target.model, stage, windows, column)
        if outside:
            raise PartitionRowsError(
                f"{outside:,} rows fall outside the {len(windows)} partitions being built "
                f"({windows[0][0]}..{windows[-1][0]})"
            )
        if audit is not None:
            audit(stage)
        if exists:
            cur.execute(SQL.delete(relation, in_windows))
            insert_by_name(cur, target, aligned(cur, target, stage, same_query=False))
            cur.execute(SQL.drop(stage))
        finished = now()
        duration_ms = (finished - started).total_seconds() * 1000.0 / max(len(windows), 1)
        state.record_partitions(
            cur,
            run_id=target.run_id,
            model=target.model,
            counts=[(key, counts.get(key, 0)) for key, _, _ in windows],
            sql_hash=target.sql_hash,
            started_at=started,
            finished_at=finished,
            duration_ms=duration_ms,
            versions=target.partition_versions,
        )
        rows = sum(counts.values())
    target.committed("table")
    parts = tuple((key, int(counts.get(key, 0))) for key, _, _ in windows)
    return Built(rows=int(rows), started_at=started, finished_at=finished, parts=parts)


def place_rows(
    cur: DuckDBPyConnection,
    model: str,
    stage: str,
    windows: list[tuple[str, datetime, datetime]],
    column: str,
) -> tuple[dict[str | None, int], int]:
    """How many rows of ``stage`` fall in each window (by key), and how many in none.

    Whole hours, days or months of a date or timestamp column are found by truncating the
    time; other windows by an ASOF join on the window starts (a sort, not rows x windows).
    """
    col = quote(column)
    unit = _calendar_unit(windows)
    if unit is not None and cur.execute(
        f"SELECT typeof({col}) FROM {stage} LIMIT 1"
    ).fetchall() not in (
        [("DATE",)],
        [("TIMESTAMP",)],
    ):
        unit = None  # date_trunc needs a date or a plain timestamp column
    if unit is not None:  # whole hours, days or months: truncate instead of joining
        key_of = {lo.replace(tzinfo=None): key for key, lo, _ in windows}
        counts: dict[str | None, int] = {}
        outside = 0
        for lo, n in cur.execute(
            f"SELECT CAST(date_trunc('{unit}', {col}) AS TIMESTAMP), "
            f"count(*) FROM {stage} GROUP BY ALL"
        ).fetchall():
            key = key_of.get(lo)
            if key is None:
                outside += n
            else:
                counts[key] = n
        return counts, outside

    # a bound's literal: its offset written in the hour clocks repeat in autumn
    from teal.compiler.partition_sql import timestamp_literal as ts

    keys_name = quote(f"__teal_keys_{model}")
    values = ", ".join(f"({_literal(k)}, {ts(lo)}, {ts(hi)})" for k, lo, hi in windows)
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {keys_name} AS SELECT * FROM "
        f"(VALUES {values}) AS k(partition_key, lo, hi)"
    )
    counts = dict(
        cur.execute(
            f"SELECT CASE WHEN t.{col} < k.hi THEN k.partition_key END AS key, count(*) "
            f"FROM {stage} AS t ASOF LEFT JOIN {keys_name} AS k ON t.{col} >= k.lo "
            "GROUP BY ALL"
        ).fetchall()
    )
    cur.execute(SQL.drop(keys_name))
    outside = counts.pop(None, 0)
    return counts, outside


def _calendar_unit(windows: list[tuple[str, datetime, datetime]]) -> str | None:
    """ "hour", "day" or "month" when every window is exactly one such calendar unit of wall
    clock time (so a row's window is found by truncating its time), else None.

    Windows are compared as the ASOF join compares them: without their time zone.

    >>> from datetime import datetime as dt
    >>> _calendar_unit([("a", dt(2025, 1, 1), dt(2025, 1, 2)), ("b", dt(2025, 1, 2), dt(2025, 1, 3))])
    'day'
    >>> _calendar_unit([("a", dt(2025, 1, 1, 6), dt(2025, 1, 2, 6))]) is None
    True
    >>> _calendar_unit([("w", dt(2023, 1, 30), dt(2023, 2, 6))]) is None
    True
    >>> _calendar_unit([("m", dt(2025, 12, 1), dt(2026, 1, 1))])
    'month'
    """
    from datetime import timedelta

    def unit_of(lo: datetime, hi: datetime) -> str | None:
        if lo.minute or lo.second or lo.microsecond:
            return None
        if hi - lo == timedelta(hours=1):
            return "hour"
        if lo.hour:
            return None
        if hi - lo == timedelta(days=1):
            return "day"
        if lo.day != 1:
            return None
        next_month = lo.replace(year=lo.year + lo.month // 12, month=lo.month % 12 + 1)
        return "month" if hi == next_month else None

    naive = [(lo.replace(tzinfo=None), hi.replace(tzinfo=None)) for _, lo, hi in windows]
    if len({lo for lo, _ in naive}) != len(naive):  # a repeated wall-clock hour (DST)
        return None
    units = {unit_of(lo, hi) for lo, hi in naive}
    return units.pop() if len(units) == 1 else None
