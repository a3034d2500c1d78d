"""The Plan: what a build will do, as data. The executor only carries it out.

Each :class:`Step` builds one model (create a view, build a table, run a Python asset) and
names the steps it waits for and why it runs. Ephemeral models get no step: they are inlined
into their consumers' SQL by the compiler.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from compiler.project import Project
from compiler.selection import model_index, select

ACTIONS = {"view": "create view", "table": "build table", "python": "run python asset"}


@dataclass(frozen=True)
class Step:
    model: str
    action: str  # "view" | "table" | "python"
    relation: str
    depends_on: tuple[str, ...]
    reason: str
    sql_hash: str
    path: str


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    skipped: dict[str, str] = field(default_factory=dict)  # model -> reason it has no step

    def __len__(self) -> int:
        return len(self.steps)

    def explain(self, format: str = "text") -> str:
        """Render the plan like EXPLAIN: ``text`` (a table) or ``json``."""
        if format == "json":
            return json.dumps({"steps": [asdict(s) for s in self.steps],
                               "not_run": self.skipped}, indent=2)
        width = max([len(s.model) for s in self.steps] + [5])
        lines = [f"{'#':>3}  {'model':<{width}}  {'action':<16}  {'after':<24}  reason"]
        index = {s.model: i for i, s in enumerate(self.steps, 1)}
        for i, s in enumerate(self.steps, 1):
            after = ",".join(str(index[d]) for d in s.depends_on) or "-"
            lines.append(f"{i:>3}  {s.model:<{width}}  {ACTIONS[s.action]:<16}  {after:<24}  {s.reason}")
        for name, why in sorted(self.skipped.items()):
            lines.append(f"  -  {name:<{width}}  {'(none)':<16}  {'-':<24}  {why}")
        return "\n".join(lines)


def build_plan(project: Project, select_: list[str] | None = None,
               exclude: list[str] | None = None) -> Plan:
    """Plan a build of the selected models in dependency order."""
    chosen = select(project.dag, select_, exclude, models=model_index(project))
    explicit = bool([s for s in (select_ or []) if s.strip()])
    steps: list[Step] = []
    skipped: dict[str, str] = {}
    for name in project.dag.order():
        if name not in chosen:
            continue
        model = project.models[name]
        if model.materialized == "ephemeral":
            skipped[name] = "ephemeral: inlined as a CTE into its consumers"
            continue
        deps = sorted(_step_upstreams(project, name, chosen))
        action = "python" if model.kind == "python" else model.materialized
        steps.append(Step(
            model=name, action=action, relation=model.relation, depends_on=tuple(deps),
            reason="selected" if explicit else "all models",
            sql_hash=model.sql_hash, path=model.display_path,
        ))
    return Plan(steps=tuple(steps), skipped=skipped)


def _step_upstreams(project: Project, name: str, chosen: set[str]) -> set[str]:
    """Upstream models with steps in this plan, looking through ephemerals."""
    out: set[str] = set()
    stack = list(project.models[name].upstreams)
    seen: set[str] = set()
    while stack:
        up = stack.pop()
        if up in seen:
            continue
        seen.add(up)
        model = project.models[up]
        if model.materialized == "ephemeral":
            stack.extend(model.upstreams)
        elif up in chosen:
            out.add(up)
    return out


def plan_dict(plan: Plan) -> dict[str, Any]:
    return json.loads(plan.explain("json"))
