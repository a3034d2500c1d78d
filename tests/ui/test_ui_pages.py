"""Pages of `teal ui` in a real browser over a small project: the runs list and a run's
page say which schedule or sensor started a run, with a long partition list summarised."""

from __future__ import annotations

import pytest

from tests.runstore.test_run_labels import GAPPED, seeded
from tests.ui.conftest import start_ui, stop_ui

pytestmark = pytest.mark.slow


def test_the_runs_pages_say_who_started_a_run(page, project):
    from playwright.sync_api import expect

    root, scheduled, sensed = seeded(project)
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/runs")
        row = page.locator("table.runs tr", has_text=sensed)
        expect(row).to_contain_text("sensor after_orders")
        expect(row).to_contain_text(f"[{GAPPED}]")
        expect(page.locator("table.runs tr", has_text=scheduled)).to_contain_text(
            "schedule nightly, job nightly"
        )
        row.locator("td").nth(2).evaluate("td => getSelection().selectAllChildren(td)")
        # the list asks again every few seconds; after two answers the first is drawn, and
        # what did not change stays as it was
        for _ in range(2):
            with page.expect_response(lambda r: "/api/runs?" in r.url):
                pass
        assert "sensor after_orders" in page.evaluate("() => getSelection().toString()")
        page.goto(f"{server.url}#/runs/{sensed}")
        expect(page.locator("#run-by")).to_have_text("sensor after_orders")
        expect(page.locator("main p.muted").first).to_contain_text(f"partitions {GAPPED}")
    finally:
        stop_ui(server)


def test_the_automation_page_does_not_say_running_without_a_daemon(page, project):
    from playwright.sync_api import expect

    root = project({"models/a.sql": "select 1 as x"})
    (root / "teal.toml").write_text(
        '[schedules.hourly]\nselect = "a"\ncron = "0 * * * *"\n'
        '[sensors.landing]\nfiles = "landing/*.csv"\nselect = "a"\n'
    )
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/automation")
        expect(page.locator("main")).to_contain_text("No daemon runs")
        schedule = page.locator("tr", has_text="hourly")
        expect(schedule.locator(".state")).to_have_text("on no daemon runs")
        expect(page.locator("tr", has_text="landing").locator(".state")).to_have_text(
            "on no daemon runs"
        )
        expect(schedule.locator(".next-tick")).not_to_have_text("")
        schedule.locator("button", has_text="Pause").click()
        schedule = page.locator("tr", has_text="hourly")
        expect(schedule.locator(".next-tick")).to_have_text("(paused)")  # as `teal schedules`
        expect(schedule.locator(".state")).to_have_text("paused")
    finally:
        stop_ui(server)
