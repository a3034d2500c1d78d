"""``teal lineage MODEL.COLUMN``: one column's upstream and downstream trees, as text,
JSON or Graphviz dot, from a column graph (compiler/column_lineage.py).

Each node is a ``model.column`` (or ``source.table.column``) with the kind of the edge
that leads to it: ``copy``, ``transform``, ``aggregate``, or ``filter``/``join`` for
columns that only decide which rows appear. A Python asset that reads the column's model
is shown as opaque: any of its columns may depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from teal.compiler.column_lineage import ColumnGraph
from teal.compiler.column_types import ROW_KINDS
from teal.compiler.errors import LineageError, did_you_mean


class ColumnRef(NamedTuple):
    """A column of a model or of a source table (``key`` is the model's name or
    "source.table")."""

    key: str
    column: str

    def __str__(self) -> str:
        return f"{self.key}.{self.column}"


class Link(NamedTuple):
    """One edge of a tree: ``child`` reached from its parent by an edge of ``kind``."""

    kind: str  # an edge kind, or "opaque" (a Python asset reading the whole model)
    child: ColumnRef


# upstream_links or downstream_links: one level of a tree
_Step = Callable[[ColumnGraph, "ColumnRef"], "list[Link]"]


def find_column(graph: ColumnGraph, text: str) -> ColumnRef | None:
    """The column ``text`` names (``model.column``, ``schema.model.column``,
    ``source.table.column``), None when ``text`` has no dot. An unknown model or column is
    a :class:`LineageError` with the closest names."""
    if "." not in text:
        return None
    owner, column = text.rsplit(".", 1)
    project = graph.project
    key = None
    if owner in project.models or owner in graph.sources:
        key = owner
    else:
        wanted = owner.lower().replace('"', "")
        key = next((n for n, m in project.models.items() if m.relation.lower() == wanted), None)
    if key is None:
        raise LineageError(
            f"no model or source table named '{owner}'",
            hint=did_you_mean(owner, [*project.models, *graph.sources])
            or "run `teal ls` to list models",
        )
    names = graph.columns_of(key)
    if names is None:
        raise LineageError(
            f"the columns of {key} are not known before it runs",
            hint="declare them in YAML under an enforced contract, or build it once",
        )
    if column.lower() not in names:
        raise LineageError(
            f"{key} has no column '{column}' (it has: {', '.join(names)})",
            hint=did_you_mean(column.lower(), names) or f"run `teal lineage {key}`",
        )
    return ColumnRef(key, column.lower())


def upstream_links(graph: ColumnGraph, ref: ColumnRef) -> list[Link]:
    """The columns ``ref`` is made of, one level up. The trees do not go up past a
    ``filter`` or ``join`` edge: where a column that only selects rows comes from is that
    column's own lineage, and listing it under every value made trees unreadable."""
    found = graph.lineage(ref.key, ref.column)
    edges = () if found is None else found.edges
    return [Link(e.kind, ColumnRef(e.table, e.column)) for e in edges]


def downstream_links(graph: ColumnGraph, ref: ColumnRef) -> list[Link]:
    """The columns that read ``ref``, one level down (opaque Python assets as their
    model with no column)."""
    links = [Link(u.kind, ColumnRef(u.model, u.column)) for u in graph.uses(ref.key, ref.column)]
    links += [Link("opaque", ColumnRef(a, "*")) for a in graph.opaque_readers(ref.key)]
    return links


