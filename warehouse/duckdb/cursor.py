"""One worker thread's DuckDB cursor, as an ``EngineCursor``: each call runs one
materialization, state record, check or Arrow read on this thread's DuckDB cursor."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.warehouse.duckdb import checks, io, partitions, state
from teal.warehouse.duckdb import materializations as m
from teal.warehouse.duckdb.errors import describe_error, missing_column, raised_by_rows
from teal.warehouse.duckdb.sql import SQL, qualified, string_literal
from teal.warehouse.duckdb.transactions import Check, existing
from teal.warehouse.engine import (
    Audit,
    BuildTarget,
    Built,
    CheckRecord,
    Measured,
    Part,
    PartitionWrite,
    StepGroup,
    Window,
)

if TYPE_CHECKING:
    from teal.compiler.checks import CheckDef


class DuckDBCursor:
    """``EngineCursor`` over one ``duckdb.DuckDBPyConnection`` cursor. ``journals`` is where
    publications of files are journaled (beside the warehouse file); ``redact`` hides the
    connection's secrets from error messages."""

    def __init__(
        self,
        native: Any,
        journals: Path | None = None,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self._cur = native
        self._journals = journals
        self._redact = redact
        self._group: StepGroup | None = None  # the group whose transaction is open

    @staticmethod
    def _files() -> Any:
        """The external materializations (imported by the first step that writes files)."""
        from teal.warehouse.duckdb import external

        return external

    @staticmethod
    def _stored() -> Any:
        """What hands a Python asset's rows to its I/O manager (imported on first use)."""
        from teal.warehouse.duckdb import stored

        return stored

    def _journal_dir(self) -> Path:
        if self._journals is None:  # an in-memory warehouse: nothing to recover into
            import tempfile

            self._journals = Path(tempfile.mkdtemp(prefix="teal-journal-"))
        return self._journals

    @property
    def native(self) -> Any:
        return self._cur

    @contextmanager
    def time_zone(self, zone: str) -> Iterator[None]:
        before = self._cur.execute("select current_setting('TimeZone')").fetchone()
        self._cur.execute(f"set TimeZone = {string_literal(zone)}")
        try:
            yield
        finally:
            if before is not None and before[0] != zone:
                self._cur.execute(f"set TimeZone = {string_literal(str(before[0]))}")

    def run_statements(self, sql: str) -> None:
        self._cur.execute(sql)

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        found = self._cur.execute(sql)
        names = [d[0] for d in found.description or []]
        return names, found.fetchall() if found.description else []

    @contextmanager
    def user_transaction(self) -> Iterator[None]:
        import duckdb

        self._cur.execute(SQL.begin)
        try:
            yield
        except BaseException:
            try:
                self._cur.execute(SQL.rollback)
            except duckdb.TransactionException:  # the user's own statement ended it
                pass
            raise
        try:
            self._cur.execute(SQL.commit)
        except duckdb.TransactionException as exc:
            if "no transaction is active" not in str(exc):
                raise

    def _bound(self, audit: Audit | None) -> Check:
        """The audit callback as the materializations call it: on this cursor."""
        if audit is None:
            return None
        return lambda relation_sql: audit(self, relation_sql)

    def relation_kind(self, target: BuildTarget) -> str | None:
        return existing(self._cur, target)

    def interrupt(self) -> None:
        try:
            self._cur.interrupt()
        except Exception:  # noqa: BLE001 - a cursor that is closing
            pass

    def relation_sql(self, schema: str, name: str) -> str:
        return qualified(schema, name)

    def open_group(self) -> StepGroup:
        self._cur.execute(SQL.begin)
        self._group = StepGroup()
        return self._group

    def close_group(self, group: StepGroup, commit: bool) -> None:
        self._group = None
        if commit:
            # the group's state rows: one statement per table instead of one per step
            builds = group.rows.get(state.BUILDS)
            if builds:
                state.record_builds(self._cur, builds)
            results = group.rows.get(checks.RESULTS)
            if results:
                checks.record_rows(self._cur, results)
            self._cur.execute(SQL.commit)
            group.committed()
            return
        group.rolled_back()
        try:
            self._cur.execute(SQL.rollback)
        except Exception:  # noqa: BLE001 - the transaction may already be aborted
            pass

    # -- materializations ----------------------------------------------------------------
    def create_view(self, target: BuildTarget, sql: str, audit: Audit | None = None) -> Built:
        return m.create_view(self._cur, target, sql, self._bound(audit))

    def build_table(self, target: BuildTarget, sql: str, audit: Audit | None = None) -> Built:
        if target.external is not None:
            return self._files().build(
                self._cur, target, sql, self._bound(audit), self._journal_dir()
            )
        return m.build_table(self._cur, target, sql, self._bound(audit))

    def write_table(self, target: BuildTarget, data: Any, audit: Audit | None = None) -> Built:
        if target.store is not None:
            return self._stored().write_stored(self._cur, target, data, self._bound(audit))
        if target.external is not None:
            return self._files().build(
                self._cur, target, data, self._bound(audit), self._journal_dir()
            )
        return m.write_table(self._cur, target, data, self._bound(audit))

    def incremental_append(
        self, target: BuildTarget, sql: str, audit: Audit | None = None
    ) -> Built:
        return m.incremental_append(self._cur, target, sql, self._bound(audit))

    def incremental_upsert(
        self,
        target: BuildTarget,
        sql: str,
        unique_key: Sequence[str],
        audit: Audit | None = None,
        predicates: Sequence[str] = (),
        one_row_per_key: bool = False,
    ) -> Built:
        return m.incremental_upsert(
            self._cur, target, sql, unique_key, self._bound(audit), predicates, one_row_per_key
        )

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
    ) -> Built:
        if target.store is not None:
            return self._stored().write_stored(
                self._cur,
                target,
                source,
                self._bound(audit),
                key=key,
                partition_filter=partition_filter,
            )
        if target.external is not None:
            return self._files().replace_partition(
                self._cur,
                target,
                key,
                source,
                partition_filter,
                self._bound(audit),
                self._journal_dir(),
            )
        return partitions.replace_partition(
            self._cur,
            target,
            key,
            source,
            partition_filter,
            exists=exists,
            has_rows=has_rows,
            audit=self._bound(audit),
        )

    def replace_partition_group(
        self,
        target: BuildTarget,
        writes: Sequence[PartitionWrite],
        *,
        has_rows: bool = True,
        covering: str | None = None,
    ) -> list[int]:
        if target.store is not None or target.external is not None:
            raise NotImplementedError("files and I/O managers replace one partition at a time")
        audits = [self._bound(w.audit) for w in writes]
        return partitions.replace_partition_group(
            self._cur, target, writes, audits, has_rows=has_rows, covering=covering
        )

    def rebuild_partitions(
        self, target: BuildTarget, parts: list[Part], audit: Audit | None = None
    ) -> Built:
        if target.store is not None:
            return self._stored().stored_partitions(self._cur, target, parts, self._bound(audit))
        if target.external is not None:
            return self._files().rebuild_partitions(
                self._cur, target, parts, self._bound(audit), self._journal_dir()
            )
        return partitions.rebuild_partitions(self._cur, target, parts, self._bound(audit))

    def replace_partitions_single_run(
        self,
        target: BuildTarget,
        windows: list[Window],
        source: Any,
        column: str,
        audit: Audit | None = None,
    ) -> Built:
        if target.store is not None:
            return self._stored().stored_single_run(
                self._cur, target, windows, source, column, self._bound(audit)
            )
        if target.external is not None:
            return self._files().replace_partitions_single_run(
                self._cur, target, windows, source, column, self._bound(audit), self._journal_dir()
            )
        return partitions.replace_partitions_single_run(
            self._cur, target, windows, source, column, self._bound(audit)
        )

    # -- state ---------------------------------------------------------------------------
    def record_failure(self, target: BuildTarget, started: datetime, message: str) -> None:
        m.record_failure(self._cur, target, started, message)

    def record_partition_failure(
        self, target: BuildTarget, key: str, started: datetime, message: str
    ) -> None:
        partitions.record_partition_failure(self._cur, target, key, started, message)

    def record_step(self, target: BuildTarget, started: datetime, rows: int) -> None:
        m.record_step(self._cur, target, started, rows)

    # -- checks --------------------------------------------------------------------------
    def measure(self, relation_sql: str, checks_: list[CheckDef]) -> list[Measured]:
        return checks.measure(self._cur, relation_sql, checks_)

    def sample(self, measured: Measured, relation_sql: str, keep_failures: bool) -> None:
        checks.sample(self._cur, measured, relation_sql, keep_failures)

    def record_check_results(self, records: list[CheckRecord]) -> None:
        if self._group is not None:  # written with the group's other rows, at its commit
            for row in checks.result_rows(records):
                self._group.defer(checks.RESULTS, row)
            return
        checks.record(self._cur, records)

    def store_failures(self, check_name: str, rows: Any) -> str:
        return checks.store_failures(self._cur, check_name, rows)

    # -- Arrow in, errors out ------------------------------------------------------------
    def load(self, select_sql: str, kind: str) -> Any:
        return io.load(self._cur, select_sql, kind)

    def load_relation(self, schema: str, name: str, kind: str) -> Any:
        return io.load(self._cur, SQL.select_all(qualified(schema, name)), kind)

    def load_data(self, data: Any, kind: str, select_sql: str = "", relation: str = "") -> Any:
        with io.registered(self._cur, data, ("load", kind)) as view:
            query = select_sql.replace(relation, view) if select_sql and relation else None
            return io.load(self._cur, query or SQL.select_all(view), kind)

    def describe_error(
        self, exc: BaseException, raw_sql: str | None
    ) -> tuple[str, int | None, int | None]:
        message, line, col = describe_error(exc, raw_sql)
        if self._redact is not None:
            message = self._redact(message)
        return message, line, col

    def missing_column(self, exc: BaseException) -> tuple[str, tuple[str, ...]] | None:
        return missing_column(exc)

    def raised_by_rows(self, exc: BaseException) -> bool:
        return raised_by_rows(exc)

    def evaluation_error(self, schema: str, name: str) -> BaseException | None:
        import duckdb

        try:  # hashing the whole row evaluates every column: a count alone reads none
            self._cur.execute(f"select max(hash(t)) from {qualified(schema, name)} as t")
        except duckdb.Error as exc:
            return exc
        return None
