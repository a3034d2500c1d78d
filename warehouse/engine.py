"""The engine boundary: what runtime/ may ask of a warehouse, as Protocols.

An :class:`Engine` is the open warehouse of one process (one writer per file); each worker
thread asks it for its own :class:`EngineCursor`, on which every step runs as one
transaction. DuckDB (``teal.warehouse.duckdb``) is the one implementation; a second engine
implements these Protocols and passes ``tests/engine``. Nothing here is engine SQL: the
records and errors below are shared by every implementation.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from teal.compiler.checks import CheckDef
    from teal.compiler.config import ProjectConfig
    from teal.compiler.external import ExternalSpec
    from teal.compiler.plan import PlanState
    from teal.compiler.sources import Source
    from teal.warehouse.duckdb.preopen import Preopened
    from teal.warehouse.duckdb.typing import Binder, Typed, TypedQuery

ENGINES = ("duckdb", "spark")

# audit(cursor, relation_sql): checks the new relation before it is published; raises to
# keep the old one (write-audit-publish)
Audit = Callable[["EngineCursor", str], None]
# a partitioned rebuild's part: (key, SQL or a callable giving Arrow-compatible rows, filter)
Part = tuple[str, "str | Callable[..., Any]", str]
Window = tuple[str, datetime, datetime]


class PartitionWrite(NamedTuple):
    """One partition of a group replaced together (``replace_partition_group``)."""

    key: str
    sql: str  # the partition's query, filled in
    partition_filter: str  # selects the partition's rows of the table
    audit: Audit | None  # checks its new rows before the commit (write-audit-publish)


class PartitionRowsError(Exception):
    """A partition's query returned rows that belong to other partitions; said with what
    to do, as a second line (a model reading a partitioned model through a view, with no
    filter of its own, returns every partition's rows)."""

    HINT = (
        "hint: a partition's query returns only its rows: filter on {{ partition.start }} "
        "and {{ partition.end }} (or {{ partition.key }}), also where the rows come through "
        "a view; a Python asset on context.partition_window or partition_key"
    )

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.HINT}"


class CheckAborted(RuntimeError):
    """A check's query failed while running (not binding) and aborted the transaction it
    audited in, so the other checks could not run there: ``checks`` -> the error."""

    def __init__(self, checks: dict[str, str]) -> None:
        self.checks = checks
        names = ", ".join(checks)
        super().__init__(f"check {names} could not run: {next(iter(checks.values()))}")


class SchemaChangeError(Exception):
    """An incremental run's query has other columns than the table it adds rows to."""


@dataclass(frozen=True)
class Built:
    rows: int | None
    started_at: datetime
    finished_at: datetime
    # rows of each partition a range was built into (replace_partitions_single_run)
    parts: tuple[tuple[str, int], ...] = ()


