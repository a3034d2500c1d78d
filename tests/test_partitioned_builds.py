"""Partitioned models end to end: the real CLI on small projects, rows checked in DuckDB.

Every model here generates its rows from its partition's window (or reads them from a
partitioned upstream through the pushed-down filter), so a build is deterministic and a
partition's rows can be compared before and after a refresh. Vars change what a model
writes (``bump``) or make one day fail (``bad_day``), so a refresh of one partition is
visible in exactly that partition's rows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

NOW = {"TEAL_NOW": "2026-03-01T00:00:00"}

DAILY = "{'daily': {'start': '2026-01-01', 'end': '2026-01-11'}}"
DAYS = [f"2026-01-{d:02d}" for d in range(1, 11)]

# 24 rows a day (one per hour); v = hour * 10 + bump; the day equal to var bad_day fails.
EVENTS_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='ts') }}}}
    select ts, hour(ts) as h,
           case when ts::date = DATE '{{{{ var("bad_day", "1900-01-01") }}}}'
                then error('bad day ' || ts::date::varchar)
                else hour(ts) * 10 + {{{{ var('bump', 0) }}}} end as v
    from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, INTERVAL 1 HOUR) t(ts)
"""

# Same partitions as events, no `partition.` in the template: teal pushes the filter down.
DAILY_SUM_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='day') }}}}
    select date_trunc('day', ts) as day, count(*) as n, sum(v) as total
    from events
    group by 1
