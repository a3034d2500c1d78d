"""A run's writes kept in .teal/undelivered/ while its store was lost
(runtime/runstore/spool.py): delivered in order, once, only when no process writes them
any more, and only to the store they were kept for. The outage itself, with a real
Postgres server stopped under a build, is in test_postgres_outage.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from teal.runtime.runstore import EventKind, RunStatus, RunStore, open_run_store
from teal.runtime.runstore.records import Event
from teal.runtime.runstore.spool import Spool, deliver_waiting, events_op
from tests.runstore.test_store import T0, _run


def _kept(root: Path, store: RunStore) -> Spool:
    spool = Spool(root, store.location, "r1")
    spool.write(
        events_op(
            [
                Event("r1", 1, T0, EventKind.STEP_START, "m"),
                Event("r1", 2, T0, EventKind.MATERIALIZATION, "m", "2025-01-01", data={"rows": 3}),
                Event("r1", 3, T0, EventKind.STEP_SUCCESS, "m", "2025-01-01", data={"rows": 3}),
                Event("r1", 4, T0, EventKind.STEP_SUCCESS, "m", data={"rows": 3}),
            ]
        )
    )
    at = (T0 + timedelta(seconds=5)).isoformat()
    spool.write(
        {"op": "status", "run_id": "r1", "status": "success", "at": at, "message": "1 built"}
    )
    return spool


def test_kept_writes_are_delivered_once_their_run_lets_go_of_them(store: RunStore, tmp_path):
    store.migrate(T0)
    store.add_run(_run("r1"))
    spool = _kept(tmp_path, store)
    assert deliver_waiting(store, tmp_path) == []  # its run still writes it
    assert store.run("r1").status is RunStatus.STARTED
    spool.close()  # the run ended with the store still away
    assert deliver_waiting(store, tmp_path) == [spool.path]
    assert not spool.path.exists()
    run = store.run("r1")
    assert (run.status, run.message) == (RunStatus.SUCCESS, "1 built")
    assert [m["partition"] for m in store.materializations(run_id="r1")] == ["2025-01-01"]
    assert {(s.model, s.partition_key, s.status) for s in store.steps("r1")} == {
        ("m", "", "success"),
        ("m", "2025-01-01", "success"),
    }
    assert deliver_waiting(store, tmp_path) == []


def test_a_run_delivers_its_own_writes_and_another_store_never_gets_them(tmp_path):
    mine = open_run_store(str(tmp_path / "mine.sqlite"), tmp_path)
    other = open_run_store(str(tmp_path / "other.sqlite"), tmp_path)
    try:
        for store in (mine, other):
            store.migrate(T0)
            store.add_run(_run("r1"))
        _kept(tmp_path, mine).close()
        assert deliver_waiting(other, tmp_path) == []  # kept for mine: left for it
        assert other.run("r1").status is RunStatus.STARTED
        again = _kept(tmp_path / "again", mine)
        again.deliver(mine)  # the run found the store back: delivered, not left behind
        assert not again.active and not again.path.exists()
        assert len(deliver_waiting(mine, tmp_path)) == 1
        assert [e.seq for e in mine.events("r1")] == [1, 2, 3, 4]  # each event once
    finally:
        mine.close()
        other.close()
