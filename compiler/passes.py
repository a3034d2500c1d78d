"""Planner passes: small pure functions ``(Plan, PlanContext) -> Plan``, run in ``PASSES`` order.

- ``inline_views``: with ``--inline-views``, a view that only one model reads, built in the
  same plan, and not selected on its own, becomes a CTE of that model instead of a relation.
- ``skip_unchanged``: with ``--changed-only``, a model whose SQL and config hash, upstream
  data versions and relation are unchanged since its last successful build gets no step.
- ``block_failed_upstreams``: a step downstream of a model whose error check failed in an
  earlier run (and still stands) is blocked, unless ``--ignore-failed-upstream``.
- ``wait_for_check_reads``: a step whose checks read other models waits for their steps.
- ``order_by_critical_path``: steps ordered so the longest remaining chains (by last
  durations when known, else by step count) start first; the executor starts ready steps in
  plan order.

Ephemeral models are inlined by the compiler itself (see ``compiler.rewrite``), so every
step's SQL already contains them; the plan lists them under "no step" with the reason.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from itertools import chain, repeat
from typing import TYPE_CHECKING

from teal.compiler.frozen import evolve
from teal.compiler.plan import Plan, PlanContext, PlanOptions, Step
from teal.compiler.sql import text_hash

if TYPE_CHECKING:
    from teal.compiler.errors import TealError
    from teal.compiler.partition_records import PartitionRecords
    from teal.compiler.partitions import Partitions
    from teal.compiler.project import Project
    from teal.compiler.versions import DataVersions


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
    for step in plan.steps:
        if step.partitions:  # assign_partitions already chose only what needs building
            rebuilt.add(step.model)
            kept.append(step)
            continue
        why = _why_rebuild(step, ctx, rebuilt, models)
        if why is None:
            not_run[step.model] = "unchanged since last build: skipped"
            continue
        rebuilt.add(step.model)
        kept.append(
            evolve(step, reason=why, depends_on=tuple(d for d in step.depends_on if d in planned))
        )
    kept = [evolve(s, depends_on=tuple(d for d in s.depends_on if d in rebuilt)) for s in kept]
    return plan.with_steps(kept, not_run)


def _why_rebuild(
    step: Step, ctx: PlanContext, rebuilt: set[str], models: frozenset[str]
) -> str | None:
    from teal.compiler.plan import step_upstreams

    recorded = ctx.state.models.get(step.model)
    if recorded is None:
        return "new: never built"
    if ctx.state.last_results.get(step.model) == "error":
        return "failed last run"
    if recorded.sql_hash != step.sql_hash:
        return "modified: SQL or config changed since last build"
    if step.relation.lower() not in ctx.state.relations:
        return f"missing: {step.relation} does not exist"
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
        return "changed: what it reads holds other data than at its last build"
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
        for d in s.depends_on:
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
    indegree = {n: sum(1 for d in s.depends_on if d in steps) for n, s in steps.items()}
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


def assign_partitions(plan: Plan, ctx: PlanContext) -> Plan:
    """Choose the partition keys each partitioned step builds, and give every step the data
    version it will record (compiler/versions.py).

    - ``--partition``/``--partition-range`` name keys: they are validated against each
      selected partitioned model; a partitioned step downstream of another gets the keys
      that read the upstream's chosen keys (same keys for the same definition).
    - Without them: every partition up to now that is missing (never built, or failed) or
      stale (built from code, config, vars or upstream data that changed since), unless the
      model says ``rebuild_stale=false``; ``--full-refresh``: all of them.
    - ``--missing-only`` keeps only keys not yet built successfully.
    A partitioned step left with no keys gets no step ("all partitions up to date").
    """
    from teal.compiler.partition_records import NO_RECORDS
    from teal.compiler.partitions import PartitionKeyError, parse_mapping, upstream_keys
    from teal.compiler.versions import DataVersions

    opts = ctx.options
    project = ctx.project
    versions = DataVersions(project, ctx.state, opts.now, ctx.verified)
    requested = bool(opts.partition_keys or opts.partition_range)
    partitioned = [s for s in plan.steps if project.models[s.model].partitions is not None]
    if requested and not partitioned:
        flag = _partition_flag(opts)
        asked = (
            "partition keys were given, but "
            if opts.partition_keys
            else ""
            if flag == BACKFILL_FLAG
            else "a partition range was given, but "
        )
        raise PartitionKeyError(
            f"{asked}no selected model is partitioned",
            path=flag,
            hint="select a partitioned model (teal ls -s partitioned:true lists them)",
        )
    chosen: dict[str, tuple[str, ...]] = {}
    steps: list[Step] = []
    not_run = dict(plan.not_run)
    windows: list[tuple] = []  # time windows of the explicitly requested partitions
    for step in plan.steps:
        model = project.models[step.model]
        definition = model.partitions
        if definition is None:
            version = versions.expected(step.model)
            versions.building(step.model, version)
            steps.append(evolve(step, data_version=version))
            continue
        records: PartitionRecords = ctx.state.partitions.get(step.model, NO_RECORDS)
        # the keys reading what upstream steps rebuild: a plain build needs them only for
        # partitions recorded before data versions (see _outdated)
        mapped = (
            _keys_from_upstream_steps(step, ctx, chosen, upstream_keys, parse_mapping)
            if requested
            else None
        )
        reasons: dict[str, str] = {}
        if requested and step.model not in ctx.explicit and mapped is None and windows:
            # downstream of the requested partitions, partitioned differently: rebuild the
            # partitions whose time window overlaps them
            keys = _overlapping_keys(definition, windows, opts.now)
            reasons = dict.fromkeys(keys, "overlaps the requested partitions")
        elif requested and (mapped is None or step.model in ctx.explicit):
            keys = _requested_keys(step.model, definition, opts, PartitionKeyError)
            windows.extend(_windows(definition, keys))
            reasons = dict.fromkeys(keys, "requested")
        elif requested:
            keys = mapped or []
            reasons = dict.fromkeys(keys, "reads requested upstream partitions")
        elif step.full_refresh:  # --full-refresh, unless the model's full_refresh config says no
            keys = ctx.partition_keys(definition)
            reasons = dict.fromkeys(keys, "full refresh")
        elif opts.event_time_window and "microbatch_lookback" in model.config:
            # dbt's --event-time-start/--event-time-end: the batches overlapping the range
            keys = _overlapping_keys(definition, [opts.event_time_window], opts.now)
            reasons = dict.fromkeys(keys, "in --event-time-start..--event-time-end")
        else:
            reasons = _outdated(
                step.model,
                ctx.partition_keys(definition),
                records,
                partial(_keys_from_upstream_steps, step, ctx, chosen, upstream_keys, parse_mapping),
                ctx,
                versions,
            )
            keys = list(reasons)
        if opts.missing_only:
            built = {k for k, status in records.columns("status") if status == "success"}
            keys = [k for k in keys if k not in built]
        if not keys:
            not_run[step.model] = (
                "all partitions up to date"
                if not requested
                else "no partition of the requested range needs building"
            )
            continue
        chosen[step.model] = tuple(keys)
        why = tuple(map(reasons.get, keys, repeat("requested")))
        # a full refresh swaps in a table of the chosen keys only: with requested keys,
        # replace just those partitions instead (the others stay)
        steps.append(
            evolve(
                step,
                partitions=chosen[step.model],
                # computed when read: `teal plan` prints only counts
                partition_versions=versions.building_partitions(step.model, keys),
                partition_reasons=why,
                full_refresh=step.full_refresh and not requested,
                reason=f"{step.reason}; partitions {describe_keys(keys)}" + _reason_counts(why),
            )
        )
    kept = {s.model for s in steps}
    steps = [evolve(s, depends_on=tuple(d for d in s.depends_on if d in kept)) for s in steps]
    return plan.with_steps(steps, not_run)


def _outdated(
    name: str,
    keys: list[str],
    records: PartitionRecords,
    mapped: Callable[[], list[str] | None],
    ctx: PlanContext,
    versions: DataVersions,
) -> dict[str, str]:
    """The keys a plain build rebuilds, each with why: missing, failed, or stale.
    ``mapped()``: the keys that read partitions upstream steps rebuild (None: no upstream
    step is partitioned). Only keys with a record are looked at one by one: the others
    are missing."""
    config = ctx.project.models[name].config
    rebuild_stale = config.get("rebuild_stale", True) is not False
    # dbt microbatch models: not stale partitions, but the batch holding now and the
    # `lookback` batches before it (compiler/dbt/microbatch.py)
    lookback = config.get("microbatch_lookback")
    if ctx.options.missing_only or lookback is not None:
        rebuild_stale = False
    wanted: set[str] | None = None  # mapped(), once needed
    out: dict[str, str] = {}
    current = ctx.partition_key_set(ctx.project.models[name].partitions)
    recorded = records.keys_in_order()
    if lookback is not None and records and not ctx.options.missing_only:
        latest = keys[-(int(lookback) + 1) :]
        out.update(dict.fromkeys(latest, f"the current batch and {lookback} before it (lookback)"))
    if records and rebuild_stale and not out and _all_built_with_versions(records, current):
        # the common case, in C loops: every row a success with a version, of a current key
        out.update(versions.stale_among(name, dict(zip(recorded, records.column("data_version")))))
    elif records:
        versioned: dict[str, str] = {}  # built with a version: stale if it differs from now's
        for key, status, version in records.columns("status", "data_version"):
            if key not in current:  # a key the definition no longer has
                continue
            if status != "success":
                out[key] = "failed last time"
            elif not rebuild_stale:
                continue
            elif not version:  # recorded before versions: as teal did then
                if wanted is None:
                    wanted = set(mapped() or ())
                if key in wanted:
                    out[key] = "upstream partitions rebuild"
            else:
                versioned[key] = version
        out.update(versions.stale_among(name, versioned))
    if not out:  # the common case: nothing recorded is outdated
        if len(recorded) == len(keys) and current.issuperset(recorded):
            return {}  # every current key recorded (keys and records hold no repeats)
        missing = dict.fromkeys(keys, "missing")
        for key in recorded:
            missing.pop(key, None)
        return missing
    # in key order; a key without a record is missing, whatever else was said of it
    return {
        k: "missing" if k not in records else out[k] for k in keys if k in out or k not in records
    }


def _all_built_with_versions(records: PartitionRecords, current: frozenset[str]) -> bool:
    """Whether every recorded partition succeeded, has a data version and is one of the
    definition's ``current`` keys."""
    statuses = records.column("status")
    return (
        statuses.count("success") == len(statuses)
        and all(records.column("data_version"))
        and current.issuperset(records.keys_in_order())
    )


