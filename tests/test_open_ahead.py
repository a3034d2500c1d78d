"""A build opens the warehouse file on a thread while it loads and binds the project
(warehouse/duckdb/preopen.py). What a user must not notice: a selection that reads the
warehouse's state still works, a build that stops before opening leaves the file free for
other processes, and one held by another process is reported as before."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from teal.compiler.errors import LineageError
from teal.runtime.session import Session

from .conftest import run_teal

FILES = {
    "models/a.sql": "select range as id from range(3)\n",
    "models/b.sql": "select id from a\n",
    "models/c.sql": "select id * 2 as twice from b\n",
}


def _rows(root, table: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(f"select * from {table} order by all").fetchall()
    finally:
        con.close()


def _free(path) -> bool:
    """Whether another process can open ``path`` for writing now."""
    code = f"import duckdb; duckdb.connect({str(path)!r}).close()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


@pytest.mark.slow
def test_a_state_selection_reads_the_warehouse_beside_the_open(project):
    root = project(FILES)
    assert run_teal("build", cwd=root).returncode == 0
    (root / "models" / "b.sql").write_text("select id + 10 as id from a\n")
    # with no kept state, the selection reads the warehouse read-only before the build
    # opens it: DuckDB refuses that beside an open for writing in the same process
    (root / ".teal" / "cache" / "state.pickle").unlink(missing_ok=True)
    done = run_teal("build", "-s", "state:modified+", cwd=root)
    assert done.returncode == 0, done.output
    assert "main.b" in done.stdout and "main.c" in done.stdout and "main.a" not in done.stdout
    assert _rows(root, "main.c") == [(20,), (22,), (24,)]


def test_a_build_that_stops_before_opening_leaves_the_warehouse_free(project):
    root = project(FILES)
    session = Session.open(root)
    assert session.build().success
    (root / "models" / "c.sql").write_text("select no_such_column from b\n")
    session.reload()
    with pytest.raises(LineageError):
        session.build()
    assert _free(root / "warehouse.duckdb")
    assert _rows(root, "main.c") == [(0,), (2,), (4,)]  # nothing was rebuilt
    session.close()


@pytest.mark.slow
def test_a_warehouse_held_by_another_process_is_reported_as_before(project):
    root = project(FILES)
    assert run_teal("build", cwd=root).returncode == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " sys.stdin.read()",
            str(root / "warehouse.duckdb"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = run_teal("build", cwd=root)
        assert done.returncode == 2, done.output
        assert "Traceback" not in done.output
        assert "--wait" in done.stderr
    finally:
        holder.communicate("")
    assert run_teal("build", cwd=root).returncode == 0


def _opened_early(monkeypatch) -> list[bool]:
    """Record, for each stored project a load reads, whether the warehouse's open had
    started when it began to read it."""
    import threading

    from teal.compiler import snapshot

    seen: list[bool] = []
    real = snapshot.load

    def load(cfg, key, before_reading=None):
        def reading() -> None:
            if before_reading is not None:
                before_reading()
            seen.append(any(t.name == "teal-open" for t in threading.enumerate()))

        return real(cfg, key, reading)

    monkeypatch.setattr(snapshot, "load", load)
    return seen


@pytest.mark.slow
def test_a_build_that_takes_the_stored_project_opens_the_warehouse_meanwhile(project, monkeypatch):
    root = project(FILES)
    with Session.open(root) as first:
        assert first.build().success  # stores the project for the next load
    seen = _opened_early(monkeypatch)
    with Session.open(root) as again:
        built = again.build(select="c")
        assert built.success and [r.model for r in built.results] == ["c"]
        assert again.project.stats.get("snapshot") == 1
    assert seen == [True]
    assert _free(root / "warehouse.duckdb")

    with Session.open(root) as third:  # a selection error after the early open
        with pytest.raises(Exception, match="no_such_model"):
            third.build(select="no_such_model")
        assert _free(root / "warehouse.duckdb")  # the open was closed with the error


@pytest.mark.slow
def test_a_stored_project_that_cannot_be_read_is_loaded_from_the_files(project, monkeypatch):
    root = project(FILES)
    with Session.open(root) as first:
        assert first.build().success
    stored = root / ".teal" / "cache" / "project.pickle"
    header = stored.read_bytes().split(b"\n", 1)[0] + b"\n"
    stored.write_bytes(header + b"not a pickle")
    (root / "models" / "c.sql").write_text("select id * 3 as thrice from b\n")
    seen = _opened_early(monkeypatch)
    with Session.open(root) as again:
        built = again.build()
        assert built.success, built
    assert seen == []  # c.sql changed: the key differs, so nothing stored was read
    assert _rows(root, "main.c") == [(0,), (3,), (6,)]

    # same key, unreadable body: the open has started, the files are read, the build works
    with Session.open(root) as third:
        assert third.build().success
    header = stored.read_bytes().split(b"\n", 1)[0] + b"\n"
    stored.write_bytes(header + b"not a pickle")
    seen.clear()
    with Session.open(root) as fourth:
        built = fourth.build(select="c")
        assert built.success and "snapshot" not in fourth.project.stats
    assert seen == [True]
    assert _rows(root, "main.c") == [(0,), (3,), (6,)]
    assert _free(root / "warehouse.duckdb")
