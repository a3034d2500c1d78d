"""The rows of teal's state tables as every engine writes and reads them: one check
result written to ``teal.check_results``, and one partition's latest record read from
``teal.partitions``. The engines differ in how they run the statements (DuckDB's
parameters, Spark's literals), not in what a row holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

# the columns a partition's record is read with, in order (after model and partition_key):
# the fields of the planner's partition records
from teal.compiler.partition_records import FIELDS as PARTITION_RECORD_FIELDS
from teal.warehouse.engine import CheckRecord


def check_result_row(r: CheckRecord, checked_at: datetime) -> tuple[Any, ...]:
    """One row of ``teal.check_results``: the check, its outcome, a sample of failing rows
    as JSON and the query (cut at 20,000 characters)."""
    return (
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
    )


def latest_check_results_sql(schema: str) -> str:
    """The query of the latest error-severity result of each (asset, check, partition) of
    the checks whose latest result somewhere failed, as rows of
    ``compiler.check_failures.Row``, oldest first: which of those failures still stand is
    decided by ``standing_failures``. Its SQL reads the same in DuckDB and Spark."""
    return f"""SELECT asset, check_name, partition_key, status, run_id, checked_at FROM (
        SELECT *, max(CASE WHEN status IN ('fail', 'error') THEN 1 ELSE 0 END) OVER (
            PARTITION BY asset, check_name) AS failing FROM (
            SELECT asset, check_name, partition_key, status, run_id, checked_at,
                row_number() OVER (PARTITION BY asset, check_name, partition_key
                    ORDER BY checked_at DESC) AS rn
            FROM {schema}.check_results WHERE severity = 'error') AS results
        WHERE rn = 1) AS latest
    WHERE failing = 1
    ORDER BY asset, checked_at, check_name, partition_key"""


def latest_partitions(rows: Sequence[Sequence[Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """model -> partition key -> its record, from rows of (model, partition_key, and the
    :data:`PARTITION_RECORD_FIELDS`)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row[0], {})[row[1]] = dict(zip(PARTITION_RECORD_FIELDS, row[2:]))
    return out


def added_times(count: int, at: datetime, latest: datetime | None) -> list[datetime]:
    """The ``added_at`` of ``count`` keys added to a dynamic partition set at ``at``, whose
    latest key was added at ``latest``: a microsecond apart, after ``latest``. The set is
    read back in ``added_at`` order, so keys added in one call keep the order they were
    given, and a later call's keys come after the earlier ones although the clock (or
    ``TEAL_NOW``) has not moved on.

    >>> t = datetime(2025, 1, 1)
    >>> [x.microsecond for x in added_times(3, t, None)]
    [0, 1, 2]
    >>> [x.microsecond for x in added_times(2, t, t + timedelta(microseconds=2))]
    [3, 4]
    """
    first = at if latest is None or latest < at else latest + timedelta(microseconds=1)
    return [first + timedelta(microseconds=i) for i in range(count)]
