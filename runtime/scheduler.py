"""What is waiting, ready and done in one run: the Executor's scheduling state.

The thread that calls :meth:`teal.runtime.executor.Executor.run` takes the steps to start
and hands it each result; a worker building a group of light steps takes the group's
further steps here too, one at a time as it is about to start each (:meth:`Schedule.pull`),
so every method that reads or changes what is ready holds the schedule's lock.
A step is ready when each of its upstream steps succeeded and each step its checks read
finished (whatever its outcome); a failed step skips everything downstream of it, not the
steps whose checks read it; the most urgent ready step is the earliest in the plan's order.
"""

from __future__ import annotations

import re
import threading
from collections import deque

from teal.compiler.plan import Plan, Step
from teal.runtime.held_back import HoldBack
from teal.runtime.pools import Pools
from teal.runtime.report import Reporter
from teal.runtime.results import SKIPPED, SUCCESS, ModelResult
from teal.runtime.step_groups import GROUP_MAX, Durations


def skipped(step: Step, why: str) -> ModelResult:
    return ModelResult(
        model=step.model,
        status=SKIPPED,
        relation=step.relation,
        materialization=step.action,
        message=why,
        path=step.path,
    )


class Schedule:
    """The steps of ``plan``: which are ready, and the result of each one done."""

    def __init__(
        self, plan: Plan, reporter: Reporter, pools: Pools, hold_back: HoldBack | None = None
    ) -> None:
        self.plan = plan
        # a step downstream of one whose partitions partly failed: the step with what it
        # may still build (runtime/held_back.py), None to skip it
        self.hold_back = hold_back
        self.steps = {s.model: s for s in plan.steps}
        self.reporter = reporter
        self.pools = pools
        self.downstream: dict[str, list[str]] = {name: [] for name in self.steps}
        # the steps whose checks read a step's model: they wait for it to finish, however
        # it ends (Step.check_waits)
        self.check_readers: dict[str, list[str]] = {name: [] for name in self.steps}
        self.waiting: dict[str, int] = {}
        for s in plan.steps:
            self.waiting[s.model] = len(s.depends_on)
            for dep in s.depends_on:
                self.downstream[dep].append(s.model)
            for read in s.check_waits:
                if read in self.steps:
                    self.waiting[s.model] += 1
                    self.check_readers[read].append(s.model)
        self.order = {s.model: i for i, s in enumerate(plan.steps)}
        self.results: dict[str, ModelResult] = {}
        self.ready = [s.model for s in plan.steps if self.waiting[s.model] == 0]
        self._unsorted = True  # ready gained steps since it was last sorted
        # how many steps finished so far, and that count when each step became ready: a
        # group pulls only steps ready before its transaction began (Puller.open), whose
        # upstreams its snapshot of the warehouse holds
        self.finished = 0
        self.ready_at: dict[str, int] = dict.fromkeys(self.ready, 0)
        self.total = len(self.steps)
        self.durations = Durations()  # of the steps that succeeded, for sizing groups
        self._lock = threading.Lock()
        # finished steps the reporter has not been told of yet, with how many were done
        self._unreported: deque[tuple[ModelResult, int]] = deque()

    def skip_blocked(self) -> None:
        """Skip the steps blocked by a check that failed in an earlier run."""
        for s in self.plan.steps:
            if s.blocked:
                why = f"blocked: {s.blocked} (it stands until that model passes its checks; "
                self._finish(skipped(s, why + "--ignore-failed-upstream builds anyway)"))
        self._report()

    def finished_so_far(self) -> int:
        with self._lock:
            return self.finished

    def has_ready(self) -> bool:
        with self._lock:
            return bool(self.ready)

    def take(self) -> str | None:
        """The most urgent ready step whose pool has room (None: none now)."""
        with self._lock:
            self._sort()
            while self.ready:
                name = self.pools.take(self.ready)
                if name is None:
                    return None  # every ready step waits for room in its pool
                if name not in self.results:
                    return name
                self.pools.release(name)
            return None

    def may_group(self, first: str, light: set[str], budget_s: float) -> bool:
        """Whether ``first`` starts a group (runtime/step_groups.py): it is light and fits
        ``budget_s``, a step's typical duration in this build is known, and another light
        step is ready now to join it; its worker then takes its further steps with
        :meth:`pull`, none reserved beforehand."""
        with self._lock:
            if budget_s <= 0 or self.durations.typical() <= 0:
                return False
            if not self._light(first, light, budget_s):
                return False
            return self._most_urgent_light(light, budget_s) is not None

    def pull(self, light: set[str], left_s: float, seen: int) -> Step | None:
        """The most urgent light step ready when ``seen`` steps had finished, expected to
        build within ``left_s`` (its last recorded duration, else the typical one), taken
        out of the ready ones for the group a worker is building; None: none now (the
        group commits)."""
        with self._lock:
            self._sort()
            i = self._most_urgent_light(light, left_s, seen)
            if i is None:
                return None
            return self.steps[self.ready.pop(i)]

    def _most_urgent_light(
        self, light: set[str], left_s: float, seen: int | None = None
    ) -> int | None:
        """The index in ``ready`` of the most urgent light step that fits ``left_s`` (and
        was ready when ``seen`` steps had finished, when given), among the most urgent
        GROUP_MAX (a wide DAG's thousands of ready steps are not all looked at for each
        one taken)."""
        ready, steps, results = self.ready, self.steps, self.results  # most urgent last
        typical = self.durations.typical()
        for i in range(len(ready) - 1, max(-1, len(ready) - 1 - GROUP_MAX), -1):
            name = ready[i]
            if name in light and name not in results:
                if seen is not None and self.ready_at[name] > seen:
                    continue  # an upstream committed after the group's snapshot
                if (steps[name].expected_s or typical) < left_s:
                    return i
        return None

    def _light(self, name: str, light: set[str], budget_s: float) -> bool:
        """Whether ``name`` may be grouped now: a light step whose last build (if any is on
        record) fits the budget. A heavy one builds alone, or the steps grouped with it
        would wait for it, unavailable to the other workers."""
        return name in light and self.steps[name].expected_s <= budget_s

    def give_back(self, steps: tuple[Step, ...]) -> None:
        """Steps a group did not start: ready again."""
        with self._lock:
            self.ready.extend(s.model for s in steps)
            self._unsorted = True

    def stop(self) -> None:
        """Start nothing more: no step is ready any longer."""
        with self._lock:
            self.ready.clear()

    def done(self, result: ModelResult) -> bool:
        """Record a finished step; its downstream becomes ready or is skipped. True: it
        failed."""
        with self._lock:
            failed = self._done(result)
        self._report()  # outside the lock: a group's worker may pull meanwhile
        return failed

    def _done(self, result: ModelResult) -> bool:
        self.finished += 1
        self.pools.release(result.model)
        self._finish(result)
        if result.status == SUCCESS and not result.failed_partitions:
            self.durations.add(result.duration_s)
            for nxt in self.downstream[result.model]:
                self._upstream_done(nxt)
            return False
        why = f"upstream {result.model} failed"
        check = re.search(r"check (\S+) failed", result.message or "")
        if result.status == SUCCESS:  # built, with partitions held back that this reads
            why = f"upstream {result.model} held back partitions it reads ({result.message})"
        elif check:
            why = f"upstream {result.model} failed check {check.group(1)}"
        elif result.status == SKIPPED and (result.message or "").startswith("canceled"):
            why = f"upstream {result.model} was canceled"
        # a canceled step's downstream is skipped whole: nothing more starts
        failed = frozenset(result.failed_partitions if result.status != SKIPPED else ())
        for nxt in self.downstream[result.model]:
            if nxt in self.results:
                continue
            kept = (
                self.hold_back(self.steps[nxt], result.model, failed)
                if failed and self.hold_back is not None
                else None
            )
            if kept is None:
                self._skip_from(nxt, why)
            else:  # its partitions that read none of the failed ones still build
                self.steps[nxt] = kept
                self._upstream_done(nxt)
        return result.status != SUCCESS

    def _upstream_done(self, name: str) -> None:
        """One more upstream of ``name`` is done: ready when it was the last."""
        self.waiting[name] -= 1
        if self.waiting[name] == 0 and name not in self.results:
            self.ready.append(name)
            self.ready_at[name] = self.finished
            self._unsorted = True

    def _skip_from(self, first: str, why: str) -> None:
        """Skip ``first`` and everything downstream of it not done yet."""
        stack = [first]
        while stack:
            nxt = stack.pop()
            if nxt not in self.results:
                self._finish(skipped(self.steps[nxt], why))
                stack.extend(self.downstream[nxt])

    def skip_the_rest(self, why: str) -> None:
        for name, step in self.steps.items():
            if name not in self.results:
                self._finish(skipped(step, why))
        self._report()

    def ordered(self) -> tuple[ModelResult, ...]:
        return tuple(self.results[s.model] for s in self.plan.steps)

    def _sort(self) -> None:
        if self._unsorted:
            self.ready.sort(key=self.order.__getitem__, reverse=True)
            self._unsorted = False

    def _finish(self, result: ModelResult) -> None:
        self.results[result.model] = result
        self._unreported.append((result, len(self.results)))
        for reader in self.check_readers.get(result.model, ()):
            self.waiting[reader] -= 1  # its checks may read it now, or know it failed
            if self.waiting[reader] == 0 and reader not in self.results:
                self.ready.append(reader)
                self.ready_at[reader] = self.finished
                self._unsorted = True

    def not_built(self, model: str) -> str | None:
        """Why ``model`` is not built in this run, once its step finished without
        success (None: it succeeded, has not finished, or has no step): what a check
        that reads it says instead of running."""
        result = self.results.get(model)
        if result is None or result.status == SUCCESS:
            return None
        if result.status == SKIPPED:
            return f"{model} was skipped" + (f" ({result.message})" if result.message else "")
        return f"{model} failed"

    def _report(self) -> None:
        """Tell the reporter of the steps finished since it was last told, in order (the
        scheduler thread alone finishes steps, so the order is theirs)."""
        while self._unreported:
            result, done = self._unreported.popleft()
            self.reporter.model_finished(result, done, self.total)


class Puller:
    """Where the worker building a group takes its further steps (``Schedule.pull``):
    only steps that were ready when the group's transaction began, since DuckDB's
    snapshot does not hold a table another worker committed after that."""

    def __init__(self, schedule: Schedule, light: set[str]) -> None:
        self._schedule, self._light = schedule, light
        self._seen = -1  # nothing pulled before open()

    def open(self) -> None:
        """Called just before the group's transaction begins."""
        self._seen = self._schedule.finished_so_far()

    def __call__(self, left_s: float) -> Step | None:
        return self._schedule.pull(self._light, left_s, self._seen)
