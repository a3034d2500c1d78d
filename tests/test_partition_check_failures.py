"""A failed check on a partitioned model stands until that check passes again on what
failed (docs/checks.md, "A failed check blocks later runs too"): a model-wide failure
(`teal check`) is cleared by rebuilding and checking every partition, not some of them; a
partition's failure by that partition passing, or by the whole model passing `teal
check`. And a build says which checks it did not run because their model is up to date.

The fixture project (tests/partition_checks/) has a daily model of three partitions with
one error check on its country, and a view by_country that reads it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_teal

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "partition_checks"
BLOCKED = "SKIP  view   main.by_country       blocked: upstream daily"


def copy_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "partition_checks"
    shutil.copytree(FIXTURE, root)
    return root


def tighten(root: Path, values: str) -> None:
    schema = root / "models" / "schema.yml"
    text = schema.read_text()
    schema.write_text(text.replace("values: [DE, FR]", f"values: {values}"))


def test_rebuilding_every_partition_clears_a_failure_of_the_whole_model(tmp_path):
    root = copy_fixture(tmp_path)
    assert run_teal("build", cwd=root).returncode == 0
    schema = (root / "models" / "schema.yml").read_text()
    tighten(root, "[DE]")
    checked = run_teal("check", cwd=root)
    assert checked.returncode == 1 and "FAIL" in checked.stdout, checked.output
    (root / "models" / "schema.yml").write_text(schema)  # the check as it was

    # two of the three partitions rebuilt and checked: the third may hold what failed
    some = run_teal("build", "-s", "daily", "--partition-range", "2025-01-01..2025-01-02", cwd=root)
    assert some.returncode == 0 and "checks: 1 pass" in some.stdout, some.output
    still = run_teal("build", cwd=root)
    assert still.returncode == 1, still.output
    assert BLOCKED + " failed check accepted_values_daily_country" in still.stdout
    assert "skip (blocked)" in run_teal("plan", cwd=root).stdout

    # every partition rebuilt and checked: the failure no longer stands
    every = run_teal(
        "build", "-s", "daily", "--partition-range", "2025-01-01..2025-01-03", cwd=root
    )
    assert every.returncode == 0, every.output
    assert "skip (blocked)" not in run_teal("plan", cwd=root).stdout
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    assert "OK    view   main.by_country" in built.stdout and "SKIP" not in built.stdout


def test_a_partitions_failure_is_cleared_by_that_partition_or_by_the_whole_model(tmp_path):
    root = copy_fixture(tmp_path)
    assert run_teal("build", cwd=root).returncode == 0
    bad = ("--vars", "{bad_day: 2025-01-02}")
    failed = run_teal("build", "-s", "daily", "--partition", "2025-01-02", *bad, cwd=root)
    assert failed.returncode == 1, failed.output
    blocked = run_teal("build", "-s", "by_country", cwd=root)
    assert blocked.returncode == 1, blocked.output
    assert BLOCKED + " partition 2025-01-02 failed check" in blocked.stdout

    # another partition passing clears nothing; that partition passing does
    other = run_teal("build", "-s", "daily", "--partition", "2025-01-01", cwd=root)
    assert other.returncode == 0, other.output
    assert run_teal("build", "-s", "by_country", cwd=root).returncode == 1
    again = run_teal("build", "-s", "daily", "--partition", "2025-01-02", cwd=root)
    assert again.returncode == 0, again.output
    assert run_teal("build", "-s", "by_country", cwd=root).returncode == 0

    # the check passing on the whole model as it is (the failed rows were never
    # published) clears a partition's failure too, as it does an unpartitioned model's
    third = ("--partition", "2025-01-03", "--vars", "{bad_day: 2025-01-03}")
    assert run_teal("build", "-s", "daily", *third, cwd=root).returncode == 1
    assert run_teal("build", "-s", "by_country", cwd=root).returncode == 1
    assert run_teal("check", "-s", "daily", cwd=root).returncode == 0
    cleared = run_teal("build", "-s", "by_country", cwd=root)
    assert cleared.returncode == 0, cleared.output


def test_a_build_says_which_checks_it_did_not_run_on_an_up_to_date_model(tmp_path):
    root = copy_fixture(tmp_path)
    assert run_teal("build", cwd=root).returncode == 0
    tighten(root, "[DE]")  # every partition is up to date: the build does not check them
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    assert (
        "Not checked: 1 check of daily, whose data is up to date (a build checks new data): "
        "`teal check -s daily` runs it on the data as it is"
    ) in built.stdout
    results = json.loads((root / "target" / "run_results.json").read_text())  # by_country ran
    assert results["checks_not_run"] == {"daily": ["accepted_values_daily_country"]}
    alone = run_teal("build", "-s", "daily", "--json", cwd=root)
    assert json.loads(alone.stdout)["checks_not_run"] == {
        "daily": ["accepted_values_daily_country"]
    }
    assert "Not checked: 1 check of daily" in run_teal("build", "-s", "daily", cwd=root).stdout
    assert run_teal("check", "-s", "daily", cwd=root).returncode == 1  # as it says
    # teal run checks nothing, so it has nothing to say of checks not run
    assert "Not checked" not in run_teal("run", cwd=root).stdout


def test_an_unchanged_models_checks_are_not_run_with_changed_only_and_the_build_says_so(
    project,
):
    root = project(
        {
            "models/t.sql": "{{ config(materialized='table') }} select 'FR' as country",
            "models/schema.yml": """
                models:
                  - name: t
                    columns:
                      - name: country
                        tests: [{accepted_values: {values: [DE, FR]}}]
            """,
        }
    )
    assert run_teal("build", cwd=root).returncode == 0
    tighten(root, "[DE]")
    unchanged = run_teal("build", "--changed-only", cwd=root)
    assert unchanged.returncode == 0, unchanged.output
    assert "Not checked: 1 check of t, whose data is up to date" in unchanged.stdout
    assert run_teal("build", cwd=root).returncode == 1  # a build that rebuilds it checks it
