"""What a long state history costs every build, and what pruning it (``state_retention``)
gives back.

    python bench/state_history.py [--models 1000] [--hours 8760] [--days 90] [--repeat 3]

Writes three warehouses with teal's state tables: one build of every model (the floor: a
warehouse with no history), ``--hours`` hourly builds of every model with two checks each
(a year by default), and the same pruned to ``--days``. Times the state read every build
and every plan makes (``plan_state``, from a fresh connection as a command opens one)
against the floor, the first pruning of the long history, and a day's pruning after it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from teal.warehouse.duckdb import state, state_history

START = datetime(2026, 1, 1)


def _history(db: Path, models: int, hours: int, start: datetime = START) -> None:
    """``hours`` hourly builds of ``models`` models, two checks each, and their runs, in
    the order builds append them (by time: pruning the oldest empties whole row groups)."""
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    state.ensure(con)
    at = f"TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + h * INTERVAL 1 HOUR"
    grid = f"range({hours}) t(h), range({models}) u(m)"
    con.execute(
        f"""INSERT INTO teal.builds SELECT 'r' || h, 'm' || m, 'x.m' || m, 'table',
            md5(m::VARCHAR), 'success', 100, {at}, {at} + INTERVAL 1 SECOND, 1000.0, NULL,
            md5((h * {models} + m)::VARCHAR) FROM {grid} ORDER BY h, m"""
    )
    con.execute(
        f"""INSERT INTO teal.check_results SELECT 'r' || h, 'not_null_c' || k || '_m' || m,
            'm' || m, NULL, 'not_null', 'error', 'pass', 0, NULL,
            'select * from x.m' || m || ' where c' || k || ' is null', 3.0, {at}, NULL
            FROM {grid}, range(2) v(k) ORDER BY h, m, k"""
    )
    con.execute(
        f"""INSERT INTO teal.runs SELECT 'r' || h, 'build', {at}, {at} + INTERVAL 20 SECOND,
            'success', {models}, {models}, 0, 0, [] FROM range({hours}) t(h) ORDER BY h"""
    )
    con.close()


def _state_read(db: Path, repeat: int) -> float:
    """Median seconds of ``plan_state`` from a fresh connection."""
    times = []
    for _ in range(repeat):
        con = duckdb.connect(str(db))
        started = time.perf_counter()
        state.plan_state(con, list_relations=False)
        times.append(time.perf_counter() - started)
        con.close()
    return statistics.median(times)


def _prune(db: Path, days: int, now: datetime) -> tuple[float, dict[str, int]]:
    con = duckdb.connect(str(db))
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    deleted = state_history.prune(con, days, now)
    con.close()  # the checkpoint writes the deletions: part of the cost
    return time.perf_counter() - started, deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=8760)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    now = START + timedelta(hours=args.hours)
    with tempfile.TemporaryDirectory() as tmp:
        floor_db, long_db = Path(tmp) / "floor.duckdb", Path(tmp) / "long.duckdb"
        _history(floor_db, args.models, 1)
        started = time.perf_counter()
        _history(long_db, args.models, args.hours)
        print(f"wrote {args.hours} hourly builds of {args.models} models", end=" ")
        print(f"in {time.perf_counter() - started:.1f} s")
        floor = _state_read(floor_db, args.repeat)
        long = _state_read(long_db, args.repeat)
        first, deleted = _prune(long_db, args.days, now)
        pruned = _state_read(long_db, args.repeat)
        _history(long_db, args.models, 24, start=now)  # a day later
        daily, _ = _prune(long_db, args.days, now + timedelta(days=1))
        after_day = _state_read(long_db, args.repeat)
    print(f"{'state read (plan_state), median of ' + str(args.repeat):<52} {'s':>7} {'x floor':>8}")
    rows = [
        ("one build of each model (the floor)", floor),
        (f"{args.hours} hourly builds kept", long),
        (f"pruned to {args.days} days", pruned),
        (f"pruned to {args.days} days, a day later", after_day),
    ]
    for what, seconds in rows:
        print(f"{what:<52} {seconds:7.3f} {seconds / floor:7.1f}x")
    print(f"first pruning: {first:.2f} s, deleted {deleted}")
    print(f"a day's pruning after it: {daily:.2f} s (once a day, at the end of a build)")


if __name__ == "__main__":
    main()