"""


def teal(root: Path, *args: str, ok: bool = True, env: dict[str, str] | None = None):
    if args and args[0] in ("build", "run", "backfill"):  # -v: a line per partition
        args = (args[0], "-v", *args[1:])
    result = run_teal(*args, cwd=root, env={**NOW, **(env or {})})
    if ok:
        assert result.returncode == 0, result.output
    return result


def db(root: Path) -> Path:
    return root / "warehouse.duckdb"


def per_day(
    root: Path, relation: str = "events", column: str = "ts", value: str = "v"
) -> dict[str, tuple]:
    """day -> (rows, sum of ``value``, checksum of the whole rows)."""
    rows = query(
        db(root),
        f"""
        select strftime({column}::date, '%Y-%m-%d'), count(*), sum({value}),
               sum(hash(t))
        from {relation} t group by 1 order by 1""",
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def partition_state(root: Path, model: str) -> dict[str, tuple[str, str]]:
    """key -> (status, run_id) from teal.partition_state."""
    rows = query(
        db(root),
        "select partition_key, status, run_id from teal.partition_state "
        f"where model = '{model}' order by 1",
    )
    return {k: (s, r) for k, s, r in rows}


def built_keys(output: str, model: str) -> list[str]:
    """Keys the progress lines say were built OK for ``model``."""
    return re.findall(rf"^\s+{re.escape(model)} \[\s*\d+/\d+\] OK\s+(\S+)", output, re.M)


def failed_keys(output: str, model: str) -> list[str]:
    return re.findall(rf"^\s+{re.escape(model)} \[\s*\d+/\d+\] ERROR\s+(\S+)", output, re.M)


def partitions_json(
    root: Path, model: str, *extra: str, env: dict[str, str] | None = None
) -> dict[str, dict]:
    out = teal(root, "partitions", model, "--json", *extra, env=env).stdout
    return {r["key"]: r for r in json.loads(out)}


def assert_no_duplicates(root: Path, relation: str, columns: str) -> None:
    total, distinct = query(
        db(root), f"select count(*), count(distinct ({columns})) from {relation}"
    )[0]
    assert total == distinct, f"{relation}: {total - distinct} duplicate rows"


# --------------------------------------------------------------------------- first build


def test_first_build_builds_every_partition_up_to_the_end_and_plan_shows_them(project):
    root = project({"models/events.sql": EVENTS_SQL})
    planned = teal(root, "plan").stdout
    assert "incremental 10 partitions" in planned
    assert "partitions 2026-01-01..2026-01-10 (10)" in planned

    out = teal(root, "build").stdout
    assert built_keys(out, "events") == DAYS
    days = per_day(root)
    assert list(days) == DAYS  # the end is exclusive: nothing for 2026-01-11
    assert all(n == 24 for n, *_ in days.values())
    assert query(db(root), "select min(ts)::varchar, max(ts)::varchar from events")[0] == (
        "2026-01-01 00:00:00",
        "2026-01-10 23:00:00",
    )
    state = partition_state(root, "events")
    assert sorted(state) == DAYS and {s for s, _ in state.values()} == {"success"}

    again = teal(root, "plan").stdout
    assert "all partitions up to date" in again and "0 steps" in again
    assert "Nothing to build" in teal(root, "build").stdout


def test_an_open_ended_definition_builds_up_to_now_and_end_offset_moves_the_last_key(project):
    spec = "{'daily': {'start': '2026-01-01'}}"
    spec_open = "{'daily': {'start': '2026-01-01', 'end_offset': 1}}"
    body = (
        "select ts, 1 as v from range({{ partition.start }}, {{ partition.end }}, "
        "INTERVAL 6 HOUR) t(ts)"
    )
    config = "{{{{ config(partitioned_by={spec}, partition_column='ts') }}}}\n"
    root = project(
        {
            "models/closed.sql": config.format(spec=spec) + body,
            "models/current.sql": config.format(spec=spec_open) + body,
        }
    )
    at_noon = {"TEAL_NOW": "2026-01-05T12:00:00"}
    planned = teal(root, "plan", "--json", env=at_noon).stdout
    steps = {s["model"]: s["partitions"] for s in json.loads(planned)["steps"]}
    assert steps == {"closed": DAYS[:4], "current": DAYS[:5]}  # 01-05 is still open at noon

    out = teal(root, "build", env=at_noon).stdout
    assert built_keys(out, "closed") == DAYS[:4] and built_keys(out, "current") == DAYS[:5]
    assert list(per_day(root, "closed", "ts")) == DAYS[:4]
    assert list(per_day(root, "current", "ts")) == DAYS[:5]
    # `teal partitions` uses the same clock
    assert list(partitions_json(root, "closed", env=at_noon)) == DAYS[:4]
    first_runs = partition_state(root, "closed")

    # a partition that is not complete yet cannot be asked for
    early = teal(root, "build", "-s", "closed", "--partition", "2026-01-05", ok=False, env=at_noon)
    assert early.returncode == 2
    assert "'2026-01-05' is not available yet" in early.stderr

    # two days later only the new partitions are built; the old ones are left alone
    later = {"TEAL_NOW": "2026-01-07T01:00:00"}
    out = teal(root, "build", env=later).stdout
    assert built_keys(out, "closed") == DAYS[4:6]
    assert built_keys(out, "current") == DAYS[5:7]
    state = partition_state(root, "closed")
    assert {k: state[k] for k in first_runs} == first_runs
    assert list(per_day(root, "closed", "ts")) == DAYS[:6]
    assert list(per_day(root, "current", "ts")) == DAYS[:7]


# --------------------------------------------------------------------------- choosing keys


def test_one_partition_changes_only_its_rows_and_rebuilding_it_is_idempotent(project):
    root = project({"models/events.sql": EVENTS_SQL})
    teal(root, "build")
    before = per_day(root)
    runs = partition_state(root, "events")

    out = teal(
        root, "build", "-s", "events", "--partition", "2026-01-03", "--vars", "{bump: 1000}"
    ).stdout
    assert built_keys(out, "events") == ["2026-01-03"]
    after = per_day(root)
    assert {d: v for d, v in after.items() if d != "2026-01-03"} == {
        d: v for d, v in before.items() if d != "2026-01-03"
    }
    assert after["2026-01-03"][0] == 24  # replaced, not appended
    assert after["2026-01-03"][1] == before["2026-01-03"][1] + 24 * 1000
    state = partition_state(root, "events")
    assert {k: v for k, v in state.items() if k != "2026-01-03"} == {
        k: v for k, v in runs.items() if k != "2026-01-03"
    }
    assert state["2026-01-03"][1] != runs["2026-01-03"][1]

    # the same partition again: same rows, no duplicates
    for _ in range(2):
        teal(root, "build", "-s", "events", "--partition", "2026-01-03", "--vars", "{bump: 1000}")
        assert per_day(root) == after
    assert_no_duplicates(root, "events", "ts")

    # several keys: repeated --partition and commas; the rest is untouched
    out = teal(
        root,
        "run",
        "-s",
        "events",
        "--partition",
        "2026-01-05,2026-01-07",
        "--partition",
        "2026-01-09",
        "--vars",
        "{bump: 7}",
    ).stdout
    assert built_keys(out, "events") == ["2026-01-05", "2026-01-07", "2026-01-09"]
    final = per_day(root)
    for day in DAYS:
        if day in ("2026-01-05", "2026-01-07", "2026-01-09"):
            assert final[day][1] == before[day][1] + 24 * 7
        else:
            assert final[day] == after[day]
    assert_no_duplicates(root, "events", "ts")


def test_unknown_keys_are_refused_before_anything_is_built(project):
    root = project({"models/events.sql": EVENTS_SQL})
    teal(root, "build")
    before = per_day(root)
    for args in (
        ["--partition", "2026-01-11"],
        ["--partition", "2026-1-3"],
        ["--partition-range", "2026-01-05..2026-01-02"],
        ["--partition-range", "2026-01-05"],
    ):
        bad = teal(root, "build", "-s", "events", *args, "--vars", "{bump: 5}", ok=False)
        assert bad.returncode == 2, bad.output
        assert "--partition" in bad.stderr
    assert (
        "after the last daily partition '2026-01-10'"
        in teal(root, "build", "--partition", "2026-01-11", ok=False).stderr
    )
    assert per_day(root) == before


def test_partition_range_and_from_to_build_exactly_those_keys(project):
    root = project({"models/events.sql": EVENTS_SQL})
    teal(root, "build")
    before = per_day(root)

    planned = teal(root, "plan", "--partition-range", "2026-01-02..2026-01-04").stdout
    assert "incremental 3 partitions" in planned and "2026-01-02, 2026-01-03, 2026-01-04" in planned
    out = teal(
        root, "build", "--partition-range", "2026-01-02..2026-01-04", "--vars", "{bump: 1}"
    ).stdout
    assert built_keys(out, "events") == DAYS[1:4]

    out = teal(
        root, "build", "--from", "2026-01-08", "--to", "2026-01-09", "--vars", "{bump: 2}"
    ).stdout
    assert built_keys(out, "events") == DAYS[7:9]
    out = teal(root, "build", "--from", "2026-01-10", "--vars", "{bump: 3}").stdout
    assert built_keys(out, "events") == DAYS[9:]  # up to the last key
    out = teal(root, "build", "--to", "2026-01-01", "--vars", "{bump: 4}").stdout
    assert built_keys(out, "events") == DAYS[:1]  # from the first key

    after = per_day(root)
    bumps = {0: 4, 1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0, 7: 2, 8: 2, 9: 3}
    for i, day in enumerate(DAYS):
        assert after[day][0] == 24
        assert after[day][1] == before[day][1] + 24 * bumps[i], day
    both = teal(
        root,
        "build",
        "--partition-range",
        "2026-01-01..2026-01-02",
        "--from",
        "2026-01-01",
        ok=False,
    )
    assert both.returncode == 2 and "not both" in both.stderr


def test_single_run_builds_keys_with_gaps_one_query_per_run_of_days(project):
    """Keys that leave gaps are built in runs of days that follow each other: one query
    over the gap would have written the days in it too (refused: rows outside)."""
    single = EVENTS_SQL.replace(
        "partition_column='ts'", "partition_column='ts', backfill_policy='single_run'"
    )
    root = project({"models/events.sql": single})
    teal(root, "build")
    before = per_day(root)
    keys = ["2026-01-02", "2026-01-03", "2026-01-06", "2026-01-09"]
    args = [a for k in keys for a in ("--partition", k)]
    out = teal(root, "build", *args, "--vars", "{bump: 1}").stdout
    assert built_keys(out, "events") == ["2026-01-02..2026-01-03", "2026-01-06", "2026-01-09"]
    after = per_day(root)
    for day in DAYS:
        bumped = day in keys
        assert after[day][0] == 24
        assert after[day][1] == before[day][1] + (24 if bumped else 0), day
    states = partition_state(root, "events")
    assert {k for k, (status, _) in states.items() if status == "success"} == set(DAYS)
    # one build row for the step, with the rows of every run (4 days of 24 hours)
    run_id = states["2026-01-09"][1]
    assert query(
        db(root), f"select rows from teal.builds where run_id = '{run_id}' and model = 'events'"
    ) == [(96,)]


def test_backfill_a_range_and_missing_only_after_lost_or_failed_partitions(project):
    root = project({"models/events.sql": EVENTS_SQL})
    teal(root, "build")
    clean = per_day(root)

    out = teal(
        root,
        "backfill",
        "events",
        "--from",
        "2026-01-03",
        "--to",
        "2026-01-06",
        "--vars",
        "{bump: 100}",
    ).stdout
    assert built_keys(out, "events") == DAYS[2:6]
    bumped = per_day(root)
    assert [d for d in DAYS if bumped[d] != clean[d]] == DAYS[2:6]

    # everything is built: --missing-only has nothing to do
    out = teal(
        root, "backfill", "events", "--from", "2026-01-01", "--to", "2026-01-10", "--missing-only"
    ).stdout
    assert "Nothing to build" in out

    # lose a partition (its rows and its state), make another one fail
    import duckdb

    con = duckdb.connect(str(db(root)))
    con.execute("delete from events where ts::date = DATE '2026-01-02'")
    con.execute("delete from teal.partitions where partition_key = '2026-01-02'")
    con.close()
    failed = teal(
        root,
        "backfill",
        "events",
        "--from",
        "2026-01-08",
        "--to",
        "2026-01-09",
        "--vars",
        "{bad_day: 2026-01-09, bump: 100}",
        ok=False,
    )
    assert failed.returncode == 1
    assert built_keys(failed.stdout, "events") == ["2026-01-08"]
    assert failed_keys(failed.stdout, "events") == ["2026-01-09"]
    assert "bad day 2026-01-09" in failed.stdout
    status = partitions_json(root, "events")
    assert status["2026-01-02"]["status"] == "missing"
    assert status["2026-01-09"]["status"] == "failed"
    assert per_day(root)["2026-01-09"] == clean["2026-01-09"]  # the old rows stay

    plan = teal(root, "plan", "--from", "2026-01-01", "--to", "2026-01-10").stdout
    assert "incremental 10 partitions" in plan
    out = teal(root, "backfill", "events", "--missing-only").stdout
    assert built_keys(out, "events") == ["2026-01-02", "2026-01-09"]
    final = per_day(root)
    assert final["2026-01-02"] == clean["2026-01-02"]
    assert final["2026-01-09"] == clean["2026-01-09"]
    assert [d for d in DAYS if final[d] != clean[d]] == DAYS[2:6] + ["2026-01-08"]
    assert {s for s, _ in partition_state(root, "events").values()} == {"success"}
    assert_no_duplicates(root, "events", "ts")

    # without --from/--to a backfill rebuilds every partition, first to last
    out = teal(root, "backfill", "events").stdout
    assert built_keys(out, "events") == DAYS
    assert per_day(root) == clean
    out = teal(root, "backfill", "events", "--to", "2026-01-02").stdout
    assert built_keys(out, "events") == DAYS[:2]


# --------------------------------------------------------------------------- descendants


def test_descendants_rebuild_the_same_partitions_and_unpartitioned_ones_rebuild_whole(project):
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/daily_sum.sql": DAILY_SUM_SQL,
            "models/totals.sql": """
            {{ config(materialized='table') }}
            select count(*) as n, sum(v) as total from events
        """,
        }
    )
    teal(root, "build")
    sums = per_day(root, "daily_sum", "day", "total")
    assert all(n == 1 for n, *_ in sums.values()) and list(sums) == DAYS
    assert (
        query(db(root), "select sum(n), sum(total) from daily_sum")[0]
        == query(db(root), "select count(*), sum(v) from events")[0]
    )
    runs = partition_state(root, "daily_sum")

    planned = teal(root, "plan", "-s", "events+", "--partition", "2026-01-04").stdout
    assert re.search(r"daily_sum\s+incremental 1 partition\b", planned), planned
    assert re.search(r"totals\s+build table", planned), planned
    out = teal(
        root, "build", "-s", "events+", "--partition", "2026-01-04", "--vars", "{bump: 1000}"
    ).stdout
    assert built_keys(out, "events") == ["2026-01-04"]
    assert built_keys(out, "daily_sum") == ["2026-01-04"]

    after = per_day(root, "daily_sum", "day", "total")
    assert {d: v for d, v in after.items() if d != "2026-01-04"} == {
        d: v for d, v in sums.items() if d != "2026-01-04"
    }
    assert after["2026-01-04"][1] == sums["2026-01-04"][1] + 24 * 1000
    state = partition_state(root, "daily_sum")
    assert {k: v for k, v in state.items() if k != "2026-01-04"} == {
        k: v for k, v in runs.items() if k != "2026-01-04"
    }
    # the unpartitioned table read everything again
    assert (
        query(db(root), "select n, total from totals")[0]
        == query(db(root), "select count(*), sum(v) from events")[0]
    )
    assert (
        query(db(root), "select sum(total) from daily_sum")[0][0]
        == query(db(root), "select sum(v) from events")[0][0]
    )
    assert partitions_json(root, "daily_sum")["2026-01-04"]["status"] == "materialized"

    # a plain build (without the vars) brings back the one partition built with other
    # vars, and its descendant's; then nothing is missing, failed or stale
    out = teal(root, "build").stdout
    assert built_keys(out, "events") == built_keys(out, "daily_sum") == ["2026-01-04"]
    assert per_day(root, "daily_sum", "day", "total") == sums
    out = teal(root, "build").stdout
    assert not built_keys(out, "events") and not built_keys(out, "daily_sum")


def test_a_monthly_model_downstream_of_a_daily_one_rebuilds_the_month_of_the_day(project):
    days = "{'daily': {'start': '2026-01-28', 'end': '2026-02-04'}}"
    months = "{'monthly': {'start': '2026-01-01', 'end': '2026-03-01'}}"
    root = project(
        {
            "models/events.sql": EVENTS_SQL.replace(DAILY, days),
            "models/monthly.sql": f"""
            {{{{ config(partitioned_by={months}, partition_column='month') }}}}
            select date_trunc('month', ts) as month, count(*) as n, sum(v) as total,
                   min(ts) as first_ts, max(ts) as last_ts
            from events group by 1
        """,
        }
    )
    out = teal(root, "build").stdout
    assert built_keys(out, "monthly") == ["2026-01", "2026-02"]
    rows = {
        r[0]: r[1:]
        for r in query(
            db(root),
            "select strftime(month, '%Y-%m'), n, total, "
            "first_ts::varchar, last_ts::varchar from monthly",
        )
    }
    assert rows["2026-01"][0] == 4 * 24 and rows["2026-02"][0] == 3 * 24
    assert rows["2026-01"][2:] == ("2026-01-28 00:00:00", "2026-01-31 23:00:00")
    assert rows["2026-02"][2:] == ("2026-02-01 00:00:00", "2026-02-03 23:00:00")

    out = teal(
        root, "build", "-s", "events+", "--partition", "2026-02-02", "--vars", "{bump: 1000}"
    ).stdout
    assert built_keys(out, "events") == ["2026-02-02"]
    assert built_keys(out, "monthly") == ["2026-02"]
    after = {
        r[0]: r[1:]
        for r in query(
            db(root),
            "select strftime(month, '%Y-%m'), n, total, "
            "first_ts::varchar, last_ts::varchar from monthly",
        )
    }
    assert after["2026-01"] == rows["2026-01"]
    assert after["2026-02"][0] == rows["2026-02"][0]
    assert after["2026-02"][1] == rows["2026-02"][1] + 24 * 1000


def test_a_daily_model_reads_the_24_hours_of_an_hourly_source_and_an_hourly_model(
    project, tmp_path
):
    hours = "{'hourly': {'start': '2026-01-01-00:00', 'end': '2026-01-04-00:00'}}"
    days = "{'daily': {'start': '2026-01-01', 'end': '2026-01-04'}}"
    root = project(
        {
            "models/sources.yml": """
            sources:
              - name: lake
                type: csv
                path: ../data/{table}.csv
                tables:
                  - name: clicks
                    partitioned_by: {hourly: {start: '2026-01-01-00:00'}}
                    partition_column: ts
        """,
            "models/hourly.sql": f"""
            {{{{ config(partitioned_by={hours}, partition_column='ts') }}}}
            select ts, 1 as v
            from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, INTERVAL 10 MINUTE) t(ts)
        """,
            "models/clicks_per_day.sql": f"""
            {{{{ config(partitioned_by={days}, partition_column='day') }}}}
            select date_trunc('day', ts) as day, count(*) as clicks,
                   count(distinct date_trunc('hour', ts)) as hours
            from lake.clicks group by 1
        """,
            "models/clicks_py.py": f"""
            import pyarrow as pa
            import pyarrow.compute as pc
            import teal

            @teal.asset(partitioned_by={days}, partition_column='day')
            def clicks_py(context: teal.AssetContext, lake__clicks: pa.Table) -> pa.Table:
                start, end = context.partition_window
                low, high = pc.min(lake__clicks['ts']).as_py(), pc.max(lake__clicks['ts']).as_py()
                assert start <= low and high < end, (start, low, high, end)
                return pa.table({{'day': pa.array([start], pa.timestamp('us')),
                                  'clicks': [lake__clicks.num_rows]}})
        """,
            "models/hourly_per_day.sql": f"""
            {{{{ config(partitioned_by={days}, partition_column='day') }}}}
            select date_trunc('day', ts) as day, count(*) as rows_read,
                   count(distinct date_trunc('hour', ts)) as hours,
                   min(ts)::varchar as first_ts, max(ts)::varchar as last_ts
            from hourly group by 1
        """,
        }
    )
    # the CSV has clicks every 30 minutes from 2025-12-31 20:00 to 2026-01-04 03:30
    import datetime as dt

    (root / "data").mkdir()
    t = dt.datetime(2025, 12, 31, 20)
    lines = ["ts,user_id"]
    while t < dt.datetime(2026, 1, 4, 4):
        lines.append(f"{t:%Y-%m-%d %H:%M:%S},{t.minute}")
        t += dt.timedelta(minutes=30)
    (root / "data" / "clicks.csv").write_text("\n".join(lines) + "\n")

    teal(root, "compile")
    compiled = (root / "target/compiled/models/clicks_per_day.sql").read_text()
    assert '"ts" >= __teal_pw0_start__' in compiled and '"ts" < __teal_pw0_end__' in compiled

    out = teal(root, "build").stdout
    assert built_keys(out, "hourly") == [
        f"2026-01-{d:02d}-{h:02d}:00" for d in (1, 2, 3) for h in range(24)
    ]
    assert built_keys(out, "clicks_per_day") == DAYS[:3]
    assert query(
        db(root), "select strftime(day, '%Y-%m-%d'), clicks, hours from clicks_per_day order by 1"
    ) == [(d, 48, 24) for d in DAYS[:3]]
    assert query(
        db(root), "select strftime(day, '%Y-%m-%d'), clicks from clicks_py order by 1"
    ) == [(d, 48) for d in DAYS[:3]]
    assert query(
        db(root),
        "select strftime(day, '%Y-%m-%d'), rows_read, hours, first_ts, last_ts "
        "from hourly_per_day order by 1",
    ) == [(d, 144, 24, f"{d} 00:00:00", f"{d} 23:50:00") for d in DAYS[:3]]

    # one hour rebuilt: only the day that contains it is rebuilt downstream
    out = teal(root, "build", "-s", "hourly+", "--partition", "2026-01-02-05:00").stdout
    assert built_keys(out, "hourly") == ["2026-01-02-05:00"]
    assert built_keys(out, "hourly_per_day") == ["2026-01-02"]
    assert "clicks_per_day" not in out


def test_lookback_reads_the_partition_and_the_two_before_it(project):
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/rolling.sql": f"""
            {{{{ config(partitioned_by={DAILY}, partition_column='day',
                        partition_mapping={{'events': 'lookback(3)'}}) }}}}
            select max(date_trunc('day', ts)) as day, count(*) as rows_read,
                   count(distinct ts::date) as days_read, min(ts)::varchar as first_ts
            from events
        """,
        }
    )
    teal(root, "compile")
    compiled = (root / "target/compiled/models/rolling.sql").read_text()
    assert '"ts" >= __teal_pw0_start__ AND "ts" < __teal_pw0_end__' in compiled

    from teal.compiler.config import load_config
    from teal.compiler.project import load_project

    proj = load_project(config=load_config(root))
    model = proj.models["rolling"]
    filled = proj.sql_for_partition(model, model.compiled_sql, "2026-01-05")
    assert "TIMESTAMP '2026-01-03 00:00:00'" in filled
    assert "TIMESTAMP '2026-01-06 00:00:00'" in filled
    assert "__teal_" not in filled

    teal(root, "build")
    rows = query(
        db(root),
        "select strftime(day, '%Y-%m-%d'), rows_read, days_read, first_ts from rolling order by 1",
    )
    assert rows[:3] == [
        ("2026-01-01", 24, 1, "2026-01-01 00:00:00"),
        ("2026-01-02", 48, 2, "2026-01-01 00:00:00"),
        ("2026-01-03", 72, 3, "2026-01-01 00:00:00"),
    ]
    assert rows[3:] == [(d, 72, 3, f"2026-01-{int(d[-2:]) - 2:02d} 00:00:00") for d in DAYS[3:]]

    # rebuilding events 2026-01-05 makes rolling rebuild the days that read it: 05, 06, 07
    out = teal(root, "build", "-s", "events+", "--partition", "2026-01-05").stdout
    assert built_keys(out, "rolling") == ["2026-01-05", "2026-01-06", "2026-01-07"]


def test_a_mapping_filters_its_upstream_also_when_the_query_uses_partition_values(project):
    """The query places its rows with partition.start and reads events unfiltered: the
    lookback(3) mapping still decides what each partition reads (it read every event,
    while staleness followed the mapping)."""
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/rolling.sql": f"""
            {{{{ config(partitioned_by={DAILY}, partition_column='day',
                        partition_mapping={{'events': 'lookback(3)'}}) }}}}
            select cast('{{{{ partition.start }}}}' as date) as day, count(*) as rows_read,
                   count(distinct ts::date) as days_read
            from events
        """,
        }
    )
    teal(root, "build")
    rows = query(
        db(root), "select strftime(day, '%Y-%m-%d'), rows_read, days_read from rolling order by 1"
    )
    assert rows[:3] == [("2026-01-01", 24, 1), ("2026-01-02", 48, 2), ("2026-01-03", 72, 3)]
    assert all(r[1:] == (72, 3) for r in rows[3:])


@pytest.mark.parametrize("machine_zone", ["UTC", "America/New_York"])
def test_a_timestamptz_column_is_placed_in_the_partitions_zone_on_any_machine(
    project, machine_zone
):
    """Berlin days over a TIMESTAMPTZ column: 23:30 UTC on June 1st is 01:30 on June 2nd in
    Berlin, whatever zone the machine is in (DuckDB read the bounds in the machine's)."""
    root = project(
        {
            "models/ev.sql": "{{ config(materialized='table') }}\n"
            "select * from (values (timestamptz '2025-06-01 23:30:00+00'),"
            " (timestamptz '2025-06-01 12:00:00+00'),"
            " (timestamptz '2025-06-02 02:00:00+00')) t(ts)",
            "models/daily_tz.sql": "{{ config(materialized='incremental', partitioned_by="
            "{'daily': {'start': '2025-06-01', 'end': '2025-06-03', 'timezone': 'Europe/Berlin'}},"
            " partition_column='ts') }}\n"
            "select ts from ev where ts >= {{ partition.start }} and ts < {{ partition.end }}",
        }
    )
    done = run_teal("build", cwd=root, env={"TZ": machine_zone})
    assert done.returncode == 0, done.output
    assert query(
        db(root),
        "select partition_key, rows from teal.partitions where model = 'daily_tz' order by 1",
    ) == [("2025-06-01", 1), ("2025-06-02", 2)]


def test_the_hour_repeated_in_autumn_fills_both_of_its_partitions(project):
    """Berlin's 02:00-03:00 happens twice on 26 October 2025: over a TIMESTAMPTZ column
    each copy is a partition of its own rows (its bounds were the same wall time, so the
    first copy's window was empty and its rows were refused); a TIMESTAMP column's rows
    there belong to the second copy, as DuckDB reads that wall time."""
    hourly = "{'hourly': {'start': '2025-10-26 00:00', 'timezone': 'Europe/Berlin'}}"
    root = project(
        {
            "models/tz.sql": "{{ config(materialized='incremental', partitioned_by="
            f"{hourly}, partition_column='ts') }}}}\n"
            "select cast(ts as timestamptz) as ts\n"
            "from range({{ partition.start }}, {{ partition.end }}, interval 30 minute) t(ts)",
            "models/wall.sql": "{{ config(materialized='incremental', partitioned_by="
            f"{hourly}, partition_column='ts') }}}}\n"
            "select ts from (values (timestamp '2025-10-26 01:30'), (timestamp "
            "'2025-10-26 02:30'), (timestamp '2025-10-26 03:30')) t(ts)\n"
            "where ts >= {{ partition.start }} and ts < {{ partition.end }}",
        }
    )
    done = run_teal("build", "--partition-range", "2025-10-26-01:00..2025-10-26-03:00", cwd=root)
    assert done.returncode == 0, done.output
    rows = "select model, partition_key, rows from teal.partitions"
    assert sorted(query(db(root), rows)) == [
        ("tz", "2025-10-26-01:00", 2),
        ("tz", "2025-10-26-02:00+01:00", 2),
        ("tz", "2025-10-26-02:00+02:00", 2),
        ("tz", "2025-10-26-03:00", 2),
        ("wall", "2025-10-26-01:00", 1),
        ("wall", "2025-10-26-02:00+01:00", 1),
        ("wall", "2025-10-26-02:00+02:00", 0),
        ("wall", "2025-10-26-03:00", 1),
    ]
    utc = "select strftime(timezone('UTC', ts), '%H:%M') from tz order by ts"
    assert [r[0] for r in query(db(root), utc)] == [
        "23:00",
        "23:30",
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "02:00",
        "02:30",
    ]  # eight distinct instants: no hour lost, none twice


def test_partitions_reading_upstream_partitions_never_built_are_warned_about(project):
    """daily 01..03 over events of which only 01 is built: built, with a warning naming
    the missing upstream partitions (it said nothing, and recorded them up to date)."""
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/daily.sql": f"""
            {{{{ config(partitioned_by={DAILY}, partition_column='day') }}}}
            select date_trunc('day', ts) as day, count(*) as n from events group by 1
        """,
        }
    )
    teal(root, "build", "-s", "events", "--partition", "2026-01-01")
    done = teal(root, "build", "-s", "daily", "--partition-range", "2026-01-01..2026-01-03")
    assert "daily reads partitions of events that are not built (2026-01-02, 2026-01-03)" in (
        done.stderr
    )
    again = teal(root, "build", "-s", "daily", "--partition", "2026-01-01")
    assert "not built" not in again.stderr


# --------------------------------------------------------------------------- two dimensions

GRID = (
    "{'date': {'type': 'daily', 'start': '2026-01-01', 'end': '2026-01-04'}, "
    "'region': ['eu', 'us']}"
)
GRID_COLUMNS = "{'date': 'day', 'region': 'region'}"


def test_a_date_by_region_model_refreshes_one_slice_only(project):
    root = project(
        {
            "models/sales.sql": f"""
            {{{{ config(partitioned_by={GRID}, partition_column={GRID_COLUMNS}) }}}}
            select day, '{{{{ partition.region }}}}' as region,
                   hour(day) * 10 + {{{{ var('bump', 0) }}}} as v
            from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, INTERVAL 1 HOUR) t(day)
        """,
            "models/sales_by_region.sql": f"""
            {{{{ config(partitioned_by={GRID}, partition_column={GRID_COLUMNS}) }}}}
            select date_trunc('day', day) as day, region, count(*) as n, sum(v) as total
            from sales group by all
        """,
            "models/sales_by_day.sql": """
            {{ config(partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-04'}},
                      partition_column='day') }}
            select date_trunc('day', day) as day, count(*) as n, sum(v) as total,
                   count(distinct region) as regions
            from sales group by all
        """,
        }
    )
    keys = [f"{d}|{r}" for d in DAYS[:3] for r in ("eu", "us")]
    teal(root, "compile")
    compiled = (root / "target/compiled/models/sales_by_region.sql").read_text()
    assert '"day" >= __teal_pw0_start__' in compiled
    assert '"region" IN (__teal_pw0_in_region__)' in compiled

    out = teal(root, "build").stdout
    assert built_keys(out, "sales") == keys and built_keys(out, "sales_by_region") == keys
    assert built_keys(out, "sales_by_day") == DAYS[:3]
    assert list(partitions_json(root, "sales")) == keys

    def slices() -> dict[tuple[str, str], tuple]:
        return {
            (d, r): tuple(rest)
            for d, r, *rest in query(
                db(root),
                """
            select strftime(day, '%Y-%m-%d'), region, count(*), sum(v), sum(hash(s))
            from sales s group by 1, 2""",
            )
        }

    def summary(relation: str) -> list[tuple]:
        return query(
            db(root),
            f"select * exclude (day), strftime(day, '%Y-%m-%d') as d from {relation} order by all",
        )

    before, by_region, by_day = slices(), summary("sales_by_region"), summary("sales_by_day")
    assert set(before) == {tuple(k.split("|")) for k in keys}
    assert all(v[0] == 24 for v in before.values())
    assert by_day == [(48, 2 * 24 * 115, 2, d) for d in DAYS[:3]]

    out = teal(
        root, "build", "-s", "sales+", "--partition", "2026-01-02|eu", "--vars", "{bump: 1000}"
    ).stdout
    assert built_keys(out, "sales") == ["2026-01-02|eu"]
    assert built_keys(out, "sales_by_region") == ["2026-01-02|eu"]
    assert built_keys(out, "sales_by_day") == ["2026-01-02"]
    after = slices()
    changed = [k for k in before if after[k] != before[k]]
    assert changed == [("2026-01-02", "eu")]
    assert after[("2026-01-02", "eu")][:2] == (24, before[("2026-01-02", "eu")][1] + 24 * 1000)
    new_by_region = summary("sales_by_region")
    assert [r for r in new_by_region if r not in by_region] == [
        ("eu", 24, 24 * 115 + 24 * 1000, "2026-01-02")
    ]
    assert summary("sales_by_day") == sorted(
        (48, 2 * 24 * 115 + (24 * 1000 if d == "2026-01-02" else 0), 2, d) for d in DAYS[:3]
    )
    assert_no_duplicates(root, "sales", "day, region")

    bad = teal(root, "build", "-s", "sales", "--partition", "2026-01-02|asia", ok=False)
    assert bad.returncode == 2 and "asia" in bad.stderr


# --------------------------------------------------------------------------- Python assets

ASSET_PY = """
    import pyarrow as pa
    import pyarrow.compute as pc
    import teal

    @teal.asset(partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-11'}},
                partition_column='ts')
    def enriched(context: teal.AssetContext, events: pa.Table) -> pa.Table:
        start, end = context.partition_window
        assert context.partition_key == start.strftime('%Y-%m-%d'), context.partition_key
        assert events.num_rows == 24, f"got {events.num_rows} rows"
        low, high = pc.min(events['ts']).as_py(), pc.max(events['ts']).as_py()
        assert start <= low and high < end, (start, low, high, end)
        if context.partition_key == str(context.vars.get('explode', '')):
            raise RuntimeError(f"exploded on {context.partition_key}")
        context.log.info("partition %s: %d rows", context.partition_key, events.num_rows)
        factor = int(context.vars.get('factor', 1))
        out = pa.table({'ts': events['ts'], 'v': events['v'],
                        'v2': pc.multiply(events['v'], factor)})
        if context.partition_key == str(context.vars.get('leak', '')):  # a row a day late
            late = pa.table({'ts': pa.array([end], out.schema.field('ts').type),
                             'v': pa.array([-1], out.schema.field('v').type),
                             'v2': pa.array([-1], out.schema.field('v2').type)})
            out = pa.concat_tables([out, late])
        return out
