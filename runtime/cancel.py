"""Cancel reaches the step in flight: while a recorded run builds, a small thread asks the
run store every ``POLL_S`` whether ``teal cancel`` was asked; when it was, it interrupts
the running SQL steps' queries (their transactions roll back at once) and the executor
records the interrupted steps as canceled, not as failures of their SQL. The scheduler
then starts nothing new (runtime/recorder.py raises RunCanceled before the next step).

A Python function in flight cannot be interrupted: it finishes, and its write is the last.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

POLL_S = 0.2  # one indexed read of the run's status, five times a second


class CancelWatcher:
    """Polls ``canceled()`` on a thread while the block runs; on the first True, sets
    :attr:`canceled` and calls ``interrupt()``."""

    def __init__(self, interrupt: Callable[[], None], canceled: Callable[[], bool]) -> None:
        self.interrupt = interrupt
        self.ask = canceled
        self.canceled = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="teal-cancel", daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                asked = self.ask()
            except Exception:  # noqa: BLE001 - a store hiccup: ask again next time
                continue
            if asked:
                self.canceled.set()
                self.interrupt()
                return

    def __enter__(self) -> CancelWatcher:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
