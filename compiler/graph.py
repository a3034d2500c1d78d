"""The model DAG: a tiny immutable structure over the stdlib ``graphlib``.

Edges point from a model to its upstreams. Orders, ancestors and descendants are returned
sorted (ties broken by name) so output is deterministic.

>>> dag = Dag({"a": (), "b": ("a",), "c": ("b",), "d": ("a",)})
>>> dag.order()
['a', 'b', 'd', 'c']
>>> sorted(dag.descendants("a")), sorted(dag.ancestors("c"))
(['b', 'c', 'd'], ['a', 'b'])
>>> Dag({"x": ("y",), "y": ("x",)}).find_cycle()
['x', 'y', 'x']
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")


class Dag:
    """Immutable after construction. ``upstreams[n]`` are the nodes ``n`` reads."""

    def __init__(self, upstreams: Mapping[str, Iterable[str]]) -> None:
        self.upstreams: dict[str, tuple[str, ...]] = {
            n: tuple(sorted(set(u))) for n, u in upstreams.items()
        }
        down: dict[str, list[str]] = {n: [] for n in self.upstreams}
        for node, ups in self.upstreams.items():
            for up in ups:
                down.setdefault(up, []).append(node)
        self.downstreams: dict[str, tuple[str, ...]] = {
            n: tuple(sorted(d)) for n, d in down.items()
        }
        self._order: list[str] | None = None

    def __contains__(self, node: str) -> bool:
        return node in self.upstreams

    def __len__(self) -> int:
        return len(self.upstreams)

    def find_cycle(self) -> list[str] | None:
        """One cycle as a closed path ``[a, b, ..., a]`` or None; deterministic."""
        color: dict[str, int] = {}
        for start in sorted(self.upstreams):
            if color.get(start):
                continue
            stack: list[tuple[str, int]] = [(start, 0)]
            path: list[str] = []
            while stack:
                node, i = stack.pop()
                if i == 0:
                    color[node] = 1
                    path.append(node)
                ups = self.upstreams.get(node, ())
                if i < len(ups):
                    stack.append((node, i + 1))
                    nxt = ups[i]
                    state = color.get(nxt, 0)
                    if state == 1:
                        cycle = path[path.index(nxt) :] + [nxt]
                        return cycle  # each node reads the next, as edges point upstream
                    if state == 0:
                        stack.append((nxt, 0))
                else:
                    color[node] = 2
                    path.pop()
        return None

    def order(self) -> list[str]:
        """Topological order, upstreams first; within a level, by name."""
        if self._order is None:
            sorter = graphlib.TopologicalSorter(self.upstreams)
            sorter.prepare()
            out: list[str] = []
            while sorter.is_active():
                ready = sorted(sorter.get_ready())
                out.extend(ready)
                sorter.done(*ready)
            self._order = out
        return list(self._order)

    def _walk(
        self, starts: Iterable[str], edges: dict[str, tuple[str, ...]], depth: int | None
    ) -> set[str]:
        seen: set[str] = set()
        frontier = list(starts)
        level = 0
        while frontier and (depth is None or level < depth):
            nxt = []
            for node in frontier:
                for other in edges.get(node, ()):
                    if other not in seen:
                        seen.add(other)
                        nxt.append(other)
            frontier = nxt
            level += 1
        return seen

    def ancestors(self, node: str, depth: int | None = None) -> set[str]:
        return self._walk([node], self.upstreams, depth)

    def descendants(self, node: str, depth: int | None = None) -> set[str]:
        return self._walk([node], self.downstreams, depth)

    def subgraph(self, nodes: Iterable[str]) -> Dag:
        keep = set(nodes)
        return Dag(
            {n: [u for u in self.upstreams[n] if u in keep] for n in keep if n in self.upstreams}
        )


def depth_levels(
    items: Iterable[T], name: Callable[[T], str], reads: Callable[[T], Iterable[str]]
) -> list[list[T]]:
    """``items`` (upstreams first) grouped by depth, in their order within a group: an
    item's depth is one more than the deepest item it reads (reads of names not among the
    items do not count), so no item reads another of its own group or a later one.

    >>> ups = {"a": (), "b": ("a", "x"), "c": (), "d": ("b", "c")}
    >>> depth_levels(ups, lambda n: n, lambda n: ups[n])
    [['a', 'c'], ['b'], ['d']]
    """
    depth: dict[str, int] = {}
    levels: list[list[T]] = []
    for item in items:
        at = max((depth[r] + 1 for r in reads(item) if r in depth), default=0)
        depth[name(item)] = at
        if at == len(levels):
            levels.append([])
        levels[at].append(item)
    return levels
