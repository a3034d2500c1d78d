"""The embedded SQLite store's failures are teal errors that say what to do, not tracebacks."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from teal.compiler.errors import WarehouseError
from teal.runtime.runstore import sqlite as sqlite_store
from teal.runtime.runstore.sqlite import SqliteRunStore
from tests.conftest import run_teal, write_project

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_store_locked_by_another_process_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    SqliteRunStore(path).migrate(T0)
    holder = sqlite3.connect(str(path), isolation_level=None)  # another process's writer
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_S", 0.05)
    store = SqliteRunStore(path)
    try:
        with pytest.raises(WarehouseError) as caught:
            store.request_cancel("run-1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        store.close()
    assert "the run store is locked" in str(caught.value)
    assert "network file system" in caught.value.hint
    assert caught.value.path == str(path)


@pytest.mark.slow
def test_a_file_that_is_not_a_store_ends_the_command_with_exit_2_and_builds_nothing(tmp_path):
    write_project(tmp_path, {"models/one.sql": "select 1 as id"})
    store = tmp_path / ".teal" / "runs.sqlite"
    store.parent.mkdir()
    store.write_bytes(b"not a database, just some text somebody saved here " * 40)
    done = run_teal("build", cwd=tmp_path, env={"TEAL_RUN_STORE": ""})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{store}: the run store is not a SQLite database teal can read" in done.stderr
    assert "move the file aside" in done.stderr
    assert not Path(tmp_path / "warehouse.duckdb").exists()
