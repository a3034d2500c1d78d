"""Which partitioned queries give, over a range of partitions, exactly the union of their
per-partition results (compiler/partition_shape.py): the default backfill policy builds
those with one query. Each rule has a query that passes it and one that does not."""

from __future__ import annotations

import pytest

from teal.compiler.partition_shape import not_decomposable
from teal.compiler.partitions import parse_partitions

DAYS = parse_partitions({"daily": "2026-01-01"})
HOURS = parse_partitions({"hourly": "2026-01-01"})
REGIONS = parse_partitions(["eu", "us"])
SCAN = "(SELECT * FROM e WHERE ts >= __teal_pw0_start__ AND ts < __teal_pw0_end__) AS e"
SCAN2 = "(SELECT * FROM c WHERE ts >= __teal_pw1_start__ AND ts < __teal_pw1_end__) AS c"


def judge(sql: str, definition=DAYS, mappings=("time_window",)) -> str | None:
    return not_decomposable(sql, definition, "day", mappings)


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT CAST(ts AS DATE) AS day, count(*) AS n FROM {SCAN} GROUP BY 1",
        f"SELECT ts::date AS day, sum(v) AS v FROM {SCAN} GROUP BY day",
        f"SELECT date_trunc('day', ts) AS day, v FROM {SCAN}",
        f"SELECT ts AS day, v FROM {SCAN} JOIN dims AS d ON d.id = e.id",
        f"SELECT ts AS day, v FROM {SCAN} LEFT JOIN dims AS d ON d.id = e.id",
        "SELECT a.ts AS day FROM a JOIN b ON a.u = b.u WHERE a.ts >= __teal_partition_start__ "
        "AND a.ts < __teal_partition_end__",
        f"SELECT CAST(e.ts AS DATE) AS day, count(*) AS n FROM {SCAN} JOIN dims AS d "
        "ON d.id = e.id GROUP BY 1",
        f"WITH x AS (SELECT * FROM {SCAN}) SELECT x.ts AS day FROM x",
        "SELECT o.day AS day FROM orders AS o WHERE day >= __teal_partition_start__ "
        "AND day < __teal_partition_end__",
        f"SELECT DISTINCT ts AS day, v FROM {SCAN}",
        f"SELECT CAST(ts AS DATE) AS day, count(*) AS n FROM {SCAN} GROUP BY ALL",
        f"WITH x AS (SELECT ts, v * 2 AS v FROM {SCAN}) SELECT ts AS day, v FROM x",
        "SELECT day, sum(v) AS v FROM orders WHERE day >= CAST('__teal_partition_start__' AS "
        "DATE) AND day < CAST('__teal_partition_end__' AS DATE) GROUP BY day",
    ],
)
def test_decomposable_queries(sql):
    assert judge(sql) is None


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        (f"SELECT count(*) AS n, max(ts) AS day FROM {SCAN}", "without grouping by"),
        (f"SELECT CAST(ts AS DATE) AS day, v, n FROM {SCAN} GROUP BY 1, 2, 3 LIMIT 5", "LIMIT"),
        (f"SELECT ts AS day, sum(v) OVER (ORDER BY ts) AS v FROM {SCAN}", "window"),
        (f"SELECT ts AS day FROM {SCAN} WHERE v IN (SELECT v FROM {SCAN})", "outside FROM"),
        (
            f"SELECT ts AS day FROM (SELECT ts, count(*) AS n FROM {SCAN} GROUP BY 1) AS g",
            "aggregates",
        ),
        (f"SELECT ts AS day FROM {SCAN} UNION SELECT ts AS day FROM {SCAN}", "set operation"),
        (f"SELECT ts AS day FROM dims AS d FULL JOIN {SCAN} ON d.id = e.id", "FULL JOIN"),
        (f"SELECT ts + INTERVAL 1 DAY AS day FROM {SCAN}", "not a column its window"),
        (f"SELECT date_trunc('month', ts) AS day FROM {SCAN}", "not a column its window"),
        (f"SELECT other AS day FROM {SCAN}", "not a column its window"),
        (
            "SELECT ts AS day FROM generate_series(__teal_partition_start__, "
            "__teal_partition_end__, INTERVAL 1 HOUR) AS t(ts)",  # its end is included
            "outside a WHERE comparison",
        ),
        (
            "SELECT ts AS day FROM range(__teal_partition_start__, __teal_partition_end__, "
            "INTERVAL 1 MONTH) AS t(ts)",
            "no fixed length",
        ),
        (
            "SELECT ts AS day FROM range(__teal_partition_end__, __teal_partition_start__, "
            "INTERVAL 1 HOUR) AS t(ts)",
            "outside a WHERE comparison",
        ),
        ("SELECT __teal_partition_start__ + INTERVAL 1 HOUR AS day", "outside a WHERE"),
        (f"SELECT ts AS day FROM {SCAN} WHERE k = '__teal_partition_key__'", "partition.key"),
        # a dimension's column named like the bounded one lies in any partition
        (
            f"SELECT CAST(d.ts AS DATE) AS day, count(*) AS n FROM {SCAN} JOIN dims AS d "
            "ON d.id = e.id GROUP BY 1",
            "comes from d, which no window filters",
        ),
        # two windowed sources joined: over a range a row meets other partitions' rows
        (f"SELECT e.ts AS day FROM {SCAN} JOIN {SCAN2} ON e.u = c.u", "joins two sources"),
        (f"SELECT e.ts AS day FROM {SCAN} LEFT JOIN {SCAN2} ON e.u = c.u", "joins two"),
        (f"SELECT e.ts AS day FROM {SCAN}, {SCAN2} WHERE e.u = c.u", "joins two sources"),
        (
            f"WITH w AS (SELECT * FROM {SCAN}) SELECT a.ts AS day FROM w AS a JOIN w AS b "
            "ON a.u = b.u",
            "joins two sources",
        ),
        (
            "SELECT a.ts AS day FROM a JOIN b ON a.u = b.u WHERE a.ts >= __teal_partition_start__"
            " AND a.ts < __teal_partition_end__ AND b.ts >= __teal_partition_start__ "
            "AND b.ts < __teal_partition_end__",
            "joins two sources",
        ),
    ],
)
def test_queries_that_are_built_partition_by_partition(sql, why):
    found = judge(sql)
    assert found is not None and why in found, found


