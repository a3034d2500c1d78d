"""A run's page and the runs list in a real browser, over runs written into the store
before the server starts (so nothing races its file watching): a finished run with more
events than one answer holds shows every one of them, a partitioned step is one row with
its partitions under it, and a model filter naming no model says so, as `teal runs
--model` does."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from teal.runtime.runstore import Event, EventKind, RunRecord, RunStatus, Trigger
from teal.runtime.session import Session
from teal.runtime.ui.run_view import MAX_EVENTS
from tests.conftest import run_teal
from tests.ui.conftest import start_ui, stop_ui

pytestmark = pytest.mark.slow

AT = datetime(2026, 3, 2, 3, 0)
RUN = "20260302T030000-cccccc"
SECOND = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"  # a time as the pages show it (UTC)


def seed_checked_run(root, checks: int) -> None:
    """A finished run of model ``a`` with ``checks`` check results, the last one failed."""
    events = [Event(RUN, 1, AT, EventKind.RUN_START, message="build started")]
    for i in range(checks):
        events.append(
            Event(
                RUN,
                len(events) + 1,
                AT + timedelta(milliseconds=i),
                EventKind.CHECK_RESULT,
                model="a",
                data={
                    "check": f"check_{i:04d}",
                    "status": "fail" if i == checks - 1 else "pass",
                    "severity": "error",
                    "failing_rows": 3 if i == checks - 1 else 0,
                },
            )
        )
    events.append(
        Event(RUN, len(events) + 1, AT, EventKind.LOG, "a", level="debug", message="took 12 ms")
    )
    events.append(Event(RUN, len(events) + 1, AT, EventKind.RUN_END, message="failure"))
    run = RunRecord(
        RUN,
        "build",
        RunStatus.FAILURE,
        Trigger.CLI,
        ("a",),
        created_at=AT,
        started_at=AT,
        finished_at=AT + timedelta(seconds=5),
    )
    with Session.open(root) as session:  # recorded as the project's, as a build records it
        session.run_store().add_run(replace(run, project=session.config.name))
        session.run_store().append(events)


def test_a_finished_run_shows_every_event_and_check_result_beyond_one_answer(page, project):
    from playwright.sync_api import expect

    root = project({"models/a.sql": "select 1 as x"})
    checks = MAX_EVENTS + 100
    seed_checked_run(root, checks)
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/runs/{RUN}")
        results = page.locator("table.run-checks tr:has(td)")
        expect(results).to_have_count(checks)
        last = page.locator("table.run-checks tr", has_text=f"check_{checks - 1:04d}")
        expect(last.locator(".badge")).to_have_text("fail")
        expect(last.locator("a")).to_have_attribute("href", "#/asset/a")  # its asset's page
        expect(page.locator(".logs div").last).to_contain_text("run_end")
        # a log line says its level, as `teal logs` does, so the filter finds "debug"
        expect(page.locator(".logs div.debug")).to_have_text("03:00:00.000 DEBUG a took 12 ms")
        expect(page.locator("#run-times")).to_have_text(
            "started 2026-03-02 03:00:00 UTC · finished 03:00:05, took 5.00s"
        )
    finally:
        stop_ui(server)


def test_a_runs_filter_naming_no_model_says_so(page, project):
    from playwright.sync_api import expect

    root = project({"models/orders.sql": "select 1 as x"})
    seed_checked_run(root, 1)
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/runs?model=order")
        error = page.locator("#runs-list .error")
        expect(error).to_contain_text("no run built 'order', and the project has no such model")
        expect(error).to_contain_text("orders")  # did you mean
        expect(page.locator("#model")).to_have_value("order")  # the filter stays to fix
        page.fill("#model", "orders")  # a model of the project with no run: no error
        page.click("#filters button")
        expect(page.locator("#runs-list")).to_contain_text("No runs.")
    finally:
        stop_ui(server)


BOOM = """
import teal


def helper(x):
    return x / 0


@teal.asset
def boom() -> dict:
    return {"n": [helper(1)]}