class Catalog:
    """Which relations exist (table or view), read once per run and kept current by the
    run's own commits.

    Asking the warehouse per model costs more than building a small model. Only teal's own
    steps change a model's relation during a run, and each relation is built by one step
    at a time. Names compare case-insensitively.
    """

    def __init__(self, kinds: Iterable[tuple[str, str, str]]) -> None:
        self._kinds = {(schema.lower(), name.lower()): kind for schema, name, kind in kinds}
        self._lock = threading.Lock()
        # a digest of the SQL of views this run created (a view over files is replaced only
        # when its SQL changes: teal.warehouse.duckdb.external)
        self._views: dict[tuple[str, str], str] = {}
        # what the engine learnt once per run and step: the columns of a model's query
        self._memo: dict[tuple[str, ...], object] = {}

    def kind(self, schema: str, name: str) -> str | None:
        with self._lock:
            return self._kinds.get((schema.lower(), name.lower()))

    def note(self, schema: str, name: str, kind: str | None, view_sql: str | None = None) -> None:
        """Record what a committed transaction left at ``schema.name`` (for a view, a digest
        of its SQL when the caller keeps one)."""
        key = (schema.lower(), name.lower())
        with self._lock:
            self._views.pop(key, None)
            if kind is None:
                self._kinds.pop(key, None)
            else:
                self._kinds[key] = kind
                if view_sql is not None:
                    self._views[key] = view_sql

    def remember(self, key: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        """``compute()``, once per ``key`` in this run (the columns of a model's SQL, the
        same for each of its partitions)."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._lock:
            self._memo[key] = value
        return value

    def recall(self, key: tuple[str, ...]) -> object | None:
        """What :meth:`keep` kept under ``key`` in this run, or None."""
        with self._lock:
            return self._memo.get(key)

    def keep(self, key: tuple[str, ...], value: object) -> None:
        """Remember ``value`` under ``key`` for the rest of this run."""
        with self._lock:
            self._memo[key] = value

    def view_sql(self, schema: str, name: str) -> str | None:
        """The digest noted with the view at ``schema.name`` in this run, if any."""
        with self._lock:
            return self._views.get((schema.lower(), name.lower()))


class Store(Protocol):
    """Where a Python asset's rows go instead of a table: its I/O manager, bound to one
    step by the runtime. The engine audits the rows first and calls :meth:`save` in the
    transaction that records them."""

    def save(self, data: pa.Table, keys: tuple[str, ...]) -> None:
        """Keep ``data`` (the rows of partitions ``keys``; none for the whole asset)."""
        ...

    def relation(self) -> str | None:
        """A table expression the engine reads the saved rows with (a view is registered
        over it under the asset's relation), or None: SQL cannot read them."""
        ...


class StepGroup:
    """Several steps' transactions made one (``EngineCursor.open_group``): each step writes
    its data as it would alone, but ``BEGIN`` and ``COMMIT`` are the group's, its state
    rows are kept here and written by the engine just before the commit (one statement
    per state table for the whole group), and what a step notes after its commit (its
    relation's kind) waits for the group's (runtime/step_groups.py)."""

    def __init__(self) -> None:
        self._after: list[Callable[[], None]] = []
        self.rows: dict[str, list[Sequence[object]]] = {}  # state table -> rows to insert

    def defer(self, table: str, row: Sequence[object]) -> None:
        self.rows.setdefault(table, []).append(row)

    def after_commit(self, then: Callable[[], None]) -> None:
        self._after.append(then)

    def committed(self) -> None:
        for then in self._after:
            then()
        self._after.clear()

    def rolled_back(self) -> None:
        self._after.clear()
        self.rows.clear()


@dataclass(frozen=True)
class BuildTarget:
    """What a materialization needs to know about the model it builds."""

    model: str
    schema: str
    name: str
    materialization: str
    sql_hash: str
    run_id: str
    catalog: Catalog | None = field(default=None, compare=False)  # None: ask the warehouse
    # the data version the build records (compiler/versions.py): the whole model's, and
    # each partition's by key
    data_version: str = ""
    partition_versions: Mapping[str, str] = field(default_factory=dict, compare=False)
    # an incremental model whose query's columns differ from its table's: ignore (insert
    # the columns the table has), fail, append_new_columns or sync_all_columns (as dbt)
    on_schema_change: str = "fail"
    # how a schema change's error says to rebuild it (compiler/schema_change.rebuild_hint:
    # not --full-refresh where the model's config refuses that flag)
    rebuild: str = ""
    # materialized='external': every materialization writes files there instead of a
    # table, with a view over them under the relation (compiler/external.py)
    external: ExternalSpec | None = None
    # a Python asset an I/O manager stores: its rows are saved by it instead
    store: Store | None = field(default=None, compare=False)
    # built inside a transaction several steps share: the group begins and commits it
    group: StepGroup | None = field(default=None, compare=False)

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def rebuild_hint(self) -> str:
        """How an error says to rebuild the model (as :attr:`rebuild` says, when set)."""
        return self.rebuild or f"rebuild it: `teal build -s {self.model} --full-refresh`"

    def committed(self, kind: str | None, view_sql: str | None = None) -> None:
        if self.catalog is not None:
            self.catalog.note(self.schema, self.name, kind, view_sql)


@dataclass
class Measured:
    """A SQL check's raw result on one relation (judging it is the runtime's job)."""

    check: CheckDef
    failing: int | None  # None: the check's query itself failed
    sql: str
    duration_ms: float
    sample: list[dict[str, Any]]
    error: str | None = None
    failures: Any = None  # Arrow table of failing rows, when they are to be stored


@dataclass(frozen=True)
class CheckRecord:
    """One row of the check results the engine keeps (``teal.check_results``)."""

    run_id: str
    check: CheckDef
    partition: str | None
    status: str
    failing: int | None
    sample_rows: list[dict[str, Any]]
    sql: str
    duration_ms: float
    message: str | None


class EngineCursor(Protocol):
    """One worker thread's handle on the engine. Each method that changes data runs in one
    transaction with the state row that records it, and calls ``audit`` before its commit.

    The materializations honour the target: with ``target.external`` they write files
    (staged beside the location, audited there, swapped in with the view over them and the
    state row), with ``target.store`` they audit the rows and hand them to the I/O manager;
    a caller builds a table, a partition or a range of them the same way either way."""

    @property
    def native(self) -> Any:
        """The engine's own cursor (``context.cursor`` of a Python asset)."""
        ...

    def relation_kind(self, target: BuildTarget) -> str | None:
        """``"table"``, ``"view"`` or None: what is at the target's relation now."""
        ...

    def interrupt(self) -> None:
        """Stop the query this cursor runs now (its transaction rolls back): how a canceled
        run stops a SQL step in flight. Safe to call from another thread."""
        ...

    def run_statements(self, sql: str) -> None:
        """Run the user's statements as they are (a dbt project's on-run-start/end hooks)."""
        ...

    def time_zone(self, zone: str) -> AbstractContextManager[None]:
        """Within the block, the zone a time without one is read in (a partitioned model's
        steps: its window bounds are wall-clock times in its partitions' zone, and a
        ``TIMESTAMPTZ`` column is compared with them in that zone, on any machine)."""
        ...

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of the user's query (a dbt model's ``run_query``)."""
        ...

    def user_transaction(self) -> AbstractContextManager[None]:
        """The user's statements run within the block (``query``, ``run_statements``) as
        one transaction: committed when the block ends, rolled back when it raises (``teal
        run-operation``, as dbt commits an operation at its end). A statement of the user's
        that ends the transaction itself (``commit``) leaves nothing to commit then."""
        ...

    def relation_sql(self, schema: str, name: str) -> str:
        """How the engine's SQL names ``schema.name`` (quoted)."""
        ...

    def open_group(self) -> StepGroup | None:
        """Begin one transaction for several steps (their targets carry the group), or
        None: this engine runs each step on its own."""
        ...

    def close_group(self, group: StepGroup, commit: bool) -> None:
        """Commit the group's transaction (then its steps' notes), or roll it back (this
        never raises: the transaction may already be aborted)."""
        ...

    # -- materializations ----------------------------------------------------------------
    def create_view(self, target: BuildTarget, sql: str, audit: Audit | None = None) -> Built: ...
    def build_table(self, target: BuildTarget, sql: str, audit: Audit | None = None) -> Built: ...
    def write_table(self, target: BuildTarget, data: Any, audit: Audit | None = None) -> Built: ...
    def incremental_append(
        self, target: BuildTarget, sql: str, audit: Audit | None = None
    ) -> Built: ...
    def incremental_upsert(
        self,
        target: BuildTarget,
        sql: str,
        unique_key: Sequence[str],
        audit: Audit | None = None,
        predicates: Sequence[str] = (),
        one_row_per_key: bool = False,
    ) -> Built: ...
    def replace_partition(
        self,
        target: BuildTarget,
        key: str,
        source: Any,
        partition_filter: str,
        *,
        exists: bool | None = None,
        has_rows: bool = True,
        audit: Audit | None = None,
    ) -> Built: ...
    def replace_partition_group(
        self,
        target: BuildTarget,
        writes: Sequence[PartitionWrite],
        *,
        has_rows: bool = True,
        covering: str | None = None,
    ) -> list[int]:
        """Replace several partitions of the existing table in one transaction, each from
        its own query, with their state rows; any failure keeps all of them old. The rows
        of each write, in order. ``covering``: a predicate selecting exactly the writes'
        partitions together, when there is one cheaper than the OR of their filters."""
        ...

    def rebuild_partitions(
        self, target: BuildTarget, parts: list[Part], audit: Audit | None = None
    ) -> Built: ...
    def replace_partitions_single_run(
        self,
        target: BuildTarget,
        windows: list[Window],
        source: Any,
        column: str,
        audit: Audit | None = None,
    ) -> Built: ...

    # -- state ---------------------------------------------------------------------------
    def record_failure(self, target: BuildTarget, started: datetime, message: str) -> None: ...
    def record_partition_failure(
        self, target: BuildTarget, key: str, started: datetime, message: str
    ) -> None: ...
    def record_step(self, target: BuildTarget, started: datetime, rows: int) -> None: ...

    # -- checks --------------------------------------------------------------------------
    def measure(self, relation_sql: str, checks: list[CheckDef]) -> list[Measured]: ...
    def sample(self, measured: Measured, relation_sql: str, keep_failures: bool) -> None: ...
    def record_check_results(self, records: list[CheckRecord]) -> None: ...
    def store_failures(self, check_name: str, rows: Any) -> str: ...

    # -- Arrow in, errors out ------------------------------------------------------------
    def load(self, select_sql: str, kind: str) -> Any:
        """Rows of ``select_sql`` as ``kind`` (arrow, arrow_reader, polars, polars_lazy,
        pandas, or the engine's own relation)."""
        ...

    def load_relation(self, schema: str, name: str, kind: str) -> Any: ...
    def load_data(self, data: Any, kind: str, select_sql: str = "", relation: str = "") -> Any:
        """Arrow-compatible ``data`` (what an I/O manager loaded) as ``kind``; with
        ``select_sql``, the rows of that query with ``relation`` (its text) reading
        ``data`` (a partition's filter)."""
        ...

    def describe_error(
        self, exc: BaseException, raw_sql: str | None
    ) -> tuple[str, int | None, int | None]:
        """A person's message for an engine error, and the best-guess line and column of
        ``raw_sql`` (the model as written) it is about."""
        ...

    def missing_column(self, exc: BaseException) -> tuple[str, tuple[str, ...]] | None:
        """The column an engine error says a query names and no table it reads has, with
        the names the engine suggests instead; None for an error of another kind."""
        ...

    def raised_by_rows(self, exc: BaseException) -> bool:
        """Whether ``exc`` was raised by the values a query read (a cast or a function
        failing on a row), not by the query's text: such an error of a table's query may
        come from a view it reads (runtime/view_errors.py)."""
        ...

    def evaluation_error(self, schema: str, name: str) -> BaseException | None:
        """What evaluating every row and column of the relation ``schema.name`` raises, or
        None: it evaluates. Asked of the views a failed table reads, to tell which one's
        SQL raised its error (runtime/view_errors.py); it reads all their rows."""
        ...


class Engine(Protocol):
    """An open warehouse, for one process. Thread-safe: each thread uses :meth:`cursor`."""

    DIALECT: str
    # whether several steps may share one transaction (EngineCursor.open_group)
    GROUPS_STEPS: bool

    @property
    def path(self) -> str: ...

    def close(self) -> None:
        """Let go of the warehouse; closing a closed engine does nothing."""
        ...

    def __enter__(self) -> Engine: ...
    def __exit__(self, *exc: object) -> None: ...
    def cursor(self) -> EngineCursor:
        """This thread's cursor (created on first use, closed with the engine)."""
        ...

    @property
    def recovered(self) -> list[Any]:
        """What opening the warehouse did with publications of files a killed process
        left (``teal.warehouse.files.Recovered``): finished, undone or marked to rebuild."""
        ...

    def ensure_schemas(self, schemas: set[str]) -> None: ...
    def steps_running(self, count: int) -> None:
        """How many steps run at once now: the executor says so before it starts steps
        and after they finish (0 when the run is over), so the engine may share its cores
        among them. It must not wait for running queries."""
        ...

    def attach_sources(self, sources: dict[str, Source]) -> None: ...
    def catalog(self) -> Catalog: ...
    def plan_state(self, relations: bool = True) -> PlanState:
        """What the planner knows from earlier runs; ``relations``: also list the
        relations that exist (a listing of the whole catalog, which only a plan that
        skips unchanged models reads: ``PlanState.relations`` is None without it)."""
        ...

    def partition_state(self, model: str | None = None) -> dict[str, dict[str, dict[str, Any]]]: ...
    def output_schemas(
        self, relations: list[tuple[str, str]]
    ) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """(schema, name) -> its columns and their types, in order, in one query."""
        ...

    def change_dynamic_partitions(
        self, name: str, add: list[str], remove: list[str]
    ) -> tuple[list[str], list[str]]:
        """Add and remove keys of a dynamic partition set; (added, removed)."""
        ...

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
    ) -> None: ...
    def prune_history(self, days: int | None, now: datetime) -> dict[str, int]:
        """Delete state rows older than ``days`` (None: keep all) that no plan reads, at most
        once a day; how many rows went from each table (empty when it did not run)."""
        ...

    def read_relation(self, schema: str, name: str) -> pa.Table: ...
    def preview(self, schema: str, name: str, limit: int) -> pa.Table:
        """The first ``limit`` rows of ``schema.name`` (the UI's data preview)."""
        ...

    def write_table(self, schema: str, name: str, data: Any) -> None:
        """Create or replace ``schema.name`` from Arrow-compatible ``data``."""
        ...


