"""The partition grid in a real browser (Playwright driving Debian's Chromium): shift-click
picks a range, the buttons pick every missing or failed partition, and the picked ones are
backfilled through the Launch page (their plan first, then the run); a two-dimensional
grid labels its columns."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_teal
from tests.ui.conftest import start_ui, stop_ui

pytestmark = pytest.mark.slow

DAILY = """{{ config(materialized='incremental', partition_column='day',
    partitioned_by={'daily': {'start': '2025-01-01', 'end': '2025-01-11'}}) }}
select cast('{{ partition.start }}' as date) as day,
    case when '{{ partition.key }}' = '2025-01-05' and {{ var('break', 0) }} = 1
        then error('a bad day') else 1 end as x
"""

GRID = """{{ config(materialized='incremental',
    partitioned_by={'month': {'type': 'monthly', 'start': '2025-01-01', 'end': '2025-04-01'},
                    'region': ['North', 'South']},
    partition_column={'month': 'month', 'region': 'region'}) }}
select cast('{{ partition.start }}' as date) as month, '{{ partition.region }}' as region
"""


def test_pick_a_range_or_the_missing_and_failed_partitions_and_backfill_them(page, project):
    from playwright.sync_api import expect

    root = project({"models/daily.sql": DAILY, "models/grid.sql": GRID})
    built = run_teal(
        "build", "-s", "daily", "--partition-range", "2025-01-01..2025-01-03", cwd=root
    )
    assert built.returncode == 0, built.output
    broken = run_teal(
        "build", "-s", "daily", "--partition", "2025-01-05", "--vars", "{break: 1}", cwd=root
    )
    assert broken.returncode == 1, broken.output
    server = start_ui(root)
    try:
        page.goto(f"{server.url}#/asset/daily")
        cells = page.locator("#partitions .cell[data-key]")
        expect(cells).to_have_count(10)
        # a missing partition's cell is the grey of the "missing" badge above the grid
        grey = "el => getComputedStyle(el).backgroundColor"
        missing_badge = page.locator("#partitions .badge.missing").evaluate(grey)
        assert page.locator("#partitions .cell.missing").first.evaluate(grey) == missing_badge
        picked = page.locator("#picked")
        page.locator('.cell[data-key="2025-01-02"]').click()
        page.locator('.cell[data-key="2025-01-08"]').click(modifiers=["Shift"])
        expect(picked).to_have_text("7 partitions picked: 2025-01-02..2025-01-08")
        expect(page.locator("#partitions .cell.picked")).to_have_count(7)
        page.locator('.cell[data-key="2025-01-04"]').click()  # a click alone unpicks one
        # two runs: never one span over the key left out
        expect(picked).to_have_text(
            "6 partitions picked: 2025-01-02..2025-01-03, 2025-01-05..2025-01-08"
        )

        page.click("text=Clear")
        expect(picked).to_contain_text("Click partitions to pick them")
        page.click("text=Select failed")
        expect(picked).to_have_text("1 partition picked: 2025-01-05")
        page.click("text=Select missing")  # added to what is picked
        expect(picked).to_have_text("7 partitions picked: 2025-01-04..2025-01-10")
        page.click("#refresh-picked")
        expect(page).to_have_url(re.compile(r"#/launch\?select=daily&partitions="))
        expect(page.locator("#l-partitions")).to_have_value("2025-01-04..2025-01-10")
        expect(page.locator("table.plan")).to_contain_text("7")  # the plan, shown first
        page.click("#launch")
        expect(page.locator("#run-status .badge")).to_have_text("success", timeout=120_000)

        page.goto(f"{server.url}#/asset/daily")
        expect(page.locator("#partitions .cell.materialized")).to_have_count(10)
        for button in ("Select missing", "Select failed", "Select stale"):  # none is
            expect(page.locator("button", has_text=button)).to_be_disabled()

        page.goto(f"{server.url}#/asset/grid")
        head = page.locator("#partitions .grid-head .col")
        expect(head).to_have_text(["North", "South"])  # the second dimension's labels
        expect(page.locator("#partitions")).to_contain_text("a row per month, a column per region")
        expect(page.locator("#partitions .grid-row:not(.grid-head) .label")).to_have_text(
            ["2025-01", "2025-02", "2025-03"]
        )
        page.locator('.cell[data-key="2025-01|South"]').click()
        page.locator('.cell[data-key="2025-02|North"]').click(modifiers=["Shift"])
        expect(picked).to_have_text("4 partitions picked: 2025-01|North..2025-02|South")
        page.click("#refresh-picked")  # keys, not a range: a 2-D range is not a rectangle
        expect(page.locator("#l-partitions")).to_have_value(
            "2025-01|North, 2025-01|South, 2025-02|North, 2025-02|South"
        )
        expect(page.locator("table.plan")).to_contain_text("(4)")
    finally:
        stop_ui(server)
