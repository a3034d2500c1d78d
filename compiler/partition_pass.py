"""The planner pass that chooses partition keys: ``assign_partitions`` (run first of
compiler/passes.py's ``PASSES``) gives each partitioned step the keys it builds and every
step the data version it will record."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from itertools import chain, repeat
from typing import TYPE_CHECKING

from teal.compiler.frozen import evolve
from teal.compiler.key_runs import describe_keys
from teal.compiler.plan import (
    ALL_PARTITIONS_UP_TO_DATE,
    RANGE_UP_TO_DATE,
    Plan,
    PlanContext,
    PlanOptions,
    Step,
)

if TYPE_CHECKING:
    from teal.compiler.errors import TealError
    from teal.compiler.partition_records import PartitionRecords
    from teal.compiler.partitions import Partitions
    from teal.compiler.versions import DataVersions
    from teal.compiler.view_partitions import ThroughViews


def assign_partitions(plan: Plan, ctx: PlanContext) -> Plan:
    """Choose the partition keys each partitioned step builds, and give every step the data
    version it will record (compiler/versions.py).

    - ``--partition``/``--partition-range`` name keys: they are validated against each
      selected partitioned model; a partitioned step downstream of another gets the keys
      that read the upstream's chosen keys (same keys for the same definition).
    - Without them: every partition up to now that is missing (never built, or failed) or
      stale (built from code, config, vars or upstream data that changed since), unless the
      model says ``rebuild_stale=false``; ``--full-refresh``: all of them.
    - A run queued for automation conditions (``model_partitions``): those keys of those
      models (the ones the definition still has).
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
    retried = {model: frozenset(keys) for model, keys in opts.done_partitions}
    conditioned = dict(opts.model_partitions)
    chosen: dict[str, tuple[str, ...]] = {}
    steps: list[Step] = []
    not_run = dict(plan.not_run)
    windows: list[tuple] = []  # time windows of the explicitly requested partitions
    planned = frozenset(s.model for s in plan.steps)
    known: dict[str, bool] = {}  # unselected upstreams: whether out of date
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
            _keys_from_upstream_steps(
                step, ctx, chosen, upstream_keys, parse_mapping, versions.through
            )
            if requested
            else None
        )
        reasons: dict[str, str] = {}
        note = ""  # the unselected upstreams a plain build does not rebuild first
        if requested and step.model not in ctx.explicit and mapped is None and windows:
            # downstream of the requested partitions, partitioned differently: rebuild the
            # partitions whose time window overlaps them
            keys = overlapping_keys(definition, windows, opts.now)
            reasons = dict.fromkeys(keys, "overlaps the requested partitions")
        elif requested and (mapped is None or step.model in ctx.explicit):
            keys = _requested_keys(step.model, definition, opts, PartitionKeyError)
            windows.extend(key_windows(definition, keys))
            reasons = dict.fromkeys(keys, "requested")
        elif requested:
            keys = mapped or []
            reasons = dict.fromkeys(keys, "reads requested upstream partitions")
        elif step.model in conditioned:  # the keys its automation condition asked for
            current = ctx.partition_key_set(definition)
            keys = [k for k in conditioned[step.model] if k in current]
            reasons = dict.fromkeys(keys, "automation condition")
        elif step.full_refresh:  # --full-refresh, unless the model's full_refresh config says no
            keys = ctx.partition_keys(definition)
            reasons = dict.fromkeys(keys, "full refresh")
        elif opts.event_time_window and "microbatch_lookback" in model.config:
            # dbt's --event-time-start/--event-time-end: the batches overlapping the range
            keys = overlapping_keys(definition, [opts.event_time_window], opts.now)
            reasons = dict.fromkeys(keys, "in --event-time-start..--event-time-end")
        else:
            reasons = _outdated(
                step.model,
                ctx.partition_keys(definition),
                records,
                partial(
                    _keys_from_upstream_steps,
                    step,
                    ctx,
                    chosen,
                    upstream_keys,
                    parse_mapping,
                    versions.through,
                ),
                ctx,
                versions,
            )
            keys = list(reasons)
            if model.config.get("rebuild_stale", True) is not False and not opts.missing_only:
                note = _unselected_note(step.model, planned, ctx, versions, known)
        if opts.missing_only:
            built = {k for k, status in records.columns("status") if status == "success"}
            keys = [k for k in keys if k not in built]
        if not keys:
            if requested:
                not_run[step.model] = RANGE_UP_TO_DATE
            elif not ctx.partition_keys(definition):  # a start after now, or an empty set
                name = getattr(definition, "name", None)
                not_run[step.model] = (
                    f"dynamic partition set '{name}' has no keys yet"
                    if isinstance(name, str)
                    else "no partition is due yet"
                )
            else:
                not_run[step.model] = ALL_PARTITIONS_UP_TO_DATE + note
            continue
        chosen[step.model] = tuple(keys)  # what downstream keys map from: all of them
        left_out = ""
        done = retried.get(step.model)
        # only keys asked for: a plain build picks what is missing or stale anyway, and a
        # partition built by the retried run that is stale now (its code changed) is built
        if done and requested:
            left = [k for k in keys if k not in done]
            if left and len(left) < len(keys):
                left_out = f"; {len(keys) - len(left)} built by the retried run left out"
                keys = left
        why = tuple(map(reasons.get, keys, repeat("requested")))
        # a full refresh swaps in a table of the chosen keys only: with requested keys,
        # replace just those partitions instead (the others stay)
        steps.append(
            evolve(
                step,
                partitions=tuple(keys),
                # computed when read: `teal plan` prints only counts
                partition_versions=versions.building_partitions(step.model, keys),
                partition_reasons=why,
                full_refresh=step.full_refresh and not requested,
                reason=f"{step.reason}; partitions "
                + describe_keys(keys, ctx.key_order(definition))
                + _reason_counts(why)
                + left_out
                + note,
            )
        )
    if len(steps) < len(plan.steps):  # some step left: what waited for it no longer does
        kept = {s.model for s in steps}
        steps = [_without_gone(s, kept) for s in steps]
    return plan.with_steps(steps, not_run)


