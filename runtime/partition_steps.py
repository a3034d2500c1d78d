"""Building a partitioned step: each partition in its own transaction, or a range of time
partitions from one query (``backfill_policy='single_run'``). Functions of the executor
that runs them."""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from teal.compiler.partitions import TimePartitions, time_partitions
from teal.compiler.plan import Step
from teal.compiler.project import Model
from teal.compiler.wording import counted
from teal.runtime.checking import AuditFailed, CheckOutcome
from teal.runtime.partition_errors import with_partition_context
from teal.runtime.python_call import UserCodeError, call_asset, column_names
from teal.runtime.results import CANCELED_RUNNING, ERROR, SKIPPED, SUCCESS, ModelResult
from teal.runtime.view_errors import ViewProbe, with_view_context
from teal.warehouse.engine import BuildTarget, EngineCursor, PartitionWrite

if TYPE_CHECKING:
    from teal.runtime.executor import Executor

# partitions replaced per transaction in a multi_run backfill of a SQL model (each still
# from its own query): the statements and the commit of a partition cost more than a small
# partition's rows; a group that fails is redone one partition at a time
GROUP = 32


def run_partitions(
    ex: Executor,
    cur: EngineCursor,
    step: Step,
    model: Model,
    target: BuildTarget,
    started: datetime,
    t0: float,
) -> ModelResult:
    """The step's partitions, with times read in the zone of the model's time partitions
    (its windows are wall-clock times there: a ``TIMESTAMPTZ`` column is placed by them
    alike on every machine)."""
    windows = time_partitions(model.partitions)
    with cur.time_zone(windows.timezone) if windows is not None else nullcontext():
        return _held_back_and_built(ex, cur, step, model, target, started, t0)


def _held_back_and_built(
    ex: Executor,
    cur: EngineCursor,
    step: Step,
    model: Model,
    target: BuildTarget,
    started: datetime,
    t0: float,
) -> ModelResult:
    """The step's partitions; those held back during the run (they read an upstream
    partition that failed: runtime/held_back.py) are reported skipped and passed on in
    the result's ``failed_partitions``, so that what reads them is held back too."""
    for key in step.held_back if step.attempt == 1 else ():  # reported once, not per try
        report_partition(
            ex, step, key, SKIPPED, None, 0, len(step.partitions), None, step.held_back_why
        )
    result = _build_partitions(ex, cur, step, model, target, started, t0)
    if not step.held_back or (result.status != SUCCESS and not result.failed_partitions):
        return result
    return replace(
        result,
        failed_partitions=tuple(dict.fromkeys((*result.failed_partitions, *step.held_back))),
        message=result.message
        or f"{counted(len(step.held_back), 'partition')} held back: {step.held_back_why}",
    )


def report_partition(
    ex: Executor,
    step: Step,
    key: str,
    status: str,
    rows: int | None,
    done: int,
    total: int,
    seconds: float | None,
    message: str | None = None,
) -> None:
    """Tell the executor's reporter that partition ``key`` of ``step`` ended, with the
    teal.Output metadata a Python asset returned for it."""
    report = getattr(ex.reporter, "partition_finished", None)
    if report is not None:
        metadata = ex._partition_metadata.pop((step.model, key), None)
        report(step, key, status, rows, done, total, seconds, message, metadata)


def python_output(ex: Executor, cur: EngineCursor, model: Model, key: str) -> Any:
    """Run a partitioned Python asset for one partition; its rows, scannable (the
    metadata it returned is reported with the partition)."""
    output = call_asset(ex.calls, cur, model, key=key)
    if output.metadata:
        ex._partition_metadata[(model.name, key)] = dict(output.metadata)
    _has_partition_column(model, output.data)
    return output.data


def _has_partition_column(model: Model, data: object) -> None:
    """Raise when a partitioned Python asset's rows lack its ``partition_column`` (each
    partition is written by filtering on it: DuckDB's binder error named no asset)."""
    names = column_names(data)
    column = model.partition_column
    if names is None or not column:
        return
    wanted = list(column.values()) if isinstance(column, dict) else [column]
    have = {str(n).lower() for n in names}
    missing = [c for c in wanted if str(c).lower() not in have]
    if missing:
        raise UserCodeError(
            f"the rows it returned have no column '{missing[0]}', its partition_column "
            f"(they have: {', '.join(map(str, names)) or 'no columns'})",
            model.line,
        )


