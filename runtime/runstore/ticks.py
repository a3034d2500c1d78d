"""The daemon's part of the run store: ticks, cursors and the run queue.

A tick is one evaluation of a schedule (at its cron time) or a sensor (at the time it
looked). Its row and, when it asks for a run, the queued run are written in one
transaction: a daemon killed at any moment has either recorded the tick with its run or
neither, and a restarted daemon starts after the last recorded tick. The tick's primary
key (project, source, time) and the unique (project, source, run_key) make a repeat a
no-op, never a second run.

Every row is a project's (migration 5, runtime/runstore/scope.py): the project the store
was opened for, so projects sharing a store keep their own ticks, cursors and queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from teal.runtime.runstore.records import RunRecord, RunStatus
from teal.runtime.runstore.scope import UNOWNED, of_project, runs_of

if TYPE_CHECKING:
    from teal.runtime.runstore.sqlstore import Cursor, SqlRunStore


class TickStatus:
    REQUESTED = "requested"  # a run was queued
    SKIPPED = "skipped"  # evaluated, nothing to run (missed, or a sensor's skip reason)
    FAILED = "failed"  # evaluating it failed (the message says why)


@dataclass(frozen=True)
class TickRecord:
    source: str  # "schedule:<name>" or "sensor:<name>"
    tick_at: datetime
    status: str
    run_id: str | None
    run_key: str | None
    message: str | None
    created_at: datetime


class TickStore:
    """Ticks, cursors and the queue of the project the store was opened for, over a
    :class:`SqlRunStore` (a store opened for no project: the ticks and cursors of none,
    project ``''``, and every project's queue)."""

    def __init__(self, store: SqlRunStore) -> None:
        self.store = store
        self.project = store.project if store.project is not None else UNOWNED

    def last_tick(self, source: str) -> datetime | None:
        from teal.runtime.runstore.sqlstore import _parse_time

        rows = self.store._query(
            "SELECT max(tick_at) FROM ticks WHERE project = ? AND source = ?",
            (self.project, source),
        )
        return _parse_time(rows[0][0]) if rows and rows[0][0] else None

    def cursor(self, source: str) -> str | None:
        rows = self.store._query(
            "SELECT cursor FROM cursors WHERE project = ? AND source = ?", (self.project, source)
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def set_cursor(self, source: str, value: str, at: datetime) -> None:
        with self.store._lock, self.store._transaction() as cur:
            self._put_cursor(cur, source, value, at)

    def _put_cursor(self, cur: Cursor, source: str, value: str, at: datetime) -> None:
        from teal.runtime.runstore.sqlstore import _time

        store = self.store
        cur.execute(
            store._sql(
                "INSERT INTO cursors (project, source, cursor, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (project, source) DO UPDATE SET cursor = excluded.cursor, "
                "updated_at = excluded.updated_at"
            ),
            (self.project, source, value, _time(at)),
        )

    def record(
        self,
        source: str,
        tick_at: datetime,
        status: str,
        *,
        at: datetime,
        run: RunRecord | None = None,
        run_key: str | None = None,
        message: str | None = None,
        cursor: str | None = None,
    ) -> bool:
        """Record one tick (and queue its run, and move the source's cursor) in one
        transaction; False when the tick or its run_key was recorded before (nothing is
        written then, except the cursor)."""
        from teal.runtime.runstore.sqlstore import _time

        store = self.store
        with store._lock, store._transaction() as cur:
            if cursor is not None:
                self._put_cursor(cur, source, cursor, at)
            cur.execute(
                store._sql(
                    "INSERT INTO ticks (project, source, tick_at, status, run_id, run_key, "
                    "message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (
                    self.project,
                    source,
                    _time(tick_at),
                    status,
                    run.run_id if run is not None else None,
                    run_key,
                    message,
                    _time(at),
                ),
            )
            if cur.rowcount != 1:
                return False
            if run is not None:
                store._insert_run(cur, run)
        return True

    def paused(self) -> set[str]:
        """Schedules and sensors paused (the CLI or the UI) ("schedule:NAME", "sensor:NAME"): the
        daemon skips them until they are resumed."""
        rows = self.store._query(
            "SELECT source FROM cursors WHERE project = ? AND source LIKE ? AND cursor = ?",
            (self.project, "paused:%", "1"),
        )
        return {str(r[0]).removeprefix("paused:") for r in rows}

    def set_paused(self, source: str, paused: bool, at: datetime) -> None:
        self.set_cursor(f"paused:{source}", "1" if paused else "0", at)

    def ticks(self, source: str | None = None, limit: int = 50) -> list[TickRecord]:
        """Recorded ticks, newest first (of ``source`` only, when given)."""
        return self.recent([source] if source else [], None, limit)

    def recent(
        self, sources: Sequence[str] = (), status: str | None = None, limit: int = 50
    ) -> list[TickRecord]:
        """The project's recorded ticks, newest first: of ``sources`` (all when empty),
        with ``status`` (any when None)."""
        from teal.runtime.runstore.sqlstore import _parse_time

        where, params = "", []
        if sources:
            where += f"AND source IN ({', '.join('?' * len(sources))}) "
            params += list(sources)
        if status is not None:
            where += "AND status = ? "
            params.append(status)
        rows = self.store._query(
            "SELECT source, tick_at, status, run_id, run_key, message, created_at FROM ticks "
            f"WHERE project = ? {where}ORDER BY tick_at DESC, source LIMIT ?",
            [self.project, *params, limit],
        )
        out = []
        for r in rows:
            tick_at, created = _parse_time(r[1]), _parse_time(r[6])
            assert tick_at is not None and created is not None
            out.append(TickRecord(r[0], tick_at, r[2], r[3], r[4], r[5], created))
        return out

    def prune(self, status: str, before: datetime, limit: int) -> int:
        """Delete at most ``limit`` of the project's ticks of ``status`` recorded before
        ``before``, oldest first; how many were deleted. A source's newest tick is never deleted: a schedule
        goes on from it (without one it would start again from when it was first seen)."""
        from teal.runtime.runstore.sqlstore import _time

        store = self.store
        # a bounded DELETE both backends run (neither has DELETE ... LIMIT): the batch is
        # chosen through the (project, status, created_at) index, the newest tick of its
        # source through the primary key (project, source, tick_at)
        with store._lock, store._transaction() as cur:
            cur.execute(
                store._sql(
                    "DELETE FROM ticks WHERE project = ? AND (source, tick_at) IN ("
                    "SELECT t.source, t.tick_at FROM ticks t "
                    "WHERE t.project = ? AND t.status = ? AND t.created_at < ? AND t.tick_at < "
                    "(SELECT max(n.tick_at) FROM ticks n "
                    "WHERE n.project = t.project AND n.source = t.source) "
                    "ORDER BY t.created_at LIMIT ?)"
                ),
                (self.project, self.project, status, _time(before), limit),
            )
            return max(cur.rowcount, 0)

    def count(self) -> int:
        """How many ticks the project has recorded."""
        rows = self.store._query("SELECT count(*) FROM ticks WHERE project = ?", (self.project,))
        return int(rows[0][0])

    def run_keys(self, source: str, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` the source has already recorded."""
        if not keys:
            return set()
        marks = ", ".join("?" * len(keys))
        rows = self.store._query(
            f"SELECT run_key FROM ticks WHERE project = ? AND source = ? AND run_key IN ({marks})",
            [self.project, source, *keys],
        )
        return {str(r[0]) for r in rows}

    # -- what sensors watch -------------------------------------------------------------------
    def materializations_since(self, model: str, after: str) -> list[tuple[str, str, str]]:
        """(run id, partition key, time) of ``model``'s materializations after ``after``
        (an ISO time, as stored), oldest first: by the project's runs, when the store was
        opened for one (another project's model of that name is another model)."""
        mine, params = of_project(self.store.project)
        rows = self.store._query(
            "SELECT run_id, partition_key, at FROM materializations WHERE model = ? AND at > ? "
            f"AND {mine} ORDER BY at, run_id, partition_key",
            (model, after, *params),
        )
        return [(str(r[0]), str(r[1] or ""), str(r[2])) for r in rows]

    def last_run_end(self) -> str | None:
        """When the project's last run ended (as stored), or None."""
        mine, params = runs_of(self.store.project)
        rows = self.store._query(f"SELECT max(finished_at) FROM runs WHERE {mine}", params)
        return str(rows[0][0]) if rows and rows[0][0] else None

    def runs_ended_since(self, after: str, status: str) -> list[RunRecord]:
        """The project's runs that ended with ``status`` after ``after`` (an ISO time),
        oldest first."""
        from teal.runtime.runstore.sqlstore import _RUN_COLUMNS, _run

        mine, params = runs_of(self.store.project)
        rows = self.store._query(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE status = ? AND finished_at > ? "
            f"AND {mine} ORDER BY finished_at, run_id",
            (status, after, *params),
        )
        return [_run(r) for r in rows]

    # -- the queue --------------------------------------------------------------------------
    def queued(self) -> list[RunRecord]:
        """The project's queued runs (every project's, for a store opened for none) in
        launch order: higher ``priority`` (in the run's config) first, then oldest first."""
        runs = list(reversed(self.store.runs(status=[RunStatus.QUEUED], limit=10_000)))
        return sorted(runs, key=lambda r: -_priority(r))

    def claim(
        self, run_id: str, *, host: str, pid: int, at: datetime, process: str | None = None
    ) -> bool:
        """Move a queued run to started for this process (``process``: its identity beyond
        the pid, runtime/runstore/liveness.py); False if it is not queued, or is another
        project's."""
        from teal.runtime.runstore.sqlstore import _time

        store = self.store
        mine, params = runs_of(store.project)
        with store._lock, store._transaction() as cur:
            cur.execute(
                store._sql(
                    "UPDATE runs SET status = ?, host = ?, pid = ?, process = ?, started_at = ?, "
                    f"heartbeat_at = ? WHERE run_id = ? AND status = ? AND {mine}"
                ),
                (
                    RunStatus.STARTED.value,
                    host,
                    pid,
                    process,
                    _time(at),
                    _time(at),
                    run_id,
                    RunStatus.QUEUED.value,
                    *params,
                ),
            )
            return cur.rowcount == 1

    def cancel_queued(self, run_id: str, *, at: datetime) -> bool:
        """End a queued run as canceled before it starts (a daemon claiming it at the same
        moment wins or loses whole); False if it is not queued."""
        from teal.runtime.runstore.sqlstore import _time

        store = self.store
        with store._lock, store._transaction() as cur:
            cur.execute(
                store._sql(
                    "UPDATE runs SET status = ?, finished_at = ?, message = ? "
                    "WHERE run_id = ? AND status = ?"
                ),
                (
                    RunStatus.CANCELED.value,
                    _time(at),
                    "canceled while queued: it never started",
                    run_id,
                    RunStatus.QUEUED.value,
                ),
            )
            return cur.rowcount == 1


def _priority(run: RunRecord) -> int:
    value = run.config.get("priority", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
