"""How a load may use the process it runs in: speed tricks for a one-shot command.

A command line process loads one project, plans, maybe builds, and exits. It may pause
Python's garbage collector during the load and freeze what it loaded, fork a child to
parse half of the unknown SQL files on the second core, and store the caches from a forked
child while it goes on. None of that is safe or wanted inside someone else's program (a
notebook, a daemon, a UI server, the tests): the default strategy does none of it, and the
command line passes one that does (:meth:`LoadStrategy.command_line`).

The strategy owns the background writers it starts; its owner calls :meth:`wait` before
the process exits (the command line does), and every load with the strategy waits for the
previous one's writers before reading the caches they write.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadStrategy:
    pause_collector: bool = False  # no cyclic GC while a load allocates its parse trees
    freeze_after_load: bool = False  # gc.freeze() what was loaded (the process exits soon)
    fork: bool = False  # parse ahead and write behind in forked children
    # compare every text splice with the tree rewrite of the same model (compiler.compile_sql):
    # a check for tests, which costs the parse the splice saves
    check_splice: bool = False
    # forked writers not waited for yet, with what they write: kept alive here until the
    # child is done, since freeing it in the parent meanwhile would copy every page it touches
    _writers: list[tuple[int, Callable[[], None]]] = field(default_factory=list, repr=False)

    @classmethod
    def command_line(cls) -> LoadStrategy:
        """Everything on: one project per process, a process of its own."""
        return cls(pause_collector=True, freeze_after_load=True, fork=True)

    def can_fork(self) -> bool:
        """Forking is only safe with no other thread (one might hold a lock the child would
        wait on forever) and only pays off with a second core."""
        return (
            self.fork
            and hasattr(os, "fork")
            and (os.cpu_count() or 1) > 1
            and threading.active_count() == 1
        )

    def write_behind(self, write: Callable[[], None]) -> None:
        """Run ``write`` in a forked child where that is safe (else here and now)."""
        self.wait()  # one writer at a time: an older one never replaces newer files
        if not self.can_fork():
            write()
            return
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                write()
                status = 0
            finally:
                os._exit(status)
        self._writers.append((pid, write))

    def wait(self) -> None:
        """Wait until what :meth:`write_behind` started is on disk."""
        while self._writers:
            pid, _ = self._writers.pop()
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
