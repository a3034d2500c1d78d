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


def test_the_log_of_a_run_in_progress_is_kept(tmp_path: Path):
    """With run_retention = {runs = 1} a launch used to delete every other log, the one a
    run the UI launched is still writing among them (that run, failing later, pointed at a
    file that was gone); the store's unfinished runs keep theirs, however old."""
    from datetime import datetime

    from teal.runtime.runstore import RunRecord, RunStatus, Trigger
    from teal.runtime.session import Session

    root = write_project(tmp_path / "proj", {"models/a.sql": "select 1 as x"})
    folder = root / ".teal" / "logs"
    started, queued, done = _old_logs(folder, [100, 1, 2])
    at = datetime(2026, 3, 2, 3, 0)
    with Session.open(root) as session:
        store = session.run_store()
        for path, status in ((started, RunStatus.STARTED), (queued, RunStatus.QUEUED),
                             (done, RunStatus.SUCCESS)):  # fmt: skip
            store.add_run(
                RunRecord(path.stem, "build", status, Trigger.UI, (), created_at=at,
                          started_at=at, project=session.config.name)
            )  # fmt: skip
        with open_run_log(root, "new", (30, 1), store) as log:
            log.write(b"x")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["new.log", started.name, queued.name]
    )
