"""The Spark engine: a warehouse folder (tables, metastore, state) and the process's
Spark session, with a cursor per worker thread.

Opened for writing it holds the folder's lock (one writing process, as DuckDB's file lock
allows) and makes sure the ``teal`` state tables exist. Closing it renews the folder's
stamp file when anything was written, which is how a cached plan state
(runtime/kept_state.py) learns that the warehouse changed; the session itself stays up for
the next engine of this process.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.warehouse.engine import Catalog
from teal.warehouse.spark import io, layout, state
from teal.warehouse.spark.cursor import SparkCursor
from teal.warehouse.spark.materializations import create_table
from teal.warehouse.spark.session import SparkSQL, WriterLock, quote, start_session

if TYPE_CHECKING:
    import pyarrow as pa

    from teal.compiler.plan import PlanState
    from teal.compiler.sources import Source
    from teal.compiler.spark_settings import SparkSettings

DIALECT = "spark"


class SparkEngine:
    """An open Spark warehouse. Thread-safe: each thread uses :meth:`cursor`."""

    DIALECT = DIALECT
    GROUPS_STEPS = False  # no transactions: each step publishes on its own

    def __init__(
        self,
        settings: SparkSettings,
        *,
        sources: dict[str, Source] | None = None,
        read_only: bool = False,
    ) -> None:
        self.settings = settings
        self._lock = None if read_only else WriterLock(settings.warehouse_dir)
        try:
            session = start_session(settings)
            self.sql = SparkSQL(session, settings)
            if settings.catalog:
                self.sql.run(f"SET CATALOG {quote(settings.catalog)}")
            if settings.database:
                self.sql.run(f"USE {quote(settings.database)}")
            if sources:
                self.attach_sources(sources)
            if not read_only:
                state.ensure(self.sql)
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        self._local = threading.local()
        self._read_only = read_only

    @property
    def path(self) -> str:
        return str(self.settings.warehouse_dir)

    @property
    def recovered(self) -> list[Any]:
        return []  # no files of external models to recover: Spark does not write them yet

    def cursor(self) -> SparkCursor:
        cur: SparkCursor | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = SparkCursor(self.sql)
            self._local.cursor = cur
        return cur

    def ensure_schemas(self, schemas: set[str]) -> None:
        for schema in sorted(schemas):
            self.sql.ensure_database(schema)

    def steps_running(self, count: int) -> None:
        """Spark schedules its own executors: nothing to share."""

    def attach_sources(self, sources: dict[str, Source]) -> None:
        """Catalog tables are read by name; file sources through the tables over files
        that their reads create (teal.warehouse.spark.transpile). A source in another
        DuckDB file cannot be read by Spark: an error naming it."""
        from teal.compiler.errors import WarehouseError

        for src in sources.values():
            if src.kind == "duckdb":
                raise WarehouseError(
                    f"source '{src.name}' is a DuckDB file, which Spark cannot read",
                    path=src.declared_in,
                    line=src.line,
                    hint="load its tables into the Spark catalog and declare them as a "
                    "source there (docs/spark.md)",
                )

    def _relations(self) -> list[tuple[str, str, str]]:
        """(database, name, kind) of every relation; a partitioned model's view is its
        table, and its data tables are not listed (teal.warehouse.spark.layout)."""
        out = []
        catalog = self.sql.session.catalog
        for database in catalog.listDatabases():
            found: dict[str, str] = {}
            partitioned: set[str] = set()
            for table in catalog.listTables(database.name):
                if table.isTemporary:
                    continue
                data = layout.DATA_NAME.match(table.name)
                if data:
                    partitioned.add(data.group("model").lower())
                else:
                    kind = "view" if str(table.tableType).upper() == "VIEW" else "table"
                    found[table.name] = kind
            for name, kind in found.items():
                out.append((database.name, name, "table" if name.lower() in partitioned else kind))
        return out

    def catalog(self) -> Catalog:
        return Catalog(self._relations())

    def plan_state(self, relations: bool = True) -> PlanState:
        from teal.compiler.plan import PlanState

        listed = (
            frozenset(f"{s}.{n}".lower() for s, n, _ in self._relations()) if relations else None
        )
        if not self.sql.session.catalog.tableExists(f"{state.SCHEMA}.builds"):
            return PlanState(relations=listed)
        return state.plan_state(self.sql, listed)

    def partition_state(self, model: str | None = None) -> dict[str, dict[str, dict[str, Any]]]:
        if not self.sql.session.catalog.tableExists(f"{state.SCHEMA}.partitions"):
            return {}
        return state.partition_state(self.sql, model)

    def output_schemas(
        self, relations: list[tuple[str, str]]
    ) -> dict[tuple[str, str], list[tuple[str, str]]]:
        out: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, name in relations:
            try:
                fields = self.sql.session.table(self.sql.relation(schema, name)).schema.fields
            except Exception:  # noqa: BLE001 - not built (a failed or skipped model)
                continue
            out[(schema.lower(), name.lower())] = [
                (f.name, f.dataType.simpleString().upper()) for f in fields
            ]
        return out

    def change_dynamic_partitions(
        self, name: str, add: list[str], remove: list[str]
    ) -> tuple[list[str], list[str]]:
        at = datetime.now(UTC).replace(tzinfo=None)
        return state.change_dynamic_partitions(self.sql, name, add, remove, at)

    def prune_history(self, days: int | None, now: datetime) -> dict[str, int]:
        """Spark's state tables are Parquet, which deletes no rows in place: they keep every
        row (docs/spark.md)."""
        return {}

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
        state.insert(
            self.sql,
            "runs",
            [
                (
                    run_id,
                    command,
                    started_at,
                    finished_at,
                    status,
                    selected,
                    succeeded,
                    failed,
                    len(skipped),
                    skipped,
                )
            ],
        )

    def read_relation(self, schema: str, name: str) -> pa.Table:
        return io.collect(self.sql.session.table(self.sql.relation(schema, name)))

    def preview(self, schema: str, name: str, limit: int) -> pa.Table:
        return io.collect(self.sql.session.table(self.sql.relation(schema, name)).limit(limit))

    def write_table(self, schema: str, name: str, data: Any) -> None:
        with io.staged(self.sql, data) as source:
            create_table(self.sql, schema, name, f"SELECT * FROM {source}")

    def close(self) -> None:
        if self.sql.wrote:
            stamp: Path = self.settings.stamp
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(datetime.now(UTC).isoformat() + "\n", encoding="utf-8")
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
