"""``teal compile`` / ``teal validate`` / ``teal lineage MODEL.COLUMN`` / ``column:``
selectors, through the real command line and in process."""

from __future__ import annotations

import json

import pytest

from teal.compiler.column_lineage import column_graph
from teal.compiler.column_view import ColumnRef, column_dot, column_json, column_tree
from teal.compiler.errors import SelectionError
from teal.compiler.project import load_project
from teal.compiler.selection import select

from .conftest import run_teal

# orders -> a (copies amount, id) -> b (doubles amount) ; c reads only a.id
FILES = {
    "models/orders.sql": "select 1 as id, 9.5 as amount, 'done' as status",
    "models/a.sql": "select id, amount from orders where status = 'done'",
    "models/b.sql": "select id, amount * 2 as dbl from a",
    "models/c.sql": "select id from a",
}


def graph_of(project):
    return column_graph(load_project(project(FILES)))


def chosen(graph, *expressions: str) -> list[str]:
    project = graph.project
    from teal.compiler.selection import model_index

    return sorted(
        select(project.dag, list(expressions), models=model_index(project), columns=lambda: graph)
    )


def test_column_selectors_follow_columns_not_tables(project):
    graph = graph_of(project)
    assert chosen(graph, "column:a.amount") == ["a"]
    assert chosen(graph, "column:a.amount+") == ["a", "b"]  # c reads a, not its amount
    assert chosen(graph, "a+") == ["a", "b", "c"]
    assert chosen(graph, "+column:b.dbl") == ["a", "b", "orders"]
    assert chosen(graph, "column:orders.status+") == ["a", "b", "c", "orders"]  # a filter
    assert chosen(graph, "column:orders.amount+1") == ["a", "orders"]


def test_a_bad_column_selector_names_the_closest_column(project):
    graph = graph_of(project)
    with pytest.raises(SelectionError, match=r"a has no column 'amont'") as info:
        chosen(graph, "column:a.amont+")
    assert info.value.hint == "did you mean 'amount'?"
    with pytest.raises(SelectionError, match=r"no model or source table named 'aa'"):
        chosen(graph, "column:aa.amount")


def test_column_trees_as_text_json_and_dot(project):
    graph = graph_of(project)
    ref = ColumnRef("a", "amount")
    assert column_tree(graph, ref) == "\n".join(
        [
            "upstream (what it is made of):",
            "  a.amount",
            "  ├── orders.amount (copy)",
            "  └── orders.status (filter)",
            "",
            "downstream (what reads it):",
            "  a.amount",
            "  └── b.dbl (transform)",
        ]
    )
    data = column_json(graph, ref)
    assert data["downstream"] == [{"column": "b.dbl", "kind": "transform", "children": []}]
    dot = column_dot(graph, ref)
    assert '"orders.status" -> "a.amount" [label="filter", style=dashed];' in dot
    assert '"a.amount" -> "b.dbl" [label="transform"];' in dot


def test_a_file_read_by_a_table_function_is_named_by_its_file(project):
    files = {
        "models/raw.sql": "select amount from read_csv('data/orders.csv', header = true, "
        "delim = ',', columns = {'amount': 'VARCHAR'})",
    }
    graph = column_graph(load_project(project(files)))
    assert column_tree(graph, ColumnRef("raw", "amount")).splitlines()[:3] == [
        "upstream (what it is made of):",
        "  raw.amount",
        "  └── read_csv('data/orders.csv').amount (copy)",
    ]


@pytest.mark.slow
def test_compile_reports_lineage_and_writes_it_into_the_manifest(project):
    root = project(FILES)
    done = run_teal("compile", cwd=root)
    assert done.returncode == 0, done.output
    assert "lineage resolved for 8 of 8 columns (100.0 %)" in done.stdout
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    b = manifest["models"]["b"]
    assert b["columns"] == {"id": ["copy:a.id"], "dbl": ["transform:a.amount"]}
    assert b["lineage"] == {"resolved": 2, "columns": 2, "opaque": False, "note": ""}


def test_compile_of_a_selection_traces_only_it_and_what_it_reads(project):
    """``teal compile -s b`` costs what b and its upstreams cost: c, which b does not
    read, is not traced (Session.columns(names)), and the manifest holds the selection."""
    from teal.runtime.session import Session

    root = project(FILES)
    session = Session.open(root)
    session.compile(["b"])
    graph = session.columns(session.select(["b"]))
    assert sorted(graph.models) == ["a", "b", "orders"]
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    assert sorted(manifest["models"]) == ["b"]
    assert manifest["models"]["b"]["columns"]["dbl"] == ["transform:a.amount"]
    assert sorted(session.columns().models) == ["a", "b", "c", "orders"]  # all, when asked


