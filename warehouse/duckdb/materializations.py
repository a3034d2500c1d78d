"""DDL for each materialization, each done in one transaction with its state row.

A table is replaced under its own name (``CREATE OR REPLACE TABLE``), audited by its checks
and given its state row, all before ``COMMIT``: DuckDB's DDL is transactional, so until the
commit everyone else reads the previous table, and a failure or a kill at any point before
it leaves the previous relation exactly as it was. (A full refresh of a partitioned table
still fills ``<name>__teal_new`` partition by partition and renames it into place.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

from teal.warehouse.duckdb import state
from teal.warehouse.duckdb import statements as stmt
from teal.warehouse.duckdb.io import registered
from teal.warehouse.duckdb.sql import qualified, quote
from teal.warehouse.duckdb.sql import string_literal as _literal
from teal.warehouse.engine import BuildTarget, Built, PartitionRowsError, SchemaChangeError

NEW_SUFFIX = "__teal_new"
Check = Callable[[str], None] | None  # audit(relation_sql), bound to the caller's cursor


def existing(cur: Any, target: BuildTarget) -> str | None:
    """ "table", "view" or None: what is at the target's relation now."""
    if target.catalog is not None:
        return target.catalog.kind(target.schema, target.name)
    return _existing_kind(cur, target.schema, target.name)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _existing_kind(cur: Any, schema: str, name: str) -> str | None:
    rows = cur.execute(
        "select table_type from information_schema.tables where table_catalog = current_database() "
        # DuckDB identifiers are case-insensitive: "Report" replaces an existing "report"
        "and lower(table_schema) = lower(?) and lower(table_name) = lower(?)",
        [schema, name],
    ).fetchall()  # fetchall: a half-read result blocks the cursor's next query
    if not rows:
        return None
    row = rows[0]
    return "view" if row[0] == "VIEW" else "table"


def _drop(cur: Any, schema: str, name: str, kind: str | None) -> None:
    if kind == "view":
        cur.execute(stmt.drop(qualified(schema, name), "VIEW"))
    elif kind == "table":
        cur.execute(stmt.drop(qualified(schema, name)))


@contextmanager
def _transaction(cur: Any) -> Iterator[None]:
    """BEGIN ... COMMIT, or ROLLBACK on any error (or kill: nothing is committed then)."""
    cur.execute(stmt.BEGIN)
    try:
        yield
    except BaseException:
        try:
            cur.execute(stmt.ROLLBACK)
        except Exception:  # noqa: BLE001 - the transaction may already be aborted
            pass
        raise
    cur.execute(stmt.COMMIT)


def _in_transaction(cur: Any, target: BuildTarget, body: Any, kind: str = "table") -> Built:
    started = _now()
    with _transaction(cur):
        rows = body()
        finished = _now()
        state.record_build(
            cur,
            run_id=target.run_id,
            model=target.model,
            relation=f"{target.schema}.{target.name}",
            materialization=target.materialization,
            sql_hash=target.sql_hash,
            status="success",
            rows=rows,
            started_at=started,
            finished_at=finished,
        )
    target.committed(kind)
    return Built(rows=rows, started_at=started, finished_at=finished)


def create_view(cur: Any, target: BuildTarget, sql: str, audit: Check = None) -> Built:
    """``CREATE OR REPLACE VIEW`` (replacing a table of the same name if there was one).

    ``audit(relation_sql)``, when given, checks the new relation before the commit and
    raises to keep the old one (write-audit-publish); every materialization takes it.
    """

    def body() -> None:
        if existing(cur, target) == "table":
            cur.execute(stmt.drop(qualified(target.schema, target.name)))
        cur.execute(stmt.create_as(target.schema, target.name, sql, kind="VIEW"))
        if audit is not None:
            audit(qualified(target.schema, target.name))
        return None

    return _in_transaction(cur, target, body, kind="view")


def _swap_in(cur: Any, target: BuildTarget) -> None:
    _drop(cur, target.schema, target.name, existing(cur, target))
    cur.execute(stmt.rename(qualified(target.schema, target.name + NEW_SUFFIX), quote(target.name)))


