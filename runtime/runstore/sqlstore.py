"""The run store's logic, once, over a DB-API connection; each backend is a thin subclass
that says how to connect, how parameters are written and how big the store is.

Thread-safe: a run's worker threads record through one store, so every call holds the
store's lock (writes are a few small statements; the lock is never held across engine
work).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any, Protocol

from teal.compiler.errors import WarehouseError
from teal.runtime.runstore.derive import derive
from teal.runtime.runstore.lost import again_if_lost
from teal.runtime.runstore.records import (
    Event,
    EventKind,
    JsonValue,
    Retention,
    RunRecord,
    RunStatus,
    StepRecord,
    StoreStatus,
    Trigger,
)
from teal.runtime.runstore.run_tags import filters, insert_tags, job_and_tags
from teal.runtime.runstore.schema import LATEST, MIGRATIONS, VERSION_TABLE
from teal.runtime.runstore.scope import of_project, runs_of

_RUN_COLUMNS = (
    "run_id, command, status, run_trigger, selection, exclusion, partition_keys, run_config, "
    "parent_run_id, project, teal_version, host, pid, created_at, started_at, finished_at, "
    "message, process, heartbeat_at"
)
_STEP_COLUMNS = (
    "run_id, model, partition_key, attempt, status, started_at, finished_at, row_count, message"
)
_EVENT_COLUMNS = "run_id, seq, at, kind, model, partition_key, level, message, data"


class Cursor(Protocol):
    """What the store needs of a DB-API cursor."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[object] = ..., /) -> object: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...
    def fetchone(self) -> tuple[Any, ...] | None: ...


