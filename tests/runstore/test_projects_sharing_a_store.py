"""Two projects sharing one run store (a SQLite file, and a real Postgres), each with a
schedule called ``daily`` and a daemon of its own: each project's ticks, cursors, pauses,
queue, listings and tick retention are its own (runtime/runstore/scope.py), and a store
from before migration 5 gives its daemon state to the projects it belonged to. Daemons
run on a simulated clock with a launcher that notes what it would start; the last test
runs the real CLI."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from teal.compiler.errors import SelectionError
from teal.runtime.clock import utc_now
from teal.runtime.daemon import Daemon, TickOutcome, open_daemon
from teal.runtime.launch import launch_queued
from teal.runtime.runstore import RunRecord, RunStatus, RunStore, Trigger, open_run_store
from teal.runtime.runstore import sqlstore as sqlstore_module
from teal.runtime.runstore.refs import resolve_run
from teal.runtime.runstore.schema import MIGRATIONS
from teal.runtime.runstore.ticks import TickStatus, TickStore
from tests.conftest import run_teal, write_project
from tests.runstore.test_daemon import T0, NotingLauncher

DAILY = """
name = "NAME"
run_store = "STORE"

[schedules.daily]
select = "m"
cron = "0 * * * *"
catchup = "latest"
"""
TICK = datetime(2026, 3, 2, 3, 0)  # the first cron time after T0


def two_projects(tmp_path: Path, spec: str) -> tuple[Path, Path]:
    """Projects ``shop`` and ``billing``, one model each, both recording into ``spec``."""
    return tuple(  # type: ignore[return-value]
        write_project(
            tmp_path / name,
            {"models/m.sql": "select 1 as id"},
            config=DAILY.replace("NAME", name).replace("STORE", spec),
        )
        for name in ("shop", "billing")
    )


def daemon_of(root: Path) -> Daemon:
    """The daemon of the project at ``root``, opened as `teal daemon` opens it."""
    return open_daemon(root, launcher=NotingLauncher())


def launched(d: Daemon) -> list[str]:
    launcher = d.launcher
    assert isinstance(launcher, NotingLauncher)
    return [s.run_id for s in launcher.started]


def queued_run(run_id: str, project: str, at: datetime) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        command="build",
        status=RunStatus.QUEUED,
        trigger=Trigger.UI,
        selection=("m",),
        project=project,
        created_at=at,
    )


def test_each_project_ticks_its_own_daily_schedule_and_launches_only_its_own_runs(
    tmp_path: Path, store_spec: str
) -> None:
    shop_root, billing_root = two_projects(tmp_path, store_spec)
    shop, billing = daemon_of(shop_root), daemon_of(billing_root)
    try:
        assert shop.step(T0) == [] and billing.step(T0) == []  # each first sees its schedule
        # billing's tick is recorded first: shop's own tick at that time is not "already
        # recorded", and billing's queued run (the oldest) is not shop's to launch
        [b_tick] = billing.step(TICK + timedelta(seconds=1))
        [s_tick] = shop.step(TICK + timedelta(seconds=2))
        assert (b_tick.status, s_tick.status) == (TickStatus.REQUESTED, TickStatus.REQUESTED)
        assert b_tick.run_id != s_tick.run_id
        assert launched(billing) == [b_tick.run_id] and launched(shop) == [s_tick.run_id]
        for d, tick in ((shop, s_tick), (billing, b_tick)):
            [recorded] = d.ticks.ticks("schedule:daily")
            assert (recorded.tick_at, recorded.run_id) == (TICK, tick.run_id)
            run = d.store.run(tick.run_id or "")
            assert run is not None and run.project == d.config.name
            # its listing and its queue hold its own runs only
            assert [r.run_id for r in d.store.runs(limit=10)] == [tick.run_id]
            assert [r.run_id for r in d.ticks.queued()] == [tick.run_id]

        # a queued run of the other project is never this daemon's: the launched shop run
        # ends, billing's run is claimed and runs, and a run queued by billing waits
        assert shop.ticks.claim(s_tick.run_id or "", host="h", pid=os.getpid(), at=T0)
        shop.store.set_status(s_tick.run_id or "", RunStatus.SUCCESS, at=T0)
        shop.launcher.started[0].code = 0  # type: ignore[attr-defined]
        assert not shop.ticks.claim(b_tick.run_id or "", host="h", pid=os.getpid(), at=T0)
        assert billing.ticks.claim(b_tick.run_id or "", host="h", pid=os.getpid(), at=T0)
        billing.store.add_run(queued_run("billing-ui", "billing", T0))
        shop.step(TICK + timedelta(seconds=3))
        assert launched(shop) == [s_tick.run_id]
        # billing's started run holds billing's warehouse, not shop's: shop's next tick
        # launches at once
        [s_next] = shop.step(TICK + timedelta(hours=1, seconds=1))
        assert launched(shop) == [s_tick.run_id, s_next.run_id]
        assert "billing-ui" not in launched(shop)
    finally:
        shop.store.close()
        billing.store.close()


def test_cursors_pauses_and_tick_retention_are_each_projects_own(
    tmp_path: Path, store_spec: str
) -> None:
    shop_root, billing_root = two_projects(tmp_path, store_spec)
    shop, billing = daemon_of(shop_root), daemon_of(billing_root)
    try:
        shop.step(T0)
        assert billing.ticks.cursor("schedule:daily") is None  # shop's first sight is shop's
        billing.step(T0 + timedelta(seconds=30))
        assert shop.ticks.cursor("schedule:daily") == T0.isoformat()
        assert billing.ticks.cursor("schedule:daily") == (T0 + timedelta(seconds=30)).isoformat()
        shop.ticks.set_cursor("sensor:landing", '{"mark": 1}', T0)
        assert billing.ticks.cursor("sensor:landing") is None

        # `teal schedules pause daily` in shop pauses shop's
        shop.ticks.set_paused("schedule:daily", True, T0)
        assert shop.ticks.paused() == {"schedule:daily"} and billing.ticks.paused() == set()
        [s_said] = shop.step(TICK + timedelta(seconds=1))  # its tick recorded skipped
        [b_tick] = billing.step(TICK + timedelta(seconds=1))
        assert (s_said.status, b_tick.status) == ("paused", TickStatus.REQUESTED)
        assert [t.status for t in shop.ticks.ticks("schedule:daily")] == [TickStatus.SKIPPED]
        shop.ticks.set_paused("schedule:daily", False, T0)
        for hour in (1, 2):
            shop.step(TICK + timedelta(hours=hour, seconds=1))
            billing.step(TICK + timedelta(hours=hour, seconds=1))
        assert shop.ticks.count() == billing.ticks.count() == 3

        # shop's retention deletes shop's old ticks (its newest kept), none of billing's
        later = TICK + timedelta(days=400)
        for status in (TickStatus.SKIPPED, TickStatus.REQUESTED):
            shop.ticks.prune(status, later, 100)
        assert shop.ticks.count() == 1 and billing.ticks.count() == 3
    finally:
        shop.store.close()
        billing.store.close()


def test_a_run_of_another_project_is_not_shown_or_launched_by_its_id(
    tmp_path: Path, store_spec: str
) -> None:
    shop_root, billing_root = two_projects(tmp_path, store_spec)
    with open_run_store(store_spec, tmp_path, project="billing") as store:
        store.migrate(T0)
        store.add_run(queued_run("billing-ui", "billing", T0))
        assert resolve_run(store, "billing-ui").project == "billing"
    with open_run_store(store_spec, tmp_path, project="shop") as store:
        with pytest.raises(SelectionError, match="is a run of project 'billing', not of"):
            resolve_run(store, "billing-ui")
        with pytest.raises(SelectionError, match="no runs recorded yet"):
            resolve_run(store, "last")
    with pytest.raises(SelectionError, match="queued by project 'billing', not by this"):
        launch_queued(shop_root, "billing-ui")


def _store_at_version_4(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    """A store as the teal before migration 5 left it."""
    store = open_run_store(spec, tmp_path)
    with monkeypatch.context() as m:
        m.setattr(sqlstore_module, "MIGRATIONS", MIGRATIONS[:4])
        m.setattr(sqlstore_module, "LATEST", 4)
        store.migrate(T0)
    return store


def _old_run(store: RunStore, run_id: str, project: str) -> None:
    """A queued run as the teal of version 4 wrote it (none of the later columns)."""
    with store._transaction() as cur:
        cur.execute(
            store._sql(
                "INSERT INTO runs (run_id, command, status, run_trigger, selection, project, "
                "created_at) VALUES (?, 'build', 'queued', 'ui', '[\"m\"]', ?, ?)"
            ),
            (run_id, project, T0.isoformat()),
        )


def _old_tick(store: RunStore, source: str, at: datetime, run_id: str | None) -> None:
    with store._transaction() as cur:
        cur.execute(
            store._sql(
                "INSERT INTO ticks (source, tick_at, status, run_id, run_key, message, "
                "created_at) VALUES (?, ?, ?, ?, NULL, NULL, ?)"
            ),
            (source, at.isoformat(), "requested" if run_id else "skipped", run_id, at.isoformat()),
        )


def _old_cursor(store: RunStore, source: str, value: str) -> None:
    with store._transaction() as cur:
        cur.execute(
            store._sql("INSERT INTO cursors (source, cursor, updated_at) VALUES (?, ?, ?)"),
            (source, value, T0.isoformat()),
        )


def test_migration_5_gives_each_tick_and_cursor_to_the_projects_it_belonged_to(
    tmp_path: Path, store_spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _store_at_version_4(store_spec, tmp_path, monkeypatch)
    # two projects shared this store before 5: a tick that queued a run is its project's,
    # a skipped tick and the cursors both projects were reading are each project's
    _old_run(old, "shop-run", "shop")
    _old_run(old, "billing-run", "billing")
    _old_tick(old, "schedule:daily", TICK, "shop-run")
    _old_tick(old, "schedule:daily", TICK + timedelta(hours=1), None)
    _old_tick(old, "schedule:nightly", TICK, "billing-run")
    _old_cursor(old, "sensor:landing", '{"mark": 7}')
    _old_cursor(old, "paused:schedule:daily", "1")
    assert old.migrate(T0)[0] == f"5: {MIGRATIONS[4].description}"
    old.close()

    def state(project: str) -> tuple[list[tuple[str, str]], str | None, set[str]]:
        with open_run_store(store_spec, tmp_path, project=project) as store:
            ticks = TickStore(store)
            listed = sorted((t.source, t.run_id or "") for t in ticks.ticks())
            return listed, ticks.cursor("sensor:landing"), ticks.paused()

    assert state("shop") == (
        [("schedule:daily", ""), ("schedule:daily", "shop-run")],
        '{"mark": 7}',
        {"schedule:daily"},
    )
    assert state("billing") == (
        [("schedule:daily", ""), ("schedule:nightly", "billing-run")],
        '{"mark": 7}',
        {"schedule:daily"},
    )


def test_daemon_state_of_a_store_without_runs_is_adopted_by_the_first_daemon(
    tmp_path: Path, store_spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _store_at_version_4(store_spec, tmp_path, monkeypatch)
    _old_tick(old, "schedule:daily", TICK, None)
    _old_cursor(old, "sensor:landing", '{"mark": 7}')
    old.close()
    shop_root, billing_root = two_projects(tmp_path, store_spec)
    said: list[TickOutcome] = []
    shop = open_daemon(shop_root, launcher=NotingLauncher(), on_tick=said.append)
    billing = open_daemon(billing_root, launcher=NotingLauncher(), on_tick=said.append)
    try:
        [adopted] = said  # billing, opened after, finds nothing to adopt
        assert adopted.describe().startswith(
            "store 20"
        ) and "project 'shop' adopted 1 tick and 1 cursor recorded before" in (
            adopted.message or ""
        )
        assert shop.ticks.cursor("sensor:landing") == '{"mark": 7}'
        assert [t.tick_at for t in shop.ticks.ticks()] == [TICK]
        assert billing.ticks.cursor("sensor:landing") is None and billing.ticks.ticks() == []
    finally:
        shop.store.close()
        billing.store.close()


@pytest.mark.slow
def test_two_projects_daemons_on_one_store_each_build_their_own_queue(
    tmp_path: Path, store_spec: str
) -> None:
    shop_root, billing_root = two_projects(tmp_path, store_spec)
    first_seen = {"TEAL_NOW": T0.isoformat()}
    after_tick = {"TEAL_NOW": (TICK + timedelta(seconds=5)).isoformat()}
    for root in (shop_root, billing_root):
        assert run_teal("daemon", "--once", cwd=root, env=first_seen).returncode == 0
    # a run shop queued (the UI's Launch page, say) waits in the shared store (dated now:
    # the builds' run retention keeps 90 days)
    with open_run_store(store_spec, tmp_path, project="shop") as store:
        store.add_run(queued_run("shop-ui", "shop", utc_now()))

    billing = run_teal("daemon", "--once", cwd=billing_root, env=after_tick)
    assert billing.returncode == 0, billing.output
    assert "schedule:daily 2026-03-02 03:00:00: queued run" in billing.stdout
    assert "shop-ui" not in billing.output  # not billing's to launch
    refused = run_teal("launch", "shop-ui", cwd=billing_root)
    assert refused.returncode == 2 and "queued by project 'shop'" in refused.output

    shop = run_teal("daemon", "--once", cwd=shop_root, env=after_tick)
    assert shop.returncode == 0, shop.output
    assert "schedule:daily 2026-03-02 03:00:00: queued run" in shop.stdout
    assert "run shop-ui ended with exit code 0" in shop.stdout

    listed = {
        root.name: json.loads(run_teal("runs", "--json", cwd=root).stdout)
        for root in (shop_root, billing_root)
    }
    assert {name: {r["project"] for r in runs} for name, runs in listed.items()} == {
        "shop": {"shop"},
        "billing": {"billing"},
    }
    assert len(listed["shop"]) == 2 and len(listed["billing"]) == 1
    assert {r["status"] for runs in listed.values() for r in runs} == {"success"}


def test_a_name_edited_while_the_daemon_runs_waits_for_a_restart(
    tmp_path: Path, store_spec: str
) -> None:
    shop_root, _ = two_projects(tmp_path, store_spec)
    said: list[TickOutcome] = []
    shop = open_daemon(shop_root, launcher=NotingLauncher(), on_tick=said.append)
    try:
        shop.step(T0)
        config = shop_root / "teal.toml"
        config.write_text(config.read_text().replace('name = "shop"', 'name = "store"'))
        os.utime(config, ns=(1, 1))  # a change the daemon sees, whatever the clock's grain
        shop.step(T0 + timedelta(seconds=1))
        [problem] = [o for o in said if o.source == "config"]
        assert "the project's name changed from 'shop' to 'store': restart the daemon" in (
            problem.message or ""
        )
        assert shop.config.name == "shop" and shop.store.project == "shop"
        [tick] = shop.step(TICK + timedelta(seconds=1))  # goes on as shop
        run = shop.store.run(tick.run_id or "")
        assert run is not None and run.project == "shop"
    finally:
        shop.store.close()
