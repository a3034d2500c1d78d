"""Keeping a run store tidy as runs are written: runs whose process died are marked
crashed, and history past the retention is deleted, in small transactions so that the
processes writing beside it (a daemon, other builds) wait for one batch at most."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from teal.runtime.runstore.records import IN_PROGRESS, Retention, RunStatus
from teal.runtime.runstore.schema import RUN_TABLES
from teal.runtime.runstore.sqlstore import SqlRunStore, _marks, _time


def mark_crashed(
    store: SqlRunStore, host: str, alive: Callable[[int, str | None], bool], at: datetime
) -> list[str]:
    """Runs in progress that nothing will end become ``crashed``, with the steps they died
    in; the ids of the runs marked. On this ``host``, those whose process is gone
    (``alive(pid, process)``: runtime/runstore/liveness.py); on any other, those whose
    heartbeat stopped (runtime/runstore/heartbeat.py)."""
    from teal.runtime.runstore.heartbeat import silent_since
    from teal.runtime.runstore.sqlstore import _parse_time

    rows = store._query(
        "SELECT run_id, pid, process, host, heartbeat_at FROM runs WHERE status IN (?, ?)",
        tuple(s.value for s in IN_PROGRESS),
    )
    marked = []
    for run_id, pid, process, ran_on, heartbeat in rows:
        if ran_on == host:
            if pid is not None and alive(int(pid), process):
                continue
            why = "the process running it ended without finishing it"
        else:
            last = _parse_time(heartbeat)
            if last is None or not silent_since(last, at):
                continue
            why = f"its host {ran_on} stopped reporting (its last heartbeat was at {last:%H:%M:%S} UTC)"
        _mark(store, run_id, why, at)
        marked.append(run_id)
    return marked


def _mark(store: SqlRunStore, run_id: str, why: str, at: datetime) -> None:
    """Mark ``run_id`` crashed (if still in progress) with its open steps, saying ``why``."""
    open_steps = [s for s in store.steps(run_id) if s.status == "started"]
    where = ", ".join(
        s.model + (f"[{s.partition_key}]" if s.partition_key else "") for s in open_steps
    )
    message = why + (f" (during {where})" if where else "")
    store.close_open_steps(run_id, "crashed", at)
    with store._lock, store._transaction() as cur:
        cur.execute(
            store._sql(
                "UPDATE runs SET status = ?, finished_at = ?, message = ? "
                "WHERE run_id = ? AND status IN (?, ?)"
            ),
            (RunStatus.CRASHED.value, _time(at), message, run_id, *(s.value for s in IN_PROGRESS)),
        )


def prune_runs(store: SqlRunStore, retention: Retention, now: datetime) -> int:
    """Delete finished runs (and their rows) past the retention, oldest first, in
    transactions of :attr:`~SqlRunStore.PRUNE_BATCH` runs; how many were deleted. Only the runs of
    ``retention.project`` when it is set (projects sharing a store keep their own
    history), and never a run queued or in progress."""
    cutoff = _time(now - timedelta(days=retention.days))
    finished = [s.value for s in RunStatus if s.finished]
    mine, params = ("project = ? AND ", [retention.project]) if retention.project else ("", [])
    # finished, and older than the cutoff or than the newest `runs` runs (the row-value
    # comparison is NULL, so false, while there are fewer)
    doomed_sql = store._sql(
        f"SELECT run_id FROM runs WHERE {mine}status IN ({_marks(len(finished))}) AND "
        "(created_at < ? OR (created_at, run_id) <= (SELECT created_at, run_id FROM runs "
        f"WHERE {mine}1 = 1 ORDER BY created_at DESC, run_id DESC LIMIT 1 OFFSET ?)) "
        f"ORDER BY created_at, run_id LIMIT ?{store.LOCK_BATCH}"
    )
    deleted = 0
    while True:
        with store._lock, store._transaction() as cur:
            cur.execute(
                doomed_sql,
                (*params, *finished, cutoff, *params, retention.runs, store.PRUNE_BATCH),
            )
            doomed = [r[0] for r in cur.fetchall()]
            for table in (*RUN_TABLES, "runs") if doomed else ():
                cur.execute(
                    store._sql(f"DELETE FROM {table} WHERE run_id IN ({_marks(len(doomed))})"),
                    doomed,
                )
        deleted += len(doomed)
        if len(doomed) < store.PRUNE_BATCH:
            return deleted
