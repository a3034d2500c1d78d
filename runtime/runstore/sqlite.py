"""The local run store: a SQLite file in WAL mode under ``.teal/`` (other processes read it
while a build writes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from teal.runtime.runstore.sqlstore import Cursor, SqlRunStore


class SqliteRunStore(SqlRunStore):
    NO_LIMIT = "-1"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.location = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: transactions are explicit (BEGIN IMMEDIATE takes the write lock
        # up front, so two writers wait on busy_timeout instead of failing mid-transaction)
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        # a committed transaction may be lost by a power cut, never by a killed process
        self._conn.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        if self._joined is not None:  # inside atomic(): its transaction commits
            yield self._joined
            return
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            self._conn.rollback()
            raise
        cur.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[Cursor]:
        # autocommit: each read sees the last committed state (WAL readers never wait)
        yield self._conn.cursor()

    def _has_table(self, cur: Cursor, name: str) -> bool:
        cur.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        row = cur.fetchone()
        return bool(row and row[0])

    def _size_bytes(self) -> int:
        return sum(f.stat().st_size for f in (self.path, Path(f"{self.path}-wal")) if f.exists())

    def close(self) -> None:
        with self._lock:
            self._conn.close()
