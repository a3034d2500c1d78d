"""The daemon's tick retention ([daemon.tick_retention]): old ticks are deleted at most
hourly, in bounded batches, never a schedule's newest tick, on SQLite and a real Postgres,
driven by a simulated clock (no sleeps)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from teal.runtime.runstore import RunStatus
from teal.runtime.runstore.ticks import TickStore
from teal.runtime.tick_retention import prune_ticks
from tests.runstore.test_daemon import T0, daemon, project

pytestmark = pytest.mark.slow  # each test steps a daemon through days of ticks

HOURLY_PAUSED_AND_RUNNING = """
[schedules.paused]
select = "a"
cron = "0 * * * *"

[schedules.running]
select = "a"
cron = "30 * * * *"

[daemon.tick_retention]
skipped = 2
requested = 5
"""


def ages(store: TickStore, source: str, now: datetime) -> list[float]:
    """How many days old each recorded tick of ``source`` is at ``now``, oldest first."""
    return sorted(
        ((now - t.created_at).total_seconds() / 86400 for t in store.ticks(source, 10_000)),
        reverse=True,
    )


def test_ticks_older_than_their_statuss_retention_are_deleted_hourly(tmp_path, store_spec):
    """Ten days of two hourly schedules, one paused (a skipped tick an hour), one queuing
    a run an hour: what is left is two days of skipped ticks and five of requested ones."""
    root = project(tmp_path, HOURLY_PAUSED_AND_RUNNING)
    said: list[str] = []
    d = daemon(root, store_spec)
    d.on_tick = lambda outcome: said.append(outcome.describe())
    ticks = TickStore(d.store)
    ticks.set_paused("schedule:paused", True, T0)
    now = T0
    while now < T0 + timedelta(days=10):
        d.step(now)
        now += timedelta(minutes=15)
    skipped, requested = ages(ticks, "schedule:paused", now), ages(ticks, "schedule:running", now)
    # pruned at most an hour ago: at most an hour's worth more than the retention
    assert 48 <= len(skipped) <= 49 and skipped[0] < 2 + 1 / 24, skipped[:3]
    assert 120 <= len(requested) <= 121 and requested[0] < 5 + 1 / 24, requested[:3]
    assert {t.status for t in ticks.ticks("schedule:paused", 10_000)} == {"skipped"}
    # the runs the pruned ticks queued are not touched (run history has its own retention)
    assert len(d.store.runs(limit=10_000)) == 240
    pruned = [line for line in said if line.startswith("ticks ")]
    assert pruned and all("past their retention" in line for line in pruned)
    assert "(skipped 2 days, failed 30 days, requested 5 days)" in pruned[-1]
    # one pass an hour at most: 10 days of 15-minute steps pruned about 10 * 24 times
    assert len(pruned) <= 10 * 24
    d.store.close()


def test_a_daemon_run_once_a_minute_by_cron_prunes_at_most_hourly(tmp_path, store_spec):
    """`teal daemon --once` is a new process each time cron starts it: the time of the last
    pass is kept in the run store, so the ticks are pruned once an hour, not every time."""
    root = project(tmp_path, HOURLY_PAUSED_AND_RUNNING)
    first = daemon(root, store_spec)
    TickStore(first.store).set_paused("schedule:paused", True, T0)
    now = T0
    while now < T0 + timedelta(days=3):  # a long-lived daemon, pruning as it goes
        first.step(now)
        now += timedelta(hours=1)
    first.store.close()
    passes = []
    for minute in range(0, 90, 5):
        once = daemon(root, store_spec)  # a fresh process
        if prune_ticks(once, now + timedelta(minutes=minute)) is not None:
            passes.append(minute)
        once.store.close()
    assert passes == [0, 60]  # the last pass was an hour before `now`


FOREVER = """
[schedules.paused]
select = "a"
cron = "0 * * * *"

[schedules.running]
select = "a"
cron = "30 * * * *"

[daemon.tick_retention]
skipped = "forever"
requested = "forever"
"""


def test_a_backlog_is_deleted_a_batch_per_step_until_none_is_left(tmp_path, store_spec):
    """A store that grew while ticks were kept forever: once a retention is set, each pass
    deletes one bounded batch and the next goes on at once, not an hour later."""
    root = project(tmp_path, FOREVER)
    d = daemon(root, store_spec)
    ticks = TickStore(d.store)
    ticks.set_paused("schedule:paused", True, T0)
    now = T0
    while now <= T0 + timedelta(hours=119):
        d.step(now)
        now += timedelta(hours=1)
    assert ticks.count() == 2 * 119  # a tick an hour each, from the hour after T0
    d.store.close()
    (root / "teal.toml").write_text(FOREVER.replace('skipped = "forever"', "skipped = 1"))
    d = daemon(root, store_spec)  # restarted with a retention for skipped ticks
    ticks = TickStore(d.store)
    deleted = [prune_ticks(d, now, batch=40) for _ in range(4)]
    # 95 of the paused schedule's ticks were recorded over a day ago: 40, 40, 15, then the
    # next pass is an hour away
    assert deleted == [40, 40, 15, None]
    assert len(ticks.ticks("schedule:paused", 10_000)) == 24
    assert len(ticks.ticks("schedule:running", 10_000)) == 119
    d.store.close()


def test_a_schedules_newest_tick_is_kept_so_it_never_runs_a_tick_twice(tmp_path, store_spec):
    """A monthly schedule running every missed tick (catchup = "all"): its only tick is
    older than the retention for weeks, and deleting it would make the schedule start again
    from when it was first seen and queue April's run a second time in May."""
    root = project(
        tmp_path,
        '[schedules.monthly]\nselect = "a"\ncron = "0 0 1 * *"\ncatchup = "all"\n'
        "[daemon.tick_retention]\nrequested = 1\n",
    )
    d = daemon(root, store_spec)
    now = T0
    while now < datetime(2026, 5, 2):
        d.step(now)
        now += timedelta(hours=6)
    queued = d.store.runs(status=[RunStatus.QUEUED, RunStatus.STARTED], limit=100)
    assert sorted(str(r.config["tick"]) for r in queued) == [
        "2026-04-01T00:00:00",
        "2026-05-01T00:00:00",
    ]
    # April's tick went once May's was recorded and a day old
    assert [t.tick_at for t in TickStore(d.store).ticks("schedule:monthly")] == [
        datetime(2026, 5, 1)
    ]
    d.store.close()
