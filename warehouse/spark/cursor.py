"""One worker thread's handle on a Spark warehouse, as an ``EngineCursor``.

Every SQL text a caller passes (a model's compiled SQL, a partition filter, a check, a
relation name from :meth:`relation_sql`) is DuckDB's dialect, as the compiler and the
runtime write it; it is translated to Spark SQL here. The thread's Spark jobs run in a job
group of its own, so :meth:`interrupt` cancels only them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
from teal.warehouse.spark import checks, io, partitions
from teal.warehouse.spark import materializations as m
from teal.warehouse.spark.materializations import Check, duck_relation

if TYPE_CHECKING:
    from teal.compiler.checks import CheckDef
    from teal.warehouse.spark.session import SparkSQL

_QUOTED = re.compile(r"`([^`]+)`")
_UNRESOLVED = re.compile(
    r"UNRESOLVED_COLUMN\.\w+\] A column(?:, variable,)? or function parameter with name "
    r"((?:`[^`]+`\.?)+) cannot be resolved(?:\. Did you mean one of the following\? \[([^\]]*)\])?"
)


class SparkCursor:
    """``EngineCursor`` over the process's Spark session."""

    def __init__(self, sql: SparkSQL) -> None:
        self._sql = sql
        self._group = f"teal-{uuid.uuid4().hex[:12]}"

    @property
    def native(self) -> Any:
        """The Spark session (``context.cursor`` of a Python asset)."""
        return self._sql.session

    def _in_group(self) -> None:
        context = getattr(self._sql.session, "sparkContext", None)
        if context is not None:
            context.setJobGroup(self._group, "teal step", interruptOnCancel=True)

    def _bound(self, audit: Audit | None) -> Check:
        if audit is None:
            return None
        return lambda relation_sql: audit(self, relation_sql)

    def relation_kind(self, target: BuildTarget) -> str | None:
        return m.existing(self._sql, target)

    def interrupt(self) -> None:
        context = getattr(self._sql.session, "sparkContext", None)
        if context is not None:
            context.cancelJobGroup(self._group)

    def time_zone(self, zone: str) -> AbstractContextManager[None]:
        return nullcontext()  # the session's zone is shared by every step (docs/spark.md)

    def run_statements(self, sql: str) -> None:
        self._in_group()
        for statement in self._sql.spark(sql).split(";\n"):
            if statement.strip():
                self._sql.run(statement)

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        self._in_group()
        frame = self._sql.run(self._sql.spark(sql))
        return list(frame.columns), [tuple(r) for r in frame.collect()]

    def user_transaction(self) -> AbstractContextManager[None]:
        return nullcontext()  # Spark has no transactions: each statement stands (docs/spark.md)

    def relation_sql(self, schema: str, name: str) -> str:
        return duck_relation(schema, name)

    def open_group(self) -> StepGroup | None:
        return None  # Spark has no transactions to share

    def close_group(self, group: StepGroup, commit: bool) -> None:
        return None

    # -- materializations ----------------------------------------------------------------
    def _plain(self, target: BuildTarget) -> None:
        """Files and I/O managers are not written by the Spark engine yet: say so."""
        if target.external is not None or target.store is not None:
            what = "materialized='external'" if target.external is not None else "io_manager"
            raise NotImplementedError(
                f"{target.model}: {what} is not available on the Spark engine yet"
            )

    def create_view(self, target: BuildTarget, sql: str, audit: Audit | None = None) -> Built:
        self._plain(target)
        self._in_group()
        return m.create_view(self._sql, target, sql, self._bound(audit))

    def build_table(self, target: BuildTarget, sql: str, audit: Audit | None = None) -> Built:
        self._plain(target)
        self._in_group()
        return m.build_table(self._sql, target, sql, self._bound(audit))

    def write_table(self, target: BuildTarget, data: Any, audit: Audit | None = None) -> Built:
        self._plain(target)
        self._in_group()
        return m.write_table(self._sql, target, data, self._bound(audit))

    def incremental_append(
        self, target: BuildTarget, sql: str, audit: Audit | None = None
    ) -> Built:
        self._in_group()
        return m.incremental_append(self._sql, target, sql, self._bound(audit))

    def incremental_upsert(
        self,
        target: BuildTarget,
        sql: str,
        unique_key: Sequence[str],
        audit: Audit | None = None,
        predicates: Sequence[str] = (),
        one_row_per_key: bool = False,
    ) -> Built:
        self._in_group()
        return m.incremental_upsert(
            self._sql, target, sql, unique_key, self._bound(audit), predicates, one_row_per_key
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
        self._plain(target)
        self._in_group()
        return partitions.replace_partition(
            self._sql, target, key, source, partition_filter, self._bound(audit)
        )

    def replace_partition_group(
        self,
        target: BuildTarget,
        writes: Sequence[PartitionWrite],
        *,
        has_rows: bool = True,
        covering: str | None = None,
    ) -> list[int]:
        self._plain(target)
        self._in_group()
        audits = [self._bound(w.audit) for w in writes]
        return partitions.replace_partition_group(self._sql, target, writes, audits, covering)

    def rebuild_partitions(
        self, target: BuildTarget, parts: list[Part], audit: Audit | None = None
    ) -> Built:
        self._plain(target)
        self._in_group()
        return partitions.rebuild_partitions(self._sql, target, parts, self._bound(audit))

    def replace_partitions_single_run(
        self,
        target: BuildTarget,
        windows: list[Window],
        source: Any,
        column: str,
        audit: Audit | None = None,
    ) -> Built:
        self._plain(target)
        self._in_group()
        return partitions.replace_partitions_single_run(
            self._sql, target, windows, source, column, self._bound(audit)
        )

    # -- state ---------------------------------------------------------------------------
    def record_failure(self, target: BuildTarget, started: datetime, message: str) -> None:
        m.record_failure(self._sql, target, started, message)

    def record_partition_failure(
        self, target: BuildTarget, key: str, started: datetime, message: str
    ) -> None:
        partitions.record_partition_failure(self._sql, target, key, started, message)

    def record_step(self, target: BuildTarget, started: datetime, rows: int) -> None:
        m.record_step(self._sql, target, started, rows)

    # -- checks --------------------------------------------------------------------------
    def measure(self, relation_sql: str, checks_: list[CheckDef]) -> list[Measured]:
        self._in_group()
        return checks.measure(self._sql, relation_sql, checks_)

    def sample(self, measured: Measured, relation_sql: str, keep_failures: bool) -> None:
        checks.sample(self._sql, measured, relation_sql, keep_failures)

    def record_check_results(self, records: list[CheckRecord]) -> None:
        checks.record(self._sql, records)

    def store_failures(self, check_name: str, rows: Any) -> str:
        return checks.store_failures(self._sql, check_name, rows)

    # -- Arrow in, errors out ------------------------------------------------------------
    def load(self, select_sql: str, kind: str) -> Any:
        self._in_group()
        frame = self._sql.run(self._sql.spark(select_sql))
        if kind == "spark":
            return frame
        table = io.collect(frame, self._sql.settings.arrow_warn_rows)
        return io.as_kind(table, frame, kind)

    def load_relation(self, schema: str, name: str, kind: str) -> Any:
        return self.load(f"SELECT * FROM {duck_relation(schema, name)}", kind)

    def load_data(self, data: Any, kind: str, select_sql: str = "", relation: str = "") -> Any:
        with io.staged(self._sql, data) as scan:
            if select_sql and relation:
                spark_select = self._sql.spark(select_sql.replace(relation, "__teal_loaded"))
                spark_select = spark_select.replace("__teal_loaded", scan)
            else:
                spark_select = f"SELECT * FROM {scan}"
            frame = self._sql.run(spark_select)
            table = io.collect(frame, self._sql.settings.arrow_warn_rows)
        return io.as_kind(table, frame, kind)

    def missing_column(self, exc: BaseException) -> tuple[str, tuple[str, ...]] | None:
        """Spark's UNRESOLVED_COLUMN: the name as written (its last part, when qualified)
        and the columns it suggests (by their last parts)."""
        found = _UNRESOLVED.search(str(exc))
        if found is None:
            return None
        suggested = found.group(2) or ""
        candidates = [_QUOTED.findall(c)[-1] for c in suggested.split(", ") if "`" in c]
        return _QUOTED.findall(found.group(1))[-1], tuple(dict.fromkeys(candidates))

    def raised_by_rows(self, exc: BaseException) -> bool:
        """Spark's errors of values: a task that failed while the job ran (the query was
        analysed; a cast or a function refused a row), or, where PySpark converts them,
        arithmetic, a number or time that does not parse, an index out of range."""
        from pyspark import errors

        converted = (
            errors.ArithmeticException
            | errors.NumberFormatException
            | errors.DateTimeException
            | errors.ArrayIndexOutOfBoundsException
            | errors.SparkRuntimeException
        )
        if isinstance(exc, converted):
            return True
        # a Java error passed through as it is: a job that failed in one of its tasks
        return type(exc).__name__ == "Py4JJavaError" and "stage failure" in str(exc)

    def evaluation_error(self, schema: str, name: str) -> BaseException | None:
        self._in_group()
        try:  # hashing every column evaluates them all: a count alone reads none
            self._sql.rows(f"SELECT max(hash(*)) FROM {self._sql.relation(schema, name)}")
        except Exception as exc:  # noqa: BLE001 - Spark's errors share no base class
            return exc
        return None

    def describe_error(
        self, exc: BaseException, raw_sql: str | None
    ) -> tuple[str, int | None, int | None]:
        """Spark's message without its plan, and where the first name it quotes appears
        in ``raw_sql``; a construct Spark cannot run, at its position."""
        from teal.warehouse.spark.transpile import UntranslatableSQL

        if isinstance(exc, UntranslatableSQL):
            first = exc.found[0]
            return first.message, first.line, first.col
        text = str(exc).strip()
        text = re.split(r"; line \d+ pos \d+|\n", text)[0].strip() if text else repr(exc)
        line = col = None
        if raw_sql:
            for name in _QUOTED.findall(text):
                name = name.split(".")[-1]
                pattern = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
                for i, src in enumerate(raw_sql.splitlines(), 1):
                    hit = pattern.search(src)
                    if hit:
                        line, col = i, hit.start() + 1
                        break
                if line:
                    break
        return text, line, col
