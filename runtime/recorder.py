"""Recording a run in the run store as it happens: the run row before anything is built,
an event when each step starts and after it commits, log lines as assets write them.

:class:`RecordingReporter` sits between the executor and the reporter that prints: every
callback is written to the store first, then passed on, so another process reading the
store (``teal logs --follow``, the UI) sees steps in the order they happen.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.plan import Plan, Step
from teal.runtime.clock import utc_now
from teal.runtime.report import Reporter
from teal.runtime.results import (
    CANCELED_RUNNING,
    ERROR,
    SKIPPED,
    SUCCESS,
    BuildResult,
    ModelResult,
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
from teal.runtime.runstore.records import JsonValue

if TYPE_CHECKING:
    from teal.compiler.project import Project
    from teal.warehouse.engine import Engine

ASSET_LOGGER = "teal.asset"

# kind, model, partition, level, message, data
EventSpec = tuple[
    EventKind, str | None, str | None, str | None, str | None, dict[str, JsonValue] | None
]

_OUTCOME = {
    SUCCESS: EventKind.STEP_SUCCESS,
    ERROR: EventKind.STEP_FAILURE,
    SKIPPED: EventKind.STEP_SKIP,
}


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

    :meth:`flush` writes what waits; :meth:`close` stops the writer thread and flushes."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
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
                self.store.append(batch)
            except BaseException:
                with self._lock:
                    self._pending = batch + self._pending  # kept for the next try
                raise
            with self._lock:
                self._written = batch[-1].seq

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
) -> RunRecorder:
    """Add the run (status started, this host and process) and return its recorder;
    ``queued``: claim the queued run ``run_id`` instead (the daemon queued it)."""
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
    recorder = RunRecorder(store, run_id)
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
    recorder.store.close_open_steps(recorder.run_id, status.value, utc_now())
    recorder.store.set_status(recorder.run_id, status, at=utc_now(), message=message[:2000])


def end_run(recorder: RunRecorder, result: BuildResult, retention: Retention) -> None:
    """The run's end, once every step's outcome is on record; old runs pruned."""
    recorder.close()
    counts = f"{len(result.built)} built, {len(result.failed)} failed, "
    counts += f"{len(result.skipped)} skipped"
    store, run_id = recorder.store, recorder.run_id
    asked = store.run(run_id)
    late = result.success and not result.failed and not result.skipped
    if asked is not None and asked.status is RunStatus.CANCELING and not late:
        # canceled while its last steps ran: they were interrupted and rolled back
        recorder.emit(EventKind.RUN_END, message="canceled")
        store.set_status(run_id, RunStatus.CANCELED, at=utc_now(), message=f"canceled: {counts}")
    else:  # a cancel asked for while the last step ran, that step done: nothing was stopped
        if asked is not None and asked.status is RunStatus.CANCELING:
            counts += " (canceled after its last step had started: every step finished)"
        recorder.emit(EventKind.RUN_END, message="success" if result.success else "failure")
        status = RunStatus.SUCCESS if result.success else RunStatus.FAILURE
        store.set_status(run_id, status, at=utc_now(), message=counts)
    store.prune(retention, utc_now())  # history is bounded as it is written


def record_output_schemas(
    store: RunStore, wh: Engine, project: Project, run_id: str, result: BuildResult
) -> dict[str, tuple[tuple[str, str], ...]]:
    """Record the output schema of every model ``result`` built in run ``run_id``: one
    query to the warehouse for all of them, after the build. Returns them, by model."""
    built = {r.model: project.models[r.model] for r in result.built}
    found = wh.output_schemas([(m.schema, m.alias) for m in built.values()])
    schemas = {
        name: tuple(found.get((m.schema.lower(), m.alias.lower()), [])) for name, m in built.items()
    }
    store.set_output_schemas(run_id, {n: [[c, t] for c, t in s] for n, s in schemas.items()})
    return {name: typed for name, typed in schemas.items() if typed}


def open_migrated(spec: str | None, root: Path, *, project: str | None = None) -> RunStore:
    """The run store ``spec`` names, opened (for ``project``: runtime/runstore/scope.py) and
    migrated; runs this host left started by a process that is gone are marked crashed."""
    store = open_run_store(spec, root, project=project)
    try:
        store.migrate(utc_now())
        mark_crashed_here(store)
    except BaseException:
        store.close()
        raise
    return store


class RecordingReporter:
    """A :class:`~teal.runtime.executor.Reporter` that records each callback, then passes
    it on to ``inner``. A step a cancel stopped while it ran (``ModelResult.canceled``) is
    recorded ``canceled``."""

    def __init__(self, recorder: RunRecorder, inner: Reporter) -> None:
        self.recorder = recorder
        self.inner = inner
        self._code_versions: dict[str, str] = {}  # model -> the version its step builds
        self._started: dict[str, int] = {}  # model -> the sequence number of its step start

    def start(self, plan: Plan, threads: int, warehouse: str) -> None:
        self.inner.start(plan, threads, warehouse)

    def model_started(self, step: Step) -> None:
        self._code_versions[step.model] = step.sql_hash
        self._started[step.model] = self.recorder.emit(
            EventKind.STEP_START,
            step.model,
            data={"action": step.action, "partitions": len(step.partitions)},
            urgent=True,  # written while the step runs; before_commit waits for it
        )
        self.inner.model_started(step)

    def before_commit(self, model: str) -> None:
        """Called in each of the step's transactions before it commits: the step's start is
        on record before its data is, so a kill -9 after the commit leaves the step in the
        store (and an unreachable store fails the step before its data changes)."""
        seq = self._started.get(model)
        if seq is not None:
            self.recorder.wait_written(seq)

    def cancel_noticed(self, signum: int | None = None) -> None:
        report = getattr(self.inner, "cancel_noticed", None)
        if report is not None:
            report(signum)

    def attempt_failed(self, step: Step, failed: ModelResult, allowed: int, pause: float) -> None:
        """Attempt ``step.attempt`` failed and the step runs again after ``pause``: the
        attempt's step row ends failed (the next one starts after the pause)."""
        self.recorder.emit(
            EventKind.STEP_FAILURE,
            step.model,
            message=failed.message,
            data={"attempt": step.attempt, "retry_in_s": round(pause, 3), "of": allowed},
            urgent=True,
        )
        report = getattr(self.inner, "attempt_failed", None)
        if report is not None:
            report(step, failed, allowed, pause)

    def attempt_started(self, step: Step, allowed: int) -> None:
        """Attempt ``step.attempt`` starts, after the pause: its step row starts now."""
        self._started[step.model] = self.recorder.emit(
            EventKind.STEP_START,
            step.model,
            message=f"attempt {step.attempt} of {allowed}",
            data={"attempt": step.attempt},
            urgent=True,
        )

    def partition_finished(
        self,
        step: Step,
        key: str,
        status: str,
        rows: int | None,
        done: int,
        total: int,
        seconds: float | None,
        message: str | None = None,
        metadata: dict[str, JsonValue] | None = None,
    ) -> None:
        events: list[EventSpec] = []
        if status == SUCCESS:
            data: dict[str, JsonValue] = {"rows": rows, "code_version": step.sql_hash}
            if metadata:  # a partitioned Python asset's teal.Output metadata, per partition
                data["metadata"] = dict(metadata)
            events.append((EventKind.MATERIALIZATION, step.model, key, None, None, data))
        canceled = status == ERROR and message == CANCELED_RUNNING  # stopped by a cancel
        outcome: dict[str, JsonValue] = {"rows": rows, "attempt": step.attempt}
        if seconds is not None:  # the store dates the partition's start from it
            outcome["duration_s"] = round(seconds, 6)
        events.append(
            (
                EventKind.STEP_CANCELED if canceled else _OUTCOME[status],
                step.model,
                key,
                None,
                message,
                outcome,
            )
        )
        self.recorder.emit_all(events, defer=True)
        report = getattr(self.inner, "partition_finished", None)
        if report is not None:
            report(step, key, status, rows, done, total, seconds, message, metadata)

    def model_finished(self, result: ModelResult, done: int, total: int) -> None:
        events: list[EventSpec] = []
        for outcome in result.checks:
            check: dict[str, JsonValue] = {
                "check": outcome.check,
                "status": outcome.status,
                "severity": outcome.severity,
                "failing_rows": outcome.failing,
            }
            sample = outcome.failing_row()  # as the build prints it: the UI shows it too
            if sample is not None:
                check["sample"] = sample
            events.append(
                (
                    EventKind.CHECK_RESULT,
                    result.model,
                    outcome.partition,
                    None,
                    outcome.message,
                    check,
                )
            )
        timing: dict[str, JsonValue] = {
            "rows": result.rows,
            "duration_s": round(result.duration_s, 6),
            "attempt": result.attempts,
        }
        if result.status == SUCCESS and not result.partitions:
            built: dict[str, JsonValue] = dict(timing)
            built["code_version"] = self._code_versions.get(result.model)
            if result.metadata:
                built["metadata"] = dict(result.metadata)
            events.append((EventKind.MATERIALIZATION, result.model, None, None, None, built))
        outcome = EventKind.STEP_CANCELED if result.canceled else _OUTCOME[result.status]
        ended: dict[str, JsonValue] = dict(timing)
        if outcome is EventKind.STEP_FAILURE and result.path:
            ended["where"] = result.location  # its file (and line): the UI shows it
        events.append((outcome, result.model, None, None, result.message, ended))
        self.recorder.emit_all(events, defer=True)
        self.inner.model_finished(result, done, total)

    def finish(self, result: BuildResult) -> None:
        self.inner.finish(result)


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