def _replace_table(cur: Any, target: BuildTarget, select_sql: str, audit: Any) -> int:
    """Replace the table in the open transaction, then audit it there.

    DuckDB's DDL is transactional: until the commit, every other connection and cursor
    still reads the old table, and a rollback (a failing check, an error, a kill) keeps it.
    So the new table is written under its own name, with no stage and no rename.
    """
    relation = qualified(target.schema, target.name)
    if existing(cur, target) == "view":
        cur.execute(stmt.drop(relation, "VIEW"))
    row = cur.execute(stmt.create_as_rel(relation, select_sql)).fetchone()
    if audit is not None:
        audit(relation)
    return int(row[0]) if row else 0


def build_table(cur: Any, target: BuildTarget, sql: str, audit: Check = None) -> Built:
    """Build ``sql`` into the table, audit it, and publish it atomically (one transaction)."""
    return _in_transaction(cur, target, lambda: _replace_table(cur, target, sql, audit))


def write_table(cur: Any, target: BuildTarget, data: Any, audit: Check = None) -> Built:
    """Write an Arrow-compatible object (see warehouse.io.scannable) as the table, atomically."""

    def body() -> int:
        with registered(cur, data, target.model) as view:
            return _replace_table(cur, target, f"SELECT * FROM {view}", audit)

    return _in_transaction(cur, target, body)


def record_failure(cur: Any, target: BuildTarget, started: datetime, message: str) -> None:
    """Log a failed attempt (its own small transaction; the data was rolled back)."""
    state.record_build(
        cur,
        run_id=target.run_id,
        model=target.model,
        relation=f"{target.schema}.{target.name}",
        materialization=target.materialization,
        sql_hash=target.sql_hash,
        status="error",
        rows=None,
        started_at=started,
        finished_at=_now(),
        message=message[:2000],
    )


def _stage_name(model: str) -> str:
    return quote(f"__teal_stage_{model}")


def _insert_by_name(cur: Any, target: BuildTarget, source: str) -> int:
    row = cur.execute(stmt.insert_by_name(qualified(target.schema, target.name), source)).fetchone()
    return int(row[0]) if row else 0


def _check_columns(cur: Any, target: BuildTarget, source: str) -> None:
    """Refuse an incremental run whose columns differ from the existing table's, by name."""
    have = [
        d[0]
        for d in cur.execute(
            f"SELECT * FROM {qualified(target.schema, target.name)} LIMIT 0"
        ).description
    ]
    got = [d[0] for d in cur.execute(f"SELECT * FROM {source} LIMIT 0").description]
    added = [c for c in got if c.lower() not in {h.lower() for h in have}]
    removed = [c for c in have if c.lower() not in {g.lower() for g in got}]
    if not added and not removed:
        return
    changes = [
        f"{what} column{'s' if len(cols) > 1 else ''} " + ", ".join(f'"{c}"' for c in cols)
        for what, cols in (("new", added), ("missing", removed))
        if cols
    ]
    raise SchemaChangeError(
        f"the model's columns changed since {target.schema}.{target.name} was built: "
        f"{' and '.join(changes)} (the table has {', '.join(have)})\n"
        f"hint: an incremental run only adds rows and cannot change the table's columns; "
        f"rebuild it with `teal build -s {target.model} --full-refresh`"
    )


def incremental_append(cur: Any, target: BuildTarget, sql: str, audit: Check = None) -> Built:
    """Append the query's rows to the existing table (``incremental_strategy='append'``)."""

    def body() -> int:
        _check_columns(cur, target, f"(\n{sql}\n)")
        rows = _insert_by_name(cur, target, f"(\n{sql}\n)")
        if audit is not None:
            audit(qualified(target.schema, target.name))
        return rows

    return _in_transaction(cur, target, body)