"""


def test_a_failed_asset_shows_its_error_at_its_file_on_its_page_and_its_run(page, project):
    from playwright.sync_api import expect

    root = project(
        {
            "models/bad.sql": "{{ config(materialized='table') }}\nselect error('no rows today') as x",
            "models/after_bad.sql": "select * from bad",
            "models/boom.py": BOOM,
            "models/fine.sql": "select 1 as x",
        }
    )
    built = run_teal("build", cwd=root)
    assert built.returncode == 1, built.output
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/asset/bad")
        error = page.locator("main .last-error")
        expect(error).to_contain_text("no rows today")
        expect(error.locator("code.where")).to_have_text("models/bad.sql")
        error.locator("a").click()  # to the run that failed it
        failed = page.locator("table.steps tr", has_text="no rows today")
        expect(failed.locator("code.where")).to_have_text("models/bad.sql")
        skipped = page.locator("table.steps tr", has_text="after_bad")
        expect(skipped).to_contain_text("upstream bad failed")  # why it was skipped
        failed_step = page.locator("table.steps tbody.step", has_text="no rows today")
        expect(failed_step).not_to_have_class(re.compile("target"))
        reason = skipped.locator("td").last.locator("a", has_text="bad")
        expect(reason).to_have_attribute("href", "#/asset/bad")  # a new tab: its asset
        reason.click()  # to the step that failed, in this run
        expect(failed_step).to_have_class(re.compile("target"))
        expect(failed_step).to_be_in_viewport()

        page.goto(f"{server.url}#/asset/boom")  # a Python asset: the line it raised at
        expect(page.locator("main .last-error code.where")).to_have_text("models/boom.py:5")
        expect(page.locator("main .last-error")).to_contain_text("ZeroDivisionError")

        page.goto(f"{server.url}#/asset/fine")  # times to the second, as everywhere else
        expect(page.locator("main > p.muted").first).to_contain_text(
            re.compile(f"built {SECOND} UTC")
        )
        at = page.locator("table.materializations tr:has(td) td").first
        expect(at).to_have_text(re.compile(f"^{SECOND}$"))
    finally:
        stop_ui(server)


DAILY = """{{ config(materialized='incremental', partition_column='day',
    partitioned_by={'daily': {'start': '2025-01-01', 'end': '2025-01-04'}}) }}
select cast('{{ partition.start }}' as date) as day,
    case when '{{ partition.key }}' = '2025-01-02' then error('a bad day') else 1 end as x
"""


def test_a_partitioned_step_is_one_row_with_its_partitions_and_their_times(page, project):
    from playwright.sync_api import expect

    root = project({"models/daily.sql": DAILY})
    built = run_teal("build", "--partition-range", "2025-01-01..2025-01-03", cwd=root)
    assert built.returncode == 1, built.output
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/runs/last")
        step = page.locator("table.steps tbody.step")
        expect(step).to_have_count(1)  # once, not once more per partition
        toggle = step.locator("button.partitions-toggle")
        expect(toggle).to_have_text("3 partitions")
        counts = step.locator("tr").first.locator("td").nth(1)
        expect(counts).to_contain_text("success 2")
        expect(counts).to_contain_text("failure 1")
        partitions = step.locator("tr.partition")
        expect(partitions.first).to_be_hidden()
        toggle.click()  # a row per partition, each with its status and how long it took
        expect(partitions).to_have_count(3)
        expect(partitions.locator("td:nth-child(2)")).to_have_text(
            ["2025-01-01", "2025-01-02", "2025-01-03"]
        )
        expect(partitions.locator(".badge")).to_have_text(["success", "failure", "success"])
        took = re.compile(r"^\d+\.\d\ds$")
        expect(partitions.locator("td:nth-child(5)")).to_have_text([took, took, took])
        expect(partitions.nth(1)).to_contain_text("a bad day")
    finally:
        stop_ui(server)


def test_a_failed_check_shows_the_failing_row_the_build_printed(page, project):
    from playwright.sync_api import expect

    root = project(
        {
            "models/orders.sql": "select * from range(3) t(i)",
            "models/schema.yml": "models:\n  - name: orders\n    tests:\n"
            "      - row_count: {min: 5, name: at_least_five}\n",
        }
    )
    built = run_teal("build", cwd=root)
    assert built.returncode == 1, built.output
    [printed] = re.findall(r"^ +(e\.g\. .+)$", built.output, flags=re.M)
    assert printed == "e.g. n=3"
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/runs/last")
        ran = page.locator("table.run-checks tr", has_text="at_least_five")
        expect(ran.locator("code.sample")).to_have_text(printed)
        page.goto(f"{server.url}#/asset/orders")
        latest = page.locator("table.checks tr", has_text="at_least_five")
        expect(latest.locator("code.sample")).to_have_text(printed)
    finally:
        stop_ui(server)
