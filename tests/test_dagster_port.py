"""What a Dagster user porting a code location writes the Dagster way: each is either
taken as Dagster means it or refused with ``path:line:col: message`` and a hint (exit 2),
never taken silently with another meaning."""

from __future__ import annotations

import pytest

from tests.conftest import run_teal

CONFIG = 'name = "p"\n'

TAGGED_PY = """
import pyarrow as pa
import teal


@teal.asset(tags={"team": "analytics", "pii": ""})
def users():
    return pa.table({"id": [1]})
"""


@pytest.mark.slow
@pytest.mark.parametrize("imported", [False, True], ids=["read", "imported"])
def test_dagster_key_value_tags_are_refused_with_the_names_to_write(project, imported):
    # Dagster's tags are a mapping; teal's are names. list() of the mapping kept only its
    # keys (`team`, `pii`): the value `analytics` was lost without a word.
    text = TAGGED_PY + ("print('imported')\n" if imported else "")
    root = project({"models/users.py": text}, config=CONFIG)
    done = run_teal("validate", cwd=root)
    assert done.returncode == 2, done.output
    assert "Traceback" not in done.output
    assert "models/users.py:5:1: config key 'tags' must be a list of tags" in done.stderr
    assert "hint: tags are names, not key-value pairs: write tags=['team:analytics', 'pii']" in (
        done.stderr
    )


@pytest.mark.slow
def test_key_value_tags_in_sql_config_get_the_same_hint(project):
    sql = "{{ config(tags={'team': 'analytics'}) }}\nselect 1 as id\n"
    root = project({"models/users.sql": sql}, config=CONFIG)
    done = run_teal("validate", cwd=root)
    assert done.returncode == 2, done.output
    assert "models/users.sql:1:11: config key 'tags'" in done.stderr
    assert "write tags=['team:analytics']" in done.stderr


# -- a dynamic-partitioned asset in a test ---------------------------------------------------


def _region_rows(context, users):  # type: ignore[no-untyped-def]
    import pyarrow.compute as pc

    return users.filter(pc.equal(users["region"], context.partition_key))


@pytest.mark.slow
def test_materialize_builds_the_dynamic_partition_key_it_is_given():
    # an in-memory warehouse holds no set's keys: the key named was refused with a hint to
    # run `teal partitions add`, which a test cannot use
    import pyarrow as pa

    import teal

    by_region = teal.asset(partitioned_by={"dynamic": "regions"}, partition_column="region")(
        _region_rows
    )
    users = pa.table({"id": [1, 2, 3], "region": ["eu", "us", "eu"]})
    out = teal.materialize([by_region], inputs={"users": users}, partition="eu")
    assert out.output_for(by_region).column("id").to_pylist() == [1, 3]
    assert out["_region_rows"].partitions == 1


def test_build_context_takes_a_dynamic_partition_key():
    import teal

    by_region = teal.asset(partitioned_by={"dynamic": "regions"}, partition_column="region")(
        _region_rows
    )
    context = teal.build_context(by_region, partition_key="us")
    assert (context.partition_key, context.partition_keys) == ("us", ("us",))