@contextmanager
def open_ahead(config: ProjectConfig) -> Iterator[Preopened | None]:
    """Start opening the project's DuckDB warehouse file for writing on a thread, for
    :func:`open_engine` to take (warehouse/duckdb/preopen.py); closed on leaving if
    nothing took it. None for other engines, for a file that does not exist yet, and for
    dbt projects, whose templates may query the warehouse read-only while they load
    (DuckDB refuses that beside an open for writing in the same process)."""
    kind = str(getattr(config, "engine", None) or "duckdb")
    path = str(config.warehouse_path)
    if kind != "duckdb" or config.dbt is not None:
        yield None
        return
    if path == ":memory:" or not os.path.exists(path):
        yield None
        return
    from teal.warehouse.duckdb.preopen import Preopened

    settings = config.duckdb
    ahead = Preopened(path, {**settings.settings} if settings else {})
    try:
        yield ahead
    finally:
        ahead.close()


def open_engine(
    config: ProjectConfig,
    *,
    read_only: bool = False,
    sources: dict[str, Source] | None = None,
    path: str | Path | None = None,
    ahead: Preopened | None = None,
) -> Engine:
    """Open the project's warehouse with its engine (``path`` overrides the config's;
    ``ahead``: the connection :func:`open_ahead` started, taken when it opened)."""
    kind = str(getattr(config, "engine", None) or "duckdb")
    if kind == "duckdb":
        from teal.warehouse.duckdb import DuckDBEngine

        where = config.warehouse_path if path is None else path
        return DuckDBEngine(
            where,
            sources=sources,
            read_only=read_only,
            settings=config.duckdb,
            config_file=config.config_path.name,
            project_root=config.root,
            connection=ahead.take() if ahead is not None and not read_only else None,
        )
    spark = getattr(config, "spark", None)
    if kind == "spark" and spark is not None:
        from teal.warehouse.spark import SparkEngine

        return SparkEngine(spark, sources=sources, read_only=read_only)
    from teal.compiler.errors import WarehouseError

    raise WarehouseError(f"unknown engine {kind!r}", hint="use one of " + ", ".join(ENGINES))