def _build_partitions(
    ex: Executor,
    cur: EngineCursor,
    step: Step,
    model: Model,
    target: BuildTarget,
    started: datetime,
    t0: float,
) -> ModelResult:
    """Each partition in its own transaction (or all in one with --full-refresh)."""
    fill = ex.project.sql_for_partition
    total_rows = 0
    failures: list[tuple[str, str, int | None]] = []
    keys = list(step.partitions)
    outcomes: list[CheckOutcome] = []
    if step.full_refresh:
        # Python assets: called per partition inside the one transaction
        parts = [
            (
                k,
                fill(model, step.sql or "", k)
                if model.kind == "sql"
                else (lambda k=k: python_output(ex, cur, model, k)),
                fill(model, model.partition_filter or "", k),
            )
            for k in keys
        ]
        try:
            built = cur.rebuild_partitions(target, parts, audit=ex._audit_for(model, outcomes))
        except AuditFailed as exc:
            return ex._audit_failed(cur, target, model, started, t0, exc)
        for i, key in enumerate(keys, 1):
            report_partition(ex, step, key, SUCCESS, None, i, len(keys), None)
        return ex._succeeded(
            cur, step, model, target, started, t0, built.rows, outcomes, partitions=len(keys)
        )
    if (
        model.config.get("backfill_policy") == "single_run"
        and len(keys) > 1
        and not step.full_refresh
    ):
        try:
            return run_single(ex, cur, step, model, target, keys, t0, started)
        except AuditFailed as exc:
            return ex._audit_failed(cur, target, model, started, t0, exc)
    if _range_at_once(ex, step, model, target, keys):
        try:  # the range from one query; any failure: partition by partition, below
            return run_single(ex, cur, step, model, target, keys, t0, started, each=True)
        except Exception:  # noqa: BLE001 - rolled back; multi_run says which partition failed
            pass
    exists = cur.relation_kind(target) is not None
    created_here = not exists  # then no partition has rows before this step writes it
    committed: set[str] = set()

    def one(i: int, key: str) -> bool:
        """Partition ``key`` in its own transaction; False when it failed."""
        nonlocal exists, total_rows
        p_started = datetime.now(UTC).replace(tzinfo=None)
        p0 = time.perf_counter()
        try:
            if model.kind == "sql":
                # a dbt microbatch model's is_incremental() variant once its table exists
                # (as dbt renders every batch after the one that creates the table);
                # other partitioned models have none
                sql = model.incremental_sql if exists and model.incremental_sql else step.sql
                source: Any = fill(model, sql or "", key)
            else:
                source = python_output(ex, cur, model, key)
            built = cur.replace_partition(
                target,
                key,
                source,
                fill(model, model.partition_filter or "", key),
                exists=exists,
                has_rows=not created_here,
                audit=ex._audit_for(model, outcomes, key),
            )
            exists = True
            total_rows += built.rows or 0
        except Exception as exc:  # noqa: BLE001 - one failed partition; the others go on
            if ex._canceled.is_set():  # interrupted, or refused its commit: rolled back
                message, line = CANCELED_RUNNING, None
            elif isinstance(exc, AuditFailed):
                outcomes.extend(exc.outcomes)
                try:
                    if ex.auditor is not None:
                        ex.auditor.record_after_rollback(cur, exc)
                        ex.auditor.store(cur, exc)
                except Exception:  # noqa: BLE001
                    pass
                message, line = str(exc), None
            elif isinstance(exc, UserCodeError):
                message, line = exc.message, exc.line
            else:
                message, line, _ = cur.describe_error(exc, model.raw_sql)
                message = with_partition_context(model, message)
                message = with_view_context(
                    ex.project, model, message, line is not None, ViewProbe(cur, exc)
                )
            failures.append((key, message, line))
            try:  # a canceled attempt rolled back and changed nothing: its record stays
                if message != CANCELED_RUNNING:
                    cur.record_partition_failure(target, key, p_started, message)
            except Exception:  # noqa: BLE001
                pass
            report_partition(
                ex, step, key, ERROR, None, i, len(keys), time.perf_counter() - p0, message
            )
            return False
        committed.add(key)
        # committed: reporting it (which may fail, e.g. a closed pipe) cannot undo it
        report_partition(ex, step, key, SUCCESS, built.rows, i, len(keys), time.perf_counter() - p0)
        return True

    def group(first: int, group_keys: list[str]) -> bool:
        """Partitions ``group_keys`` in one transaction (replace_partition_group); False
        when it failed as a whole, and nothing of it was kept."""
        nonlocal total_rows
        p0 = time.perf_counter()
        audited: list[CheckOutcome] = []  # kept only if the group commits
        writes = [
            PartitionWrite(
                key,
                fill(model, model.incremental_sql or step.sql or "", key),  # the table exists
                fill(model, model.partition_filter or "", key),
                ex._audit_for(model, audited, key),
            )
            for key in group_keys
        ]
        try:
            rows = cur.replace_partition_group(
                target,
                writes,
                has_rows=not created_here,
                covering=_covering_filter(ex, model, group_keys),
            )
        except Exception:  # noqa: BLE001 - redone one partition at a time, to say which
            return False
        outcomes.extend(audited)
        committed.update(group_keys)
        total_rows += sum(rows)
        each = (time.perf_counter() - p0) / len(group_keys)
        for n, (key, count) in enumerate(zip(group_keys, rows)):
            report_partition(ex, step, key, SUCCESS, count, first + n, len(keys), each)
        return True

    groups = model.kind == "sql" and target.store is None and target.external is None
    i = 0
    while i < len(keys):
        if groups and exists and len(keys) - i > 1:
            chunk = keys[i : i + GROUP]
            if group(i + 1, chunk):
                i += len(chunk)
                continue
        else:
            chunk = keys[i : i + 1]
        for n, key in enumerate(chunk):  # one at a time (after a failed group: which failed)
            if ex._canceled.is_set():
                failures.append((key, "canceled before this partition started", None))
                break
            if not one(i + n + 1, key) and ex.fail_fast:
                break
        else:
            i += len(chunk)
            continue
        break
    if failures:
        key, message, line = failures[0]
        more = f" (and {len(failures) - 1} more partitions)" if len(failures) > 1 else ""
        if message.startswith("check "):  # keep "check ..." first: it names the reason
            failed = ex._failed(
                cur, target, model, started, t0, f"{message} in partition {key}{more}", line
            )
        else:
            failed = ex._failed(
                cur, target, model, started, t0, f"partition {key}: {message}{more}", line
            )
        # the partitions that committed keep their rows: the summary counts them, and a
        # step downstream still builds what reads none of the others
        return replace(
            failed,
            checks=tuple(outcomes),
            rows=total_rows or None,
            failed_partitions=tuple(k for k in keys if k not in committed),
        )
    cur.record_step(target, started, total_rows)
    return ex._succeeded(
        cur, step, model, target, started, t0, total_rows, outcomes, partitions=len(keys)
    )


