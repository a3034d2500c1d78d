"""While a build holds the warehouse (DuckDB lets one process open the file), the commands
that only read keep working: `teal plan`, `teal partitions`, state selectors and `teal
lineage` use the state kept from the last read, and say how old it is."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest

from tests.conftest import run_teal, spawn_teal

pytestmark = pytest.mark.slow

GATED = {
    "models/a.sql": "select 1 as id union all select 2",
    # b blocks on the pipe named 'gate' while it exists, until someone writes to it
    "models/b.py": """
        import os
        import teal

        @teal.asset
        def b(context, a):
            if os.path.exists("gate"):
                context.log.info("b waits at the gate")
                with open("gate") as gate:
                    gate.read()
            return a
    """,
    "models/c.sql": "select id * 10 as id from b",
}


def _build_held_at_the_gate(root):
    build = spawn_teal("build", "--threads", "1", cwd=root)
    assert build.stdout is not None
    for line in build.stdout:
        if "b waits at the gate" in line:
            return build
    raise AssertionError("the build ended before b reached the gate: " + build.communicate()[0])


def _open_gate_and_finish(root, build) -> None:
    with open(root / "gate", "w") as gate:
        gate.write("go")
    build.communicate(timeout=120)
    assert build.returncode == 0


def test_read_commands_work_during_a_build_from_the_kept_state(project):
    root = project(GATED)
    assert run_teal("build", cwd=root).returncode == 0
    assert run_teal("plan", cwd=root).returncode == 0  # reads and keeps the state
    (root / "models/c.sql").write_text("select id * 100 as id from b")
    os.mkfifo(root / "gate")
    build = _build_held_at_the_gate(root)
    try:
        plan = run_teal("plan", "--changed-only", cwd=root)
        assert plan.returncode == 0, plan.output
        assert "is in use by another process" in plan.stderr
        assert "showing its state as teal last read it, at" in plan.stderr
        # the kept state is from before this build: c is still the modified one
        assert "modified: SQL or config changed since last build" in plan.stdout
        modified = run_teal("ls", "-o", "name", "-s", "state:modified", cwd=root)
        assert modified.returncode == 0, modified.output
        assert modified.stdout.split() == ["c"]
        lineage = run_teal("lineage", "c", cwd=root)
        assert lineage.returncode == 0 and "b (table, main.b)" in lineage.stdout
    finally:
        _open_gate_and_finish(root, build)


def test_with_no_state_kept_the_lock_is_a_clear_error(project):
    root = project(GATED)
    os.mkfifo(root / "gate")
    build = _build_held_at_the_gate(root)
    try:
        plan = run_teal("plan", cwd=root)
        assert plan.returncode == 2
        assert "is in use by another process" in plan.stderr
        assert "Traceback" not in plan.output
    finally:
        _open_gate_and_finish(root, build)


def test_a_run_is_recorded_ended_once_its_process_has_let_go_of_the_warehouse(project):
    # DuckDB checkpoints as it closes the file, seconds after a large build: a script or a
    # daemon told the run ended must find the file free and whole, not still being written
    # rows in short strings go to the WAL, which the close checkpoints into the file
    sql = "select range as id, repeat(md5(range::varchar), 10) as s from range(100000)"
    files = {"models/wide.sql": "{{ config(materialized='table') }}\n" + sql}
    root = project(files, '[duckdb]\ncheckpoint_threshold = "1GB"\n')
    assert run_teal("build", cwd=root).returncode == 0
    listed = run_teal("runs", "--json", cwd=root)
    assert listed.returncode == 0, listed.output
    (run,) = json.loads(listed.stdout)
    assert run["status"] == "success"
    ended = datetime.fromisoformat(run["finished_at"])
    written = datetime.fromtimestamp((root / "warehouse.duckdb").stat().st_mtime, UTC)
    assert written <= ended, f"the file was written {written - ended} after the run ended"
    assert not (root / "warehouse.duckdb.wal").exists()
