"""The engine boundary: one DuckDB connection per process, a cursor per worker thread.

DuckDB lets one process open a file for writing; inside it, ``cursor()`` gives each thread
its own connection-like handle whose queries (and transactions) run in parallel.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from teal.compiler.errors import WarehouseError
from teal.compiler.sources import Source
from teal.warehouse import state


def quote(name: str) -> str:
    """A DuckDB-quoted identifier.

    >>> quote('marts'), quote('we"ird')
    ('"marts"', '"we""ird"')
    """
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}"


@contextmanager
def registered(cur: Any, data: Any, hint: Any = "") -> Iterator[str]:
    """Expose an Arrow-compatible object to SQL on ``cur`` for the block; yields its quoted
    name (DuckDB scans it in place, no copy)."""
    name = f"__teal_input_{abs(hash((id(data), hint)))}"
    cur.register(name, data)
    try:
        yield quote(name)
    finally:
        cur.unregister(name)


class Warehouse:
    """An open DuckDB warehouse. Thread-safe: each thread uses :meth:`cursor`."""

    def __init__(
        self, path: str | Path, *, sources: dict[str, Source] | None = None, read_only: bool = False
    ) -> None:
        import duckdb

        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            message = str(exc)
            if "lock" in message.lower():
                holder = re.search(r"\(PID (\d+)\)", message)
                raise WarehouseError(
                    f"the warehouse {self.path} is in use by another process"
                    + (f" (PID {holder.group(1)})" if holder else ""),
                    path=self.path,
                    hint="wait for the other build to finish, or close the program holding it",
                ) from None
            raise WarehouseError(f"cannot open the warehouse: {message}", path=self.path) from None
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open the warehouse: {exc}", path=self.path) from None
        self._local = threading.local()
        self._cursors: list[Any] = []
        self._lock = threading.Lock()
        if sources:
            self.attach_sources(sources)
        if not read_only:
            state.ensure(self.conn)

    def attach_sources(self, sources: dict[str, Source]) -> None:
        import duckdb

        attached = {
            row[0]
            for row in self.conn.execute("select database_name from duckdb_databases()").fetchall()
        }
        for src in sources.values():
            if src.kind != "duckdb" or src.name in attached:
                continue
            if src.path and "://" not in src.path and not Path(src.path).exists():
                raise WarehouseError(
                    f"source '{src.name}': database file {src.path} does not exist",
                    path=src.declared_in,
                    line=src.line,
                )
            try:
                self.conn.execute(
                    f"ATTACH {_literal(src.path or '')} AS {quote(src.name)} (READ_ONLY)"
                )
            except duckdb.Error as exc:
                raise WarehouseError(
                    f"cannot attach source '{src.name}': {exc}", path=src.declared_in, line=src.line
                ) from None

    def cursor(self) -> Any:
        """This thread's cursor (created on first use)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.conn.cursor()
            self._local.cursor = cur
            with self._lock:
                self._cursors.append(cur)
        return cur

    def ensure_schemas(self, schemas: set[str]) -> None:
        """Create schemas up front: concurrent CREATE SCHEMA in workers would conflict."""
        existing = {
            r[0]
            for r in self.conn.execute(
                "select schema_name from information_schema.schemata "
                "where catalog_name = current_database()"
            ).fetchall()
        }
        for schema in sorted(schemas - existing):
            self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")

    def close(self) -> None:
        with self._lock:
            for cur in self._cursors:
                try:
                    cur.close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
            self._cursors.clear()
        self.conn.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
