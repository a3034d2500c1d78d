"""Ctrl-C (SIGINT) during `teal build`: the steps in flight are stopped and rolled back (a
query is interrupted; a Python function, which cannot be, runs to its end and its write
rolls back), the previous rows stay, the run is recorded canceled with those steps
canceled, and the command exits 130 saying so. A second Ctrl-C stops at once, still
committing nothing.

Each test sends SIGINT to a real `teal build` process once its run store (or its output)
shows the step running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import query, run_teal, spawn_teal

WATCHDOG_S = 180.0
CONFIG = 'name = "p"\nthreads = 1\n[defaults]\nmaterialized = "table"\n'

# one row; minutes of work with n = 100,000,000,000 (and nothing written until the end)
BIG = (
    'select count(*) as n, \'{{ var("v", "a") }}\' as v '
    "from range({{ var('n', 10) }}) t(i) where md5(i::varchar) = 'x'"
)

# blocks while a pipe named 'gate' exists, until someone writes to it
GATED = """
    import os

    import polars as pl
    import teal

    @teal.asset
    def gated(context: teal.AssetContext) -> pl.DataFrame:
        if os.path.exists("gate"):
            context.log.info("gated waits at the gate")
            with open("gate") as gate:
                gate.read()
        return pl.DataFrame({"v": [context.vars.get("v", "a")]})
"""


@pytest.fixture
def start_build() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Starts `teal build ARGS` in a process of its own, SIGINT handled as in a terminal (a
    test run in the background inherits SIGINT ignored). A build that ignores Ctrl-C
    would wait at its gate for ever: a watchdog kills it and the test fails. The watchdogs
    are stopped with the test (a thread left running would keep the next tests' loads in
    this process from forking)."""
    watchdogs: list[threading.Timer] = []

    def start(root: Path, *args: str) -> subprocess.Popen[str]:
        build = spawn_teal(
            "build",
            *args,
            cwd=root,
            preexec_fn=_default_stop_signals,
        )
        watchdog = threading.Timer(WATCHDOG_S, build.kill)
        watchdog.daemon = True
        watchdog.start()
        watchdogs.append(watchdog)
        return build

    yield start
    for watchdog in watchdogs:
        watchdog.cancel()
        watchdog.join()


