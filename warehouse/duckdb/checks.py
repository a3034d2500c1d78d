"""Run SQL checks against one relation: fused checks in one scan, the rest one query each.

The queries come from ``teal.warehouse.check_queries`` in DuckDB's dialect, plus one form
only DuckDB has (``accepted_values`` on strings as a cast to an ENUM). ``relation_sql`` is
what replaces the check's placeholder: a quoted relation, a staged table, or a
parenthesized query. Returns raw counts and samples; judging them (pass / warn / fail) is
the runtime's job.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from teal.compiler.checks import SAMPLE_ROWS, TARGET, CheckDef
from teal.warehouse.check_queries import CheckQueries, failure_value, literal
from teal.warehouse.duckdb import state
from teal.warehouse.duckdb.io import registered
from teal.warehouse.duckdb.sql import DIALECT, SQL
from teal.warehouse.engine import CheckRecord, Measured
from teal.warehouse.state_rows import check_result_row

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

FAILURE_ROWS_LIMIT = 100_000
QUERIES = CheckQueries(DIALECT)
FAILURES_SCHEMA = "teal_failures"


def _failure_count(check: CheckDef) -> str:
    """The expression giving ``check``'s failure count in the shared scan (NULL: unknown yet).

    Cheap answers first (see ``CheckQueries.failure_count``), and on strings
    ``accepted_values`` as a cast to an ENUM of the values; only a check that is violated
    needs its rows counted, in a second query.
    """
    values = check.params.get("values")
    if (
        check.kind == "accepted_values"
        and not check.where
        and check.column
        and check.params.get("quote", True)
        and isinstance(values, list)
        and all(isinstance(v, str) for v in values)
    ):
        # DuckDB evaluates a cast once per dictionary entry of a compressed string column,
        # but IN once per row: on strings this form is about 4x cheaper. It counts values
        # whose text is not one of the accepted ones, which for a VARCHAR column is exactly
        # the check; any other column type goes to the exact count when it is not zero.
        col = SQL.quote(check.column)
        enum = "ENUM(" + ", ".join(literal(v) for v in dict.fromkeys(values)) + ")"
        return (
            f"CASE WHEN count_if({col} IS NOT NULL AND TRY_CAST({col} AS {enum}) IS NULL) = 0 "
            "THEN 0 END"
        )
    return QUERIES.failure_count(check)


def fused_query(checks: list[CheckDef]) -> str:
    """One scan computing every fusable check's failure count (columns c0, c1, ...).

    A NULL count means "not settled by the cheap form": :func:`exact_query` counts those.
    """
    return QUERIES.scan([_failure_count(c) for c in checks])


def exact_query(checks: list[CheckDef]) -> str:
    """Failing-row counts of row-level checks by their predicates, in one scan."""
    return QUERIES.scan([QUERIES.recount_expression(c) for c in checks])


def _on(sql: str, relation_sql: str) -> str:
    return sql.replace(TARGET, relation_sql)


def measure(
    cur: DuckDBPyConnection, relation_sql: str, checks: list[CheckDef], *, fuse: bool = True
) -> list[Measured]:
    """Failing-row counts of every SQL check of one relation (``fuse=False``: each check
    runs its own query, as the fused scan's fallback does)."""
    out: list[Measured] = []
    fused = [c for c in checks if c.fusable] if fuse else []
    alone: set[str] = set()  # fusable checks run one by one after the fused query failed
    if fused:
        sql = _on(fused_query(fused), relation_sql)
        t0 = time.perf_counter()
        try:
            row = list(_fetch(cur, sql)[0])
            unsettled = [i for i, v in enumerate(row) if v is None]
            if unsettled:  # e.g. a range whose min/max fall outside it: count its rows
                exact = _fetch(cur, _on(exact_query([fused[i] for i in unsettled]), relation_sql))[
                    0
                ]
                for i, value in zip(unsettled, exact):
                    row[i] = value
            ms = (time.perf_counter() - t0) * 1000.0 / len(fused)
            out += [Measured(c, int(row[i] or 0), sql, ms, []) for i, c in enumerate(fused)]
        except Exception as exc:  # noqa: BLE001 - fall back to one query per check below
            _still_usable(cur, [c.name for c in fused], exc)
            alone = {c.name for c in fused}
    for check in checks:
        if check.fusable and fuse and check.name not in alone:
            continue
        rows_sql = QUERIES.failing_rows(check)
        failures_sql = QUERIES.failures(check)
        if rows_sql is None or failures_sql is None:  # a Python check
            continue
        sql = _on(failures_sql, relation_sql)
        t0 = time.perf_counter()
        try:
            failing = failure_value(_fetch(cur, sql)[0][0])
            out.append(
                Measured(
                    check,
                    failing,
                    _on(rows_sql, relation_sql),
                    (time.perf_counter() - t0) * 1000.0,
                    [],
                )
            )
        except Exception as exc:  # noqa: BLE001 - a broken check is reported, not raised
            _still_usable(cur, [check.name], exc)
            out.append(
                Measured(
                    check,
                    None,
                    sql,
                    (time.perf_counter() - t0) * 1000.0,
                    [],
                    str(exc).split("\n")[0],
                )
            )
    return out


def _fetch(cur: DuckDBPyConnection, sql: str) -> list[Any]:
    """Bind, then run. ``cur.sql`` raises binder errors (a check naming a missing column)
    without aborting an open transaction; ``cur.execute`` would abort the audit's build."""
    return cur.sql(sql).fetchall()


def _still_usable(cur: DuckDBPyConnection, names: list[str], exc: Exception) -> None:
    """After a failed check query: raise a clear error if it aborted the open transaction
    (an error while running, not binding), instead of letting the next statement fail."""
    try:
        cur.execute(SQL.probe).fetchall()
    except Exception:  # noqa: BLE001
        from teal.warehouse.engine import CheckAborted

        raise CheckAborted(dict.fromkeys(names, str(exc).splitlines()[0])) from exc


def sample(
    cur: DuckDBPyConnection, measured: Measured, relation_sql: str, keep_failures: bool
) -> None:
    """Fill in a few failing rows (and all of them, up to a limit, to store)."""
    rows_sql = QUERIES.failing_rows(measured.check)
    if not measured.failing or rows_sql is None:
        return
    rows_sql = _on(rows_sql, relation_sql)
    rel = cur.sql(QUERIES.sample(rows_sql, SAMPLE_ROWS))
    cols = rel.columns
    measured.sample = [dict(zip(cols, (_plain(v) for v in row))) for row in rel.fetchall()]
    if keep_failures:
        measured.failures = cur.sql(QUERIES.sample(rows_sql, FAILURE_ROWS_LIMIT)).to_arrow_table()


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


_RESULT_COLUMNS = (
    "run_id",
    "check_name",
    "asset",
    "partition_key",
    "kind",
    "severity",
    "status",
    "failing_rows",
    "sample",
    "sql",
    "duration_ms",
    "checked_at",
    "message",
)


RESULTS = "check_results"  # the table of check results (a group keeps its rows under it)


def result_rows(records: list[CheckRecord]) -> list[tuple[object, ...]]:
    """``teal.check_results`` rows of ``records``, checked now."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return [check_result_row(r, now) for r in records]


def record(cur: DuckDBPyConnection, records: list[CheckRecord]) -> None:
    """Insert check results, all in one statement (a statement costs ~0.5 ms however many
    rows it carries; a model's checks are recorded together)."""
    if records:
        record_rows(cur, result_rows(records))


def record_rows(cur: DuckDBPyConnection, rows: Sequence[Sequence[object]]) -> None:
    cur.execute(
        SQL.insert_values(f"{state.SCHEMA}.check_results", _RESULT_COLUMNS, len(rows)),
        [v for row in rows for v in row],
    )


def store_failures(cur: DuckDBPyConnection, check_name: str, rows: Any) -> str:
    """Write failing rows to ``teal_failures.<check>`` (replacing the last ones)."""
    cur.execute(SQL.create_schema(FAILURES_SCHEMA))
    with registered(cur, rows, check_name) as view:
        cur.execute(
            SQL.create_as(f"{FAILURES_SCHEMA}.{SQL.quote(check_name)}", SQL.select_all(view))
        )
    return f"{FAILURES_SCHEMA}.{check_name}"
