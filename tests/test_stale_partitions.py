"""Stale partitions drive the build: a partition built from code, vars or upstream data that
changed since is rebuilt by a plain ``teal build``; ``rebuild_stale=false`` and
``--only-missing`` keep it; ``teal plan`` says why each partition runs."""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.conftest import query
from tests.test_partitioned_builds import (
    DAILY,
    DAYS,
    EVENTS_SQL,
    built_keys,
    db,
    partitions_json,
    teal,
)

pytestmark = pytest.mark.slow

# an unpartitioned dimension whose data follows a var that no other model reads
DIMS_SQL = "{{ config(materialized='table') }} select {{ var('scale', 1) }}::integer as scale"
SCALED_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='day') }}}}
    select date_trunc('day', e.ts) as day, sum(e.v * d.scale) as total
    from events e cross join dims d
    group by 1
"""
# the same, as append-only history: built partitions are kept even when stale
HISTORY_SQL = SCALED_SQL.replace(
    "partition_column='day'", "partition_column='day', rebuild_stale=false"
)


def make(project):
    return project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/dims.sql": DIMS_SQL,
            "models/scaled.sql": SCALED_SQL,
            "models/history.sql": HISTORY_SQL,
        }
    )


def totals(root, relation: str) -> dict[str, int]:
    return dict(
        query(db(root), f"select strftime(day, '%Y-%m-%d'), total from {relation} order by day")
    )


def test_an_upstream_whose_data_changed_rebuilds_the_partitions_that_read_it(project):
    root = make(project)
    teal(root, "build")
    first = totals(root, "scaled")
    assert list(first) == DAYS

    # the dimension is rebuilt with the same code and inputs: nothing that reads it is stale
    again = teal(root, "build").stdout
    assert built_keys(again, "scaled") == [] and built_keys(again, "events") == []

    # the dimension's data changes (a var only it reads): every partition reading it is
    # stale, and the plan says so per partition; events, which does not read it, is not
    plan = json.loads(teal(root, "plan", "--json", "--vars", "{scale: 2}").stdout)
    steps = {s["model"]: s for s in plan["steps"]}
    assert "events" not in steps and plan["not_run"]["events"] == "all partitions up to date"
    assert steps["scaled"]["partitions"] == DAYS
    assert set(steps["scaled"]["partition_reasons"]) == {"stale (upstream dims changed)"}
    assert "history" not in steps  # rebuild_stale=false

    built = teal(root, "build", "--vars", "{scale: 2}").stdout
    assert built_keys(built, "scaled") == DAYS and built_keys(built, "events") == []
    assert totals(root, "scaled") == {d: 2 * t for d, t in first.items()}
    assert totals(root, "history") == first  # kept: append-only
    history = partitions_json(root, "history", "--vars", "{scale: 2}")
    assert {r["status"] for r in history.values()} == {"stale"}
    assert history[DAYS[0]]["note"] == "upstream dims changed"
    # asked for by name, a stale history partition is rebuilt
    teal(root, "build", "-s", "history", "--partition", DAYS[0], "--vars", "{scale: 2}")
    assert totals(root, "history")[DAYS[0]] == 2 * first[DAYS[0]]

    # --only-missing keeps today's data even though it is stale, and builds what is missing
    con = duckdb.connect(str(db(root)))
    con.execute(
        f"delete from teal.partitions where model = 'scaled' and partition_key = '{DAYS[-1]}'"
    )
    con.close()
    only = teal(root, "build", "--only-missing", "--vars", "{scale: 3}").stdout
    assert built_keys(only, "scaled") == [DAYS[-1]]
    assert totals(root, "scaled")[DAYS[0]] == 2 * first[DAYS[0]]
    assert totals(root, "scaled")[DAYS[-1]] == 3 * first[DAYS[-1]]
    stale = partitions_json(root, "scaled", "--status", "stale", "--vars", "{scale: 3}")
    assert list(stale) == DAYS[:-1]


def test_a_warehouse_built_before_data_versions_is_upgraded_in_place(project):
    """State rows written before teal recorded versions have none: the next build adds the
    column, takes those partitions as up to date (nothing says otherwise) and records
    versions from then on."""
    root = make(project)
    teal(root, "build", "-s", "events")
    con = duckdb.connect(str(db(root)))
    con.execute("drop view teal.partition_state")
    con.execute("drop view teal.model_state")
    for table in ("partitions", "builds"):
        con.execute(f"alter table teal.{table} drop column data_version")
    con.execute(  # the views as an older teal made them
        "create view teal.partition_state as select * exclude (rn) from (select *, "
        "row_number() over (partition by model, partition_key order by finished_at desc) "
        "as rn from teal.partitions) where rn = 1"
    )
    con.execute(
        "create view teal.model_state as select * exclude (rn) from (select *, row_number() "
        "over (partition by model order by finished_at desc) as rn from teal.builds "
        "where status = 'success') where rn = 1"
    )
    con.close()
    assert partitions_json(root, "events")[DAYS[0]]["status"] == "materialized"

    out = teal(root, "build").stdout
    assert built_keys(out, "events") == [] and built_keys(out, "scaled") == DAYS
    versions = query(
        db(root),
        "select model, count(*), count(data_version) from teal.partition_state "
        "group by 1 order by 1",
    )
    assert versions == [("events", 10, 0), ("history", 10, 10), ("scaled", 10, 10)]
    # from now on, a change to events is seen downstream
    teal(root, "build", "-s", "events", "--partition", DAYS[3], "--vars", "{bump: 1}")
    stale = partitions_json(root, "scaled", "--status", "stale", "--vars", "{bump: 1}")
    assert list(stale) == [DAYS[3]]


def test_a_bad_range_key_names_the_flag_it_came_from(project):
    root = make(project)
    for flags, named in (
        (("--from", "2026-13-01"), "--from:"),
        (("--to", "2026-01-32"), "--to:"),
        (("--partition-range", "2026-01-01..2026-02-30"), "--partition-range:"),
        (("--partition", "Jan 1"), "--partition:"),
    ):
        bad = teal(root, "build", "-s", "events", *flags, ok=False)
        assert bad.returncode == 2 and bad.stderr.startswith(named), (flags, bad.output)
        assert "is not a daily partition key" in bad.stderr and "Traceback" not in bad.output
    unpartitioned = teal(root, "build", "-s", "dims", "--from", "2026-01-01", ok=False)
    assert unpartitioned.returncode == 2
    assert "no selected model is partitioned" in unpartitioned.stderr
    assert "daily_revenue" not in unpartitioned.stderr  # no example project names in hints


VARCHAR_DAY = """
{{ config(materialized='incremental', partitioned_by=DEF, partition_column='day' POLICY) }}
select strftime(ts, '%Y-%m-%d') as day, 1 as v
from range(TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-03', INTERVAL 1 HOUR) t(ts)
""".replace("DEF", "{'daily': {'start': '2026-01-01', 'end': '2026-01-03'}}")


@pytest.mark.parametrize("policy", ["", ", backfill_policy='single_run'"])
def test_a_type_error_against_the_partition_window_names_the_partition_column(project, policy):
    root = project({"models/e.sql": VARCHAR_DAY.replace("POLICY", policy)})
    done = teal(root, "build", ok=False)
    assert done.returncode == 1
    assert "Cannot compare values of type VARCHAR and type TIMESTAMP" in done.stdout
    assert "the partition column 'day' is VARCHAR" in done.stdout
    assert "cast 'day' to DATE or TIMESTAMP" in done.stdout


# the dimension read through a view: a view holds no data, so the table under it being
# rebuilt with other data changes what the view's readers read
VIEW_SQL = "{{ config(materialized='view') }} select scale from dims"
THROUGH_VIEW_SQL = SCALED_SQL.replace("cross join dims d", "cross join dims_view d")
TOTAL_SQL = "{{ config(materialized='table') }} select scale * 10 as total from dims_view"


def test_a_table_rebuilt_under_a_view_makes_the_views_readers_stale(project):
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/dims.sql": DIMS_SQL,
            "models/dims_view.sql": VIEW_SQL,
            "models/through_view.sql": THROUGH_VIEW_SQL,
            "models/total.sql": TOTAL_SQL,
        }
    )
    teal(root, "build")
    first = totals(root, "through_view")
    # everything built again, the view made again over the same data: nothing is stale
    again = teal(root, "build").stdout
    assert built_keys(again, "through_view") == []

    # only the table under the view is rebuilt, with other data
    teal(root, "build", "-s", "dims", "--vars", "{scale: 3}")
    plan = json.loads(
        teal(root, "plan", "--json", "-s", "through_view", "--vars", "{scale: 3}").stdout
    )
    (step,) = plan["steps"]
    assert step["partitions"] == DAYS
    assert set(step["partition_reasons"]) == {"stale (upstream dims_view changed)"}
    stale = partitions_json(root, "through_view", "--vars", "{scale: 3}")
    assert {r["status"] for r in stale.values()} == {"stale"}
    changed_only = json.loads(
        teal(root, "plan", "--json", "--changed-only", "-s", "total", "--vars", "{scale: 3}").stdout
    )
    assert [s["model"] for s in changed_only["steps"]] == ["total"]
    assert changed_only["steps"][0]["reason"] == "upstream dims was rebuilt after it"

    built = teal(root, "build", "-s", "through_view", "--vars", "{scale: 3}").stdout
    assert built_keys(built, "through_view") == DAYS
    assert totals(root, "through_view") == {d: 3 * t for d, t in first.items()}
    # and then it is up to date
    plan = json.loads(
        teal(root, "plan", "--json", "-s", "through_view", "--vars", "{scale: 3}").stdout
    )
    assert plan["steps"] == []


# an open-ended daily model: which days exist follows the clock (TEAL_NOW)
OPEN_EVENTS_SQL = EVENTS_SQL.replace(", 'end': '2026-01-11'", "")
WHOLE_SQL = "{{ config(materialized='table') }} select ts, v from events"
PER_DAY_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='day') }}}}
    select date_trunc('day', ts) as day, sum(v) as total
    from whole
    where ts >= {{{{ partition.start }}}} and ts < {{{{ partition.end }}}}
    group by 1
"""


def test_changed_only_rebuilds_an_unpartitioned_model_whose_data_version_moved(project):
    """`--changed-only` keeps the versions the partitions pass gave readers: a model whose
    inputs now make another version (here: a refresh run under an earlier clock left it
    built from fewer days) is rebuilt, not skipped, so the partitions reading it agree
    with `teal partitions` afterwards."""
    root = project(
        {
            "models/events.sql": OPEN_EVENTS_SQL,
            "models/whole.sql": WHOLE_SQL,
            "models/per_day.sql": PER_DAY_SQL,
        }
    )
    late, early = {"TEAL_NOW": "2026-01-12T00:00:00"}, {"TEAL_NOW": "2026-01-05T00:00:00"}
    teal(root, "build", env=late)
    teal(root, "build", "-s", "events+", "--partition", "2026-01-02", env=early)
    done = teal(root, "build", "--changed-only", env=late).stdout
    assert "whole" in done and built_keys(done, "per_day") == ["2026-01-02"]
    after = partitions_json(root, "per_day", env=late)
    assert {r["status"] for r in after.values()} == {"materialized"}
    plan = json.loads(teal(root, "plan", "--json", "--changed-only", env=late).stdout)
    assert plan["steps"] == []


def test_a_partition_built_while_its_window_was_open_is_stale_once_it_closes(project):
    """end_offset=1 builds the current day too: built at noon it holds half its data, and
    once the day has ended it is stale (it stayed up to date for good)."""
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    root = project(
        {
            "models/d.sql": "{{ config(materialized='incremental', partitioned_by={'daily': "
            f"{{'start': '{today - timedelta(days=1)}', 'end_offset': 1}}}}, "
            "partition_column='day') }}\n"
            "select cast('{{ partition.start }}' as date) as day, 1 as n",
        }
    )
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    teal(root, "build", env={"TEAL_NOW": now})  # today's partition, built while open
    tomorrow = f"{today + timedelta(days=1)}T01:00:00"
    shown = json.loads(teal(root, "partitions", "d", "--json", env={"TEAL_NOW": tomorrow}).stdout)
    statuses = {p["key"]: (p["status"], p["note"]) for p in shown}
    assert statuses[str(today)] == ("stale", "built before its window closed")
    assert statuses[str(today - timedelta(days=1))] == ("materialized", None)
    rebuilt = teal(root, "build", env={"TEAL_NOW": tomorrow}).stdout
    assert built_keys(rebuilt, "d") == [str(today), str(today + timedelta(days=1))]


def test_extending_a_definition_or_changing_a_retry_setting_builds_only_the_new_partitions(
    project,
):
    """The definition's bounds say which partitions exist, not what one holds: a later
    `end` builds the new days alone (they were all stale before), and config that does not
    change the data (retries) makes nothing stale."""
    root = make(project)
    teal(root, "build")
    longer = EVENTS_SQL.replace("'end': '2026-01-11'", "'end': '2026-01-13'")
    assert longer != EVENTS_SQL
    (root / "models" / "events.sql").write_text(
        longer.replace("partition_column='ts'", "partition_column='ts', retries=2")
    )
    built = teal(root, "build", "-s", "events")
    assert built_keys(built.stdout, "events") == ["2026-01-11", "2026-01-12"]
    statuses = {k: r["status"] for k, r in partitions_json(root, "events").items()}
    assert len(statuses) == 12 and set(statuses.values()) == {"materialized"}, statuses


# two views read by one partitioned model: the one sorting first is made again unchanged
# by every plain build, the other's code changes (a var it reads)
STEADY_VIEW_SQL = "{{ config(materialized='view') }} select 1 as one"
MOVING_VIEW_SQL = "{{ config(materialized='view') }} select {{ var('scale', 1) }} as scale"
READS_BOTH_SQL = SCALED_SQL.replace(
    "cross join dims d", "cross join a_steady cross join z_moving d"
)


def test_the_stale_reason_names_the_upstream_that_changed_not_one_made_again_unchanged(project):
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/a_steady.sql": STEADY_VIEW_SQL,
            "models/z_moving.sql": MOVING_VIEW_SQL,
            "models/reads_both.sql": READS_BOTH_SQL,
        }
    )
    teal(root, "build")
    for flags in ((), ("--changed-only",)):
        plan = json.loads(teal(root, "plan", "--json", *flags, "--vars", "{scale: 2}").stdout)
        step = next(s for s in plan["steps"] if s["model"] == "reads_both")
        assert step["partitions"] == DAYS
        assert set(step["partition_reasons"]) == {"stale (upstream z_moving changed)"}
        text = teal(root, "plan", *flags, "--vars", "{scale: 2}").stdout
        assert "stale (upstream z_moving changed)" in text and "a_steady changed" not in text


def test_partitions_of_a_model_never_built_beside_one_built_are_all_missing(project):
    """A partitioned model with no record at all, in a warehouse that has another's: its
    partitions are missing (the stale reasons asked for the records of every model)."""
    root = make(project)
    teal(root, "build", "-s", "+scaled")
    shown = teal(root, "partitions", "history")
    assert shown.returncode == 0, shown.output
    assert "Traceback" not in shown.output and f"{len(DAYS)} missing" in shown.stdout
