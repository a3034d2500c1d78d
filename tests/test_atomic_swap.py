"""A build killed with SIGKILL mid-swap leaves the old table or the new one, never half of one.

The table model ``target`` reads a fast table ``gate``. With one thread, the executor prints
``gate``'s OK line and then immediately starts ``target``, so that line is the "target's
transaction is starting" signal; the slow part of ``target`` is its ``CREATE TABLE ... AS``.
A calibration build into a scratch warehouse measures how long ``target`` takes after the
signal; the kills then land at different fractions of that time (and one right after
``target``'s own OK line, while the process is still recording the run and closing the file).
"""

from __future__ import annotations

import os
import queue
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

A_ROWS = 1_000
B_ROWS = 5_000_000

GATE = "select 0 as g\n"
TARGET_A = f"""\
select range as v, 'A' as tag
from range({A_ROWS})
where range >= (select min(g) from gate)
"""
# Slow on purpose (md5 per row, a few seconds), but streaming: memory stays modest.
TARGET_B = f"""\
select range as v, 'B' as tag
from range({B_ROWS})
where md5(md5(md5(range::varchar))) <> '' and range >= (select min(g) from gate)
"""
EXPECTED = {
    "A": [("A", A_ROWS, 0, A_ROWS - 1, A_ROWS)],
    "B": [("B", B_ROWS, 0, B_ROWS - 1, B_ROWS)],
}
CONFIG = 'name = "swap"\nthreads = 1\n[folders.marts]\nmaterialized = "table"\n'

GATE_LINE = "marts.gate"
TARGET_LINE = "marts.target"


class Build:
    """``teal build`` in a subprocess whose stdout lines arrive on a queue."""

    def __init__(self, root: Path, *args: str) -> None:
        env = {**os.environ}
        env.pop("PYTHONPATH", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "teal.cli", "build", *args],
            cwd=str(root),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, needle: str, timeout: float) -> bool:
        """Read output until a line contains ``needle``; False on timeout or end of output."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return False
            if line is None:
                self.lines.put(None)  # keep the end marker for later readers
                return False
            self.seen.append(line)
            if needle in line:
                return True

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no cleanup, no rollback, no atexit
        self.proc.wait(timeout=60)
        self._reader.join(timeout=60)
        while True:  # whatever the process flushed before it died
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.seen.append(line)

    def printed(self, needle: str) -> bool:
        return any(needle in line for line in self.seen)

    @property
    def output(self) -> str:
        return "".join(self.seen)


def target_version(db: Path) -> str:
    """'A' or 'B' after checking the table holds exactly one version, completely."""
    rows = query(
        db, "select tag, count(*), min(v), max(v), count(distinct v) from marts.target group by tag"
    )
    for version, expected in EXPECTED.items():
        if rows == expected:
            return version
    raise AssertionError(f"marts.target holds neither exactly A nor exactly B: {rows}")


def leftovers(db: Path) -> list[str]:
    return [
        name
        for (name,) in query(
            db,
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_name like '%teal_new%'",
        )
    ]


def build_ok(root: Path, *args: str) -> None:
    done = run_teal("build", *args, cwd=root)
    assert done.returncode == 0, done.output


def test_sigkill_during_table_swap_leaves_old_or_new_table(project):
    root = project(
        {"models/marts/gate.sql": GATE, "models/marts/target.sql": TARGET_A}, config=CONFIG
    )
    db = root / "warehouse.duckdb"
    target_sql = root / "models" / "marts" / "target.sql"
    build_ok(root)
    assert target_version(db) == "A"
    hash_a = query(db, "select sql_hash from teal.model_state where model = 'target'")[0][0]

    # Calibrate on a scratch warehouse: how long does target take after the gate's line?
    target_sql.write_text(TARGET_B)
    calibration = Build(root, "--warehouse", "scratch.duckdb")
    assert calibration.wait_for(GATE_LINE, timeout=120), calibration.output
    started = time.monotonic()
    assert calibration.wait_for(TARGET_LINE, timeout=300), calibration.output
    duration = time.monotonic() - started
    assert calibration.proc.wait(timeout=120) == 0, calibration.output
    calibration.kill()
    assert target_version(root / "scratch.duckdb") == "B"
    hash_b = query(
        root / "scratch.duckdb", "select sql_hash from teal.model_state where model = 'target'"
    )[0][0]
    assert hash_a != hash_b

    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    # fractions of the calibrated time after the signal; None = right after target's OK line
    kill_points: list[float | None] = [
        0.0,
        rng.uniform(0.05, 0.4),
        rng.uniform(0.4, 0.8),
        rng.uniform(0.8, 1.0),
        None,
    ]
    outcomes = []
    for point in kill_points:
        where = f"kill point {point} (seed {seed}, calibrated {duration:.2f}s)"
        build = Build(root)
        assert build.wait_for(GATE_LINE, timeout=120), where + "\n" + build.output
        if point is None:
            assert build.wait_for(TARGET_LINE, timeout=300), where + "\n" + build.output
        else:
            # The only timing here chooses the kill moment; output ends the wait early.
            build.wait_for(TARGET_LINE, timeout=point * duration)
        build.kill()

        version = target_version(db)
        outcomes.append(version)
        assert leftovers(db) == [], where
        state = query(db, "select sql_hash from teal.model_state where model = 'target'")
        # data and its state row commit together
        assert state == [(hash_b if version == "B" else hash_a,)], where
        if build.printed(TARGET_LINE):
            assert version == "B", where + "\n" + build.output
        if version == "B" and point is not None:
            # committed before the kill: go back to A for the next kill point
            target_sql.write_text(TARGET_A)
            build_ok(root)
            assert target_version(db) == "A"
            target_sql.write_text(TARGET_B)
    # the kill on the signal itself lands long before the slow query can finish
    assert outcomes[0] == "A", outcomes
    assert outcomes.count("A") >= 2, (outcomes, seed)
    assert outcomes[-1] == "B", outcomes

    # a clean rebuild after all that yields B exactly, with nothing left over
    target_sql.write_text(TARGET_A)
    build_ok(root)
    assert target_version(db) == "A"
    target_sql.write_text(TARGET_B)
    build_ok(root)
    assert target_version(db) == "B"
    assert leftovers(db) == []
    assert query(db, "select count(*) from marts.gate") == [(1,)]
