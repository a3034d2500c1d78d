"""Incremental models end to end: the real CLI (and ``teal.build``) on small projects.

Unpartitioned incremental models follow dbt: the first build (or ``--full-refresh``) builds
the whole query into a new table; later runs render the ``is_incremental()`` variant and
append its rows (``append``) or replace the rows whose ``unique_key`` matches and insert
the rest (``merge``, ``delete+insert``), in one transaction with the state row.

Vars drive the upstream: ``n`` is how many rows ``src`` has and ``tag`` is written into
every row, so a test can tell which run wrote which row, i.e. that an incremental run
really added to the table instead of rebuilding it. Config and ``--partition`` mistakes
are usage errors (exit 2) that point at the file or option, give a hint and change nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import teal
from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

NOW = {"TEAL_NOW": "2025-06-01T00:00:00"}

# rows 1..n; `val` says which run wrote it
SRC = """
    {{ config(materialized='table') }}
    select i as id, i % 3 as grp, 'v' || i || '-' || '{{ var("tag", "a") }}' as val
    from range(1, {{ var('n', 5) }} + 1) t(i)
"""

# var `bad_after`: the rows with a greater id fail a cast (only new rows, in a test)
CHECKED = "(case when id > {{ var('bad_after', 1000000) }} then 'oops' else id::varchar end)::int"

APPENDED = """
    {{ config(materialized='incremental', incremental_strategy='append') }}
    select id, val, @CHECKED as checked from src
    {% if is_incremental() %}
    where id > (select max(id) from {{ this }})
    {% endif %}
""".replace("@CHECKED", CHECKED)

# is_incremental(): only the rows from var `since` on are re-read (updated or new)
MERGED = """
    {{ config(materialized='incremental', incremental_strategy='merge', unique_key='id') }}
    select id, val, @CHECKED as checked from src
    {% if is_incremental() %}
    where id >= {{ var('since', 1) }}
    {% endif %}
""".replace("@CHECKED", CHECKED)

# two rows per id (k = x, y); the incremental run re-reads only k = 'x' from `since` on
MERGED_COMPOSITE = """
    {{ config(materialized='incremental', unique_key=['id', 'k']) }}
    select id, k, val from src, (values ('x'), ('y')) kinds(k)
    {% if is_incremental() %}
    where k = 'x' and id >= {{ var('since', 1) }}
    {% endif %}
"""

# delete+insert by a key that is not unique: a group's rows are all replaced together
BY_GROUP = """
    {{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='grp') }}
    select grp, id, val from src
    {% if is_incremental() %}
    where grp = 0
    {% endif %}
