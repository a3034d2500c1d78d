"""The rows a run's events describe, derived as each event is recorded: a step's row (made
by its start, given its outcome), a materialization's and a check result's. They are what
the store's listings read (``teal runs show``, a model's history), so no reader parses
events."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from teal.runtime.runstore.records import STEP_STATUS, Event, EventKind

if TYPE_CHECKING:
    from teal.runtime.runstore.sqlstore import Cursor, SqlRunStore


def derive(store: SqlRunStore, cur: Cursor, event: Event) -> None:
    """The rows an event describes (a step's, a materialization's, a check result's),
    written in the transaction that records it."""
    from teal.runtime.runstore.sqlstore import _STEP_COLUMNS, _json, _marks, _number, _time

    partition = event.partition_key or ""
    data = event.data
    if event.kind in STEP_STATUS:
        attempt = int(_number(data.get("attempt")) or 1)
        status = STEP_STATUS[event.kind]
        if event.kind is EventKind.STEP_START:
            cur.execute(
                store._sql(
                    f"INSERT INTO steps ({_STEP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, "
                    "NULL, NULL) ON CONFLICT (run_id, model, partition_key, attempt) "
                    "DO NOTHING"
                ),
                (event.run_id, event.model, partition, attempt, status, _time(event.at)),
            )
            return
        # the step's row, made by its start, gets the outcome; a skip (or an outcome
        # whose start was never written) makes it. One statement that needs no row count
        # back, so a Postgres store sends a whole batch in one round trip. A partition
        # has no start event: its outcome says how long it took, which dates its start
        took = data.get("duration_s")
        started = (
            event.at - timedelta(seconds=took)
            if partition and isinstance(took, int | float) and not isinstance(took, bool)
            else None
        )
        cur.execute(
            store._sql(
                f"INSERT INTO steps ({_STEP_COLUMNS}) VALUES ({_marks(9)}) "
                "ON CONFLICT (run_id, model, partition_key, attempt) DO UPDATE SET "
                "status = excluded.status, finished_at = excluded.finished_at, "
                "row_count = excluded.row_count, message = excluded.message"
            ),
            (
                event.run_id,
                event.model,
                partition,
                attempt,
                status,
                _time(started),
                _time(event.at),
                _number(data.get("rows")),
                event.message,
            ),
        )
    elif event.kind is EventKind.MATERIALIZATION:
        cur.execute(
            store._sql(
                "INSERT INTO materializations (run_id, seq, model, partition_key, at, "
                "row_count, output_schema, code_version, metadata) VALUES "
                f"({_marks(9)}) ON CONFLICT (run_id, seq) DO NOTHING"
            ),
            (
                event.run_id,
                event.seq,
                event.model,
                partition,
                _time(event.at),
                _number(data.get("rows")),
                _json(data["schema"]) if "schema" in data else None,
                data.get("code_version"),
                _json(data["metadata"]) if data.get("metadata") else None,
            ),
        )
    elif event.kind is EventKind.CHECK_RESULT:
        cur.execute(
            store._sql(
                "INSERT INTO check_results (run_id, seq, check_name, model, partition_key, "
                f"at, status, severity, failing_rows, message) VALUES ({_marks(10)}) "
                "ON CONFLICT (run_id, seq) DO NOTHING"
            ),
            (
                event.run_id,
                event.seq,
                str(data.get("check", "")),
                event.model,
                partition,
                _time(event.at),
                str(data.get("status", "")),
                data.get("severity"),
                _number(data.get("failing_rows")),
                event.message,
            ),
        )