def test_the_mapping_and_the_grain_decide_too():
    day_of = f"SELECT CAST(ts AS DATE) AS day FROM {SCAN}"
    assert "lookback(3)" in str(judge(day_of, mappings=("lookback(3)",)))
    assert "not a column" in str(judge(day_of, definition=HOURS, mappings=("identity",)))
    hour_of = f"SELECT date_trunc('hour', ts) AS day FROM {SCAN}"
    assert judge(hour_of, definition=HOURS, mappings=("identity",)) is None
    assert "time partitions" in str(judge(day_of, definition=REGIONS))


def test_a_generator_over_the_window_builds_at_once_when_its_step_divides_the_windows():
    from datetime import datetime, timedelta

    from teal.compiler.partition_shape import divides_windows
    from teal.compiler.partition_shape import judge as judged

    sql = (
        "SELECT ts AS day, hash(ts) AS v FROM range(__teal_partition_start__, "
        "__teal_partition_end__, INTERVAL 8640 MILLISECOND) AS t(ts)"
    )
    found = judged(sql, DAYS, "day", ())
    assert found.reason is None and found.steps == (timedelta(milliseconds=8640),)
    day = [(datetime(2026, 1, d), datetime(2026, 1, d + 1)) for d in (1, 2, 3)]
    assert divides_windows(found.steps, day)
    assert not divides_windows(found.steps, [day[0], day[2]])  # a gap between them
    assert not divides_windows((timedelta(hours=7),), day)
    dst = [(datetime(2026, 3, 29), datetime(2026, 3, 29, 23))]  # a 23-hour local day
    assert not divides_windows(found.steps, dst)
    assert divides_windows((timedelta(hours=1),), dst)