def _time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value is not None else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _json(value: JsonValue) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class SqlRunStore:
    """A run store over one SQL connection (see the subclasses for SQLite and Postgres)."""

    location: str = ""
    NO_LIMIT = "ALL"  # how LIMIT says "no limit" (SQLite: -1)
    PRUNE_BATCH = 200  # runs retention deletes per transaction: a writer waits for one batch
    LOCK_BATCH = ""  # how a backend locks the runs retention deletes (Postgres: SKIP LOCKED)

    def __init__(self) -> None:
        # whose runs it lists and whose ticks and cursors it keeps (runtime/runstore/scope.py);
        # None: every project's runs, and the ticks of no project in particular
        self.project: str | None = None
        self._lock = threading.RLock()
        self._joined: Cursor | None = None  # the transaction of :meth:`atomic`, while open

    # -- what a backend provides -------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """The writes made inside, by this thread, as one transaction: each joins it, and a
        process killed before the end has made none of them (the runs one evaluation of a
        sensor asks for, with the cursor they move). Every write holds ``_lock`` first, so
        no other thread's write can join it."""
        with self._lock, self._transaction() as cur:
            self._joined = cur
            try:
                yield
            finally:
                self._joined = None

    def _batch(self) -> AbstractContextManager[object]:
        """Around a transaction of statements that need no results back (events): a
        network store sends them together (Postgres: psycopg's pipeline mode)."""
        return nullcontext()

    @contextmanager
    def _reading(self) -> Iterator[Cursor]:
        """A cursor for reads, taking no write lock (readers never wait for a build)."""
        raise NotImplementedError
        yield  # pragma: no cover

    def _has_table(self, cur: Cursor, name: str) -> bool:
        raise NotImplementedError

    def _lock_schema(self, cur: Cursor) -> None:
        """Make the other processes migrating the store wait for this transaction (SQLite's
        ``BEGIN IMMEDIATE`` already does)."""

    def _sql(self, statement: str) -> str:
        """The statement in the driver's parameter style (written with ``?``)."""
        return statement

    def _size_bytes(self) -> int | None:
        return None

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> SqlRunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------------
    @again_if_lost
    def schema_version(self) -> int:
        with self._lock, self._reading() as cur:
            if not self._has_table(cur, "teal_schema_version"):
                return 0
            cur.execute("SELECT max(version) FROM teal_schema_version")
            row = cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def migrate(self, now: datetime) -> list[str]:
        """Apply the migrations this store lacks, each in its own transaction; the
        descriptions of those applied, oldest first. Processes that start on an empty store
        together (a daemon and a build) apply each migration once: each transaction takes
        the schema lock first, then looks. A store a newer teal migrated is refused: this
        teal does not know what its writes would break."""
        version = self.schema_version()
        if version > LATEST:
            raise WarehouseError(
                f"the run store {self.location} has schema version {version}, from a newer "
                f"teal; this teal knows schema version {LATEST}",
                path="run_store",
                hint="upgrade teal (pip install -U teal) on this machine, as the store's "
                "other users did",
            )
        applied: list[str] = []
        for migration in MIGRATIONS if version < LATEST else ():
            with self._lock, self._transaction() as cur:
                self._lock_schema(cur)
                cur.execute(VERSION_TABLE)
                cur.execute(
                    self._sql("SELECT count(*) FROM teal_schema_version WHERE version = ?"),
                    (migration.version,),
                )
                done = cur.fetchone()
                if done and done[0]:
                    continue
                for statement in migration.statements:
                    cur.execute(statement)
                if migration.backfill is not None:
                    migration.backfill(self, cur)
                cur.execute(
                    self._sql(
                        "INSERT INTO teal_schema_version (version, description, applied_at) "
                        "VALUES (?, ?, ?)"
                    ),
                    (migration.version, migration.description, _time(now)),
                )
            applied.append(f"{migration.version}: {migration.description}")
        return applied

    def is_current(self) -> bool:
        return self.schema_version() == LATEST

    # -- writing ---------------------------------------------------------------------------
    def add_run(self, run: RunRecord) -> None:
        with self._lock, self._transaction() as cur:
            self._insert_run(cur, run)

    def _insert_run(self, cur: Cursor, run: RunRecord) -> None:
        job, tags = job_and_tags(run.config)  # runtime/runstore/run_tags.py
        cur.execute(
            self._sql(f"INSERT INTO runs ({_RUN_COLUMNS}, job) VALUES ({_marks(20)})"),
            (
                run.run_id,
                run.command,
                run.status.value,
                run.trigger.value,
                _json(list(run.selection)),
                _json(list(run.exclude)),
                _json(list(run.partitions)),
                _json(run.config),
                run.parent_run_id,
                run.project,
                run.teal_version,
                run.host,
                run.pid,
                _time(run.created_at),
                _time(run.started_at),
                _time(run.finished_at),
                run.message,
                run.process,
                _time(run.heartbeat_at),
                job,
            ),
        )
        insert_tags(self, cur, run.run_id, tags)

    @again_if_lost
    def set_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        at: datetime,
        message: str | None = None,
    ) -> None:
        """Move a run to ``status``; a finished status also sets its end time."""
        column = "finished_at" if status.finished else "started_at"
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql(
                    f"UPDATE runs SET status = ?, {column} = ?, "
                    "message = coalesce(?, message) WHERE run_id = ?"
                ),
                (status.value, _time(at), message, run_id),
            )

    @again_if_lost
    def set_output_schemas(self, run_id: str, schemas: dict[str, list[list[str]]]) -> None:
        """Record the output schema of each model the run materialized (model -> [[column,
        type], ...]), on its materialization rows, in one transaction."""
        if not schemas:
            return
        with self._lock, self._transaction() as cur:
            for model, columns in schemas.items():
                cur.execute(
                    self._sql(
                        "UPDATE materializations SET output_schema = ? "
                        "WHERE run_id = ? AND model = ?"
                    ),
                    (json.dumps(columns), run_id, model),
                )

    def materializations(
        self, *, model: str | None = None, run_id: str | None = None, limit: int = 100
    ) -> list[dict[str, JsonValue]]:
        """Materializations, newest first: run, model, partition, time, rows, output schema,
        code version and metadata."""
        where: list[str] = []
        params: list[object] = []
        if model is not None:
            where.append("model = ?")
            params.append(model)
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        elif self.project is not None:  # a model's: this project's model of that name
            mine, of_mine = of_project(self.project)
            where.append(mine)
            params += of_mine
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._query(
            "SELECT run_id, model, partition_key, at, row_count, output_schema, code_version, "
            f"metadata FROM materializations{clause} ORDER BY at DESC, seq DESC LIMIT ?",
            [*params, limit],
        )
        return [
            {
                "run_id": r[0],
                "model": r[1],
                "partition": r[2] or None,
                "at": r[3],
                "rows": r[4],
                "schema": json.loads(r[5]) if r[5] else None,
                "code_version": r[6],
                "metadata": json.loads(r[7]) if r[7] else {},
            }
            for r in rows
        ]

    def request_cancel(self, run_id: str) -> bool:
        """Ask a started run to stop (status ``canceling``); False if it is not running."""
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql("UPDATE runs SET status = ? WHERE run_id = ? AND status = ?"),
                (RunStatus.CANCELING.value, run_id, RunStatus.STARTED.value),
            )
            return cur.rowcount == 1

    @again_if_lost
    def close_open_steps(self, run_id: str, status: str, at: datetime) -> None:
        """Steps still marked started when their run ended get ``status``."""
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql(
                    "UPDATE steps SET status = ?, finished_at = ? "
                    "WHERE run_id = ? AND status = 'started'"
                ),
                (status, _time(at), run_id),
            )

    @again_if_lost
    def append(self, events: Sequence[Event]) -> None:
        """Record events, and the steps, materializations and check results they describe,
        in one transaction. Events already on record (by run and number) are left as they
        are: a batch whose commit the connection lost is written again."""
        if not events:
            return
        with self._lock, self._batch(), self._transaction() as cur:
            for event in events:
                cur.execute(
                    self._sql(
                        f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({_marks(9)}) "
                        "ON CONFLICT (run_id, seq) DO NOTHING"
                    ),
                    (
                        event.run_id,
                        event.seq,
                        _time(event.at),
                        event.kind.value,
                        event.model,
                        event.partition_key,
                        event.level,
                        event.message,
                        event.data_json(),
                    ),
                )
                derive(self, cur, event)

    # -- reading ---------------------------------------------------------------------------
    def run(self, run_id: str) -> RunRecord | None:
        found = self._query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        return _run(found[0]) if found else None

    def runs(
        self,
        *,
        status: Sequence[RunStatus] = (),
        model: str | None = None,
        since: datetime | None = None,
        parent: str | None = None,
        job: str | None = None,
        tags: Sequence[str] = (),
        limit: int = 50,
    ) -> list[RunRecord]:
        """Runs, newest first, filtered by status, by a model they had a step of, by
        creation time, by the run they ran again (``parent``: its retries and
        re-executions), by their job and by tags they all carry (``KEY=VALUE``, or
        ``KEY`` with any value: runtime/runstore/run_tags.py)."""
        where: list[str] = []
        params: list[object] = []
        if self.project is not None:
            mine, of_mine = runs_of(self.project)
            where.append(mine)
            params += of_mine
        if parent is not None:
            where.append("parent_run_id = ?")
            params.append(parent)
        if status:
            where.append(f"status IN ({_marks(len(status))})")
            params += [s.value for s in status]
        if model is not None:
            where.append("run_id IN (SELECT run_id FROM steps WHERE model = ?)")
            params.append(model)
        if since is not None:
            where.append("created_at >= ?")
            params.append(_time(since))
        tagged, of_tags = filters(job, tags)
        where += tagged
        params += of_tags
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        params.append(limit)
        rows = self._query(
            f"SELECT {_RUN_COLUMNS} FROM runs{clause} ORDER BY created_at DESC, run_id DESC "
            "LIMIT ?",
            params,
        )
        return [_run(r) for r in rows]

    def steps(self, run_id: str) -> list[StepRecord]:
        rows = self._query(
            f"SELECT {_STEP_COLUMNS} FROM steps WHERE run_id = ? "
            "ORDER BY coalesce(started_at, finished_at), model, partition_key, attempt",
            (run_id,),
        )
        return [
            StepRecord(
                run_id=r[0],
                model=r[1],
                partition_key=r[2],
                attempt=int(r[3]),
                status=r[4],
                started_at=_parse_time(r[5]),
                finished_at=_parse_time(r[6]),
                rows=None if r[7] is None else int(r[7]),
                message=r[8],
            )
            for r in rows
        ]

    def events(
        self, run_id: str, *, after: int = 0, kinds: Sequence[EventKind] = ()
    ) -> list[Event]:
        """A run's events with ``seq`` above ``after``, in order."""
        params: list[object] = [run_id, after]
        clause = ""
        if kinds:
            clause = f" AND kind IN ({_marks(len(kinds))})"
            params += [k.value for k in kinds]
        rows = self._query(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE run_id = ? AND seq > ?{clause} "
            "ORDER BY seq",
            params,
        )
        return [
            Event(
                run_id=r[0],
                seq=int(r[1]),
                at=datetime.fromisoformat(r[2]),
                kind=EventKind(r[3]),
                model=r[4],
                partition_key=r[5],
                level=r[6],
                message=r[7],
                data=json.loads(r[8]) if r[8] else {},
            )
            for r in rows
        ]

    def last_runs_by_model(self) -> dict[str, tuple[str, str, datetime | None]]:
        """model -> (run id, step status, finished at) of its latest step."""
        mine, params = of_project(self.project)
        also_mine = of_project(self.project, "s.run_id")[0]
        rows = self._query(
            "SELECT s.model, s.run_id, s.status, s.finished_at FROM steps s JOIN ("
            "SELECT model, max(coalesce(finished_at, started_at)) AS latest FROM steps "
            f"WHERE {mine} GROUP BY model) m ON s.model = m.model AND "
            f"coalesce(s.finished_at, s.started_at) = m.latest AND {also_mine}",
            params * 2,
        )
        return {r[0]: (r[1], r[2], _parse_time(r[3])) for r in rows}

    def status(self) -> StoreStatus:
        counts = self._query(
            "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM events)", ()
        )
        return StoreStatus(
            location=self.location,
            schema_version=self.schema_version(),
            runs=int(counts[0][0]),
            events=int(counts[0][1]),
            size_bytes=self._size_bytes(),
        )

    # -- housekeeping (runtime/runstore/housekeeping.py) -----------------------------------
    def mark_crashed(
        self, host: str, alive: Callable[[int, str | None], bool], at: datetime
    ) -> list[str]:
        """Runs this host started whose process is gone become ``crashed``, with the steps
        they died in; the ids of the runs marked. ``alive(pid, process)``: whether the
        process the run recorded still runs."""
        from teal.runtime.runstore.housekeeping import mark_crashed

        return mark_crashed(self, host, alive, at)

    @again_if_lost
    def prune(self, retention: Retention, now: datetime) -> int:
        """Delete finished runs past the retention (see :func:`~teal.runtime.runstore.
        housekeeping.prune_runs`); how many were deleted."""
        from teal.runtime.runstore.housekeeping import prune_runs

        return prune_runs(self, retention, now)

    @again_if_lost
    def _query(self, statement: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        with self._lock, self._reading() as cur:
            cur.execute(self._sql(statement), tuple(params))
            return cur.fetchall()


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _number(value: JsonValue | None) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _run(r: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        run_id=r[0],
        command=r[1],
        status=RunStatus(r[2]),
        trigger=Trigger(r[3]),
        selection=tuple(json.loads(r[4] or "[]")),
        exclude=tuple(json.loads(r[5] or "[]")),
        partitions=tuple(json.loads(r[6] or "[]")),
        config=json.loads(r[7] or "{}"),
        parent_run_id=r[8],
        project=r[9] or "",
        teal_version=r[10] or "",
        host=r[11] or "",
        pid=None if r[12] is None else int(r[12]),
        created_at=_parse_time(r[13]),
        started_at=_parse_time(r[14]),
        finished_at=_parse_time(r[15]),
        message=r[16],
        process=r[17],
        heartbeat_at=_parse_time(r[18]),
    )
