"""A backfill whose upstream failed on some days builds the downstream days that read
none of them, as Dagster's backfills do; the days that read a failed one are held back,
reported skipped, and built by `teal retry`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

FILES = {
    "models/daily.py": """
        from pathlib import Path
        import polars as pl
        import teal

        @teal.asset(partitioned_by={'daily': {'start': '2026-01-01'}}, partition_column='day')
        def daily(context):
            key = context.partition_key
            if key in Path("fail").read_text().split():
                raise RuntimeError(f"no data for {key} yet")
            start, _ = context.partition_window
            return pl.DataFrame({"day": [start.date()], "n": [int(key[-2:])]})
    """,
    # each day reads itself and the day before
    "models/two_days.sql": """
        {{ config(partitioned_by={'daily': {'start': '2026-01-01'}}, partition_column='day',
                  partition_mapping={'daily': 'lookback(2)'}) }}
        select {{ partition.start }}::date as day, sum(n) as n2 from daily
    """,
    "models/after.sql": """
        {{ config(partitioned_by={'daily': {'start': '2026-01-01'}}, partition_column='day') }}
        select day, n2 * 10 as n20 from two_days
    """,
    "models/total.sql": "select sum(n) as n from daily",
}
ENV = {"TEAL_NOW": "2026-02-01T00:00:00"}


def _partition_statuses(root: Path, run: str) -> dict[str, dict[str, str]]:
    shown = json.loads(run_teal("runs", "show", run, "--json", cwd=root).stdout)
    found: dict[str, dict[str, str]] = {}
    for step in shown["steps"]:
        if step["partition_key"]:
            found.setdefault(step["model"], {})[step["partition_key"]] = step["status"]
    return found


def test_downstream_days_that_read_no_failed_day_are_built(project):
    root = project(FILES)
    (root / "fail").write_text("2026-01-03")
    first = run_teal(
        "backfill", "daily+", "--from", "2026-01-01", "--to", "2026-01-05", cwd=root, env=ENV
    )
    assert first.returncode == 1, first.output
    assert "main.two_days" in first.stdout and "2 partitions held back" in first.stdout
    assert "SKIP" in first.stdout and "upstream daily failed" in first.stdout  # total
    db = root / "warehouse.duckdb"
    assert query(db, "select day::varchar, n2 from two_days order by 1") == [
        ("2026-01-01", 1),
        ("2026-01-02", 3),
        ("2026-01-05", 9),  # 4 + 5: day 4 was built
        ("2026-01-06", 5),  # it reads day 5 (the backfill's last) and 6 (none yet)
    ]
    assert query(db, "select day::varchar from after order by 1") == [
        ("2026-01-01",),
        ("2026-01-02",),
        ("2026-01-05",),
        ("2026-01-06",),
    ]
    assert query(
        db, "select count(*) from information_schema.tables where table_name = 'total'"
    ) == [(0,)]
    run = json.loads(run_teal("runs", "--json", cwd=root).stdout)[0]["run_id"]
    statuses = _partition_statuses(root, run)
    assert statuses["daily"]["2026-01-03"] == "failure"
    assert statuses["two_days"]["2026-01-03"] == statuses["two_days"]["2026-01-04"] == "skipped"
    assert statuses["after"]["2026-01-04"] == "skipped"
    (root / "fail").write_text("")
    again = run_teal("retry", "last", cwd=root, env=ENV)
    assert again.returncode == 0, again.output
    retried = _partition_statuses(
        root, json.loads(run_teal("runs", "--json", cwd=root).stdout)[0]["run_id"]
    )
    assert retried == {
        "daily": {"2026-01-03": "success"},
        "two_days": {"2026-01-03": "success", "2026-01-04": "success"},
        "after": {"2026-01-03": "success", "2026-01-04": "success"},
    }
    assert query(db, "select n from total") == [(15,)]
    assert query(db, "select count(*), sum(n20) from after") == [(6, 10 * (1 + 3 + 5 + 7 + 9 + 5))]


def test_with_fail_fast_nothing_downstream_starts(project):
    root = project(FILES)
    (root / "fail").write_text("2026-01-03")
    first = run_teal(
        "backfill", "daily+", "--from", "2026-01-01", "--to", "2026-01-05", "-x", cwd=root, env=ENV
    )
    assert first.returncode == 1, first.output
    db = root / "warehouse.duckdb"
    assert query(
        db, "select count(*) from information_schema.tables where table_name = 'two_days'"
    ) == [(0,)]


def test_quiet_still_says_which_partitions_were_held_back(project):
    """`-q` leaves out the lines of models that built, but a model that built only some of
    its partitions (the others held back) is what went wrong: its line stays."""
    root = project(FILES)
    (root / "fail").write_text("2026-01-03")
    quiet = run_teal(
        "backfill", "daily+", "--from", "2026-01-01", "--to", "2026-01-05", "-q", cwd=root, env=ENV
    )
    assert quiet.returncode == 1, quiet.output
    assert "main.two_days" in quiet.stdout and "2 partitions held back" in quiet.stdout
    assert "main.after" in quiet.stdout, quiet.stdout
