"""A run killed with kill -9 must not hold the daemon's queue: the daemon finds it crashed
(as any teal command opening the store does) and launches what waits, whether the run was a
build started by hand or one it launched itself and was killed with it. And a Ctrl-C to a
foreground daemon stops the daemon, not the run it launched (a session of its own).

The store is read here with sqlite3 directly, never with `teal runs`: that command marks a
dead process's run crashed itself, which would hide a daemon that never does."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import query, spawn_teal, wait_for

pytestmark = pytest.mark.slow

SLOW = """
    import os
    import pathlib

    import pyarrow as pa
    import teal

    @teal.asset
    def slow(context):
        # blocks while a pipe named 'gate' exists, until someone writes to it; 'at_gate'
        # says it got there
        if os.path.exists("gate"):
            pathlib.Path("at_gate").write_text(str(os.getpid()))
            with open("gate") as gate:
                gate.read()
        return pa.table({"n": [1, 2, 3]})
"""
TOML = """name = "daemon_kill"
[sensors.landing]
files = "landing/*.csv"
select = "slow"
minimum_interval = "0.2s"
"""


def make(project) -> Path:
    root = project({"models/slow.py": SLOW}, config=TOML)
    (root / "landing").mkdir()
    return root


def store_runs(root: Path) -> list[tuple[str, str, str]]:
    """(run_id, status, trigger) of every run, oldest first, read without teal."""
    path = root / ".teal" / "runs.sqlite"
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = con.execute(
            "SELECT run_id, status, run_trigger FROM runs ORDER BY created_at, run_id"
        ).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        con.close()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def wait_for_runs(root: Path, expected: list[tuple[str, str]], what: str) -> None:
    """Poll the store until its runs' (status, trigger), oldest first, are ``expected``."""
    seen: list[tuple[str, str]] = []

    def arrived() -> bool:
        seen[:] = [(status, trigger) for _, status, trigger in store_runs(root)]
        return seen == expected

    try:
        wait_for(arrived, what)
    except pytest.fail.Exception:
        pytest.fail(f"timed out waiting for {what}: the runs are {seen}")


@contextmanager
def running_daemon(root: Path) -> Iterator[subprocess.Popen[str]]:
    """`teal daemon` in a session of its own, as a shell runs a foreground command in a
    process group of its own: a killpg reaches the daemon, and the runs it launches only
    when they are killed too (each is started in a session of its own)."""
    daemon = spawn_teal("daemon", cwd=root, start_new_session=True)
    try:
        assert daemon.stdout is not None
        assert "teal daemon for" in daemon.stdout.readline()
        yield daemon
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=30)


def land(root: Path, name: str) -> None:
    (root / "landing" / name).write_text("x\n")


def test_a_hand_build_killed_while_the_daemon_waits_for_it_does_not_hold_the_queue(project):
    root = make(project)
    os.mkfifo(root / "gate")
    with running_daemon(root):
        build = spawn_teal("build", cwd=root)
        wait_for(lambda: (root / "at_gate").exists(), "the hand build to reach the gate")
        land(root, "a.csv")
        wait_for(
            lambda: [s for _, s, _ in store_runs(root)].count("queued") == 1,
            "the sensor's run to be queued behind the hand build",
        )
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=30)
        (root / "gate").unlink()
        wait_for_runs(
            root,
            [("crashed", "cli"), ("success", "sensor")],
            "the daemon to find the hand build crashed and launch the queued run",
        )
    wait_for(lambda: _readable(root), "the launched run to let go of the warehouse")
    assert query(root / "warehouse.duckdb", "select sum(n) from slow") == [(6,)]


def test_a_daemon_killed_with_its_run_launches_the_next_run_when_restarted(project):
    root = make(project)
    os.mkfifo(root / "gate")
    with running_daemon(root) as daemon:
        land(root, "a.csv")
        wait_for(lambda: (root / "at_gate").exists(), "the launched run to reach the gate")
        # the daemon and its `teal launch` child, as a container's or a cgroup's kill does
        os.killpg(daemon.pid, signal.SIGKILL)
        os.kill(int((root / "at_gate").read_text()), signal.SIGKILL)
        daemon.wait(timeout=30)
    (root / "gate").unlink()
    land(root, "b.csv")
    with running_daemon(root):
        wait_for_runs(
            root,
            [("crashed", "sensor"), ("success", "sensor")],
            "the restarted daemon to find its killed run crashed and launch the next",
        )
    # the run is recorded a success before its process has closed the warehouse
    wait_for(lambda: _readable(root), "the launched run to let go of the warehouse")
    assert query(root / "warehouse.duckdb", "select sum(n) from slow") == [(6,)]


def test_ctrl_c_to_a_foreground_daemon_leaves_the_run_it_launched_going_to_its_end(project):
    """Ctrl-C in the daemon's terminal is a SIGINT to its process group: the daemon stops,
    saying the run goes on, and the run goes on (it was canceled, rolled back)."""
    root = make(project)
    os.mkfifo(root / "gate")
    with running_daemon(root) as daemon:
        land(root, "a.csv")
        wait_for(lambda: (root / "at_gate").exists(), "the launched run to reach the gate")
        os.killpg(daemon.pid, signal.SIGINT)  # what the terminal's Ctrl-C sends
        out, _ = daemon.communicate(timeout=30)
        assert daemon.returncode == 0, out
        assert "goes on to its end" in out, out
        with open(root / "gate", "w") as gate:  # the run, still waiting, goes on
            gate.write("go")
        wait_for_runs(root, [("success", "sensor")], "the launched run to end")
    wait_for(lambda: _readable(root), "the launched run to let go of the warehouse")
    assert query(root / "warehouse.duckdb", "select sum(n) from slow") == [(6,)]


def _readable(root: Path) -> bool:
    """Whether the warehouse opens read-only (no process holds it for writing any more)."""
    import duckdb

    try:
        duckdb.connect(str(root / "warehouse.duckdb"), read_only=True).close()
    except duckdb.IOException:
        return False
    return True
