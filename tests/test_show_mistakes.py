"""``teal show`` given something it cannot do: a limit of no rows, a statement that is no
query, a column that does not exist, a file source whose file is gone. Each is a located
error with a hint, exit 2, and nothing runs. Every test runs the real command line on a
project written here."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import query, run_teal
from tests.test_dbt_front_end import dbt_project
from tests.test_show import ENV, FILES, _built

SOURCES = """
sources:
  - name: raw
    type: csv
    path: ../data/{table}.csv
    tables:
      - name: countries
"""
FILE_PROJECT = {
    "models/sources.yml": SOURCES,
    "models/staging/stg_countries.sql": "select id, name from raw.countries\n",
    # reads the file through the view: the view reads it when the query runs
    "models/marts/country_names.sql": "select name from stg_countries\n",
}


@pytest.mark.slow
def test_limit_0_and_negative_limits_are_refused_and_minus_1_shows_all(project) -> None:  # type: ignore[no-untyped-def]
    root = project(FILES)
    # dbt-core runs `limit 0` (no rows) where dbt Fusion shows all: neither, but said
    zero = run_teal("show", "-s", "events", "--limit", "0", cwd=root, env=ENV)
    assert zero.returncode == 2
    assert zero.stdout == ""
    assert zero.stderr.startswith("--limit: 0 would fetch no rows\n")
    assert "--limit -1 all of them" in zero.stderr
    negative = run_teal("show", "--inline", "select 1 as x", "--limit", "-3", cwd=root, env=ENV)
    assert negative.returncode == 2
    assert negative.stderr.startswith("--limit: -3 is not a number of rows\n")
    every = run_teal("show", "-s", "events", "--limit", "-1", "--json", cwd=root, env=ENV)
    assert every.returncode == 0, every.output
    assert len(json.loads(every.stdout)["show"]) == 12


@pytest.mark.slow
def test_an_inline_statement_that_is_no_query_is_refused_at_its_place(project) -> None:  # type: ignore[no-untyped-def]
    root = _built(project)
    db = root / "warehouse.duckdb"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    delete = run_teal("show", "--inline", "delete from events", cwd=root, env=ENV)
    assert delete.returncode == 2
    assert delete.stderr.startswith(
        "--inline:1:1: `teal show` runs only queries, and this is a DELETE statement\n"
        "    delete from events\n"
        "    ^\n"
    )
    assert "it opens the warehouse read-only and changes nothing" in delete.stderr
    create = run_teal("show", "--inline", "\n  create table x as select 1", cwd=root, env=ENV)
    assert create.returncode == 2
    assert create.stderr.startswith("--inline:2:3: `teal show` runs only queries, and this is a ")
    insert = run_teal("show", "--inline", "insert into events values (1, null)", cwd=root, env=ENV)
    assert "this is an INSERT statement" in insert.stderr
    two = run_teal("show", "--inline", "select 1; select 2", cwd=root, env=ENV)
    assert two.returncode == 2
    assert two.stderr.startswith(
        "--inline:1:11: the inline query is 2 statements: `teal show` runs one query"
    )
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


@pytest.mark.slow
def test_a_column_that_does_not_exist_is_located_with_the_closest_name(project) -> None:  # type: ignore[no-untyped-def]
    root = _built(project)
    typo = run_teal("show", "--inline", "select id,\n  dya from events", cwd=root, env=ENV)
    assert typo.returncode == 2, typo.output
    assert typo.stderr == (
        "--inline:2:3: column 'dya' does not exist in the tables the query reads\n"
        "      dya from events\n"
        "      ^\n"
        "  hint: did you mean 'day'?\n"
    )
    qualified = run_teal("show", "--inline", "select e.idd from events e", "--json", cwd=root)
    assert qualified.returncode == 2
    error = json.loads(qualified.stdout)["errors"][0]
    assert (error["path"], error["line"], error["col"]) == ("--inline", 1, 10)
    assert error["message"] == "column 'idd' does not exist in the tables the query reads"


@pytest.mark.slow
def test_a_missing_source_file_is_the_builds_located_error(project) -> None:  # type: ignore[no-untyped-def]
    root = project(FILE_PROJECT)
    (root / "data").mkdir()
    (root / "data" / "countries.csv").write_text("id,name\n1,Chile\n")
    assert run_teal("build", "-q", cwd=root, env=ENV).returncode == 0
    (root / "data" / "countries.csv").unlink()
    built = run_teal("build", "-s", "stg_countries", cwd=root, env=ENV)
    expected = (
        "models/sources.yml:2:3: source table raw.countries reads data/countries.csv, "
        "which does not exist\n"
    )
    assert built.returncode == 2 and built.stderr.startswith(expected), built.output
    for args in (
        ("-s", "stg_countries"),
        ("-s", "country_names"),  # through the view it reads
        ("--inline", "select * from raw.countries"),
    ):
        shown = run_teal("show", *args, cwd=root, env=ENV)
        assert shown.returncode == 2, (args, shown.output)
        assert shown.stderr.startswith(expected), (args, shown.stderr)
        assert "hint: create the file, or fix the source's path" in shown.stderr


@pytest.mark.slow
def test_dbt_inline_statements_and_columns_are_checked_as_in_a_teal_project(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "shop", {})
    assert run_teal("seed", cwd=root, env=ENV).returncode == 0
    create = run_teal("show", "--inline", "create table main.x as select 1", cwd=root, env=ENV)
    assert create.returncode == 2, create.output
    assert create.stderr.startswith(
        "--inline:1:1: `teal show` runs only queries, and this is a CREATE statement\n"
    )
    assert ("x",) not in query(root / "shop.duckdb", "select table_name from duckdb_tables()")
    typo = run_teal("show", "--inline", "select nme from {{ ref('people') }}", cwd=root, env=ENV)
    assert typo.returncode == 2, typo.output
    assert typo.stderr.startswith(
        "--inline:1:8: column 'nme' does not exist in the tables the query reads\n"
    )
    assert "hint: did you mean 'name'?" in typo.stderr
    for empty in ("", "-- only a comment", "{# only Jinja's #}"):
        said = run_teal("show", "--inline", empty, cwd=root, env=ENV)
        assert said.returncode == 2, said.output
        assert said.stderr.startswith("--inline: the inline query is empty\n"), said.stderr
