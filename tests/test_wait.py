"""A build that finds the warehouse held by another process fails at once with a hint, or
with --wait waits for it, saying once what it waits for."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow


@contextmanager
def held(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the warehouse open for writing until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            "print('open', flush=True); sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield holder
    finally:
        if holder.poll() is None:
            holder.communicate("")


def test_a_build_waits_for_the_warehouse_only_when_asked(project):
    root = project({"models/a.sql": "select 1 as x"})
    db = root / "warehouse.duckdb"
    assert run_teal("build", cwd=root).returncode == 0
    with held(db) as holder:
        refused = run_teal("build", cwd=root)
        assert refused.returncode == 2 and "in use by another process" in refused.stderr
        assert "hint: the same command with --wait waits for it" in refused.stderr
        short = run_teal("build", "--wait", "0.3", cwd=root)
        assert short.returncode == 2 and "still held after waiting 0.3 s" in short.stderr

        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        waiter = subprocess.Popen(
            [sys.executable, "-m", "teal.cli", "build", "--wait", "120"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert waiter.stderr is not None
        line = waiter.stderr.readline()  # it says what it waits for, then waits
        assert "waiting for the warehouse (up to 120 s)" in line, line
        holder.communicate("")  # the other process lets go
        out, err = waiter.communicate(timeout=120)
        assert waiter.returncode == 0, out + err
    assert query(db, "select x from a") == [(1,)]