def sql_problems(config: ProjectConfig, models: Iterable[Any]) -> list[Any]:
    """What the project's engine cannot run of these models' SQL, as located
    ``ProjectError``s (none on DuckDB, whose dialect the models are written in). Asked by
    ``teal validate`` and by a build before anything runs; pure: no warehouse is opened."""
    if str(getattr(config, "engine", None) or "duckdb") != "spark":
        return []
    from teal.warehouse.spark.located import model_problems

    return model_problems(models)


def settings_problems(config: ProjectConfig) -> list[Any]:
    """What the engine refuses of the project's engine settings, located in the project
    file (``teal validate``; a build finds them when it opens the warehouse)."""
    if str(getattr(config, "engine", None) or "duckdb") != "duckdb" or config.dbt is not None:
        return []
    from teal.warehouse.duckdb.settings import settings_problems as duckdb_problems

    return duckdb_problems(dict(config.duckdb.settings), config.config_path)


def type_binder(
    queries: Sequence[TypedQuery], known: Mapping[str, Typed], workers: int = 1
) -> Binder:
    """A binder of ``queries`` against zero-row stand-ins (warehouse/duckdb/typing.py):
    their types first (``types()``), then names against stand-ins of untyped names
    (``names()``), ``workers`` queries at once; closed by the caller."""
    from teal.warehouse.duckdb.typing import Binder

    return Binder(queries, known, workers)


def deferred_columns(
    config: ProjectConfig,
    path: Path,
    relations: Iterable[tuple[str, str]],
    flag: str,
    wait: float | None = None,
) -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """The columns of ``relations`` in the DuckDB file ``path`` that ``--defer-to`` reads
    unbuilt upstreams from (warehouse/duckdb/deferral.py), read-only; DuckDB targets only.
    ``wait``: seconds to wait for another process writing it (``--wait``)."""
    kind = str(getattr(config, "engine", None) or "duckdb")
    if kind != "duckdb":
        from teal.compiler.errors import ProjectError

        raise ProjectError(
            f"{flag} attaches a DuckDB file, and this target's engine is {kind}",
            hint="defer on a DuckDB target",
        )
    from teal.warehouse.duckdb.deferral import deferred_columns as read

    return read(path, relations, flag, wait)


def deferred_source(path: Path) -> Source:
    """The deferred file as a source a build attaches read-only (compiler.deferral.CATALOG)."""
    from teal.warehouse.duckdb.deferral import deferred_source as source

    return source(path)
