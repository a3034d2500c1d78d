"""Whether the process that started a run still runs it, and marking the runs of processes
that are gone ``crashed`` (kill -9, a crash, an out-of-memory kill: nothing of theirs
could record the end); runs of other hosts by their heartbeat (runtime/runstore/heartbeat.py).

Every command marks them when it opens the store (``recorder.open_migrated``). A process
that keeps the store open (the daemon, ``teal ui``, ``teal logs --follow``) asks again
whenever a run it is about to wait for or show is still started: else a run killed after
it opened the store would look in progress, and hold what waits for it, until it ended."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from teal.runtime.clock import utc_now
from teal.runtime.runstore.heartbeat import any_silent
from teal.runtime.runstore.records import IN_PROGRESS, RunRecord
from teal.runtime.runstore.sqlstore import SqlRunStore


def process_identity(pid: int) -> str | None:
    """Which process ``pid`` is, beyond its id: the boot and the time since boot at which
    it started, in clock ticks (Linux's ``/proc``: neither a reboot nor a change of the
    wall clock moves it). A pid is taken again by another process after its own ended (a
    restarted container's teal is pid 1 again, as the killed one was), and that process
    has another identity. None where ``/proc`` does not say."""
    fields = _stat_fields(pid)
    return None if fields is None else _identity(fields)


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after "pid (comm) ": the state letter first (``Z``:
    a zombie, ended, not yet reaped); None where ``/proc`` does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _identity(fields: list[str]) -> str:
    return f"{_boot_id()}/{fields[19]}"  # field 22 of stat(5), starttime


@cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def this_process() -> str | None:
    """This process's :func:`process_identity`, recorded with a run's pid."""
    return process_identity(os.getpid())


def pid_alive(pid: int, process: str | None = None) -> bool:
    """Whether the process ``pid`` (of identity ``process``, when it was recorded) runs on
    this host: not when the pid is free, now names another process, or a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _stat_fields(pid)  # read once: the identity and the state
    if fields is None:
        return True
    if process is not None and _identity(fields) != process:
        return False  # the pid was taken again
    return fields[0] != "Z"


def mark_crashed_here(store: SqlRunStore) -> list[str]:
    """Mark ``crashed`` the runs this host started whose process is gone, and those of
    other hosts whose heartbeat stopped (runtime/runstore/heartbeat.py); their ids."""
    return store.mark_crashed(socket.gethostname(), pid_alive, utc_now())


def any_gone(runs: Iterable[RunRecord]) -> bool:
    """Whether one of ``runs`` is in progress on this host by a process that is gone, or
    on another host that stopped beating (it is then marked by :func:`mark_crashed_here`)."""
    here = socket.gethostname()
    return any_silent(runs, utc_now()) or any(
        run.status in IN_PROGRESS
        and run.host == here
        and run.pid is not None
        and not pid_alive(run.pid, run.process)
        for run in runs
    )


def run_in_progress(store: SqlRunStore) -> bool:
    """Whether a run is in progress (started or canceling). One whose process is gone
    (killed with kill -9) is not: it is marked crashed here first, as a command opening
    the store would mark it; else it would hold the daemon's queue until someone ran one."""
    if not store.runs(status=list(IN_PROGRESS), limit=1):
        return False
    mark_crashed_here(store)
    return bool(store.runs(status=list(IN_PROGRESS), limit=1))
