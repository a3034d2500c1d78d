"""``on_schema_change`` of incremental models (issue 20): what an incremental run does
when the model's columns changed since its table was built, decided before it runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

# rows 1..n of src; inc appends the new ones, with an extra column when var `extra`,
# without `val` when var `drop_val`
SRC = """
    {{ config(materialized='table') }}
    select i as id, 'v' || i as val from range(1, {{ var('n', 3) }} + 1) t(i)
"""
INC = """
    {{{{ config(materialized='incremental', on_schema_change='{policy}') }}}}
    select id{{% if not var('drop_val', false) %}}, val{{% endif %}}
           {{% if var('extra', false) %}}, id * 10 as extra{{% endif %}}
    from src
    {{% if is_incremental() %}}
    where id > (select max(id) from {{{{ this }}}})
    {{% endif %}}
"""


def build(root: Path, code: int = 0, **vars: object) -> str:
    done = run_teal("build", "--vars", json.dumps(vars), cwd=root)
    assert done.returncode == code, done.output
    assert "Traceback" not in done.output
    return done.output


def column_names(root: Path, table: str) -> list[str]:
    return [
        r[0]
        for r in query(
            root / "warehouse.duckdb",
            "select column_name from information_schema.columns "
            f"where table_name = '{table}' order by ordinal_position",
        )
    ]


def table(root: Path) -> tuple[list[str], list[tuple[object, ...]]]:
    return column_names(root, "inc"), query(
        root / "warehouse.duckdb", "select * from main.inc order by id"
    )


def make(project, policy: str) -> Path:
    root = project({"models/src.sql": SRC, "models/inc.sql": INC.format(policy=policy)})
    build(root, n=2)
    return root


def test_append_new_columns_adds_them_and_keeps_the_old_rows(project):
    root = make(project, "append_new_columns")
    planned = run_teal("plan", "--vars", json.dumps({"n": 3, "extra": True}), cwd=root)
    assert planned.returncode == 0 and "inc    incremental" in planned.stdout, planned.output
    build(root, n=3, extra=True)
    assert table(root) == (
        ["id", "val", "extra"],
        [(1, "v1", None), (2, "v2", None), (3, "v3", 30)],
    )


def test_sync_all_columns_adds_new_columns_and_drops_missing_ones(project):
    root = make(project, "sync_all_columns")
    build(root, n=3, extra=True, drop_val=True)
    assert table(root) == (["id", "extra"], [(1, None), (2, None), (3, 30)])


def test_ignore_keeps_the_table_columns_and_appends_the_rows(project):
    root = make(project, "ignore")
    build(root, n=3, extra=True)
    assert table(root) == (["id", "val"], [(1, "v1"), (2, "v2"), (3, "v3")])


def test_fail_is_a_located_error_before_any_data_changes(project):
    root = make(project, "fail")
    # the plan of that build says so first (the table read without holding the warehouse)
    edit = json.dumps({"n": 3, "extra": True})
    planned = run_teal("plan", "--vars", edit, cwd=root)
    assert planned.returncode == 2, planned.output
    assert "models/inc.sql:3:19: incremental model inc would add 'extra'" in planned.stderr
    assert run_teal("plan", "--vars", edit, "--full-refresh", cwd=root).returncode == 0
    out = build(root, code=2, n=3, extra=True)
    assert "models/inc.sql:3:19:" in out and "incremental model inc would add 'extra'" in out
    assert "on_schema_change" in out  # the hint names the policies
    assert table(root) == (["id", "val"], [(1, "v1"), (2, "v2")])
    assert query(root / "warehouse.duckdb", "select count(*) from main.src") == [(2,)]


def test_an_unknown_policy_is_a_config_error(project):
    root = project({"models/src.sql": SRC, "models/inc.sql": INC.format(policy="sometimes")})
    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    assert "models/inc.sql:1:" in done.stderr and "sometimes" in done.stderr


# a daily-partitioned incremental model over three days of events; var `extra` adds a
# column, var `drop_val` removes one
EVENTS = """
    {{ config(materialized='table') }}
    select date '2026-01-01' + cast(i as integer) as day, i as id, 'v' || i as val
    from range(0, 3) t(i)
