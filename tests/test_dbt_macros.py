"""Macros of a dbt project and its packages as dbt calls them: private helpers (names that
start with ``_``), the relation and column objects macros inspect, queries at compile time,
and dbt's built-in macros that tests call. The package is tests/dbt_projects/packages/
shop_utils, written in the shape of dbt_utils's macros (``star``, ``get_column_values``,
``pivot``, ``union_relations``, ``expression_is_true``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from teal.compiler.project import load_project
from tests.conftest import query, run_teal
from tests.test_dbt_front_end import _error, dbt_project

ENV = {"TEAL_RUN_STORE": "none"}
SHOP_UTILS = Path(__file__).resolve().parent / "dbt_projects" / "packages" / "shop_utils"


def with_shop_utils(root: Path) -> Path:
    shutil.copytree(SHOP_UTILS, root / "dbt_packages" / "shop_utils")
    return root


def test_a_macro_whose_name_starts_with_an_underscore_can_be_called(tmp_path: Path) -> None:
    root = with_shop_utils(
        dbt_project(
            tmp_path / "p",
            {
                "macros/priv.sql": "{% macro _double(x) %}({{ x }} * 2){% endmacro %}\n",
                "models/dbl.sql": "select {{ _double('id') }} as dbl from {{ ref('stg_people') }}\n",
                # a package's private helper, called from the project as package._name
                "models/guarded.sql": "{% do shop_utils._must_be_relation(ref('stg_people'), "
                "'guarded') %}select 1 as x\n",
            },
        )
    )
    project = load_project(root)
    assert "(id * 2) as dbl" in (project.models["dbl"].compiled_sql or "")
    assert project.models["guarded"].upstreams == ("stg_people",)
    # the helper's own error, located in the macro, with the model's call as the hint
    (root / "models/guarded.sql").write_text(
        "{% do shop_utils._must_be_relation('stg_people', 'guarded') %}select 1 as x\n"
    )
    text = _error(root)
    assert text.startswith("dbt_packages/shop_utils/macros/_guards.sql:"), text
    assert "guarded needs a relation, got: stg_people" in text
    assert "in a macro that models/guarded.sql:1 calls" in text


def test_a_package_macro_may_not_read_an_ephemeral_model(tmp_path: Path) -> None:
    root = with_shop_utils(
        dbt_project(
            tmp_path / "p",
            {
                "models/eph.sql": "{{ config(materialized='ephemeral') }}select 1 as id\n",
                "models/starred.sql": "select {{ shop_utils.star(ref('eph')) }} from {{ ref('eph') }}\n",
            },
        )
    )
    text = _error(root)
    assert text.startswith("dbt_packages/shop_utils/macros/_guards.sql:"), text
    assert "star cannot read the ephemeral model eph" in text
    assert "in a macro that models/starred.sql:1 calls" in text


UNION = """
select {{ shop_utils.star(ref('stg_people'), except=['joined']) }}
from {{ ref('stg_people') }}
"""
PIVOT = """
{% set names = shop_utils.column_values(ref('stg_people'), 'name') %}
select id, {{ shop_utils.pivot('name', names) }}
from {{ ref('stg_people') }}
group by id
"""


@pytest.mark.slow
def test_macros_that_read_the_warehouse_build_on_an_empty_warehouse(tmp_path: Path) -> None:
    """star, column_values (with pivot) and union_all ask the warehouse for columns and
    values of relations this build creates: rendered when the build runs each model, as
    dbt compiles a node just before it runs it."""
    root = with_shop_utils(
        dbt_project(
            tmp_path / "p",
            {
                "models/marts/starred.sql": UNION,
                "models/marts/pivoted.sql": PIVOT,
                "models/marts/unioned.sql": "{{ shop_utils.union_all([ref('stg_people'), "
                "ref('people_count')]) }}\n",
            },
        )
    )
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    db = root / "shop.duckdb"
    assert query(db, "select * from main_mart.starred order by id") == [(1, "Ann"), (2, "Bo")]
    assert query(db, "select * from main_mart.pivoted order by id") == [(1, 1, 0), (2, 0, 1)]
    assert query(
        db,
        "select column_name from information_schema.columns where table_name = 'pivoted' "
        "order by ordinal_position",
    ) == [("id",), ("Ann",), ("Bo",)]
    assert query(db, "select source_relation, id, name, n from main_mart.unioned order by all") == [
        ("people_count", None, None, 2),
        ("stg_people", 1, "Ann", None),
        ("stg_people", 2, "Bo", None),
    ]


TESTED = """
models:
  - name: stg_people
    data_tests:
      - shop_utils.expression_is_true:
          arguments: {expression: "id < 2"}
          config: {severity: warn}
      - shop_utils.expression_is_true:
          arguments: {expression: "id < 3"}
          config: {store_failures: true}