"""

FILES = {
    "models/raw/src.sql": SRC,
    "models/marts/appended.sql": APPENDED,
    "models/marts/merged.sql": MERGED,
    "models/marts/merged_composite.sql": MERGED_COMPOSITE,
    "models/marts/by_group.sql": BY_GROUP,
}


def teal_cli(root: Path, *args: str, code: int = 0, env: dict[str, str] | None = None):
    result = run_teal(*args, cwd=root, env={**NOW, **(env or {})})
    assert result.returncode == code, result.output
    assert "Traceback" not in result.output, result.output
    return result


def build(root: Path, *args: str, code: int = 0, **vars: object):
    """``teal build`` with ``--vars`` from keyword arguments."""
    extra = ["--vars", json.dumps(vars)] if vars else []
    return teal_cli(root, "build", *extra, *args, code=code)


def rows(root: Path, relation: str, order: str = "all") -> list[tuple]:
    return query(root / "warehouse.duckdb", f"select * from {relation} order by {order}")


def columns(root: Path, relation: str) -> list[str]:
    schema, name = relation.split(".")
    return [
        r[0]
        for r in query(
            root / "warehouse.duckdb",
            "select column_name from information_schema.columns where "
            f"table_schema = '{schema}' and table_name = '{name}' "
            "order by ordinal_position",
        )
    ]


def builds(root: Path, model: str) -> list[tuple]:
    """(materialization, status, rows, message) of each build of ``model``, oldest first."""
    return query(
        root / "warehouse.duckdb",
        "select materialization, status, rows, message from teal.builds "
        f"where model = '{model}' order by started_at",
    )


def src_rows(n: int, tag: str, ids: range | None = None) -> list[tuple]:
    return [(i, f"v{i}-{tag}", i) for i in (ids or range(1, n + 1))]


@pytest.fixture
def shop(project):
    return project(FILES)


# --------------------------------------------------------------------------- strategies


def test_append_builds_everything_first_then_appends_only_new_rows(shop):
    first = build(shop, "-s", "+appended", n=5, tag="a")
    assert re.search(r"OK .*marts\.appended +5 rows", first.stdout), first.stdout
    assert rows(shop, "marts.appended") == src_rows(5, "a")

    # upstream grows and every upstream row changes: only ids 6..8 are appended
    second = build(shop, "-s", "+appended", n=8, tag="b")
    assert re.search(r"OK .*marts\.appended +3 rows", second.stdout), second.stdout
    assert rows(shop, "marts.appended") == src_rows(5, "a") + src_rows(8, "b", range(6, 9))

    # nothing new upstream: nothing appended, no duplicates
    build(shop, "-s", "+appended", n=8, tag="c")
    assert len(rows(shop, "marts.appended")) == 8

    assert builds(shop, "appended") == [
        ("incremental", "success", 5, None),
        ("incremental", "success", 3, None),
        ("incremental", "success", 0, None),
    ]
    state = query(
        shop / "warehouse.duckdb",
        "select relation, materialization, rows from teal.model_state where model = 'appended'",
    )
    assert state == [("marts.appended", "incremental", 0)]


def test_merge_replaces_matching_rows_inserts_new_ones_and_leaves_the_rest(shop):
    build(shop, "-s", "+merged", n=5, tag="a")
    assert rows(shop, "marts.merged") == src_rows(5, "a")

    # ids 4..5 are re-read with new values, 6..7 are new, 1..3 are not read at all
    result = build(shop, "-s", "+merged", n=7, tag="b", since=4)
    assert re.search(r"OK .*marts\.merged +4 rows", result.stdout), result.stdout
    assert rows(shop, "marts.merged") == src_rows(3, "a") + src_rows(7, "b", range(4, 8))
    assert [b[:3] for b in builds(shop, "merged")] == [
        ("incremental", "success", 5),
        ("incremental", "success", 4),
    ]


def test_merge_on_a_composite_unique_key_matches_on_every_column(shop):
    build(shop, "-s", "+merged_composite", n=3, tag="a")
    assert len(rows(shop, "marts.merged_composite")) == 6

    build(shop, "-s", "+merged_composite", n=4, tag="b", since=2)
    # (2..4, 'x') replaced or inserted; every 'y' row and (1, 'x') kept from the first run
    assert rows(shop, "marts.merged_composite", "id, k") == [
        (1, "x", "v1-a"),
        (1, "y", "v1-a"),
        (2, "x", "v2-b"),
        (2, "y", "v2-a"),
        (3, "x", "v3-b"),
        (3, "y", "v3-a"),
        (4, "x", "v4-b"),
    ]


def test_a_merge_whose_new_rows_repeat_a_key_fails_and_keeps_the_table(project):
    """Two new rows with one unique_key would both be inserted: the step fails, names the
    key, and the table stays as it was (delete+insert takes them all, as dbt does)."""
    root = project(
        {
            "models/raw/src.sql": SRC,
            "models/marts/merged.sql": """
            {{ config(materialized='incremental', unique_key='id') }}
            select id, val from src
            {% if is_incremental() and var('dup', false) %}
            union all select 3, 'again'
            {% endif %}
            {% if is_incremental() and var('nulls', false) %}
            union all select null, 'a' union all select null, 'b'
            {% endif %}
            """,
        }
    )
    build(root, n=4, tag="a")
    before = rows(root, "marts.merged")
    failed = build(root, code=1, n=4, tag="b", dup=True)
    assert "2 new rows of merged have the same unique_key (id = 3)" in failed.output
    assert rows(root, "marts.merged") == before
    # NULL keys match nothing in a merge: two of them are not the same key
    nulls = build(root, n=4, tag="c", nulls=True)
    assert "unique_key" not in nulls.output


def test_delete_insert_replaces_all_rows_of_each_key(shop):
    build(shop, "-s", "+by_group", n=5, tag="a")
    assert rows(shop, "marts.by_group", "id") == [(i % 3, i, f"v{i}-a") for i in range(1, 6)]

    # group 0 had one row (id 3); now it has two (3, 6) and both come from this run
    build(shop, "-s", "+by_group", n=7, tag="b")
    assert rows(shop, "marts.by_group", "id") == [
        (1, 1, "v1-a"),
        (2, 2, "v2-a"),
        (0, 3, "v3-b"),
        (1, 4, "v4-a"),
        (2, 5, "v5-a"),
        (0, 6, "v6-b"),
    ]


def test_full_refresh_rebuilds_from_scratch_and_plan_shows_incremental(shop):
    build(shop, n=5, tag="a")
    build(shop, n=7, tag="b", since=1)
    assert rows(shop, "marts.appended") != src_rows(7, "b")  # ids 1..5 still say "-a"

    plan = teal_cli(shop, "plan", "-s", "appended", "--full-refresh").stdout
    assert re.search(r"^\s*1\s+appended\s+incremental \(full refresh\)\s", plan, re.M), plan
    plain = teal_cli(shop, "plan", "-s", "appended", "--all").stdout
    assert re.search(r"^\s*1\s+appended\s+incremental\s", plain, re.M), plain
    assert "full refresh" not in plain
    for flag, full in (("--full-refresh", True), ("--all", False)):
        as_json = json.loads(teal_cli(shop, "plan", "-s", "appended", flag, "--json").stdout)
        assert [(s["model"], s["action"], s["full_refresh"]) for s in as_json["steps"]] == [
            ("appended", "incremental", full)
        ]

    build(shop, "--full-refresh", n=7, tag="c")
    full = src_rows(7, "c")
    assert rows(shop, "marts.appended") == full
    assert rows(shop, "marts.merged") == full
    assert len(rows(shop, "marts.merged_composite")) == 14
    assert builds(shop, "appended")[-1][:3] == ("incremental", "success", 7)


def test_a_failing_incremental_run_leaves_the_previous_rows(shop):
    build(shop, n=5, tag="a")
    before = {rel: rows(shop, rel) for rel in ("marts.appended", "marts.merged")}

    # src builds 8 rows; only the new rows (6..8) fail their cast in the incremental models
    result = build(shop, "-s", "+appended +merged", code=1, n=8, tag="b", since=1, bad_after=5)
    assert "Could not convert string 'oops'" in result.output
    assert re.search(r"OK .*raw\.src +8 rows", result.stdout), result.stdout
    for rel, old in before.items():
        assert rows(shop, rel) == old, rel
        assert builds(shop, rel.split(".")[1])[-1][:3] == ("incremental", "error", None)
    assert "Conversion Error" in builds(shop, "appended")[-1][3]

    # fixed: the next run adds what the failed one did not
    build(shop, "-s", "+appended +merged", n=8, tag="b", since=1)
    assert rows(shop, "marts.appended") == src_rows(5, "a") + src_rows(8, "b", range(6, 9))
    assert rows(shop, "marts.merged") == src_rows(8, "b")


def test_a_changed_column_list_fails_clearly_and_keeps_the_table(project):
    root = project(
        {
            "models/raw/src.sql": SRC,
            "models/marts/inc.sql": """
            {{ config(materialized='incremental', incremental_strategy=var('strategy', 'append'),
                      unique_key='id') }}
            select id{% if not var('drop_val', false) %}, val{% endif %}
                   {% if var('extra', false) %}, 1 as extra{% endif %}
            from src
            {% if is_incremental() %}
            where id > (select max(id) from {{ this }})
            {% endif %}
        """,
        }
    )
    build(root, n=3)
    before = rows(root, "marts.inc")
    # a new column: the planner sees it before anything runs (on_schema_change: fail)
    result = build(root, code=2, n=5, extra=True)
    assert "incremental model inc would add 'extra'" in result.stderr, result.output
    assert "teal build -s inc --full-refresh" in result.output
    assert re.search(r"models/marts/inc\.sql:\d+:\d+: incremental model inc", result.stderr)
    # a dropped column (merge: would silently fill it with NULLs)
    result = build(root, code=2, n=5, drop_val=True, strategy="merge")
    assert "would drop 'val'" in result.output, result.output
    assert columns(root, "marts.inc") == ["id", "val"]
    assert rows(root, "marts.inc") == before
    assert rows(root, "raw.src") == [(i, i % 3, f"v{i}-a") for i in range(1, 4)]  # not rebuilt
    assert [b[1] for b in builds(root, "inc")] == ["success"]
    # without binding, the warehouse refuses as it inserts: a failed step
    result = build(root, "--no-validate", code=1, n=5, extra=True)
    assert 'new column "extra"' in result.output, result.output
    assert rows(root, "marts.inc") == before

    build(root, "--full-refresh", n=5, extra=True)
    assert columns(root, "marts.inc") == ["id", "val", "extra"]
    assert len(rows(root, "marts.inc")) == 5


def test_a_column_whose_type_changed_is_refused_or_synced_never_silently_cast(project):
    """A money column widened from DECIMAL(10,2) to DECIMAL(12,4): under the default
    (fail) the step fails and the table keeps its rows and type (inserting would round
    1.2345 to 1.23); sync_all_columns changes the column's type, keeping the old rows."""
    root = project(
        {
            "models/inc.sql": """
            {{ config(materialized='incremental', unique_key='id',
                      on_schema_change=var('osc', 'fail')) }}
            select {{ var('id', 1) }} as id,
                   cast({{ var('amt', 1.25) }} as decimal({{ var('p', '10,2') }})) as amt
            """
        }
    )
    build(root)
    failed = build(root, code=1, id=2, amt=1.2345, p="12,4")
    assert '"amt" is now DECIMAL(12,4) (the table\'s is DECIMAL(10,2))' in failed.output
    assert query(root / "warehouse.duckdb", "select id, amt::varchar from inc") == [(1, "1.25")]
    build(root, id=2, amt=1.2345, p="12,4", osc="sync_all_columns")
    assert query(root / "warehouse.duckdb", "select id, amt::varchar from inc order by id") == [
        (1, "1.2500"),
        (2, "1.2345"),
    ]
    assert columns(root, "main.inc") == ["id", "amt"]