"""


def test_a_partitioned_python_asset_gets_its_partitions_rows_and_replaces_its_partition(project):
    root = project({"models/events.sql": EVENTS_SQL, "models/enriched.py": ASSET_PY})
    out = teal(root, "build").stdout
    assert built_keys(out, "enriched") == DAYS, out
    assert "[enriched] partition 2026-01-05: 24 rows" in out
    before = per_day(root, "enriched", "ts", "v2")
    assert list(before) == DAYS and all(v[0] == 24 for v in before.values())
    assert (
        query(
            db(root),
            "select count(*) from enriched e join events v using (ts) "
            "where e.v = v.v and e.v2 = v.v",
        )[0][0]
        == 240
    )

    out = teal(
        root, "build", "-s", "enriched", "--partition", "2026-01-06", "--vars", "{factor: 3}"
    ).stdout
    assert built_keys(out, "enriched") == ["2026-01-06"]
    after = per_day(root, "enriched", "ts", "v2")
    assert [d for d in DAYS if after[d] != before[d]] == ["2026-01-06"]
    assert after["2026-01-06"][:2] == (24, 3 * before["2026-01-06"][1])
    teal(root, "build", "-s", "enriched", "--partition", "2026-01-06", "--vars", "{factor: 3}")
    assert per_day(root, "enriched", "ts", "v2") == after
    assert_no_duplicates(root, "enriched", "ts")

    # an upstream partition rebuilt: the asset rebuilds that partition with the new rows
    out = teal(
        root, "build", "-s", "events+", "--partition", "2026-01-02", "--vars", "{bump: 5}"
    ).stdout
    assert built_keys(out, "enriched") == ["2026-01-02"]
    assert per_day(root, "enriched", "ts", "v")["2026-01-02"][1] == before["2026-01-02"][1] + 24 * 5

    # the asset raising, or returning a row of the next day, fails that partition only;
    # its old rows stay
    failed = teal(
        root,
        "build",
        "-s",
        "enriched",
        "--partition-range",
        "2026-01-07..2026-01-09",
        "--vars",
        "{explode: 2026-01-08, leak: 2026-01-09, factor: 2}",
        ok=False,
    )
    assert failed.returncode == 1
    assert built_keys(failed.stdout, "enriched") == ["2026-01-07"]
    assert failed_keys(failed.stdout, "enriched") == ["2026-01-08", "2026-01-09"]
    assert "RuntimeError: exploded on 2026-01-08" in failed.stdout
    assert re.search(r"1 (of 25 )?rows do not belong to partition 2026-01-09", failed.stdout)
    final = per_day(root, "enriched", "ts", "v2")
    assert final["2026-01-08"] == before["2026-01-08"]
    assert final["2026-01-09"] == before["2026-01-09"]
    assert query(db(root), "select count(*) from enriched where v < 0")[0][0] == 0
    assert final["2026-01-07"][1] == 2 * before["2026-01-07"][1]
    assert partitions_json(root, "enriched")["2026-01-08"]["status"] == "failed"


def test_full_refresh_of_a_python_asset_is_atomic_and_equals_a_clean_build(project):
    root = project({"models/events.sql": EVENTS_SQL, "models/enriched.py": ASSET_PY})
    teal(root, "build", "--warehouse", "clean.duckdb")
    teal(root, "build", "--vars", "{factor: 5}")
    import duckdb

    con = duckdb.connect(str(db(root)))  # drift: a duplicate, and a row in no partition
    con.execute(
        "insert into enriched select * from enriched where ts = TIMESTAMP '2026-01-04 05:00'"
    )
    con.execute("insert into enriched values (TIMESTAMP '2025-12-31 12:00', 1, 1)")
    con.close()

    # a failure in one partition fails the whole refresh: nothing changes
    before = query(db(root), "select * from enriched order by all")
    bad = teal(
        root,
        "build",
        "-s",
        "enriched",
        "--full-refresh",
        "--vars",
        "{factor: 3, explode: 2026-01-05}",
        ok=False,
    )
    assert bad.returncode == 1 and "exploded on 2026-01-05" in bad.stdout
    assert query(db(root), "select * from enriched order by all") == before

    out = teal(root, "build", "-s", "enriched", "--full-refresh").stdout
    assert built_keys(out, "enriched") == DAYS
    con = duckdb.connect(str(db(root)), read_only=True)
    con.execute(f"attach '{root / 'clean.duckdb'}' as clean (read_only)")
    for a, b in (("enriched", "clean.enriched"), ("clean.enriched", "enriched")):
        assert (
            con.execute(
                f"select count(*) from (select * from {a} except all select * from {b})"
            ).fetchone()[0]
            == 0
        ), (a, b)
    con.close()


def test_a_partitioned_python_root_feeds_a_sql_model_through_pushdown(project):
    root = project(
        {
            "models/ticks.py": """
            from datetime import timedelta

            import polars as pl
            import teal

            @teal.asset(partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-06'}},
                        partition_column='ts')
            def ticks(context: teal.AssetContext) -> pl.DataFrame:
                start, end = context.partition_window
                n = int((end - start) / timedelta(minutes=15))
                return pl.DataFrame({
                    'ts': [start + timedelta(minutes=15 * i) for i in range(n)],
                    'price': [float(i) for i in range(n)],
                })
        """,
            "models/ohlc.sql": """
            {{ config(partitioned_by={'daily': {'start': '2026-01-01', 'end': '2026-01-06'}},
                      partition_column='day') }}
            select date_trunc('day', ts) as day, count(*) as n, max(price) as high
            from ticks group by 1
        """,
        }
    )
    teal(root, "build")
    assert query(db(root), "select strftime(day, '%Y-%m-%d'), n, high from ohlc order by 1") == [
        (d, 96, 95.0) for d in DAYS[:5]
    ]
    assert query(db(root), "select count(*), count(distinct ts) from ticks")[0] == (480, 480)


# --------------------------------------------------------------------------- pushdown


def test_pushdown_is_in_the_compiled_sql_unless_the_model_filters_itself(project):
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/daily_sum.sql": DAILY_SUM_SQL,
            "models/two_days.sql": f"""
            {{{{ config(partitioned_by={DAILY}, partition_column='day') }}}}
            select {{{{ partition.start }}}} as day, count(*) as rows_read
            from events
            where ts >= {{{{ partition.start }}}} - INTERVAL 1 DAY and ts < {{{{ partition.end }}}}
        """,
        }
    )
    teal(root, "compile")
    compiled = root / "target/compiled/models"
    pushed = (compiled / "daily_sum.sql").read_text()
    assert re.search(
        r'FROM "main"\."events"\s+WHERE\s+"ts" >= __teal_pw0_start__ '
        r'AND "ts" < __teal_pw0_end__',
        pushed,
    ), pushed
    own = (compiled / "two_days.sql").read_text()
    assert "__teal_pw" not in own
    assert "__teal_partition_start__" in own and "__teal_partition_end__" in own

    teal(root, "build")
    rows = dict(query(db(root), "select strftime(day, '%Y-%m-%d'), rows_read from two_days"))
    assert rows == {d: 24 if d == "2026-01-01" else 48 for d in DAYS}  # its own window: 2 days
    assert dict(query(db(root), "select strftime(day, '%Y-%m-%d'), n from daily_sum")) == {
        d: 24 for d in DAYS
    }


# --------------------------------------------------------------------------- teal partitions


def test_partitions_shows_materialized_missing_failed_and_stale(project):
    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": DAILY_SUM_SQL})
    teal(root, "build", "-s", "events", "--partition-range", "2026-01-01..2026-01-08")
    failed = teal(
        root,
        "build",
        "-s",
        "events",
        "--partition",
        "2026-01-05",
        "--vars",
        "{bad_day: 2026-01-05}",
        ok=False,
    )
    assert failed.returncode == 1
    teal(root, "build", "-s", "daily_sum", "--partition-range", "2026-01-01..2026-01-04")
    # one day of events rebuilt from other vars: its data changed, so daily_sum's day is
    # stale; and against the project as it is (no vars), the events day itself is stale
    teal(root, "build", "-s", "events", "--partition", "2026-01-02", "--vars", "{bump: 7}")

    events = partitions_json(root, "events")
    assert list(events) == DAYS
    assert {k: r["status"] for k, r in events.items()} == {
        **{d: "materialized" for d in DAYS[:8]},
        "2026-01-02": "stale",
        "2026-01-05": "failed",
        "2026-01-09": "missing",
        "2026-01-10": "missing",
    }
    assert "bad day 2026-01-05" in events["2026-01-05"]["note"]
    assert events["2026-01-01"]["rows"] == 24 and events["2026-01-09"]["rows"] is None
    assert events["2026-01-09"]["built_at"] is None and events["2026-01-01"]["run_id"]

    sums = partitions_json(root, "daily_sum")
    assert {k: r["status"] for k, r in sums.items()} == {
        "2026-01-01": "materialized",
        "2026-01-02": "stale",
        "2026-01-03": "materialized",
        "2026-01-04": "materialized",
        **{d: "missing" for d in DAYS[4:]},
    }
    assert sums["2026-01-02"]["note"] == "upstream events changed"
    assert events["2026-01-02"]["note"] == "its code, config or vars changed"

    text = teal(root, "partitions", "events").stdout
    assert re.search(r"^2026-01-05\s+failed\s+.*bad day 2026-01-05", text, re.M), text
    assert text.rstrip().endswith("1 failed, 6 materialized, 2 missing, 1 stale"), text
    only = partitions_json(root, "events", "--status", "failed", "--status", "missing")
    assert list(only) == ["2026-01-05", "2026-01-09", "2026-01-10"]
    assert list(partitions_json(root, "daily_sum", "--status", "stale")) == ["2026-01-02"]
    none = teal(root, "partitions", "daily_sum", "--status", "failed").stdout
    assert none.strip() == "No partition of daily_sum is failed"

    # rebuilding the stale partition from what it reads now makes it materialized again
    teal(root, "build", "-s", "daily_sum", "--partition", "2026-01-02")
    assert partitions_json(root, "daily_sum")["2026-01-02"]["status"] == "materialized"
    # a plain build builds what is missing, failed or stale, and nothing else
    planned = teal(root, "plan").stdout
    assert re.search(r"events .*1 stale \(its code, config or vars changed\), 1 failed", planned)
    out = teal(root, "build").stdout
    assert built_keys(out, "events") == ["2026-01-02", "2026-01-05", "2026-01-09", "2026-01-10"]
    assert built_keys(out, "daily_sum") == ["2026-01-02", *DAYS[4:]]
    assert {r["status"] for r in partitions_json(root, "events").values()} == {"materialized"}
    unpartitioned = teal(root, "partitions", "nope", ok=False)
    assert unpartitioned.returncode == 2


# --------------------------------------------------------------------------- wrong rows

LEAKY_SQL = f"""
    {{{{ config(partitioned_by={DAILY}, partition_column='ts') }}}}
    select ts, hour(ts) + {{{{ var('bump', 0) }}}} as v
    from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, INTERVAL 1 HOUR) t(ts)
    union all
    select {{{{ partition.end }}}} as ts, -1 as v
    where '{{{{ partition.key }}}}' = '{{{{ var("leak_day", "") }}}}'
    union all
    select null as ts, -2 as v
    where '{{{{ partition.key }}}}' = '{{{{ var("null_day", "") }}}}'
