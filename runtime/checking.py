"""Running checks during a build (write-audit-publish) and on their own (`teal check`).

The :class:`Auditor` is handed to the engine's materializations as an ``audit`` callback:
they call it inside their transaction, after the new rows are staged and before they are
published. A failing error-severity check raises :class:`AuditFailed`; the materialization
rolls back, so the published relation stays as it was, and the executor records the
results afterwards. Passing and warning results are committed with the data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from teal.compiler.checks import TARGET, CheckDef, evaluate
from teal.compiler.errors import TealError
from teal.compiler.wording import counted
from teal.runtime.sample_row import LINE_WIDTH, SAMPLE_PREFIX, format_sample
from teal.warehouse.engine import Audit, CheckRecord, Engine, EngineCursor, Measured

if TYPE_CHECKING:
    from teal.compiler.project import Project

BLOCKING = ("fail", "error")


@dataclass(frozen=True)
class CheckOutcome:
    check: str
    asset: str
    # pass | warn | fail | error (the check itself could not run) | skipped (it reads a
    # model this run did not build)
    status: str
    severity: str
    failing: int | None
    partition: str | None = None
    message: str | None = None
    sample: tuple[dict[str, Any], ...] = ()
    duration_ms: float = 0.0
    stored: str | None = None  # teal_failures relation, with --store-failures
    # the columns the check tests (kept when a printed sample row leaves others out)
    columns: tuple[str, ...] = ()
    # ``failing`` is the check's fail_calc over its failing rows, not their count
    calculated: bool = False
    # a Python check that did not pass: its file and the line there that raised, or its
    # ``def`` line (runtime/python_check_spots.py); None for other checks
    path: str | None = None
    line: int | None = None

    @property
    def failures(self) -> str:
        """``failing`` as a line shows it: ``3 failing rows``, or ``3 failures`` when the
        check's fail_calc computed it."""
        return counted(self.failing or 0, "failure" if self.calculated else "failing row")

    def failing_row(self, width: int = LINE_WIDTH - len(SAMPLE_PREFIX)) -> str | None:
        """Its first failing row as a build prints it after ``e.g.`` (``n=500``, within
        ``width``), or None when it kept none."""
        return format_sample(self.sample[0], self.columns, width=width) if self.sample else None

    @property
    def blocks(self) -> bool:
        return self.status in BLOCKING and self.severity == "error"


def skipped_outcome(project: Project, check: str, why: str) -> CheckOutcome:
    """``check``'s outcome when it cannot run: skipped, saying ``why``."""
    return CheckOutcome(
        check=check,
        asset=project.checks[check].asset,
        status="skipped",
        severity=project.checks[check].severity,
        failing=None,
        message=f"skipped: {why}",
    )


def tested_columns(check: CheckDef) -> tuple[str, ...]:
    """The columns ``check`` tests: its column, or a unique_combination's columns."""
    if check.column:
        return (check.column,)
    named = check.params.get("columns") or check.params.get("combination_of_columns")
    return tuple(str(c) for c in named) if isinstance(named, list) else ()


def audit_callback(
    auditor: Auditor | None,
    before_commit: Callable[[str], None] | None,
    model: str,
    outcomes: list[CheckOutcome],
    partition: str | None = None,
    broken: Mapping[str, str] | None = None,
) -> Audit | None:
    """The callback a step's transactions make before they commit: ``before_commit``, then
    write-audit-publish of the model's SQL checks, their outcomes added to ``outcomes``
    (None: nothing to call). ``broken``: as :meth:`Auditor.audit` takes it."""
    if auditor is not None and not auditor.sql_checks(model):
        auditor = None
    if auditor is None and before_commit is None:
        return None

    def audit(cur: EngineCursor, relation_sql: str) -> None:
        if before_commit is not None:
            before_commit(model)
        if auditor is not None:
            outcomes.extend(auditor.audit(cur, model, relation_sql, partition, broken))

    return audit


def _render_failure(check: CheckDef, exc: Exception) -> str:
    """Why rendering ``check`` when it runs failed: the error, with its place unless it is
    the check's own (which its outcome's message names)."""
    if isinstance(exc, TealError) and exc.path == check.path and exc.line == check.line:
        text = exc.message + (f" ({exc.hint})" if exc.hint else "")
    else:
        text = str(exc)
    return "rendering it failed: " + " ".join(text.split())


