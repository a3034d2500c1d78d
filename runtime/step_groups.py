"""Light steps built in one shared transaction: fewer commits for the same atomicity.

DuckDB spends several milliseconds on each ``COMMIT`` (it writes the new table to its
write-ahead log under a lock the other workers' commits wait for). For a project of many
light models that is a large share of the build. So a worker may build several ready
steps one after another in one transaction, each with its checks and its state row as
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
  from a shared commit, and the light models built before it in a group would wait for
  it to publish.
- A group forms when a step's typical duration in this build is known (the median of the
  steps finished so far; before any has finished, steps run alone) and another light step
  is ready to join. Its worker takes each further step from the scheduler only when it is
  about to start it (``Schedule.pull``), the most urgent ready light step expected to fit
  what is left of the budget, up to :data:`GROUP_MAX`: no step waits in a group unstarted,
  so a first step that turns out heavy (never built before, nothing on record) holds no
  other step while the other workers are idle, and the other workers take from the same
  ready steps meanwhile. It takes only steps that were ready before its transaction
  began: DuckDB's snapshot does not hold a table another worker committed after that.
- A step that fails inside a group rolls the whole group back (DuckDB has no savepoints):
  each of the group's steps is then run again alone, so the others are published and the
  failure is recorded, retried and reported exactly as if there had been no group. A
  failure costs its group's earlier steps a second build.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
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


@dataclass(frozen=True)
class GroupRun:
    """What a worker did with a group: a result for each step it built, and the step it
    took but did not start (the run was canceled meanwhile), to be scheduled again."""

    results: tuple[ModelResult, ...]
    unstarted: tuple[Step, ...]


def run_group(
    cur: EngineCursor,
    group: StepGroup,
    first: Step,
    pull: Callable[[float], Step | None],
    build: Callable[[Step, StepGroup], ModelResult],
    alone: Callable[[Step], ModelResult],
    budget_s: float,
    stop: Callable[[], bool],
    started: Callable[[Step], None],
    canceled: Callable[[], bool] = lambda: False,
) -> GroupRun:
    """Build ``first``, then the steps ``pull`` gives, in ``group``'s transaction (opened
    by the caller on ``cur``), while the budget lasts; commit them together.

    ``pull(left_s)`` takes the next step to start from the scheduler, one expected to
    build within ``left_s`` seconds (None: none; the group commits). ``build(step,
    group)`` builds one step inside the group; ``alone(step)`` builds it in its own
    transaction (with its retries). A step that fails, or a commit that fails, rolls the
    group back and every step built in it runs again alone. ``stop()`` true: no further
    step is taken. ``started(step)`` reports each step after the first as it starts (the
    scheduler reported the first); if it raises (a run canceled meanwhile), that step is
    handed back unstarted, and the scheduler meets the same refusal. ``canceled()`` true
    when the group would commit: it rolls back instead (a canceled run commits nothing
    more), and ``alone`` meets the cancel for each step.
    """
    t0 = time.perf_counter()
    ran: list[Step] = []
    built: list[ModelResult] = []
    unstarted: tuple[Step, ...] = ()
    failed = False
    try:
        step: Step | None = first
        while step is not None:
            ran.append(step)
            result = build(step, group)
            built.append(result)
            if result.status != SUCCESS:
                failed = True
                break
            left_s = budget_s - (time.perf_counter() - t0)
            if len(ran) == GROUP_MAX or left_s <= 0 or stop():
                break
            step = pull(left_s)
            if step is not None:
                try:
                    started(step)
                except Exception:  # noqa: BLE001 - handed back: see the docstring
                    unstarted = (step,)
                    break
        failed = failed or canceled()
        if not failed:
            try:
                cur.close_group(group, commit=True)
            except Exception:  # noqa: BLE001 - the commit failed: nothing was published
                failed = True
    except BaseException:
        cur.close_group(group, commit=False)
        raise
    if failed:
        cur.close_group(group, commit=False)
        return GroupRun(tuple(alone(step) for step in ran), unstarted)
    return GroupRun(tuple(built), unstarted)


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
