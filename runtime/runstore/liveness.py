"""Whether the process that started a run still runs it, and marking the runs of processes
that are gone ``crashed`` (kill -9, a crash, an out-of-memory kill: nothing of theirs
could record the end).

Every command marks them when it opens the store (``recorder.open_migrated``). A process
that keeps the store open (the daemon, ``teal ui``, ``teal logs --follow``) asks again
whenever a run it is about to wait for or show is still started: else a run killed after
it opened the store would look in progress, and hold what waits for it, until it ended."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

from teal.runtime.clock import utc_now
from teal.runtime.runstore.records import RunRecord, RunStatus
from teal.runtime.runstore.sqlstore import SqlRunStore

IN_PROGRESS = (RunStatus.STARTED, RunStatus.CANCELING)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_crashed_here(store: SqlRunStore) -> list[str]:
    """Mark ``crashed`` the runs this host started whose process is gone; their ids."""
    return store.mark_crashed(socket.gethostname(), pid_alive, utc_now())


def any_gone(runs: Iterable[RunRecord]) -> bool:
    """Whether one of ``runs`` is in progress on this host by a process that is gone (it
    is then marked by :func:`mark_crashed_here`)."""
    here = socket.gethostname()
    return any(
        run.status in IN_PROGRESS
        and run.host == here
        and run.pid is not None
        and not pid_alive(run.pid)
        for run in runs
    )
