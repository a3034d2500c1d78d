"""A runtime error raised by a view's SQL while a table reading it is built names the
view it comes from (DuckDB's message names neither the view nor a line of the table); an
error of the table's own SQL names no view."""

from __future__ import annotations

import json

import pytest

from tests.conftest import query, run_teal

SRC = "{{ config(materialized='table') }} select 'abc' as x union all select '1'"
TABLE = "{{ config(materialized='table') }}\nselect n + 1 as m\nfrom outer_v\n"


@pytest.mark.slow
def test_a_failed_cast_in_a_view_names_the_view_it_comes_from(project):
    root = project(
        {
            "models/src.sql": SRC,
            "models/inner_v.sql": "select\n  cast(x as int) as n\nfrom src\n",
            "models/outer_v.sql": "select n from inner_v\n",
            "models/t.sql": TABLE,
            "models/fine.sql": "{{ config(materialized='table') }} select 1 / 0 as q from src",
        }
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert "models/t.sql: Conversion Error: Could not convert string 'abc' to INT32" in done.output
    # outer_v raises it too, but only because it reads inner_v: inner_v is named alone
    assert (
        "it reads the view inner_v at models/inner_v.sql, which raises the same error on "
        "its own: the error is in its SQL" in done.output
    ), done.output
    assert "outer_v at" not in done.output
    # the views themselves were made, and a table reading no view is not told of any
    assert query(root / "warehouse.duckdb", "select count(*) from fine") == [(2,)]
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    [step] = [s for s in shown["steps"] if s["model"] == "t"]
    assert "it reads the view inner_v" in step["message"]  # recorded with the run


@pytest.mark.slow
def test_a_view_read_through_an_ephemeral_model_is_named(project):
    """An ephemeral model is inlined into the table's query: the views it reads run there."""
    root = project(
        {
            "models/src.sql": SRC,
            "models/v.sql": "select cast(x as int) as n from src\n",
            "models/eph.sql": "{{ config(materialized='ephemeral') }}\nselect n from v\n",
            "models/t.sql": "{{ config(materialized='table') }}\nselect n + 1 as m\nfrom eph\n",
        }
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert "models/t.sql: Conversion Error: Could not convert string 'abc' to INT32" in done.output
    assert (
        "it reads the view v at models/v.sql, which raises the same error on its own: the "
        "error is in its SQL" in done.output
    ), done.output


@pytest.mark.slow
def test_an_error_of_the_tables_own_sql_names_no_view(project):
    """The table reads a view that evaluates fine; its own cast fails: no view is blamed."""
    root = project(
        {
            "models/src.sql": SRC,
            "models/v.sql": "select x as s from src\n",
            "models/t.sql": "{{ config(materialized='table') }}\nselect cast(s as int) as n\n"
            "from v\n",
        }
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert "Could not convert string 'abc' to INT32" in done.output
    assert "it reads the view" not in done.output, done.output
    assert "may be there" not in done.output


@pytest.mark.slow
def test_two_views_raising_the_error_are_both_named_and_show_names_them(project):
    root = project(
        {
            "models/src.sql": SRC,
            "models/a.sql": "select cast(x as int) as n from src\n",
            "models/b.sql": "select cast(x as int) as m from src\n",
            "models/t.sql": "{{ config(materialized='table') }}\nselect n, m\n"
            "from a cross join b\n",
        }
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert (
        "it reads the views a at models/a.sql, b at models/b.sql, which raise the same "
        "error on their own: the error is in their SQL" in done.output
    ), done.output
    shown = run_teal("show", "-s", "t", cwd=root)  # `teal show` runs it and says the same
    assert shown.returncode != 0, shown.output
    assert "it reads the views a at models/a.sql, b at models/b.sql" in shown.output, shown.output
