"""Light steps built in one shared transaction: fewer commits for the same atomicity.

DuckDB spends several milliseconds on each ``COMMIT`` (it writes the new table to its
write-ahead log under a lock the other workers' commits wait for). For a project of many
light models that is a large share of the build. So a worker may take several ready
steps at once and build them in one transaction, each with its checks and its state row as
before, and commit them together: each model is still published atomically with its state
row (a group is all or nothing), what others read changes only at the commit, and a kill
at any point leaves every relation of the group as it was.

The rules, and why:

- Only steps whose whole work is SQL in the warehouse are grouped: tables and views of SQL
  models, without partitions, hooks, external files, I/O managers, pools, Python checks,
  retries or rendering at run time. Anything else runs alone, as before. (A model with
  retries pauses between its attempts, up to minutes: in a group that failed, its mates'
  results, built again alone by the same worker, would wait for its last attempt, and
  their downstream models with them.)
- A group is as long as a time budget (:func:`budget`): a tenth of the build's time so
  far, at most :data:`GROUP_BUDGET_S`. The first models of a build therefore report as soon
  as they are done, a group never holds its results back long, and a heavy model (one
  whose last build, ``Step.expected_s``, exceeds the budget) runs alone: it gains nothing
  from a shared commit, and the light models grouped with it would wait for it, out of
  the other workers' reach.
- The scheduler sizes a group from the durations of the steps finished so far
  (:func:`group_size`) and leaves enough ready steps for the other workers; the worker
  stops adding steps when the budget is spent and hands the rest back, unstarted.
- A step that fails inside a group rolls the whole group back (DuckDB has no savepoints):
  each of the group's steps is then run again alone, so the others are published and the
  failure is recorded, retried and reported exactly as if there had been no group. A
  failure costs its group's earlier steps a second build.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from teal.compiler.plan import Step
from teal.compiler.project import Model
from teal.runtime.results import SUCCESS, ModelResult
from teal.warehouse.engine import EngineCursor, StepGroup

GROUP_MAX = 16  # steps in one transaction at most
GROUP_BUDGET_S = 0.25  # a group's work at most, in seconds
RAMP = 0.1  # and at most this share of the build's time so far


def budget(elapsed_s: float) -> float:
    """How long a group formed now may build before it commits."""
    return min(GROUP_BUDGET_S, RAMP * elapsed_s)


def groupable(model: Model, step: Step, runs_python: bool) -> bool:
    """Whether ``step`` is all SQL in the warehouse and may share a transaction."""
    return (
        step.action in ("table", "view")
        and model.kind != "python"
        and model.partitions is None
        and model.external is None
        and not model.io_manager
        and not model.pre_hooks
        and not model.post_hooks
        and model.config.get("pool") is None
        and not model.config.get("retries")
        and not model.config.get("render_at_run")
        and not runs_python
    )


def group_size(candidates: int, free_workers: int, budget_s: float, typical_s: float) -> int:
    """How many steps (the first included) one worker takes now.

    ``candidates``: the groupable ready steps besides the first; ``free_workers``: the
    workers without a step, this one included; ``typical_s``: a step's usual duration in
    this build so far (0: none finished yet, so nothing is known and nothing is grouped).
    """
    if typical_s <= 0 or budget_s <= 0 or candidates <= 0:
        return 1
    # steps that fit in the budget, the first included (no division: a tiny typical_s
    # would overflow it)
    fits = GROUP_MAX if typical_s * GROUP_MAX <= budget_s else int(budget_s / typical_s)
    fair = candidates // max(1, free_workers)  # leave the other free workers theirs
    return max(1, min(GROUP_MAX, fits, 1 + fair))


@dataclass(frozen=True)
class GroupRun:
    """What a worker did with a group: a result for each step it built, and the steps it
    did not start (the budget was spent, or the run was canceled), to be scheduled again."""

    results: tuple[ModelResult, ...]
    unstarted: tuple[Step, ...]


def run_group(
    cur: EngineCursor,
    group: StepGroup,
    steps: Sequence[Step],
    build: Callable[[Step, StepGroup], ModelResult],
    alone: Callable[[Step], ModelResult],
    budget_s: float,
    stop: Callable[[], bool],
    started: Callable[[Step], None],
) -> GroupRun:
    """Build ``steps`` in ``group``'s transaction (opened by the caller on ``cur``), in
    order, while the budget lasts; commit them together.

    ``build(step, group)`` builds one step inside the group; ``alone(step)`` builds it in
    its own transaction (with its retries). A step that fails, or a commit that fails,
    rolls the group back and every step built in it runs again alone. ``stop()`` true: no
    further step starts. ``started(step)`` reports each step after the first as it starts
    (the scheduler reported the first); if it raises (a run canceled meanwhile), that
    step and the rest are handed back unstarted, and the scheduler meets the same refusal.
    """
    t0 = time.perf_counter()
    built: list[ModelResult] = []
    failed = False
    try:
        for i, step in enumerate(steps):
            if i:  # the next step starts if its last recorded build fits what is left
                if time.perf_counter() - t0 + step.expected_s >= budget_s or stop():
                    break
                try:
                    started(step)
                except Exception:  # noqa: BLE001 - handed back: see the docstring
                    break
            result = build(step, group)
            built.append(result)
            if result.status != SUCCESS:
                failed = True
                break
        if not failed:
            try:
                cur.close_group(group, commit=True)
            except Exception:  # noqa: BLE001 - the commit failed: nothing was published
                failed = True
    except BaseException:
        cur.close_group(group, commit=False)
        raise
    ran = steps[: len(built)]
    if failed:
        cur.close_group(group, commit=False)
        return GroupRun(tuple(alone(step) for step in ran), tuple(steps[len(built) :]))
    return GroupRun(tuple(built), tuple(steps[len(built) :]))


class Durations:
    """The typical duration of a step in this build: the median of the last few finished
    steps' (scheduler thread only). A median, not a mean: one heavy model among light ones
    would make the mean heavy, and no group would form until it left the window."""

    def __init__(self, keep: int = 32) -> None:
        self._keep = keep
        self._last: list[float] = []

    def add(self, seconds: float) -> None:
        self._last.append(seconds)
        if len(self._last) > self._keep:
            del self._last[0]

    def typical(self) -> float:
        return statistics.median(self._last) if self._last else 0.0
