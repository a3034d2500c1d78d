"""Starting queued runs: a launched run is a ``teal launch RUN`` child process (its output
in ``.teal/logs/RUN.log``), which the daemon (runtime/daemon.py) and the UI's server start
and poll. Tests give the daemon a launcher of their own."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from teal.runtime.run_logs import open_run_log
from teal.runtime.runstore import RunStore


class Handle(Protocol):
    """A launched run: ``poll()`` is None while it runs, else its exit code."""

    run_id: str

    def poll(self) -> int | None: ...


class Launcher(Protocol):
    def launch(self, run_id: str) -> Handle: ...


@dataclass
class ProcessHandle:
    run_id: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def poll(self) -> int | None:
        code = self.process.poll()
        if code is not None and not self.log.closed:
            self.log.close()
        return code


@dataclass
class SubprocessLauncher:
    """Runs ``teal launch RUN`` in a child process, its output in ``.teal/logs/RUN.log``.

    The child is started in a session of its own: Ctrl-C on a foreground ``teal daemon``
    (or ``teal ui``) sends SIGINT to the terminal's whole process group, and a run that
    shared it was canceled while the daemon said it went on to its end. A run launched is
    stopped by ``teal cancel``, not by the end of the process that launched it."""

    root: Path
    env: dict[str, str] | None = None
    retention: tuple[int, int] = (90, 10_000)  # the project's run_retention: (days, runs)
    store: RunStore | None = None  # its runs in progress keep their logs

    def launch(self, run_id: str) -> ProcessHandle:
        log = open_run_log(self.root, run_id, self.retention, self.store)  # older pruned
        process = subprocess.Popen(
            [sys.executable, "-m", "teal.cli", "launch", run_id, "--project-dir", str(self.root)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=str(self.root),
            start_new_session=True,  # the terminal's Ctrl-C to the daemon is not the run's
        )
        return ProcessHandle(run_id, process, log)
