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


# -- Dagster's context names -----------------------------------------------------------------


def _daily(context):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    window = context.partition_window
    return pa.table({"day": [window.start], "until": [window.end]})


def test_the_partition_window_has_dagsters_start_and_end():
    import teal

    daily = teal.asset(partitioned_by={"daily": "2026-01-01"}, partition_column="day")(_daily)
    context = teal.build_context(daily, partition_key="2026-01-02")
    start, end = context.partition_window  # a tuple still
    assert (context.partition_window.start, context.partition_window.end) == (start, end)
    assert str(end) == "2026-01-03 00:00:00"


@pytest.mark.parametrize(
    "name, says",
    [
        ("partition_time_window", "write context.partition_window, a (start, end) tuple"),
        ("add_output_metadata", "return teal.Output(data, metadata={...}) from the asset"),
        ("asset_partition_key_for_output", "write context.partition_key"),
        ("instance", "teal has no instance"),
        ("partition_windw", "did you mean 'partition_window'?"),
    ],
)
def test_a_dagster_context_name_says_what_to_write_instead(name, says):
    import teal

    context = teal.build_context()
    with pytest.raises(AttributeError, match=f"no attribute '{name}': ") as info:
        getattr(context, name)
    assert says in str(info.value)


@pytest.mark.slow
def test_a_build_reports_the_dagster_name_with_what_to_write(project):
    model = (
        "import pyarrow as pa\nimport teal\n\n\n"
        '@teal.asset(partitioned_by={"daily": {"start": "2026-01-01", "end": "2026-01-02"}},\n'
        '            partition_column="day")\n'
        "def daily(context):\n"
        "    window = context.partition_time_window\n"
        '    return pa.table({"day": [window.start]})\n'
    )
    root = project({"models/daily.py": model}, config=CONFIG)
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert (
        "models/daily.py:8: partition 2026-01-01: AttributeError: 'AssetContext' object has no "
        "attribute 'partition_time_window': write context.partition_window" in done.stdout
    ), done.output


@pytest.mark.slow
def test_deps_on_an_unknown_asset_reads_as_a_sentence(project):
    # "is not a model, a declared source" read as a list missing its end
    model = 'import teal\n\n\n@teal.asset(deps=["nope"])\ndef a():\n    return None\n'
    root = project({"models/a.py": model}, config=CONFIG)
    done = run_teal("validate", cwd=root)
    assert done.returncode == 2, done.output
    assert (
        "models/a.py:4:1: deps entry 'nope' of asset 'a' is not a model or a declared source\n"
        in done.stderr
    ), done.stderr


# -- Dagster's MaterializeResult and partition_key -------------------------------------------

REDIRECT = "to record metadata with an asset's data, return teal.Output(data, metadata={...})"


def test_materialize_result_with_metadata_says_to_return_teal_output():
    # teal.MaterializeResult is materialize()'s result: Dagster's return type gave a bare
    # "unexpected keyword argument 'metadata'"
    import teal

    with pytest.raises(
        TypeError, match=r"takes no metadata=: it is what teal\.materialize\(\)"
    ) as info:
        teal.MaterializeResult(metadata={"rows": 3})
    assert REDIRECT in str(info.value)


@pytest.mark.slow
def test_an_asset_returning_materialize_result_fails_at_its_return_with_the_redirect(project):
    model = (
        "import teal\n\n\n"
        "@teal.asset\n"
        "def orders():\n"
        '    return teal.MaterializeResult(metadata={"rows": 3})\n'
    )
    root = project({"models/orders.py": model}, config=CONFIG)
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert "models/orders.py:6: TypeError: teal.MaterializeResult takes no metadata=" in (
        done.stdout
    ), done.output
    assert REDIRECT in done.stdout


def _keyed(context):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.table({"day": [context.partition_window.start.date()]})


def test_materialize_takes_partition_key_as_build_context_does():
    import teal

    daily = teal.asset(partitioned_by={"daily": "2026-01-01"}, partition_column="day")(_keyed)
    for given in ({"partition_key": "2026-01-03"}, {"partition": "2026-01-03"}):
        out = teal.materialize([daily], **given)
        assert str(out.output_for(daily).column("day")[0]) == "2026-01-03"
    with pytest.raises(TypeError, match="partition_key='2026-01-03' and partition='2026-01-04'"):
        teal.materialize([daily], partition_key="2026-01-03", partition="2026-01-04")


@pytest.mark.parametrize(
    "call, says",
    [
        (
            "build_context",
            "build_context() got an unexpected keyword argument 'partition': "
            "did you mean 'partition_key'?",
        ),
        (
            "materialize",
            "materialize() got an unexpected keyword argument 'partition_keys': "
            "did you mean 'partition_key'?",
        ),
    ],
)
def test_a_wrong_keyword_names_the_right_one(call, says):
    import teal

    with pytest.raises(TypeError) as info:
        if call == "build_context":
            teal.build_context(partition="2026-01-02")  # type: ignore[call-arg]
        else:
            teal.materialize([], partition_keys=["2026-01-02"])  # type: ignore[call-arg]
    assert str(info.value) == says
