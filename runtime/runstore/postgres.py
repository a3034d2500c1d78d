"""The production run store: Postgres through psycopg 3.

Shared by many processes at once (the daemon, builds from laptops and CI, the UI): the
schema is migrated under an advisory lock, retention locks the runs it deletes, and a
connection the server closed (a restart, a failover) is opened again on the next call,
waiting up to :attr:`PostgresRunStore.RECONNECT_S` for the server to come back. Every
driver error becomes a teal error naming the store without its password.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qsl, unquote

from teal.compiler.errors import WarehouseError
from teal.runtime.runstore.lost import StoreLost
from teal.runtime.runstore.sqlstore import Cursor, SqlRunStore

if TYPE_CHECKING:
    import psycopg

# pg_advisory_xact_lock's key for migrations ("teal" in ASCII): one process migrates at once
SCHEMA_LOCK = 0x7465616C


def _secrets(url: str) -> list[str]:
    """The password of a store URL, as written and decoded: in its user part (up to the
    last ``@``, which libpq does not split on) or as a ``password=`` parameter.

    >>> _secrets("postgresql://teal:p%40ss@db/runs?sslmode=require&password=two")
    ['p%40ss', 'p@ss', 'two']
    """
    rest = url.partition("://")[2]
    authority, _, query = rest.partition("?")
    found = []
    if "@" in authority:
        password = authority[: authority.rfind("@")].partition(":")[2]
        found += [password, unquote(password)]
    found += [value for key, value in parse_qsl(query) if key == "password"]
    return [s for s in dict.fromkeys(found) if s]


def masked(url: str) -> str:
    """The URL without its password, for messages and ``teal status``.

    >>> masked("postgresql://teal:s3cret@db:5432/runs")
    'postgresql://teal:***@db:5432/runs'
    >>> masked("postgresql://teal:s3@cret@db/runs?password=s3cret&sslmode=require")
    'postgresql://teal:***@db/runs?password=***&sslmode=require'
    """
    head, sep, rest = url.partition("://")
    authority, qmark, query = rest.partition("?")
    if "@" in authority:
        at = authority.rfind("@")
        user, colon, _ = authority[:at].partition(":")
        authority = f"{user}{colon and ':***'}{authority[at:]}"
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", query)
    return f"{head}{sep}{authority}{qmark}{query}"


SHORT = 6  # a password shorter than this is masked only where it stands alone


def redacted(text: str, url: str) -> str:
    """``text`` (a driver's message) without the password of ``url``, whole or in the
    pieces libpq may have split it into (an unescaped ``@`` or ``/`` in a password ends
    up in the host name it reports).

    >>> redacted("failed to resolve host 'cret@db'", "postgresql://teal:s3@cret@db/runs")
    "failed to resolve host '***@db'"
    >>> redacted("connection to port 1 failed: teal:p@db", "postgresql://teal:p@db/runs")
    'connection to port 1 failed: teal:***@db'
    """
    for secret in sorted(_secrets(url), key=len, reverse=True):
        if len(secret) >= SHORT:
            text = text.replace(secret, "***")
        else:  # a short one only where it stands alone: 'p' is in 'port' and 'accepting'
            text = re.sub(rf"(?<![\w*]){re.escape(secret)}(?![\w*])", "***", text)
        for piece in re.split(r"[@/:]", secret):
            if piece and piece != secret:
                text = re.sub(rf"(?<![\w*]){re.escape(piece)}(?![\w*])", "***", text)
    return text


def _connect_hint(message: str) -> str:
    """What to do about a failed connection, by what the server said."""
    if "password authentication failed" in message or "no password supplied" in message:
        return (
            "check the user and password of run_store / TEAL_RUN_STORE (or PGPASSWORD, ~/.pgpass)"
        )
    if re.search(r'database "[^"]*" does not exist', message):
        return "create the database (createdb NAME) or fix run_store / TEAL_RUN_STORE"
    return "start the server or fix run_store / TEAL_RUN_STORE"


class PostgresRunStore(SqlRunStore):
    NO_LIMIT = "ALL"
    # the runs retention deletes in one transaction, locked first; those another process's
    # retention holds are skipped (it deletes them), so two never wait on each other
    LOCK_BATCH = " FOR UPDATE SKIP LOCKED"
    RECONNECT_S = 10.0  # how long a lost connection is tried again before calls fail
    RECONNECT_EVERY_S = 0.25

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self.location = masked(url)
        self._lost_at: float | None = None  # when the connection was found lost (monotonic)
        self._closing = False
        self._conn = self._connect()

    def _open(self) -> psycopg.Connection[tuple[object, ...]]:
        import psycopg

        return psycopg.connect(self._url, autocommit=True, connect_timeout=10)

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        import psycopg

        try:
            return self._open()
        except psycopg.Error as exc:
            message = redacted(str(exc).strip(), self._url)
            raise WarehouseError(
                f"cannot reach the run store {self.location}: {message}",
                path="run_store",
                hint=_connect_hint(message),
            ) from None

    def _live(self) -> psycopg.Connection[tuple[object, ...]]:
        """The connection, opened again if the server closed it: tried for
        :attr:`RECONNECT_S` after the loss was found, then once per call (so a store that
        stays down fails each call at once instead of each waiting)."""
        import psycopg

        if not self._conn.closed or self._closing:
            return self._conn
        if self._lost_at is None:
            self._lost_at = time.monotonic()
        while True:
            try:
                self._conn = self._open()
            except psycopg.Error as exc:
                if time.monotonic() - self._lost_at >= self.RECONNECT_S:
                    raise StoreLost(
                        f"lost the run store {self.location}: "
                        + redacted(str(exc).strip(), self._url),
                        path="run_store",
                        hint=_LOST_HINT,
                    ) from None
                time.sleep(self.RECONNECT_EVERY_S)  # a restarting server: try again shortly
            else:
                self._lost_at = None
                return self._conn

    @contextmanager
    def _translated(self, conn: psycopg.Connection[tuple[object, ...]]) -> Iterator[None]:
        """Driver errors as teal errors: a connection the server closed is
        :class:`StoreLost` (the next call connects again), anything else a refusal."""
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            message = redacted(str(exc).strip(), self._url)
            if conn.broken:
                raise StoreLost(
                    f"lost the run store {self.location}: {message}",
                    path="run_store",
                    hint=_LOST_HINT,
                ) from exc
            raise WarehouseError(
                f"the run store {self.location} refused a statement: {message}",
                path="run_store",
                hint="`teal --debug ...` shows where; `teal migrate` brings the schema up to date",
            ) from exc

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        if self._joined is not None:  # inside atomic(): its transaction commits
            yield self._joined
            return
        conn = self._live()
        with self._translated(conn), conn.transaction(), conn.cursor() as cur:
            yield cast(Cursor, cur)

    @contextmanager
    def _pipeline(self) -> Iterator[object]:
        conn = self._live()
        with self._translated(conn), conn.pipeline() as pipeline:
            yield pipeline

    def _batch(self) -> AbstractContextManager[object]:
        return self._pipeline()

    @contextmanager
    def _reading(self) -> Iterator[Cursor]:
        conn = self._live()
        # autocommit: each read is its own snapshot
        with self._translated(conn), conn.cursor() as cur:
            yield cast(Cursor, cur)

    def _lock_schema(self, cur: Cursor) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

    def _has_table(self, cur: Cursor, name: str) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
        row = cur.fetchone()
        return bool(row and row[0])

    def _size_bytes(self) -> int:
        with self._lock, self._reading() as cur:
            cur.execute(
                "SELECT coalesce(sum(pg_total_relation_size(quote_ident(tablename))), 0) "
                "FROM pg_tables WHERE schemaname = current_schema() AND tablename IN "
                "('runs', 'steps', 'events', 'materializations', 'check_results', "
                "'teal_schema_version')"
            )
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._closing = True
            self._conn.close()


_LOST_HINT = (
    "the warehouse keeps what committed; once the store is back, `teal runs` shows this "
    "run (crashed when it ended meanwhile) and `teal retry last` builds what did not finish"
)
