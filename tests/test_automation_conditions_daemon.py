"""The daemon's evaluator of automation conditions (runtime/automation_conditions.py) on a
simulated clock (``step(now)``), with real builds: its runs are carried out in this
process by ``teal launch RUN``'s code as soon as the daemon launches them, and hand builds
go through a Session as ``teal build`` does."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teal.compiler.errors import TealError
from teal.runtime.automation_conditions import SOURCE
from teal.runtime.daemon import Daemon, open_daemon
from teal.runtime.launch import launch_queued
from teal.runtime.runstore import RunRecord, RunStatus
from teal.runtime.runstore.ticks import TickRecord, TickStore
from teal.runtime.session import Session
from tests.conftest import query, run_teal

T0 = datetime(2026, 3, 10, 0, 30)  # naive UTC, as the daemon's clock
MINUTE = timedelta(minutes=1)
FAST = 'name = "auto"\nthreads = 2\n[daemon]\nautomation_interval = "30s"\n'


@dataclass
class Ended:
    run_id: str
    code: int

    def poll(self) -> int | None:
        return self.code


@dataclass
class BuildingLauncher:
    """Carries out each run the daemon launches at once, as ``teal launch RUN`` would."""

    root: Path
    carry_out: bool = True  # False: the run stays queued (a daemon killed after queuing it)
    launched: list[str] = field(default_factory=list)

    def launch(self, run_id: str) -> Ended:
        self.launched.append(run_id)
        if not self.carry_out:
            return Ended(run_id, 0)
        try:
            code = 0 if launch_queued(self.root, run_id).success else 1
        except TealError:
            code = 2
        return Ended(run_id, code)


def daemon(root: Path, *, carry_out: bool = True) -> Daemon:
    """The daemon as ``teal daemon`` opens it (a restart is a new one)."""
    return open_daemon(root, launcher=BuildingLauncher(root, carry_out))


def build(root: Path, *select: str, **vars: object) -> bool:
    """``teal build -s ...`` by hand; whether it succeeded."""
    with Session.open(root, vars=vars or None) as session:
        return session.build(list(select)).success


def runs(d: Daemon) -> list[RunRecord]:
    """The evaluator's runs, oldest first."""
    return [r for r in reversed(d.store.runs(limit=100)) if r.trigger == "automation"]


def ticks(d: Daemon) -> list[TickRecord]:
    """The evaluator's ticks, oldest first."""
    return list(reversed(TickStore(d.store).ticks(SOURCE, limit=100)))


def rows(root: Path, sql: str) -> list[tuple]:
    return query(root / "warehouse.duckdb", sql)


RAW = "{{ config(materialized='table') }}\nselect {{ var('n', 1) }} as n\n"
ORDERS = "{{ config(materialized='table', automation_condition='eager') }}\nselect n * 10 as m from raw\n"


@pytest.mark.slow
def test_eager_builds_a_new_model_then_only_when_what_it_reads_holds_other_data(project):
    root = project({"models/raw.sql": RAW, "models/orders.sql": ORDERS}, config=FAST)
    assert build(root, "raw")
    d = daemon(root)
    [found] = d.step(T0)
    assert (found.source, found.status) == (SOURCE, "requested")
    assert found.message == "builds orders (new: never built)"
    [run] = runs(d)
    assert (run.selection, run.status) == (("orders",), RunStatus.SUCCESS)
    assert run.config["automation"] == {"orders": "new: never built"}
    assert rows(root, "select m from orders") == [(10,)]

    [found] = d.step(T0 + MINUTE)
    assert (found.status, found.message) == ("skipped", "nothing to build: 1 model up to date")
    assert build(root, "raw")  # the same data again
    assert d.step(T0 + 2 * MINUTE) == []  # recorded, not said again: the same reason
    assert len(runs(d)) == 1
    assert ticks(d)[-1].message == "nothing to build: 1 model up to date"

    assert build(root, "raw", n=2)  # other data
    [found] = d.step(T0 + 3 * MINUTE)
    assert found.message == "builds orders (upstream raw was rebuilt after it, with other data)"
    assert [r.status for r in runs(d)] == [RunStatus.SUCCESS, RunStatus.SUCCESS]
    assert rows(root, "select m from orders") == [(20,)]
    assert [t.status for t in ticks(d)] == ["requested", "skipped", "skipped", "requested"]
    d.store.close()


BREAKABLE = """{{ config(materialized='table') }}
{% if var('broken', false) %} select cast('x' as int) as n {% else %} select 1 as n {% endif %}
"""
DIM = "{{ config(materialized='table') }}\nselect {{ var('d', 1) }} as d\n"
JOINED = """{{ config(materialized='table', automation_condition='eager') }}
select n, d from raw, dim
"""