def test_a_unique_key_the_query_does_not_produce_is_a_located_error(project):
    """The first build would pass (it creates the table) and every later one fail: the
    build refuses it before anything runs."""
    root = project(
        {
            "models/raw/src.sql": SRC,
            "models/marts/inc.sql": "{{ config(materialized='incremental', unique_key='idd') }}\n"
            "select id, val from src\n",
        }
    )
    done = teal_cli(root, "build", code=2)
    assert "models/marts/inc.sql:1:39: unique_key 'idd' of inc is not a column its query" in (
        done.stderr
    )
    assert "did you mean 'id'?" in done.stderr
    assert not (root / "warehouse.duckdb").exists() or query(
        root / "warehouse.duckdb",
        "select count(*) from information_schema.tables where table_name = 'inc'",
    ) == [(0,)]


def test_a_folders_unique_key_does_not_refuse_its_partitioned_models(project):
    """unique_key from [folders.X] is for the folder's unpartitioned models: a partitioned
    one there loads, binds and builds (its own unique_key is the error); binding asked
    for the folder's key among its columns, so plan and build stopped with exit 2."""
    root = project(
        {
            "models/marts/daily.sql": f"{{{{ config(materialized='incremental', "
            f"partitioned_by={DAILY}, partition_column='d') }}}}\n"
            "select cast('{{ partition.start }}' as date) as d",
        },
        'name = "p"\n[folders.marts]\nunique_key = "id"\n',
    )
    teal_cli(root, "plan")
    teal_cli(root, "build")
    assert query(root / "warehouse.duckdb", "select count(*) from marts.daily") == [(5,)]