def test_a_selection_keeps_the_rest_of_the_projects_lineage_and_binding_cached(project):
    """Tracing or binding part of the project (``teal compile -s``, ``teal build -s``)
    keeps what it did not use in the cache: the whole project after it traces nothing."""
    from teal.compiler.column_binding import bound_columns

    loaded = load_project(project(FILES))
    assert column_graph(loaded).traced == 4
    assert column_graph(loaded, names=["b"]).traced == 0
    assert column_graph(loaded).traced == 0  # c's lineage was kept by the partial trace
    assert bound_columns(loaded).traced == 0  # the full trace stored every binding
    assert bound_columns(loaded, ["b"]).traced == 0
    assert bound_columns(loaded).traced == 0


def test_a_selection_after_a_build_traces_only_itself_for_lineage(project):
    """After a build (which binds every model by name), ``teal compile -s b`` traces b
    alone: what b reads is needed by name only and is taken from the binding. b's lineage
    and its mistakes are found as before."""
    from teal.compiler.column_binding import bound_columns

    loaded = load_project(project(FILES))
    assert bound_columns(loaded).traced == 4  # what `teal build` checks first
    graph = column_graph(loaded, names=["b"])
    assert graph.traced == 1
    assert [e.kind for e in graph.models["b"].columns[1].edges] == ["transform"]
    assert graph.columns_of("a") == ("id", "amount")
    (loaded.config.root / "models" / "b.sql").write_text("select id, amont * 2 as dbl from a")
    broken = column_graph(load_project(loaded.config.root), names=["b"])
    assert broken.traced == 1
    assert [e.message for e in broken.errors(["b"])] == [
        "column 'amont' does not exist in a, which has: id, amount"
    ]


@pytest.mark.slow
def test_a_missing_column_fails_compile_and_validate_before_anything_runs(project):
    root = project({**FILES, "models/d.sql": "select id,\n       amont * 2 as x\nfrom a\n"})
    for command in ("compile", "validate", "build"):
        if command == "build":
            done = run_teal("build", "--validate", cwd=root)
        else:
            done = run_teal(command, cwd=root)
        assert done.returncode == 2, done.output
        assert "models/d.sql:2:8: column 'amont' does not exist in a" in done.stderr
        assert "hint: did you mean 'amount'?" in done.stderr
        assert "Traceback" not in done.output
    assert not (root / "warehouse.duckdb").exists()  # nothing was built


@pytest.mark.slow
def test_validate_and_lineage_of_a_column_on_the_command_line(project):
    root = project(FILES)
    done = run_teal("validate", cwd=root)
    assert done.returncode == 0, done.output
    assert done.stdout.startswith("4 models valid; lineage resolved for 8 of 8 columns")
    tree = run_teal("lineage", "a.amount", "--no-upstream", cwd=root)
    assert tree.stdout.splitlines()[-1] == "  └── b.dbl (transform)"
    data = json.loads(run_teal("lineage", "b.dbl", "--json", cwd=root).stdout)
    assert data["upstream"][0]["column"] == "a.amount"
    assert run_teal("lineage", "b.dbl", "--dot", cwd=root).stdout.startswith("digraph")
    listed = run_teal("ls", "-s", "column:a.amount+", "-o", "name", cwd=root)
    assert listed.stdout.split() == ["a", "b"]
    bad = run_teal("lineage", "a.amont", cwd=root)
    assert bad.returncode == 2 and "did you mean 'amount'?" in bad.stderr


@pytest.mark.slow
def test_a_compile_that_fails_on_a_column_keeps_the_compiled_sql_and_no_manifest(project):
    root = project({**FILES, "models/c.sql": "select idd from a"})
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2 and "models/c.sql:1:8" in done.stderr, done.stderr
    assert "did you mean 'id'" in done.stderr
    assert "select idd from" in (root / "target/compiled/models/c.sql").read_text()
    assert not (root / "target/manifest.json").exists()
    (root / "models/c.sql").write_text("select id from a")
    done = run_teal("compile", cwd=root)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((root / "target/manifest.json").read_text())
    assert sorted(manifest["models"]) == ["a", "b", "c", "orders"]