@pytest.mark.slow
def test_eager_waits_while_an_upstream_is_missing_or_failed(project):
    files = {"models/raw.sql": BREAKABLE, "models/dim.sql": DIM, "models/joined.sql": JOINED}
    root = project(files, config=FAST)
    d = daemon(root)
    d.step(T0)
    assert runs(d) == []
    assert ticks(d)[-1].message == (
        "nothing to build: 0 models up to date, 1 waiting "
        "(joined: new: never built; waits: upstream dim was never built)"
    )
    assert build(root, "raw", "dim")
    [found] = d.step(T0 + MINUTE)
    assert found.status == "requested" and rows(root, "select n, d from joined") == [(1, 1)]

    assert build(root, "dim", d=2)  # what joined reads changed...
    assert not build(root, "raw", broken=True)  # ...and raw failed its latest build
    d.step(T0 + 2 * MINUTE)
    assert len(runs(d)) == 1
    assert ticks(d)[-1].message.endswith(
        "(joined: upstream dim was rebuilt after it, with other data; "
        "waits: upstream raw failed its latest build)"
    )
    assert build(root, "raw")
    [found] = d.step(T0 + 3 * MINUTE)
    assert found.status == "requested"
    assert rows(root, "select n, d from joined") == [(1, 2)]
    d.store.close()


EVENTS = """
{{ config(materialized='incremental', partitioned_by={'daily': {'start': '2026-01-01'}},
          partition_column='ts', automation_condition='eager') }}
select ts from range({{ partition.start }}, {{ partition.end }}, INTERVAL 6 HOUR) t(ts)
"""
REGIONAL = """
{{ config(materialized='incremental', partitioned_by=['eu', 'us'], partition_column='region',
          automation_condition='eager') }}
select '{{ partition.key }}' as region, {{ var('v', 1) }} as n
"""


@pytest.mark.slow
def test_partitioned_eager_models_build_their_latest_day_and_each_static_key(project):
    files = {"models/events.sql": EVENTS, "models/regional.sql": REGIONAL}
    root = project(files, config=FAST)
    d = daemon(root)
    [found] = d.step(T0)  # 2026-03-10 00:30: the latest whole day is the 9th
    [run] = runs(d)
    assert sorted(run.selection) == ["events", "regional"]  # one run for both
    assert run.config["model_partitions"] == {
        "events": ["2026-03-09"],
        "regional": ["eu", "us"],
    }
    assert run.status == RunStatus.SUCCESS
    days = "select distinct strftime(ts, '%Y-%m-%d') from events order by 1"
    assert rows(root, days) == [("2026-03-09",)]  # no history: adding eager backfills nothing
    assert rows(root, "select region from regional order by 1") == [("eu",), ("us",)]

    d.step(T0 + 12 * 60 * MINUTE)  # the same day: nothing new
    assert len(runs(d)) == 1
    [found] = d.step(datetime(2026, 3, 11, 0, 5))
    assert found.message == "builds events (partition 2026-03-10: missing)"
    assert rows(root, days) == [("2026-03-09",), ("2026-03-10",)]
    d.store.close()


ONCE = "{{ config(materialized='table', automation_condition='on_missing') }}\nselect n from raw\n"


@pytest.mark.slow
def test_on_missing_builds_once_and_never_for_staleness(project):
    root = project({"models/raw.sql": RAW, "models/once.sql": ONCE}, config=FAST)
    assert build(root, "raw")
    d = daemon(root)
    [found] = d.step(T0)
    assert found.message == "builds once (new: never built)"
    assert build(root, "raw", n=5)
    d.step(T0 + MINUTE)
    assert len(runs(d)) == 1 and rows(root, "select n from once") == [(1,)]
    shown = run_teal("automation", "--json", cwd=root)
    assert shown.returncode == 0, shown.output
    [verdict] = json.loads(shown.stdout)
    assert verdict["fires"] is False
    assert verdict["reason"] == (
        "built (upstream raw was rebuilt after it, with other data: on_missing does not "
        "build it again)"
    )
    d.store.close()


SOURCE_ROW = "{{ config(materialized='table', automation_condition='eager') }}\nselect 1 as n\n"
REPORT = """{{ config(materialized='table', automation_condition="on_cron('* * * * *')") }}
select n from raw
"""


