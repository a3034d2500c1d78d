"""A run's heartbeat: how a host that cannot see a run's process tells that it is gone.

On the host that started a run, whether its process still runs is asked of the system
(runtime/runstore/liveness.py). A run recorded in a store shared by several machines (a
Postgres store: builds from CI, a daemon, a laptop) may have been started on a machine that
has since died, been switched off or lost its network: nothing there will ever record its
end, and no other host can ask for its process. So a run in progress writes the time on its
row every :data:`HEARTBEAT_S` (the run recorder's writer thread does it, beside the events
it writes), and a run of another host whose heartbeat is older than :data:`SILENT_AFTER_S`
is marked crashed by whichever teal process next looks (any command opening the store, the
daemon's sweep, the UI). The hosts' clocks must agree to within a minute or so; a run
recorded by a teal from before heartbeats has none and is left alone.

A run that only lost its store for a while (a Postgres restart longer than the reconnect
window) may be marked crashed meanwhile: when it ends and reaches the store again, it
records its real end over that.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from datetime import datetime, timedelta

from teal.runtime.runstore.records import IN_PROGRESS, RunRecord, RunStatus
from teal.runtime.runstore.sqlstore import SqlRunStore, _time

HEARTBEAT_S = 30.0  # how often a run in progress writes its heartbeat
SILENT_AFTER_S = 300.0  # a run of another host silent this long: its host is gone


def beat(store: SqlRunStore, run_id: str, at: datetime) -> None:
    """Record that run ``run_id`` is still running at ``at`` (nothing once it ended)."""
    with store._lock, store._transaction() as cur:
        cur.execute(
            store._sql("UPDATE runs SET heartbeat_at = ? WHERE run_id = ? AND status IN (?, ?)"),
            (_time(at), run_id, *(s.value for s in IN_PROGRESS)),
        )


def silent_since(heartbeat_at: datetime | None, now: datetime) -> bool:
    """Whether a heartbeat written at ``heartbeat_at`` is too old at ``now`` (a run with
    none, recorded before heartbeats, never is)."""
    return heartbeat_at is not None and now - heartbeat_at > timedelta(seconds=SILENT_AFTER_S)


def any_silent(runs: Iterable[RunRecord], now: datetime) -> bool:
    """Whether one of ``runs`` is in progress on another host that stopped beating."""
    here = socket.gethostname()
    return any(
        run.status in IN_PROGRESS and run.host != here and silent_since(run.heartbeat_at, now)
        for run in runs
    )


def cancel_unreachable(store: SqlRunStore, run: RunRecord, at: datetime) -> bool:
    """End ``run`` canceled at once when nothing could ever end it otherwise: in progress on
    another host with no heartbeat, so recorded by a teal from before heartbeats (a run a
    machine that has since died left in a store teal was then upgraded on). Asked to stop,
    it stayed ``canceling`` for ever, and a daemon waiting for runs in progress waited for
    it. Its open steps are closed ``canceled``. False (nothing done) for any other run.
    Should its process still run, its end is written over this when it ends."""
    if run.status not in IN_PROGRESS or run.heartbeat_at is not None:
        return False
    if run.host == socket.gethostname():  # its process is asked for (liveness.py)
        return False
    message = (
        f"canceled by hand: its host {run.host} was not asked (a run recorded by a teal "
        "from before heartbeats says nothing of whether it still runs)"
    )
    with store._lock, store._transaction() as cur:
        cur.execute(
            store._sql(
                "UPDATE runs SET status = ?, finished_at = ?, message = ? "
                "WHERE run_id = ? AND status IN (?, ?) AND heartbeat_at IS NULL"
            ),
            (
                RunStatus.CANCELED.value,
                _time(at),
                message,
                run.run_id,
                *(s.value for s in IN_PROGRESS),
            ),
        )
        if cur.rowcount != 1:  # it ended, or began to beat, meanwhile
            return False
    store.close_open_steps(run.run_id, "canceled", at)
    return True
