"""Running a run again from the UI, over real HTTP: Re-execute all queues the whole run
again with its selection, partitions and settings (vars, run config, job and tags), linked
to it; a run's page lists the runs that ran it again (its retries and re-executions)."""

from __future__ import annotations

import pytest

from teal.runtime.launch import launch_queued
from tests.conftest import run_teal
from tests.ui.test_ui_api import call, refused, ui_server
from tests.ui.test_ui_launchpad import project, queued_only, value


@pytest.mark.slow
def test_re_execute_all_runs_the_whole_run_again_with_its_settings(tmp_path):
    root = project(tmp_path)
    with ui_server(root) as (url, app):
        queued_only(app)
        body = {"job": "usd", "vars": "{extra: 1}", "run_config": "counted: {days: 5}"}
        first = call(url, "launch", body)["run_id"]
        found = refused(url, f"runs/{first}/reexecute", {})  # not before it ends
        assert found["error"] == f"run {first} is queued"
        launch_queued(root, first)

        again = call(url, f"runs/{first}/reexecute", {})["run_id"]
        run = call(url, f"runs/{again}")["run"]
        was = call(url, f"runs/{first}")["run"]
        assert run["parent_run_id"] == first and run["trigger"] == "ui"
        assert run["selection"] == was["selection"] == ["priced"]
        for key in ("vars", "run_config", "job", "tags", "full_refresh", "missing_only"):
            assert run["config"][key] == was["config"][key], key
        assert run["config"]["only_models"] is None  # every step, not what did not finish
        assert run["started_by"] == "ui, job usd"
        assert call(url, f"runs/{first}")["children"] == [
            {"run_id": again, "trigger": "ui", "status": "queued"}
        ]
        launch_queued(root, again)
        assert call(url, f"runs/{again}")["run"]["status"] == "success"
        assert value(root, "select currency from main.priced") == "USD"
        shown = run_teal("runs", "show", again, cwd=root)
        assert f"rerun of   {first}" in shown.output


@pytest.mark.slow
def test_a_run_page_lists_its_retries(tmp_path):
    root = project(tmp_path)
    (root / "models" / "broken.sql").write_text(
        "{{ config(materialized='table') }}\nselect error('boom') as x"
    )
    with ui_server(root) as (url, app):
        queued_only(app)
        first = call(url, "launch", {"select": "priced broken"})["run_id"]
        launch_queued(root, first)
        assert call(url, f"runs/{first}")["run"]["status"] == "failure"
        retry = call(url, f"runs/{first}/retry", {})["run_id"]
        again = call(url, f"runs/{first}/reexecute", {})["run_id"]
        children = call(url, f"runs/{first}")["children"]
        assert [(c["run_id"], c["trigger"]) for c in children] == [
            (again, "ui"),
            (retry, "retry"),
        ]
        retried = call(url, f"runs/{retry}")["run"]
        assert retried["parent_run_id"] == first and retried["config"]["only_models"] == ["broken"]
        assert call(url, f"runs/{again}")["run"]["config"]["only_models"] is None


@pytest.mark.slow
def test_retry_what_did_not_finish_keeps_the_job_and_its_tags(tmp_path):
    """As Re-execute all does: a run-status sensor of the job sees the retry."""
    root = project(tmp_path)
    (root / "models" / "priced.sql").write_text(
        "{{ config(materialized='table') }}\nselect error('no prices') as currency"
    )
    with ui_server(root) as (url, app):
        queued_only(app)
        first = call(url, "launch", {"job": "usd"})["run_id"]
        launch_queued(root, first)
        assert call(url, f"runs/{first}")["run"]["status"] == "failure"
        retry = call(url, f"runs/{first}/retry", {})["run_id"]
        run = call(url, f"runs/{retry}")["run"]
        assert run["trigger"] == "retry" and run["config"]["only_models"] == ["priced"]
        assert run["config"]["job"] == "usd" and run["config"]["tags"] == ["team:finance"]
        assert run["started_by"] == "retry, job usd"
