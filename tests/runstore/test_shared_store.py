"""One run store shared by many processes at once, as in production: a daemon, builds from
laptops and CI, the UI. Each test runs against SQLite and against a real Postgres server;
concurrent writers are separate connections (separate Postgres sessions)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from teal.compiler.errors import WarehouseError
from teal.runtime.clock import new_run_id
from teal.runtime.recorder import open_migrated
from teal.runtime.runstore import (
    Event,
    EventKind,
    Retention,
    RunRecord,
    RunStatus,
    RunStore,
    open_run_store,
)
from teal.runtime.runstore.schema import LATEST

T0 = datetime(2026, 12, 1, 9, 0, 0)


def _at_once(stores: list[RunStore], call: Callable[[RunStore], object]) -> list[object]:
    """``call`` on every store, each in its own thread, released together; what each
    returned or raised."""
    barrier = threading.Barrier(len(stores))
    outcomes: list[object] = [None] * len(stores)

    def go(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = call(stores[i])
        except Exception as exc:  # noqa: BLE001 - the test reports it
            outcomes[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _opened(store_spec: str, tmp_path: Path, n: int) -> list[RunStore]:
    return [open_run_store(store_spec, tmp_path) for _ in range(n)]


def test_processes_migrating_an_empty_store_at_once_apply_each_migration_once(
    store_spec: str, tmp_path: Path
) -> None:
    stores = _opened(store_spec, tmp_path, 4)
    try:
        outcomes = _at_once(stores, lambda s: s.migrate(T0))
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        applied = sorted(line for o in outcomes if isinstance(o, list) for line in o)
        assert [line.split(":")[0] for line in applied] == [str(v) for v in range(1, LATEST + 1)]
        assert stores[0].schema_version() == LATEST
    finally:
        for store in stores:
            store.close()


def test_a_store_migrated_by_a_newer_teal_is_refused_with_a_hint(
    store: RunStore, store_spec: str, tmp_path: Path
) -> None:
    store.migrate(T0)
    with store._transaction() as cur:
        cur.execute(
            store._sql(
                "INSERT INTO teal_schema_version (version, description, applied_at) "
                "VALUES (?, ?, ?)"
            ),
            (LATEST + 1, "from the future", T0.isoformat()),
        )
    with pytest.raises(WarehouseError) as raised:
        open_migrated(store_spec, tmp_path)
    assert f"schema version {LATEST + 1}" in raised.value.message
    assert f"this teal knows schema version {LATEST}" in raised.value.message
    assert raised.value.hint is not None and "upgrade teal" in raised.value.hint
    assert raised.value.exit_code == 2


def _finished(run_id: str, at: datetime, project: str = "shop", **kw: object) -> RunRecord:
    fields: dict[str, object] = {
        "run_id": run_id,
        "command": "build",
        "status": RunStatus.SUCCESS,
        "project": project,
        "created_at": at,
        "started_at": at,
        "finished_at": at,
    }
    fields.update(kw)
    return RunRecord(**fields)  # type: ignore[arg-type]


def _log(run_id: str, seq: int) -> Event:
    return Event(run_id=run_id, seq=seq, at=T0, kind=EventKind.LOG, message="x")


def test_retention_keeps_runs_in_progress_and_other_projects_runs(store: RunStore) -> None:
    store.migrate(T0)
    store.add_run(_finished("old-running", T0, status=RunStatus.STARTED, finished_at=None))
    store.add_run(_finished("old-queued", T0, status=RunStatus.QUEUED, finished_at=None))
    store.add_run(_finished("old-other", T0, project="billing"))
    store.add_run(_finished("old-done", T0))
    for i in range(3):
        store.add_run(_finished(f"new{i}", T0 + timedelta(days=10, minutes=i)))
    deleted = store.prune(Retention(days=5, runs=2, project="shop"), now=T0 + timedelta(days=11))
    # old-done is past five days; new0 is beyond the newest two; the runs in progress and
    # the other project's run are not this prune's to delete
    assert deleted == 2
    kept = {r.run_id for r in store.runs(limit=100)}
    assert kept == {"old-running", "old-queued", "old-other", "new1", "new2"}


def test_concurrent_prunes_delete_each_run_once_without_deadlock(
    store_spec: str, tmp_path: Path
) -> None:
    stores = _opened(store_spec, tmp_path, 3)
    try:
        stores[0].migrate(T0)
        for i in range(300):
            run_id = f"r{i:04d}"
            stores[0].add_run(_finished(run_id, T0 + timedelta(seconds=i)))
            stores[0].append([_log(run_id, seq) for seq in range(1, 4)])
        outcomes = _at_once(stores, lambda s: s.prune(Retention(days=3650, runs=10), T0))
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        assert sum(o for o in outcomes if isinstance(o, int)) == 290
        kept = stores[0].runs(limit=1000)
        assert [r.run_id for r in kept] == [f"r{i:04d}" for i in range(299, 289, -1)]
        assert stores[0].status().events == 30
    finally:
        for store in stores:
            store.close()


def test_run_ids_made_in_one_second_do_not_collide() -> None:
    # a sensor may queue a run per file of a folder in one tick: thousands in a second.
    # With a 6-hex-digit suffix (16.7 million values) 20,000 ids collide about 12 times
    ids = [new_run_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)


@pytest.mark.slow
def test_builds_and_a_daemon_of_three_projects_record_into_one_empty_store_at_once(
    tmp_path: Path, fresh_postgres: str
) -> None:
    import json
    import subprocess
    import sys

    from tests.conftest import run_teal, write_project

    roots = [
        write_project(
            tmp_path / f"proj{i}",
            {f"models/m{j}.sql": f"select {j} as id" for j in range(4)},
            config=f'name = "proj{i}"\nthreads = 2\nrun_store = "{fresh_postgres}"\n',
        )
        for i in range(3)
    ]
    commands = [["build"]] * 3 + [["daemon", "--once"]]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "teal.cli", *args],
            cwd=roots[i % 3],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i, args in enumerate(commands)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0 and "Traceback" not in out, out
    # each project lists its own run (runtime/runstore/scope.py), all three recorded
    listed = [json.loads(run_teal("runs", "--json", cwd=root).stdout) for root in roots]
    assert [[r["project"] for r in runs] for runs in listed] == [["proj0"], ["proj1"], ["proj2"]]
    assert {r["status"] for runs in listed for r in runs} == {"success"}
    assert len({r["run_id"] for runs in listed for r in runs}) == 3
