"""The daemon loads the project at each freshness evaluation: its warnings are logged once
each, not at every evaluation, and a build holding the warehouse is said once while it
holds it (a simulated clock; the build is a real process holding the file)."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from teal.compiler.config import load_config
from teal.runtime.daemon_freshness import freshness_evaluator
from tests.conftest import run_teal
from tests.runstore.test_daemon import T0

# a build holding the warehouse writes to it: the state kept before no longer describes
# it, so the daemon must read it and finds it busy (a holder that wrote nothing would
# leave the kept state current once it is older than the racy window, and rightly no
# notice: the timing this test depended on, which a loaded CI machine did not keep)
HOLD = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
    "c.execute('create or replace table main.holder_was_here as select 1 as x'); "
    "print('held', flush=True); time.sleep(120)"
)


@pytest.mark.slow
def test_warnings_and_a_busy_warehouse_are_logged_once(tmp_path, caplog):
    (tmp_path / "models").mkdir()
    (tmp_path / "teal.toml").write_text('name = "p"\n')
    (tmp_path / "models" / "a.sql").write_text(
        "{{ config(freshness={'max_lag': '1d'}) }} select 1 as x"
    )
    (tmp_path / "models" / "schema.yml").write_text("models:\n  - name: not_a_model\n")
    assert run_teal("build", cwd=tmp_path).returncode == 0
    assert run_teal("plan", cwd=tmp_path).returncode == 0  # the state is kept
    evaluate = freshness_evaluator(load_config(tmp_path))

    def logged(minutes: int) -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="teal"):
            evaluate(T0 + timedelta(minutes=minutes))
        return [r.getMessage() for r in caplog.records]

    first = logged(0)
    assert len(first) == 1 and "not_a_model" in first[0]
    assert logged(1) == []  # the same project: nothing new to say

    with held(tmp_path / "warehouse.duckdb"):
        busy = logged(2)
        assert len(busy) == 1 and "in use by another process" in busy[0]
        assert logged(3) == []  # still held: said once
    assert logged(4) == []
    with held(tmp_path / "warehouse.duckdb"):
        assert len(logged(5)) == 1  # held again after a while free: said again


@contextmanager
def held(warehouse: Path) -> Iterator[None]:
    """Another process holding ``warehouse`` open (as a build does) while the block runs."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.kill()
        holder.wait()