def column_tree(
    graph: ColumnGraph,
    ref: ColumnRef,
    *,
    depth: int | None = None,
    upstream: bool = True,
    downstream: bool = True,
) -> str:
    """Both trees as text, the shape ``teal lineage MODEL`` prints.

    >>> from teal.compiler.column_types import ColumnLineage, Edge, ModelColumns
    >>> class P:  # the least of a project the trees need
    ...     models = {"a": None, "b": None}
    >>> b = ModelColumns("b", (ColumnLineage("x", (Edge("aggregate", "a", "v"),), True),),
    ...                  (), "", False)
    >>> a = ModelColumns("a", (ColumnLineage("v", (), True),), (), "", False)
    >>> graph = ColumnGraph(P(), {"a": a, "b": b}, {})  # type: ignore[arg-type]
    >>> graph.opaque_readers = lambda key: []
    >>> print(column_tree(graph, ColumnRef("a", "v"), upstream=False))
    downstream (what reads it):
      a.v
      └── b.x (aggregate)
    """
    out: list[str] = []
    if upstream:
        out.append("upstream (what it is made of):")
        out += ["  " + line for line in _tree(graph, ref, upstream_links, depth)]
    if downstream:
        if out:
            out.append("")
        out.append("downstream (what reads it):")
        out += ["  " + line for line in _tree(graph, ref, downstream_links, depth)]
    return "\n".join(out)


def column_json(graph: ColumnGraph, ref: ColumnRef, depth: int | None = None) -> dict[str, object]:
    """Both trees as nested JSON: ``{"column", "upstream": [{"column", "kind", "children":
    [...]}], "downstream": [...]}``; an entry the tree does not go on below (a row edge
    upstream, a column already on the path) has no ``children``."""

    def nest(
        node: ColumnRef, step: _Step, level: int, path: tuple[ColumnRef, ...]
    ) -> list[dict[str, object]]:
        if depth is not None and level >= depth:
            return []
        out = []
        for link in step(graph, node):
            entry: dict[str, object] = {"column": str(link.child), "kind": link.kind}
            if _expands(link, step) and link.child not in path:
                entry["children"] = nest(link.child, step, level + 1, (*path, link.child))
            out.append(entry)
        return out

    return {
        "column": str(ref),
        "upstream": nest(ref, upstream_links, 0, (ref,)),
        "downstream": nest(ref, downstream_links, 0, (ref,)),
    }


def column_dot(graph: ColumnGraph, ref: ColumnRef, depth: int | None = None) -> str:
    """Both trees as one Graphviz digraph, edges from what is read to what reads it,
    labelled with their kind; row edges (filter, join) dashed."""
    edges: set[tuple[str, str, str]] = set()

    def walk(node: ColumnRef, step: _Step, up: bool, level: int, seen: set[ColumnRef]) -> None:
        if depth is not None and level >= depth:
            return
        for link in step(graph, node):
            pair = (str(link.child), str(node)) if up else (str(node), str(link.child))
            edges.add((*pair, link.kind))
            if _expands(link, step) and link.child not in seen:
                seen.add(link.child)
                walk(link.child, step, up, level + 1, seen)

    walk(ref, upstream_links, True, 0, {ref})
    walk(ref, downstream_links, False, 0, {ref})
    lines = ["digraph lineage {", "  rankdir=LR;", "  node [shape=box];"]
    lines.append(f'  "{ref}" [style=bold];')
    for src, dst, kind in sorted(edges):
        style = ", style=dashed" if kind in ("filter", "join", "opaque") else ""
        lines.append(f'  "{src}" -> "{dst}" [label="{kind}"{style}];')
    lines.append("}")
    return "\n".join(lines)


def _tree(graph: ColumnGraph, root: ColumnRef, step: _Step, depth: int | None) -> list[str]:
    lines = [str(root)]

    def walk(node: ColumnRef, prefix: str, level: int, path: tuple[ColumnRef, ...]) -> None:
        if depth is not None and level >= depth:
            return
        links = step(graph, node)
        for i, link in enumerate(links):
            last = i == len(links) - 1
            shown = link.child.key if link.child.column == "*" else str(link.child)
            lines.append(f"{prefix}{'└── ' if last else '├── '}{shown} ({link.kind})")
            if _expands(link, step) and link.child not in path:
                walk(
                    link.child,
                    prefix + ("    " if last else "│   "),
                    level + 1,
                    (*path, link.child),
                )

    walk(root, "", 0, (root,))
    return lines


def _expands(link: Link, step: _Step) -> bool:
    """Whether a tree goes on below ``link``: not below an opaque reader, nor upstream
    of a row edge (see :func:`upstream_links`)."""
    if link.child.column == "*":
        return False
    return not (step is upstream_links and link.kind in ROW_KINDS)
