"""The DuckDB engine: one connection per process, a cursor per worker thread.

DuckDB lets one process open a file for writing; inside it, ``cursor()`` gives each thread
its own connection-like handle whose queries (and transactions) run in parallel.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import WarehouseError
from teal.compiler.sources import Source
from teal.warehouse.duckdb import state
from teal.warehouse.duckdb.cursor import DuckDBCursor
from teal.warehouse.duckdb.errors import open_error
from teal.warehouse.duckdb.io import registered
from teal.warehouse.duckdb.settings import configure, setting_error
from teal.warehouse.duckdb.sql import DIALECT, SQL, qualified, quote, string_literal
from teal.warehouse.engine import Catalog

if TYPE_CHECKING:
    from datetime import datetime

    import duckdb
    import pyarrow as pa

    from teal.compiler.engine_settings import DuckDBSettings
    from teal.compiler.plan import PlanState


# how many relations output_schemas looks up one by one rather than in one catalog scan
DESCRIBE_AT_MOST = 32


class DuckDBEngine:
    """An open DuckDB warehouse. Thread-safe: each thread uses :meth:`cursor`."""

    DIALECT = DIALECT
    GROUPS_STEPS = True  # DDL is transactional: several tables can share one commit

    def __init__(
        self,
        path: str | Path,
        *,
        sources: dict[str, Source] | None = None,
        read_only: bool = False,
        settings: DuckDBSettings | None = None,
        config_file: str | None = None,
        project_root: Path | None = None,
        connection: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        import duckdb

        self._path = str(path)
        if connection is not None:  # opened ahead, with these settings (preopen.py)
            self.conn = connection
        else:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            try:
                self.conn = duckdb.connect(
                    self._path,
                    read_only=read_only,
                    config=dict(settings.settings) if settings else {},
                )
            except duckdb.Error as exc:
                located = project_root / config_file if project_root and config_file else None
                raise (
                    setting_error(
                        exc, config_file, located, dict(settings.settings) if settings else None
                    )
                    or open_error(exc, self._path)
                ) from None
        # values of the connection's secrets, never shown in a message
        self._hidden: dict[str, str] = {}
        try:
            if settings:
                configure(self.conn, settings, config_file)
            if settings and settings.secrets:
                from teal.compiler.environment import environment
                from teal.warehouse.duckdb.secrets import create_secrets

                env = environment(project_root or Path.cwd())
                self._hidden = create_secrets(self.conn, settings.secrets, env, config_file)
        except BaseException:
            self.conn.close()
            raise
        self._local = threading.local()
        self._cursors: list[DuckDBCursor] = []
        self._lock = threading.Lock()
        # DuckDB's threads while steps run side by side: None where the project sets them
        self._shared_threads: _SharedThreads | None = (
            None if settings and _sets_threads(settings) else _SharedThreads()
        )
        # where publications of files are journaled (teal.warehouse.files.journal_dir)
        self._journals = None if self._path == ":memory:" else Path(self._path + ".journal")
        self._recovered: list[Any] = []
        if sources:
            self.attach_sources(sources)
        if not read_only:
            state.ensure(self.conn)
            if self._journals is not None and self._journals.is_dir():
                self._recover()

    def _recover(self) -> None:
        """Finish or undo the publications of files a killed process left, and say so."""
        from teal.warehouse.duckdb.external import recover

        self._recovered = recover(self.conn, self._journals)
        said = {
            "cleaned": "its temporaries were removed",
            "kept new": "its new files stay (they were committed)",
            "restored old": "the previous files were put back",
            "rebuild": "written again by the next build",
        }
        for found in self._recovered:
            keys = ""
            if found.keys:
                more = len(found.keys) - 3
                keys = f" (partitions {', '.join(found.keys[:3])}"
                keys += f" and {more} more)" if more > 0 else ")"
            logging.getLogger("teal").warning(
                "files of %s%s left by a killed process: %s",
                found.model,
                keys,
                said[found.outcome],
            )

    @property
    def recovered(self) -> list[Any]:
        return self._recovered

    def redact(self, text: str) -> str:
        """``text`` without the values of the connection's secrets."""
        if not self._hidden:
            return text
        from teal.warehouse.duckdb.secrets import redactor

        return redactor(self._hidden)(text)

    @property
    def path(self) -> str:
        return self._path

    def attach_sources(self, sources: dict[str, Source]) -> None:
        import duckdb

        attached = {
            row[0]
            for row in self.conn.execute("select database_name from duckdb_databases()").fetchall()
        }
        for src in sources.values():
            if src.kind != "duckdb" or src.name in attached:
                continue
            writable = not src.read_only  # a dbt profile's attach: (created when missing)
            if src.path and "://" not in src.path and not writable and not Path(src.path).exists():
                raise WarehouseError(
                    f"source '{src.name}': database file {src.path} does not exist",
                    path=src.declared_in,
                    line=src.line,
                )
            try:
                self.conn.execute(
                    f"ATTACH {string_literal(src.path or '')} AS {quote(src.name)}"
                    + ("" if writable else " (READ_ONLY)")
                )
            except duckdb.Error as exc:
                raise WarehouseError(
                    f"cannot attach source '{src.name}': {exc}", path=src.declared_in, line=src.line
                ) from None

    def cursor(self) -> DuckDBCursor:
        """This thread's cursor (created on first use)."""
        cur: DuckDBCursor | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = DuckDBCursor(
                self.conn.cursor(), self._journals, self.redact if self._hidden else None
            )
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
            self.conn.execute(SQL.create_schema(quote(schema)))

    def steps_running(self, count: int) -> None:
        """Share DuckDB's threads among the steps running at once.

        DuckDB's ``threads`` counts the thread of each connection running a query plus
        ``threads - 1`` workers shared by all. With several steps in flight, each query
        also taking every worker made them contend: sharing built the benchmark's projects
        faster, light and heavy alike (bench/README.md). So ``threads = cores - count + 1``
        (at least 1): a step running alone gets every core, and 0 (the run is over) puts
        back what DuckDB had. A project that sets ``threads`` in [duckdb] keeps them."""
        import duckdb

        shared = self._shared_threads
        if shared is None:
            return
        try:
            shared.want(count, self.conn)
        except duckdb.Error:  # a speed-up only: a closed or broken connection says why
            logging.getLogger("teal").debug("DuckDB's threads not shared", exc_info=True)

    def catalog(self) -> Catalog:
        """Relation kinds, read once (on this thread's cursor, closed with the engine)."""
        rows = (
            self.cursor()
            .native.execute(
                "select table_schema, table_name, table_type from information_schema.tables "
                "where table_catalog = current_database()"
            )
            .fetchall()
        )
        return Catalog((s, n, "view" if kind == "VIEW" else "table") for s, n, kind in rows)

    def plan_state(self, relations: bool = True) -> PlanState:
        return state.plan_state(self.conn, relations)

    def partition_state(self, model: str | None = None) -> dict[str, dict[str, dict[str, Any]]]:
        return state.partition_state(self.conn, model)

    def change_dynamic_partitions(
        self, name: str, add: list[str], remove: list[str]
    ) -> tuple[list[str], list[str]]:
        from datetime import UTC, datetime

        at = datetime.now(UTC).replace(tzinfo=None)
        return state.change_dynamic_partitions(self.conn, name, add, remove, at)

    def record_run(
        self,
        *,
        run_id: str,
        command: str,
        started_at: datetime,
        finished_at: datetime,
        status: str,
        selected: int,
        succeeded: int,
        failed: int,
        skipped: list[str],
    ) -> None:
        state.record_run(
            self.conn,
            run_id=run_id,
            command=command,
            started_at=started_at,
            finished_at=finished_at,
            status=status,
            selected=selected,
            succeeded=succeeded,
            failed=failed,
            skipped=skipped,
        )

    def prune_history(self, days: int | None, now: datetime) -> dict[str, int]:
        import duckdb

        from teal.warehouse.duckdb import state_history

        if days is None or not state_history.due(self.conn, now):
            return {}
        try:
            return state_history.prune(self.conn, days, now)
        except duckdb.Error as exc:  # rolled back: the build stands, the history stays
            logging.getLogger("teal").warning("the state history was not pruned: %s", exc)
            return {}

    def read_relation(self, schema: str, name: str) -> pa.Table:
        return self.conn.sql(SQL.select_all(qualified(schema, name))).to_arrow_table()

    def preview(self, schema: str, name: str, limit: int) -> pa.Table:
        return self.conn.sql(SQL.select_all(qualified(schema, name), limit=limit)).to_arrow_table()

    def write_table(self, schema: str, name: str, data: Any) -> None:
        with registered(self.conn, data, name) as view:
            self.conn.execute(SQL.create_as(qualified(schema, name), SQL.select_all(view)))

    def output_schemas(
        self, relations: list[tuple[str, str]]
    ) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """(schema, name) -> its columns and their types, in order, in one query."""
        wanted = {(s.lower(), n.lower()) for s, n in relations}
        if not wanted:
            return {}
        out: dict[tuple[str, str], list[tuple[str, str]]] = {}
        if len(wanted) <= DESCRIBE_AT_MOST:
            # a few relations: looked up by name, each well under a millisecond, where
            # the query below scans every column of the catalog (tens of milliseconds in
            # a warehouse of 10,000 tables)
            import duckdb

            database = quote(self.conn.execute("select current_database()").fetchall()[0][0])
            for schema, name in sorted(wanted):
                try:
                    found = f"{database}.{qualified(schema, name)}"
                    rows = self.conn.execute(f"describe {found}").fetchall()
                except duckdb.CatalogException:  # not there: left out, as the query does
                    continue
                out[(schema, name)] = [(str(row[0]), str(row[1])) for row in rows]
            return out
        # only the tables asked for cross into Python: a 10,000-table warehouse has about
        # 100,000 columns, and fetching them all cost more than the query
        for schema, name, column, kind in self.conn.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns where table_catalog = current_database() "
            "and list_contains(?, lower(table_name)) "
            "order by table_schema, table_name, ordinal_position",
            [sorted({n for _, n in wanted})],
        ).fetchall():
            key = (schema.lower(), name.lower())
            if key in wanted:
                out.setdefault(key, []).append((column, kind))
        return out

    def close(self) -> None:
        if self._shared_threads is not None:
            self._shared_threads.close()
        with self._lock:
            for cur in self._cursors:
                try:
                    cur.native.close()
                except Exception:  # noqa: BLE001 - closing is best effort
                    pass
            self._cursors.clear()
        self.conn.close()
        if self._journals is not None:  # no publication is running any more
            with contextlib.suppress(OSError):
                self._journals.rmdir()

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SharedThreads:
    """DuckDB's ``threads`` as the steps running at once want it, set on a thread of its
    own: lowering it waits for DuckDB's workers to finish the task in hand, which in a
    heavy query may take a second, and the scheduler that asks must not wait for that."""

    def __init__(self) -> None:
        self.cores: int | None = None  # DuckDB's setting when the first step started
        self._wanted: int | None = None
        self._set: int | None = None
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def want(self, running: int, conn: duckdb.DuckDBPyConnection) -> None:
        """Ask for the setting ``running`` steps share; with none running (the run is
        over), wait until it is back to DuckDB's own, and end the thread (a process that
        has threads does not fork, and teal forks to load and compile in parallel)."""
        with self._changed:
            if self.cores is None:
                row = conn.execute("select current_setting('threads')").fetchone()
                self.cores = self._set = int(row[0]) if row else 1
            self._wanted = self.cores if running <= 1 else max(1, self.cores - running + 1)
            if self._wanted == self._set and self._thread is None:
                return
            if self._thread is None:
                cursor = conn.cursor()  # made here: the connection is this thread's
                self._thread = threading.Thread(
                    target=self._apply, args=(cursor,), name="teal-threads", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()
        if running <= 0:
            self.settled()
            self.close()
            self._thread, self._closed = None, False  # the next run starts one again

    def settled(self) -> None:
        """Wait until the setting asked for last is the one DuckDB has."""
        with self._changed:
            self._changed.wait_for(lambda: self._set == self._wanted or self._closed)

    def _apply(self, cursor: duckdb.DuckDBPyConnection) -> None:
        import duckdb

        try:
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._closed or self._wanted != self._set)
                    if self._closed:
                        return
                    wanted = self._wanted
                try:
                    cursor.execute(f"SET threads = {wanted}")
                except duckdb.Error:  # the connection closed under it: nothing to share
                    logging.getLogger("teal").debug("DuckDB's threads not set", exc_info=True)
                with self._changed:
                    self._set = wanted
                    self._changed.notify_all()
        finally:
            cursor.close()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()


def _sets_threads(settings: DuckDBSettings) -> bool:
    return any(key.lower() in ("threads", "worker_threads") for key in settings.settings)
