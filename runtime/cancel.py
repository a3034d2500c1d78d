"""Cancel reaches the step in flight: while a recorded run builds, a small thread asks the
run store every ``POLL_S`` whether ``teal cancel`` was asked; when it was, it interrupts
the running SQL steps' queries (their transactions roll back at once) and the executor
records the interrupted steps as canceled, not as failures of their SQL. The scheduler
then starts nothing new (runtime/recorder.py raises RunCanceled before the next step).

A Python function in flight cannot be interrupted: it finishes, and its write is the last.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teal.warehouse.engine import EngineCursor

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


class InFlight:
    """The cursors of the SQL steps running now: what a cancel interrupts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: set[EngineCursor] = set()

    @contextmanager
    def running(self, canceled: threading.Event, cur: EngineCursor | None) -> Iterator[bool]:
        """While the block runs, ``cur`` (None: no SQL) is among the cursors
        :meth:`interrupt` interrupts; yields False, registering nothing, when ``canceled``
        was set first (nothing may start then)."""
        with self._lock:
            started = not canceled.is_set()
            if started and cur is not None:
                self._cursors.add(cur)
        try:
            yield started
        finally:
            if started and cur is not None:
                with self._lock:
                    self._cursors.discard(cur)

    def interrupt(self) -> None:
        """Interrupt every registered cursor's query: its transaction rolls back."""
        with self._lock:
            cursors = list(self._cursors)
        for cur in cursors:
            cur.interrupt()
