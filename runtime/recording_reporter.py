"""The reporter that records a build as it happens: :class:`RecordingReporter` sits between
the executor and the reporter that prints, writes every callback to the run's recorder
(runtime/recorder.py) first, then passes it on, so another process reading the store
(``teal logs --follow``, the UI) sees steps in the order they happen."""

from __future__ import annotations

from teal.compiler.plan import Plan, Step
from teal.runtime.recorder import EventSpec, RunRecorder
from teal.runtime.report import Reporter
from teal.runtime.results import (
    CANCELED_RUNNING,
    ERROR,
    SKIPPED,
    SUCCESS,
    BuildResult,
    ModelResult,
)
from teal.runtime.runstore import EventKind
from teal.runtime.runstore.records import JsonValue

_OUTCOME = {
    SUCCESS: EventKind.STEP_SUCCESS,
    ERROR: EventKind.STEP_FAILURE,
    SKIPPED: EventKind.STEP_SKIP,
}


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
