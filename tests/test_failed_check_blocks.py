"""A failed error check blocks what is downstream across runs, not only in its own run:
until the model passes its checks again, a later build of a downstream model skips it with
the reason and exits 1, unless ``--ignore-failed-upstream`` (logged) overrides it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

SCHEMA = """
version: 2
models:
  - name: a
    columns:
      - name: v
        tests:
          - accepted_values: {values: [1, 2]}
          - not_null: {config: {severity: warn}}
"""


def make(project):
    return project(
        {
            "models/a.sql": "{{ config(materialized='table') }} select {{ var('x', 1) }} as v",
            "models/b.sql": "{{ config(materialized='table') }} select v + 1 as w from a",
            "models/c.sql": "select w * 2 as z from b",
            "models/other.sql": "select 1 as o",
            "models/schema.yml": SCHEMA,
        }
    )


def test_a_failed_error_check_blocks_downstream_builds_in_later_runs(project):
    root = make(project)
    db = root / "warehouse.duckdb"
    assert run_teal("build", cwd=root).returncode == 0
    failed = run_teal("build", "-s", "a", "--vars", "{x: 5}", cwd=root)
    assert failed.returncode == 1 and "accepted_values_a_v" in failed.stdout
    run_id = json.loads(run_teal("runs", "--json", cwd=root).stdout)[0]["run_id"]

    # a later run that selects only b (and what reads it) skips them, naming the failure
    later = run_teal("build", "-s", "b+", "-s", "other", "--json", cwd=root)
    assert later.returncode == 1, later.output
    results = {r["model"]: r for r in json.loads(later.stdout)["results"]}
    assert results["other"]["status"] == "success"
    for model in ("b", "c"):
        assert results[model]["status"] == "skipped"
        message = results[model]["message"]
        assert f"upstream a failed check accepted_values_a_v in run {run_id}" in message
        assert "--ignore-failed-upstream" in message
    assert query(db, "select w from b") == [(2,)]  # b still holds what it was built from
    planned = run_teal("plan", "-s", "b", cwd=root).stdout
    assert "skip (blocked)" in planned and "accepted_values_a_v" in planned

    # the override builds them, and says so in the output and the run's log
    forced = run_teal("build", "-s", "b", "--ignore-failed-upstream", cwd=root)
    assert forced.returncode == 0, forced.output
    assert "b builds although upstream a failed check accepted_values_a_v" in forced.output
    logs = run_teal("logs", "last", cwd=root).stdout
    assert "builds although upstream a failed check" in logs and "WARNING" in logs

    # once a passes its checks again, nothing is blocked
    assert run_teal("build", "-s", "a", cwd=root).returncode == 0
    again = run_teal("build", "-s", "b+", cwd=root)
    assert again.returncode == 0, again.output


def test_what_does_not_block(project):
    root = make(project)
    assert run_teal("build", cwd=root).returncode == 0
    # a warn-severity failure: reported, and downstream builds
    warned = run_teal("build", "-s", "a", "--vars", "{x: 'null'}", cwd=root)
    assert "WARN  check not_null_a_v" in warned.stdout, warned.output
    assert warned.returncode == 0, warned.output  # accepted_values passes nulls, as dbt's
    assert run_teal("build", "-s", "b", cwd=root).returncode == 0

    # an error failure blocks b, but a build that rebuilds a decides in the same run
    assert run_teal("build", "-s", "a", "--vars", "{x: 7}", cwd=root).returncode == 1
    both = run_teal("build", "-s", "a+", cwd=root)
    assert both.returncode == 0, both.output

    # a check removed from the project stands for nothing
    assert run_teal("build", "-s", "a", "--vars", "{x: 7}", cwd=root).returncode == 1
    (root / "models" / "schema.yml").write_text("version: 2\n")
    assert run_teal("build", "-s", "b", cwd=root).returncode == 0