@pytest.mark.slow
def test_on_cron_builds_once_per_tick_after_its_upstreams_were_updated(project):
    """Builds are stamped with the real clock: the simulated ticks are placed around the
    real time of the one build of raw (a minute either side)."""
    root = project({"models/raw.sql": SOURCE_ROW, "models/report.sql": REPORT}, config=FAST)
    now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    d = daemon(root)
    [found] = d.step(now - 3 * MINUTE)  # raw is new; report starts after this tick
    assert runs(d)[0].selection == ("raw",)
    [found] = d.step(now - 2 * MINUTE)  # a tick passed; raw was built after it
    tick = f"{now - 2 * MINUTE:%Y-%m-%d %H:%M} UTC"
    assert found.message == (
        f"builds report (tick at {tick} passed and its upstreams were updated since)"
    )
    assert [r.selection for r in runs(d)] == [("raw",), ("report",)]
    assert rows(root, "select n from report") == [(1,)]
    d.step(now - 2 * MINUTE + timedelta(seconds=30))  # the same tick: asked for once
    d.step(now + 2 * MINUTE)  # a tick after raw's build: raw has nothing new
    assert len(runs(d)) == 2
    later = f"{now + 2 * MINUTE:%Y-%m-%d %H:%M} UTC"
    assert ticks(d)[-1].message == (
        "nothing to build: 1 model up to date, 1 waiting (report: tick at "
        f"{later} passed; waits: upstream raw was not updated since the tick)"
    )
    d.store.close()


@pytest.mark.slow
def test_a_paused_evaluator_records_skipped_ticks_until_resumed(project):
    root = project({"models/raw.sql": RAW, "models/orders.sql": ORDERS}, config=FAST)
    assert build(root, "raw")
    paused = run_teal("sensors", "pause", "automation_conditions", cwd=root)
    assert paused.returncode == 0, paused.output
    listed = json.loads(run_teal("sensors", "--json", cwd=root).stdout)
    assert [(s["name"], s["paused"]) for s in listed] == [("automation_conditions", True)]
    d = daemon(root)
    [found] = d.step(T0)
    assert found.status == "skipped"
    resume = "`teal sensors resume automation_conditions` or the UI resumes it"
    assert found.message == f"paused ({resume})"
    assert d.step(T0 + MINUTE) == []  # said once, recorded each time
    assert [t.message for t in ticks(d)] == [f"paused ({resume})"] * 2
    assert runs(d) == []
    assert run_teal("sensors", "resume", "automation_conditions", cwd=root).returncode == 0
    [found] = d.step(T0 + 2 * MINUTE)
    assert found.status == "requested" and rows(root, "select m from orders") == [(10,)]
    d.store.close()


@pytest.mark.slow
def test_a_daemon_killed_after_queuing_does_not_ask_again(project):
    root = project({"models/raw.sql": RAW, "models/orders.sql": ORDERS}, config=FAST)
    assert build(root, "raw")
    killed = daemon(root, carry_out=False)  # queued its run, and was killed before it ran
    [found] = killed.step(T0)
    assert found.status == "requested"
    killed.store.close()
    again = daemon(root)  # started again: the queued run is launched, not asked for twice
    again.step(T0 + MINUTE)
    [run] = runs(again)
    assert run.run_id == found.run_id and run.status == RunStatus.SUCCESS
    assert ticks(again)[-1].message == (
        "nothing to build: 0 models up to date, 1 waiting "
        "(orders: new: never built; waits: in a queued or started run)"
    )
    again.step(T0 + 2 * MINUTE)
    assert len(runs(again)) == 1
    assert ticks(again)[-1].message == "nothing to build: 1 model up to date"
    again.store.close()


@pytest.mark.slow
def test_daemon_once_queues_and_launches_the_latest_partition(project):
    """The command line: `teal daemon --once` evaluates the conditions, and its `teal launch`
    child builds the partition the tick asked for."""
    root = project({"models/events.sql": EVENTS}, config=FAST)
    now = {"TEAL_NOW": "2026-03-10T00:30:00"}
    shown = run_teal("automation", cwd=root, env=now)
    assert "events  eager      yes    partition 2026-03-09: missing" in shown.stdout, shown.output
    done = run_teal("daemon", "--once", cwd=root, env=now)
    assert done.returncode == 0, done.output
    assert "sensor:automation_conditions 2026-03-10 00:30:00: queued run" in done.stdout
    listed = json.loads(run_teal("runs", "--json", cwd=root).stdout)
    assert [(r["trigger"], r["status"]) for r in listed] == [("automation", "success")]
    days = "select distinct strftime(ts, '%Y-%m-%d') from events"
    assert rows(root, days) == [("2026-03-09",)]
