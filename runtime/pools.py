"""Pools: at most N models of a kind build at once, within a run (``[tool.teal.pools]``
``heavy = 1``, and ``pool = "heavy"`` in a model's config). DuckDB lets one process write a
warehouse, so runs are one at a time anyway; pools limit the steps of one run, for models
that each take much memory or an external API's rate."""

from __future__ import annotations

from dataclasses import dataclass, field

from teal.compiler.errors import ProjectError, did_you_mean
from teal.compiler.plan import Step
from teal.compiler.project import Project


@dataclass
class Pools:
    """How many models of each pool build at once (``[tool.teal.pools]``, model config
    ``pool``): a ready step whose pool is full waits, and others go ahead of it."""

    sizes: dict[str, int]
    member: dict[str, str]  # step -> its pool
    busy: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, project: Project, steps: dict[str, Step]) -> Pools:
        member: dict[str, str] = {}
        for name in steps:
            wanted = project.models[name].config.get("pool")
            if wanted is None:
                continue
            if wanted not in project.config.pools:
                model = project.models[name]
                raise ProjectError(
                    f"model {name} builds in pool '{wanted}', which is not declared",
                    path=model.display_path,
                    line=model.line,
                    hint=did_you_mean(str(wanted), project.config.pools)
                    or f"declare it: [tool.teal.pools] {wanted} = 1",
                )
            member[name] = str(wanted)
        return cls(dict(project.config.pools), member)

    def take(self, ready: list[str]) -> str | None:
        """The most urgent of ``ready`` (its end) whose pool has room, taken out of it."""
        for i in range(len(ready) - 1, -1, -1):
            pool = self.member.get(ready[i])
            if pool is None or self.busy.get(pool, 0) < self.sizes[pool]:
                if pool is not None:
                    self.busy[pool] = self.busy.get(pool, 0) + 1
                return ready.pop(i)
        return None

    def release(self, name: str) -> None:
        pool = self.member.get(name)
        if pool is not None:
            self.busy[pool] -= 1