@pytest.mark.slow
def test_a_join_of_two_partitioned_upstreams_backfills_what_each_partition_would(tmp_path):
    """Two daily upstreams joined on a user: one query over three days would pair each
    event with the clicks of all three days (3x the rows); each day must read its own."""
    from tests.conftest import query, run_teal, write_project

    days = "{'daily': {'start': '2026-01-01', 'end': '2026-01-04'}}"
    generate = (
        "{{{{ config(materialized='incremental', partitioned_by={days}, partition_column='ts')"
        " }}}}\nselect ts, hour(ts) % 3 as user_id from range({{{{ partition.start }}}}, "
        "{{{{ partition.end }}}}, INTERVAL {step} HOUR) t(ts)\n"
    )
    root = write_project(
        tmp_path / "p",
        {
            "models/events.sql": generate.format(days=days, step=6),
            "models/clicks.sql": generate.format(days=days, step=12),
            "models/joined.sql": f"""
                {{{{ config(materialized='incremental', partitioned_by={days},
                          partition_column='day') }}}}
                select e.ts::date as day, count(*) as n
                from events e join clicks c on e.user_id = c.user_id
                group by 1
            """,
        },
    )
    env = {"TEAL_NOW": "2026-03-01T00:00:00"}
    built = run_teal("build", cwd=root, env=env)
    assert built.returncode == 0, built.output
    per_day = "select day::varchar, n from joined order by 1"
    expected = [("2026-01-01", 8), ("2026-01-02", 8), ("2026-01-03", 8)]
    assert query(root / "warehouse.duckdb", per_day) == expected
    refreshed = run_teal("build", "-s", "joined", "--partition", "2026-01-02", cwd=root, env=env)
    assert refreshed.returncode == 0, refreshed.output
    assert query(root / "warehouse.duckdb", per_day) == expected


@pytest.mark.slow
def test_a_partition_column_taken_from_a_dimension_fails_as_each_partition_would(tmp_path):
    """``d.ts`` of an unpartitioned dimension is not bounded by the events' window, though
    it shares the name of the bounded ``ts``: each day's query gives rows of other days
    (refused), so one query over the range must not place them there silently."""
    from tests.conftest import query, run_teal, write_project

    days = "{'daily': {'start': '2026-01-01', 'end': '2026-01-04'}}"
    root = write_project(
        tmp_path / "p",
        {
            "models/events.sql": f"""
                {{{{ config(materialized='incremental', partitioned_by={days},
                          partition_column='ts') }}}}
                select ts, hour(ts) % 3 as user_id
                from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, INTERVAL 6 HOUR) t(ts)
            """,
            "models/dims.sql": """
                {{ config(materialized='table') }}
                select 0 as user_id, TIMESTAMP '2026-01-01' as ts
            """,
            "models/joined.sql": f"""
                {{{{ config(materialized='incremental', partitioned_by={days},
                          partition_column='day') }}}}
                select d.ts::date as day, count(*) as n
                from events e join dims d on e.user_id = d.user_id
                group by 1
            """,
        },
    )
    built = run_teal("build", cwd=root, env={"TEAL_NOW": "2026-03-01T00:00:00"})
    assert built.returncode == 1, built.output
    assert "2 of 3 partitions failed" in built.output, built.output
    assert "do not belong to partition 2026-01-02" in built.output, built.output
    # and what to do, under the failure in the summary
    assert "    hint: a partition's query returns only its rows: filter on" in built.output
    # the day whose own query gives its own rows is built, with its own events only
    assert query(root / "warehouse.duckdb", "select day::varchar, n from joined") == [
        ("2026-01-01", 4)
    ]
