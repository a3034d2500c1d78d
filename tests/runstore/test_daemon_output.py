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


@pytest.mark.slow
def test_ticks_missed_while_no_daemon_ran_are_one_line_not_one_each(tmp_path: Path):
    # a minutely schedule whose daemon was down 3 hours: 179 ticks are recorded skipped
    # and the latest runs; the daemon printed a line for each skipped one
    root = write_project(
        tmp_path / "proj",
        {"models/m.sql": "select 1 as n"},
        config='name = "p"\n[schedules.often]\ncron = "* * * * *"\n',
    )
    first = run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-10T00:00:30"})
    assert first.returncode == 0, first.output  # first seen: its ticks start here
    later = run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-10T03:00:30"})
    assert later.returncode == 0, later.output
    lines = later.stdout.splitlines()
    skipped = [line for line in lines if "ticks skipped" in line or ": skipped" in line]
    assert len(skipped) == 1, later.stdout
    assert skipped[0].endswith(
        "schedule:often 2026-03-10 00:01:00..2026-03-10 02:59:00: 179 ticks skipped "
        "(missed: no daemon ran at that time (catchup = latest))"
    ), skipped[0]
    assert any("schedule:often 2026-03-10 03:00:00: queued run" in line for line in lines)
    assert all(STAMP.match(line) for line in lines), later.stdout
