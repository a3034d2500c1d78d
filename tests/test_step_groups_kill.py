"""A build killed with SIGKILL inside a group of light steps (runtime/step_groups.py) leaves
every relation of the group as it was, with its state row: a group is all or nothing.

The group is forced the way a real build forms one: with one thread, sixty light warm-up
models give the build a typical step duration and enough elapsed time that the three models
which become ready together after ``gate`` (``x1_mate``, ``x2_mate``, ``x3_pipe``) are built
in one transaction. ``x3_pipe`` is the least urgent of them (the mates have downstream
chains), so it is built last in the group, and it reads a named pipe with ``read_text``
(bound at plan time without opening the file, read when the step runs). The pipe is the
signal: the moment the build opens it for reading, the mates are built, uncommitted, and
the build waits for the test; the test kills it there. No sleep decides where the kill
lands.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

WARM = 60
CONFIG = 'name = "groupkill"\nthreads = 1\n[defaults]\nmaterialized = "table"\n'
GROUP = ("x1_mate", "x2_mate", "x3_pipe")


def files(version: str, pipe: Path) -> dict[str, str]:
    found = {f"models/w{i:02d}.sql": f"select {i} as id, '{version}' as v" for i in range(WARM)}
    found["models/gate.sql"] = (
        "select count(*) as n from ("
        + " union all ".join(f"select id from w{i:02d}" for i in range(WARM))
        + ")"
    )
    found["models/x1_mate.sql"] = f"select n, '{version}' as v from gate"
    found["models/x2_mate.sql"] = f"select n, '{version}' as v from gate"
    # the mates lead longer chains, so x3_pipe is the least urgent of the three
    for mate in ("x1_mate", "x2_mate"):
        up = mate
        for j in range(4):
            found[f"models/{mate}_after{j}.sql"] = f"select * from {up}"
            up = f"{mate}_after{j}"
    found["models/x3_pipe.sql"] = (
        f"select n, (select trim(content) from read_text('{pipe}')) as v from gate"
    )
    return found


def write(root: Path, version: str, pipe: Path) -> None:
    for rel, text in files(version, pipe).items():
        (root / rel).write_text(text + "\n")


def opened_for_reading(pipe: Path, build: subprocess.Popen[str]) -> int:
    """Wait until the build opens ``pipe`` to read it; the pipe's write end."""
    while True:
        try:
            return os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:  # ENXIO: nobody reads it yet
            assert exc.errno == errno.ENXIO, exc
        if build.poll() is not None:
            out = build.stdout.read() if build.stdout else ""
            raise AssertionError(f"the build ended before it read the pipe:\n{out}")
        time.sleep(0.01)


def step_status(root: Path, run_id: str) -> dict[str, str]:
    con = sqlite3.connect(root / ".teal" / "runs.sqlite")
    try:
        rows = con.execute("select model, status from steps where run_id = ?", (run_id,)).fetchall()
    finally:
        con.close()
    return dict(rows)


def runs(root: Path) -> set[str]:
    """The runs with steps on record (run ids sort by second only: two runs in the same
    second sort at random, so the newest is found by difference, not by ``max``)."""
    con = sqlite3.connect(root / ".teal" / "runs.sqlite")
    try:
        return {str(r[0]) for r in con.execute("select distinct run_id from steps")}
    finally:
        con.close()


def new_run(root: Path, before: set[str]) -> str:
    """The run not in ``before``, once its step starts are on record (a writer thread
    records them, runtime/recorder.py FLUSH_S; the build is blocked on the pipe meanwhile)."""
    deadline = time.monotonic() + 30
    while True:
        found = runs(root) - before
        if found or time.monotonic() > deadline:
            assert len(found) == 1, found
            return found.pop()
        time.sleep(0.02)


def test_sigkill_inside_a_group_leaves_each_relation_old_with_its_state_row(project):
    root = project({}, config=CONFIG)
    db = root / "warehouse.duckdb"
    pipe = root / "pipe.txt"
    pipe.write_text("A")
    write(root, "A", pipe)
    first = run_teal("build", cwd=root)
    assert first.returncode == 0, first.output
    assert query(db, "select v from main.x3_pipe") == [("A",)]
    old_hash = dict(query(db, "select model, sql_hash from teal.model_state"))
    before = runs(root)

    write(root, "B", pipe)
    pipe.unlink()
    os.mkfifo(pipe)
    env = {**os.environ}
    env.pop("PYTHONPATH", None)
    build = subprocess.Popen(
        [sys.executable, "-m", "teal.cli", "build"],
        cwd=str(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        writer = opened_for_reading(pipe, build)
        run_id = new_run(root, before)
        deadline = time.monotonic() + 30  # the group's starts too, written behind
        steps = step_status(root, run_id)
        while any(m not in steps for m in GROUP) and time.monotonic() < deadline:
            time.sleep(0.02)
            steps = step_status(root, run_id)
        # the group formed: its mates are built (started, not finished) and wait for x3_pipe
        assert {m: steps.get(m) for m in GROUP} == dict.fromkeys(GROUP, "started"), steps
        build.kill()  # SIGKILL, inside the group's transaction
        build.wait(timeout=60)
        os.close(writer)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait(timeout=60)
    out = build.stdout.read() if build.stdout else ""

    # every relation holds the old version or the new one, and its state row says which
    new_hash = dict(query(db, "select model, sql_hash from teal.model_state"))
    for model in [f"w{i:02d}" for i in range(WARM)] + list(GROUP):
        (version,) = {v for (v,) in query(db, f"select v from main.{model}")}
        if version == "A":
            assert new_hash[model] == old_hash[model], (model, out)
        else:
            assert version == "B" and new_hash[model] != old_hash[model], (model, out)
    for model in GROUP:  # the group was not committed: nothing of it is published
        assert query(db, f"select v from main.{model}") == [("A",)], out
    recorded = query(
        db, f"select model from teal.builds where run_id = '{run_id}' and model like 'x%'"
    )
    assert recorded == [], out
    assert (
        query(
            db,
            "select table_name from information_schema.tables where table_name like '%teal%'"
            " and table_schema <> 'teal'",
        )
        == []
    )

    # the next build works and publishes the whole group
    pipe.unlink()
    pipe.write_text("B")
    again = run_teal("build", cwd=root)
    assert again.returncode == 0, again.output
    for model in GROUP:
        assert query(db, f"select v from main.{model}") == [("B",)]
    assert query(db, "select count(*) from main.x1_mate_after3") == [(1,)]
