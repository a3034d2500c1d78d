"""The production run store: Postgres through psycopg 3."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import cast

from teal.compiler.errors import WarehouseError
from teal.runtime.runstore.sqlstore import Cursor, SqlRunStore


def masked(url: str) -> str:
    """The URL without its password, for messages and ``teal status``.

    >>> masked("postgresql://teal:s3cret@db:5432/runs")
    'postgresql://teal:***@db:5432/runs'
    """
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PostgresRunStore(SqlRunStore):
    NO_LIMIT = "ALL"

    def __init__(self, url: str) -> None:
        super().__init__()
        import psycopg

        self.location = masked(url)
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise WarehouseError(
                f"cannot reach the run store {self.location}: {str(exc).strip()}",
                path="run_store",
                hint="start the server or fix run_store / TEAL_RUN_STORE; nothing was built",
            ) from None

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        if self._joined is not None:  # inside atomic(): its transaction commits
            yield self._joined
            return
        with self._conn.transaction(), self._conn.cursor() as cur:
            yield cast(Cursor, cur)

    def _batch(self) -> AbstractContextManager[object]:
        return self._conn.pipeline()

    @contextmanager
    def _reading(self) -> Iterator[Cursor]:
        with self._conn.cursor() as cur:  # autocommit: each read is its own snapshot
            yield cast(Cursor, cur)

    def _has_table(self, cur: Cursor, name: str) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
        row = cur.fetchone()
        return bool(row and row[0])

    def _size_bytes(self) -> int:
        with self._lock, self._conn.cursor() as cur:
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
            self._conn.close()
