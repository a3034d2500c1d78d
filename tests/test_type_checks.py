"""Types before anything runs (issue 20): output types from DuckDB's binder on zero-row
stand-ins, join conditions and UNIONs mixing kinds of values, contract types."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teal.compiler.column_type_checks import canonical_type, kind_of
from teal.compiler.errors import ErrorGroup, LineageError
from teal.compiler.project import load_project
from teal.runtime.session import Session
from teal.runtime.type_check import type_errors

from .conftest import run_teal

BASE = {
    "models/orders.sql": "select 1::bigint as id, 9.5::decimal(10, 2) as amount, 'done' as status",
    "models/customers.sql": "select 1::bigint as id, 'a@b.c' as email",
}


def errors_of(root) -> list[str]:
    project = load_project(root)
    return [str(e) for e in type_errors(project, project.dag.order())]


def test_a_join_comparing_a_number_with_text_is_located(project):
    root = project(
        {
            **BASE,
            "models/joined.sql": (
                "select o.id, c.email\nfrom orders o\njoin customers c on c.email = o.id\n"
            ),
        }
    )
    (error,) = errors_of(root)
    assert error.startswith(
        "models/joined.sql:3:21: join condition compares c.email (VARCHAR, a text) "
        "with o.id (BIGINT, a number)"
    )
    assert "hint: cast one side" in error


def test_union_branches_of_different_kinds_are_located(project):
    root = project(
        {
            **BASE,
            "models/u.sql": "with x as (\n  select id, amount from orders\n  union all\n"
            "  select id, email from customers\n)\nselect * from x\n",
        }
    )
    (error,) = errors_of(root)
    assert error.startswith(
        "models/u.sql:4:14: UNION branches disagree on column 2 (amount): DECIMAL(10,2) "
        "(a number) in the first branch, VARCHAR (a text) here"
    )


def test_a_union_branch_giving_a_literal_of_another_kind_is_located_at_it(project):
    # a literal has no name to point at: the error points at the literal itself, and a
    # whole number is DuckDB's INTEGER (not DECIMAL)
    root = project(
        {
            **BASE,
            "models/u.sql": "select 1 as x from orders\nunion all\nselect 'a' from orders\n",
        }
    )
    done = run_teal("validate", cwd=root)
    assert done.returncode == 2, done.output
    assert (
        "models/u.sql:3:8: UNION branches disagree on column 1 (x): INTEGER (a number) in "
        "the first branch, VARCHAR (a text) here"
    ) in done.stderr, done.output
    assert "('a'::INTEGER)" in done.stderr


def test_matching_kinds_and_unknown_types_are_not_errors(project):
    root = project(
        {
            **BASE,
            "models/ok.sql": "select o.id from orders o join customers c on c.id = o.id\n"
            "union all select cast(id as integer) from customers",
            "models/calc.sql": "select o.id * 2 as id from orders o join customers c "
            "on c.id + 0 = o.id",
        }
    )
    assert errors_of(root) == []


CONTRACT = """
models:
  - name: orders
    config: {contract: {enforced: true}}
    columns:
      - {name: id, data_type: bigint}
      - {name: amount, data_type: "decimal(10, 2)"}
      - {name: status, data_type: integer}
