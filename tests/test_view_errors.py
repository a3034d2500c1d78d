"""A runtime error raised by a view's SQL while a table reading it is built names the
views the table reads (DuckDB's message names neither the view nor a line of the table)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import query, run_teal

SRC = "{{ config(materialized='table') }} select 'abc' as x union all select '1'"
TABLE = "{{ config(materialized='table') }}\nselect n + 1 as m\nfrom outer_v\n"


@pytest.mark.slow
def test_a_failed_cast_in_a_view_names_the_views_the_table_reads(project):
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
    assert (
        "it reads the views outer_v at models/outer_v.sql, inner_v at models/inner_v.sql, "
        "whose SQL run inside its query: the error may be there" in done.output
    )
    # the views themselves were made, and a table reading no view is not told of any
    assert query(root / "warehouse.duckdb", "select count(*) from fine") == [(2,)]
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    [step] = [s for s in shown["steps"] if s["model"] == "t"]
    assert "it reads the views outer_v" in step["message"]  # recorded with the run


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
        "it reads the view v at models/v.sql, whose SQL runs inside its query: the error may "
        "be there" in done.output
    ), done.output
