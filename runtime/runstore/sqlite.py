"""The local run store: a SQLite file in WAL mode under ``.teal/`` (other processes read it
while a build writes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from teal.compiler.errors import WarehouseError
from teal.runtime.runstore.sqlstore import Cursor, SqlRunStore

# how long a writer waits for another process's write transaction before giving up
BUSY_TIMEOUT_S = 30.0


class SqliteRunStore(SqlRunStore):
    NO_LIMIT = "-1"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.location = str(path)
        with self._translated():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise sqlite3.OperationalError(f"unable to open database file ({exc})") from exc
            # autocommit mode: transactions are explicit (BEGIN IMMEDIATE takes the write lock
            # up front, so two writers wait on busy_timeout instead of failing mid-transaction)
            self._conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
            )
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                # a committed transaction may be lost by a power cut, never by a killed process
                self._conn.execute("PRAGMA synchronous=NORMAL")
            except BaseException:
                self._conn.close()
                raise

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLite's errors as teal errors that say what to do (a traceback otherwise)."""
        try:
            yield
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from exc

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        if self._joined is not None:  # inside atomic(): its transaction commits
            yield self._joined
            return
        with self._translated():
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
        with self._translated():
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


def store_error(exc: sqlite3.Error, path: Path) -> WarehouseError:
    """What went wrong with the SQLite store at ``path``, and what to do about it."""
    message = str(exc).strip()
    low = message.lower()
    if "locked" in low or "busy" in low:
        said = (
            f"the run store is locked: another process held its write lock for "
            f"{BUSY_TIMEOUT_S:.0f} s ({message})"
        )
        hint = (
            "`teal runs` lists the runs in progress; a store on a network file system (NFS, "
            "SMB) cannot be locked reliably: keep it on a local disk, or use Postgres "
            "(run_store = 'postgresql://...')"
        )
    elif "not a database" in low or "malformed" in low or "corrupt" in low:
        said = f"the run store is not a SQLite database teal can read ({message})"
        hint = (
            "move the file aside (teal starts a new store there) or point run_store at "
            "another path; the warehouse and its state are not in it"
        )
    elif "unable to open" in low or "readonly" in low or "read-only" in low:
        said = f"cannot write the run store ({message})"
        hint = (
            "its folder must exist and be writable by this user; run_store = '<path>' (or "
            "TEAL_RUN_STORE) puts it elsewhere, TEAL_RUN_STORE=none records no runs"
        )
    else:
        said = f"the run store failed: {message}"
        hint = "`teal --debug ...` shows where"
    return WarehouseError(said, path=str(path), hint=hint)
