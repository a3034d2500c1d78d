"""Planner passes: small pure functions ``(Plan, PlanContext) -> Plan``, run in ``PASSES`` order.

- ``assign_partitions`` (compiler/partition_pass.py): the partition keys each partitioned
  step builds, and the data version every step records.
- ``keep_only_models``: a retry keeps the steps of the models it retries.
- ``inline_views``: with ``--inline-views``, a view that only one model reads, built in the
  same plan, and not selected on its own, becomes a CTE of that model instead of a relation.
- ``skip_unchanged``: with ``--changed-only``, a model whose SQL and config hash, upstream
  data versions and relation are unchanged since its last successful build gets no step
  (an asset an I/O manager stores: its recorded build stands for the relation).
- ``block_failed_upstreams``: a step downstream of a model whose error check failed in an
  earlier run (and still stands) is blocked, unless ``--ignore-failed-upstream``.
- ``wait_for_check_reads``: a step whose checks read other models waits for their steps
  (without depending on them: their failure skips only those checks).
- ``order_by_critical_path``: steps ordered so the longest remaining chains (by last
  durations when known, else by step count) start first; the executor starts ready steps in
  plan order.

Ephemeral models are inlined by the compiler itself (see ``compiler.rewrite``), so every
step's SQL already contains them; the plan lists them under "no step" with the reason.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from teal.compiler.frozen import evolve
from teal.compiler.partition_pass import assign_partitions
from teal.compiler.plan import UNCHANGED, Plan, PlanContext, Step
from teal.compiler.source_versions import SourceVersions
from teal.compiler.sql import text_hash

if TYPE_CHECKING:
    from teal.compiler.project import Project


def keep_only_models(plan: Plan, ctx: PlanContext) -> Plan:
    """With ``only_models`` (a retry): the steps of those models, after the partition pass
    gave every step of the retried run's selection its keys (a model selected by ``+``
    reads its keys from its upstreams' steps, as it did the first time)."""
    only = ctx.options.only_models
    if only is None:
        return plan
    kept = [s for s in plan.steps if s.model in only]
    names = {s.model for s in kept}
    not_run = dict(plan.not_run)
    for step in plan.steps:
        if step.model not in names:
            not_run[step.model] = "built by the retried run"
    steps = [evolve(s, depends_on=tuple(d for d in s.depends_on if d in names)) for s in kept]
    return plan.with_steps(steps, not_run)


def inline_views(plan: Plan, ctx: PlanContext) -> Plan:
    """Inline single-consumer views (``--inline-views``) into their consumer's SQL."""
    if not ctx.options.inline_views:
        return plan
    from sqlglot import exp

    from teal.compiler.rewrite import (
        ephemeral_cte_name,
        existing_cte_names,
        inline_ephemerals,
        point_at_cte,
    )
    from teal.compiler.sql import DIALECT, parse_sql

    project = ctx.project
    steps = {s.model: s for s in plan.steps}
    order = [s.model for s in plan.steps]
    not_run = dict(plan.not_run)
    for name in order:
        step = steps.get(name)
        if step is None or step.action != "view" or name in ctx.explicit:
            continue
        readers = project.dag.downstreams.get(name, ())
        consumers = [r for r in readers if project.models[r].materialized != "ephemeral"]
        if len(readers) != 1 or len(consumers) != 1:
            continue
        consumer = steps.get(consumers[0])
        if consumer is None or consumer.action == "python" or consumer.sql is None:
            continue
        if project.models[consumer.model].incremental_sql is not None:
            continue  # its is_incremental() variant reads the view's relation: keep the view
        model = project.models[name]
        query = parse_sql(consumer.sql, path=consumer.path)
        cte = ephemeral_cte_name(name, existing_cte_names(query), prefix="__teal_view_")
        hits = 0
        for table in list(query.find_all(exp.Table)):
            if (
                table.name.lower() == model.alias.lower()
                and table.db.lower() == model.schema.lower()
                and not table.catalog
            ):
                point_at_cte(table, cte)
                hits += 1
        if not hits:
            continue
        inline_ephemerals(query, [(cte, parse_sql(step.sql or "", path=step.path))])
        sql = query.sql(dialect=DIALECT, comments=False)
        deps = (set(consumer.depends_on) - {name}) | set(step.depends_on)
        steps[consumer.model] = evolve(
            consumer,
            sql=sql,
            depends_on=tuple(sorted(deps)),
            inlined=consumer.inlined + step.inlined + (name,),
            sql_hash=text_hash(sql + "|" + consumer.action),
            reason=f"{consumer.reason}; inlines view {name}",
        )
        del steps[name]
        not_run[name] = f"view inlined as a CTE into {consumer.model} (--inline-views)"
    return plan.with_steps([steps[n] for n in order if n in steps], not_run)


