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

from teal.runtime.runstore.records import IN_PROGRESS, RunRecord
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
