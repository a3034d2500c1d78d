"""Run SQL checks against one relation: fused checks in one scan, the rest one query each.

``relation_sql`` is what replaces the check's placeholder: a quoted relation, a staged
table, or a parenthesized query. Returns raw counts and samples; judging them (pass / warn /
fail) is the runtime's job.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from teal.compiler.checks import (
    TARGET,
    CheckDef,
    count_query,
    exact_query,
    fused_query,
    sample_query,
)
from teal.warehouse import state
from teal.warehouse.connection import quote, registered

FAILURE_ROWS_LIMIT = 100_000


@dataclass
class Measured:
    check: CheckDef
    failing: int | None  # None: the check's query itself failed
    sql: str
    duration_ms: float
    sample: list[dict[str, Any]]
    error: str | None = None
    failures: Any = None  # Arrow table of failing rows, when they are to be stored


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
    "run_id, check_name, asset, partition_key, kind, severity, status, "
    "failing_rows, sample, sql, duration_ms, checked_at, message"
)


def result_row(
    *,
    run_id: str,
    check: CheckDef,
    partition: str | None,
    status: str,
    failing: int | None,
    sample_rows: list[dict[str, Any]],
    sql: str,
    duration_ms: float,
    message: str | None,
) -> list[Any]:
    """One row of ``teal.check_results``, for :func:`record`."""
    from datetime import datetime

    return [
        run_id,
        check.name,
        check.asset,
        partition,
        check.kind,
        check.severity,
        status,
        failing,
        json.dumps(sample_rows, default=str) if sample_rows else None,
        sql[:20000],
        duration_ms,
        datetime.now(UTC).replace(tzinfo=None),
        message,
    ]


def record(cur: Any, rows: list[list[Any]]) -> None:
    """Insert check results, all in one statement (a statement costs ~0.5 ms however many
    rows it carries; a model's checks are recorded together)."""
    if not rows:
        return
    group = "(" + ", ".join("?" * len(rows[0])) + ")"
    cur.execute(
        f"INSERT INTO {state.SCHEMA}.check_results ({_RESULT_COLUMNS}) VALUES "
        + ", ".join([group] * len(rows)),
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
