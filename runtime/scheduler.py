"""What is waiting, ready and done in one run: the Executor's scheduling state.

It lives in the thread that calls :meth:`teal.runtime.executor.Executor.run` and nowhere
else: workers only build and return results, and the scheduler thread hands them here.
A step is ready when each of its upstream steps succeeded; a failed step skips everything
downstream of it; the most urgent ready step is the earliest in the plan's order.
"""

from __future__ import annotations

import re

from teal.compiler.plan import Plan, Step
from teal.runtime.pools import Pools
from teal.runtime.report import Reporter
from teal.runtime.results import SKIPPED, SUCCESS, ModelResult
from teal.runtime.step_groups import GROUP_MAX, Durations, group_size


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

    def __init__(self, plan: Plan, reporter: Reporter, pools: Pools) -> None:
        self.plan = plan
        self.steps = {s.model: s for s in plan.steps}
        self.reporter = reporter
        self.pools = pools
        self.downstream: dict[str, list[str]] = {name: [] for name in self.steps}
        self.waiting: dict[str, int] = {}
        for s in plan.steps:
            self.waiting[s.model] = len(s.depends_on)
            for dep in s.depends_on:
                self.downstream[dep].append(s.model)
        self.order = {s.model: i for i, s in enumerate(plan.steps)}
        self.results: dict[str, ModelResult] = {}
        self.ready = [s.model for s in plan.steps if self.waiting[s.model] == 0]
        self.total = len(self.steps)
        self.durations = Durations()  # of the steps that succeeded, for sizing groups

    def skip_blocked(self) -> None:
        """Skip the steps blocked by a check that failed in an earlier run."""
        for s in self.plan.steps:
            if s.blocked:
                why = f"blocked: {s.blocked} (it stands until that model passes its checks; "
                self._finish(skipped(s, why + "--ignore-failed-upstream builds anyway)"))

    def take(self) -> str | None:
        """The most urgent ready step whose pool has room (None: none now)."""
        self.ready.sort(key=self.order.__getitem__, reverse=True)
        while self.ready:
            name = self.pools.take(self.ready)
            if name is None:
                return None  # every ready step waits for room in its pool
            if name not in self.results:
                return name
            self.pools.release(name)
        return None

    def mates(self, first: str, light: set[str], *, free: int, budget_s: float) -> list[str]:
        """The ready steps to build in one transaction with ``first`` (taken out of the
        ready ones, most urgent first; runtime/step_groups.py); none: it runs alone."""
        typical_s = self.durations.typical()
        if budget_s <= 0 or typical_s <= 0 or not self._light(first, light, budget_s):
            return []
        ready, steps, results = self.ready, self.steps, self.results  # ready: most urgent last
        # GROUP_MAX per free worker are as many as group_size can use: a wide DAG's
        # thousands of ready steps are not all looked at for each step taken
        enough = GROUP_MAX * max(1, free)
        candidates: list[int] = []
        for i in range(len(ready) - 1, -1, -1):
            name = ready[i]
            if name in light and name not in results and steps[name].expected_s <= budget_s:
                candidates.append(i)
                if len(candidates) == enough:
                    break
        taken = candidates[: group_size(len(candidates), free, budget_s, typical_s) - 1]
        chosen = [ready[i] for i in taken]
        for i in sorted(taken, reverse=True):
            del ready[i]
        return chosen

    def _light(self, name: str, light: set[str], budget_s: float) -> bool:
        """Whether ``name`` may be grouped now: a light step whose last build (if any is on
        record) fits the budget. A heavy one builds alone, or the steps grouped with it
        would wait for it, unavailable to the other workers."""
        return name in light and self.steps[name].expected_s <= budget_s

    def give_back(self, steps: tuple[Step, ...]) -> None:
        """Steps a group did not start: ready again."""
        self.ready.extend(s.model for s in steps)

    def done(self, result: ModelResult) -> bool:
        """Record a finished step; its downstream becomes ready or is skipped. True: it
        failed."""
        self.pools.release(result.model)
        self._finish(result)
        if result.status == SUCCESS:
            self.durations.add(result.duration_s)
            for nxt in self.downstream[result.model]:
                self.waiting[nxt] -= 1
                if self.waiting[nxt] == 0 and nxt not in self.results:
                    self.ready.append(nxt)
            return False
        why = f"upstream {result.model} failed"
        check = re.search(r"check (\S+) failed", result.message or "")
        if check:
            why = f"upstream {result.model} failed check {check.group(1)}"
        stack = list(self.downstream[result.model])
        while stack:
            nxt = stack.pop()
            if nxt not in self.results:
                self._finish(skipped(self.steps[nxt], why))
                stack.extend(self.downstream[nxt])
        return True

    def skip_the_rest(self, why: str) -> None:
        for name, step in self.steps.items():
            if name not in self.results:
                self._finish(skipped(step, why))

    def ordered(self) -> tuple[ModelResult, ...]:
        return tuple(self.results[s.model] for s in self.plan.steps)

    def _finish(self, result: ModelResult) -> None:
        self.results[result.model] = result
        self.reporter.model_finished(result, len(self.results), self.total)
