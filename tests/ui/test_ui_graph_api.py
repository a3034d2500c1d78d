"""What the asset graph asks the API besides the graph, over real HTTP: every model's
status (polled, so a build from the command line shows without a reload) and an asset's
last materialization and last error (its side panel)."""

from __future__ import annotations

import pytest

from tests.conftest import run_teal
from tests.ui.test_ui_api import call, small_project, ui_server

TABLE = "{{ config(materialized='table') }}\n"


@pytest.mark.slow
def test_statuses_and_the_last_error_follow_builds_from_the_command_line(tmp_path, monkeypatch):
    from teal.runtime.ui import project_view

    monkeypatch.setattr(project_view, "CHANGE_CHECK_S", 0.0)  # every request looks
    root = small_project(
        tmp_path / "p",
        {"a.sql": TABLE + "select 1 as x", "b.sql": TABLE + "select x from a"},
    )
    with ui_server(root) as (url, _):
        polled = call(url, "statuses")
        assert polled["statuses"] == {"a": "never built", "b": "never built"}
        assert polled["version"] == call(url, "graph")["version"]
        assert call(url, "assets/a/latest") == {
            "materialization": None,
            "error": None,
            "freshness": None,  # no freshness policy
        }

        assert run_teal("build", cwd=root).returncode == 0
        assert call(url, "statuses")["statuses"] == {"a": "fresh", "b": "fresh"}
        first_version = call(url, "statuses")["version"]
        first = call(url, "assets/b/latest")
        assert first["error"] is None and first["materialization"]["rows"] == 1
        built_by = first["materialization"]["run_id"]
        assert len(first["materialization"]["at"]) == 19  # to the second

        (root / "models" / "b.sql").write_text(TABLE + "select x, error('boom: ' || x) as y from a")
        assert run_teal("build", "-s", "b", cwd=root).returncode == 1
        polled = call(url, "statuses")
        assert polled["statuses"] == {"a": "fresh", "b": "failed"}
        assert polled["version"] != first_version  # the page draws the graph again
        failed = call(url, "assets/b/latest")
        assert failed["materialization"]["run_id"] == built_by  # the last one that built it
        error = failed["error"]
        assert error["run_id"] != built_by and "boom: 1" in error["message"]
        assert error["failed"] == 1 and error["partition"] is None

        # a run that skipped it (its upstream failed) leaves the error standing
        (root / "models" / "a.sql").write_text(TABLE + "select error('a broke') as x")
        assert run_teal("build", cwd=root).returncode == 1
        assert call(url, "assets/b/latest")["error"]["run_id"] == error["run_id"]
        assert "a broke" in call(url, "assets/a/latest")["error"]["message"]

        (root / "models" / "a.sql").write_text(TABLE + "select 1 as x")
        (root / "models" / "b.sql").write_text(TABLE + "select x from a")
        assert run_teal("build", cwd=root).returncode == 0
        assert call(url, "assets/b/latest")["error"] is None
        assert call(url, "statuses")["statuses"] == {"a": "fresh", "b": "fresh"}


@pytest.mark.slow
def test_a_failed_error_check_is_the_last_error(tmp_path):
    root = small_project(tmp_path / "p", {"a.sql": TABLE + "select 1 as x"})
    (root / "models" / "a.yml").write_text(
        "models:\n  - name: a\n    columns:\n      - name: x\n"
        "        tests: [{accepted_values: {values: [2]}}]\n"
    )
    with ui_server(root) as (url, _):
        assert run_teal("build", cwd=root).returncode == 1
        error = call(url, "assets/a/latest")["error"]
        assert error["message"].startswith("check accepted_values_a_x") and error["failed"] == 1
        assert call(url, "statuses")["statuses"] == {"a": "failed"}


@pytest.mark.slow
def test_a_sources_facts_follow_its_files(tmp_path):
    """`/api/sources/KEY` (the graph's side panel of a source): a file landing in a
    globbed source's folder shows at once; an unknown source is refused, naming the
    closest."""
    from tests.ui.test_ui_api import refused

    root = small_project(tmp_path / "p", {"a.sql": "select count(*) as n from raw.orders"})
    (root / "models" / "sources.yml").write_text(
        "sources:\n  - name: raw\n    type: csv\n    path: ../data/*.csv\n"
        "    tables:\n      - name: orders\n        description: landed orders\n"
    )
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_text("id\n1\n")
    with ui_server(root) as (url, _):
        facts = call(url, "sources/raw.orders")
        assert facts["description"] == "landed orders" and facts["read_by"] == ["a"]
        assert facts["files"]["count"] == 1 and facts["files"]["bytes"] == 5
        (root / "data" / "b.csv").write_text("id\n2\n3\n")
        assert call(url, "sources/raw.orders")["files"]["count"] == 2
        error = refused(url, "sources/raw.ordres", code=404)
        assert "no source table 'raw.ordres'" in error["error"]
        assert "raw.orders" in error.get("hint", "")
        error = refused(url, "assets/aa", code=404)  # a model that does not exist: 404
        assert error["error"] == "no model named 'aa'" and "'a'" in error["hint"]
        assert refused(url, "runs/nope", code=404)["error"] == "no run 'nope'"


@pytest.mark.slow
def test_a_declared_group_boxes_the_asset_in_the_graph(tmp_path):
    # the node's group was its folder: @teal.asset(group="api") was selectable as
    # group:api but drawn in the box of its folder
    python = (
        "import pyarrow as pa\nimport teal\n\n\n"
        '@teal.asset(group="api")\ndef fetched():\n    return pa.table({"x": [1]})\n'
    )
    root = small_project(tmp_path / "p", {"a.sql": "select 1 as x"})
    (root / "models" / "ingest").mkdir()
    (root / "models" / "ingest" / "fetched.py").write_text(python)
    (root / "models" / "ingest" / "b.sql").write_text("select x from fetched")
    with ui_server(root) as (url, _):
        nodes = {n["id"]: n for n in call(url, "graph")["nodes"]}
        assert (nodes["fetched"]["group"], nodes["fetched"]["folder"]) == ("api", "ingest")
        assert nodes["fetched"]["group_selector"] == "group:api"
        assert (nodes["b"]["group"], nodes["b"]["group_selector"]) == ("ingest", "ingest")
        assert (nodes["a"]["group"], nodes["a"]["group_selector"]) == ("(top)", "")
        assert call(url, "graph?select=group:api")["selected"] == ["fetched"]
        asset = call(url, "assets/fetched")
        assert (asset["group"], asset["folder"]) == ("api", "ingest")
