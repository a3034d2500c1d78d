"""Run SQL checks against one relation: fused checks in one scan, the rest one query each.

``relation_sql`` is what replaces the check's placeholder: a quoted relation, a staged
table, or a parenthesized query. Returns raw counts and samples; judging them (pass / warn /
fail) is the runtime's job.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from teal.compiler.checks import SAMPLE_ROWS, TARGET, CheckDef
from teal.warehouse.duckdb import state
from teal.warehouse.duckdb import statements as stmt
from teal.warehouse.duckdb.io import registered
from teal.warehouse.duckdb.sql import quote, string_literal
from teal.warehouse.engine import CheckRecord, Measured

FAILURE_ROWS_LIMIT = 100_000


def _q(name: str) -> str:
    return quote(name)


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return string_literal(str(value))


def _fused_expr(check: CheckDef) -> str:
    """The expression giving ``check``'s failure count in the shared scan (NULL: unknown yet).

    Cheap answers first: a ``not_null`` count is ``count(*) - count(col)`` (read from the
    validity masks, not the values), and an ``accepted_range`` is settled by ``min``/``max``
    when they are inside the range (the usual case), and ``accepted_values`` on strings by a
    cast to an ENUM of the values; only a check that is violated needs its rows counted, in
    a second query. Other row-level checks count their predicate.
    """
    if check.condition is None:
        return str(check.fused_expr)
    col = _q(check.column) if check.column else None
    if check.kind == "not_null" and not check.where and col:
        return f"count(*) - count({col})"
    if check.kind == "accepted_range" and not check.where and col:
        inclusive = check.params.get("inclusive", True)
        bounds = []
        if check.params.get("min_value") is not None:
            bounds.append(
                f"min({col}) {'>=' if inclusive else '>'} {_lit(check.params['min_value'])}"
            )
        if check.params.get("max_value") is not None:
            bounds.append(
                f"max({col}) {'<=' if inclusive else '<'} {_lit(check.params['max_value'])}"
            )
        return f"CASE WHEN count({col}) = 0 OR ({' AND '.join(bounds)}) THEN 0 END"
    values = check.params.get("values")
    if (
        check.kind == "accepted_values"
        and not check.where
        and col
        and check.params.get("quote", True)
        and isinstance(values, list)
        and all(isinstance(v, str) for v in values)
    ):
        # DuckDB evaluates a cast once per dictionary entry of a compressed string column,
        # but IN once per row: on strings this form is about 4x cheaper. It counts values
        # whose text is not one of the accepted ones, which for a VARCHAR column is exactly
        # the check; any other column type goes to the exact count when it is not zero.
        enum = "ENUM(" + ", ".join(_lit(v) for v in dict.fromkeys(values)) + ")"
        return f"CASE WHEN count_if({col} IS NOT NULL AND TRY_CAST({col} AS {enum}) IS NULL) = 0 THEN 0 END"
    return f"count_if({check.condition})"


def fused_query(checks: list[CheckDef]) -> str:
    """One scan computing every fusable check's failure count (columns c0, c1, ...).

    A NULL count means "not settled by the cheap form": :func:`exact_query` counts those.
    """
    exprs = ", ".join(f"{_fused_expr(c)} AS {_q(f'c{i}')}" for i, c in enumerate(checks))
    return f"SELECT {exprs} FROM {TARGET}"


def exact_query(checks: list[CheckDef]) -> str:
    """Failing-row counts of row-level checks by their predicates, in one scan."""
    exprs = ", ".join(f"count_if({c.condition}) AS {_q(f'c{i}')}" for i, c in enumerate(checks))
    return f"SELECT {exprs} FROM {TARGET}"


def count_query(check: CheckDef) -> str:
    return f"SELECT count(*) FROM ({check.sql})"


def sample_query(check: CheckDef, limit: int = SAMPLE_ROWS) -> str:
    return f"SELECT * FROM ({check.sql}) LIMIT {int(limit)}"


def _on(sql: str, relation_sql: str) -> str:
    return sql.replace(TARGET, relation_sql)


def measure(cur: Any, relation_sql: str, checks: list[CheckDef]) -> list[Measured]:
    """Failing-row counts of every SQL check of one relation."""
    out: list[Measured] = []
    fused = [c for c in checks if c.fusable]
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
        if (check.fusable and check.name not in alone) or check.sql is None:
            continue
        sql = _on(count_query(check), relation_sql)
        t0 = time.perf_counter()
        try:
            failing = int(_fetch(cur, sql)[0][0])
            out.append(
                Measured(
                    check,
                    failing,
                    _on(check.sql, relation_sql),
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


def _fetch(cur: Any, sql: str) -> list[Any]:
    """Bind, then run. ``cur.sql`` raises binder errors (a check naming a missing column)
    without aborting an open transaction; ``cur.execute`` would abort the audit's build."""
    return cur.sql(sql).fetchall()


def _still_usable(cur: Any, names: list[str], exc: Exception) -> None:
    """After a failed check query: raise a clear error if it aborted the open transaction
    (an error while running, not binding), instead of letting the next statement fail."""
    try:
        cur.execute("SELECT 1").fetchall()
    except Exception:  # noqa: BLE001
        raise RuntimeError(
            f"check {', '.join(names)} could not run: {str(exc).splitlines()[0]}"
        ) from exc


def sample(cur: Any, measured: Measured, relation_sql: str, keep_failures: bool) -> None:
    """Fill in a few failing rows (and all of them, up to a limit, to store)."""
    if not measured.failing or measured.check.sql is None:
        return
    rel = cur.sql(_on(sample_query(measured.check), relation_sql))
    cols = rel.columns
    measured.sample = [dict(zip(cols, (_plain(v) for v in row))) for row in rel.fetchall()]
    if keep_failures:
        measured.failures = cur.sql(
            f"SELECT * FROM ({_on(measured.check.sql, relation_sql)}) LIMIT {FAILURE_ROWS_LIMIT}"
        ).to_arrow_table()


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


def _result_row(r: CheckRecord, checked_at: datetime) -> list[Any]:
    """One row of ``teal.check_results``."""
    import json

    return [
        r.run_id,
        r.check.name,
        r.check.asset,
        r.partition,
        r.check.kind,
        r.check.severity,
        r.status,
        r.failing,
        json.dumps(r.sample_rows, default=str) if r.sample_rows else None,
        r.sql[:20000],
        r.duration_ms,
        checked_at,
        r.message,
    ]


def record(cur: Any, records: list[CheckRecord]) -> None:
    """Insert check results, all in one statement (a statement costs ~0.5 ms however many
    rows it carries; a model's checks are recorded together)."""
    if not records:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [_result_row(r, now) for r in records]
    cur.execute(
        stmt.insert_values(f"{state.SCHEMA}.check_results", _RESULT_COLUMNS, len(rows)),
        [v for row in rows for v in row],
    )


def store_failures(cur: Any, check_name: str, rows: Any) -> str:
    """Write failing rows to ``teal_failures.<check>`` (replacing the last ones)."""
    cur.execute("CREATE SCHEMA IF NOT EXISTS teal_failures")
    with registered(cur, rows, check_name) as view:
        cur.execute(
            f"CREATE OR REPLACE TABLE teal_failures.{quote(check_name)} AS SELECT * FROM {view}"
        )
    return f"teal_failures.{check_name}"