def incremental_upsert(
    cur: Any, target: BuildTarget, sql: str, unique_key: Sequence[str], audit: Check = None
) -> Built:
    """Replace rows whose ``unique_key`` matches, insert the rest (merge / delete+insert)."""
    stage = _stage_name(target.model)
    keys = ", ".join(quote(k) for k in unique_key)

    def body() -> int:
        cur.execute(stmt.create_as_rel(stage, sql, kind="TEMP TABLE"))
        _check_columns(cur, target, stage)
        cur.execute(
            f"DELETE FROM {qualified(target.schema, target.name)} WHERE ({keys}) IN "
            f"(SELECT {keys} FROM {stage})"
        )
        rows = _insert_by_name(cur, target, stage)
        cur.execute(stmt.drop(stage))
        if audit is not None:
            audit(qualified(target.schema, target.name))
        return rows

    return _in_transaction(cur, target, body)


OUTSIDE = "__teal_row_outside_partition"  # the error a guarded insert raises


def replace_partition(
    cur: Any,
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
    started = _now()
    where = f" WHERE {partition_filter}" if partition_filter else ""
    if exists is None:
        exists = existing(cur, target) is not None
    try:
        with ExitStack() as scope, _transaction(cur):
            if isinstance(source, str):
                rows_sql = f"SELECT * FROM (\n{source}\n)"
            else:
                view = scope.enter_context(registered(cur, source, (target.model, key)))
                if _row_count(source) is None:  # a stream: stage what arrives
                    view, stream = _stage_name(target.model), view
                    cur.execute(
                        stmt.create_as_rel(view, f"SELECT * FROM {stream}", kind="TEMP TABLE")
                    )
                rows_sql = f"SELECT * FROM {view}"
            guarded = rows_sql
            if partition_filter:
                guarded = (
                    f"{rows_sql} AS __teal_rows WHERE CASE WHEN coalesce(({partition_filter}), "
                    f"false) THEN true ELSE error('{OUTSIDE}') END"
                )
            if not exists:
                rows = cur.execute(stmt.create_from(relation, f"({guarded})")).fetchone()[0]
            else:
                if has_rows:
                    cur.execute(stmt.delete(relation, partition_filter))
                rows = _insert_by_name(cur, target, f"({guarded})")
            if audit is not None:  # the partition's new rows, before they are published
                audit(f"(SELECT * FROM {relation}{where})")
            finished = _now()
            state.record_partition(
                cur,
                run_id=target.run_id,
                model=target.model,
                key=key,
                status="success",
                rows=rows,
                sql_hash=target.sql_hash,
                started_at=started,
                finished_at=finished,
            )
    except Exception as exc:
        if OUTSIDE not in str(exc):
            raise
        raise _outside_partition(cur, target, key, source, partition_filter) from None
    target.committed("table")
    return Built(rows=int(rows), started_at=started, finished_at=finished)


def _outside_partition(
    cur: Any, target: BuildTarget, key: str, source: Any, partition_filter: str
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
    cur: Any, target: BuildTarget, parts: list[tuple[str, Any, str]], audit: Check = None
) -> Built:
    """``--full-refresh`` of a partitioned model: every partition built into a new table,
    swapped in atomically with all the partition records (one transaction). Each part is
    (key, SQL or a callable returning an Arrow-compatible object, partition filter)."""
    staged = qualified(target.schema, target.name + NEW_SUFFIX)
    started = _now()

    def body() -> int:
        total = 0
        cur.execute(stmt.drop(staged, if_exists=True))
        stage = _stage_name(target.model)
        for i, (key, sql, partition_filter) in enumerate(parts):
            t0 = _now()
            source = sql() if callable(sql) else sql  # a callable: a Python asset's rows
            if isinstance(source, str):
                cur.execute(stmt.create_as_rel(stage, source, kind="TEMP TABLE"))
            else:
                with registered(cur, source, (target.model, key)) as view:
                    cur.execute(
                        stmt.create_as_rel(stage, f"SELECT * FROM {view}", kind="TEMP TABLE")
                    )
            if partition_filter:
                outside = cur.execute(
                    f"SELECT count(*) FROM {stage} WHERE NOT coalesce(({partition_filter}), false)"
                ).fetchone()[0]
                if outside:
                    raise PartitionRowsError(f"{outside:,} rows do not belong to partition {key}")
            if i == 0:
                rows = cur.execute(stmt.create_from(staged, stage)).fetchone()[0]
            else:
                rows = cur.execute(stmt.insert_by_name(staged, stage)).fetchone()[0]
            cur.execute(stmt.drop(stage))
            state.record_partition(
                cur,
                run_id=target.run_id,
                model=target.model,
                key=key,
                status="success",
                rows=int(rows),
                sql_hash=target.sql_hash,
                started_at=t0,
                finished_at=_now(),
            )
            total += int(rows)
        if audit is not None:
            audit(staged)
        _swap_in(cur, target)
        return total

    built = _in_transaction(cur, target, body)
    return Built(rows=built.rows, started_at=started, finished_at=built.finished_at)


def record_partition_failure(
    cur: Any, target: BuildTarget, key: str, started: datetime, message: str
) -> None:
    state.record_partition(
        cur,
        run_id=target.run_id,
        model=target.model,
        key=key,
        status="error",
        rows=None,
        sql_hash=target.sql_hash,
        started_at=started,
        finished_at=_now(),
        message=message[:2000],
    )


def record_step(cur: Any, target: BuildTarget, started: datetime, rows: int) -> None:
    """The model-level build row for a step made of partition transactions."""
    state.record_build(
        cur,
        run_id=target.run_id,
        model=target.model,
        relation=f"{target.schema}.{target.name}",
        materialization=target.materialization,
        sql_hash=target.sql_hash,
        status="success",
        rows=rows,
        started_at=started,
        finished_at=_now(),
    )


def replace_partitions_single_run(
    cur: Any,
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
    stage = _stage_name(target.model)
    col = quote(column)
    started = _now()
    keys_name = quote(f"__teal_keys_{target.model}")

    def ts(value: datetime) -> str:
        return f"TIMESTAMP {_literal(value.replace(tzinfo=None).isoformat(sep=' '))}"

    values = ", ".join(f"({_literal(k)}, {ts(lo)}, {ts(hi)})" for k, lo, hi in windows)
    # contiguous runs of windows: the delete predicate
    runs: list[list[datetime]] = []
    for _, lo, hi in windows:
        if runs and runs[-1][1] == lo:
            runs[-1][1] = hi
        else:
            runs.append([lo, hi])
    in_windows = " OR ".join(f"({col} >= {ts(lo)} AND {col} < {ts(hi)})" for lo, hi in runs)
    with _transaction(cur):
        # a new table is written directly (one copy of the rows); an existing one via a stage
        exists = existing(cur, target) is not None
        into = stage if exists else relation
        kind = "TEMP TABLE" if exists else "TABLE"
        if isinstance(source, str):
            cur.execute(stmt.create_as_rel(into, source, kind=kind))
        else:
            with registered(cur, source, target.model) as view:
                cur.execute(stmt.create_as_rel(into, f"SELECT * FROM {view}", kind=kind))
        stage = into
        unit = _calendar_unit(windows)
        if unit is not None and cur.execute(
            f"SELECT typeof({col}) FROM {stage} LIMIT 1"
        ).fetchall() not in ([("DATE",)], [("TIMESTAMP",)]):
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
        else:
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
            cur.execute(stmt.drop(keys_name))
            outside = counts.pop(None, 0)
        if outside:
            raise PartitionRowsError(
                f"{outside:,} rows fall outside the {len(windows)} partitions being built "
                f"({windows[0][0]}..{windows[-1][0]})"
            )
        if audit is not None:
            audit(stage)
        if exists:
            cur.execute(f"DELETE FROM {relation} WHERE {in_windows}")
            _insert_by_name(cur, target, stage)
            cur.execute(stmt.drop(stage))
        finished = _now()
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
        )
        rows = sum(counts.values())
    target.committed("table")
    return Built(rows=int(rows), started_at=started, finished_at=finished)


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