def _default_stop_signals() -> None:
    """SIGINT and SIGTERM as a shell or a container runtime leaves them for a command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _show(root: Path) -> dict:
    return json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)


def _wait_for_line(build: subprocess.Popen[str], start: str) -> None:
    assert build.stdout is not None
    for line in build.stdout:
        if start in line:
            return
    raise AssertionError(f"the build ended before {start!r}: " + build.communicate()[0])


@pytest.mark.slow
def test_ctrl_c_stops_the_query_in_flight_and_keeps_the_rows_it_had(project, start_build):
    root = project({"models/m/big.sql": BIG}, config=CONFIG)
    first = run_teal("build", cwd=root)
    assert first.returncode == 0, first.output
    before = query(root / "warehouse.duckdb", "select n, v from m.big")
    build = start_build(root, "--vars", "{n: 100000000000, v: b}")
    try:
        _wait_until_big_runs(root, build)
        build.send_signal(signal.SIGINT)
        out, _ = build.communicate(timeout=120)  # minutes of work, stopped at once
    finally:
        build.kill()
    assert build.returncode == 130, out
    assert "Interrupted (Ctrl-C again: stop at once)" in out
    assert "big  canceled while running: its work was rolled back" in out
    assert (
        "interrupted: 1 step stopped while running and rolled back; nothing half-written "
        "was committed (0 built, 0 failed, 1 skipped)"
    ) in out
    assert "Traceback" not in out
    shown = _show(root)
    assert shown["run"]["status"] == "canceled"
    assert shown["run"]["message"].startswith("interrupted: 1 step stopped while running")
    assert {s["model"]: s["status"] for s in shown["steps"]} == {"big": "canceled"}
    assert f"`teal retry {shown['run']['run_id']}`" in out
    # the old table, and its state from the first run
    assert query(root / "warehouse.duckdb", "select n, v from m.big") == before
    state = query(root / "warehouse.duckdb", "select run_id, status from teal.model_state")
    assert state == [(_first_run(root), "success")]
    # a canceled attempt is no failure: not `result:error`, not failed in the UI's graph
    builds = query(root / "warehouse.duckdb", "select status from teal.builds")
    assert builds == [("success",)]
    assert "big" not in run_teal("ls", "-s", "result:error", cwd=root).stdout


@pytest.mark.slow
def test_sigterm_cancels_the_run_as_ctrl_c_does_and_retry_finishes_it(project, start_build):
    """`docker stop`, Kubernetes and systemd send SIGTERM before SIGKILL: the run is
    canceled (the query in flight stopped and rolled back, the old rows kept), recorded
    canceled rather than left started, and `teal retry` builds what it did not finish."""
    root = project({"models/m/big.sql": BIG}, config=CONFIG)
    assert run_teal("build", cwd=root).returncode == 0
    before = query(root / "warehouse.duckdb", "select n, v from m.big")
    build = start_build(root, "--vars", "{n: 100000000000, v: b}")
    try:
        _wait_until_big_runs(root, build)
        build.send_signal(signal.SIGTERM)
        out, _ = build.communicate(timeout=120)
    finally:
        build.kill()
    assert build.returncode == 128 + signal.SIGTERM, out
    assert "SIGTERM (SIGTERM again: stop at once)" in out
    assert "interrupted: 1 step stopped while running and rolled back" in out
    assert "Traceback" not in out
    shown = _show(root)
    assert shown["run"]["status"] == "canceled"
    assert {s["model"]: s["status"] for s in shown["steps"]} == {"big": "canceled"}
    assert query(root / "warehouse.duckdb", "select n, v from m.big") == before
    (root / "models/m/big.sql").write_text("select 10 as n, '{{ var(\"v\") }}' as v\n")
    retried = run_teal("retry", shown["run"]["run_id"], "--vars", "{v: c}", cwd=root)
    assert retried.returncode == 0, retried.output
    # the run's vars are kept, and a --vars the run had set is not silently dropped
    assert "warning: --vars v: run " in retried.output and "had v = 'b'" in retried.output
    assert query(root / "warehouse.duckdb", "select n, v from m.big") == [(10, "b")]


def _wait_until_big_runs(root: Path, build: subprocess.Popen[str]) -> None:
    """Until the run store shows the build's step ``big`` started (polled, not a fixed
    wait)."""
    deadline = time.monotonic() + 120
    while True:
        shown = run_teal("runs", "show", "last", "--json", cwd=root)
        if shown.returncode == 0:
            run = json.loads(shown.stdout)
            if run["run"]["status"] == "started" and any(
                s["model"] == "big" and s["status"] == "started" for s in run["steps"]
            ):
                return
        assert time.monotonic() < deadline and build.poll() is None, "big never started"
        time.sleep(0.1)


def _first_run(root: Path) -> str:
    runs = json.loads(run_teal("runs", "--json", cwd=root).stdout)
    return runs[-1]["run_id"]


@pytest.mark.slow
def test_ctrl_c_lets_a_python_function_end_and_publishes_nothing_of_it(project, start_build):
    root = project({"models/gated.py": GATED}, config=CONFIG)
    assert run_teal("build", cwd=root).returncode == 0
    os.mkfifo(root / "gate")
    build = start_build(root, "--vars", "{v: b}")
    try:
        _wait_for_line(build, "gated waits at the gate")
        build.send_signal(signal.SIGINT)
        _wait_for_line(build, "Interrupted (Ctrl-C again: stop at once)")
        with open(root / "gate", "w") as gate:  # the function returns; its write rolls back
            gate.write("go")
        out, _ = build.communicate(timeout=120)
    finally:
        build.kill()
    assert build.returncode == 130, out
    assert "gated  canceled while running: its work was rolled back" in out
    shown = _show(root)
    assert shown["run"]["status"] == "canceled"
    assert {s["model"]: s["status"] for s in shown["steps"]} == {"gated": "canceled"}
    assert query(root / "warehouse.duckdb", "select v from main.gated") == [("a",)]


@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once_and_still_commits_nothing(project, start_build):
    """The Python function still waits at its gate when the second Ctrl-C comes: the build
    exits without waiting for it."""
    root = project({"models/gated.py": GATED}, config=CONFIG)
    assert run_teal("build", cwd=root).returncode == 0
    os.mkfifo(root / "gate")
    build = start_build(root, "--vars", "{v: b}")
    try:
        _wait_for_line(build, "gated waits at the gate")
        build.send_signal(signal.SIGINT)
        _wait_for_line(build, "Interrupted (Ctrl-C again: stop at once)")
        build.send_signal(signal.SIGINT)
        out, _ = build.communicate(timeout=120)  # the gate stays shut
    finally:
        build.kill()
    assert build.returncode == 130, out
    assert (
        "interrupted: stopped at once (Ctrl-C twice): the steps still running commit nothing"
    ) in out
    assert "Traceback" not in out
    shown = _show(root)
    assert shown["run"]["status"] == "canceled"
    assert {s["model"]: s["status"] for s in shown["steps"]} == {"gated": "canceled"}
    assert query(root / "warehouse.duckdb", "select v from main.gated") == [("a",)]


@pytest.mark.slow
def test_ctrl_c_in_a_partitioned_step_keeps_the_partitions_committed_before_it(
    project, start_build
):
    """A first build writes partition by partition: a is committed when Ctrl-C comes,
    b (minutes of work) is stopped and rolled back."""
    part = (
        "{{ config(partitioned_by={'static': ['a', 'b']}, partition_column='k') }} "
        "select '{{ partition.key }}' as k, count(*) as n from range(100000000000) t(i) "
        "where '{{ partition.key }}' = 'b' and md5(i::varchar) = 'x'"
    )
    root = project({"models/part.sql": part}, config=CONFIG)
    build = start_build(root)
    try:
        deadline = time.monotonic() + 120
        while True:  # until the run store shows partition a committed
            shown = run_teal("runs", "show", "last", "--json", cwd=root)
            if shown.returncode == 0:
                steps = json.loads(shown.stdout)["steps"]
                if any(s["partition_key"] == "a" and s["status"] == "success" for s in steps):
                    break
            assert time.monotonic() < deadline and build.poll() is None, "a never committed"
            time.sleep(0.1)
        build.send_signal(signal.SIGINT)
        out, _ = build.communicate(timeout=120)
    finally:
        build.kill()
    assert build.returncode == 130, out
    assert (
        "part  canceled while running: 1 partition committed before it, the one running rolled back"
    ) in out
    steps = {(s["partition_key"], s["status"]) for s in _show(root)["steps"]}
    assert ("a", "success") in steps and (None, "canceled") in steps  # the step's own row
    assert ("b", "success") not in steps
    assert query(root / "warehouse.duckdb", "select k, n from main.part") == [("a", 0)]
    # the canceled partition changed nothing: it is missing, not failed, and is built next
    status = json.loads(run_teal("partitions", "part", "--json", cwd=root).stdout)
    assert {r["key"]: r["status"] for r in status} == {"a": "materialized", "b": "missing"}


@pytest.mark.slow
def test_the_summary_of_an_interrupted_backfill_counts_the_partitions_it_committed(
    project, start_build
):
    """34 partitions of 3 rows: the first alone (it creates the table), the next 32 in
    one transaction, then p34, minutes of work, stopped by Ctrl-C. The summary and the
    interrupted line count the 33 partitions committed and their 99 rows, as the skip line
    and `teal runs show` do (it said "0 built ... (0 rows written)")."""
    keys = [f"p{i:02d}" for i in range(1, 35)]
    part = (
        f"{{{{ config(partitioned_by={{'static': {keys}}}, partition_column='k') }}}} "
        "select '{{ partition.key }}' as k, i from range(3) t(i) union all "
        "select '{{ partition.key }}' as k, i from range(100000000000) t(i) "
        "where '{{ partition.key }}' = 'p34' and md5(i::varchar) = 'x'"
    )
    root = project({"models/part.sql": part}, config=CONFIG)
    build = start_build(root)
    try:
        deadline = time.monotonic() + 120
        while True:  # until the run store shows p33 committed
            shown = run_teal("runs", "show", "last", "--json", cwd=root)
            if shown.returncode == 0:
                steps = json.loads(shown.stdout)["steps"]
                if any(s["partition_key"] == "p33" and s["status"] == "success" for s in steps):
                    break
            assert time.monotonic() < deadline and build.poll() is None, "p33 never committed"
            time.sleep(0.1)
        build.send_signal(signal.SIGINT)
        out, _ = build.communicate(timeout=120)
    finally:
        build.kill()
    assert build.returncode == 130, out
    assert "canceled while running: 33 partitions committed before it" in out
    assert (
        ": 0 built, 0 failed, 1 skipped (33 partitions committed before the cancel, "
        "99 rows written)"
    ) in out
    assert (
        "nothing half-written was committed (0 built, 0 failed, 1 skipped; 33 partitions "
        "committed before the cancel, 99 rows written)"
    ) in out
    assert "Traceback" not in out
    steps = _show(root)["steps"]
    [canceled] = [s for s in steps if s["partition_key"] is None]
    assert (canceled["status"], canceled["rows"]) == ("canceled", 99)
    committed = [s for s in steps if s["partition_key"] and s["status"] == "success"]
    assert len(committed) == 33 and sum(s["rows"] for s in committed) == 99
    assert query(root / "warehouse.duckdb", "select count(*) from main.part") == [(99,)]


@pytest.mark.slow
def test_ctrl_c_under_json_exits_130_with_a_json_document_on_stdout(project):
    """A script reading `teal build --json` reads that the build was interrupted, and
    stdout stays one JSON document (teal/cli_json.py)."""
    root = project({"models/m/big.sql": BIG}, config=CONFIG)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TEAL_RUN_STORE")}
    build = subprocess.Popen(
        [sys.executable, "-m", "teal.cli", "build", "--json", "--vars", "{n: 100000000000}"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_default_stop_signals,
    )
    try:
        _wait_until_big_runs(root, build)
        build.send_signal(signal.SIGINT)
        out, err = build.communicate(timeout=120)
    finally:
        build.kill()
    assert build.returncode == 130, out + err
    said = json.loads(out)
    assert said["success"] is False and said["interrupted"] is True
    assert said["exit_code"] == 130 and said["message"].startswith("1 step stopped"), said
    assert "interrupted: 1 step stopped while running" in err


SWALLOWS = """
import time
from teal.runtime.cancel import ctrl_c

with ctrl_c(lambda signum: print("noted", flush=True), lambda: None):
    ready = False
    while True:
        try:  # every signal lands inside it, the first too
            if not ready:
                ready = True
                print("ready", flush=True)
            time.sleep(60)
        except BaseException:  # as Python does with one raised in a weakref callback
            print("swallowed", flush=True)
"""


@pytest.mark.slow
def test_a_second_ctrl_c_whose_exception_is_lost_still_ends_the_process(tmp_path):
    # a CI run hung here: the second Ctrl-C's exception, raised while the main thread ran
    # a weakref callback, was printed as ignored and the build went on waiting
    proc = subprocess.Popen(
        [sys.executable, "-c", SWALLOWS], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline() == "noted\n"
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline() == "swallowed\n"  # the block goes on
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGINT
    assert "interrupted: stopped at once (Ctrl-C twice)" in err
