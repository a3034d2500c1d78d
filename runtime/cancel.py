"""Stopping a run that is building: `teal cancel` (from any terminal) and Ctrl-C take one
path. Either calls the executor's ``cancel``: it sets the run's canceled event, says so,
and interrupts the queries of the steps in flight (their transactions roll back at once).
From then on no step starts, and no step commits: every step's transaction checks the
event in its pre-commit callback (runtime/executor.py), so a query that ended just before
the interrupt, or a Python function, which cannot be interrupted mid-function, rolls back
too. The executor records the steps it stopped as canceled, not as failures of their SQL.

- :class:`CancelWatcher`: while a recorded run builds, a small thread asks the run store
  every ``POLL_S`` whether ``teal cancel`` was asked.
- :func:`ctrl_c`: while a build runs in the main thread, the first SIGINT or SIGTERM
  cancels the run as above (the build waits for its steps to stop, records them and
  raises :class:`Interrupted`); a second one raises :class:`Interrupted` at once, and the
  build stops waiting for steps that can commit nothing any more. SIGTERM is what
  `docker stop`, Kubernetes and systemd send before they kill: the run ends canceled,
  and `teal retry` finishes it, where it used to end at once and stay "started".
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from teal.warehouse.engine import EngineCursor

# what a cancel does to the steps running (`teal cancel`, the UI's Cancel say it)
STOPPING = (
    "a running SQL step is interrupted and rolls back; a running Python function cannot be "
    "interrupted mid-call: it runs to its end and its result is rolled back"
)
POLL_S = 0.2  # one indexed read of the run's status, five times a second

T = TypeVar("T")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the build (``str()``: what it stopped, said by the command
    line and recorded as the run's message; ``hint``: what to do next; ``exit_code``: 128
    plus the signal, as a shell reports a process the signal ended)."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        at_once: bool = False,
        signum: int = signal.SIGINT,
    ) -> None:
        super().__init__(message)
        self.hint = hint
        self.at_once = at_once  # a second signal: the steps still running were not awaited
        self.exit_code = 128 + int(signum)


def signal_said(signum: int) -> str:
    """How the command line names a stop signal: ``Ctrl-C`` for SIGINT, else its name."""
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


class StepCanceled(Exception):
    """Raised in a step's transaction before it commits, once the run is canceled: the
    transaction rolls back and the previous data stays."""


class CancelWatcher:
    """Polls ``asked()`` on a thread while the block runs; on the first True, calls
    ``cancel()``."""

    def __init__(self, cancel: Callable[[], None], asked: Callable[[], bool]) -> None:
        self.cancel = cancel
        self.ask = asked
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="teal-cancel", daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                asked = self.ask()
            except Exception:  # noqa: BLE001 - a store hiccup: ask again next time
                continue
            if asked:
                self.cancel()
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


AT_ONCE_GRACE_S = 5.0  # after a second signal, how long the block has to end by itself


@contextmanager
def ctrl_c(noted: Callable[[int], None], cancel: Callable[[], None]) -> Iterator[None]:
    """While the block runs, the first SIGINT or SIGTERM calls ``noted(signum)`` at once
    (it must only set a flag) and ``cancel()`` on a thread of its own (a signal handler
    that prints or takes locks could meet its own thread holding them) instead of ending
    the process; the next raises :class:`Interrupted`.

    Only in the main thread, and only for a signal still on its default (SIGINT raising
    KeyboardInterrupt, SIGTERM ending the process): a program that handles one itself
    keeps its handler. Restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    owned = {s: h for s, h in defaults.items() if signal.getsignal(s) is h}
    received = 0
    # the second signal's exception can be lost: raised while the main thread runs a
    # weakref callback or a __del__, Python prints it as "ignored" and goes on waiting for
    # the step still running. A watchdog, started before any signal (a handler that starts
    # a thread could meet its own thread holding threading's locks), ends the process if
    # the block has not ended AT_ONCE_GRACE_S after the second signal.
    woken, ended, second = threading.Event(), threading.Event(), [0]

    def watchdog() -> None:
        woken.wait()
        if ended.is_set() or ended.wait(AT_ONCE_GRACE_S):
            return
        said = signal_said(second[0])
        sys.stderr.write(f"interrupted: stopped at once ({said} twice)\n")
        sys.stderr.flush()
        os._exit(128 + second[0])

    guard = threading.Thread(target=watchdog, name="teal-interrupt-watchdog", daemon=True)
    if owned:
        guard.start()

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal received
        received += 1
        if received > 1:
            second[0] = signum
            woken.set()
            raise Interrupted(
                f"stopped at once ({signal_said(signum)} twice): the steps still running "
                "commit nothing",
                at_once=True,
                signum=signum,
            )
        noted(signum)
        threading.Thread(target=cancel, name="teal-interrupt", daemon=True).start()

    for stop in owned:
        signal.signal(stop, handle)
    try:
        yield
    finally:
        ended.set()
        woken.set()  # the watchdog ends with the block, and is gone when it returns (a
        if owned:  # thread left behind keeps a later cache write from forking)
            guard.join()
        for stop, default in owned.items():
            signal.signal(stop, default)


def first_done(futures: Collection[Future[T]]) -> set[Future[T]]:
    """Wait until one of ``futures`` is done; the done ones. Waits ``POLL_S`` at a time: a
    SIGINT the kernel gives another thread (a step's, or DuckDB's) leaves the main thread
    asleep in an untimed wait, and :func:`ctrl_c`'s handler would run only once a step
    ended."""
    while True:
        done, _ = wait(futures, timeout=POLL_S, return_when=FIRST_COMPLETED)
        if done:
            return done


class InFlight:
    """The cursors of the steps running now: what a cancel interrupts."""

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