"""


def test_rows_outside_the_partition_fail_it_and_leave_the_old_rows(project):
    root = project({"models/leaky.sql": LEAKY_SQL})
    teal(root, "build")
    clean = per_day(root, "leaky")
    runs = partition_state(root, "leaky")

    bad = teal(
        root,
        "build",
        "--partition-range",
        "2026-01-03..2026-01-06",
        "--vars",
        "{bump: 100, leak_day: 2026-01-04, null_day: 2026-01-06}",
        ok=False,
    )
    assert bad.returncode == 1
    assert built_keys(bad.stdout, "leaky") == ["2026-01-03", "2026-01-05"]
    assert failed_keys(bad.stdout, "leaky") == ["2026-01-04", "2026-01-06"]
    for day in ("2026-01-04", "2026-01-06"):  # one row outside: a day late, or NULL
        assert re.search(rf"\b1 (of 25 )?rows do not belong to partition {day}", bad.stdout), (
            bad.stdout
        )
    assert (
        "\"ts\" >= TIMESTAMP '2026-01-04 00:00:00' AND \"ts\" < TIMESTAMP '2026-01-05 00:00:00'"
        in bad.stdout
    )
    assert re.search(
        r"ERROR .*main\.leaky .*partition 2026-01-04: 1 (of 25 )?rows do not belong", bad.stdout
    )  # the model's line
    after = per_day(root, "leaky")
    assert after["2026-01-04"] == clean["2026-01-04"] and after["2026-01-06"] == clean["2026-01-06"]
    assert after["2026-01-03"][1] == clean["2026-01-03"][1] + 2400
    assert {d: after[d] for d in DAYS if d not in DAYS[2:6]} == {
        d: clean[d] for d in DAYS if d not in DAYS[2:6]
    }
    assert query(db(root), "select count(*) from leaky where v < 0 or ts is null")[0][0] == 0
    state = partition_state(root, "leaky")
    assert state["2026-01-04"][0] == "error" and state["2026-01-06"][0] == "error"
    assert {k: v for k, v in state.items() if k not in DAYS[2:6]} == {
        k: v for k, v in runs.items() if k not in DAYS[2:6]
    }
    assert partitions_json(root, "leaky")["2026-01-04"]["status"] == "failed"

    # --full-refresh with a leaking partition: nothing at all changes
    before = per_day(root, "leaky")
    refresh = teal(
        root, "build", "--full-refresh", "--vars", "{bump: 7, leak_day: 2026-01-09}", ok=False
    )
    assert refresh.returncode == 1
    assert "do not belong to partition 2026-01-09" in refresh.stdout
    assert per_day(root, "leaky") == before
    assert partition_state(root, "leaky") == state


# --------------------------------------------------------------------------- --full-refresh


def test_full_refresh_rebuilds_every_partition_at_once_and_equals_a_clean_build(project):
    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": DAILY_SUM_SQL})
    teal(root, "build", "--warehouse", "clean.duckdb")
    teal(root, "build", "--vars", "{bump: 3}")
    teal(root, "build", "--partition", "2026-01-03", "--vars", "{bump: 1000}")
    import duckdb

    con = duckdb.connect(str(db(root)))  # drift: a stray duplicate and a lost day
    con.execute("insert into events select * from events where ts = TIMESTAMP '2026-01-05 07:00'")
    con.execute("delete from daily_sum where day = TIMESTAMP '2026-01-08'")
    con.close()

    planned = teal(root, "plan", "--full-refresh").stdout
    assert planned.count("incremental 10 partitions") == 2
    out = teal(root, "build", "--full-refresh").stdout
    assert built_keys(out, "events") == DAYS and built_keys(out, "daily_sum") == DAYS

    con = duckdb.connect(str(db(root)))
    con.execute(f"attach '{root / 'clean.duckdb'}' as clean (read_only)")
    for relation in ("events", "daily_sum"):
        assert (
            con.execute(f"select count(*) from {relation}").fetchone()
            == con.execute(f"select count(*) from clean.{relation}").fetchone()
        )
        for a, b in ((relation, f"clean.{relation}"), (f"clean.{relation}", relation)):
            assert (
                con.execute(
                    f"select count(*) from (select * from {a} except all select * from {b})"
                ).fetchone()[0]
                == 0
            )
        runs = con.execute(
            f"select distinct status, run_id from teal.partition_state where model = '{relation}'"
        ).fetchall()
        assert len(runs) == 1 and runs[0][0] == "success"  # one run wrote them all
    con.close()

    # a failing partition fails the whole refresh: every partition keeps its rows
    before = per_day(root)
    state = partition_state(root, "events")
    bad = teal(
        root,
        "build",
        "-s",
        "events",
        "--full-refresh",
        "--vars",
        "{bump: 9, bad_day: 2026-01-10}",
        ok=False,
    )
    assert bad.returncode == 1 and "bad day 2026-01-10" in bad.stdout
    assert per_day(root) == before
    assert partition_state(root, "events") == state


# ------------------------------------------------- the default policy builds at once


# daily_sum, built with one query when the default policy judges it decomposable; a day
# equal to var bad_sum fails its query
AT_ONCE_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='day') }}}}
    {{% if var('policy', '') %}}{{{{ config(backfill_policy=var('policy')) }}}}{{% endif %}}
    select date_trunc('day', ts) as day, count(*) as n,
           sum(case when ts::date = DATE '{{{{ var("bad_sum", "1900-01-01") }}}}'
                    then error('bad sum ' || ts::date::varchar) else v end) as total
    from events
    group by 1
"""


