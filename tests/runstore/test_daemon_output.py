"""The daemon's output is a log an operator reads after the fact (journald, ``docker
logs``, a redirected file): every line says when it was written, and a launched run's end
says how it ended and where its events and output are, not only an exit code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_teal, write_project

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ ")


@pytest.mark.slow
def test_a_launched_runs_end_says_how_it_ended_and_every_line_is_timestamped(tmp_path: Path):
    root = write_project(
        tmp_path / "proj",
        {"models/bad.sql": "{{ config(materialized='table') }}\nselect cast('x' as integer) as n"},
        config='name = "p"\n[sensors.landing]\nfiles = "landing/*.csv"\nselect = "bad"\n',
    )
    (root / "landing").mkdir()
    assert run_teal("daemon", "--once", cwd=root).returncode == 0  # the sensor is first seen
    (root / "landing" / "feed.csv").write_text("x\n")
    launched = run_teal("daemon", "--once", cwd=root)
    assert launched.returncode == 1, launched.output
    lines = launched.stdout.splitlines()
    assert lines and all(STAMP.match(line) for line in lines), launched.stdout
    [end] = [line for line in lines if "ended with exit code 1" in line]
    run_id = re.search(r"run (\S+) ended", end).group(1)  # type: ignore[union-attr]
    assert ": failure (0 built, 1 failed, 0 skipped);" in end
    assert f"`teal logs {run_id}`, its output in .teal/logs/{run_id}.log" in end
    assert "Conversion Error" in (root / ".teal" / "logs" / f"{run_id}.log").read_text()
