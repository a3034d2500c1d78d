"""The output files of the runs the daemon and the UI launch (``.teal/logs/RUN.log``) are
kept as long as run history is (``run_retention``), not forever: a sensor launching a run a
minute left half a million files a year in the folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

from teal.runtime.daemon import open_daemon
from teal.runtime.run_logs import DAY_S, open_run_log
from tests.conftest import write_project


def _old_logs(folder: Path, ages_days: list[float]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    made = []
    for n, age in enumerate(ages_days):
        path = folder / f"run{n}.log"
        path.write_text("Building 1 model\n")
        os.utime(path, (now - age * DAY_S, now - age * DAY_S))
        made.append(path)
    return made


def test_a_launch_deletes_run_logs_past_the_run_retention(tmp_path: Path):
    folder = tmp_path / ".teal" / "logs"
    old, recent, newer, newest = _old_logs(folder, [40, 3, 2, 1])
    keep_me = folder / "notes.txt"  # not a run's log
    keep_me.write_text("mine")
    with open_run_log(tmp_path, "new", (30, 3)) as log:
        log.write(b"x")
    # older than 30 days, and past the newest 3 runs (this one among them)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["new.log", newer.name, newest.name, "notes.txt"]
    )
    assert not old.exists() and not recent.exists()


def test_the_daemon_launches_with_the_projects_run_retention(tmp_path: Path):
    root = write_project(
        tmp_path / "proj",
        {"models/a.sql": "select 1 as x"},
        config='name = "p"\nrun_retention = { days = 7, runs = 50 }\n',
    )
    daemon = open_daemon(root)
    try:
        assert daemon.launcher.retention == (7, 50)  # type: ignore[attr-defined]
    finally:
        daemon.store.close()
