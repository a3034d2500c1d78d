"""A Python asset's stdout and stderr, kept as log lines of its step (Dagster keeps a step's
"compute logs" the same way).

While a recorded run has Python steps, ``sys.stdout`` and ``sys.stderr`` are wrapped
(:func:`teeing`). Everything written still goes where it went (the terminal, or
``.teal/logs/RUN.log`` for a run the daemon launched); what a thread writes while it is
inside an asset's function (:func:`calling`: ``print()``, ``warnings``, the stdlib logging
last-resort handler, a library's messages) is also cut into lines and handed to the run's
recorder as ``stdout`` / ``stderr`` log lines of that model, so ``teal logs``, ``teal runs
show`` and the UI show them. Other threads' writes (teal's own progress lines) pass
through untouched. A handler or a child process holding the original stream (set up
before the run) is not seen.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from teal.runtime.runstore import EventKind

if TYPE_CHECKING:
    from teal.runtime.recorder import RunRecorder

MAX_LINES = 1000  # lines kept per asset call; the rest are counted, not stored
MAX_LINE = 8192  # characters a line keeps (a line without an end is cut here)

Sink = Callable[[str, str, str], None]  # (model, stream "stdout"/"stderr", line)


class _Call(threading.local):
    """The asset this thread is calling, and its half-written lines."""

    model: str | None = None
    redact: Callable[[str], str] | None = None
    kept = 0
    dropped = 0
    partial: dict[str, str]

    def __init__(self) -> None:
        self.partial = {}


_call = _Call()
_lock = threading.Lock()
_sinks: list[Sink] = []  # one per recorded run in flight in this process
_saved: dict[str, TextIO] = {}  # the streams wrapped, put back by the last run to end


@contextmanager
def calling(model: str, redact: Callable[[str], str] | None) -> Iterator[None]:
    """Mark this thread as running asset ``model``'s function while the block runs; its
    unfinished last line is kept when it ends, and how many lines were past the cap."""
    _call.model, _call.redact, _call.kept, _call.dropped = model, redact, 0, 0
    _call.partial = {}
    try:
        yield
    finally:
        for stream, rest in _call.partial.items():
            if rest:
                _keep(model, stream, rest)
        if _call.dropped:
            _send(model, "stderr", f"... {_call.dropped:,} more lines of output not recorded")
        _call.model = None


@contextmanager
def teeing(sink: Sink) -> Iterator[None]:
    """Send the lines assets write while the block runs to ``sink`` (nested and concurrent
    runs in one process each get every asset's lines and keep their own models')."""
    with _lock:
        if not _sinks:
            for name in ("stdout", "stderr"):
                stream: TextIO | None = getattr(sys, name)
                if stream is None:  # no terminal (pythonw, fd closed): print() writes nowhere
                    continue
                _saved[name] = stream
                setattr(sys, name, _Tee(stream, name))
        _sinks.append(sink)
    try:
        yield
    finally:
        with _lock:
            _sinks.remove(sink)
            if not _sinks:
                for name, stream in _saved.items():
                    current = getattr(sys, name)
                    if isinstance(current, _Tee) and current.wrapped is stream:
                        setattr(sys, name, stream)  # left alone if someone replaced ours
                _saved.clear()


class _Tee:
    """A text stream that writes through to ``wrapped`` and, on a thread inside an asset,
    also hands each whole line on."""

    def __init__(self, wrapped: TextIO, name: str) -> None:
        self.wrapped = wrapped
        self.name = name

    def write(self, text: str) -> int:
        written = self.wrapped.write(text)
        model = _call.model
        if model is not None and text:
            lines = (_call.partial.get(self.name, "") + text).split("\n")
            _call.partial[self.name] = lines.pop()[-MAX_LINE:]
            for line in lines:
                _keep(model, self.name, line)
        return written

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.wrapped.flush()

    def __getattr__(self, name: str) -> object:  # encoding, fileno, isatty, buffer, ...
        return getattr(self.wrapped, name)


def _keep(model: str, stream: str, line: str) -> None:
    # a progress bar's last state, as shown; a line ended "\r\n" (csv rows) is the text before
    line = line.rstrip().rsplit("\r", 1)[-1].rstrip()
    if not line:
        return
    if _call.kept >= MAX_LINES:
        _call.dropped += 1
        return
    _call.kept += 1
    _send(model, stream, _call.redact(line) if _call.redact else line)


def _send(model: str, stream: str, line: str) -> None:
    for sink in list(_sinks):
        try:
            sink(model, stream, line[:MAX_LINE])
        except Exception:  # noqa: BLE001 - a printed line must never fail the asset
            pass


@contextmanager
def recording_output(recorder: RunRecorder, models: set[str]) -> Iterator[None]:
    """:func:`teeing` into the run's ``recorder``, for its Python ``models``; with none (a
    SQL-only build) the streams are left as they are."""
    if not models:
        yield
        return

    def sink(model: str, stream: str, line: str) -> None:
        if model in models:  # another run's asset (a run in another thread) is not ours
            recorder.emit(EventKind.LOG, model, level=stream, message=line, defer=True)

    with teeing(sink):
        yield
