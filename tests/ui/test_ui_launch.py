"""Runs the UI starts (``POST /api/launch``) as ``teal launch`` children of the server:
a child that dies is reaped at once, so its run is found crashed (an in-process server
over real HTTP)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from teal.runtime.ui.server import UIApp, serve

pytestmark = pytest.mark.slow

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


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_launched_run_whose_process_is_killed_is_found_crashed(tmp_path):
    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "p"\n')
    (root / "models" / "slow_py.py").write_text(SLOW_PY)
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
