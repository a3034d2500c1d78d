"""What a dbt model's file may hold, and what its YAML may say about it: each mistake a
located error (exit 2, nothing built) or a located warning, as in a teal project."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

from teal.compiler.dbt import statements
from tests.conftest import query, run_teal
from tests.test_dbt_front_end import _error, dbt_project

ENV = {"TEAL_RUN_STORE": "none"}


def test_the_statement_scan_examples() -> None:
    assert doctest.testmod(statements).failed == 0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n  \n",
        "-- nothing here yet\n",
        "/* a block\ncomment */ ;\n",
        "{{ config(materialized='table') }}\n",
    ],
)
def test_an_empty_model_is_a_located_error(tmp_path: Path, text: str) -> None:
    root = dbt_project(tmp_path / "p", {"models/empty.sql": text})
    message = _error(root)
    # a blank first line has no column to point at; a comment has
    assert re.match(r"models/empty.sql:1(:1)?: the model is empty", message), message
    assert "hint: a SQL model is one SELECT statement" in message


@pytest.mark.slow
def test_an_empty_model_stops_build_and_compile_before_anything_is_built(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "p", {})
    assert run_teal("build", cwd=root, env=ENV).returncode == 0
    (root / "models/staging/stg_people.sql").write_text("-- rewritten later\n")
    for command in ("build", "compile"):
        done = run_teal(command, cwd=root, env=ENV)
        assert done.returncode == 2, done.output
        assert "models/staging/stg_people.sql:1:1: the model is empty" in done.output
        assert "Traceback" not in done.output
    # what the last build made is still there
    assert query(root / "shop.duckdb", "select n from main_mart.people_count") == [(2,)]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("select 1 as a;\nselect 2 as b;\n", "models/two.sql:2:1: a SQL model must be a single"),
        (  # found in the file's text with its Jinja blanked out
            "{{ config(materialized='table') }}\nselect 1 as a; select {{ var('cutoff') }} as b\n",
            "models/two.sql:2:16: a SQL model must be a single",
        ),
        (  # only the incremental variant has two
            "{{ config(materialized='incremental') }}\nselect 1 as a\n"
            "{% if is_incremental() %};\ndelete from {{ this }}{% endif %}\n",
            "models/two.sql:4:1: a SQL model must be a single",
        ),
        (  # a macro wrote the second: the file's first line, and how many there are
            "{{ two() }}\n",
            "models/two.sql:1: a SQL model must be a single statement (its compiled SQL holds 2)",
        ),
    ],
)
def test_a_model_of_two_statements_is_a_located_error(
    tmp_path: Path, text: str, where: str
) -> None:
    macro = "{% macro two() %}select 1 as a; select 2 as b{% endmacro %}\n"
    root = dbt_project(tmp_path / "p", {"models/two.sql": text, "macros/two.sql": macro})
    message = _error(root)
    assert message.startswith(where), message
    assert "hint: remove the extra statement" in message


@pytest.mark.slow
def test_one_statement_with_a_closing_semicolon_builds(tmp_path: Path) -> None:
    root = dbt_project(
        tmp_path / "p",
        {
            "models/semi.sql": "select 1 as a, ';' as b, 'it''s' as c; -- done\n",
            "models/reader.sql": "select a from {{ ref('semi') }} where b = ';'\n",
        },
    )
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert query(root / "shop.duckdb", "select * from main.reader") == [(1,)]


UNMATCHED = """
models:
  - name: stg_peple
    columns:
      - name: id
        data_tests: [unique]
  - name: old
    description: disabled, but it exists
seeds:
  - name: peeple
    description: a typo
snapshots:
  - name: nowhere
analyses:
  - name: counts
"""


@pytest.mark.slow
def test_yaml_about_a_node_that_does_not_exist_is_a_located_warning(tmp_path: Path) -> None:
    from teal.compiler.project import load_project

    root = dbt_project(
        tmp_path / "p",
        {"models/schema.yml": UNMATCHED, "analyses/counts.sql": "select 1 as n\n"},
    )
    found = [str(w) for w in load_project(root).warnings]
    assert [w.splitlines()[0] for w in found] == [
        "models/schema.yml:2: YAML describes model 'stg_peple', which does not exist: this "
        "entry is ignored and its tests do not run",
        "models/schema.yml:9: YAML describes seed 'peeple', which does not exist: this entry "
        "is ignored",
        "models/schema.yml:12: YAML describes snapshot 'nowhere', which does not exist: this "
        "entry is ignored",
    ]
    assert found[0].endswith("hint: did you mean 'stg_people'?")
    assert found[1].endswith("hint: did you mean 'people'?")
    assert "no snapshot is named 'nowhere' in the project's snapshots folders" in found[2]
    # a warning by default; an error (exit 2, located) under --strict
    done = run_teal("compile", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert "models/schema.yml:2:3: YAML describes model 'stg_peple'" in done.output
    strict = run_teal("compile", "--strict", cwd=root, env=ENV)
    assert strict.returncode == 2, strict.output
    assert "models/schema.yml:2:3: YAML describes model 'stg_peple'" in strict.output
    assert "Traceback" not in strict.output


def test_relationships_to_an_unknown_node_points_at_the_to_value(tmp_path: Path) -> None:
    yml = """
    models:
      - name: stg_people
        columns:
          - name: id
            data_tests:
              - relationships:
                  arguments: {to: ref('peple'), field: id}
    """
    text = _error(dbt_project(tmp_path / "p", {"models/staging/schema.yml": yml}))
    assert text.startswith(
        "models/staging/schema.yml:7:31: check relationships on id of stg_people: "
        "to: 'peple' is not a model, seed or snapshot"
    ), text
    assert "hint: did you mean 'people'?" in text