def test_a_view_turned_incremental_is_built_as_a_table(project):
    root = project(
        {
            "models/raw/src.sql": SRC,
            "models/marts/inc.sql": """
            {{ config(materialized=var('mat', 'view')) }}
            select id from src
            {% if is_incremental() %}
            where id > (select max(id) from {{ this }})
            {% endif %}
        """,
        }
    )
    build(root, n=3)
    assert query(
        root / "warehouse.duckdb",
        "select table_type from information_schema.tables where table_name = 'inc'",
    ) == [("VIEW",)]
    build(root, n=4, mat="incremental")
    assert query(
        root / "warehouse.duckdb",
        "select table_type from information_schema.tables where table_name = 'inc'",
    ) == [("BASE TABLE",)]
    build(root, n=6, mat="incremental")
    assert rows(root, "marts.inc") == [(i,) for i in range(1, 7)]
    assert [b[2] for b in builds(root, "inc")] == [None, 4, 2]


def test_inline_views_keeps_a_view_that_the_incremental_variant_reads(project):
    root = project(
        {
            "models/staging/recent.sql": "select i as id from range(1, {{ var('n', 3) }} + 1) t(i)",
            "models/marts/inc.sql": """
            {{ config(materialized='incremental') }}
            select id from recent
            {% if is_incremental() %}
            where id > (select max(id) from {{ this }})
            {% endif %}
        """,
        }
    )
    plan = teal_cli(root, "plan", "--inline-views", "-s", "+inc", "--vars", "{n: 3}").stdout
    assert re.search(r"^\s*\d+\s+recent\s+create view", plan, re.M), plan
    build(root, "--inline-views", "-s", "+inc", n=3)
    build(root, "--inline-views", "-s", "+inc", n=5)
    assert rows(root, "marts.inc") == [(i,) for i in range(1, 6)]


