"""State tables in the warehouse's ``teal`` schema.

``teal.builds`` is append-only: one row per model build attempt (parallel transactions
only ever insert, so they never conflict). ``teal.model_state`` is the latest successful
build of each model. A successful build's row is inserted in the same transaction as the
data it describes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

SCHEMA = "teal"

_DDL = [
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.builds (
        run_id VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        relation VARCHAR,
        materialization VARCHAR,
        sql_hash VARCHAR,
        status VARCHAR NOT NULL,
        rows BIGINT,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        duration_ms DOUBLE,
        message VARCHAR
    )""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.runs (
        run_id VARCHAR PRIMARY KEY,
        command VARCHAR,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        status VARCHAR,
        selected INTEGER,
        succeeded INTEGER,
        failed INTEGER,
        skipped INTEGER
    )""",
    f"""CREATE OR REPLACE VIEW {SCHEMA}.model_state AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT *, row_number() OVER (PARTITION BY model ORDER BY finished_at DESC) AS rn
            FROM {SCHEMA}.builds WHERE status = 'success'
        ) WHERE rn = 1""",
]

INSERT_BUILD = (
    f"INSERT INTO {SCHEMA}.builds (run_id, model, relation, materialization, sql_hash, status, "
    "rows, started_at, finished_at, duration_ms, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def ensure(conn: Any) -> None:
    """Create the state schema and tables if they are missing."""
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        f"and table_schema = '{SCHEMA}' and table_name in ('builds', 'runs', 'model_state')"
    ).fetchone()[0]
    if exists == 3:
        return
    for ddl in _DDL:
        conn.execute(ddl)


def record_build(cur: Any, *, run_id: str, model: str, relation: str | None,
                 materialization: str, sql_hash: str, status: str, rows: int | None,
                 started_at: datetime, finished_at: datetime, message: str | None = None) -> None:
    duration_ms = (finished_at - started_at).total_seconds() * 1000.0
    cur.execute(INSERT_BUILD, [run_id, model, relation, materialization, sql_hash, status, rows,
                               started_at, finished_at, duration_ms, message])


def record_run(conn: Any, *, run_id: str, command: str, started_at: datetime,
               finished_at: datetime, status: str, selected: int, succeeded: int, failed: int,
               skipped: int) -> None:
    conn.execute(
        f"INSERT OR REPLACE INTO {SCHEMA}.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, command, started_at, finished_at, status, selected, succeeded, failed, skipped],
    )


def model_state(conn: Any) -> dict[str, dict[str, Any]]:
    """The latest successful build per model."""
    cur = conn.execute(f"SELECT * FROM {SCHEMA}.model_state")
    cols = [d[0] for d in cur.description]
    return {row[1]: dict(zip(cols, row)) for row in cur.fetchall()}
