"""What a dbt test's result is, as dbt computes it: its query's rows, then its ``fail_calc``
over them (``count(*)`` unless the test's YAML or its macro's ``config()`` says otherwise),
compared with ``warn_if``/``error_if``; and tests whose macro reads the tested model's
columns while it is compiled (dbt_utils's ``equality`` without ``compare_columns``). The
tests are shop_utils's (tests/dbt_projects/packages/shop_utils/macros/compare.sql), written
in the shape of dbt_utils's ``equal_rowcount``, ``fewer_rows_than`` and ``equality``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from teal.compiler.project import load_project
from tests.conftest import query, run_teal
from tests.test_dbt_front_end import _error, dbt_project
from tests.test_dbt_macros import with_shop_utils

ENV = {"TEAL_RUN_STORE": "none"}
SAME_PEOPLE = "id,name,joined\n1,Ann,2024-01-02\n2,Bo,\n"
# stg_people keeps ids 1 and 2 (var cutoff) of the people seed: Ann and Bo
TESTS = """
models:
  - name: stg_people
    data_tests:
      - shop_utils.equal_rowcount:
          arguments: {compare_model: ref('expected_people')}
      - shop_utils.fewer_rows_than:
          arguments: {compare_model: ref('people')}
      - shop_utils.equality:
          arguments: {compare_model: ref('expected_people')}
    columns:
      - name: id
        data_tests:
          - unique:
              config: {fail_calc: "sum(n_records)"}
      - name: name
        data_tests:
          - accepted_values:
              arguments: {values: [Ann]}
              config: {fail_calc: "max(n_records) * 10", warn_if: ">5", error_if: ">100"}
"""


def _project(root: Path, tests: str = TESTS) -> Path:
    return with_shop_utils(
        dbt_project(
            root,
            {"models/staging/schema.yml": tests, "seeds/expected_people.csv": SAME_PEOPLE},
        )
    )


def _check(project: Any, kind: str) -> Any:
    (check,) = [c for c in project.checks.values() if c.kind == kind]
    return check


def test_fail_calc_comes_from_the_tests_yaml_and_from_its_macros_config(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path / "p"))
    assert _check(project, "shop_utils.equal_rowcount").fail_calc == "sum(coalesce(diff_count, 0))"
    assert _check(project, "shop_utils.fewer_rows_than").fail_calc == (
        "sum(coalesce(row_count_delta, 0))"
    )
    assert _check(project, "accepted_values").fail_calc == "max(n_records) * 10"
    # unique with a fail_calc is dbt's query (n_records), not teal's built-in count
    unique = _check(project, "unique")
    assert unique.fail_calc == "sum(n_records)" and "n_records" in (unique.sql or "")
    # equality reads the tested model's columns: rendered when it runs, on what it audits
    equality = _check(project, "shop_utils.equality")
    assert equality.render_at_run and equality.fail_calc == "sum(missing)"
    assert project.render_check is not None


def test_the_tests_yaml_fail_calc_wins_over_its_macros(tmp_path: Path) -> None:
    """As dbt documents it: a test's YAML config over its macro's config() over the
    project's."""
    tests = TESTS.replace(
        "arguments: {compare_model: ref('people')}",
        "arguments: {compare_model: ref('people')}\n          config: {fail_calc: 'count(*)'}",
    )
    project = load_project(_project(tmp_path / "p", tests))
    assert _check(project, "shop_utils.fewer_rows_than").fail_calc is None  # count(*)


def test_a_fail_calc_that_is_not_sql_is_located(tmp_path: Path) -> None:
    tests = TESTS.replace('fail_calc: "sum(n_records)"', "fail_calc: 5")
    text = _error(_project(tmp_path / "p", tests))
    assert text.startswith("models/staging/schema.yml:"), text
    assert "fail_calc must be a SQL aggregate over the failing rows, got 5" in text


def test_a_threshold_teal_cannot_compare_is_located(tmp_path: Path) -> None:
    tests = TESTS.replace('warn_if: ">5"', 'warn_if: "> 0.5"')
    text = _error(_project(tmp_path / "p", tests))
    assert text.startswith("models/staging/schema.yml:"), text
    assert "threshold '> 0.5' is not a comparison" in text


def _results(root: Path) -> dict[str, tuple[str, int | None]]:
    """Each test's (status, failures) in target/run_results.json, by name."""
    data = json.loads((root / "target" / "run_results.json").read_text())
    out = {}
    for r in data["results"]:
        kind, _package, name = r["unique_id"].split(".")[:3]
        if kind == "test":
            out[name] = (r["status"], r["failures"])
    return out


EQUAL_ROWCOUNT = "shop_utils_equal_rowcount_stg_people_ref_expected_people_"
EQUALITY = "shop_utils_equality_stg_people_ref_expected_people_"


@pytest.mark.slow
def test_dbt_utils_shaped_tests_pass_on_equal_data_and_fail_by_their_fail_calc(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "p")
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    passed = {
        EQUAL_ROWCOUNT: ("pass", 0),
        "shop_utils_fewer_rows_than_stg_people_ref_people_": ("pass", 0),
        EQUALITY: ("pass", 0),
        "unique_stg_people_id": ("pass", 0),
        # one failing row (Bo), whose fail_calc is 10: over warn_if >5, under error_if >100
        "accepted_values_stg_people_name__Ann": ("warn", 10),
    }
    assert _results(root) == passed
    assert "10 failures" in done.output
    # `teal test`: the same tests on the published relations, rendered again on them
    done = run_teal("test", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert _results(root) == passed
    # the expected rows differ now: Bo is Bob, and Di is one row more
    (root / "seeds/expected_people.csv").write_text(SAME_PEOPLE.replace("Bo,", "Bob,") + "4,Di,\n")
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 1, done.output
    assert _results(root) == {
        **passed,
        EQUAL_ROWCOUNT: ("fail", 1),  # 3 rows against 2
        # Bo is missing from the expected rows, Bob and Di from stg_people
        EQUALITY: ("fail", 3),
    }
    assert "3 failures" in done.output and "Traceback" not in done.output


WIDE_ENOUGH = """
{% test wide_enough(model, at_least=2) %}
{%- set found = adapter.get_columns_in_relation(model) | length -%}
{%- if found < at_least -%}
    {{ exceptions.raise_compiler_error("only " ~ found ~ " columns") }}
{%- endif -%}
select 1 as x where false
{% endtest %}
"""
WIDE_TESTS = """
models:
  - name: people_count
    data_tests:
      - wide_enough
  - name: stg_people
    data_tests:
      - wide_enough: {arguments: {at_least: 3}}
"""


@pytest.mark.slow
def test_a_test_rendered_when_it_runs_fails_as_that_test(tmp_path: Path) -> None:
    """Rendered on the relation it audits: people_count has one column, stg_people three;
    the error is the test's outcome, and its model is not published."""
    root = dbt_project(
        tmp_path / "p",
        {"macros/wide_enough.sql": WIDE_ENOUGH, "models/staging/schema.yml": WIDE_TESTS},
    )
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 1, done.output
    assert (
        "ERROR check wide_enough_people_count_  the check (models/staging/schema.yml:4) could "
        "not run: rendering it failed: compilation error: only 1 columns"
    ) in done.output
    assert _results(root) == {
        "wide_enough_people_count_": ("error", None),
        "wide_enough_stg_people_3": ("pass", 0),
    }
    tables = query(root / "shop.duckdb", "select table_name from information_schema.tables")
    assert ("stg_people",) in tables and ("people_count",) not in tables