"""


@pytest.mark.slow
def test_a_contract_type_the_query_does_not_produce_fails_before_any_build(project):
    root = project({**BASE, "models/schema.yml": CONTRACT})
    for command in ("compile", "build"):
        done = run_teal(command, cwd=root)
        assert done.returncode == 2, done.output
        assert (
            "models/schema.yml:7:7: orders.status is VARCHAR, but its enforced contract "
            "declares INTEGER" in done.stderr
        )
        assert "hint: cast it in the query (status::INTEGER)" in done.stderr
    assert not (root / "warehouse.duckdb").exists()
    fixed = CONTRACT.replace("data_type: integer", "data_type: varchar")
    (root / "models" / "schema.yml").write_text(fixed, encoding="utf-8")
    assert run_teal("build", cwd=root).returncode == 0


def test_a_python_assets_declared_types_stand_in_for_it(project):
    asset = (
        "import teal\n\n\n"
        '@teal.asset(columns={"id": "varchar", "score": "double"})\n'
        "def scores():\n    raise RuntimeError('not called before the build')\n"
    )
    root = project(
        {
            **BASE,
            "models/scores.py": asset,
            "models/r.sql": "select o.id, s.score\nfrom orders o\njoin scores s on o.id = s.id\n",
        }
    )
    with pytest.raises((LineageError, ErrorGroup)) as info:
        Session.open(root).validate()
    assert "join condition compares o.id (BIGINT, a number) with s.id (VARCHAR, a text)" in str(
        info.value
    )


def test_type_names():
    assert kind_of("DECIMAL(10,2)") == kind_of("HUGEINT") == "number"
    assert kind_of("TIMESTAMP WITH TIME ZONE") == "date or time"
    assert kind_of("INTEGER[]") is None
    assert canonical_type("Numeric( 10 ,2 )") == "DECIMAL(10,2)"


@given(
    st.sampled_from(["bigint", "int8", "varchar", "text", "decimal(10, 2)", "timestamptz"]),
    st.lists(st.sampled_from([" ", "  "]), max_size=3),
    st.booleans(),
)
def test_type_names_compare_without_case_or_spacing(name, spaces, upper):
    written = ("".join(spaces) + name + "".join(spaces)).replace(", ", "," + "".join(spaces))
    written = written.upper() if upper else written
    assert canonical_type(written) == canonical_type(name)
    assert canonical_type(canonical_type(name)) == canonical_type(name)  # idempotent
    assert kind_of(written) == kind_of(name) is not None


def test_a_partitioned_models_join_is_typed(project):
    daily = (
        "{{ config(materialized='incremental', partitioned_by={'daily': '2026-01-01'},\n"
        "          partition_column='day') }}\n"
        "select date '2026-01-01' as day, o.id, c.email\n"
        "from orders o join customers c on c.email = o.id\n"
        "where day >= __teal_partition_start__\n"
    ).replace("__teal_partition_start__", "cast('{{ partition.start }}' as date)")
    root = project({**BASE, "models/daily.sql": daily})
    (error,) = errors_of(root)
    assert error.startswith(
        "models/daily.sql:4:35: join condition compares c.email (VARCHAR, a text) "
        "with o.id (BIGINT, a number)"
    )


def test_a_file_sources_types_reach_the_join_check(project):
    root = project(
        {
            **BASE,
            "data/codes.csv": "code,label\nA1,first\nB2,second\n",
            "models/sources.yml": (
                "sources:\n  - name: ref\n    type: csv\n    path: ../data/{table}.csv\n"
                "    tables:\n      - name: codes\n"
            ),
            "models/coded.sql": (
                "select o.id, c.label\nfrom orders o\njoin ref.codes c on c.code = o.id\n"
            ),
        }
    )
    (error,) = errors_of(root)
    assert error.startswith(
        "models/coded.sql:3:21: join condition compares c.code (VARCHAR, a text) "
        "with o.id (BIGINT, a number)"
    )


@pytest.mark.slow
def test_a_python_asset_without_declared_types_is_typed_by_its_last_build(project):
    asset = (
        "import polars as pl\nimport teal\n\n\n@teal.asset\n"
        "def scores():\n    return pl.DataFrame({'id': ['1'], 'score': [0.5]})\n"
    )
    root = project(
        {
            **BASE,
            "models/scores.py": asset,
            "models/r.sql": "select o.id, s.score\nfrom orders o\njoin scores s on o.id = s.id\n",
        }
    )
    first = run_teal("validate", cwd=root)  # never built: its types are not known yet
    assert first.returncode == 0, first.output
    assert run_teal("build", "-s", "scores", cwd=root).returncode == 0
    again = run_teal("validate", cwd=root)
    assert again.returncode == 2, again.output
    assert (
        "models/r.sql:3:18: join condition compares o.id (BIGINT, a number) with s.id "
        "(VARCHAR, a text)" in again.stderr
    )


@pytest.mark.slow
def test_a_python_assets_return_annotation_declares_its_columns(project):
    asset = (
        "from typing import Annotated\n\nimport polars as pl\nimport teal\n\n\n"
        "@teal.asset\n"
        'def scores() -> Annotated[pl.DataFrame, {"id": "varchar", "score": "double"}]:\n'
        "    raise RuntimeError('not called before the build')\n"
    )
    reader = "select o.id, s.score, s.nope\nfrom orders o\njoin scores s on o.id = s.id\n"
    root = project({**BASE, "models/scores.py": asset, "models/r.sql": reader})
    done = run_teal("validate", cwd=root)
    assert done.returncode == 2, done.output
    assert (
        "models/r.sql:1:23: column 'nope' does not exist in scores (read as s), which has: "
        "id, score" in done.stderr
    )
    (root / "models" / "r.sql").write_text(reader.replace(", s.nope", ""), encoding="utf-8")
    done = run_teal("validate", cwd=root)
    assert done.returncode == 2, done.output
    assert "join condition compares o.id (BIGINT, a number) with s.id (VARCHAR, a text)" in (
        done.stderr
    )
