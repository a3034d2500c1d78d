"""How long the warehouse keeps the history of its state tables (``state_retention``).

``teal.builds``, ``teal.partitions``, ``teal.check_results`` and ``teal.runs`` gain rows
with every build, and the planner reads the latest of each model, partition and check out
of all of them: the read every build makes grows with the history (bench/state_history.py
measures it). Rows older than the retention
are deleted, except those the planner still reads: the latest row of each model (and its
latest success), of each partition (and its latest success), of each check on each
partition (and the latest at error severity, which blocks what reads the model), and the
latest run. So a model not built for a year keeps its state, and nothing a plan decides
changes. ``teal.external`` is left whole: its rows name the files of each publication,
which recovery reads.

Pruning reads each table once, so it runs at most once a day, after a build; when it
last ran is kept in ``teal.housekeeping``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from teal.warehouse.duckdb.state import SCHEMA

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

TASK = "state_history"  # its row in teal.housekeeping
EVERY = timedelta(days=1)  # how often the history is pruned

# table -> (its time column, the columns whose latest row is kept, and the condition of
# the rows among which the latest is kept as well)
_KEPT: dict[str, tuple[str, tuple[str, ...], str]] = {
    "builds": ("finished_at", ("model",), "status = 'success'"),
    "partitions": ("finished_at", ("model", "partition_key"), "status = 'success'"),
    "check_results": ("checked_at", ("asset", "check_name", "partition_key"), "severity = 'error'"),
    "runs": ("finished_at", (), "false"),
}


def _prune_sql(table: str) -> str:
    """Delete the rows of ``table`` older than $cutoff that are neither the latest of their
    key nor the latest of their key meeting the condition (one aggregate, not a window).
    Keys are compared by equality with NULL made chr(0), a text no key holds: ``IS NOT
    DISTINCT FROM`` made the join over a year of check results 15 times slower."""
    at, key, also = _KEPT[table]
    t = f"{SCHEMA}.{table}"
    keys = "".join(f"coalesce({c}, chr(0)) AS k{i}, " for i, c in enumerate(key))
    same = [f"coalesce({t}.{c}, chr(0)) = latest.k{i}" for i, c in enumerate(key)]
    return f"""WITH latest AS (
            SELECT {keys}max({at}) AS at_any, max({at}) FILTER (WHERE {also}) AS at_also
            FROM {t} {"GROUP BY ALL" if key else ""})
        DELETE FROM {t} USING latest
        WHERE {" AND ".join(same) or "true"}
            AND {t}.{at} < $cutoff AND {t}.{at} < latest.at_any
            AND ({t}.{at} < latest.at_also OR NOT coalesce({also}, false))"""


def due(conn: DuckDBPyConnection, now: datetime) -> bool:
    """Whether the history was last pruned a day or more before ``now`` (or never)."""
    import duckdb

    try:
        found = conn.execute(
            f"SELECT done_at FROM {SCHEMA}.housekeeping WHERE task = ?", [TASK]
        ).fetchone()
    except duckdb.CatalogException:  # a warehouse never pruned (or written by an older teal)
        return True
    return found is None or now - found[0] >= EVERY


def prune(conn: DuckDBPyConnection, days: int, now: datetime) -> dict[str, int]:
    """Delete the state rows older than ``days`` before ``now`` that no plan reads, in one
    transaction, and note that it ran. Returns how many rows went from each table."""
    cutoff = now - timedelta(days=days)
    deleted: dict[str, int] = {}
    conn.execute("BEGIN")
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.housekeeping ("
            "task VARCHAR PRIMARY KEY, done_at TIMESTAMP NOT NULL)"
        )
        for table in _KEPT:
            found = conn.execute(_prune_sql(table), {"cutoff": cutoff}).fetchone()
            deleted[table] = int(found[0]) if found else 0
        conn.execute(f"INSERT OR REPLACE INTO {SCHEMA}.housekeeping VALUES (?, ?)", [TASK, now])
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return deleted
