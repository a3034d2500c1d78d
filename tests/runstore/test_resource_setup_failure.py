"""A resource whose ``setup()`` raises fails the run before any step: the error names the
line that declares the resource and shows where in the project's code setup raised (as a
failing asset's error does), and ``teal logs`` shows the run's end with that reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_teal, write_project

pytestmark = pytest.mark.slow

RESOURCES_PY = """
import teal


def connect(url):
    raise ConnectionError(f"cannot reach {url}")


class Api(teal.Resource):
    url: str

    def setup(self) -> None:
        self._client = connect(self.url)


resources = {
    "api": Api(url="https://api.example"),
}
"""

MODEL = """
import pyarrow as pa
import teal


@teal.asset
def fetched(api) -> pa.Table:
    return pa.table({"x": [1]})
"""


def test_a_failing_setup_shows_where_it_raised_and_ends_the_runs_log(tmp_path: Path):
    root = write_project(tmp_path / "proj", {"resources.py": RESOURCES_PY, "models/m.py": MODEL})
    built = run_teal("build", cwd=root)
    assert built.returncode == 1, built.output
    assert "Traceback" not in built.output
    reason = (
        "setup of resource 'api' (Api) raised ConnectionError: cannot reach https://api.example"
    )
    assert f"resources.py:16:5: {reason}" in built.stderr  # the line declaring it
    frames = "  at resources.py:12 in setup\n      self._client = connect(self.url)\n"
    frames += "  at resources.py:5 in connect\n"
    assert frames in built.stderr

    shown = run_teal("runs", "show", "last", cwd=root)
    assert reason in shown.stdout and frames in shown.stdout
    logs = run_teal("logs", "last", cwd=root)
    last = [line for line in logs.stdout.splitlines() if "run_end" in line]
    assert len(last) == 1 and f"failure: resources.py:16: {reason}" in last[0], logs.stdout
