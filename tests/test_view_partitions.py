"""A partitioned model reading a partitioned table through a view (dbt's staging layout:
``events`` -> view ``stg_events`` -> daily ``mart`` filtering itself with
``partition.start``/``end``) is stale on the partitions that read what changed, as if it
read the table directly (compiler/view_partitions.py): one new or rebuilt day of
``events`` rebuilds that day of the mart, not all of them. The views' code, and what they
read whole, still make every partition stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import query
from tests.test_partitioned_builds import DAILY, DAYS, built_keys, db, partitions_json, teal

pytestmark = pytest.mark.slow

# 24 rows a day; v = hour * 10, plus var `plus` on the day var `day` names only: building
# one day with those vars changes that day's data alone
EVENTS_SQL = """
    {{ config(materialized='incremental', partitioned_by=PARTITIONS, partition_column='ts') }}
    select ts, hour(ts) * 10
           + case when ts::date = DATE '{{ var("day", "1900-01-01") }}'
                  then {{ var("plus", 0) }} else 0 end as v,
           case when ts::date = DATE '{{ var("bad_day", "1900-01-01") }}'
                then error('bad day ' || ts::date::varchar) else 0 end as bad
    from range({{ partition.start }}, {{ partition.end }}, INTERVAL 1 HOUR) t(ts)