"""
DAILY = """
    {{{{ config(materialized='incremental', on_schema_change='{policy}',
                partitioned_by={{'daily': {{'start': '2026-01-01', 'end': '2026-01-04'}}}},
                partition_column='day') }}}}
    select day, id{{% if not var('drop_val', false) %}}, val{{% endif %}}
           {{% if var('extra', false) %}}, id * 10 as extra{{% endif %}}
    from events
    where day >= cast('{{{{ partition.start }}}}' as date)
      and day < cast('{{{{ partition.end }}}}' as date)
"""


def daily(project, policy: str) -> Path:
    root = project({"models/events.sql": EVENTS, "models/daily.sql": DAILY.format(policy=policy)})
    build(root)
    return root


def refresh(root: Path, key: str, code: int = 0, **vars: object) -> str:
    done = run_teal(
        "build", "-s", "daily", "--partition", key, "--vars", json.dumps(vars), cwd=root
    )
    assert done.returncode == code, done.output
    assert "Traceback" not in done.output
    return done.output


def daily_table(root: Path) -> tuple[list[str], list[tuple[object, ...]]]:
    return column_names(root, "daily"), query(
        root / "warehouse.duckdb", "select * exclude (day) from main.daily order by id"
    )


def test_a_partition_refresh_that_adds_a_column_fails_before_any_data_changes(project):
    root = daily(project, "fail")
    out = refresh(root, "2026-01-02", code=2, extra=True)
    assert "models/daily.sql:5:" in out and "incremental model daily would add 'extra'" in out
    assert daily_table(root) == (
        ["day", "id", "val"],
        [(0, "v0"), (1, "v1"), (2, "v2")],
    )


def test_a_partition_refresh_that_drops_a_column_fails_rather_than_writing_nulls(project):
    root = daily(project, "fail")
    out = refresh(root, "2026-01-02", code=2, drop_val=True)
    assert "would drop 'val'" in out
    assert daily_table(root)[1] == [(0, "v0"), (1, "v1"), (2, "v2")]


def test_append_new_columns_on_one_partition_leaves_the_others_null(project):
    root = daily(project, "append_new_columns")
    refresh(root, "2026-01-02", extra=True)
    assert daily_table(root) == (
        ["day", "id", "val", "extra"],
        [(0, "v0", None), (1, "v1", 10), (2, "v2", None)],
    )


def test_sync_all_columns_on_partitions_drops_the_missing_column(project):
    root = daily(project, "sync_all_columns")
    refresh(root, "2026-01-02", drop_val=True, extra=True)
    assert daily_table(root) == (
        ["day", "id", "extra"],
        [(0, None), (1, 10), (2, None)],
    )


def test_ignore_on_partitions_keeps_the_table_columns(project):
    root = daily(project, "ignore")
    refresh(root, "2026-01-02", extra=True)
    assert daily_table(root) == (["day", "id", "val"], [(0, "v0"), (1, "v1"), (2, "v2")])


# ----------------------------------------------------------------- a column whose type changed

# a merge by `id` of two rows; vars give the key's type (`key`), the money column's
# (`money`), its values (`amt`, `amt2`) and the policy (`osc`)
RETYPED = """
    {{ config(materialized='incremental', unique_key='id', on_schema_change=var('osc')) }}
    select cast(i as {{ var('key', 'integer') }}) as id,
           cast(a as decimal({{ var('money', '12,2') }})) as amt
    from (values (1, {{ var('amt', 1.25) }}), (2, {{ var('amt2', 2.5) }})) t(i, a)
