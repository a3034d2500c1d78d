"""A build's binding on several cores (warehouse/duckdb/typing.py, compiler/column_binding.py
``_bind_ahead``): DuckDB binds the queries of one depth side by side, and the names below a
Python asset never built are bound ahead of the pass in build order that asks for them.
What it finds is what one core finds, errors included."""

from __future__ import annotations

import duckdb
import pytest

from .conftest import run_teal

RAW_PY = (
    "import polars as pl\nimport teal\n\n\n@teal.asset\n"
    "def raw() -> pl.DataFrame:\n"
    "    return pl.DataFrame({'id': [1, 2], 'amount': [3, 4], 'kind': ['a', 'b']})\n"
)


def wide(width: int = 12) -> dict[str, str]:
    """A Python asset never built, ``width`` models reading it (traced: its columns are
    unknown), a model below each (bound by names, side by side), a typed branch beside
    them (bound by types, side by side) and one model reading everything."""
    files = {
        "models/raw.py": RAW_PY,
        "models/seed.sql": "select 1 as id, 2.50::decimal(10, 2) as price",
    }
    for i in range(width):
        files[f"models/a{i:02}.sql"] = f"select id, amount + {i} as amount, kind from raw"
        files[f"models/b{i:02}.sql"] = (
            f"select kind, sum(amount) as total_{i}, count(*) as n_{i} from a{i:02} group by kind"
        )
        files[f"models/t{i:02}.sql"] = f"select id, price * {i + 1} as price_{i} from seed"
    joined = " ".join(f"join b{i:02} using (kind)" for i in range(1, width))
    files["models/top.sql"] = f"select * from b00 {joined}"
    return files


def bound(root, workers: int):
    from teal.compiler.column_binding import bound_columns
    from teal.compiler.project import load_project
    from teal.runtime.type_check import EngineBinder

    project = load_project(root)
    binder = EngineBinder(project, {}, workers=workers)
    try:
        return project, bound_columns(
            project, project.dag.order(), known={}, use_cache=False, engine_bound=binder
        )
    finally:
        binder.close()


def test_two_workers_bind_what_one_binds(project):
    root = project(wide())
    project_, one = bound(root, 1)
    _, two = bound(root, 2)
    _, four = bound(root, 4)
    for name in project_.dag.order():
        assert two.columns_of(name) == one.columns_of(name) == four.columns_of(name), name
    assert two.traced == one.traced == 12  # the a models, which read the asset
    assert two.columns_of("b03") == ("kind", "total_3", "n_3")
    assert two.columns_of("t05") == ("id", "price_5")
    top = two.columns_of("top") or ()
    assert top[:4] == ("kind", "total_0", "n_0", "total_1") and len(top) == 1 + 2 * 12


@pytest.mark.parametrize("workers", [1, 2])
def test_a_missing_column_is_found_the_same_on_any_number_of_workers(project, workers):
    files = wide()
    files["models/b07.sql"] = "select kind,\n  sum(amont) as total_7\nfrom a07 group by kind\n"
    _, graph = bound(project(files), workers)
    errors = graph.errors()
    assert [(e.path, e.line, e.col) for e in errors] == [("models/b07.sql", 2, 7)]
    assert "amont" in str(errors[0]) and "did you mean 'amount'" in str(errors[0])


def test_names_asked_with_other_stand_ins_than_bound_ahead_are_bound_again():
    """The binder answers from what it bound ahead only when asked with the same names of
    what the query reads; otherwise it remakes the stand-in and binds in line."""
    from teal.warehouse.duckdb.typing import Binder, TypedQuery

    queries = [
        TypedQuery("up", "main", "up", "select 1 as a", None, ()),
        TypedQuery("q", "main", "q", "select a, a + 1 as b from up", None, ("up",)),
    ]
    binder = Binder(queries, {"up": ()}, workers=2)  # up: untyped (known, not bound)
    try:
        assert binder.types() == {}
        binder.names_ahead([("q", {"up": ("a",)})])
        assert binder.names("q", {"up": ("a",)}) == ("a", "b")
        assert binder.names("q", {"up": ("x",)}) is None  # no column a in ('x',)
        assert binder.names("q", {"up": ("a", "x")}) == ("a", "b")
        assert binder.names("q", {}) is None  # up has no stand-in at all
    finally:
        binder.close()


@pytest.mark.slow
def test_a_build_binds_on_both_cores_and_stops_before_any_data_changes(project):
    files = wide()
    files["models/b07.sql"] = "select kind,\n  sum(amont) as total_7\nfrom a07 group by kind\n"
    root = project(files)
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    assert "models/b07.sql:2:7:" in done.stderr and "did you mean 'amount'" in done.stderr
    assert not (root / "warehouse.duckdb").exists()
    (root / "models" / "b07.sql").write_text(
        "select kind, sum(amount) as total_7, count(*) as n from a07 group by kind\n"
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select kind, total_0, total_11 from top order by kind").fetchall() == [
            ("a", 3, 14),
            ("b", 4, 15),
        ]
    finally:
        con.close()
