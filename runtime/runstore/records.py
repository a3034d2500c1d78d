"""What the run store holds: runs, their steps and their ordered, typed events.

Events are the record of what happened; steps, materializations and check results are
kept beside them (written in the same transaction) so that lists and pages read one small
table instead of replaying a run's events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


class RunStatus(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELING = "canceling"
    CANCELED = "canceled"
    CRASHED = "crashed"  # the process died while the run was started (found on a later start)

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED, RunStatus.CRASHED)


# a run a process is carrying out (a crash leaves it so: runtime/runstore/liveness.py)
IN_PROGRESS = (RunStatus.STARTED, RunStatus.CANCELING)


def _read_as_written(cls: type[StrEnum], value: object) -> StrEnum | None:
    """A value a newer teal wrote (a trigger or event kind this teal does not know) read as
    written, so an older teal sharing the store still lists its runs and their events."""
    if not isinstance(value, str):
        return None
    member = str.__new__(cls, value)
    member._name_ = value.upper()
    member._value_ = value
    return member


class Trigger(StrEnum):
    CLI = "cli"
    API = "api"
    SCHEDULE = "schedule"
    SENSOR = "sensor"
    BACKFILL = "backfill"
    UI = "ui"
    RETRY = "retry"
    DAEMON = "daemon"  # the daemon's own evaluations (freshness)
    # the daemon's evaluator of models' automation conditions (runtime/automation_conditions.py)
    AUTOMATION = "automation"

    _missing_ = classmethod(_read_as_written)


class EventKind(StrEnum):
    RUN_START = "run_start"
    RUN_END = "run_end"
    STEP_START = "step_start"
    STEP_SUCCESS = "step_success"
    STEP_FAILURE = "step_failure"
    STEP_SKIP = "step_skip"
    STEP_CANCELED = "step_canceled"  # stopped by a cancel while it ran: nothing committed
    MATERIALIZATION = "materialization"
    CHECK_RESULT = "check_result"
    LOG = "log"

    _missing_ = classmethod(_read_as_written)


STEP_STATUS = {
    EventKind.STEP_START: "started",
    EventKind.STEP_SUCCESS: "success",
    EventKind.STEP_FAILURE: "failure",
    EventKind.STEP_SKIP: "skipped",
    EventKind.STEP_CANCELED: "canceled",
}


@dataclass(frozen=True)
class RunRecord:
    """One run: what was asked for, by whom, and how it ended."""

    run_id: str
    command: str
    status: RunStatus
    trigger: Trigger = Trigger.CLI
    selection: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()
    config: dict[str, JsonValue] = field(default_factory=dict)
    parent_run_id: str | None = None
    project: str = ""
    teal_version: str = ""
    host: str = ""
    pid: int | None = None
    # the process's identity beyond its pid (runtime/runstore/liveness.py), None where
    # the system does not say
    process: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str | None = None
    # when the process running it last said it still runs (runtime/runstore/heartbeat.py)
    heartbeat_at: datetime | None = None


@dataclass(frozen=True)
class StepRecord:
    """One attempt of one step (a model, or one partition of a partitioned model's step)."""

    run_id: str
    model: str
    partition_key: str  # "" for a whole-model step
    attempt: int
    status: str  # started | success | failure | skipped
    started_at: datetime | None = None
    finished_at: datetime | None = None
    rows: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run; ``seq`` orders a run's events (1, 2, ...)."""

    run_id: str
    seq: int
    at: datetime
    kind: EventKind
    model: str | None = None
    partition_key: str | None = None
    level: str | None = None  # log lines: debug | info | warning | error | stdout | stderr
    message: str | None = None
    data: dict[str, JsonValue] = field(default_factory=dict)

    def data_json(self) -> str | None:
        return json.dumps(self.data, sort_keys=True, default=str) if self.data else None


@dataclass(frozen=True)
class Retention:
    """How much history is kept: finished runs older than ``days`` or beyond the newest
    ``runs`` are deleted with their steps and events as new runs are written; only
    ``project``'s runs when it is set (the projects sharing a store keep their own)."""

    days: int = 90
    runs: int = 10_000
    project: str | None = None


@dataclass(frozen=True)
class StoreStatus:
    """What ``teal status`` shows of the store."""

    location: str
    schema_version: int
    runs: int
    events: int
    size_bytes: int | None
