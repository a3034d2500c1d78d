"""The Plan: what a build will do, as data. The executor only carries it out.

``build_plan`` selects models, makes one :class:`Step` per model that produces a relation,
then runs the planner passes in ``PASSES`` over it. Each pass is a small pure function
``(Plan, PlanContext) -> Plan`` in :mod:`compiler.passes`. Ephemeral models get no step:
they are inlined into their consumers' SQL by the compiler; the plan says so.

``Plan.explain()`` prints the plan the way ``EXPLAIN`` would; ``teal plan`` shows it and
``teal build`` executes exactly it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from teal.compiler.partition_records import PartitionRecords, PartitionState, partition_state
from teal.compiler.project import Project
from teal.compiler.selection import model_index, select_models

if TYPE_CHECKING:
    from teal.compiler.column_lineage import ColumnGraph
    from teal.compiler.deferral import DeferredRead
    from teal.compiler.key_runs import KeyOrder
    from teal.compiler.partitions import Partitions
    from teal.compiler.verified_versions import VerifiedVersions

ACTIONS = {
    "view": "create view",
    "table": "build table",
    "python": "run python asset",
    "incremental": "incremental",
    "external": "write files",
}
# dbt's resources built as models, named as dbt names them in a build's progress lines
_RESOURCE_KINDS = {"seed": "seed", "snapshot": "snapshot"}

# why a selected model got no step although it is built: nothing of it is stale (its
# checks then do not run in the build either; runtime/tests_alone.py says so)
ALL_PARTITIONS_UP_TO_DATE = "all partitions up to date"
RANGE_UP_TO_DATE = "no partition of the requested range needs building"
UNCHANGED = "unchanged since last build: skipped"
UP_TO_DATE = frozenset({ALL_PARTITIONS_UP_TO_DATE, RANGE_UP_TO_DATE, UNCHANGED})


def is_up_to_date(reason: str | None) -> bool:
    """Whether a ``not_run`` reason is one of :data:`UP_TO_DATE`, perhaps followed by a
    note (``; upstream events is out of date and not selected, ...``)."""
    return reason is not None and reason.split("; ", 1)[0] in UP_TO_DATE


@dataclass(frozen=True)
class PlanOptions:
    """Planner choices, in one place (not one flag per pass)."""

    changed_only: bool = False
    inline_views: bool = False
    full_refresh: bool = False  # rebuild incremental models (and all partitions) from scratch
    partition_keys: tuple[str, ...] = ()  # --partition K (repeatable)
    partition_range: tuple[str, str] | None = None  # --partition-range A..B / --from A --to B
    missing_only: bool = False  # --only-missing: only partitions not built successfully yet
    ignore_failed_upstream: bool = False  # build downstream of failed checks anyway
    range_flag: str = "--partition-range"  # where partition_range came from, for messages
    # dbt's --event-time-start/--event-time-end: microbatch models build the batches that
    # overlap this window (UTC, naive) instead of their lookback
    event_time_window: tuple[datetime, datetime] | None = None
    now: datetime | None = None  # the clock for "partitions up to now" (tests inject it)
    # teal retry: each model's partitions the retried run built; left out of its keys
    # (unless nothing would be left: the model failed after its partitions, so all run)
    done_partitions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # teal retry: the models that get steps; the rest of the selection (the retried run's)
    # is planned only so that these get the partitions they got the first time
    only_models: frozenset[str] | None = None
    # a run the daemon queued for automation conditions (runtime/automation_conditions.py):
    # the partitions each of these models builds, whatever else is missing or stale
    model_partitions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # --defer-to: the models read from another warehouse; a check that failed here below
    # (or on) one of them blocks nothing, since this warehouse's relation is not read
    deferred: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ModelState:
    """What the warehouse recorded about a model's last successful build."""

    sql_hash: str
    finished_at: datetime
    duration_ms: float = 0.0
    data_version: str | None = None  # None: built before teal recorded versions
    relation: str | None = None  # the relation it built ("schema.name"); None: not recorded


@dataclass(frozen=True)
class FailedCheck:
    """An error-severity check whose latest result on a model (or one of its partitions)
    failed: the model's new data was not published, and what reads it waits."""

    check: str
    run_id: str
    at: datetime
    partition: str | None = None

    def describe(self, model: str) -> str:
        where = f" partition {self.partition}" if self.partition else ""
        return (
            f"upstream {model}{where} failed check {self.check} in run {self.run_id} "
            f"at {self.at:%Y-%m-%d %H:%M:%S}"
        )