def _reason_counts(reasons: Sequence[str]) -> str:
    """Why a step's partitions are built, for its reason: ``: missing`` when one reason
    covers all, else ``: 3 missing, 362 stale (upstream customers changed)``."""
    counts = Counter(reasons)  # in first-seen order, as the reasons come
    if list(counts) == ["requested"]:
        return ""
    if len(counts) == 1:
        return ": " + reasons[0]
    return ": " + ", ".join(f"{n} {why}" for why, n in counts.items())


# the range_flag of `teal backfill` without --from/--to (every partition): no flag was given
BACKFILL_FLAG = "teal backfill"


def _partition_flag(opts: PlanOptions) -> str:
    """The flag the partition keys came from, for error messages."""
    return "--partition" if opts.partition_keys else opts.range_flag


def _windows(definition: Partitions, keys: list[str]) -> list[tuple[datetime, datetime]]:
    out = []
    for key in keys:
        try:
            out.append(definition.window(key))
        except Exception:  # noqa: BLE001 - static keys have no time window
            pass
    return out


def _overlapping_keys(
    definition: Partitions, windows: list[tuple[datetime, datetime]], now: datetime | None
) -> list[str]:
    """Keys of ``definition`` whose window overlaps one of ``windows`` (all keys if it has no
    time dimension)."""
    keys = []
    for key in definition.keys(now):
        try:
            start, end = definition.window(key)
        except Exception:  # noqa: BLE001 - no time dimension: every key may be affected
            return definition.keys(now)
        if any(start < w_end and w_start < end for w_start, w_end in windows):
            keys.append(key)
    return keys