class AuditFailed(Exception):
    """An error-severity check failed: the new data must not be published."""

    def __init__(
        self, outcomes: list[CheckOutcome], measured: list[Measured], relation_sql: str = ""
    ) -> None:
        self.outcomes = outcomes
        self.measured = measured
        self.relation_sql = relation_sql  # what the checks ran on (a stage, rolled back now)
        failed = [o for o in outcomes if o.blocks]
        super().__init__(describe_failure(failed))


BOOLS = ("bool", "bool_")  # NumPy's bool type: numpy.bool in NumPy 2, numpy.bool_ before


def _is_bool(value: object) -> bool:
    """A verdict a check may return bare: ``True``/``False``, or NumPy's bool (what
    ``(frame["x"] > 0).all()`` gives with pandas), told by its type without importing NumPy."""
    kind = type(value)
    return isinstance(value, bool) or (kind.__module__ == "numpy" and kind.__name__ in BOOLS)


def _no_verdict(value: object) -> str:
    """What a Python check that returned no verdict says: its truth would be a guess (a
    list of failing rows is true when the data is bad, a text is true whatever it says)."""
    if value is None:
        return (
            "it returned None (is a `return` missing?); return True or False, or a teal.CheckResult"
        )
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    return f"it returned {name}, not a verdict; return True or False, or a teal.CheckResult"


def describe_failure(failed: list[CheckOutcome]) -> str:
    first = failed[0]
    what = (
        first.failures
        if first.failing is not None
        else first.message or ("could not run" if first.status == "error" else "it returned false")
    )
    more = f" (and {len(failed) - 1} more checks)" if len(failed) > 1 else ""
    return f"check {first.check} failed: {what}{more}"