@dataclass(frozen=True)
class PlanState:
    """Everything the planner may know from earlier runs (empty for a new warehouse)."""

    models: dict[str, ModelState] = field(default_factory=dict)
    last_results: dict[str, str] = field(default_factory=dict)  # model -> success|error|skipped
    # "schema.name", lower case, that exist now; None: not listed (only a plan that skips
    # unchanged models asks the engine to list them: Engine.plan_state)
    relations: frozenset[str] | None = frozenset()
    # model -> partition key -> latest record ({"status", "finished_at", "rows", ...}), kept
    # column by column (compiler/partition_records.py; plain dicts given are converted)
    partitions: Mapping[str, PartitionRecords] = field(default_factory=PartitionState)
    # model -> its error-severity checks whose latest result failed
    failed_checks: dict[str, tuple[FailedCheck, ...]] = field(default_factory=dict)
    # dynamic partition set -> its keys, in the order they were added
    dynamic_partitions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "partitions", partition_state(self.partitions))

    @property
    def known(self) -> bool:
        return bool(self.models or self.last_results)


@dataclass(frozen=True)
class Step:
    model: str
    action: str  # "view" | "table" | "python"
    relation: str
    depends_on: tuple[str, ...]
    reason: str
    sql_hash: str
    path: str
    sql: str | None = None  # what the warehouse runs (SQL models)
    inlined: tuple[str, ...] = ()  # views inlined into this step (--inline-views)
    priority: float = 0.0  # critical-path length from this step to the end of the plan
    # its last successful build's duration in seconds (0: none on record), which tells a
    # heavy step (that builds alone) from a light one (runtime/step_groups.py)
    expected_s: float = 0.0
    partitions: tuple[str, ...] = ()  # partition keys this step builds (partitioned models)
    full_refresh: bool = False  # incremental models: rebuild from scratch
    checks: tuple[str, ...] = ()  # checks audited before publishing (and Python ones after)
    data_version: str = ""  # unpartitioned: the version its build records (compiler/versions.py)
    # the version each of ``partitions`` records (compiler/planned_versions.py's PlannedVersions:
    # computed when first read, equal to the tuple)
    partition_versions: Sequence[str] = ()
    partition_reasons: tuple[str, ...] = ()  # why each of ``partitions`` is built
    # not run: an upstream's error check failed in an earlier run and still stands
    blocked: str = ""
    # run although an upstream's check failed (--ignore-failed-upstream): which one
    ignored_failure: str = ""
    attempt: int = 1  # which try this is (a model with retries runs again after a failure)
    # partitions left out during the run: they read partitions of an upstream step that
    # failed (runtime/held_back.py), and why
    held_back: tuple[str, ...] = ()
    held_back_why: str = ""
    # how the build's progress lines name it where its action does not say it: a dbt seed
    # or snapshot (built as a table and incrementally)
    kind: str = ""
    # steps it waits for only because its checks read their models (relationships,
    # singular and Python checks; compiler/passes.py wait_for_check_reads): unlike
    # ``depends_on``, one that fails does not skip this step, only the checks reading it
    check_waits: tuple[str, ...] = ()

    @property
    def waits_for(self) -> tuple[str, ...]:
        """Every step it starts after: its upstreams and what its checks read."""
        return self.depends_on + self.check_waits


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    not_run: dict[str, str] = field(default_factory=dict)  # model -> why it has no step
    options: PlanOptions = PlanOptions()
    # model -> [(how, check names)]: "1 fused scan", "alone", "after publish (python)"
    check_plan: dict[str, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)
    # --defer-to: each upstream model read from the deferred warehouse -> why
    # (compiler/deferral.py); its SQL reads it there, it gets no step
    deferred: dict[str, DeferredRead] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.steps)

    def step(self, model: str) -> Step:
        for s in self.steps:
            if s.model == model:
                return s
        raise KeyError(model)

    def with_steps(
        self, steps: list[Step] | tuple[Step, ...], not_run: dict[str, str] | None = None
    ) -> Plan:
        return replace(
            self, steps=tuple(steps), not_run=dict(not_run if not_run is not None else self.not_run)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "options": {
                k: (
                    str(v)
                    if k == "now" and v is not None
                    else sorted(v)
                    if isinstance(v, frozenset)
                    else v
                )
                for k, v in asdict(self.options).items()
            },
            "steps": [{k: v for k, v in asdict(s).items() if k != "sql"} for s in self.steps],
            "not_run": dict(sorted(self.not_run.items())),
            "checks": {
                m: [{"how": how, "checks": list(names)} for how, names in groups]
                for m, groups in self.check_plan.items()
            },
            **(
                {"deferred": {n: r.as_json() for n, r in sorted(self.deferred.items())}}
                if self.deferred
                else {}
            ),
        }

    def explain(self, format: str = "text") -> str:
        """Render the plan: ``text`` (an EXPLAIN-like table) or ``json``."""
        if format == "json":
            return json.dumps(self.to_dict(), indent=2, default=str)
        if format != "text":
            raise ValueError(f"unknown format {format!r}")
        index = {s.model: i for i, s in enumerate(self.steps, 1)}
        rows = [("#", "model", "action", "after", "reason")]
        for i, s in enumerate(self.steps, 1):
            after = (
                ",".join(str(i) for i in sorted(index[d] for d in s.waits_for if d in index)) or "-"
            )
            action = ACTIONS[s.action]
            if s.blocked:
                action = "skip (blocked)"
            elif s.partitions:
                n = len(s.partitions)
                action += f" {n} partition{'s' if n != 1 else ''}"
            if s.full_refresh and not s.blocked:  # rebuilt from scratch, not added to
                action += " (full refresh)"
            rows.append((str(i), s.model, action, after, s.reason))
        for name, why in sorted(self.not_run.items()):
            rows.append(("-", name, "(no step)", "-", why))
        for name, read in sorted(self.deferred.items()):
            rows.append(("-", name, "(deferred)", "-", str(read)))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = []
        for r in rows:
            lines.append(
                "  ".join(
                    [r[0].rjust(widths[0])] + [r[c].ljust(widths[c]) for c in (1, 2, 3)] + [r[4]]
                ).rstrip()
            )
        steps = len(self.steps)
        lines.append("")
        lines.append(f"{steps} step{'s' if steps != 1 else ''}, {len(self.not_run)} without a step")
        if self.deferred:
            n = len(self.deferred)
            # upstream models, and models only the selection's checks read
            lines[-1] += f", {n} model{'s' if n != 1 else ''} deferred"
        if self.check_plan:
            lines.append("")
            lines.append(
                "Checks (run by `teal build` on each model's new data before it is published):"
            )
            for model, groups in self.check_plan.items():
                lines.append(f"  {model}:")
                for label, names in groups:
                    lines.append(f"    {label}: {', '.join(names)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class PlanContext:
    """What passes may read: the project, earlier state, options and the selection."""

    project: Project
    state: PlanState
    options: PlanOptions
    explicit: frozenset[str]  # models named by a selector itself, not only by +/@ expansion
    # partitioned models earlier plans found up to date (compiler/verified_versions.py)
    verified: VerifiedVersions | None = None
    # the keys of each partition definition up to options.now, computed once per plan (many
    # models share one definition, and a year of daily keys costs milliseconds to make)
    _keys: dict[Partitions, tuple[str, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    _key_sets: dict[Partitions, frozenset[str]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _key_orders: dict[Partitions, KeyOrder] = field(default_factory=dict, compare=False, repr=False)

    def partition_keys(self, definition: Partitions) -> list[str]:
        """``definition.keys(options.now)``, computed once per definition for the plan."""
        try:
            found = self._keys.get(definition)
        except TypeError:  # a definition that cannot be a dict key: computed each time
            return definition.keys(self.options.now)
        if found is None:
            found = self._keys[definition] = tuple(definition.keys(self.options.now))
        return list(found)

    def partition_key_set(self, definition: Partitions | None) -> frozenset[str]:
        """The keys of :meth:`partition_keys` as a set, made once per definition."""
        if definition is None:
            return frozenset()
        try:
            found = self._key_sets.get(definition)
        except TypeError:
            return frozenset(definition.keys(self.options.now))
        if found is None:
            found = self._key_sets[definition] = frozenset(self.partition_keys(definition))
        return found

    def key_order(self, definition: Partitions) -> KeyOrder:
        """The keys of :meth:`partition_keys` in order, to tell which follow each other
        (a step's keys are described as runs: compiler/key_runs.py), made once per
        definition."""
        from teal.compiler.key_runs import KeyOrder

        try:
            found = self._key_orders.get(definition)
        except TypeError:
            return KeyOrder(definition.keys(self.options.now))
        if found is None:
            self.partition_keys(definition)
            found = self._key_orders[definition] = KeyOrder(self._keys[definition])
        return found


def _column_graph(project: Project) -> ColumnGraph:
    """The column graph ``column:`` selectors read (computed only when one is used)."""
    from teal.compiler.column_lineage import column_graph

    return column_graph(project)


def build_plan(
    project: Project,
    select_: list[str] | None = None,
    exclude: list[str] | None = None,
    *,
    state: PlanState | None = None,
    options: PlanOptions | None = None,
    verified: VerifiedVersions | None = None,
) -> Plan:
    """Plan a build of the selected models: initial steps, then every pass in PASSES.
    ``verified``: partitioned models found up to date by earlier plans, added to and
    saved by this one."""
    from teal.compiler.passes import PASSES

    state = state or PlanState()
    options = options or PlanOptions()
    chosen, explicit = select_models(
        project.dag,
        select_,
        exclude,
        models=model_index(project, state),
        selectors=project.config.selectors,
        columns=lambda: _column_graph(project),
        exposures=project.exposures,
    )
    if options.only_models is not None:  # a retry: what it retries, whether or not the
        # selection (state:modified, result:) still reaches it now that the run has run
        chosen |= {n for n in options.only_models if n in project.models}
    has_selector = bool([s for s in (select_ or []) if s.strip()])
    steps: list[Step] = []
    not_run: dict[str, str] = {}
    for name in project.dag.order():
        if name not in chosen:
            continue
        model = project.models[name]
        if model.materialized == "ephemeral":
            consumers = [d for d in project.dag.downstreams.get(name, ()) if d in chosen]
            not_run[name] = (
                "ephemeral: inlined as a CTE into " + ", ".join(consumers)
                if consumers
                else "ephemeral: inlined into its consumers, none selected"
            )
            continue
        if not has_selector:
            reason = "selected (all models)"
        elif name in explicit:
            reason = "selected"
        else:
            reason = "selected by a graph operator (+/@)"
        action = "python" if model.kind == "python" else model.materialized
        steps.append(
            Step(
                model=name,
                action=action,
                kind=_RESOURCE_KINDS.get(str(model.config.get("resource_type")), ""),
                relation=model.relation,
                depends_on=tuple(sorted(step_upstreams(project, name, chosen))),
                reason=reason,
                sql_hash=model.sql_hash,
                path=model.display_path,
                sql=model.compiled_sql,
                # config(full_refresh=...) wins over --full-refresh, as in dbt
                full_refresh=(
                    model.materialized == "incremental"
                    or (model.materialized == "external" and model.partitions is not None)
                )
                and bool(
                    options.full_refresh
                    if model.config.get("full_refresh") is None
                    else model.config["full_refresh"]
                ),
                checks=model.checks,
            )
        )
    plan = Plan(steps=tuple(steps), not_run=not_run, options=options)
    context = PlanContext(
        project=project,
        state=state,
        options=options,
        explicit=frozenset(explicit),
        verified=verified,
    )
    for planner_pass in PASSES:
        plan = planner_pass(plan, context)
    if verified is not None:
        verified.save(project.models)
    return replace(plan, check_plan=_check_plan(project, plan))


def _check_plan(project: Project, plan: Plan) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """How each step's checks run: one fused scan for those that can share it, the rest alone."""
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for step in plan.steps:
        checks = [project.checks[c] for c in step.checks if c in project.checks]
        if not checks:
            continue
        fused = tuple(c.name for c in checks if c.fusable)
        alone = tuple(c.name for c in checks if not c.fusable and c.kind != "python")
        python = tuple(c.name for c in checks if c.kind == "python")
        groups = []
        if fused:
            groups.append((f"{len(fused)} in 1 fused scan", fused))
        if alone:
            groups.append((f"{len(alone)} in a query each", alone))
        if python:
            groups.append(("python, after publishing", python))
        out[step.model] = groups
    return out


def step_upstreams(project: Project, name: str, among: set[str] | frozenset[str]) -> set[str]:
    """Upstream models of ``name`` that are in ``among``, looking through ephemerals and
    through views not in ``among`` (a view not made again shows what is under it when
    read: a step reading one waits for the steps that rebuild what it shows)."""
    out: set[str] = set()
    stack = list(project.models[name].upstreams)
    seen: set[str] = set()
    while stack:
        up = stack.pop()
        if up in seen:
            continue
        seen.add(up)
        model = project.models[up]
        if model.materialized == "ephemeral" or (model.materialized == "view" and up not in among):
            stack.extend(model.upstreams)
        elif up in among:
            out.add(up)
    return out
