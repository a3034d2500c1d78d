"""The ``teal`` command ends its process without freeing its heap (teal.cli.console): what
it printed is all there, and its exit code is the command's."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_teal


@pytest.mark.slow
def test_everything_printed_arrives_and_the_exit_code_is_the_commands(project) -> None:
    files = {f"models/m{i}.sql": f"select {i} as id, 'x' as name" for i in range(300)}
    root = project(files)
    done = run_teal("ls", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    assert sorted(m["name"] for m in json.loads(done.stdout)) == sorted(f"m{i}" for i in range(300))
    done = run_teal("nonsense", cwd=root)
    assert done.returncode == 2 and "No such command 'nonsense'" in done.stderr
    (root / "models/m1.sql").write_text("select idd from m0")
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2 and "models/m1.sql:1:8" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_run_store_file_holds_the_runs_once_the_command_is_done(project) -> None:
    """The run store is closed with the command, so SQLite has folded its write-ahead log
    into the file: a copy of runs.sqlite alone has the run."""
    import sqlite3

    root = project({"models/a.sql": "select 1 as id", "models/b.sql": "select id from a"})
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.stderr
    assert not (root / ".teal/runs.sqlite-wal").exists()
    copy = root / "copy.sqlite"
    copy.write_bytes((root / ".teal/runs.sqlite").read_bytes())
    with sqlite3.connect(copy) as con:
        assert con.execute("select count(*) from runs").fetchone() == (1,)


@pytest.mark.slow
def test_a_build_with_its_output_closed_builds(project) -> None:
    """`teal build 1>&-` (a cron line, a service with no terminal): Python has no
    sys.stdout; the build runs and exits 0 (it was a traceback, exit 1)."""
    import os
    import subprocess
    import sys

    from tests.conftest import query

    root = project(
        {
            "models/a.sql": "{{ config(materialized='table') }} select 1 as id",
            "models/b.py": (
                "import pyarrow as pa\nimport teal\n\n\n@teal.asset\ndef b(context, a):\n"
                "    print('b says hello')\n    context.log.info('b read it')\n    return a\n"
            ),
        }
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for closed in ("1>&-", "2>&-"):
        done = subprocess.run(
            ["sh", "-c", f'exec "$0" -m teal.cli build {closed}', sys.executable],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (closed, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
    assert query(root / "warehouse.duckdb", "select count(*) from b") == [(1,)]
