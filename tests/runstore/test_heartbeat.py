"""Runs of other hosts: a run whose machine stopped beating is marked crashed by the next
teal process that looks (its process cannot be asked for), on SQLite and Postgres."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from teal.runtime import recorder as recorder_module
from teal.runtime.runstore import Event, EventKind, RunRecord, RunStatus, RunStore, Trigger
from teal.runtime.runstore.heartbeat import SILENT_AFTER_S, any_silent, beat
from teal.runtime.session import Session
from tests.conftest import wait_for

T0 = datetime(2026, 12, 1, 9, 0, 0)
QUIET = timedelta(seconds=SILENT_AFTER_S)


def _run(run_id: str, host: str, heartbeat_at: datetime | None) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        command="build",
        status=RunStatus.STARTED,
        trigger=Trigger.CLI,
        project="shop",
        host=host,
        pid=4242,
        created_at=T0,
        started_at=T0,
        heartbeat_at=heartbeat_at,
    )


def test_a_run_of_another_host_that_stopped_beating_is_marked_crashed(store: RunStore) -> None:
    store.migrate(T0)
    now = T0 + timedelta(hours=1)
    store.add_run(_run("gone", "ci-runner-7", now - QUIET - timedelta(seconds=1)))
    store.add_run(_run("beating", "ci-runner-8", T0))
    beat(store, "beating", now - timedelta(seconds=20))
    store.add_run(_run("old-teal", "ci-runner-9", None))  # recorded before heartbeats
    store.append([Event("gone", 1, T0, EventKind.STEP_START, "orders")])
    runs = store.runs(limit=10)
    assert any_silent(runs, now)
    # no pid of this host is asked about: none of these ran here
    marked = store.mark_crashed("here", alive=lambda pid, process: True, at=now)
    assert marked == ["gone"]
    gone = store.run("gone")
    assert gone is not None and gone.status is RunStatus.CRASHED
    assert gone.message is not None
    assert "its host ci-runner-7 stopped reporting" in gone.message and "orders" in gone.message
    assert store.steps("gone")[0].status == "crashed"
    for alive in ("beating", "old-teal"):
        found = store.run(alive)
        assert found is not None and found.status is RunStatus.STARTED
    assert not any_silent(store.runs(limit=10), now)


def test_a_heartbeat_is_not_written_over_a_finished_run(store: RunStore) -> None:
    store.migrate(T0)
    store.add_run(_run("done", "elsewhere", T0))
    store.set_status("done", RunStatus.SUCCESS, at=T0 + timedelta(minutes=1))
    beat(store, "done", T0 + timedelta(minutes=2))
    done = store.run("done")
    assert done is not None and done.heartbeat_at == T0


def test_a_run_of_another_host_from_before_heartbeats_is_canceled_at_once(store: RunStore) -> None:
    # a teal from before heartbeats left it started (its machine died): asked to stop, it
    # stayed canceling for ever, and a daemon waited for it
    import socket

    from teal.runtime.runstore.heartbeat import cancel_unreachable

    store.migrate(T0)
    now = T0 + timedelta(days=3)
    store.add_run(_run("old-teal", "ci-runner-9", None))
    store.append([Event("old-teal", 1, T0, EventKind.STEP_START, "orders")])
    store.add_run(_run("beating", "ci-runner-8", T0))  # its host is asked through its beat
    store.add_run(_run("here", socket.gethostname(), None))  # its pid is asked
    for run_id in ("beating", "here"):
        found = store.run(run_id)
        assert found is not None and not cancel_unreachable(store, found, now)
    old = store.run("old-teal")
    assert old is not None and cancel_unreachable(store, old, now)
    ended = store.run("old-teal")
    assert ended is not None and ended.status is RunStatus.CANCELED and ended.finished_at == now
    assert ended.message is not None and "its host ci-runner-9 was not asked" in ended.message
    assert store.steps("old-teal")[0].status == "canceled"
    assert not cancel_unreachable(store, old, now)  # the record read before: ended since


@pytest.mark.slow
def test_a_build_writes_its_heartbeat_while_a_long_step_runs(project, monkeypatch):
    monkeypatch.setattr(recorder_module, "HEARTBEAT_S", 0.05)
    root = project(
        {
            "models/slow.py": """
                import pyarrow as pa
                import teal

                GATE = __file__.rsplit("/models/", 1)[0] + "/go"

                @teal.asset
                def slow():
                    with open(GATE) as gate:  # a step that runs until the test opens the gate
                        gate.read()
                    return pa.table({"n": [1]})
            """
        },
        name="heartbeat",
    )
    import os

    os.mkfifo(root / "go")
    session = Session.open(root)
    built = threading.Thread(target=session.build, daemon=True)
    store = session.run_store()
    built.start()
    try:
        wait_for(lambda: bool(store.runs(limit=1)), "the run to start")
        first = store.runs(limit=1)[0].heartbeat_at
        assert first is not None
        wait_for(
            lambda: (store.runs(limit=1)[0].heartbeat_at or first) > first,
            "the heartbeat to move while the step runs",
        )
        with open(root / "go", "w") as gate:
            gate.write("go")
    finally:
        built.join(timeout=60)
    run = store.runs(limit=1)[0]
    assert run.status is RunStatus.SUCCESS
    session.close()
