"""What a dbt model's file may hold, and what its YAML may say about it: each mistake a
located error (exit 2, nothing built) or a located warning, as in a teal project."""

from __future__ import annotations

import doctest
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
    assert message.startswith("models/empty.sql:1: the model is empty"), message
    assert "hint: a SQL model is one SELECT statement" in message


def test_an_empty_model_stops_build_and_compile_before_anything_is_built(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "p", {})
    assert run_teal("build", cwd=root, env=ENV).returncode == 0
    (root / "models/staging/stg_people.sql").write_text("-- rewritten later\n")
    for command in ("build", "compile"):
        done = run_teal(command, cwd=root, env=ENV)
        assert done.returncode == 2, done.output
        assert "models/staging/stg_people.sql:1: the model is empty" in done.output
        assert "Traceback" not in done.output
    # what the last build made is still there
    assert query(root / "shop.duckdb", "select n from main_mart.people_count") == [(2,)]