"""


def retyped(project, policy: str, **first: object) -> Path:
    root = project({"models/inc.sql": RETYPED})
    build(root, osc=policy, **first)
    return root


def inc_rows(root: Path) -> list[tuple[object, ...]]:
    return query(
        root / "warehouse.duckdb", "select id::varchar, amt::varchar from main.inc order by id"
    )


@pytest.mark.parametrize("policy", ["ignore", "append_new_columns"])
def test_a_kept_type_refuses_new_money_its_cast_would_round(project, policy):
    """The query's money column widened to DECIMAL(18,4); these policies keep the table's
    DECIMAL(12,2), and DuckDB's cast would round 1.2549 to 1.25 without an error: the run
    fails, naming the value, and the table keeps its rows. Values that fit go in."""
    root = retyped(project, policy)
    out = build(root, code=1, osc=policy, money="18,4", amt=1.2549)
    assert (
        f'"amt" is now DECIMAL(18,4) and main.inc keeps its DECIMAL(12,2) (on_schema_change '
        f"'{policy}'): the new value 1.2549 would become 1.25"
    ) in out, out
    assert "hint: set on_schema_change to 'sync_all_columns'" in out
    assert inc_rows(root) == [("1", "1.25"), ("2", "2.50")]
    build(root, osc=policy, money="18,4", amt=1.75)
    assert inc_rows(root) == [("1", "1.75"), ("2", "2.50")]


def test_sync_all_columns_refuses_a_narrower_type_that_would_round_the_old_rows(project):
    """sync_all_columns changes the column's type to the query's: DECIMAL(18,4) to
    DECIMAL(12,2) would round the old rows' 2.5051 (a row the merge does not replace)."""
    root = retyped(project, "sync_all_columns", money="18,4", amt=1.2549, amt2=2.5051)
    out = build(root, code=1, osc="sync_all_columns", money="12,2")
    assert (
        "on_schema_change 'sync_all_columns' would change \"amt\" of main.inc from "
        "DECIMAL(18,4) to DECIMAL(12,2): its value 1.2549 would become 1.25"
    ) in out, out
    assert inc_rows(root) == [("1", "1.2549"), ("2", "2.5051")]


@pytest.mark.parametrize("policy", ["ignore", "append_new_columns"])
def test_a_merge_whose_key_changed_type_matches_the_rows_in_the_tables_type(project, policy):
    """The table's key is VARCHAR and the query's now INTEGER: the rows are replaced by
    key as the table types it (no Binder Error comparing VARCHAR with INTEGER, no
    second row per key), and the key stays VARCHAR."""
    root = retyped(project, policy, key="varchar")
    build(root, osc=policy, key="integer", amt=9.5)
    assert inc_rows(root) == [("1", "9.50"), ("2", "2.50")]
    assert query(
        root / "warehouse.duckdb",
        "select data_type from information_schema.columns where column_name = 'id'",
    ) == [("VARCHAR",)]


def test_the_hint_does_not_offer_a_full_refresh_the_models_config_refuses(project):
    """full_refresh=false wins over --full-refresh: a hint saying to run that would fail
    the same way again, so it says what to change instead."""
    root = project(
        {
            "models/inc.sql": """
            {{ config(materialized='incremental', full_refresh=false) }}
            select 1 as id {% if var('extra', false) %}, 2 as extra{% endif %}
            """
        }
    )
    build(root)
    out = build(root, code=2, extra=True)
    assert "its config has full_refresh=false, which wins over --full-refresh" in out, out
    assert "or rebuild it: `teal build -s inc --full-refresh`" not in out


def test_a_refusal_in_the_warehouse_does_not_offer_a_full_refresh_the_config_refuses(project):
    """A model whose config has full_refresh=false: the warehouse's refusal of a rounding
    cast says so instead of hinting at `--full-refresh`, which that config ignores."""
    root = project(
        {
            "models/inc.sql": RETYPED.replace(
                "unique_key='id',", "unique_key='id', full_refresh=false,"
            )
        }
    )
    build(root, osc="ignore")
    out = build(root, code=1, osc="ignore", money="18,4", amt=1.2549)
    assert "the new value 1.2549 would become 1.25" in out, out
    assert "its config has full_refresh=false, which wins over --full-refresh" in out
