"""``teal lineage MODEL``: the upstream and downstream trees of one model.

>>> from compiler.graph import Dag
>>> dag = Dag({"a": (), "b": ("a",), "c": ("b",)})
>>> print("\\n".join(_tree(dag.downstreams, "a", lambda n: n, None)))
a
└── b
    └── c
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from teal.compiler.project import Project


def _tree(
    edges: dict[str, tuple[str, ...]], root: str, label: Callable[[str], str], depth: int | None
) -> list[str]:
    lines = [label(root)]

    def walk(node: str, prefix: str, level: int, path: tuple[str, ...]) -> None:
        children = edges.get(node, ())
        if depth is not None and level >= depth:
            return
        for i, child in enumerate(children):
            last = i == len(children) - 1
            branch = "└── " if last else "├── "
            lines.append(prefix + branch + label(child))
            if child not in path:
                walk(child, prefix + ("    " if last else "│   "), level + 1, path + (child,))

    walk(root, "", 0, (root,))
    return lines


def lineage_tree(
    project: Project,
    name: str,
    *,
    depth: int | None = None,
    upstream: bool = True,
    downstream: bool = True,
) -> str:
    def label(node: str) -> str:
        m = project.models.get(node)
        if m is None:
            return node
        where = m.relation if m.materialized != "ephemeral" else "inlined"
        return f"{node} ({m.materialized}, {where})"

    out: list[str] = []
    model = project.models[name]
    if upstream:
        ups = {n: project.models[n].upstreams for n in project.models}
        out.append("upstream (what it reads):")
        out += ["  " + line for line in _tree(ups, name, label, depth)]
        if model.source_tables:
            out.append("  sources: " + ", ".join(model.source_tables))
    if downstream:
        if out:
            out.append("")
        out.append("downstream (what reads it):")
        out += ["  " + line for line in _tree(project.dag.downstreams, name, label, depth)]
    return "\n".join(out)


def lineage_json(project: Project, name: str, depth: int | None = None) -> dict[str, Any]:
    return {
        "model": name,
        "upstreams": list(project.models[name].upstreams),
        "ancestors": sorted(project.dag.ancestors(name, depth)),
        "descendants": sorted(project.dag.descendants(name, depth)),
        "sources": list(project.models[name].source_tables),
    }
