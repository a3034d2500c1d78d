"""Partitions held back: when some partitions of a step failed, a partitioned step
downstream of it still builds its partitions that read none of them.

A 365-day backfill that failed on one day builds the other days downstream too, as
Dagster's backfills run each partition on its own: only the downstream partitions that
read the failed day (through the model's partition mapping) are held back, reported as
skipped, and left for `teal retry` (runtime/retry.py) or the next build (they are
missing). A downstream step reading the failed model through ephemeral models maps its
partitions the same way (compiler/view_partitions.py). It is skipped whole, as before,
when it cannot be told which of its partitions read the failed ones: it is unpartitioned.
A reader through a view is skipped with the view, which is unpartitioned: the scheduler
skips what is downstream of a skipped step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from teal.compiler.plan import PlanState, Step
from teal.compiler.project import Project
from teal.compiler.versions import DataVersions

# (downstream step, upstream model, its partitions that did not commit) -> the step with
# the partitions that read none of them, or None: skip it whole
HoldBack = Callable[[Step, str, frozenset[str]], Step | None]


def hold_back(project: Project, now: datetime | None) -> HoldBack:
    """What :class:`~teal.runtime.scheduler.Schedule` asks when a partitioned step ended
    with some partitions not committed."""
    versions = DataVersions(project, PlanState(), now)  # its partition mappings only

    def held(step: Step, upstream: str, failed: frozenset[str]) -> Step | None:
        model = project.models[step.model]
        if (
            model.partitions is None
            or project.models[upstream].partitions is None
            or not (
                upstream in model.upstreams
                or versions.through.views.reads_through(step.model, upstream)
            )
            or not step.partitions
            or step.full_refresh  # one table of every key, swapped in whole
        ):
            return None
        kept: list[int] = []
        for i, key in enumerate(step.partitions):
            if not failed.intersection(versions.through.keys_read(step.model, upstream, key)):
                kept.append(i)
        if not kept:
            return None
        if len(kept) == len(step.partitions):
            return step
        kept_at = set(kept)
        held_keys = tuple(k for i, k in enumerate(step.partitions) if i not in kept_at)
        versions_now = tuple(step.partition_versions)
        return replace(
            step,
            partitions=tuple(step.partitions[i] for i in kept),
            partition_versions=tuple(versions_now[i] for i in kept) if versions_now else (),
            partition_reasons=tuple(step.partition_reasons[i] for i in kept)
            if step.partition_reasons
            else (),
            held_back=step.held_back + held_keys,
            held_back_why=step.held_back_why or f"upstream {upstream} failed on what it reads",
        )

    return held