def _requested_keys(
    model: str, definition: Partitions, opts: PlanOptions, error_class: type[TealError]
) -> list[str]:
    keys: list[str] = []
    flag = "--partition"
    try:
        for key in opts.partition_keys:
            keys.append(definition.validate(key, now=opts.now))
        flag = opts.range_flag
        if opts.partition_range:
            first, last = opts.partition_range
            if not first or not last:
                everything = definition.keys(opts.now)
                if not everything:
                    raise error_class(
                        "the partition definition has no keys yet",
                        path=flag,
                        hint=definition.describe(),
                    )
                first, last = first or everything[0], last or everything[-1]
            keys.extend(definition.range(first, last))
    except error_class as exc:
        raise error_class(
            f"{exc.message} (model {model}: {definition.describe()})",
            path=flag,
            hint=exc.hint,
        ) from None
    return list(dict.fromkeys(keys))


def _keys_from_upstream_steps(
    step: Step,
    ctx: PlanContext,
    chosen: dict[str, tuple[str, ...]],
    upstream_keys: Callable[..., list[str]],
    parse_mapping: Callable[..., object],
) -> list[str] | None:
    """Keys of ``step`` that read partitions its partitioned upstream steps rebuild, or None
    when no upstream step is partitioned."""
    from teal.compiler.partition_sql import resolve_mapping

    project = ctx.project
    model = project.models[step.model]
    parts: list[Sequence[str]] = []  # per partitioned upstream step, the keys reading it
    for up in step.depends_on:
        if up not in chosen:
            continue
        up_def = project.models[up].partitions
        spec = (model.config.get("partition_mapping") or {}).get(up)
        if up_def == model.partitions and spec is None:
            parts.append(chosen[up])  # the same keys
            continue
        wanted = set(chosen[up])
        mapping = resolve_mapping(spec, model.partitions, up_def)
        parts.append(
            [
                key
                for key in ctx.partition_keys(model.partitions)
                if wanted.intersection(
                    upstream_keys(mapping, model.partitions, up_def, key, now=ctx.options.now)
                )
            ]
        )
    if not parts:
        return None
    if len(parts) == 1:
        return list(parts[0])
    return list(dict.fromkeys(chain.from_iterable(parts)))  # each once, first seen first