"""


def _test_sql(project: object, expression: str) -> str:
    (sql,) = [
        c.sql or ""
        for c in project.checks.values()  # type: ignore[attr-defined]
        if c.kind == "shop_utils.expression_is_true" and expression in (c.sql or "")
    ]
    return sql


def test_should_store_failures_follows_the_test_config(tmp_path: Path) -> None:
    root = with_shop_utils(dbt_project(tmp_path / "p", {"models/staging/schema.yml": TESTED}))
    project = load_project(root)
    assert "select 1 as failed" in _test_sql(project, "id < 2")
    assert "select *" in _test_sql(project, "id < 3")  # store_failures: true


@pytest.mark.slow
def test_store_failures_and_full_refresh_flags_reach_the_templates(tmp_path: Path) -> None:
    root = with_shop_utils(
        dbt_project(
            tmp_path / "p",
            {
                "models/staging/schema.yml": TESTED,
                "models/marts/refreshed.sql": "select {{ should_full_refresh() }} as full_refresh\n",
            },
        )
    )
    db = root / "shop.duckdb"
    done = run_teal("build", "--store-failures", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    # --store-failures: should_store_failures() is true for every test, so the stored
    # failing rows have the model's columns
    (table,) = [
        name
        for (name,) in query(
            db,
            "select table_name from information_schema.tables where table_schema = 'teal_failures'",
        )
        if "id_2" in name
    ]
    assert query(db, f'select id, name from teal_failures."{table}"') == [(2, "Bo")]
    assert query(db, "select full_refresh from main_mart.refreshed") == [(False,)]
    done = run_teal("build", "-s", "refreshed", "--full-refresh", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert query(db, "select full_refresh from main_mart.refreshed") == [(True,)]


@pytest.mark.slow
def test_a_render_that_fails_on_what_the_warehouse_held_before_the_build_is_done_again(
    tmp_path: Path,
) -> None:
    """After `teal build --empty`, column_values finds no names at load (pivot fails on
    them); the model is rendered again when the build runs it, after stg_people has rows."""
    root = with_shop_utils(dbt_project(tmp_path / "p", {"models/marts/pivoted.sql": PIVOT}))
    assert run_teal("build", "--empty", "--exclude", "pivoted", cwd=root, env=ENV).returncode == 0
    done = run_teal("compile", "-s", "pivoted", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    compiled = (root / "target/compiled/shop/models/marts/pivoted.sql").read_text()
    # located in the macro that failed, with the model's call
    assert "rendering it with the warehouse as it is now failed: dbt_packages/" in compiled
    assert "in a macro that models/marts/pivoted.sql:2 calls" in compiled
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert query(root / "shop.duckdb", "select * from main_mart.pivoted order by id") == [
        (1, 1, 0),
        (2, 0, 1),
    ]
    # an error that stays is the model's failure when the build renders it
    (root / "models/marts/pivoted.sql").write_text(PIVOT.replace("'name')", "'nme')"))
    done = run_teal("build", "-s", "pivoted", cwd=root, env=ENV)
    assert done.returncode == 1, done.output
    assert "models/marts/pivoted.sql" in done.output and "nme" in done.output
    assert "Traceback" not in done.output


def test_an_ephemeral_model_is_rendered_with_the_loads_answers(tmp_path: Path) -> None:
    """Its SQL is inlined into its readers' at load, so it cannot wait for the build: a
    query of a relation not built yet is a located error, not a placeholder inlined."""
    eph = (
        "{{ config(materialized='ephemeral') }}\n"
        "{% set found = run_query('select count(*) from main.stg_people') %}\n"
        "select {{ found.rows[0][0] if execute else 0 }} as n\n"
    )
    root = dbt_project(
        tmp_path / "p",
        {"models/eph.sql": eph, "models/reader.sql": "select * from {{ ref('eph') }}\n"},
    )
    text = _error(root)
    assert text.startswith("models/eph.sql:2: a query the template runs at compile time failed")