def test_full_refresh_config_overrides_the_flag(project):
    root = project(
        {
            "models/raw/src.sql": SRC,
            "models/marts/protected.sql": APPENDED.replace(
                "incremental_strategy='append'", "incremental_strategy='append', full_refresh=false"
            ),
            "models/marts/always.sql": APPENDED.replace(
                "incremental_strategy='append'", "incremental_strategy='append', full_refresh=true"
            ),
        }
    )
    build(root, n=3, tag="a")
    # the plan says which steps are rebuilt from scratch, in its text and its JSON
    for flag in ("--full-refresh", "--all"):
        text = teal_cli(root, "plan", flag, "-s", "marts", "--vars", "{n: 4}").stdout
        assert re.search(r"\salways\s+incremental \(full refresh\)\s", text), text
        assert re.search(r"\sprotected\s+incremental\s+-", text), text
        as_json = json.loads(teal_cli(root, "plan", flag, "-s", "marts", "--json").stdout)
        assert {s["model"]: s["full_refresh"] for s in as_json["steps"]} == {
            "always": True,
            "protected": False,
        }
    build(root, "--full-refresh", n=4, tag="b")
    # full_refresh=false: --full-refresh still only appends
    assert rows(root, "marts.protected") == src_rows(3, "a") + src_rows(4, "b", range(4, 5))
    # full_refresh=true: rebuilt on every run, with or without the flag
    assert rows(root, "marts.always") == src_rows(4, "b")
    build(root, n=5, tag="c")
    assert rows(root, "marts.always") == src_rows(5, "c")


def test_python_api_builds_incremental_models(shop):
    first = teal.build(shop, select="+appended +merged", vars={"n": 4, "tag": "a"}, threads=2)
    assert first.success
    assert (first["appended"].rows, first["merged"].rows) == (4, 4)
    assert first["appended"].materialization == "incremental"

    second = teal.build(
        shop, select="appended merged", vars={"n": 6, "tag": "b", "since": 3}, threads=2
    )
    assert second.success
    # src is not selected, so it still has 4 rows: appended finds nothing new, merged
    # re-reads ids 3..4
    assert (second["appended"].rows, second["merged"].rows) == (0, 2)

    third = teal.build(shop, select="+appended +merged", vars={"n": 6, "tag": "b", "since": 3})
    assert (third["appended"].rows, third["merged"].rows) == (2, 4)
    assert rows(shop, "marts.appended") == src_rows(4, "a") + src_rows(6, "b", range(5, 7))
    assert rows(shop, "marts.merged") == src_rows(2, "a") + src_rows(6, "b", range(3, 7))