def _without_gone(step: Step, kept: set[str]) -> Step:
    """``step`` waiting only for the steps in ``kept`` (copied only if that changes it)."""
    if all(d in kept for d in step.depends_on):
        return step
    return evolve(step, depends_on=tuple(d for d in step.depends_on if d in kept))


def _unselected_note(
    name: str, planned: frozenset[str], ctx: PlanContext, versions: DataVersions, known: dict
) -> str:
    """compiler/unselected_upstreams.py's note for partitioned step ``name``."""
    from teal.compiler.partition_records import NO_RECORDS
    from teal.compiler.unselected_upstreams import unselected_note

    def outdated(up: str) -> bool:
        definition = ctx.project.models[up].partitions
        records = ctx.state.partitions.get(up, NO_RECORDS)
        keys = ctx.partition_keys(definition)
        return bool(_outdated(up, keys, records, lambda: None, ctx, versions))

    return unselected_note(name, planned, ctx, versions, outdated, known)


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


def key_windows(definition: Partitions, keys: list[str]) -> list[tuple[datetime, datetime]]:
    out = []
    for key in keys:
        try:
            out.append(definition.window(key))
        except Exception:  # noqa: BLE001 - static keys have no time window
            pass
    return out


def overlapping_keys(
    definition: Partitions, windows: list[tuple[datetime, datetime]], now: datetime | None
) -> list[str]:
    """Keys of ``definition`` whose window overlaps one of ``windows`` (all keys if it has no
    time dimension)."""
    # compared as instants: two aware times of one zone compare by wall clock, so the
    # first copy of the hour clocks repeat in autumn would be an empty window
    asked = [(_instant(a), _instant(b)) for a, b in windows]
    keys = []
    for key in definition.keys(now):
        try:
            start, end = map(_instant, definition.window(key))
        except Exception:  # noqa: BLE001 - no time dimension: every key may be affected
            return definition.keys(now)
        if any(start < w_end and w_start < end for w_start, w_end in asked):
            keys.append(key)
    return keys


def _instant(value: datetime) -> datetime:
    """``value`` in UTC (naive values are UTC already)."""
    return value if value.tzinfo is None else value.astimezone(UTC)


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
            # a range's ends are held to now as --partition keys are: a --to past now
            # would build (and record as built) partitions whose window has not come yet
            first = definition.validate(first, now=opts.now)
            last = definition.validate(last, now=opts.now)
            keys.extend(definition.range(first, last))
    except error_class as exc:
        hint = exc.hint
        bad = next((k for k in opts.partition_keys if k not in keys), None)
        if flag == "--partition" and bad is not None and ".." in bad:
            # Dagster's `--partition-range` spells a range FIRST...LAST; here a key with
            # `..` that is no key is read as a range asked for with the wrong flag
            first, _, last = bad.replace("...", "..").partition("..")
            hint = f"a range is `--partition-range {first}..{last}` (or --from/--to)"
        raise error_class(
            f"{exc.message} (model {model}: {definition.describe()})",
            path=flag,
            hint=hint,
        ) from None
    return list(dict.fromkeys(keys))


def _keys_from_upstream_steps(
    step: Step,
    ctx: PlanContext,
    chosen: dict[str, tuple[str, ...]],
    upstream_keys: Callable[..., list[str]],
    parse_mapping: Callable[..., object],
    through: ThroughViews,
) -> list[str] | None:
    """Keys of ``step`` that read partitions its partitioned upstream steps rebuild, or None
    when no upstream step is partitioned (read directly, or through views and ephemeral
    models: compiler/view_partitions.py)."""
    from teal.compiler.partition_sql import resolve_mapping

    project = ctx.project
    model = project.models[step.model]
    parts: list[Sequence[str]] = []  # per partitioned upstream step, the keys reading it
    for up in step.depends_on:
        if up not in chosen or up not in model.upstreams:
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
    for reach in through.views.read_by(step.model).values():
        for up in reach.partitioned:
            if up in chosen:
                wanted = set(chosen[up])
                parts.append(
                    [
                        key
                        for key in ctx.partition_keys(model.partitions)
                        if wanted.intersection(through.keys(step.model, reach, up, key))
                    ]
                )
    if not parts:
        return None
    if len(parts) == 1:
        return list(parts[0])
    return list(dict.fromkeys(chain.from_iterable(parts)))  # each once, first seen first
