"""What an operator reads off `teal ui`, in a real browser over a real server: an asset
overdue by its freshness policy says so, a failure a retry within the run built over no
longer stands, a canceled step explains its asset's red, a freshness evaluation offers
nothing to run again, a queued run is not shown as started, a run says which host ran it,
a skipped sensor tick says why, and a range built in one go counts its partitions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from teal.runtime.runstore import Event, EventKind, RunRecord, RunStatus, Trigger
from teal.runtime.runstore.ticks import TickStatus, TickStore
from teal.runtime.session import Session
from tests.conftest import run_teal
from tests.ui.conftest import start_ui, stop_ui
from tests.ui.test_ui_api import call, refused, ui_server

pytestmark = pytest.mark.slow

AT = datetime(2026, 3, 2, 3, 0)

OVERDUE = {
    "models/kept.sql": "{{ config(materialized='table', freshness={'max_lag': '26h'}) }}\n"
    "select 1 as x",
    "models/late.sql": "{{ config(materialized='table', freshness={'max_lag': '1h'}) }}\n"
    "select 1 as x",
}


def test_an_asset_overdue_by_its_freshness_policy_says_so(page, project):
    from playwright.sync_api import expect

    root = project(OVERDUE)
    assert run_teal("build", "-s", "kept", cwd=root).returncode == 0  # late: never built
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/asset/late")
        freshness = page.locator("#freshness")
        expect(freshness).to_contain_text("(max_lag 1h)")
        expect(freshness.locator(".badge")).to_have_text("fail")
        expect(freshness).to_contain_text("no data: never built")
        page.goto(f"{server.url}#/asset/kept")
        expect(page.locator("#freshness .badge")).to_have_text("pass")
        expect(page.locator("#freshness")).to_contain_text("within its max_lag of 26h")
        page.goto(server.url)  # the summary beside the graph says it too
        page.locator('#graph .node[data-id="late"]').click()
        expect(page.locator("#side .freshness")).to_contain_text("no data: never built")
    finally:
        stop_ui(server)


FLAKY_PY = """
from pathlib import Path

import pyarrow as pa
import teal


@teal.asset(retries=1, retry_delay=0)
def flaky():
    failed = Path("failed-once")
    if not failed.exists():  # its first attempt fails, its retry builds it
        failed.write_text("x")
        raise RuntimeError("the API timed out")
    return pa.table({"x": [1]})
