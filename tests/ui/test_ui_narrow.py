"""Long model names and narrow windows in a real browser: a name longer than the graph's
widest box is cut short inside it (its whole name is its tooltip), and at a phone's
width no page is wider than the window (the timeline shrinks, long names wrap, what sits
side by side stacks)."""

from __future__ import annotations

import pytest

from tests.conftest import run_teal
from tests.ui.conftest import start_ui, stop_ui

pytestmark = pytest.mark.slow

LONG = "revenue_by_region_and_channel_for_the_quarterly_finance_review_of_every_store_we_run"


def test_a_long_name_fits_its_box_and_a_narrow_window_has_no_sideways_scroll(browser, project):
    from playwright.sync_api import expect

    root = project(
        {"models/short.sql": "select 1 as x", f"models/{LONG}.sql": "select * from short"}
    )
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    server = start_ui(root)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(server.url)
        node = page.locator(f'#graph .node[data-id="{LONG}"]')
        expect(node.locator("text")).to_contain_text("…")
        expect(node.locator("title")).to_contain_text(LONG)
        box, text = node.locator("rect").first.bounding_box(), node.locator("text").bounding_box()
        assert box and text and text["x"] + text["width"] <= box["x"] + box["width"], (box, text)

        page.set_viewport_size({"width": 480, "height": 800})
        for route, ready in (
            ("#/runs/last", "table.steps"),
            (f"#/asset/{LONG}", "table.column-lineage"),
            ("#/", "#graph .node"),
            ("#/runs", "table.runs"),
        ):
            page.goto(f"{server.url}{route}")
            expect(page.locator(ready).first).to_be_visible()
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 480, f"{route} is {wide} pixels wide in a 480-pixel window"
    finally:
        context.close()
        stop_ui(server)
