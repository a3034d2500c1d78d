"""Recording a run in the run store as it happens: the run row before anything is built,
an event when each step starts and after it commits, log lines as assets write them.

:class:`~teal.runtime.recording_reporter.RecordingReporter` sits between the executor and
the reporter that prints: every callback is written to the store first, then passed on, so
another process reading the store (``teal logs --follow``, the UI) sees steps in the order
they happen.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from teal.runtime.clock import utc_now
from teal.runtime.results import (
    BuildResult,
)
from teal.runtime.runstore import (
    Event,
    EventKind,
    Retention,
    RunRecord,
    RunStatus,
    RunStore,
    Trigger,
    open_run_store,
)
from teal.runtime.runstore.heartbeat import HEARTBEAT_S, beat
from teal.runtime.runstore.liveness import mark_crashed_here, this_process
from teal.runtime.runstore.lost import StoreLost
from teal.runtime.runstore.records import JsonValue
from teal.runtime.runstore.spool import Op, Spool, deliver_waiting, events_op

if TYPE_CHECKING:
    from teal.compiler.project import Project
    from teal.warehouse.engine import Engine

ASSET_LOGGER = "teal.asset"

# kind, model, partition, level, message, data
EventSpec = tuple[
    EventKind, str | None, str | None, str | None, str | None, dict[str, JsonValue] | None
]


# how long an event written after a step commits may wait to be batched with others
FLUSH_S = 0.1


class RunRecorder:
    """Writes one run's events, numbered in the order they are emitted (thread-safe).

    Events are written in order, three ways:

    - at once, by the emitting thread (the run's start and end);
    - *urgent*: by the writer thread as soon as it can, while the emitting thread goes on
      (a step's start: the step runs while its start is written, and
      :meth:`wait_written` holds the step's commit until the start is on record);
    - *deferred*: kept and written with the next write, or by the writer thread within
      :data:`FLUSH_S` (a step's outcome, its materialization, log lines), so a step's end
      and the next step's start share one store transaction.

    :meth:`flush` writes what waits; :meth:`close` stops the writer thread and flushes.

    With a ``spool``, a store lost for longer than its reconnect window does not fail the
    run: the writes go to the spool file from then on (runtime/runstore/spool.py), which
    the writer thread delivers when it finds the store back, and :meth:`deliver` at the
    run's end."""

    def __init__(self, store: RunStore, run_id: str, spool: Spool | None = None) -> None:
        self.store = store
        self.run_id = run_id
        self.spool = spool
        self._seq = itertools.count(1)
        self._lock = threading.Lock()  # the numbering and the waiting events
        self._write_lock = threading.Lock()  # one write at a time, in the events' order
        self._wake = threading.Condition(self._lock)
        self._pending: list[Event] = []
        self._written = 0  # the last sequence number on record
        self._urgent = False
        self._closed = threading.Event()
        self._writer: threading.Thread | None = None
        self._beaten = time.monotonic()  # when the run's heartbeat was last written

    def emit(
        self,
        kind: EventKind,
        model: str | None = None,
        *,
        partition: str | None = None,
        level: str | None = None,
        message: str | None = None,
        data: dict[str, JsonValue] | None = None,
        defer: bool = False,
        urgent: bool = False,
    ) -> int:
        return self.emit_all(
            [(kind, model, partition, level, message, data)], defer=defer, urgent=urgent
        )

    def emit_all(
        self, events: list[EventSpec], *, defer: bool = False, urgent: bool = False
    ) -> int:
        """Several events in one transaction (a step's outcome with what it produced);
        ``defer`` and ``urgent``: written later (see the class). Returns the last event's
        sequence number."""
        with self._lock:
            at = utc_now()
            made = [
                Event(
                    run_id=self.run_id,
                    seq=next(self._seq),
                    at=at,
                    kind=kind,
                    model=model,
                    partition_key=partition,
                    level=level,
                    message=message,
                    data=data or {},
                )
                for kind, model, partition, level, message, data in events
            ]
            self._pending.extend(made)
            last = made[-1].seq
            if (defer or urgent) and not self._closed.is_set():
                if urgent:
                    self._urgent = True
                    self._wake.notify()
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._write_behind, name="teal-recorder", daemon=True
                    )
                    self._writer.start()
                return last
        self.flush()
        return last

    def flush(self) -> None:
        """Write the waiting events now (in this thread)."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                self._write(events_op(batch), lambda: self.store.append(batch))
            except BaseException:
                with self._lock:
                    self._pending = batch + self._pending  # kept for the next try
                raise
            with self._lock:
                self._written = batch[-1].seq

    def _write(self, op: Op, call: Callable[[], object]) -> None:
        """One store write (``call``), or ``op`` in the spool once the store is lost."""
        if self.spool is not None and self.spool.active:
            self.spool.write(op)
            return
        try:
            call()
        except StoreLost as exc:
            if self.spool is None:
                raise
            self.spool.write(op)
            logging.getLogger("teal").warning(
                "warning: run_store: %s\n  hint: the build goes on; its run's history is kept "
                "in %s and delivered once the store is back",
                exc.message,
                self.spool.shown,
            )

    def write(self, op: Op, call: Callable[[], object]) -> None:
        """A store write of the run besides its events (its end, its output schemas), in
        order with them."""
        with self._write_lock:
            self._write(op, call)

    @property
    def spooling(self) -> bool:
        """Whether the store was lost and the run's writes go to its spool file."""
        return self.spool is not None and self.spool.active

    def deliver(self) -> None:
        """Deliver the spool file, if the store was lost and is back; said either way."""
        spool = self.spool
        if spool is None or not spool.active:
            return
        with self._write_lock:
            try:
                spool.deliver(self.store)
            except StoreLost as exc:
                spool.close()
                logging.getLogger("teal").warning(
                    "warning: run_store: %s\n  hint: this run's history waits in %s: the "
                    "next teal command in this project delivers it once the store is back",
                    exc.message,
                    spool.shown,
                )
                return
        _back(spool)

    def _catch_up(self) -> None:
        """Deliver the spool file when the store answers again (asked without holding
        the writes, which meanwhile go on to the file)."""
        try:
            self.store.schema_version()
            with self._write_lock:
                if self.spool is not None:
                    self.spool.deliver(self.store)
                    _back(self.spool)
        except StoreLost:  # still away: tried again later
            return

    def wait_written(self, seq: int) -> None:
        """Return once event ``seq`` is on record: at once when the writer thread has
        written it, else after writing it here (an unreachable store raises)."""
        with self._lock:
            if self._written >= seq:
                return
        self.flush()

    def _write_behind(self) -> None:
        while not self._closed.is_set():
            with self._lock:
                self._wake.wait_for(lambda: self._urgent or self._closed.is_set(), FLUSH_S)
                self._urgent = False
            try:
                self.flush()
                if time.monotonic() - self._beaten >= HEARTBEAT_S:  # still running
                    if self.spooling:  # the store was lost: is it back?
                        self._catch_up()
                    else:
                        beat(self.store, self.run_id, utc_now())
                    self._beaten = time.monotonic()
            except Exception:  # a store hiccup: written with the next batch
                logging.getLogger("teal").debug("run store write deferred", exc_info=True)

    def close(self) -> None:
        """Stop the writer thread and write what waits."""
        with self._lock:
            self._closed.set()
            self._wake.notify()
        if self._writer is not None:
            self._writer.join()
        self.flush()


def _back(spool: Spool) -> None:
    logging.getLogger("teal").warning(
        "run_store: the store is back: this run's history, kept in %s meanwhile, is on record",
        spool.shown,
    )


def start_run(
    store: RunStore,
    *,
    run_id: str,
    command: str,
    trigger: Trigger,
    project: str,
    selection: tuple[str, ...],
    exclude: tuple[str, ...],
    partitions: tuple[str, ...],
    config: dict[str, JsonValue],
    parent_run_id: str | None = None,
    planned: tuple[str, ...] = (),
    queued: bool = False,
    root: Path | None = None,
) -> RunRecorder:
    """Add the run (status started, this host and process) and return its recorder;
    ``queued``: claim the queued run ``run_id`` instead (the daemon queued it); ``root``:
    the project's folder, where the run's writes wait should the store be lost."""
    from teal import __version__

    now = utc_now()
    if queued:
        from teal.compiler.errors import SelectionError
        from teal.runtime.runstore.ticks import TickStore

        claimed = TickStore(store).claim(
            run_id, host=socket.gethostname(), pid=os.getpid(), process=this_process(), at=now
        )
        if not claimed:
            raise SelectionError(
                f"run {run_id} is not queued (another process started it, or it was canceled)",
                path="RUN",
                hint="`teal runs show RUN` shows its status",
            )
    else:
        store.add_run(
            RunRecord(
                run_id=run_id,
                command=command,
                status=RunStatus.STARTED,
                trigger=trigger,
                selection=selection,
                exclude=exclude,
                partitions=partitions,
                config=config,
                parent_run_id=parent_run_id,
                project=project,
                teal_version=__version__,
                host=socket.gethostname(),
                pid=os.getpid(),
                process=this_process(),
                created_at=now,
                started_at=now,
                heartbeat_at=now,
            )
        )
    spool = Spool(root, store.location, run_id) if root is not None else None
    recorder = RunRecorder(store, run_id, spool)
    # the models the plan will build: a retry reruns those that did not succeed, including
    # any a crash kept from starting
    planned_steps: list[JsonValue] = list(planned)
    recorder.emit(
        EventKind.RUN_START, message=f"{command} started", data={"planned": planned_steps}
    )
    return recorder


def abort_run(recorder: RunRecorder, exc: BaseException) -> None:
    """The run stopped on ``exc`` (interrupted by Ctrl-C, or an error that ends the run)."""
    canceled = isinstance(exc, KeyboardInterrupt)
    status = RunStatus.CANCELED if canceled else RunStatus.FAILURE
    message = str(exc)
    if canceled:
        message = f"interrupted: {message or 'nothing half-written was committed'}"
    # the end in the run's events too, with why: `teal logs` shows it (a run stopped before
    # any step, by a resource's setup, had only its start there)
    recorder.emit(EventKind.RUN_END, message=f"{status.value}: {message}")
    recorder.close()  # the outcomes of the steps that ended, then the rest:
    # steps still marked running rolled back (a cancel lets none commit) or, after an
    # error, finished or rolled back: the warehouse knows which, and a retry runs them again
    _close_open_steps(recorder, status.value)
    _set_status(recorder, status, message[:2000])
    recorder.deliver()


def _close_open_steps(recorder: RunRecorder, status: str) -> None:
    at, run_id = utc_now(), recorder.run_id
    op: Op = {"op": "close_open_steps", "run_id": run_id, "status": status, "at": at.isoformat()}
    recorder.write(op, lambda: recorder.store.close_open_steps(run_id, status, at))


def _set_status(recorder: RunRecorder, status: RunStatus, message: str) -> None:
    at, run_id = utc_now(), recorder.run_id
    op: Op = {"op": "status", "run_id": run_id, "status": status.value, "at": at.isoformat()}
    op["message"] = message
    recorder.write(op, lambda: recorder.store.set_status(run_id, status, at=at, message=message))


def end_run(recorder: RunRecorder, result: BuildResult, retention: Retention) -> None:
    """The run's end, once every step's outcome is on record; old runs pruned."""
    recorder.close()
    counts = f"{len(result.built)} built, {len(result.failed)} failed, "
    counts += f"{len(result.skipped)} skipped"
    store = recorder.store
    asked = None if recorder.spooling else _asked(recorder)  # a cancel is never spooled
    late = result.success and not result.failed and not result.skipped
    if asked is not None and asked.status is RunStatus.CANCELING and not late:
        # canceled while its last steps ran: they were interrupted and rolled back
        recorder.emit(EventKind.RUN_END, message="canceled")
        _set_status(recorder, RunStatus.CANCELED, f"canceled: {counts}")
    else:  # a cancel asked for while the last step ran, that step done: nothing was stopped
        if asked is not None and asked.status is RunStatus.CANCELING:
            counts += " (canceled after its last step had started: every step finished)"
        recorder.emit(EventKind.RUN_END, message="success" if result.success else "failure")
        status = RunStatus.SUCCESS if result.success else RunStatus.FAILURE
        _set_status(recorder, status, counts)
    if recorder.spooling:  # the next run prunes
        recorder.deliver()
    else:
        store.prune(retention, utc_now())  # history is bounded as it is written


def _asked(recorder: RunRecorder) -> RunRecord | None:
    """The run as the store has it (a cancel asked for), or None when it is lost (then
    the run's end is spooled)."""
    try:
        return recorder.store.run(recorder.run_id)
    except StoreLost:
        return None


def record_output_schemas(
    store: RunStore | RunRecorder,
    wh: Engine,
    project: Project,
    run_id: str,
    result: BuildResult,
) -> dict[str, tuple[tuple[str, str], ...]]:
    """Record the output schema of every model ``result`` built in run ``run_id`` (through
    its recorder, which spools them when the store is lost): one query to the warehouse for
    all of them, after the build. Returns them, by model."""
    built = {r.model: project.models[r.model] for r in result.built}
    found = wh.output_schemas([(m.schema, m.alias) for m in built.values()])
    schemas = {
        name: tuple(found.get((m.schema.lower(), m.alias.lower()), [])) for name, m in built.items()
    }
    columns: dict[str, list[list[str]]] = {n: [[c, t] for c, t in s] for n, s in schemas.items()}
    if isinstance(store, RunRecorder):
        on_record = store.store
        kept: dict[str, JsonValue] = {n: [[c, t] for c, t in s] for n, s in schemas.items()}
        op: Op = {"op": "output_schemas", "run_id": run_id, "schemas": kept}
        store.write(op, lambda: on_record.set_output_schemas(run_id, columns))
    else:
        store.set_output_schemas(run_id, columns)
    return {name: typed for name, typed in schemas.items() if typed}


def open_migrated(spec: str | None, root: Path, *, project: str | None = None) -> RunStore:
    """The run store ``spec`` names, opened (for ``project``: runtime/runstore/scope.py) and
    migrated; the history runs of ``root`` kept while it was lost delivered
    (runtime/runstore/spool.py), then runs this host left started by a process that is
    gone are marked crashed."""
    store = open_run_store(spec, root, project=project)
    try:
        store.migrate(utc_now())
        for path in deliver_waiting(store, root):
            logging.getLogger("teal").warning(
                "run_store: the store is back: delivered the history of run %s, kept in %s",
                path.stem,
                path.relative_to(root),
            )
        mark_crashed_here(store)
    except BaseException:
        store.close()
        raise
    return store


class _LogRecorder(logging.Handler):
    """Turns assets' ``context.log`` lines into log events of the run."""

    def __init__(self, recorder: RunRecorder, models: set[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.recorder = recorder
        self.models = models
        self.restore_to = logging.NOTSET  # the logger's level before the first build recorded

    def emit(self, record: logging.LogRecord) -> None:
        model = record.name.removeprefix(f"{ASSET_LOGGER}.")
        if model not in self.models:
            return
        try:
            self.recorder.emit(
                EventKind.LOG,
                model,
                level=record.levelname.lower(),
                message=record.getMessage(),
                defer=True,
            )
        except Exception:  # noqa: BLE001 - a log line must never fail the step that wrote it
            self.handleError(record)


@contextmanager
def recording_logs(recorder: RunRecorder, models: set[str]) -> Iterator[None]:
    """Record the log lines the ``models``' assets write while the block runs."""
    handler = _LogRecorder(recorder, models)
    logger = logging.getLogger(ASSET_LOGGER)
    # the caller's level (a notebook's logging, set up its own way) is put back by the last
    # of the builds that record at once (threads of one process): each knows the first's
    others = [h for h in logger.handlers if isinstance(h, _LogRecorder)]
    handler.restore_to = others[0].restore_to if others else logger.level
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.DEBUG:
        logger.setLevel(logging.DEBUG)  # debug lines too: the run's log keeps every level
    try:
        yield
    finally:
        logger.removeHandler(handler)
        if not any(isinstance(h, _LogRecorder) for h in logger.handlers):
            logger.setLevel(handler.restore_to)