def test_a_decomposable_model_gives_the_rows_of_one_query_per_partition(project):
    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": AT_ONCE_SQL})
    out = teal(root, "build", "--vars", "{policy: multi_run}", "--warehouse", "each.duckdb")
    assert built_keys(out.stdout, "daily_sum") == DAYS
    out = teal(root, "build")  # the default policy: the range from one query
    assert built_keys(out.stdout, "daily_sum") == DAYS  # still reported per partition
    by_day = "select day, n, total from {} order by day"
    import duckdb

    con = duckdb.connect(str(db(root)))
    con.execute(f"attach '{root / 'each.duckdb'}' as each (read_only)")
    assert (
        con.execute(by_day.format("daily_sum")).fetchall()
        == con.execute(by_day.format("each.daily_sum")).fetchall()
    )
    rows = con.execute(
        "select partition_key, rows from teal.partition_state where model = 'daily_sum' order by 1"
    ).fetchall()
    con.close()
    assert rows == [(d, 1) for d in DAYS]


def test_a_failing_day_of_a_range_built_at_once_fails_alone(project):
    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": AT_ONCE_SQL})
    teal(root, "build")
    clean = per_day(root, "daily_sum", "day", "total")
    bad = teal(
        root, "backfill", "daily_sum", "--vars", "{bad_sum: 2026-01-04}", ok=False
    )  # the one query fails: the range is redone partition by partition
    assert bad.returncode == 1
    assert failed_keys(bad.stdout, "daily_sum") == ["2026-01-04"]
    assert built_keys(bad.stdout, "daily_sum") == [d for d in DAYS if d != "2026-01-04"]
    assert "bad sum 2026-01-04" in bad.stdout
    assert per_day(root, "daily_sum", "day", "total") == clean
    assert partitions_json(root, "daily_sum")["2026-01-04"]["status"] == "failed"


