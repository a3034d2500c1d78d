"""Whether the process that started a run still runs it, and marking the runs of processes
that are gone ``crashed`` (kill -9, a crash, an out-of-memory kill: nothing of theirs
could record the end)."""

from __future__ import annotations

import os
import socket

from teal.runtime.clock import utc_now
from teal.runtime.runstore.sqlstore import SqlRunStore


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
