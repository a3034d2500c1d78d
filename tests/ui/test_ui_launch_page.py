"""The Launch page in a real browser (Playwright driving Debian's Chromium) over a copy of
the example project with a job that sets vars and tags: a job fills the form, the plan
shows what will be queued, the launched run builds with the job's vars, its page shows
them and runs it again whole; a mistake in the run config is shown at its line and
nothing is launched."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator

import duckdb
import pytest

from tests.ui.conftest import UIServer, built_example_ui
from tests.ui.test_ui_browser import _shot

pytestmark = pytest.mark.slow

FINANCE_JOB = """
[tool.teal.jobs.finance_usd]
select = "daily_revenue"
partitions = ["2025-03-01"]
vars = { currency = "USD" }
tags = ["team:finance"]
description = "a day of revenue in dollars, for finance"
"""


@pytest.fixture(scope="module")
def finance_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    yield from built_example_ui(tmp_path_factory.mktemp("launch") / "shop", FINANCE_JOB)


def _api(server: UIServer, path: str):
    with urllib.request.urlopen(f"{server.url}api/{path}") as response:
        return json.loads(response.read())


def test_a_job_fills_the_form_and_its_run_builds_with_its_vars(page, finance_ui: UIServer):
    from playwright.sync_api import expect

    page.goto(f"{finance_ui.url}#/launch")
    page.select_option("#l-job", "finance_usd")
    expect(page.locator("#l-select")).to_be_disabled()
    expect(page.locator("#l-select")).to_have_value("daily_revenue")
    expect(page.locator("#l-partitions")).to_have_value("2025-03-01")
    expect(page.locator("#l-vars")).to_have_value('currency: "USD"')
    expect(page.locator("#l-job-about")).to_contain_text("tags team:finance")
    page.click("#show-plan")
    facts = page.locator("dl.launch-facts")
    expect(facts).to_contain_text("finance_usd")
    expect(facts).to_contain_text('{"currency":"USD"}')
    expect(page.locator("table.plan")).to_contain_text("daily_revenue")
    expect(page.locator("table.plan tr")).to_have_count(2)  # a header and one step
    _shot(page, "launch")

    page.fill("#l-exclude", "x")  # an edit: the plan shown is no longer the launch's
    expect(page.locator("#launch")).to_be_disabled()
    page.fill("#l-exclude", "")
    page.click("#show-plan")
    page.click("#launch")
    expect(page).to_have_url(re.compile(r"#/runs/\d{8}T"))
    expect(page.locator("#run-status .badge")).to_have_text("success", timeout=120_000)
    run_id = page.url.rsplit("/", 1)[1]
    run = _api(finance_ui, f"runs/{run_id}")["run"]
    assert run["started_by"] == "ui, job finance_usd"
    assert run["config"]["vars"] == {"currency": "USD"} and run["partitions"] == ["2025-03-01"]
    db = str(finance_ui.root / "warehouse.duckdb")
    with duckdb.connect(db, read_only=True) as con:
        found = con.execute(
            "select order_date::text, currency from marts.daily_revenue "
            "where order_date between '2025-02-28' and '2025-03-01' order by 1"
        ).fetchall()
    assert found == [("2025-02-28", "EUR"), ("2025-03-01", "USD")]  # that day alone

    # the run's page says what it was asked for, and runs it again whole
    config = page.locator("details.run-config dl")
    for shown in ("finance_usd", "team:finance", '{"currency":"USD"}'):
        expect(config).to_contain_text(shown)
    page.click("#reexecute")
    expect(page).not_to_have_url(re.compile(run_id))
    expect(page.locator("#run-parent")).to_have_text(run_id)
    expect(page.locator("main p.muted").first).to_contain_text("re-execution of")
    expect(page.locator("#run-status .badge")).to_have_text("success", timeout=120_000)
    again = page.url.rsplit("/", 1)[1]
    assert _api(finance_ui, f"runs/{again}")["run"]["config"]["vars"] == {"currency": "USD"}
    page.locator("#run-parent a").click()
    expect(page.locator("#run-children")).to_contain_text(again)
    expect(page.locator("#run-children")).to_contain_text("re-execution")
    _shot(page, "run-config")


def test_a_run_config_mistake_is_shown_at_its_line(page, finance_ui: UIServer):
    from playwright.sync_api import expect

    page.goto(f"{finance_ui.url}#/launch?select=customer_segments")
    fields = page.locator("table.config-fields")
    expect(fields).to_contain_text("at_risk_days")  # what the planned model takes
    page.click("#scaffold")
    expect(page.locator("#l-config")).to_have_value("customer_segments:\n  at_risk_days: 120")
    page.fill("#l-config", "customer_segments:\n  at_risk_dayz: 90\n")
    page.click("#show-plan")
    error = page.locator("#launch-error")
    expect(error).to_contain_text("run config:2:3: run config of model 'customer_segments'")
    expect(error).to_contain_text("did you mean 'at_risk_days'")
    expect(error.locator("pre")).to_contain_text("at_risk_dayz: 90")
    expect(page.locator("#l-config")).to_have_class(re.compile("invalid"))
    expect(page.locator("#launch")).to_be_disabled()
    page.fill("#l-config", "customer_segments: {at_risk_days: 90}")
    page.click("#show-plan")
    expect(page.locator("table.plan")).to_contain_text("customer_segments")
    expect(page.locator("#launch-error")).to_be_empty()
    expect(page.locator("#launch")).to_be_enabled()


def test_the_plan_says_which_steps_rebuild_from_scratch(page, finance_ui: UIServer):
    from playwright.sync_api import expect

    # as `teal plan --full-refresh`: an incremental model rebuilt from scratch says so
    page.goto(f"{finance_ui.url}#/launch?select=daily_revenue+int_orders&full_refresh=1")
    expect(page.locator("#l-full")).to_be_checked()
    revenue = page.locator("table.plan tr", has_text="daily_revenue")
    expect(revenue.locator("td").nth(1)).to_have_text("incremental (full refresh)")
    orders = page.locator("table.plan tr", has_text="int_orders")
    expect(orders.locator("td").nth(1)).to_have_text("table")  # a table is always rebuilt
    page.uncheck("#l-full")
    page.click("#show-plan")  # its built partitions: no step, and nothing rebuilt from scratch
    expect(page.locator("table.plan")).not_to_contain_text("full refresh")
    expect(orders.locator("td").nth(1)).to_have_text("table")
