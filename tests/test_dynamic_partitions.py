"""Dynamic partitions: keys added and removed at run time, kept in the warehouse, built and
mapped as static keys are; a sensor adds the key a landed file names and builds it."""

from __future__ import annotations

import pytest

from teal.compiler.partitions import PartitionDefinitionError
from teal.compiler.partitions.spec import parse_partitions
from tests.conftest import query, run_teal

SALES = """
{{ config(materialized='incremental', partitioned_by={'dynamic': 'regions'},
          partition_column='region') }}
select '{{ partition.key }}' as region, {{ var('amount', 10) }} as amount
"""
BY_REGION = """
{{ config(materialized='incremental', partitioned_by={'dynamic': 'regions'},
          partition_column='region') }}
select region, sum(amount) as total from sales group by 1
"""


def totals(root) -> dict[str, int]:
    return dict(query(root / "warehouse.duckdb", "select region, total from by_region"))


@pytest.mark.slow
def test_keys_added_at_run_time_are_built_and_mapped_key_to_key(project):
    root = project({"models/sales.sql": SALES, "models/by_region.sql": BY_REGION})
    nothing = run_teal("build", cwd=root)
    assert nothing.returncode == 0 and "Nothing to build" in nothing.stdout  # no keys yet

    added = run_teal("partitions", "add", "regions", "eu", "us", cwd=root)
    assert added.returncode == 0 and "added 2 keys: eu, us" in added.stdout
    assert run_teal("build", cwd=root).returncode == 0
    assert totals(root) == {"eu": 10, "us": 10}

    # a key added by a model's name joins its set; what is built stays
    again = run_teal("partitions", "add", "sales", "apac", "eu", cwd=root)
    assert "added 1 key: apac" in again.stdout and "already there: eu" in again.stdout
    plan = run_teal("plan", cwd=root).stdout
    assert "partitions apac: missing" in plan
    assert run_teal("build", cwd=root).returncode == 0
    assert totals(root) == {"eu": 10, "us": 10, "apac": 10}

    # one key rebuilt by name, and its reader's same key with it
    assert (
        run_teal(
            "build", "-s", "sales+", "--partition", "us", "--vars", "{amount: 7}", cwd=root
        ).returncode
        == 0
    )
    assert totals(root) == {"eu": 10, "us": 7, "apac": 10}

    removed = run_teal("partitions", "remove", "regions", "us", "zz", cwd=root)
    assert "removed 1 key: us" in removed.stdout and "not in the set: zz" in removed.stdout
    listed = run_teal("partitions", "sales", "--json", cwd=root).stdout
    assert '"us"' not in listed and '"apac"' in listed

    bad = run_teal("build", "-s", "sales", "--partition", "mars", cwd=root)
    assert bad.returncode == 2
    assert "'mars' is not a key of the dynamic partitions 'regions'" in bad.stderr
    assert "teal partitions add regions mars" in bad.stderr
    unknown = run_teal("partitions", "add", "regoins", "x", cwd=root)
    assert unknown.returncode == 2 and "did you mean 'regions'" in unknown.stderr
    odd = run_teal("partitions", "add", "regions", "a|b", cwd=root)
    assert odd.returncode == 2 and odd.stderr.startswith("error: partition key 'a|b' contains")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"dynamic": 3}, "dynamic partitions are named by a string"),
        ({"dynamic": "two words"}, "needs a plain name"),
        (
            {"day": {"daily": {"start": "2026-01-01"}}, "r": {"dynamic": "regions"}},
            "cannot be a dimension",
        ),
    ],
)
def test_bad_dynamic_definitions(spec, message):
    with pytest.raises(PartitionDefinitionError) as caught:
        parse_partitions(spec)
    assert message in caught.value.message
