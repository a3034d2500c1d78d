"""The Launch page's API over real HTTP: a launch of a job, with vars, run config and only
missing partitions is planned as it will run, refused (located, nothing queued) where
`teal build` would refuse it, and queued carrying what it asked for; carried out by
`teal launch RUN`, the run builds with them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from teal.runtime.launch import launch_queued
from tests.ui.test_ui_api import call, refused, small_project, ui_server

COUNTED_PY = """
import pyarrow as pa

import teal


class Days(teal.Config):
    days: int = 3
    label: str = "x"


@teal.asset
def counted(config: Days) -> pa.Table:
    return pa.table({"days": [config.days]})
"""

PROJECT_TOML = """name = "p"
[jobs.usd]
select = "priced"
vars = {currency = "USD"}
tags = ["team:finance"]
description = "prices in dollars"
"""


def project(tmp_path: Path) -> Path:
    root = small_project(
        tmp_path / "p",
        {
            "priced.sql": 'select \'{{ var("currency", "EUR") }}\' as currency',
            "counted.py": COUNTED_PY,
        },
    )
    (root / "teal.toml").write_text(PROJECT_TOML)
    return root


def queued_only(app: Any) -> list[str]:
    """Runs are queued, not started: the test carries them out itself."""
    started: list[str] = []
    app._start = started.append
    return started


def value(root: Path, sql: str) -> object:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        row = con.execute(sql).fetchone()
    return row[0] if row else None


@pytest.mark.slow
def test_a_job_launch_carries_its_selection_vars_and_tags_and_builds_with_them(tmp_path):
    root = project(tmp_path)
    with ui_server(root) as (url, app):
        [job] = call(url, "jobs")
        assert job["select"] == ["priced"] and job["vars"] == {"currency": "USD"}
        assert job["tags"] == ["team:finance"] and job["description"] == "prices in dollars"

        plan = call(url, "plan", {"job": "usd", "vars": "{extra: 1}"})
        assert [s["model"] for s in plan["steps"]] == ["priced"]
        assert plan["launch"]["select"] == ["priced"]
        assert plan["launch"]["vars"] == {"currency": "USD", "extra": 1}  # laid over the job's
        assert plan["launch"]["job"] == "usd" and plan["launch"]["tags"] == ["team:finance"]

        queued_only(app)
        run_id = call(url, "launch", {"job": "usd", "vars": "{extra: 1}"})["run_id"]
        run = call(url, f"runs/{run_id}")["run"]
        assert run["selection"] == ["priced"] and run["status"] == "queued"
        assert run["started_by"] == "ui, job usd"
        assert run["config"]["vars"] == {"currency": "USD", "extra": 1}
        assert run["config"]["tags"] == ["team:finance"]

        launch_queued(root, run_id)  # what `teal launch RUN` does
        assert call(url, f"runs/{run_id}")["run"]["status"] == "success"
        assert value(root, "select currency from main.priced") == "USD"


@pytest.mark.slow
def test_run_config_is_checked_against_the_planned_models_and_carried_by_the_run(tmp_path):
    root = project(tmp_path)
    with ui_server(root) as (url, app):
        plan = call(url, "plan", {"select": "counted", "run_config": "counted:\n  days: 5\n"})
        assert [s["model"] for s in plan["steps"]] == ["counted"]
        assert plan["config_fields"] == {
            "counted": [
                {"name": "days", "type": "int", "default": 3, "required": False},
                {"name": "label", "type": "str", "default": "x", "required": False},
            ]
        }
        queued_only(app)
        run_id = call(url, "launch", {"select": "counted", "run_config": {"counted": {"days": 5}}})[
            "run_id"
        ]
        assert call(url, f"runs/{run_id}")["run"]["config"]["run_config"] == {
            "counted": {"days": 5}
        }
        launch_queued(root, run_id)
        assert value(root, "select days from main.counted") == 5

        # an entry of a model the run does not build: planned, and said to be unused
        plan = call(url, "plan", {"select": "priced", "run_config": "counted: {days: 2}"})
        assert plan["warnings"] == [
            "run config:1:1: run config for 'counted', which this run does not build: "
            "it is not used"
        ]


@pytest.mark.slow
def test_a_bad_launch_is_refused_located_and_nothing_is_queued(tmp_path):
    root = project(tmp_path)
    with ui_server(root) as (url, app):
        queued_only(app)
        for path in ("plan", "launch"):
            found = refused(url, path, {"select": "counted", "run_config": "counted:\n  dayz: 5"})
            assert found["where"] == "run config:2:3"
            assert "field 'dayz'" in found["error"] and "did you mean 'days'" in found["hint"]
        found = refused(url, "launch", {"select": "counted", "run_config": "counted: {days: many}"})
        assert found["where"] == "run config:1:17" and "field 'days'" in found["error"]
        found = refused(url, "launch", {"run_config": "countd:\n  days: 1"})
        assert found["where"] == "run config:1:1" and "did you mean 'counted'" in found["hint"]
        found = refused(url, "launch", {"run_config": "counted: 5"})
        assert found["error"] == "run config must map model names to their fields"
        found = refused(url, "launch", {"vars": "currency: USD\nn: a: b"})
        assert found["where"] == "vars:2:5" and "not valid YAML/JSON" in found["error"]
        found = refused(url, "launch", {"vars": "[1, 2]"})
        assert "must be a mapping of names to values" in found["error"]
        found = refused(url, "launch", {"job": "usdd"})
        assert found["error"] == "unknown job 'usdd'" and "did you mean 'usd'" in found["hint"]
        found = refused(url, "launch", {"job": "usd", "select": "counted"})
        assert found["error"] == "use job or select, not both"
        found = refused(url, "launch", {"full_refresh": True, "missing_only": True})
        assert "contradict each other" in found["error"]
        found = refused(url, "launch", {"missing_only": "yes"})
        assert found["error"] == "'missing_only' must be true or false, got 'yes'"
        found = refused(url, "launch", {"run_confg": "{}"})
        assert found["error"] == "unknown key 'run_confg'" and "run_config" in found["hint"]
        assert app.session.run_store().runs(limit=10) == []