def _range_at_once(
    ex: Executor, step: Step, model: Model, target: BuildTarget, keys: list[str]
) -> bool:
    """Whether the default policy builds these partitions with one query, as single_run
    does: a SQL model writing a table, with no SQL checks (their results are kept per
    partition), whose query is decomposable (compiler/partition_shape.py) for these
    windows."""
    if model.config.get("backfill_policy") is not None or len(keys) < 2 or step.full_refresh:
        return False
    if model.kind != "sql" or target.store is not None or target.external is not None:
        return False
    if model.incremental_sql:  # a dbt microbatch model: batch by batch, as dbt runs it
        return False
    if ex.auditor is not None and ex.auditor.sql_checks(model.name):
        return False
    from teal.compiler.partition_shape import divides_windows, judge
    from teal.compiler.partitions.time import repeated_wall_time

    mappings = [p.mapping for p in model.pushdowns]
    found = judge(step.sql or "", model.partitions, model.partition_column, mappings)
    if found.reason is not None:
        return False
    windows = [model.partitions.window(k) for k in keys]
    # a range over the night clocks fall back is one span of wall-clock time, which holds
    # the repeated hour once: each partition's query, with that hour's bounds as instants
    if any(repeated_wall_time(bound) for window in windows for bound in window):
        return False
    # the windows must follow each other (one query over a gap would build it too), and a
    # generator's step divide each of them
    return divides_windows(found.steps, windows)


