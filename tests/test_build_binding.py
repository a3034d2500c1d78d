"""A plain ``teal build`` binds the selected models before any data changes (issue 20):
a reference to a column that does not exist is a located error, exit 2, and what was
built before keeps its rows."""

from __future__ import annotations

import duckdb
import pytest

from teal.compiler.errors import LineageError
from teal.runtime.session import RunOptions, Session

from .conftest import run_teal

FILES = {
    "models/orders.sql": "select 1 as id, 9.5 as amount, 'done' as status",
    "models/a.sql": "select id, amount from orders where status = 'done'",
    "models/b.sql": "select id, amount * 2 as dbl from a",
}
BROKEN_B = "select id,\n       amont * 2 as dbl\nfrom a\n"


def rows(root, table: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(f"select * from {table}").fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_a_plain_build_binds_before_any_data_changes(project):
    root = project(FILES)
    assert run_teal("build", cwd=root).returncode == 0
    (root / "models" / "a.sql").write_text("select id, amount, 7 as extra from orders\n")
    (root / "models" / "b.sql").write_text(BROKEN_B)
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    assert "models/b.sql:2:8: column 'amont' does not exist in a" in done.stderr
    assert "hint: did you mean 'amount'?" in done.stderr
    assert "Traceback" not in done.output
    # a, which binds, was not rebuilt either: nothing changed before the error
    assert rows(root, "main.a") == [(1, 9.5)]
    # the plan of that build says so too, rather than listing steps the build would refuse
    planned = run_teal("plan", cwd=root)
    assert planned.returncode == 2, planned.output
    assert "models/b.sql:2:8: column 'amont' does not exist in a" in planned.stderr
    assert "hint: did you mean 'amount'?" in planned.stderr
    assert "create view" not in planned.stdout and "Traceback" not in planned.output
    unbound = run_teal("plan", "--no-validate", cwd=root)
    assert unbound.returncode == 0 and "3  b       create view" in unbound.stdout, unbound.output
    assert rows(root, "main.b") == [(1, 19.0)]
    # without binding, DuckDB meets the mistake while building: a failed step, exit 1
    done = run_teal("build", "--no-validate", cwd=root)
    assert done.returncode == 1, done.output
    assert rows(root, "main.a") == [(1, 9.5, 7)]


@pytest.mark.slow
def test_sql_only_duckdb_refuses_is_a_located_error_before_anything_is_built(project):
    # sqlglot takes a GROUP BY with nothing after it; DuckDB's parser does not
    root = project(FILES)
    assert run_teal("build", cwd=root).returncode == 0
    (root / "models" / "a.sql").write_text("select id, amount, 7 as extra from orders\n")
    (root / "models" / "b.sql").write_text("select id, amount\nfrom a\ngroup by\n")
    for command in ("build", "validate"):
        done = run_teal(command, cwd=root)
        assert done.returncode == 2, done.output
        assert 'models/b.sql:3:7: SQL syntax error at or near "by"' in done.stderr
        assert "Traceback" not in done.output
    assert rows(root, "main.a") == [(1, 9.5)]  # a was not rebuilt: nothing ran
    (root / "models" / "b.sql").write_text("select id, amount\nfrom a\ngroup by all\n")
    assert run_teal("build", cwd=root).returncode == 0
    assert rows(root, "main.b") == [(1, 9.5)]


@pytest.mark.slow
def test_a_file_source_with_no_file_stops_the_models_reading_it_before_anything_runs(project):
    sources = (
        "sources:\n"
        "  - name: reference\n"
        "    type: csv\n"
        "    path: ../data/{table}.csv\n"
        "    tables: [countries, regions]\n"
    )
    root = project(
        {
            **FILES,
            "data/countries.csv": "id,name\n1,a\n",
            "models/sources.yml": sources,
            "models/c.sql": "select name from reference.countries",
            "models/r.sql": "select name from reference.regions",
        }
    )
    for command in ("build", "validate", "plan"):
        done = run_teal(command, cwd=root)
        assert done.returncode == 2, done.output
        assert (
            "models/sources.yml:2:3: source table reference.regions reads data/regions.csv, "
            "which does not exist" in done.stderr
        )
        assert "Traceback" not in done.output
    assert not (root / "warehouse.duckdb").exists()  # nothing was built
    # what does not read it builds
    done = run_teal("build", "-s", "c", cwd=root)
    assert done.returncode == 0, done.output
    (root / "data" / "regions.csv").write_text("id,name\n1,north\n")
    assert run_teal("build", cwd=root).returncode == 0
    assert rows(root, "main.r") == [("north",)]


CHECKS_YML = """\
models:
  - name: a
    tests:
      - unique_combination: {columns: [id, amont]}
      - expression_is_true: {expression: "amont > 0"}
    columns:
      - name: amount
        tests:
          - not_null: {where: "amont > 0"}
"""


@pytest.mark.slow
def test_a_check_naming_a_missing_column_stops_the_build_before_anything_runs(project):
    root = project(FILES)
    assert run_teal("build", cwd=root).returncode == 0
    (root / "models" / "a.sql").write_text("select id, amount, 7 as extra from orders\n")
    (root / "models" / "schema.yml").write_text(CHECKS_YML)
    (root / "checks").mkdir()
    (root / "checks" / "big.sql").write_text("select * from a\nwhere amont > 100\n")
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    for where in ("models/schema.yml:4:7", "models/schema.yml:5:7", "models/schema.yml:9:11"):
        assert f"{where}: check " in done.stderr, done.stderr
    assert (
        "checks/big.sql:1:1: check big of a cannot run: column 'amont' does not exist in a"
        in done.stderr
    )
    assert "hint: did you mean 'amount'?" in done.stderr
    assert "4 problems found" in done.stderr
    assert rows(root, "main.a") == [(1, 9.5)]  # nothing ran: a keeps its last build
    # fixed, the checks run; broken again, found again (the binding is cached by the check)
    (root / "models" / "schema.yml").write_text(CHECKS_YML.replace("amont", "amount"))
    (root / "checks" / "big.sql").write_text("select * from a\nwhere amount > 100\n")
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert rows(root, "main.a") == [(1, 9.5, 7)]
    (root / "checks" / "big.sql").write_text("select * from a\nwhere amont > 100\n")
    assert run_teal("build", cwd=root).returncode == 2


@pytest.mark.slow
def test_a_build_binds_only_what_it_selects_and_what_that_reads(project):
    root = project({**FILES, "models/b.sql": BROKEN_B})
    done = run_teal("build", "-s", "+a", cwd=root)
    assert done.returncode == 0, done.output
    assert rows(root, "main.a") == [(1, 9.5)]
    assert run_teal("build", "-s", "b", cwd=root).returncode == 2


def test_the_python_api_binds_too_and_can_be_told_not_to(project):
    root = project({**FILES, "models/b.sql": BROKEN_B})
    session = Session.open(root)
    with pytest.raises(LineageError, match="column 'amont' does not exist in a") as info:
        session.build()
    assert (info.value.path, info.value.line, info.value.col) == ("models/b.sql", 2, 8)
    assert not (root / "warehouse.duckdb").exists()
    result = Session.open(root).build(run=RunOptions(bind=False))
    assert not result.success  # DuckDB's binder error, in the step
    assert rows(root, "main.a") == [(1, 9.5)]


def test_binding_is_cached_by_what_each_model_reads(project):
    from teal.compiler.column_binding import bound_columns
    from teal.compiler.project import load_project

    root = project(FILES)
    assert bound_columns(load_project(root)).traced == 3
    assert bound_columns(load_project(root)).traced == 0  # one lookup for the whole
    (root / "models" / "a.sql").write_text("select id, amount, 1 as n from orders\n")
    again = bound_columns(load_project(root))
    assert again.traced == 2  # a changed, and b reads a's columns
    assert again.columns_of("a") == ("id", "amount", "n")
    assert again.models["b"].columns is not None
    assert again.models["b"].columns[0].edges == ()  # names only: no lineage edges


@pytest.mark.slow
def test_the_binder_and_the_tracer_agree_on_every_example_model(tmp_path):
    """A build takes the names of what DuckDB's binder binds (runtime/type_check.py
    EngineBinder) and traces only the rest: for every SQL model of the example project
    both give the same output columns, and, once its Python assets were built (their
    types recorded), the binder binds every SQL model."""
    from teal.compiler.column_binding import bound_columns
    from teal.compiler.project import load_project
    from teal.runtime.runstore import open_run_store
    from teal.runtime.type_check import EngineBinder
    from teal.runtime.validate import recorded_types

    from .test_example_project import copy_example

    root = copy_example(tmp_path / "example")
    assert run_teal("build", cwd=root).returncode == 0
    project = load_project(root)
    recorded = recorded_types(project, open_run_store(None, root))
    known = {n: tuple(c for c, _ in typed) for n, typed in recorded.items()}
    assert known, "the example's Python assets have recorded schemas"
    order = project.dag.order()
    sql = [n for n in order if project.models[n].kind == "sql"]
    binder = EngineBinder(project, recorded)
    try:
        by_engine = binder(order).names
    finally:
        binder.close()
    traced = bound_columns(project, order, known=known, use_cache=False)
    assert sql and [n for n in sql if n not in by_engine] == []
    for name in sql:
        assert [c.lower() for c in by_engine[name]] == list(traced.columns_of(name) or ()), name


def test_the_build_after_a_python_assets_first_materialization_binds_nothing(project):
    """A Python asset without declared columns is typed by its last materialization, which
    is part of the binding key of everything that reads it. The build that first
    materializes it keeps the binding of what it built, so the next build neither binds
    with stand-ins nor traces (before: the whole downstream was bound again)."""
    from teal.compiler.column_binding import bound_columns
    from teal.compiler.column_lineage import EngineBinding
    from teal.runtime.validate import _names, recorded_types

    root = project(
        {
            "models/py_orders.py": (
                "import polars as pl\nimport teal\n\n\n@teal.asset\n"
                "def py_orders() -> pl.DataFrame:\n"
                "    return pl.DataFrame({'id': [1, 2], 'amount': [3, 4]})\n"
            ),
            "models/a.sql": "select id, amount * 2 as dbl from py_orders",
            "models/b.sql": "select a.id, a.dbl, o.amount from a join py_orders o using (id)",
        }
    )
    session = Session.open(root)
    assert session.build().success
    asked: list[list[str]] = []

    def engine_bound(order: list[str]) -> EngineBinding:
        asked.append(order)
        return EngineBinding({})

    project_ = Session.open(root).project
    known = _names(recorded_types(project_, session.run_store()))
    assert known["py_orders"] == ("id", "amount")
    bound = bound_columns(project_, known=known, engine_bound=engine_bound)
    assert asked == [] and bound.traced == 0
    assert bound.columns_of("b") == ("id", "dbl", "amount")
    session.close()


RAW_PY = (
    "import polars as pl\nimport teal\n\n\n@teal.asset\n"
    "def raw() -> pl.DataFrame:\n"
    "    return pl.DataFrame({'id': [1, 2], 'amount': [3, 4], 'ts': ['2026-01-01', '2026-01-02']})\n"
)
BELOW_RAW = {
    "models/raw.py": RAW_PY,
    # reads the asset, whose columns nobody knows before its first build: traced
    "models/a.sql": "select id, amount, cast(ts as timestamp) as ts from raw",
    # its upstream's names are known, not their types: bound by DuckDB with NULL stand-ins
    "models/b.sql": "select id, sum(amount) over (partition by id) as total, ts from a",
    # date_trunc of a NULL-typed column is ambiguous to DuckDB: traced again
    "models/c.sql": "select date_trunc('day', ts) as day, total from b",
}


def test_what_reads_a_python_asset_never_built_is_bound_by_names_and_traced_only_if_needed(
    project,
):
    """Below a Python asset that was never built (no recorded types), DuckDB binds a model
    against stand-ins of its upstreams' traced names (NULL-typed): the same names as the
    tracer, without tracing it; a model DuckDB cannot bind that way is traced."""
    from teal.compiler.column_binding import bound_columns
    from teal.compiler.project import load_project
    from teal.runtime.type_check import EngineBinder

    project_ = load_project(project(BELOW_RAW))
    order = project_.dag.order()
    binder = EngineBinder(project_, {})
    try:
        bound = bound_columns(project_, order, known={}, use_cache=False, engine_bound=binder)
    finally:
        binder.close()
    traced = bound_columns(project_, order, known={}, use_cache=False)
    assert (bound.traced, traced.traced) == (2, 3)  # a and c; b bound by names
    for name in ("a", "b", "c"):
        assert bound.columns_of(name) == traced.columns_of(name), name
    assert bound.columns_of("b") == ("id", "total", "ts")


@pytest.mark.slow
def test_a_missing_column_below_a_python_asset_never_built_fails_before_anything_runs(project):
    root = project({**BELOW_RAW, "models/b.sql": "select id,\n  amont as total, ts\nfrom a\n"})
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    assert "models/b.sql:2:3:" in done.output and "amont" in done.output
    assert "did you mean 'amount'" in done.output
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    try:  # nothing was built, not even the asset
        assert con.execute(
            "select count(*) from duckdb_tables() where table_name = 'raw'"
        ).fetchone() == (0,)
    finally:
        con.close()


@pytest.mark.slow
def test_a_python_asset_whose_code_changed_is_not_bound_by_its_old_columns(project):
    """Renaming a column in an asset and in what reads it, in one edit: the asset's last
    materialization made the old columns, so the build binds by the code's (its types
    are recorded again by this build)."""
    root = project(
        {
            "models/src.py": (
                "import polars as pl\nimport teal\n\n\n@teal.asset\n"
                "def src() -> pl.DataFrame:\n"
                "    return pl.DataFrame({'id': [1, 2], 'amount': [10, 20]})\n"
            ),
            "models/rep.sql": "select id, amount from src\n",
        }
    )
    assert run_teal("build", cwd=root).returncode == 0
    src = root / "models" / "src.py"
    src.write_text(src.read_text().replace("'amount'", "'amt'"))
    (root / "models" / "rep.sql").write_text("select id, amt from src\n")
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert rows(root, "main.rep") == [(1, 10), (2, 20)]
    (root / "models" / "rep.sql").write_text("select id, amont from src\n")
    wrong = run_teal("build", cwd=root)
    assert wrong.returncode == 2, wrong.output
    assert "models/rep.sql:1:12: column 'amont' does not exist in src" in wrong.stderr
    assert "did you mean 'amt'" in wrong.stderr


@pytest.mark.slow
def test_plan_binds_what_an_edit_breaks_downstream_and_not_what_is_unchanged(project):
    """After a build, dropping a column upstream: plan binds the edited model and what
    reads it, so b (unchanged, reading the dropped column) is the located error; models
    unchanged since their last build are not bound again."""
    from teal.runtime.validate import edited_since_built

    root = project(FILES)
    assert run_teal("build", cwd=root).returncode == 0
    with Session.open(root) as session:  # nothing edited: nothing to bind
        names = session.select(None, None)
        assert edited_since_built(session.project, session.state(), names) == []
    (root / "models/a.sql").write_text("select id from orders where status = 'done'\n")
    with Session.open(root) as session:
        names = session.select(None, None)
        assert edited_since_built(session.project, session.state(), names) == ["a", "b"]
    planned = run_teal("plan", cwd=root)
    assert planned.returncode == 2, planned.output
    assert "models/b.sql:1:12: column 'amount' does not exist in a" in planned.stderr