"""


def test_a_failure_a_retry_within_the_run_built_over_no_longer_stands(page, project):
    from playwright.sync_api import expect

    root = project({"models/flaky.py": FLAKY_PY})
    built = run_teal("build", cwd=root)
    assert built.returncode == 0 and "retrying" in built.output, built.output
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/asset/flaky")
        expect(page.locator("h1 .badge")).to_have_text("fresh")
        expect(page.locator("main")).to_contain_text("Materializations")
        expect(page.locator(".last-error")).to_have_count(0)
    finally:
        stop_ui(server)


def seed(root, run: RunRecord, events: list[Event]) -> None:
    with Session.open(root) as session:  # recorded as the project's, as a build records it
        session.run_store().add_run(replace(run, project=session.config.name))
        session.run_store().append(events)


def test_a_step_canceled_while_it_ran_is_its_assets_last_error(page, project):
    from playwright.sync_api import expect

    root = project({"models/a.sql": "select 1 as x"})
    run_id = "20260302T030000-aaaaaa"
    canceled = "canceled while running: its work was rolled back"
    seed(
        root,
        RunRecord(run_id, "build", RunStatus.CANCELED, Trigger.UI, ("a",), created_at=AT),
        [
            Event(run_id, 1, AT, EventKind.RUN_START, message="build started"),
            Event(run_id, 2, AT, EventKind.STEP_START, model="a"),
            Event(run_id, 3, AT, EventKind.STEP_CANCELED, model="a", message=canceled),
            Event(run_id, 4, AT, EventKind.RUN_END, message="canceled"),
        ],
    )
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/asset/a")
        expect(page.locator(".last-error")).to_contain_text(canceled)
        expect(page.locator(".last-error a")).to_have_text(run_id)
    finally:
        stop_ui(server)


def test_a_freshness_evaluation_offers_nothing_to_run_again(page, project):
    from playwright.sync_api import expect

    root = project(OVERDUE)
    checked = run_teal("check", "--freshness", cwd=root)  # nothing built: both stale
    assert checked.returncode == 1, checked.output
    with ui_server(root) as (url, _):
        [run] = call(url, "runs")
        assert run["command"] == "freshness" and run["status"] == "failure"
        for action in ("retry", "reexecute"):  # it would build them, recorded `freshness`
            found = refused(url, f"runs/{run['run_id']}/{action}", {})
            assert (
                found["error"]
                == f"run {run['run_id']} evaluated freshness: it builds nothing to run again"
            )
            assert "`teal build -s kept late`" in found["hint"]
        assert call(url, "runs") == [run]  # nothing queued
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/runs")  # listed as what it is, not as a failed build
        expect(
            page.locator("table.runs tr", has_text=run["run_id"]).locator(".command")
        ).to_have_text("freshness")
        page.goto(f"{server.url}#/runs/{run['run_id']}")
        expect(page.locator("#run-status .badge")).to_have_text("failure")
        expect(page.locator("#run-actions button")).to_have_count(0)
    finally:
        stop_ui(server)


def test_a_queued_run_is_not_shown_started_and_a_run_says_its_host(page, project):
    from playwright.sync_api import expect

    root = project({"models/a.sql": "select 1 as x"})
    queued, remote = "20260302T031000-bbbbbb", "20260302T030000-cccccc"
    seed(root, RunRecord(queued, "build", RunStatus.QUEUED, Trigger.UI, ("a",), created_at=AT), [])
    seed(
        root,
        RunRecord(
            remote,
            "build",
            RunStatus.SUCCESS,
            Trigger.CLI,
            ("a",),
            host="ci-runner-7",
            pid=4242,
            created_at=AT,
            started_at=AT,
            finished_at=AT + timedelta(seconds=5),
        ),
        [],
    )
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/runs")
        expect(page.locator("table.runs tr", has_text=queued).locator("td").nth(4)).to_have_text(
            "queued 2026-03-02 03:00:00"
        )
        expect(page.locator("table.runs tr", has_text=remote).locator("td").nth(4)).to_have_text(
            "2026-03-02 03:00:00"
        )
        page.goto(f"{server.url}#/runs/{remote}")
        expect(page.locator("#run-times")).to_contain_text(
            "started 2026-03-02 03:00:00 UTC on ci-runner-7 (pid 4242)"
        )
    finally:
        stop_ui(server)


def test_a_skipped_sensor_tick_says_why_to_the_second(page, project):
    from playwright.sync_api import expect

    root = project({"models/a.sql": "select 1 as x"})
    (root / "teal.toml").write_text('[sensors.landing]\nfiles = "landing/*.csv"\nselect = "a"\n')
    why = "landing/bad.csv: no partition key in its name"
    with Session.open(root) as session:
        tick = datetime(2026, 3, 2, 3, 0, 5, 654143)  # a sensor's tick has microseconds
        TickStore(session.run_store()).record(
            "sensor:landing", tick, TickStatus.SKIPPED, at=tick, message=why
        )
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/automation")
        shown = page.locator("tr", has_text="landing").locator(".tick")
        expect(shown).to_have_text(f"2026-03-02 03:00:05 skipped {why}")
    finally:
        stop_ui(server)


def test_a_range_built_in_one_go_counts_every_partition_in_it(page, project):
    from playwright.sync_api import expect

    from tests.test_partitioned_builds import EVENTS_SQL

    single = EVENTS_SQL.replace(
        "partition_column='ts'", "partition_column='ts', backfill_policy='single_run'"
    )
    root = project({"models/events.sql": single})
    args = ("--partition-range", "2026-01-02..2026-01-05")
    built = run_teal("build", *args, cwd=root)
    assert built.returncode == 0, built.output
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/runs/last")
        row = page.locator("tbody.step", has_text="events").locator("tr").first
        # one row, 2026-01-02..2026-01-05, stands for 4 partitions: not "1 of 4"
        expect(row.locator("td").nth(1)).to_have_text("4 partitions success 4")
    finally:
        stop_ui(server)


def test_a_failed_partition_is_one_failure_and_a_held_back_one_counts(page, project):
    from playwright.sync_api import expect

    from tests.test_partitioned_builds import DAILY_SUM_SQL, EVENTS_SQL

    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": DAILY_SUM_SQL})
    built = run_teal("build", "--vars", "{bad_day: 2026-01-04}", cwd=root)
    assert built.returncode == 1, built.output
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/asset/events")
        error = page.locator(".last-error")
        # one partition failed (the step's own row failing with it is not "1 more")
        expect(error).to_contain_text(", partition 2026-01-04:")
        expect(error).not_to_contain_text("more")
        page.goto(f"{server.url}#/runs/last")
        held = page.locator("tbody.step", has_text="daily_sum").locator("tr").first
        # 9 planned at its start, and the one held back when events failed: not "10 of 9"
        expect(held.locator("td").nth(1)).to_have_text("10 partitions success 9 skipped 1")
    finally:
        stop_ui(server)


def test_a_run_queued_with_no_daemon_to_launch_it_says_so(page, project):
    from playwright.sync_api import expect

    root = project({"models/a.sql": "select 1 as x"})
    queued = "20260302T031000-dddddd"  # queued by a daemon that stopped since
    seed(
        root,
        RunRecord(queued, "build", RunStatus.QUEUED, Trigger.SCHEDULE, ("a",), created_at=AT),
        [],
    )
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/runs/{queued}")
        expect(page.locator("#run-times")).to_have_text(
            "queued 2026-03-02 03:00:00 UTC, not started: no daemon runs for this project, "
            "so nothing will launch it: start `teal daemon`, or cancel it"
        )
        expect(page.locator("#run-actions button")).to_have_text("Cancel")
    finally:
        stop_ui(server)


def test_the_graph_outlines_what_a_run_builds_now(page, project):
    import os

    from playwright.sync_api import expect

    from tests.conftest import spawn_teal
    from tests.ui.test_ui_api import GATED_PY

    files = {"models/gated.py": GATED_PY, "models/after.sql": "select x from gated"}
    root = project({**files, "models/other.sql": "select 1 as y"})
    os.mkfifo(root / "gate")
    assert run_teal("build", "-s", "other", cwd=root).returncode == 0
    server = start_ui(root)
    page.goto(server.url)  # its state read before the build holds the warehouse
    gated = page.locator('#graph .node[data-id="gated"]')
    expect(gated).to_have_class("node")
    build = spawn_teal("build", "-s", "gated+", cwd=root)
    try:
        expect(gated).to_have_class("node building")  # its step started, not ended
        expect(page.locator('#graph .node[data-id="after"]')).to_have_class("node")
        with (root / "gate").open("w") as gate:  # the model reads it and returns
            gate.write("go")
        assert build.wait(timeout=60) == 0
        expect(gated).to_have_class("node")
    finally:
        build.kill()
        stop_ui(server)


def test_the_graph_and_an_asset_page_show_during_a_projects_first_build(page, project):
    import os

    from playwright.sync_api import expect

    from tests.conftest import spawn_teal
    from tests.ui.test_ui_api import GATED_PY

    root = project({"models/gated.py": GATED_PY})
    os.mkfifo(root / "gate")
    server = start_ui(root)
    build = spawn_teal("build", cwd=root)  # holds a warehouse no read has kept
    try:
        page.goto(server.url)
        gated = page.locator('#graph .node[data-id="gated"]')
        expect(gated).to_have_class("node building")
        expect(gated).to_have_attribute("data-status", "never built")
        page.goto(f"{server.url}#/asset/gated")
        expect(page.locator("h1")).to_have_text("gated never built")
        with (root / "gate").open("w") as gate:
            gate.write("go")
        assert build.wait(timeout=60) == 0
    finally:
        build.kill()
        stop_ui(server)
