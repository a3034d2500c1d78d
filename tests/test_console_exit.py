"""The ``teal`` command ends its process without freeing its heap (teal.cli.console): what
it printed is all there, and its exit code is the command's."""

from __future__ import annotations

import json

from tests.conftest import run_teal


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
