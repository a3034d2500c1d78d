"""`teal ui` in a real browser: Playwright driving Debian's Chromium (installed by
scripts/test.sh from scripts/system-packages.txt; Playwright downloads no browser), against
a real `teal ui` subprocess serving a copy of the example project.

Screenshots of the main pages go to tests/output/screenshots/ (docs/screenshots/ keeps the
ones README.md shows)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, run_teal
from tests.ui.conftest import UIServer

pytestmark = pytest.mark.slow

SHOTS = REPO / "tests" / "output" / "screenshots"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def _api(server: UIServer, path: str):
    with urllib.request.urlopen(f"{server.url}api/{path}") as response:
        return json.loads(response.read())


def test_graph_selection_and_an_asset_page(page, shop_ui: UIServer):
    from playwright.sync_api import expect

    page.goto(shop_ui.url)
    nodes = page.locator("#graph .node")
    expect(nodes.first).to_be_visible()
    every = _api(shop_ui, "graph")["nodes"]
    assert nodes.count() == len(every)  # small enough to draw every asset
    expect(page.locator("#project-name")).to_contain_text("shop")
    page.locator('#graph .node[data-id="daily_revenue"]').click()  # its summary beside
    expect(page.locator("#side .latest")).to_contain_text("Last materialized")
    _shot(page, "graph")

    page.fill("#select", "marts+")
    page.click("#select-form button")
    selected = _api(shop_ui, "graph?select=marts%2B")["selected"]
    expect(nodes).to_have_count(len(selected))
    drawn = {nodes.nth(i).get_attribute("data-id") for i in range(nodes.count())}
    assert drawn == set(selected) and "daily_revenue" in drawn and "stg_orders" not in drawn

    page.locator('#graph .node[data-id="daily_revenue"]').click()
    expect(page.locator("#side h2")).to_have_text("daily_revenue")
    page.locator("#side a", has_text="Open").click()
    expect(page.locator("main h1")).to_contain_text("daily_revenue")
    expect(page.locator("main pre").first).to_contain_text("int_orders")
    expect(page.locator("table.checks")).to_contain_text("not_null_daily_revenue_order_date")
    revenue = page.locator("table.column-lineage tr", has_text="revenue").first
    expect(revenue).to_contain_text("int_orders.")  # made of int_orders' columns
    expect(revenue).to_contain_text("revenue_trend.")  # and read by revenue_trend
    _shot(page, "asset")
    page.click("#preview-button")
    expect(page.locator("#preview table tr")).to_have_count(51)  # a header and 50 rows
    expect(page.locator("#preview table")).to_contain_text("order_date")


def test_a_preview_while_a_build_holds_the_warehouse_says_so(shop_ui: UIServer):
    import duckdb

    held = duckdb.connect(str(shop_ui.root / "warehouse.duckdb"))  # a writer holds the file
    try:
        found = _api(shop_ui, "assets/daily_revenue/preview")
    finally:
        held.close()
    assert found["available"] is False and "holds the warehouse" in found["message"]
    assert _api(shop_ui, "assets/daily_revenue/preview")["available"] is True


def test_a_preview_of_what_has_no_table_says_why(shop_ui: UIServer):
    import duckdb

    ephemeral = _api(shop_ui, "assets/int_order_lines/preview")
    assert ephemeral["available"] is False and "is ephemeral" in ephemeral["message"]
    db = str(shop_ui.root / "warehouse.duckdb")
    with duckdb.connect(db) as con:  # as if product_performance were never built
        con.execute("alter table marts.product_performance rename to product_performance_x")
    try:
        missing = _api(shop_ui, "assets/product_performance/preview")
    finally:
        with duckdb.connect(db) as con:
            con.execute("alter table marts.product_performance_x rename to product_performance")
    assert missing == {
        "available": False,
        "message": "product_performance has not been built yet: teal build -s product_performance",
    }
    assert _api(shop_ui, "assets/product_performance/preview")["available"] is True


def test_a_run_is_found_by_a_prefix_of_its_id_as_on_the_command_line(shop_ui: UIServer):
    [newest] = _api(shop_ui, "runs?limit=1")
    by_prefix = _api(shop_ui, f"runs/{newest['run_id'][:-3]}")
    assert by_prefix["run"]["run_id"] == newest["run_id"]
    assert _api(shop_ui, "runs/last")["run"]["run_id"] == newest["run_id"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{shop_ui.url}api/runs?limit=-1")
    assert refused.value.code == 400
    assert "limit must be a whole number of at least 1" in refused.value.read().decode()


def test_a_partition_grid_that_cannot_be_fetched_says_so(page, shop_ui: UIServer):
    from playwright.sync_api import expect

    # the server gone while the grid loads (a teal ui stopped): said in place of the grid,
    # not an error the page leaves unhandled (the page fixture fails on one)
    page.route("**/api/assets/daily_revenue/partitions", lambda route: route.abort())
    page.goto(f"{shop_ui.url}#/asset/daily_revenue")
    expect(page.locator("#partitions .error")).to_be_visible()
    expect(page.locator("main h2", has_text="Checks")).to_be_visible()  # the rest is drawn


def test_partition_grid_shows_each_partition(page, shop_ui: UIServer):
    from playwright.sync_api import expect

    page.goto(f"{shop_ui.url}#/asset/daily_revenue")
    cells = page.locator("#partitions .cell")
    expect(cells.first).to_be_visible()
    rows = _api(shop_ui, "assets/daily_revenue/partitions")
    assert cells.count() == len(rows) == 365
    assert page.locator("#partitions .cell.materialized").count() == 365
    page.locator('#partitions .cell[data-key="2025-03-01"]').click()
    expect(page.locator("#picked")).to_have_text("1 partition picked: 2025-03-01")
    page.locator('#partitions .cell[data-key="2025-03-10"]').click(modifiers=["Shift"])
    expect(page.locator("#picked")).to_have_text("10 partitions picked: 2025-03-01..2025-03-10")
    page.locator('#partitions .cell[data-key="2025-03-05"]').click()  # a gap: two runs
    expect(page.locator("#picked")).to_have_text(
        "9 partitions picked: 2025-03-01..2025-03-04, 2025-03-06..2025-03-10"
    )
    page.locator('#partitions .cell[data-key="2025-03-05"]').click()
    page.locator("#partitions").scroll_into_view_if_needed()
    _shot(page, "partitions")

    page.goto(f"{shop_ui.url}#/asset/monthly_region_revenue")  # two dimensions: month x region
    expect(page.locator("main h1")).to_contain_text("monthly_region_revenue")
    keys = _api(shop_ui, "assets/monthly_region_revenue/partitions")
    expect(page.locator("#partitions .cell")).to_have_count(len(keys))
    months = {k["key"].split("|")[0] for k in keys}
    labels = page.locator("#partitions .grid-row:not(.grid-head) .label")
    expect(labels).to_have_count(len(months))


def test_launch_a_partition_refresh_and_watch_it_succeed(page, shop_ui: UIServer):
    from playwright.sync_api import expect

    page.goto(f"{shop_ui.url}#/launch?select=daily_revenue%2B&partitions=2025-03-01")
    expect(page.locator("table.plan")).to_contain_text("daily_revenue")
    expect(page.locator("table.plan")).to_contain_text("revenue_trend")
    page.click("#launch")
    expect(page).to_have_url(re.compile(r"#/runs/\d{8}T"))
    status = page.locator("#run-status .badge")
    expect(status).to_have_text(re.compile("queued|started"))  # the page opens on it running
    expect(status).to_have_text("success", timeout=120_000)  # and follows it to the end
    expect(page.locator("table.steps")).to_contain_text("revenue_trend")
    expect(page.locator(".logs")).to_contain_text("run_end")
    _shot(page, "run")
    run_id = page.url.rsplit("/", 1)[1]
    run = _api(shop_ui, f"runs/{run_id}")["run"]
    assert run["trigger"] == "ui" and run["partitions"] == ["2025-03-01"]

    page.goto(f"{shop_ui.url}#/runs")
    expect(page.locator("table.runs")).to_contain_text(run_id)
    _shot(page, "runs")


def test_a_failed_check_shows_on_the_asset_and_its_run(page, shop_ui: UIServer):
    from playwright.sync_api import expect

    check = shop_ui.root / "checks" / "assert_few_products.sql"
    check.write_text(
        "{{ config(severity='error') }}\n"
        "select * from {{ ref('product_performance') }} where 1 = 1  -- every row fails\n"
    )
    try:
        done = run_teal("build", "-s", "product_performance", cwd=shop_ui.root)
        assert done.returncode == 1, done.output
        page.goto(f"{shop_ui.url}#/asset/product_performance")  # the server re-reads the check
        row = page.locator("table.checks tr", has_text="assert_few_products")
        expect(row.locator(".badge")).to_have_text("fail")
        expect(row).to_contain_text("500")  # failing rows
        row.locator("a").click()
        expect(page.locator("#run-status .badge")).to_have_text("failure")
        expect(page.locator("table.run-checks")).to_contain_text("assert_few_products")
        expect(page.locator("#retry")).to_be_visible()
        _shot(page, "failed-check")
    finally:
        check.unlink()


def test_the_api_refuses_other_origins_and_bad_input(shop_ui: UIServer):
    def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{shop_ui.url}api/{path}", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    json_type = {"Content-Type": "application/json"}
    code, body = post("launch", b"{}", {**json_type, "Origin": "http://evil.example"})
    assert code == 403 and "refused" in body["error"]
    code, body = post("launch", b"select=marts", {"Content-Type": "text/plain"})
    assert code == 415
    code, body = post("launch", b'{"select": "nosuchmodel+"}', json_type)
    assert code == 400 and "nosuchmodel" in body["error"]
    code, body = post(
        "plan", b'{"select": "daily_revenue", "partitions": ["2025-13-45"]}', json_type
    )
    assert code == 400 and "2025-13-45" in body["error"]
    code, body = post("runs/nope/cancel", b"{}", json_type)
    assert code == 404 and body["error"] == "no run 'nope'"
    # a misspelt key would plan (and launch) everything; "false" as text is not false
    code, body = post("launch", b'{"selct": "daily_revenue+"}', json_type)
    assert code == 400 and body["error"] == "unknown key 'selct'"
    assert "did you mean 'select'" in body["hint"]
    code, body = post("plan", b'{"select": "daily_revenue", "full_refresh": "false"}', json_type)
    assert code == 400 and "'full_refresh' must be true or false" in body["error"]
    code, body = post("automation/schedule/nightly/pause", b'{"paused": "false"}', json_type)
    assert code == 400 and "'paused' must be true or false" in body["error"]
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{shop_ui.url}api/assets/%2E%2E%2Fsecrets")
    assert info.value.code == 404 and "Traceback" not in info.value.read().decode()
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{shop_ui.url}static/../../pyproject.toml")
    assert missing.value.code == 404


def test_automation_page_pauses_a_schedule(page, shop_ui: UIServer):
    from playwright.sync_api import expect

    page.goto(f"{shop_ui.url}#/automation")
    row = page.locator("tr", has_text="web_events_hourly")
    expect(row).to_contain_text("15 * * * *")
    row.locator("button", has_text="Pause").click()
    expect(page.locator("tr", has_text="web_events_hourly").locator("button")).to_have_text(
        "Resume"
    )
    found = {s["name"]: s["paused"] for s in _api(shop_ui, "automation")["schedules"]}
    assert found == {"nightly": False, "web_events_hourly": True}
    _shot(page, "automation")
    page.locator("tr", has_text="web_events_hourly").locator("button").click()
    expect(page.locator("tr", has_text="web_events_hourly").locator("button")).to_have_text("Pause")


def test_automation_page_follows_a_pause_from_the_command_line(page, shop_ui: UIServer):
    from playwright.sync_api import expect

    page.goto(f"{shop_ui.url}#/automation")
    row = page.locator("tr", has_text="nightly")
    expect(row.locator("button")).to_have_text("Pause")
    paused = run_teal("schedules", "pause", "nightly", cwd=shop_ui.root)
    assert paused.returncode == 0, paused.output
    try:  # no reload: the page polls the store
        expect(row.locator("td.state")).to_have_text("paused", timeout=15_000)
        expect(row.locator("button")).to_have_text("Resume")
    finally:
        run_teal("schedules", "resume", "nightly", cwd=shop_ui.root)


def test_the_server_picks_up_an_edited_model(page, shop_ui: UIServer):
    from playwright.sync_api import expect

    model = shop_ui.root / "models" / "marts" / "orders_per_region.sql"
    # a request just before the edit: the new model must not wait out the server's
    # once-a-second look at the files
    _api(shop_ui, "graph")
    model.write_text("select region, count(*) as orders from {{ ref('int_orders') }} group by 1\n")
    try:
        page.goto(f"{shop_ui.url}#/asset/orders_per_region")
        expect(page.locator("main h1")).to_contain_text("orders_per_region")
        expect(page.locator("main h1 .badge")).to_have_text("never built")
    finally:
        model.unlink()


def test_screenshots_exist_for_the_readme():
    """The README shows docs/screenshots/; each of them is one the tests take."""
    shown = set(re.findall(r"docs/screenshots/([\w-]+)\.png", (REPO / "README.md").read_text()))
    assert shown, "README.md shows no screenshot"
    for name in shown:
        assert (REPO / "docs" / "screenshots" / f"{name}.png").is_file(), name
    assert shown <= {"graph", "asset", "partitions", "run", "runs", "failed-check", "automation"}


def test_static_files_are_vendored():
    static = REPO / "runtime" / "ui" / "static"
    index = (static / "index.html").read_text()
    assert "http" not in re.sub(r'href="#[^"]*"', "", index).replace("http-equiv", "")
    assert (static / "vendor" / "dagre.min.js").stat().st_size > 50_000
    assert (static / "vendor" / "dagre.LICENSE").is_file()
    scripts = {f.name: f.read_text() for f in static.glob("*.js")}
    assert {name for name, text in scripts.items() if "fetch(" in text} == {"core.js"}
    assert scripts["core.js"].count("fetch(") == 1  # one API client
    for name, text in scripts.items():  # a module per page, none large
        assert len(text.splitlines()) <= 300, name


def test_a_partition_range_is_a_backfill(shop_ui: UIServer):
    request = urllib.request.Request(
        f"{shop_ui.url}api/plan",
        data=json.dumps(
            {"select": "daily_revenue", "partitions": ["2025-03-01..2025-03-03"]}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        plan = json.loads(response.read())
    assert [s["model"] for s in plan["steps"]] == ["daily_revenue"]
    assert plan["steps"][0]["partitions"] == ["2025-03-01", "2025-03-02", "2025-03-03"]


def test_beyond_loopback_every_request_needs_the_token(tmp_path: Path):
    from tests.ui.conftest import start_ui, stop_ui

    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "p"\n')
    (root / "models" / "a.sql").write_text("select 1 as x")
    server = start_ui(root, "--host", "0.0.0.0")
    try:
        assert "?token=" in server.url
        token = server.url.split("?token=")[1]
        port = server.url.split(":")[2].split("/")[0]
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/project")
        assert info.value.code == 401 and "token" in json.loads(info.value.read())["error"]
        asked = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/project", headers={"X-Teal-Token": token}
        )
        with urllib.request.urlopen(asked) as response:
            assert json.loads(response.read())["models"] == 1
    finally:
        stop_ui(server)