def _covering_filter(ex: Executor, model: Model, keys: list[str]) -> str | None:
    """One predicate selecting exactly the partitions ``keys`` of a time-partitioned model
    whose windows follow each other (from the first start to the last end), else None."""
    definition = model.partitions
    if not isinstance(definition, TimePartitions) or not model.partition_filter:
        return None
    windows = [definition.window(k) for k in keys]
    if any(a[1] != b[0] for a, b in zip(windows, windows[1:])):
        return None
    return ex.project.sql_for_range(model, model.partition_filter, keys)


def run_single(
    ex: Executor,
    cur: EngineCursor,
    step: Step,
    model: Model,
    target: BuildTarget,
    keys: list[str],
    t0: float,
    step_started: datetime,
    *,
    each: bool = False,
) -> ModelResult:
    """All of a step's time partitions from one query / one call (single_run policy),
    or one per run of partitions that follow each other when the keys asked leave gaps
    (one query over a gap would build the partitions in it too); ``each``: reported
    partition by partition, as the default policy reports them (a decomposable model
    built at once), not as one range."""
    outcomes: list[CheckOutcome] = []
    started = datetime.now(UTC).replace(tzinfo=None)
    rows = sum(
        _write_range(ex, cur, step, model, target, run, t0, each, outcomes)
        for run in _contiguous(model, keys)
    )
    cur.record_step(target, started, rows)  # once, with every run's rows
    return ex._succeeded(
        cur, step, model, target, step_started, t0, rows, outcomes, partitions=len(keys)
    )


def _contiguous(model: Model, keys: list[str]) -> list[list[str]]:
    """``keys`` (in order) cut where a partition's window does not end where the next
    one's starts."""
    runs: list[list[str]] = []
    end = None
    for key in keys:
        start, stop = model.partitions.window(key)
        if runs and start == end:
            runs[-1].append(key)
        else:
            runs.append([key])
        end = stop
    return runs


def _write_range(
    ex: Executor,
    cur: EngineCursor,
    step: Step,
    model: Model,
    target: BuildTarget,
    keys: list[str],
    t0: float,
    each: bool,
    outcomes: list[CheckOutcome],
) -> int:
    """Partitions ``keys``, which follow each other, from one query / one call, with
    their state rows in one transaction; the rows written (the checks' outcomes added to
    ``outcomes``)."""
    windows = [(k, *model.partitions.window(k)) for k in keys]
    label = f"{keys[0]}..{keys[-1]}" if len(keys) > 1 else keys[0]  # as it is reported
    if model.kind == "sql":
        source: Any = ex.project.sql_for_range(model, step.sql or "", keys)
    else:
        output = call_asset(ex.calls, cur, model, keys=keys)
        source = output.data
        _has_partition_column(model, source)
        if output.metadata:  # reported with the range, as one materialization
            ex._partition_metadata[(model.name, label)] = dict(output.metadata)
    built = cur.replace_partitions_single_run(
        target,
        windows,
        source,
        str(model.partition_column),
        audit=ex._audit_for(model, outcomes),
    )
    if each:
        rows, share = dict(built.parts), (time.perf_counter() - t0) / len(keys)
        for i, key in enumerate(keys, 1):
            report_partition(ex, step, key, SUCCESS, rows.get(key, 0), i, len(keys), share)
    else:
        report_partition(
            ex, step, label, SUCCESS, built.rows, len(keys), len(keys), time.perf_counter() - t0
        )
    return built.rows or 0