def describe_keys(keys: list[str] | tuple[str, ...]) -> str:
    """``2026-01-01..2026-01-31 (31)`` or a short list.

    >>> describe_keys(["a"]), describe_keys(["a", "b", "c", "d", "e"])
    ('a', 'a..e (5)')
    """
    if len(keys) == 1:
        return keys[0]
    if len(keys) <= 3:
        return ", ".join(keys)
    return f"{keys[0]}..{keys[-1]} ({len(keys)})"


def block_failed_upstreams(plan: Plan, ctx: PlanContext) -> Plan:
    """A step downstream of a model whose error check failed in an earlier run, and still
    stands, is blocked: it would build on data its upstream's checks rejected. The failure
    stands until the upstream passes its checks again; an upstream rebuilt in this plan
    decides for itself (its downstream runs if it passes now). With
    ``--ignore-failed-upstream`` the step runs and says which failure it ignores."""
    failures = {
        name: found
        for name, found in ctx.state.failed_checks.items()
        if name in ctx.project.models
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
    waits for those models' steps in this plan, so that its audit sees them built. An edge
    that would close a cycle (the model read is downstream of the checked one) is left out:
    that check reads the relation as it was."""
    deps = {s.model: set(s.depends_on) for s in plan.steps}

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
        ordered.append(evolve(step, depends_on=tuple(sorted(deps[step.model]))))
        for waiter in waiters[step.model]:
            indegree[waiter] -= 1
            if indegree[waiter] == 0:
                heapq.heappush(heap, index[waiter])
    return plan.with_steps(ordered)


PASSES = (
    assign_partitions,
    inline_views,
    skip_unchanged,
    block_failed_upstreams,
    wait_for_check_reads,
    order_by_critical_path,
)
