"""What the daemon decided, from the command line: `teal ticks` lists the recent ticks of
the schedules and sensors, and `teal sensors` / `teal schedules` say how each one's last
tick went, so a sensor failing every tick shows without the UI. The real daemon ticks
(`teal daemon --once`) on a clock the test sets (TEAL_NOW)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_teal

TOML = """
name = "ticking"
threads = 2

[schedules.daily]
select = "a"
cron = "30 0 * * *"
"""

FAILING = """
import teal

@teal.sensor(select="a")
def api(context):
    raise ConnectionError("the API is down")
"""


def _ticking(project) -> Path:
    root = project({"models/a.sql": "select 1 as id", "sensors/api.py": FAILING}, config=TOML)
    for now in ("2026-03-10T00:10:00", "2026-03-10T00:31:00"):  # the schedule's 00:30 between
        done = run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": now})
        assert done.returncode == 0, done.output
    return root


def _ticks(root: Path, *args: str) -> list[tuple[str, str, str]]:
    done = run_teal("ticks", "--json", *args, cwd=root)
    assert done.returncode == 0, done.output
    return [(t["tick_at"][11:16], t["source"], t["status"]) for t in json.loads(done.stdout)]


@pytest.mark.slow
def test_ticks_and_the_last_tick_of_each_schedule_and_sensor(project) -> None:
    root = _ticking(project)
    later = {"TEAL_NOW": "2026-03-10T00:33:00"}

    sensors = run_teal("sensors", cwd=root, env=later)
    assert sensors.returncode == 0, sensors.output
    failed = "on (last tick failed 2m ago: sensors/api.py:5: ConnectionError: the API is down)"
    assert failed in sensors.stdout
    [row] = json.loads(run_teal("sensors", "--json", cwd=root, env=later).stdout)
    assert row["last_tick"]["status"] == "failed"
    assert row["last_tick"]["tick_at"] == "2026-03-10T00:31:00+00:00"
    assert "ConnectionError: the API is down" in row["last_tick"]["message"]

    schedules = run_teal("schedules", cwd=root, env=later)
    assert re.search(r"daily .* requested a run 3m ago", schedules.stdout), schedules.stdout
    [row] = json.loads(run_teal("schedules", "--json", cwd=root, env=later).stdout)
    assert (row["last_tick"]["status"], row["last_tick"]["run_id"] is not None) == (
        "requested",
        True,
    )

    assert _ticks(root) == [
        ("00:31", "sensor:api", "failed"),
        ("00:30", "schedule:daily", "requested"),
        ("00:10", "sensor:api", "failed"),
    ]
    assert _ticks(root, "api", "--limit", "1") == [("00:31", "sensor:api", "failed")]
    assert _ticks(root, "--status", "success") == [("00:30", "schedule:daily", "requested")]
    assert _ticks(root, "sensor:api", "--status", "failed") == [
        ("00:31", "sensor:api", "failed"),
        ("00:10", "sensor:api", "failed"),
    ]
    listed = run_teal("ticks", cwd=root).stdout
    assert "sensor:api" in listed and "ConnectionError: the API is down" in listed
    assert "3 ticks" in listed
    none = run_teal("ticks", "daily", "--status", "skipped", cwd=root)
    assert none.returncode == 0
    assert "No ticks recorded of daily with status skipped" in none.stdout

    typo = run_teal("ticks", "dialy", cwd=root)
    assert typo.returncode == 2
    assert "NAME: no schedule or sensor 'dialy'" in typo.stderr
    assert "did you mean 'daily'?" in typo.stderr
    assert "Traceback" not in typo.stderr


@pytest.mark.slow
def test_ticks_before_any_daemon_ran_are_none_and_no_store_is_made(project) -> None:
    root = project({"models/a.sql": "select 1 as id"}, config=TOML)
    done = run_teal("ticks", "daily", cwd=root)
    assert done.returncode == 0, done.output
    assert "No ticks recorded of daily" in done.stdout
    assert "last tick" not in run_teal("schedules", cwd=root).stdout.splitlines()[-1]
    assert not (root / ".teal" / "runs.sqlite").exists()
    typo = run_teal("ticks", "dialy", cwd=root)
    assert typo.returncode == 2 and "did you mean 'daily'?" in typo.stderr