@dataclass
class Auditor:
    """Runs a project's checks for one run. Thread-safe: it keeps no per-call state."""

    project: Any
    run_id: str
    store_failures: bool = False
    # the run's opened resources (Python checks receive them by parameter name), and what
    # hides their secrets from messages
    resources: Mapping[str, Any] = field(default_factory=dict)
    redact: Callable[[str], str] | None = None
    # why a model a check reads is not built in this run (the executor's schedule; None:
    # it is): such a check is skipped, not run on what the relation held before
    not_built: Callable[[str], str | None] = lambda model: None
    # the checks to run (``teal test -s test_name:...``; None: every check of a model)
    only: frozenset[str] | None = None

    @classmethod
    def for_run(
        cls,
        project: Any,
        run_id: str,
        store_failures: bool,
        resources: Mapping[str, Any],
        redact: Callable[[str], str] | None,
        wh: Engine,
    ) -> Auditor:
        """The auditor of run ``run_id``; the failures schema made first when failing rows
        will be stored (before steps store rows in parallel)."""
        if store_failures or any(c.store_failures for c in project.checks.values()):
            wh.ensure_schemas({"teal_failures"})
        return cls(project, run_id, store_failures, resources=resources, redact=redact)

    def sql_checks(self, model: str) -> list[CheckDef]:
        return [c for c in self._checks(model) if c.kind != "python"]

    def python_checks(self, model: str) -> list[CheckDef]:
        return [c for c in self._checks(model) if c.kind == "python"]

    def _checks(self, model: str) -> list[CheckDef]:
        found = self.project.checks_of(model)
        return found if self.only is None else [c for c in found if c.name in self.only]

    def audit(
        self,
        cur: EngineCursor,
        model: str,
        relation_sql: str,
        partition: str | None = None,
        broken: Mapping[str, str] | None = None,
    ) -> list[CheckOutcome]:
        """Run the model's SQL checks on ``relation_sql``; raise AuditFailed if one blocks.
        ``broken``: checks whose query aborted an earlier try of this audit (check name ->
        the error), not run again: each is an ``error`` outcome beside the others'."""
        checks = self.sql_checks(model)
        if not checks:
            return []
        skipped = self.skipped(checks, partition)
        checks = [c for c in checks if c.name not in {o.check for o in skipped}]
        if not checks:
            return skipped
        broken = broken or {}
        measured = [
            Measured(c, None, "", 0.0, [], broken[c.name]) for c in checks if c.name in broken
        ]
        ready, unrendered = self._render_now(
            cur, [c for c in checks if c.name not in broken], relation_sql
        )
        measured += unrendered
        measured += cur.measure(relation_sql, ready)
        outcomes = [self._judge(cur, m, relation_sql, partition) for m in measured]
        self._record(cur, outcomes, measured, relation_sql)
        if any(o.blocks for o in outcomes):
            # the skipped ones last: AuditFailed pairs the first outcomes with ``measured``
            raise AuditFailed(outcomes + skipped, measured, relation_sql)
        # failing rows of warnings (with --store-failures), committed with the data; the
        # teal_failures schema exists already (execute_plan), so concurrent steps do not conflict
        self.store(cur, measured)
        return outcomes + skipped

    def _render_now(
        self, cur: EngineCursor, checks: list[CheckDef], relation_sql: str
    ) -> tuple[list[CheckDef], list[Measured]]:
        """The checks as they run on ``relation_sql``: a dbt test whose Jinja asks about the
        relation it audits (its columns, for dbt_utils's ``equality``) rendered now, its
        queries run on this cursor with the relation in the placeholder's place; one whose
        render fails is measured as an error (its message, located in the template)."""
        render = self.project.render_check
        if render is None or not any(c.render_at_run for c in checks):
            return checks, []

        def query(sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
            return cur.query(sql.replace(TARGET, relation_sql))

        ready: list[CheckDef] = []
        failed: list[Measured] = []
        for check in checks:
            if not check.render_at_run:
                ready.append(check)
                continue
            try:
                ready.append(render(check.name, query))
            except Exception as exc:  # noqa: BLE001 - a broken check is reported, not raised
                failed.append(Measured(check, None, "", 0.0, [], _render_failure(check, exc)))
        return ready, failed

    def skipped(self, checks: list[CheckDef], partition: str | None) -> list[CheckOutcome]:
        """The outcomes of the checks that read a model this run did not build: skipped
        (they are not recorded in the warehouse's check results, which keep the last
        outcome of a check that ran)."""
        out = []
        for check in checks:
            why = next(filter(None, map(self.not_built, check.reads)), None)
            if why is not None:
                out.append(
                    CheckOutcome(
                        check=check.name,
                        asset=check.asset,
                        status="skipped",
                        severity=check.severity,
                        failing=None,
                        partition=partition,
                        message=f"skipped: {why}",
                        columns=tested_columns(check),
                    )
                )
        return out

    def _published_sql(self, cur: EngineCursor, sql: str, model: str, relation_sql: str) -> str:
        """The check's SQL as a user can rerun it: on the published relation, not the stage
        it ran on before publishing."""
        m = self.project.models.get(model)
        if m is None or m.materialized == "ephemeral":
            return sql
        return sql.replace(relation_sql, cur.relation_sql(m.schema, m.alias))

    def _judge(
        self, cur: EngineCursor, m: Measured, relation_sql: str, partition: str | None
    ) -> CheckOutcome:
        check: CheckDef = m.check
        if m.failing is None:
            where = f" ({check.path}:{check.line})" if check.path and check.line else ""
            status, message = "error", f"the check{where} could not run: {m.error}"
        else:
            status = evaluate(m.failing, check.severity, check.warn_if, check.error_if)
            message = None
            if status != "pass":
                try:
                    cur.sample(
                        m,
                        relation_sql,
                        keep_failures=self.store_failures or check.store_failures,
                    )
                except Exception as exc:  # noqa: BLE001 - samples are a courtesy
                    message = f"could not sample failing rows: {exc}"
        return CheckOutcome(
            check=check.name,
            asset=check.asset,
            status=status,
            severity=check.severity,
            failing=m.failing,
            partition=partition,
            message=message,
            sample=tuple(m.sample),
            duration_ms=m.duration_ms,
            columns=tested_columns(check),
            calculated=check.fail_calc is not None,
        )

    def _record(
        self,
        cur: EngineCursor,
        outcomes: list[CheckOutcome],
        measured: list[Measured],
        relation_sql: str,
    ) -> None:
        cur.record_check_results(
            [
                CheckRecord(
                    run_id=self.run_id,
                    check=m.check,
                    partition=outcome.partition,
                    status=outcome.status,
                    failing=m.failing,
                    sample_rows=list(outcome.sample),
                    sql=self._published_sql(cur, m.sql, m.check.asset, relation_sql),
                    duration_ms=m.duration_ms,
                    message=outcome.message,
                )
                for outcome, m in zip(outcomes, measured)
            ],
        )

    def record_after_rollback(self, cur: EngineCursor, failed: AuditFailed) -> None:
        """The audit's results were rolled back with the data: record them again."""
        self._record(cur, failed.outcomes, failed.measured, failed.relation_sql)

    def store(self, cur: EngineCursor, failed_or_measured: AuditFailed | list[Measured]) -> None:
        """Write failing rows of non-passing checks to teal_failures (after commit/rollback)."""
        measured = (
            failed_or_measured.measured
            if isinstance(failed_or_measured, AuditFailed)
            else failed_or_measured
        )
        for m in measured:
            if m.failures is not None:
                cur.store_failures(m.check.name, m.failures)

    def run_python(
        self, cur: EngineCursor, model: str, load: Callable[[str, str], Any]
    ) -> list[CheckOutcome]:
        """Python checks of ``model`` on published data; ``load(param, kind)`` reads inputs."""
        from teal.compiler.assets import CheckResult, input_kind
        from teal.runtime.python_check_spots import code_line

        checks = self.python_checks(model)
        outcomes: list[CheckOutcome] = self.skipped(checks, None)
        rows: list[CheckRecord] = []
        for check in checks:
            if check.name in {o.check for o in outcomes}:
                continue
            definition = check.python
            t0 = time.perf_counter()
            severity = check.severity
            raised: Exception | None = None
            try:  # loading an input can fail too (an upstream that was never built)
                kwargs = {
                    p: load(p, input_kind(definition.annotations.get(p)) or "arrow")
                    for p in definition.upstream_params
                }
                kwargs.update({p: self.resources[p] for p in definition.resource_params})
                value = definition.fn(**kwargs)
                if isinstance(value, CheckResult):
                    passed, severity = value.passed, value.severity or severity
                    message = value.description or (_shown(value.metadata) or None)
                    status = "pass" if passed else ("fail" if severity == "error" else "warn")
                elif _is_bool(value):
                    status = "pass" if value else ("fail" if severity == "error" else "warn")
                    message = None
                else:  # no verdict (None, failing rows, a text): not a failure of the data
                    status, message = "error", _no_verdict(value)
            except Exception as exc:  # noqa: BLE001 - the user's check raised
                status, message, raised = "error", f"{type(exc).__name__}: {exc}", exc
            if self.redact is not None and message:
                message = self.redact(message)
            outcome = CheckOutcome(
                check=check.name,
                asset=model,
                status=status,
                severity=severity,
                failing=None,
                message=message,
                duration_ms=(time.perf_counter() - t0) * 1000.0,
                path=check.path if status != "pass" else None,
                line=code_line(definition.fn, definition.source_file, raised)
                if status != "pass"
                else None,
            )
            rows.append(
                CheckRecord(
                    run_id=self.run_id,
                    check=replace(check, severity=severity),
                    partition=None,
                    status=status,
                    failing=None,
                    sample_rows=[],
                    sql="",
                    duration_ms=outcome.duration_ms,
                    message=message,
                )
            )
            outcomes.append(outcome)
        cur.record_check_results(rows)
        return outcomes


def unbuilt_reads(
    project: Any, plan: Any, catalog: Any, in_run: Callable[[str], str | None]
) -> Callable[[str], str | None]:
    """Why a model a check reads is not built (None: it is, or will be): ``in_run`` says so
    of the models this run builds (failed, skipped); one it does not build and that is not
    in the warehouse (``catalog``) was never built, and the check that reads it is skipped
    saying so, rather than failing its model on a missing table (``teal build -s
    stg_products`` before ``stg_orders`` was ever built)."""
    steps = {s.model for s in plan.steps}

    def why(model: str) -> str | None:
        if model in steps:
            return in_run(model)
        m = project.models.get(model)
        if m is None or m.materialized == "ephemeral" or m.io_manager is not None:
            return None
        if model in plan.deferred or catalog.kind(m.schema, m.alias) is not None:
            return None
        return f"{model} is not built yet (not selected, and not in the warehouse)"

    return why


def _shown(metadata: object) -> str:
    """A ``CheckResult``'s metadata as its message, each value in its JSON form where it has
    one (``{'share': 0.2}``, not ``{'share': np.float64(0.2)}``)."""
    from teal.runtime.metadata import json_metadata

    if not isinstance(metadata, dict) or not metadata:
        return str(metadata) if metadata else ""
    kept, _ = json_metadata(metadata)
    return str({name: kept.get(name, value) for name, value in metadata.items()})
