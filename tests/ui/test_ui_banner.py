"""A project whose files do not load, in a real browser: every page shows the error in a
banner (located), the launch page refuses to plan, and the banner goes once the file is
fixed."""

from __future__ import annotations

import pytest

from tests.ui.conftest import start_ui, stop_ui

pytestmark = pytest.mark.slow


def test_a_banner_shows_the_error_while_the_project_does_not_load(page, tmp_path):
    from playwright.sync_api import expect

    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "p"\n')
    (root / "models" / "a.sql").write_text("select 1 as x")
    server = start_ui(root)
    try:
        page.goto(server.url)
        expect(page.locator("#graph .node")).to_have_count(1)
        banner = page.locator("#banner")
        expect(banner).to_be_hidden()

        broken = root / "models" / "broken.sql"
        broken.write_text("select * from not_a_model")
        page.goto(f"{server.url}#/runs")  # a page that needs no project: it still works
        expect(banner).to_be_visible(timeout=10_000)
        expect(banner).to_contain_text(
            "models/broken.sql:1:15: 'not_a_model' is not a model or a declared source"
        )
        expect(page.locator("main h1")).to_contain_text("Runs")
        page.goto(f"{server.url}#/launch?select=a")
        page.click("#show-plan")
        expect(page.locator("#launch-error .error")).to_contain_text("'not_a_model' is not a model")
        expect(page.locator("#launch")).to_be_disabled()
        page.goto(server.url)  # the graph: the error, not the last good project
        expect(page.locator("main .error")).to_contain_text("'not_a_model' is not a model")
        expect(banner).to_be_visible()

        broken.write_text("select x from a")
        expect(banner).to_be_hidden(timeout=10_000)  # the page looks again by itself
        page.goto(server.url)
        expect(page.locator("#graph .node")).to_have_count(2)
        expect(page.locator("#project-name")).to_have_text("p · 2 models")
        page.goto(f"{server.url}#/launch?select=a")
        page.click("#show-plan")
        expect(page.locator("#plan h2")).to_have_text("1 step")  # not "1 steps"
    finally:
        stop_ui(server)