def skip_unchanged(plan: Plan, ctx: PlanContext) -> Plan:
    """Drop steps whose model, upstream data and relation are unchanged (``--changed-only``)."""
    if not ctx.options.changed_only:
        return plan
    kept: list[Step] = []
    rebuilt: set[str] = set()
    not_run = dict(plan.not_run)
    planned = {s.model for s in plan.steps}
    models = frozenset(ctx.project.models)  # once: per step it made the pass O(models^2)
    sources = SourceVersions(ctx.project)  # its files listed once, when a reason needs them
    for step in plan.steps:
        if step.partitions:  # assign_partitions already chose only what needs building
            rebuilt.add(step.model)
            kept.append(step)
            continue
        why = _why_rebuild(step, ctx, rebuilt, models, sources)
        if why is None:
            not_run[step.model] = UNCHANGED
            continue
        rebuilt.add(step.model)
        kept.append(
            evolve(step, reason=why, depends_on=tuple(d for d in step.depends_on if d in planned))
        )
    kept = [evolve(s, depends_on=tuple(d for d in s.depends_on if d in rebuilt)) for s in kept]
    return plan.with_steps(kept, not_run)


def _why_rebuild(
    step: Step,
    ctx: PlanContext,
    rebuilt: set[str],
    models: frozenset[str],
    sources: SourceVersions,
) -> str | None:
    from teal.compiler.plan import step_upstreams

    recorded = ctx.state.models.get(step.model)
    if recorded is None:
        return "new: never built"
    if ctx.state.last_results.get(step.model) == "error":
        return "failed last run"
    if recorded.sql_hash != step.sql_hash:
        from teal.compiler.deferral import built_deferring

        deferring = built_deferring(recorded.sql_hash, step.sql_hash)
        return deferring or "modified: SQL or config changed since last build"
    missing = _missing(step, ctx)
    if missing is not None:
        return missing
    ups = _through_views(ctx.project, step_upstreams(ctx.project, step.model, models))
    for up in sorted(ups):
        if up in rebuilt:
            return f"upstream {up} rebuilds"
        up_state = ctx.state.models.get(up)
        if up_state is not None and up_state.finished_at > recorded.finished_at:
            return f"upstream {up} was rebuilt after it"
    if recorded.data_version and step.data_version and recorded.data_version != step.data_version:
        # the partitions pass gave its readers this version: skipping it would leave them
        # built from data other than the one their versions say
        for model in (step.model, *sorted(u for u in ups if u in ctx.project.models)):
            if model == step.model or ctx.project.models[model].materialized == "view":
                changed = sources.changed_after(model, recorded.finished_at)
                if changed is not None:
                    return f"changed: source {changed} changed since its last build"
        return "changed: what it reads holds other data than at its last build"
    return None


def _missing(step: Step, ctx: PlanContext) -> str | None:
    """Why the model's data is not where its record says (None: it is). A relation is
    looked for in the warehouse's catalog; an asset an I/O manager stores is where the
    manager put it, which teal cannot list, so its recorded build stands for it (a view
    the manager offers is not looked for either)."""
    if ctx.project.models[step.model].io_manager is not None:
        return None
    if ctx.state.relations is None:  # not listed: whether it exists is unknown
        return f"not known to exist: the warehouse's relations were not listed ({step.relation})"
    if step.relation.lower() not in ctx.state.relations:
        return f"missing: {step.relation} does not exist"
    return None


def _through_views(project: Project, ups: set[str]) -> set[str]:
    """``ups`` and, below each view among them, what the view reads (through views and
    ephemerals): a view holds no data, so a table rebuilt under it changes its readers'
    input although the view itself was not rebuilt."""
    out = set(ups)
    stack = [u for u in ups if project.models[u].materialized == "view"]
    while stack:
        for up in project.models[stack.pop()].upstreams:
            if up in out:
                continue
            out.add(up)
            if project.models[up].materialized in ("view", "ephemeral"):
                stack.append(up)
    return out


