"""The example project's whole column lineage, pinned in a golden file.

``tests/golden/example_columns.txt`` holds one line per column of every model of the
example project (``models/``): ``model.column <- kind:table.column, ...``, with ``?``
for columns not traced and ``(opaque)`` for Python assets. A missing file fails; rewrite
it with ``python -m pytest tests/test_column_golden.py --update-golden`` and review.
"""

from __future__ import annotations

from teal.compiler.column_lineage import column_graph
from teal.compiler.project import load_project

from .conftest import REPO, assert_golden

GOLDEN = REPO / "tests" / "golden" / "example_columns.txt"


def render(graph) -> str:
    lines = []
    for name in graph.project.dag.order():
        found = graph.models[name]
        if found.columns is None:
            lines.append(f"{name}.* ({found.note})")
            continue
        for column in found.columns:
            mark = " (opaque)" if found.opaque else "" if column.resolved else " ?"
            lines.append(f"{name}.{column.name}{mark} <- {', '.join(column.edge_texts())}")
    summary = graph.resolution()
    return "\n".join(lines) + f"\n\n{summary}\n"


def test_the_example_projects_column_lineage_is_as_recorded(update_golden):
    graph = column_graph(load_project(REPO), use_cache=False)
    assert_golden(
        GOLDEN, render(graph), update=update_golden, test_file="tests/test_column_golden.py"
    )


def test_the_example_project_binds_and_resolves_at_least_95_percent():
    graph = column_graph(load_project(REPO), use_cache=False)
    assert graph.errors() == []
    summary = graph.resolution()
    assert summary.resolved >= 0.95 * summary.total
