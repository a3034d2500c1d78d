"""SQL checks on Spark: the fused scan and the single queries of
``teal.warehouse.check_queries``, written in DuckDB's dialect as every check's definition
and user query is, and translated to Spark SQL (teal.warehouse.spark.transpile) before
they run. Results go to ``teal.check_results``; failing rows to ``teal_failures``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from teal.compiler.checks import SAMPLE_ROWS, TARGET, CheckDef
from teal.warehouse.check_queries import CheckQueries, failure_value
from teal.warehouse.engine import CheckRecord, Measured
from teal.warehouse.spark import io, state
from teal.warehouse.spark.materializations import create_table
from teal.warehouse.state_rows import check_result_row

if TYPE_CHECKING:
    from teal.warehouse.spark.session import SparkSQL

QUERIES = CheckQueries("duckdb")
FAILURE_ROWS_LIMIT = 100_000
FAILURES_SCHEMA = "teal_failures"


def _on(sql: SparkSQL, duckdb_query: str, relation_sql: str) -> str:
    """The check query on ``relation_sql`` (DuckDB names), in Spark SQL."""
    return sql.spark(duckdb_query.replace(TARGET, relation_sql))


def measure(sql: SparkSQL, relation_sql: str, checks: list[CheckDef]) -> list[Measured]:
    """Failing-row counts of every SQL check of one relation: fusable checks in one scan
    (a NULL there is recounted exactly), the rest one query each. A check whose query
    fails is reported with its error, not raised."""
    out: list[Measured] = []
    fused = [c for c in checks if c.fusable]
    alone: set[str] = set()
    if fused:
        query = QUERIES.scan([QUERIES.failure_count(c) for c in fused]).replace(
            TARGET, relation_sql
        )
        t0 = time.perf_counter()
        try:
            row = list(sql.rows(sql.spark(query))[0])
            unsettled = [i for i, v in enumerate(row) if v is None]
            if unsettled:
                exact = QUERIES.scan([QUERIES.recount_expression(fused[i]) for i in unsettled])
                again = sql.rows(_on(sql, exact, relation_sql))[0]
                for i, value in zip(unsettled, again):
                    row[i] = value
            ms = (time.perf_counter() - t0) * 1000.0 / len(fused)
            out += [Measured(c, int(row[i] or 0), query, ms, []) for i, c in enumerate(fused)]
        except Exception:  # noqa: BLE001 - one query per check below says which one fails
            alone = {c.name for c in fused}
    for check in checks:
        if check.fusable and check.name not in alone:
            continue
        rows_sql = QUERIES.failing_rows(check)
        failures_sql = QUERIES.failures(check)
        if rows_sql is None or failures_sql is None:  # a Python check
            continue
        query = failures_sql.replace(TARGET, relation_sql)
        t0 = time.perf_counter()
        try:
            failing = failure_value(sql.rows(sql.spark(query))[0][0])
            out.append(
                Measured(
                    check,
                    failing,
                    rows_sql.replace(TARGET, relation_sql),
                    (time.perf_counter() - t0) * 1000.0,
                    [],
                )
            )
        except Exception as exc:  # noqa: BLE001 - a broken check is reported, not raised
            out.append(
                Measured(
                    check,
                    None,
                    query,
                    (time.perf_counter() - t0) * 1000.0,
                    [],
                    _first_line(exc),
                )
            )
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def sample(sql: SparkSQL, measured: Measured, relation_sql: str, keep_failures: bool) -> None:
    """A few failing rows (and up to a limit of them, to store)."""
    rows_sql = QUERIES.failing_rows(measured.check)
    if not measured.failing or rows_sql is None:
        return
    rows_sql = rows_sql.replace(TARGET, relation_sql)
    frame = sql.run(sql.spark(QUERIES.sample(rows_sql, SAMPLE_ROWS)))
    measured.sample = [{k: _plain(v) for k, v in r.asDict().items()} for r in frame.collect()]
    if keep_failures:
        limited = sql.run(sql.spark(QUERIES.sample(rows_sql, FAILURE_ROWS_LIMIT)))
        measured.failures = io.collect(limited)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def record(sql: SparkSQL, records: list[CheckRecord]) -> None:
    if not records:
        return
    at = datetime.now(UTC).replace(tzinfo=None)
    state.insert(
        sql,
        "check_results",
        [check_result_row(r, at) for r in records],
    )


def store_failures(sql: SparkSQL, check_name: str, rows: Any) -> str:
    """Failing rows as ``teal_failures.<check>`` (replacing the last ones)."""
    sql.ensure_database(FAILURES_SCHEMA)
    with io.staged(sql, rows) as source:
        create_table(sql, FAILURES_SCHEMA, check_name, f"SELECT * FROM {source}")
    return f"{FAILURES_SCHEMA}.{check_name}"