def test_a_model_that_moves_rows_across_partitions_is_refused_per_partition(project):
    # every day's rows land on the first of the month: one query over the range would
    # place them all there; partition by partition, each day is refused
    moved = AT_ONCE_SQL.replace("date_trunc('day', ts)", "date_trunc('month', ts)")
    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": moved})
    out = teal(root, "build", ok=False)
    assert out.returncode == 1
    assert built_keys(out.stdout, "daily_sum") == ["2026-01-01"]
    assert failed_keys(out.stdout, "daily_sum") == DAYS[1:]


def test_a_misspelt_partition_column_fails_before_anything_is_built(project):
    misspelt = DAILY_SUM_SQL.replace("partition_column='day'", "partition_column='dayy'")
    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": misspelt})
    for command in ("validate", "build"):
        done = teal(root, command, ok=False)
        assert done.returncode == 2, done.stdout + done.stderr
        written = (root / "models/daily_sum.sql").read_text().splitlines()[0]
        col = written.index("partition_column") + 1  # at the setting, not the line's start
        assert (
            f"models/daily_sum.sql:1:{col}: partition_column 'dayy' of daily_sum is not a "
            "column its query produces (it produces: day, n, total)\n"
            f"    {written}\n    {' ' * (col - 1)}^\n" in done.stderr
        )
        assert "hint: did you mean 'day'?" in done.stderr
        assert "Traceback" not in done.stderr
    assert not db(root).exists()  # the build stopped before the warehouse was written