# --------------------------------------------------------------------------- config errors

DAILY = "{'daily': {'start': '2025-01-01', 'end': '2025-01-06'}}"
PARTITIONED_SRC = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='d') }}}}
    select {{{{ partition.start }}}}::date as d, 1 as n
"""

CONFIG_ERRORS = [
    pytest.param(
        "{{ config(materialized='incremental', incremental_strategy='merge') }}\nselect * from src",
        1,
        "incremental_strategy='merge' needs a unique_key",
        "add unique_key='<column>' (or a list of columns) naming what identifies a row",
        id="merge-no-key",
    ),
    pytest.param(
        "select id,\n{{ config(materialized='incremental', incremental_strategy='delete+insert') }}\n"
        "n from src",
        2,
        "incremental_strategy='delete+insert' needs a unique_key",
        "add unique_key='<column>' (or a list of columns) naming what identifies a row",
        id="delete-insert-no-key",
    ),
    pytest.param(
        "{{ config(materialized='incremental', incremental_strategy='merg', unique_key='id') }}\n"
        "select * from src",
        1,
        "incremental_strategy='merg' is not a strategy",
        "did you mean 'merge'?",
        id="bad-strategy",
    ),
    pytest.param(
        "{{ config(partitioned_by={'dayly': {'start': '2025-01-01'}}, partition_column='d') }}\n"
        "select * from src",
        1,
        "unknown partition type 'dayly'",
        "did you mean 'daily'?",
        id="misspelled-grain",
    ),
    pytest.param(
        "{{ config(materialized='incremental', partitioned_by={'type': 'dayly', 'start': '2025-01-01'},"
        " partition_column='d') }}\nselect * from src",
        1,
        "unknown partition type 'dayly'",
        "did you mean 'daily'?",
        id="misspelled-grain-type",
    ),
    pytest.param(
        f"{{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='d', "
        "unique_key='id') }}\nselect * from src",
        1,
        "unique_key does not apply to a partitioned model",
        "leave the model unpartitioned",
        id="unique-key-on-partitions",
    ),
    pytest.param(
        f"{{{{ config(materialized='incremental', partitioned_by={DAILY}) }}}}\nselect * from src",
        1,
        "a partitioned model needs partition_column",
        "partition_column=",
        id="no-partition-column",
    ),
    pytest.param(
        "{{ config(materialized='incremental', partition_column='d', partitioned_by={'daily': "
        "{'start': '2025-01-01', 'timezone': 'Europe/Berlinn'}}) }}\nselect * from src",
        1,
        "unknown timezone 'Europe/Berlinn'",
        "did you mean 'Europe/Berlin'?",
        id="bad-timezone",
    ),
    pytest.param(
        "{{ config(materialized='incremental', partition_column={'date': 'd'}, partitioned_by={"
        "'date': {'daily': {'start': '2025-01-01'}}, 'region': ['eu', 'us']}) }}\nselect * from src",
        1,
        "needs one partition column per dimension",
        "'region'",
        id="2d-missing-dimension",
    ),
    pytest.param(
        f"-- a view\n{{{{ config(materialized='view', partitioned_by={DAILY}, partition_column='d') }}}}\n"
        "select * from src",
        2,
        "cannot be materialized='view'",
        "materialized='incremental'",
        id="partitioned-view",
    ),
    pytest.param(
        f"{{{{ config(partitioned_by={DAILY}, partition_column='d', "
        "partition_mapping={'src': 'lookbak(3)'}) }}\nselect * from src",
        1,
        "unknown partition mapping 'lookbak(3)'",
        "did you mean 'lookback(N)'?",
        id="bad-mapping",
    ),
    pytest.param(
        "{{ config(materialized='table', partition_mapping={'plain': 'lookbak(3)'}) }}\n"
        "select * from plain",
        1,
        "unknown partition mapping 'lookbak(3)'",
        "did you mean 'lookback(N)'?",
        id="bad-mapping-unpartitioned-upstream",
    ),
    pytest.param(
        f"{{{{ config(partitioned_by={DAILY}, partition_column='d', "
        "partition_mapping={'scr': 'lookback(3)'}) }}\nselect * from src",
        1,
        "partition_mapping names 'scr', which model 'mapping_of_something_not_read' does not read",
        "did you mean 'src'?",
        id="mapping-of-something-not-read",
    ),
]


@pytest.fixture(scope="module")
def config_errors(tmp_path_factory) -> dict[str, str]:
    """stderr of ``teal plan`` for each bad model, by model name.

    One project holds every bad model (independent problems are reported together); those
    found only after lineage is resolved (partition_mapping) get a second project.
    """
    from tests.conftest import write_project

    outputs = {}
    for phase, late in enumerate((False, True)):
        files = {
            "models/m/src.sql": PARTITIONED_SRC,
            "models/m/plain.sql": "select 1 as id, 2 as n",
        }
        names = []
        for case in CONFIG_ERRORS:
            if ("mapping" in case.id) == late:
                names.append(case.id.replace("-", "_"))
                files[f"models/m/{names[-1]}.sql"] = case.values[0]
        root = write_project(tmp_path_factory.mktemp(f"config_errors_{phase}") / "proj", files)
        result = teal_cli(root, "plan", code=2)
        assert not (root / "warehouse.duckdb").exists()
        for name in names:
            outputs[name] = result.stderr
    return outputs


@pytest.mark.parametrize(("sql", "line", "message", "hint"), CONFIG_ERRORS)
def test_incremental_and_partition_config_errors(config_errors, request, sql, line, message, hint):
    name = request.node.callspec.id.replace("-", "_")
    stderr = config_errors[name]
    lines = stderr.splitlines()
    at = [i for i, ln in enumerate(lines) if ln.startswith(f"models/m/{name}.sql:")]
    assert len(at) == 1, stderr
    first = lines[at[0]]
    assert re.match(rf"models/m/{name}\.sql:{line}(:\d+)?: ", first), stderr
    assert message in first, stderr
    block = []
    for ln in lines[at[0] + 1 :]:
        if re.match(r"models/", ln) or not ln.strip():
            break
        block.append(ln)
    hints = [ln for ln in block if ln.startswith("  hint: ")]
    assert len(hints) == 1 and hint in hints[0], stderr


# --------------------------------------------------------------------------- --partition errors

PARTITION_FILES = {
    "models/m/daily.sql": PARTITIONED_SRC,
    "models/m/regional.sql": """
        {{ config(materialized='incremental', partitioned_by=['eu', 'us', 'apac'],
                  partition_column='region') }}
        select '{{ partition.key }}' as region, {{ var('v', 1) }} as n
    """,
    "models/m/plain.sql": "{{ config(materialized='table') }}\nselect {{ var('v', 1) }} as n",
    "models/m/inc.sql": """
        {{ config(materialized='incremental') }}
        select n from plain
        {% if is_incremental() %}
        where n > (select max(n) from {{ this }})
        {% endif %}
    """,
}

PARTITION_ERRORS = [
    pytest.param(
        ["--partition", "2026-13-01", "-s", "daily"],
        ["--partition: '2026-13-01' is not a daily partition key", "model daily"],
        "'2025-01-01'",
        id="month-13",
    ),
    pytest.param(
        ["--partition", "2025-02-29", "-s", "daily"],
        ["'2025-02-29' is not a daily partition key: day is out of range for month"],
        "February 2025 has 28 days",
        id="not-a-leap-year",
    ),
    pytest.param(
        ["--partition", "2024-12-31", "-s", "daily"],
        ["'2024-12-31' is before the first daily partition '2025-01-01'"],
        "start at '2025-01-01'",
        id="before-start",
    ),
    pytest.param(
        ["--partition", "2025-01-06", "-s", "daily"],
        ["'2025-01-06' is after the last daily partition '2025-01-05'"],
        "end is exclusive",
        id="after-end",
    ),
    pytest.param(
        ["--partition-range", "2025-01-04..2025-01-02", "-s", "daily"],
        ["2025-01-04..2025-01-02 runs backwards"],
        "earlier key first: 2025-01-02..2025-01-04",
        id="range-reversed",
    ),
    pytest.param(
        ["--from", "2025-01-04", "--to", "2025-01-02", "-s", "daily"],
        ["runs backwards"],
        "earlier key first",
        id="from-to-reversed",
    ),
    pytest.param(
        ["--partition-range", "2025-01-04", "-s", "daily"],
        ["--partition-range: '2025-01-04' is not FIRST..LAST"],
        "..",
        id="range-without-dots",
    ),
    pytest.param(
        ["--partition", "2025-01-02", "-s", "plain inc"],
        ["partition keys were given, but no selected model is partitioned"],
        "select a partitioned model",
        id="nothing-partitioned-selected",
    ),
    pytest.param(
        ["--partition-range", "2025-01-01..2025-01-02", "--from", "2025-01-01", "-s", "daily"],
        ["use --partition-range or --from/--to, not both"],
        None,
        id="range-and-from",
    ),
    pytest.param(
        ["--partition", "euu", "-s", "regional"],
        ["'euu' is not one of the static partitions eu, us, apac", "model regional"],
        "did you mean 'eu'?",
        id="unknown-static-key",
    ),
]


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory):
    from tests.conftest import write_project

    root = write_project(tmp_path_factory.mktemp("partitioned") / "proj", PARTITION_FILES)
    build(root)
    return root


def snapshot(root: Path) -> dict[str, list[tuple]]:
    """Every table's rows, and the state tables' row counts."""
    db = root / "warehouse.duckdb"
    out = {rel: rows(root, rel) for rel in ("m.daily", "m.regional", "m.plain", "m.inc")}
    for table in ("builds", "runs", "partitions"):
        out[f"teal.{table}"] = query(db, f"select count(*) from teal.{table}")
    return out


@pytest.mark.parametrize(("args", "messages", "hint"), PARTITION_ERRORS)
def test_bad_partition_arguments_are_usage_errors_that_change_nothing(
    partitioned, args, messages, hint
):
    before = snapshot(partitioned)
    assert len(before["m.daily"]) == 5 and before["m.plain"] == [(1,)]
    # v=2 would change every model that builds: nothing may build
    result = teal_cli(partitioned, "build", "--vars", "{v: 2}", *args, code=2)
    first = result.stderr.splitlines()[0]
    for message in messages:
        assert message in first, result.stderr
    if hint is not None:
        assert re.search(r"^  hint: .*" + re.escape(hint), result.stderr, re.M), result.stderr
    assert snapshot(partitioned) == before
    assert "Building" not in result.stdout


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (["plain"], "teal backfill: no selected model is partitioned"),
        (["plain", "--from", "2025-01-01"], "--from: a partition range was given, but no selected"),
    ],
    ids=["no-range", "from"],
)
def test_a_backfill_of_an_unpartitioned_model_says_what_is_wrong(partitioned, args, first_line):
    before = snapshot(partitioned)
    result = teal_cli(partitioned, "backfill", "--vars", "{v: 2}", *args, code=2)
    assert result.stderr.splitlines()[0].startswith(first_line), result.stderr
    assert "hint: select a partitioned model" in result.stderr
    assert snapshot(partitioned) == before


def test_a_valid_partition_argument_builds_just_that_partition(partitioned):
    """The counterpart of the errors above, on the same warehouse (runs after them)."""
    before = snapshot(partitioned)
    teal_cli(partitioned, "build", "--vars", "{v: 2}", "--partition", "us", "-s", "regional")
    after = snapshot(partitioned)
    assert after["m.regional"] == [("apac", 1), ("eu", 1), ("us", 2)]
    assert {k: v for k, v in after.items() if k.startswith("m.") and k != "m.regional"} == {
        k: v for k, v in before.items() if k.startswith("m.") and k != "m.regional"
    }


def test_full_refresh_with_one_partition_keeps_the_other_partitions(project):
    root = project(PARTITION_FILES)
    build(root, "-s", "regional")
    build(root, "-s", "regional", "--full-refresh", "--partition", "eu", v=3)
    assert rows(root, "m.regional") == [("apac", 1), ("eu", 3), ("us", 1)]
    build(root, "-s", "regional", "--full-refresh", v=4)
    assert rows(root, "m.regional") == [("apac", 4), ("eu", 4), ("us", 4)]