"""
VIEW_SQL = "{{ config(materialized='view') }} select ts, v from events"


def mart_sql(reads: str, partitions: str = DAILY, extra: str = "") -> str:
    """A partitioned model reading ``reads`` and filtering it to its own day itself."""
    return f"""
        {{{{ config(materialized='incremental', partitioned_by={partitions},
                    partition_column='day'{extra}) }}}}
        select {{{{ partition.start }}}}::date as day, count(*) as n, sum(v) as total
        from {reads}
        where ts >= {{{{ partition.start }}}} and ts < {{{{ partition.end }}}}
    """


CHANGE_DAY3 = '{day: "2026-01-03", plus: 5}'


def plan_steps(root: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, dict]:
    plan = json.loads(teal(root, "plan", "--json", *args, env=env).stdout)
    return {s["model"]: s for s in plan["steps"]}


def totals(root: Path, relation: str) -> dict[str, int]:
    rows = query(db(root), f"select strftime(day, '%Y-%m-%d'), total from {relation} order by 1")
    return dict(rows)


def test_one_rebuilt_upstream_day_makes_only_that_day_stale_through_views(project):
    root = project(
        {
            "models/events.sql": EVENTS_SQL.replace("PARTITIONS", DAILY),
            "models/stg_events.sql": VIEW_SQL,
            # a chain of two views, and a view under an ephemeral model
            "models/int_events.sql": "{{ config(materialized='view') }} "
            "select ts, v from stg_events",
            "models/eph_events.sql": "{{ config(materialized='ephemeral') }} "
            "select ts, v from stg_events",
            "models/mart.sql": mart_sql("stg_events"),
            "models/mart2.sql": mart_sql("int_events"),
            "models/mart3.sql": mart_sql("eph_events"),
        }
    )
    teal(root, "build")
    before = totals(root, "mart")
    assert list(before) == DAYS
    again = teal(root, "build").stdout  # nothing changed: no partition rebuilt
    assert all(built_keys(again, m) == [] for m in ("events", "mart", "mart2", "mart3"))

    # one day of events is rebuilt with other data
    out = teal(root, "build", "-s", "events", "--partition", "2026-01-03", "--vars", CHANGE_DAY3)
    assert built_keys(out.stdout, "events") == ["2026-01-03"]

    # what reads it through the views is stale on that day only, named with the view
    steps = plan_steps(root, "-s", "stg_events+")
    for model, view in (("mart", "stg_events"), ("mart2", "int_events"), ("mart3", "eph_events")):
        assert steps[model]["partitions"] == ["2026-01-03"], model
        assert steps[model]["partition_reasons"] == [
            f"stale (upstream events changed, read through {view})"
        ]
    # a plain plan (without the vars) builds that day of events back to the data the
    # marts were built from: they are up to date with it
    steps = plan_steps(root)
    assert steps["events"]["partitions"] == ["2026-01-03"]
    assert not {"mart", "mart2", "mart3"} & steps.keys()
    # `teal partitions` says the same
    shown = partitions_json(root, "mart2")
    assert [k for k, r in shown.items() if r["status"] == "stale"] == ["2026-01-03"]
    assert shown["2026-01-03"]["note"] == "upstream events changed, read through int_events"
    assert {r["status"] for k, r in shown.items() if k != "2026-01-03"} == {"materialized"}

    out = teal(root, "build", "-s", "stg_events+").stdout
    for model in ("mart", "mart2", "mart3"):
        assert built_keys(out, model) == ["2026-01-03"], model
    assert totals(root, "mart") == {**before, "2026-01-03": before["2026-01-03"] + 24 * 5}
    assert totals(root, "mart2") == totals(root, "mart") == totals(root, "mart3")
    assert plan_steps(root, "-s", "stg_events+").keys() == {"stg_events", "int_events"}


def test_a_new_upstream_day_builds_only_that_day_of_the_reader_through_a_view(project):
    open_ended = "{'daily': {'start': '2026-01-01'}}"
    root = project(
        {
            "models/events.sql": EVENTS_SQL.replace("PARTITIONS", open_ended),
            "models/stg_events.sql": VIEW_SQL,
            "models/mart.sql": mart_sql("stg_events", open_ended),
        }
    )
    day10 = {"TEAL_NOW": "2026-01-11T00:00:00"}
    first = teal(root, "build", env=day10).stdout
    assert built_keys(first, "mart") == DAYS

    day11 = {"TEAL_NOW": "2026-01-12T00:00:00"}
    steps = plan_steps(root, env=day11)
    assert steps["events"]["partitions"] == ["2026-01-11"]
    assert steps["mart"]["partitions"] == ["2026-01-11"]
    assert steps["mart"]["partition_reasons"] == ["missing"]
    out = teal(root, "build", env=day11).stdout
    assert built_keys(out, "events") == ["2026-01-11"]
    assert built_keys(out, "mart") == ["2026-01-11"]
    statuses = partitions_json(root, "mart", env=day11)
    assert {r["status"] for r in statuses.values()} == {"materialized"}
    assert len(statuses) == 11


def test_a_views_code_and_a_table_it_reads_whole_still_make_every_partition_stale(project):
    root = project(
        {
            "models/events.sql": EVENTS_SQL.replace("PARTITIONS", DAILY),
            "models/dims.sql": "{{ config(materialized='table') }} "
            "select {{ var('scale', 1) }}::integer as scale",
            "models/stg_events.sql": "{{ config(materialized='view') }} "
            "select e.ts, e.v * d.scale as v from events e cross join dims d",
            "models/int_events.sql": "{{ config(materialized='view') }} "
            "select ts, v from stg_events",
            "models/mart.sql": mart_sql("stg_events"),
            "models/mart2.sql": mart_sql("int_events"),
        }
    )
    teal(root, "build")
    before = totals(root, "mart")

    # a table the view reads whole changes: every partition reads it
    steps = plan_steps(root, "--vars", "{scale: 2}")
    assert "events" not in steps
    assert steps["mart"]["partitions"] == DAYS
    assert set(steps["mart"]["partition_reasons"]) == {
        "stale (upstream dims changed, read through stg_events)"
    }
    assert set(steps["mart2"]["partition_reasons"]) == {
        "stale (upstream dims changed, read through int_events)"
    }
    out = teal(root, "build", "--vars", "{scale: 2}").stdout
    assert built_keys(out, "mart") == DAYS and built_keys(out, "mart2") == DAYS
    assert totals(root, "mart") == {d: 2 * t for d, t in before.items()}

    # the view's code changes: every partition of what reads it, through another view too
    (root / "models/stg_events.sql").write_text(
        "{{ config(materialized='view') }} "
        "select e.ts, e.v * d.scale * 3 as v from events e cross join dims d"
    )
    steps = plan_steps(root, "--vars", "{scale: 2}")
    assert steps["mart"]["partitions"] == DAYS
    assert set(steps["mart"]["partition_reasons"]) == {"stale (upstream stg_events changed)"}
    assert set(steps["mart2"]["partition_reasons"]) == {
        "stale (upstream stg_events changed, read through int_events)"
    }
    out = teal(root, "build", "--vars", "{scale: 2}").stdout
    assert built_keys(out, "mart") == DAYS and built_keys(out, "mart2") == DAYS
    assert totals(root, "mart") == {d: 6 * t for d, t in before.items()}
    shown = partitions_json(root, "mart2", "--vars", "{scale: 2}")
    assert {r["status"] for r in shown.values()} == {"materialized"}

    # and one day of events still makes one day stale
    teal(
        root,
        "build",
        "-s",
        "events",
        "--partition",
        "2026-01-03",
        "--vars",
        '{scale: 2, day: "2026-01-03", plus: 5}',
    )
    steps = plan_steps(root, "-s", "stg_events+", "--vars", "{scale: 2}")
    assert steps["mart"]["partitions"] == ["2026-01-03"]
    assert steps["mart2"]["partitions"] == ["2026-01-03"]


def test_lookback_and_monthly_mappings_through_a_view_pick_the_days_that_read_it(project):
    days = "{'daily': {'start': '2026-01-28', 'end': '2026-02-05'}}"
    months = "{'monthly': {'start': '2026-01-01', 'end': '2026-03-01'}}"
    root = project(
        {
            "models/events.sql": EVENTS_SQL.replace("PARTITIONS", days),
            "models/stg_events.sql": VIEW_SQL,
            # each day reads itself and the two before it, said by the mapping naming the view
            "models/rolling.sql": f"""
                {{{{ config(materialized='incremental', partitioned_by={days},
                            partition_column='day',
                            partition_mapping={{'stg_events': 'lookback(3)'}}) }}}}
                select {{{{ partition.start }}}}::date as day, count(*) as n, sum(v) as total
                from stg_events
                where ts >= {{{{ partition.start }}}} - INTERVAL 2 DAY
                  and ts < {{{{ partition.end }}}}
            """,
            "models/monthly.sql": mart_sql("stg_events", months),
        }
    )
    teal(root, "build")
    rolling = dict(query(db(root), "select strftime(day, '%Y-%m-%d'), n from rolling"))
    assert rolling["2026-01-28"] == 24 and rolling["2026-02-01"] == 72

    change = '{day: "2026-01-30", plus: 5}'
    teal(root, "build", "-s", "events", "--partition", "2026-01-30", "--vars", change)
    steps = plan_steps(root, "-s", "stg_events+")
    assert steps["rolling"]["partitions"] == ["2026-01-30", "2026-01-31", "2026-02-01"]
    assert set(steps["rolling"]["partition_reasons"]) == {
        "stale (upstream events changed, read through stg_events)"
    }
    assert steps["monthly"]["partitions"] == ["2026-01"]
    stale = partitions_json(root, "rolling", "--status", "stale")
    assert list(stale) == ["2026-01-30", "2026-01-31", "2026-02-01"]
    assert list(partitions_json(root, "monthly", "--status", "stale")) == ["2026-01"]

    # asked for by name, the day's readers through the view rebuild the same partitions
    change = '{day: "2026-01-30", plus: 7}'
    out = teal(root, "build", "-s", "events+", "--partition", "2026-01-30", "--vars", change)
    assert built_keys(out.stdout, "events") == ["2026-01-30"]
    assert built_keys(out.stdout, "rolling") == ["2026-01-30", "2026-01-31", "2026-02-01"]
    assert built_keys(out.stdout, "monthly") == ["2026-01"]
    totals_now = totals(root, "rolling")
    first_total = query(
        db(root), "select sum(v) from events where ts::date between '2026-01-30' and '2026-02-01'"
    )[0][0]
    assert totals_now["2026-02-01"] == first_total
    assert partitions_json(root, "rolling", "--status", "stale", "--vars", change) == {}
    assert "rolling" not in plan_steps(root, "-s", "stg_events+", "--vars", change)


def test_a_reader_through_an_ephemeral_model_holds_back_only_the_failed_days(project):
    root = project(
        {
            "models/events.sql": EVENTS_SQL.replace("PARTITIONS", DAILY),
            "models/eph_events.sql": "{{ config(materialized='ephemeral') }} "
            "select ts, v from events",
            "models/mart.sql": mart_sql("eph_events"),
        }
    )
    out = teal(root, "build", "--vars", '{bad_day: "2026-01-03"}', ok=False)
    assert out.returncode == 1, out.output
    assert built_keys(out.stdout, "mart") == [d for d in DAYS if d != "2026-01-03"]
    assert "1 partition held back" in out.stdout
    statuses = partitions_json(root, "mart", "--vars", '{bad_day: "2026-01-03"}')
    assert [k for k, r in statuses.items() if r["status"] == "missing"] == ["2026-01-03"]
    # the day that failed, and what reads it, are built once the day builds
    again = teal(root, "build", "-s", "events+", "--partition", "2026-01-03").stdout
    assert built_keys(again, "events") == ["2026-01-03"]
    assert built_keys(again, "mart") == ["2026-01-03"]


def test_partitions_and_plan_agree_that_an_edited_view_not_yet_rebuilt_makes_readers_stale(
    project,
):
    """``teal partitions`` judges a view as the plan of everything makes it (with its code
    now), not as it stands in the warehouse: both say the edited view's readers are stale,
    and name the view."""
    root = project(
        {
            "models/events.sql": EVENTS_SQL.replace("PARTITIONS", DAILY),
            "models/dims.sql": "{{ config(materialized='table') }} select 1 as scale",
            "models/stg_events.sql": VIEW_SQL,
            "models/int_events.sql": "{{ config(materialized='view') }} "
            "select ts, v from stg_events",
            # a view over an unpartitioned table, read whole
            "models/stg_dims.sql": "{{ config(materialized='view') }} select scale from dims",
            "models/mart.sql": mart_sql("stg_events"),
            "models/mart2.sql": mart_sql("int_events"),
            "models/mart3.sql": mart_sql("events cross join stg_dims"),
        }
    )
    teal(root, "build")
    (root / "models/stg_events.sql").write_text(
        "{{ config(materialized='view') }} select ts, v + 1 as v from events"
    )
    (root / "models/stg_dims.sql").write_text(
        "{{ config(materialized='view') }} select scale * 2 as scale from dims"
    )
    expected = {
        "mart": "upstream stg_events changed",
        "mart2": "upstream stg_events changed, read through int_events",
        "mart3": "upstream stg_dims changed",
    }
    steps = plan_steps(root)
    for model, why in expected.items():
        shown = partitions_json(root, model)
        assert {k: (r["status"], r["note"]) for k, r in shown.items()} == {
            d: ("stale", why) for d in DAYS
        }, model
        assert steps[model]["partitions"] == DAYS, model
        assert set(steps[model]["partition_reasons"]) == {f"stale ({why})"}, model
    text = teal(root, "partitions", "mart").stdout
    assert "10 stale" in text and "upstream stg_events changed" in text

    teal(root, "build")  # made again, and the readers with them: up to date
    for model in expected:
        statuses = {r["status"] for r in partitions_json(root, model).values()}
        assert statuses == {"materialized"}, model
