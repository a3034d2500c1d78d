"""The UI's API over real HTTP, from a server in this process: a project whose files do
not load is the same error at every request (never the last good project), and planning
or launching is refused until they load; a ``teal launch`` child the server started that
dies is reaped at once, so its run is found crashed."""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from teal.runtime.ui.server import UIApp, serve
from tests.conftest import spawn_teal, wait_for

SLOW_PY = """
import time

import teal


@teal.asset
def slow_py() -> dict:
    time.sleep(120)
    return {"x": [1]}
"""


@contextmanager
def ui_server(root: Path) -> Iterator[tuple[str, UIApp]]:
    server, app, url = serve(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, app
    finally:
        server.shutdown()
        server.server_close()
        for run in app.session.run_store().runs(limit=100):
            if run.pid is not None and run.pid != os.getpid() and not run.status.finished:
                os.kill(run.pid, signal.SIGKILL)  # a launched process the test left
        app.session.close()


def call(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}api/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def refused(
    url: str, path: str, body: dict[str, Any] | None = None, code: int = 400
) -> dict[str, Any]:
    """The error body of a request that must fail with ``code`` (400: a mistake in it;
    404: it names a model, source table or run that does not exist)."""
    with pytest.raises(urllib.error.HTTPError) as info:
        call(url, path, body)
    assert info.value.code == code
    found: dict[str, Any] = json.loads(info.value.read())
    return found


def small_project(root: Path, files: dict[str, str]) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "p"\n')
    for name, text in files.items():
        (root / "models" / name).write_text(text)
    return root


@pytest.mark.slow
def test_a_project_that_does_not_load_is_the_same_error_everywhere_until_fixed(
    tmp_path, monkeypatch
):
    from teal.runtime.ui import project_view

    monkeypatch.setattr(project_view, "CHANGE_CHECK_S", 0.0)  # every request looks
    root = small_project(tmp_path / "p", {"a.sql": "select 1 as x", "gone.sql": "select x from a"})
    with ui_server(root) as (url, _):
        assert call(url, "project")["models"] == 2
        (root / "models" / "gone.sql").unlink()
        (root / "models" / "broken.sql").write_text("select * from not_a_model")
        for _ in range(3):  # not the error, then the last good project: the error each time
            for path in ("project", "graph", "assets/a"):
                found = refused(url, path)
                assert found["error"] == "'not_a_model' is not a model or a declared source"
                assert found["where"] == "models/broken.sql:1:15"
        for path in ("plan", "launch"):  # nothing planned on stale definitions
            found = refused(url, path, {"select": "a"})
            assert found["where"] == "models/broken.sql:1:15", path
        assert call(url, "runs") == []  # what needs no project still works
        assert "schedules" in call(url, "automation")

        (root / "models" / "broken.sql").write_text("select x from a")
        assert call(url, "project")["models"] == 2  # a and broken; gone is gone
        assert {n["id"] for n in call(url, "graph")["nodes"]} == {"a", "broken"}
        assert [s["model"] for s in call(url, "plan", {"select": "a"})["steps"]] == ["a"]


@pytest.mark.slow
def test_a_launched_run_whose_process_is_killed_is_found_crashed(tmp_path):
    root = small_project(tmp_path / "p", {"slow_py.py": SLOW_PY})
    with ui_server(root) as (url, app):
        run_id = call(url, "launch", {"select": "slow_py"})["run_id"]

        def status() -> str:
            return str(call(url, f"runs/{run_id}")["run"]["status"])

        wait_for(lambda: status() == "started", "the launched process to claim its run")
        claimed = app.session.run_store().run(run_id)
        assert claimed is not None and claimed.pid is not None
        os.kill(claimed.pid, signal.SIGKILL)  # the `teal launch` child, killed
        wait_for(lambda: status() == "crashed", "the killed run to be found crashed", 15)
        run = call(url, f"runs/{run_id}")["run"]
        assert run["message"].startswith("the process running it ended without finishing it")


GATED_PY = """
import pyarrow as pa
import teal


@teal.asset
def gated():
    with open("gate") as gate:  # waits until someone writes to the pipe, or for its kill
        gate.read()
    return pa.table({"x": [1]})
"""


@pytest.mark.slow
def test_a_build_started_by_hand_and_killed_is_shown_crashed_by_a_running_ui(tmp_path):
    root = small_project(tmp_path / "p", {"gated.py": GATED_PY})
    os.mkfifo(root / "gate")
    with ui_server(root) as (url, _):
        assert call(url, "runs") == []  # the UI's store is open before the build starts
        build = spawn_teal("build", cwd=root)
        try:
            wait_for(lambda: len(call(url, "runs")) == 1, "the hand build's run")
            [run] = call(url, "runs")
            assert run["status"] == "started"
            build.kill()  # SIGKILL: nothing of the build records its end
            build.wait(timeout=60)
        finally:
            build.kill()

        def statuses() -> tuple[str, str]:
            [listed] = call(url, "runs")
            return listed["status"], call(url, f"runs/{run['run_id']}")["run"]["status"]

        wait_for(lambda: statuses() == ("crashed", "crashed"), "the killed run shown crashed", 15)


@pytest.mark.slow
def test_a_paused_schedule_has_no_next_tick(tmp_path):
    root = small_project(tmp_path / "p", {"a.sql": "select 1 as x"})
    (root / "teal.toml").write_text(
        'name = "p"\n[schedules.hourly]\nselect = "a"\ncron = "0 * * * *"\n'
    )
    with ui_server(root) as (url, _):
        [row] = call(url, "automation")["schedules"]
        assert row["next_tick"] is not None and row["paused"] is False
        call(url, "automation/schedule/hourly/pause", {"paused": True})
        [row] = call(url, "automation")["schedules"]
        assert row["next_tick"] is None and row["paused"] is True


@pytest.mark.slow
def test_the_automation_conditions_evaluator_is_listed_and_paused_as_a_sensor(tmp_path):
    files = {"a.sql": "{{ config(automation_condition='eager') }} select 1 as x"}
    root = small_project(tmp_path / "p", files)
    with ui_server(root) as (url, _):
        [row] = call(url, "automation")["sensors"]
        assert row["name"] == "automation_conditions" and row["paused"] is False
        assert row["watches"] == "the automation conditions of a (`teal automation`)"
        call(url, "automation/sensor/automation_conditions/pause", {"paused": True})
        [row] = call(url, "automation")["sensors"]
        assert row["paused"] is True


@pytest.mark.slow
def test_the_favicon_is_served(tmp_path):
    root = small_project(tmp_path / "p", {"a.sql": "select 1 as x"})
    with ui_server(root) as (url, _):
        for path in ("favicon.ico", "static/favicon.svg"):  # browsers ask for the first
            with urllib.request.urlopen(f"{url}{path}", timeout=30) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "image/svg+xml"
                assert response.read().startswith(b"<svg")


@pytest.mark.slow
def test_a_failed_check_since_removed_does_not_leave_its_asset_failed(tmp_path, monkeypatch):
    from teal.runtime.ui import project_view
    from tests.conftest import run_teal

    monkeypatch.setattr(project_view, "CHANGE_CHECK_S", 0.0)  # every request looks
    root = small_project(tmp_path / "p", {"a.sql": "select 1 as x"})
    check = root / "models" / "a.yml"
    check.write_text(
        "models:\n  - name: a\n    columns:\n      - name: x\n"
        "        tests: [{accepted_values: {values: [2]}}]\n"
    )
    with ui_server(root) as (url, _):
        assert run_teal("build", cwd=root).returncode == 1

        def status() -> str:
            return str(call(url, "graph")["nodes"][0]["status"])

        assert status() == "failed"
        check.unlink()  # as the planner, which no longer blocks what reads it
        assert run_teal("build", cwd=root).returncode == 0
        assert status() == "fresh"


@pytest.mark.slow
def test_a_check_added_just_before_shows_on_its_asset_page(tmp_path):
    root = small_project(tmp_path / "p", {"a.sql": "select 1 as x"})
    (root / "checks").mkdir()
    with ui_server(root) as (url, _):
        assert call(url, "assets/a")["checks"] == []
        # within the server's once-a-second look at the files
        (root / "checks" / "no_big_x.sql").write_text("select * from a where x > 10\n")
        assert [c["name"] for c in call(url, "assets/a")["checks"]] == ["no_big_x"]


@pytest.mark.slow
def test_a_store_a_newer_teal_migrated_meanwhile_gets_no_write(tmp_path):
    # teal upgraded in place: what the server launches runs the new teal, which migrates
    # the store; this server's writes are of the schema it knew
    import sqlite3

    from teal.runtime.runstore.schema import LATEST

    root = small_project(tmp_path / "p", {"a.sql": "select 1 as x"})
    with ui_server(root) as (url, _):
        assert call(url, "runs") == []  # the store is open, at this teal's version
        with sqlite3.connect(root / ".teal" / "runs.sqlite") as store:
            store.execute(
                "INSERT INTO teal_schema_version VALUES (?, 'from a newer teal', '2027-01-01')",
                (LATEST + 1,),
            )
        for path in ("launch", "automation/schedule/nightly/pause"):
            with pytest.raises(urllib.error.HTTPError) as info:
                call(url, path, {"select": "a"} if path == "launch" else {})
            assert info.value.code == 409, path
            found = json.loads(info.value.read())
            assert f"migrated to schema version {LATEST + 1} by a newer teal" in found["error"]
            assert found["hint"] == "start teal ui again with the newer teal"
        assert [s["model"] for s in call(url, "plan", {"select": "a"})["steps"]] == ["a"]
        assert call(url, "runs") == []  # nothing queued
