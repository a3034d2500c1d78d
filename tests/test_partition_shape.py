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
