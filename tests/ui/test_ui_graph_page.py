"""The asset graph in a real browser (Playwright driving Debian's Chromium) over a copy of
the example project: finding an asset by part of its name, the side panel's last
materialization and last error, long check names kept whole, and a build from the
command line recolouring the graph without a reload."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest import run_teal
from tests.ui.conftest import UIServer, built_example_ui
from tests.ui.test_ui_browser import _shot

pytestmark = pytest.mark.slow

LONG_CHECK = "assert_product_performance_has_at_most_a_few_products_per_category"


@pytest.fixture(scope="module")
def graph_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    yield from built_example_ui(tmp_path_factory.mktemp("graph") / "shop")


def test_find_an_asset_by_part_of_its_name(page, graph_ui: UIServer):
    from playwright.sync_api import expect

    page.goto(graph_ui.url)
    expect(page.locator("#graph .node").first).to_be_visible()
    page.click("#search")
    page.keyboard.type("int_ord")
    found = page.locator("#matches .match")
    expect(found).to_have_text(["int_orders", "int_order_lines"])  # the shorter first
    page.keyboard.press("Enter")
    expect(page.locator("#side h2")).to_have_text("int_orders")
    expect(page.locator('#graph .node.hit[data-id="int_orders"]')).to_have_count(1)
    expect(page.locator("#search")).to_have_value("int_orders")

    page.fill("#search", "")
    page.keyboard.type("revenue")
    expect(found.first).to_have_text("revenue_trend")  # starts with it
    expect(found.nth(1)).to_have_text("daily_revenue")  # then the earliest match
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#side h2")).to_have_text("daily_revenue")

    page.fill("#search", "")
    page.keyboard.type("zzz")
    expect(page.locator("#matches")).to_have_text("No asset matches “zzz”.")
    page.keyboard.press("Enter")  # nothing to pick: the panel stays as it was
    expect(page.locator("#side h2")).not_to_have_text("zzz")


def test_the_side_panel_and_the_colours_follow_a_build_from_the_command_line(
    page, graph_ui: UIServer
):
    from playwright.sync_api import expect

    page.goto(graph_ui.url)
    node = page.locator('#graph .node[data-id="product_performance"]')
    node.click()
    side = page.locator("#side")
    expect(side.locator(".latest")).to_contain_text("Last materialized")
    expect(side.locator(".latest")).to_contain_text("500 rows")
    expect(side.locator(".latest a")).to_have_text(re.compile(r"\d{8}T"))
    expect(side.locator(".last-error")).to_have_count(0)
    expect(node).to_have_attribute("data-status", "fresh")

    check = graph_ui.root / "checks" / f"{LONG_CHECK}.sql"
    check.write_text(
        "{{ config(severity='error') }}\n"
        "select * from {{ ref('product_performance') }} where 1 = 1  -- every row fails\n"
    )
    try:
        done = run_teal("build", "-s", "product_performance", cwd=graph_ui.root)
        assert done.returncode == 1, done.output
        # no reload: the page polls the statuses and brings the open panel up to date
        expect(node).to_have_attribute("data-status", "failed", timeout=15_000)
        expect(side.locator(".badge").first).to_have_text("failed")
        expect(side.locator(".last-error")).to_contain_text(f"check {LONG_CHECK} failed")
        name = side.locator(f'ul.check-names li[title="{LONG_CHECK}"]')
        expect(name).to_have_text(LONG_CHECK)  # kept whole, wrapped at underscores
        box = name.bounding_box()
        panel = side.bounding_box()
        assert box is not None and panel is not None
        assert box["x"] + box["width"] <= panel["x"] + panel["width"]  # not cut off
        _shot(page, "graph-failed")
    finally:
        check.unlink()
    assert run_teal("build", "-s", "product_performance", cwd=graph_ui.root).returncode == 0
    expect(node).to_have_attribute("data-status", "fresh", timeout=15_000)
    expect(side.locator(".last-error")).to_have_count(0)


def test_a_sources_side_panel_says_its_files_and_what_reads_it(page, graph_ui: UIServer):
    """A file source's node opens a panel with its description, its files as teal versions
    them (an edited file makes what reads it stale) and the models that read it."""
    from playwright.sync_api import expect

    page.goto(graph_ui.url)
    page.locator('#graph .node[data-id="source:reference.countries"]').click()
    side = page.locator("#side")
    expect(side.locator("h2")).to_have_text("reference.countries")
    expect(side).to_contain_text("ISO country codes with a display name and a region.")
    expect(side.locator(".files")).to_have_text(
        re.compile(r"^1 file · 240 B · modified \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
    )
    expect(side.locator("a", has_text="stg_customers")).to_have_attribute(
        "href", "#/asset/stg_customers"
    )