def order_by_critical_path(plan: Plan, ctx: PlanContext) -> Plan:
    """Topological order that starts the longest remaining chains first.

    A step's priority is its own expected duration plus the longest priority among the steps
    that wait for it; durations are last successful build times when known, else the median
    known duration (1 s when nothing is known, which makes it the longest chain by count).
    """
    steps = {s.model: s for s in plan.steps}
    waiters: dict[str, list[str]] = {n: [] for n in steps}
    for s in plan.steps:
        for d in s.waits_for:
            if d in waiters:
                waiters[d].append(s.model)
    known = ctx.state.models
    durations = sorted(r.duration_ms / 1000.0 for r in known.values() if r.duration_ms)
    default = durations[len(durations) // 2] if durations else 1.0  # unknown: a typical step

    def cost(name: str) -> float:
        recorded = known.get(name)
        return (
            max(recorded.duration_ms / 1000.0, 0.001)
            if recorded and recorded.duration_ms
            else default
        )

    priority: dict[str, float] = {}
    for s in reversed(plan.steps):  # plan.steps is topological: waiters come later
        priority[s.model] = cost(s.model) + max(
            (priority[w] for w in waiters[s.model]), default=0.0
        )
    indegree = {n: sum(1 for d in s.waits_for if d in steps) for n, s in steps.items()}
    heap = [(-priority[n], n) for n, deg in indegree.items() if deg == 0]
    heapq.heapify(heap)
    ordered: list[Step] = []
    while heap:
        _, name = heapq.heappop(heap)
        recorded = known.get(name)
        expected = recorded.duration_ms / 1000.0 if recorded and recorded.duration_ms else 0.0
        ordered.append(
            evolve(steps[name], priority=round(priority[name], 3), expected_s=round(expected, 3))
        )
        for w in waiters[name]:
            indegree[w] -= 1
            if indegree[w] == 0:
                heapq.heappush(heap, (-priority[w], w))
    return plan.with_steps(ordered)


def block_failed_upstreams(plan: Plan, ctx: PlanContext) -> Plan:
    """A step downstream of a model whose error check failed in an earlier run, and still
    stands, is blocked: it would build on data its upstream's checks rejected. The failure
    stands until the upstream passes its checks again; an upstream rebuilt in this plan
    decides for itself (its downstream runs if it passes now). With
    ``--ignore-failed-upstream`` the step runs and says which failure it ignores. A model
    read from another warehouse (``options.deferred``) stops the walk: neither its own
    failure here nor one below it blocks, since this warehouse's relations are not read."""
    deferred = ctx.options.deferred
    failures = {
        name: found
        for name, found in ctx.state.failed_checks.items()
        if name in ctx.project.models
        and name not in deferred
        and any(f.check in ctx.project.checks for f in found)  # a removed check stands for nothing
    }
    if not failures:
        return plan
    planned = {s.model for s in plan.steps}
    blockers = {name: f for name, f in failures.items() if name not in planned}
    # each model -> the first failure upstream of it, looking through every model between
    blocked_by: dict[str, str] = {}
    for name in ctx.project.dag.order():
        for up in sorted(ctx.project.models[name].upstreams):
            if up in deferred:
                continue
            if up in blockers:
                found = [f for f in blockers[up] if f.check in ctx.project.checks][0]
                blocked_by[name] = found.describe(up)
                break
            if up in blocked_by:
                blocked_by[name] = blocked_by[up]
                break
    if not blocked_by.keys() & planned:
        return plan
    steps = []
    for step in plan.steps:
        why = blocked_by.get(step.model)
        if why is None:
            steps.append(step)
        elif ctx.options.ignore_failed_upstream:
            steps.append(
                evolve(
                    step,
                    ignored_failure=why,
                    reason=f"{step.reason}; ignores: {why} (--ignore-failed-upstream)",
                )
            )
        else:
            steps.append(evolve(step, blocked=why, reason=f"blocked: {why}"))
    return plan.with_steps(steps)


def wait_for_check_reads(plan: Plan, ctx: PlanContext) -> Plan:
    """A step whose checks read other models (relationships, singular and Python checks)
    waits for those models' steps in this plan (``Step.check_waits``), so that its audit
    sees them built; it does not depend on them: when one fails, the step still builds and
    only the checks that read it are skipped (runtime/checking.py). An edge that would
    close a cycle (the model read is downstream of the checked one) is left out: that check
    reads the relation as it was."""
    deps = {s.model: set(s.waits_for) for s in plan.steps}
    waits: dict[str, set[str]] = {s.model: set(s.check_waits) for s in plan.steps}

    def waits_for(start: str, goal: str) -> bool:
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(deps.get(node, ()))
        return False

    changed = False
    for step in plan.steps:
        reads = {r for c in ctx.project.checks_of(step.model) for r in c.reads}
        for read in sorted(reads):
            if read in deps and read not in deps[step.model] and not waits_for(read, step.model):
                deps[step.model].add(read)
                waits[step.model].add(read)
                changed = True
    if not changed:
        return plan
    # keep the steps topological (later passes rely on it), otherwise in their order
    index = {s.model: i for i, s in enumerate(plan.steps)}
    waiters: dict[str, list[str]] = {n: [] for n in deps}
    indegree = dict.fromkeys(deps, 0)
    for name, ups in deps.items():
        for up in ups & deps.keys():
            waiters[up].append(name)
            indegree[name] += 1
    heap = [index[n] for n, k in indegree.items() if k == 0]
    heapq.heapify(heap)
    ordered: list[Step] = []
    while heap:
        step = plan.steps[heapq.heappop(heap)]
        ordered.append(evolve(step, check_waits=tuple(sorted(waits[step.model]))))
        for waiter in waiters[step.model]:
            indegree[waiter] -= 1
            if indegree[waiter] == 0:
                heapq.heappush(heap, index[waiter])
    return plan.with_steps(ordered)


PASSES = (
    assign_partitions,
    keep_only_models,
    inline_views,
    skip_unchanged,
    block_failed_upstreams,
    wait_for_check_reads,
    order_by_critical_path,
)
