"""The run store, the same tests against SQLite and a real Postgres server."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from teal.compiler.errors import WarehouseError
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
from teal.runtime.runstore.liveness import mark_crashed_here, this_process
from teal.runtime.runstore.schema import LATEST

T0 = datetime(2026, 12, 1, 9, 0, 0)


def _run(run_id: str, at: datetime = T0, **kw: object) -> RunRecord:
    fields: dict[str, object] = {
        "run_id": run_id,
        "command": "build",
        "status": RunStatus.STARTED,
        "trigger": Trigger.CLI,
        "selection": ("marts+",),
        "partitions": ("2025-03-01",),
        "config": {"threads": 2},
        "project": "shop",
        "teal_version": "0.1.0",
        "host": "here",
        "pid": 4242,
        "created_at": at,
        "started_at": at,
    }
    fields.update(kw)
    return RunRecord(**fields)  # type: ignore[arg-type]


def _events(run_id: str) -> list[Event]:
    at = T0
    seq = iter(range(1, 100))

    def ev(kind: EventKind, model: str | None = None, **kw: object) -> Event:
        nonlocal at
        at += timedelta(seconds=1)
        return Event(run_id=run_id, seq=next(seq), at=at, kind=kind, model=model, **kw)  # type: ignore[arg-type]

    return [
        ev(EventKind.RUN_START),
        ev(EventKind.STEP_START, "orders", partition_key="2025-03-01"),
        ev(EventKind.LOG, "orders", partition_key="2025-03-01", level="info", message="made 10"),
        ev(
            EventKind.MATERIALIZATION,
            "orders",
            partition_key="2025-03-01",
            data={"rows": 10, "schema": [["id", "BIGINT"]], "code_version": "abc"},
        ),
        ev(
            EventKind.CHECK_RESULT,
            "orders",
            partition_key="2025-03-01",
            data={"check": "not_null_orders_id", "status": "pass", "failing_rows": 0},
        ),
        ev(EventKind.STEP_SUCCESS, "orders", partition_key="2025-03-01", data={"rows": 10}),
        ev(EventKind.STEP_START, "daily"),
        ev(EventKind.STEP_FAILURE, "daily", message="Binder Error: no column x"),
        ev(EventKind.STEP_SKIP, "report", message="upstream daily failed"),
    ]


def test_migrates_on_first_use_and_says_what_it_applied(store: RunStore) -> None:
    assert store.schema_version() == 0
    applied = store.migrate(T0)
    assert applied and applied[0].startswith("1: runs, steps, events")
    assert store.schema_version() == LATEST
    assert store.migrate(T0) == []  # nothing left to do


def test_records_a_run_with_its_steps_events_and_outcomes(store: RunStore) -> None:
    store.migrate(T0)
    store.add_run(_run("r1"))
    store.append(_events("r1"))
    store.set_status("r1", RunStatus.FAILURE, at=T0 + timedelta(minutes=1), message="1 failed")

    run = store.run("r1")
    assert run is not None
    assert (run.status, run.selection, run.partitions, run.config) == (
        RunStatus.FAILURE,
        ("marts+",),
        ("2025-03-01",),
        {"threads": 2},
    )
    assert run.finished_at == T0 + timedelta(minutes=1) and run.message == "1 failed"
    steps = {(s.model, s.partition_key): s for s in store.steps("r1")}
    assert steps["orders", "2025-03-01"].status == "success"
    assert steps["orders", "2025-03-01"].rows == 10
    assert steps["daily", ""].status == "failure"
    assert steps["daily", ""].message == "Binder Error: no column x"
    assert steps["report", ""].status == "skipped" and steps["report", ""].started_at is None
    kinds = [e.kind for e in store.events("r1")]
    assert kinds[:3] == [EventKind.RUN_START, EventKind.STEP_START, EventKind.LOG]
    assert [e.seq for e in store.events("r1", after=7)] == [8, 9]
    logs = store.events("r1", kinds=[EventKind.LOG])
    assert [(e.level, e.message) for e in logs] == [("info", "made 10")]
    materialized = store.events("r1", kinds=[EventKind.MATERIALIZATION])[0]
    assert materialized.data["schema"] == [["id", "BIGINT"]]


def test_a_partition_outcome_dates_its_step_from_how_long_it_took(store: RunStore) -> None:
    """A partition has no start event: its step row starts its duration before it ended
    (the UI shows each partition's time), and an outcome that does not say has none."""
    store.migrate(T0)
    store.add_run(_run("r1"))
    ended = T0 + timedelta(seconds=10)
    store.append(
        [
            Event("r1", 1, ended, EventKind.STEP_SUCCESS, "orders", partition_key="2025-03-01",
                  data={"rows": 3, "duration_s": 2.5}),
            Event("r1", 2, ended, EventKind.STEP_SUCCESS, "orders", partition_key="2025-03-02",
                  data={"rows": 3}),
        ]
    )  # fmt: skip
    steps = {s.partition_key: s for s in store.steps("r1")}
    assert steps["2025-03-01"].started_at == ended - timedelta(seconds=2.5)
    assert steps["2025-03-01"].finished_at == ended
    assert steps["2025-03-02"].started_at is None


def test_lists_runs_newest_first_with_filters(store: RunStore) -> None:
    store.migrate(T0)
    for i in range(3):
        store.add_run(_run(f"r{i}", at=T0 + timedelta(hours=i)))
    store.append(_events("r1"))
    store.set_status("r2", RunStatus.SUCCESS, at=T0 + timedelta(hours=3))
    assert [r.run_id for r in store.runs()] == ["r2", "r1", "r0"]
    assert [r.run_id for r in store.runs(status=[RunStatus.SUCCESS])] == ["r2"]
    assert [r.run_id for r in store.runs(model="daily")] == ["r1"]
    assert [r.run_id for r in store.runs(since=T0 + timedelta(minutes=30))] == ["r2", "r1"]
    assert [r.run_id for r in store.runs(limit=1)] == ["r2"]
    assert store.last_runs_by_model()["daily"][:2] == ("r1", "failure")


def test_a_run_whose_process_died_is_marked_crashed_with_its_open_step(store: RunStore) -> None:
    store.migrate(T0)
    store.add_run(_run("dead", pid=111))
    store.add_run(_run("alive", pid=222))
    store.append(
        [
            Event("dead", 1, T0, EventKind.STEP_START, "orders", partition_key="2025-03-02"),
            Event("alive", 1, T0, EventKind.STEP_START, "orders"),
        ]
    )
    marked = store.mark_crashed(
        "here", alive=lambda pid, process: pid == 222, at=T0 + timedelta(hours=1)
    )
    assert marked == ["dead"]
    dead = store.run("dead")
    assert dead is not None and dead.status is RunStatus.CRASHED
    assert dead.message is not None and "orders[2025-03-02]" in dead.message
    assert store.steps("dead")[0].status == "crashed"
    alive = store.run("alive")
    assert alive is not None and alive.status is RunStatus.STARTED


@pytest.mark.skipif(this_process() is None, reason="needs /proc")
def test_a_run_whose_pid_another_process_took_is_marked_crashed(store: RunStore) -> None:
    import os
    import socket

    store.migrate(T0)
    here = socket.gethostname()
    mine = this_process()
    assert mine is not None
    boot, _ = mine.split("/")
    # this process's pid, recorded by a process that started at another moment of this boot
    store.add_run(_run("reused", host=here, pid=os.getpid(), process=f"{boot}/1"))
    store.add_run(_run("mine", host=here, pid=os.getpid(), process=mine))
    store.add_run(_run("unknown", host=here, pid=os.getpid()))  # recorded before migration 3
    assert mark_crashed_here(store) == ["reused"]
    runs = {r.run_id: r for r in store.runs(limit=10)}
    assert {n: r.status for n, r in runs.items()} == {
        "reused": RunStatus.CRASHED,
        "mine": RunStatus.STARTED,
        "unknown": RunStatus.STARTED,
    }
    assert runs["mine"].process == mine


def test_retention_deletes_old_and_surplus_runs_with_their_rows(store: RunStore) -> None:
    store.migrate(T0)
    for i in range(5):
        store.add_run(_run(f"r{i}", at=T0 + timedelta(days=i), status=RunStatus.SUCCESS))
        store.append(_events(f"r{i}"))
    deleted = store.prune(Retention(days=3, runs=3), now=T0 + timedelta(days=5))
    # r0 and r1 are past three days; r0 and r1 are also beyond the newest three
    assert deleted == 2
    assert [r.run_id for r in store.runs()] == ["r4", "r3", "r2"]
    assert store.events("r0") == [] and store.steps("r1") == []
    status = store.status()
    assert (status.runs, status.events, status.schema_version) == (3, 27, LATEST)
    assert status.size_bytes is not None and status.size_bytes > 0


def test_sqlite_store_is_readable_by_another_process_during_a_write(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    store = open_run_store(str(path), tmp_path)
    store.migrate(T0)
    store.add_run(_run("r1"))
    reader = (
        "import sys; from pathlib import Path; from teal.runtime.runstore import open_run_store;"
        "s = open_run_store(sys.argv[1], Path('.')); print(s.run('r1').status.value)"
    )
    with store._transaction() as cur:  # a write in progress holds the write lock
        cur.execute("UPDATE runs SET status = 'success' WHERE run_id = 'r1'")
        seen = subprocess.run(
            [sys.executable, "-c", reader, str(path)], capture_output=True, text=True, timeout=60
        )
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.strip() == "started"  # the committed state, without waiting
    store.close()


def test_an_unreachable_postgres_store_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(
        WarehouseError, match=r"cannot reach the run store postgresql://teal:\*\*\*@"
    ):
        open_run_store("postgresql://teal:secret@127.0.0.1:1/runs", tmp_path)


def test_a_step_start_is_written_behind_in_order_and_on_record_when_waited_for(
    store: RunStore,
) -> None:
    from teal.runtime.recorder import RunRecorder

    store.migrate(T0)
    store.add_run(_run("r1"))
    recorder = RunRecorder(store, "r1")
    try:
        recorder.emit(EventKind.STEP_SUCCESS, "a", data={"rows": 1}, defer=True)
        started = recorder.emit(EventKind.STEP_START, "b", urgent=True)
        recorder.wait_written(started)  # what a step's commit waits for
        on_record = [(e.seq, e.kind, e.model) for e in store.events("r1")]
        assert on_record[:2] == [
            (1, EventKind.STEP_SUCCESS, "a"),
            (2, EventKind.STEP_START, "b"),
        ]
        recorder.emit(EventKind.LOG, "b", level="info", message="half way", defer=True)
    finally:
        recorder.close()
    assert [e.seq for e in store.events("r1")] == [1, 2, 3]
    assert {s.model: s.status for s in store.steps("r1")} == {"a": "success", "b": "started"}


def test_a_step_a_cancel_stopped_while_it_ran_is_recorded_canceled(store: RunStore) -> None:
    """The recorder writes a step canceled while it ran (`teal cancel`, Ctrl-C) as its own
    event kind; the step's row says canceled, not skipped, beside a step that never
    started."""
    from teal.runtime.recorder import RunRecorder
    from teal.runtime.recording_reporter import RecordingReporter
    from teal.runtime.report import SilentReporter
    from teal.runtime.results import CANCELED_RUNNING, ModelResult

    store.migrate(T0)
    store.add_run(_run("r1"))
    recorder = RunRecorder(store, "r1")
    reporter = RecordingReporter(recorder, SilentReporter())
    try:
        recorder.emit(EventKind.STEP_START, "big")
        reporter.model_finished(ModelResult("big", "skipped", message=CANCELED_RUNNING), 1, 2)
        reporter.model_finished(
            ModelResult("after", "skipped", message="upstream big was canceled"), 2, 2
        )
    finally:
        recorder.close()
    assert {s.model: s.status for s in store.steps("r1")} == {
        "big": "canceled",
        "after": "skipped",
    }
    assert [e.kind for e in store.events("r1")][-2:] == [
        EventKind.STEP_CANCELED,
        EventKind.STEP_SKIP,
    ]


def test_a_cancel_asked_after_the_last_step_committed_ends_the_run_as_it_ended(
    store: RunStore,
) -> None:
    """Nothing was left to stop (the last step committed before the build saw the cancel):
    the run and the command agree that it succeeded."""
    from teal.runtime.recorder import RunRecorder, end_run
    from teal.runtime.results import BuildResult, ModelResult

    store.migrate(T0)
    store.add_run(_run("r1"))
    assert store.request_cancel("r1")
    result = BuildResult("r1", (ModelResult("b", "success"),), 1.0, "warehouse.duckdb")
    end_run(RunRecorder(store, "r1"), result, Retention())
    run = store.run("r1")
    assert run is not None and run.status is RunStatus.SUCCESS
    assert "every step finished" in (run.message or "")
