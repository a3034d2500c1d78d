"""A live run's page in a real browser: a started run is written into the store before the
server starts, and the test appends its events while the page polls (the server reads the
store on each request, so nothing races its file watching; every wait is on what the page
shows). The page updates in place: an opened section stays open, the log keeps its scroll
position, a text selection and the log's filter stay, and the log follows its newest line
only when the user was at its end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from teal.runtime.runstore import Event, EventKind, RunRecord, RunStatus, Trigger
from teal.runtime.session import Session
from tests.ui.conftest import start_ui, stop_ui

pytestmark = pytest.mark.slow

AT = datetime(2026, 3, 2, 3, 0)
RUN = "20260302T030000-dddddd"
LOG = ".logs"
SETTINGS = "details.run-config details"  # every setting recorded
SCROLLED = 100  # pixels from the log's top the user scrolled to
AT_END = "l => l.scrollHeight - l.scrollTop - l.clientHeight <= 4"


class LiveRun:
    """A started run (of a, then c, then b, partitioned) in ``root``'s store; ``add``
    appends events to it."""

    def __init__(self, root: Path) -> None:
        self.root, self.seq = root, 0
        with Session.open(root) as session:
            session.run_store().add_run(
                RunRecord(RUN, "build", RunStatus.STARTED, Trigger.CLI, ("a+",),
                          config={"vars": {"day": "2026-03-01"}}, created_at=AT, started_at=AT,
                          project=session.config.name)
            )  # fmt: skip
        self.add(EventKind.RUN_START, message="build started")
        self.add(EventKind.STEP_START, "a")
        for i in range(60):
            self.add(EventKind.LOG, "a", level="info", message=f"loading chunk {i}")

    def add(self, kind: EventKind, model: str | None = None, **kw: object) -> None:
        self.seq += 1
        at = AT + timedelta(seconds=self.seq)
        with Session.open(self.root) as session:
            session.run_store().append([Event(RUN, self.seq, at, kind, model, **kw)])  # type: ignore[arg-type]

    def finish(self) -> None:
        self.add(EventKind.RUN_END, message="success")
        with Session.open(self.root) as session:
            session.run_store().set_status(RUN, RunStatus.SUCCESS, at=AT + timedelta(minutes=1))


@pytest.fixture
def live(project) -> Iterator[tuple[LiveRun, str]]:
    root = project({"models/a.sql": "select 1 as x"})
    run = LiveRun(root)
    server = start_ui(root)
    try:
        yield run, server.url
    finally:
        stop_ui(server)


def test_a_live_run_page_keeps_what_the_user_opened_scrolled_selected_and_filtered(page, live):
    from playwright.sync_api import expect

    run, url = live
    page.goto(f"{url}#/runs/{RUN}")
    log = page.locator(LOG)
    lines = page.locator(f"{LOG} div")
    expect(lines).to_have_count(62)
    heading = page.locator("h2", has_text="Events and logs")
    expect(heading).to_contain_text("(live)")
    # how long it has run so far (it started on AT, days ago), counted by the page
    expect(page.locator("#run-times .elapsed")).to_have_text(re.compile(r"^running for \d+d\d+h$"))
    page.wait_for_function(f"() => ({AT_END})(document.querySelector('{LOG}'))")  # its tail
    page.locator(f"{SETTINGS} summary").click()
    log.evaluate(f"l => {{ l.scrollTop = {SCROLLED}; }}")
    page.locator("h1").evaluate(  # the user selects the page's title
        "h => getSelection().selectAllChildren(h)"
    )
    selected = page.evaluate("() => getSelection().toString()")
    assert RUN in selected

    run.add(EventKind.LOG, "a", level="info", message="new line 1")
    run.add(EventKind.STEP_SUCCESS, "a", data={"rows": 1})
    run.add(EventKind.STEP_START, "c")
    steps = page.locator("table.steps tr:has(td)")
    expect(steps).to_have_count(2)  # b's step appeared
    expect(steps.first.locator(".badge")).to_have_text("success")  # a's, in place
    expect(lines).to_have_count(65)
    expect(page.locator(SETTINGS)).to_have_attribute("open", "")
    assert log.evaluate("l => l.scrollTop") == SCROLLED
    assert page.evaluate("() => getSelection().toString()") == selected

    page.fill("#log-filter", "new line")
    expect(page.locator(f"{LOG} div:visible")).to_have_count(1)
    run.add(EventKind.LOG, "c", level="info", message="new line 2")
    run.add(EventKind.LOG, "c", level="info", message="something else")
    expect(lines).to_have_count(67)
    visible = page.locator(f"{LOG} div:visible")
    expect(visible).to_have_count(2)
    expect(visible.last).to_contain_text("new line 2")
    expect(page.locator("#log-filter")).to_have_value("new line")
    expect(page.locator("#log-shown")).to_have_text("2 of 67 shown")

    page.fill("#log-filter", "")
    log.evaluate("l => { l.scrollTop = l.scrollHeight; }")  # back at the end: it follows
    run.add(EventKind.LOG, "c", level="info", message="the newest line")
    expect(lines.last).to_contain_text("the newest line")
    page.wait_for_function(f"() => ({AT_END})(document.querySelector('{LOG}'))")

    # a partitioned step: its partitions are counted as they end, the opened list stays open
    run.add(EventKind.STEP_START, "b", data={"partitions": 3})
    day = {"rows": 1, "duration_s": 1.5}
    run.add(EventKind.STEP_SUCCESS, "b", partition_key="2026-03-01", data=day)
    toggle = page.locator("table.steps button.partitions-toggle")
    expect(toggle).to_have_text("1 of 3 partitions")
    toggle.click()
    partitions = page.locator("table.steps tr.partition")
    expect(partitions).to_have_count(1)
    expect(partitions.first).to_contain_text("1.50s")
    run.add(EventKind.STEP_FAILURE, "b", partition_key="2026-03-02", message="bad day", data=day)
    expect(toggle).to_have_text("2 of 3 partitions")
    expect(partitions).to_have_count(2)
    expect(partitions.nth(1)).to_be_visible()  # still open
    expect(partitions.nth(1)).to_contain_text("bad day")

    run.add(EventKind.STEP_SUCCESS, "b", data={"rows": 1})
    run.add(EventKind.STEP_SUCCESS, "c", data={"rows": 1})
    run.finish()
    expect(page.locator("#run-status .badge")).to_have_text("success")
    expect(heading).not_to_contain_text("(live)")
    expect(page.locator("#run-times")).to_contain_text("took 1m0s")
    expect(page.locator("#run-times .elapsed")).to_have_count(0)
    expect(page.locator("#reexecute")).to_be_visible()
    expect(page.locator(SETTINGS)).to_have_attribute("open", "")
