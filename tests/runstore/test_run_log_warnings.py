"""What the project's load warns about (config that matches nothing, YAML describing a model
that does not exist) is in the run's log too, not only on the stderr of the process: a run
the daemon launched has no terminal anyone reads, and `teal logs` / the UI are where an
operator looks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_teal, write_project


@pytest.mark.slow
def test_a_load_warning_is_a_warning_line_of_the_run(tmp_path: Path):
    root = write_project(
        tmp_path / "proj",
        {"models/a.sql": "select 1 as x"},
        config='name = "p"\n\n[folders.nosuch]\nmaterialized = "table"\n',
    )
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    assert "[folders.nosuch] matches no folder" in built.stderr
    logs = run_teal("logs", "last", "--json", cwd=root)
    warned = [
        e["message"]
        for e in map(json.loads, logs.stdout.splitlines())
        if e["kind"] == "log" and e["level"] == "warning"
    ]
    assert len(warned) == 1 and warned[0].startswith("teal.toml:3:1: [folders.nosuch]"), warned
