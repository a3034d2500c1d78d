"""Partition ranges asked for (``--partition-range``, ``--from``/``--to``, ``teal backfill``)
are held to the clock as single keys are, a range typed into ``--partition`` is pointed to
the flag for ranges, and a dynamic set keeps the keys of one ``teal partitions add`` in the
order given."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teal.compiler.partition_pass import _requested_keys
from teal.compiler.partitions import PartitionKeyError, TimePartitions
from teal.compiler.plan import PlanOptions
from teal.warehouse.duckdb import state
from tests.conftest import query, run_teal

# the two DST change days of 2025 in Berlin fall inside these definitions' keys
DEFINITIONS = (
    TimePartitions("daily", "2025-01-01", timezone="Europe/Berlin"),
    TimePartitions("hourly", "2025-03-29-00:00", timezone="Europe/Berlin"),
    TimePartitions("hourly", "2025-10-25-00:00", timezone="Europe/Berlin"),
    TimePartitions("monthly", "2024-01-01", timezone="America/New_York"),
)


@pytest.mark.slow  # about half a second: 50 examples
@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(DEFINITIONS),
    st.integers(2, 60),  # how many keys are up to now
    st.data(),
)
def test_a_range_is_the_keys_up_to_now_between_its_ends_and_no_later(parts, count, data):
    up_to = [parts.key_for(parts.start)]
    while len(up_to) <= count:
        up_to.append(parts.next_key(up_to[-1]))
    # in UTC: aware arithmetic in the zone would drop the fold of a repeated autumn hour
    now = parts.window(up_to[count])[0].astimezone(UTC) + timedelta(seconds=1)
    keys = parts.keys(now)
    assert keys == up_to[:count]
    first = data.draw(st.integers(0, count - 1))
    last = data.draw(st.integers(first, count - 1))
    asked = PlanOptions(partition_range=(keys[first], keys[last]), now=now)
    assert _requested_keys("m", parts, asked, PartitionKeyError) == keys[first : last + 1]

    # a range reaching past now is refused, as a single key past now is, whichever end
    later = up_to[count]
    for ends in ((keys[first], later), (later, later), ("", later), (later, "")):
        with pytest.raises(PartitionKeyError, match="not available yet"):
            _requested_keys(
                "m", parts, PlanOptions(partition_range=ends, now=now), PartitionKeyError
            )


def test_a_range_typed_into_partition_is_pointed_to_partition_range():
    parts = DEFINITIONS[0]
    now = datetime(2025, 2, 1, tzinfo=UTC)
    for typed in ("2025-01-01..2025-01-03", "2025-01-01...2025-01-03"):
        asked = PlanOptions(partition_keys=(typed,), now=now)
        with pytest.raises(PartitionKeyError) as info:
            _requested_keys("m", parts, asked, PartitionKeyError)
        assert info.value.hint == (
            "a range is `--partition-range 2025-01-01..2025-01-03` (or --from/--to)"
        )


def test_keys_added_together_keep_their_order_and_later_ones_follow_at_the_same_instant():
    conn = duckdb.connect(":memory:")
    state.ensure(conn)
    at = datetime(2025, 4, 10, 12)
    assert state.change_dynamic_partitions(conn, "s", ["zeta", "alpha", "mid"], [], at)[0] == [
        "zeta",
        "alpha",
        "mid",
    ]
    # the same instant again (a clock that has not moved on): still after the first three
    state.change_dynamic_partitions(conn, "s", ["beta", "alpha"], [], at)
    assert state.dynamic_partitions(conn) == {"s": ("zeta", "alpha", "mid", "beta")}
    state.change_dynamic_partitions(conn, "s", ["gamma"], ["alpha"], at - timedelta(days=1))
    assert state.dynamic_partitions(conn) == {"s": ("zeta", "mid", "beta", "gamma")}


DAILY = """
{{ config(materialized='incremental', partition_column='day',
          partitioned_by={'daily': {'start': '2025-03-25', 'timezone': 'Europe/Berlin'}}) }}
select cast({{ partition.start }} as date) as day, 1 as n
"""


@pytest.mark.slow
def test_a_backfill_to_a_day_after_now_is_refused_and_builds_nothing(project):
    root = project({"models/days.sql": DAILY})
    now = {"TEAL_NOW": "2025-04-02T12:00:00"}  # days up to 2025-04-01 are complete
    future = run_teal(
        "backfill", "days", "--from", "2025-03-29", "--to", "2025-12-31", cwd=root, env=now
    )
    assert future.returncode == 2, future.output
    assert "'2025-12-31' is not available yet at 2025-04-02 12:00" in future.stderr
    assert "hint: the latest daily partition then is '2025-04-01'" in future.stderr
    assert (
        not (root / "warehouse.duckdb").exists()
        or not query(
            root / "warehouse.duckdb",
            "select count(*) from information_schema.tables where table_name = 'days'",
        )[0][0]
    )
    late_start = run_teal("build", "--from", "2025-04-05", cwd=root, env=now)
    assert late_start.returncode == 2 and "'2025-04-05' is not available yet" in late_start.stderr

    # up to now, across the spring DST day: exactly the asked days
    built = run_teal(
        "backfill", "days", "--from", "2025-03-29", "--to", "2025-04-01", cwd=root, env=now
    )
    assert built.returncode == 0, built.output
    days = query(root / "warehouse.duckdb", "select day::varchar from main.days order by 1")
    assert [d for (d,) in days] == ["2025-03-29", "2025-03-30", "2025-03-31", "2025-04-01"]


@pytest.mark.slow
def test_a_plan_says_when_no_partition_is_due_rather_than_up_to_date(project):
    from tests.test_dynamic_partitions import SALES

    future = (
        "{{ config(partitioned_by={'daily': {'start': '2030-01-01'}}, partition_column='day') }}\n"
        "select '{{ partition.start }}'::date as day"
    )
    root = project({"models/later.sql": future, "models/sales.sql": SALES}, name="not_due")
    done = run_teal("plan", "--json", cwd=root, env={"TEAL_NOW": "2026-01-01T00:00:00"})
    assert done.returncode == 0, done.output
    not_run = json.loads(done.stdout)["not_run"]
    assert not_run["later"] == "no partition is due yet"
    assert not_run["sales"] == "dynamic partition set 'regions' has no keys yet"
