"""A plan remembers which partitioned models it found wholly up to date, by a digest of what
decided it (compiler/verified_versions.py), and skips computing their versions next time.
These tests check that what is remembered is used, and never hides a stale partition: the
recorded versions, the model's code and its upstream's data (through a same-key, lookback
or time-window mapping) are all part of the digest."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from teal.compiler.versions import DataVersions
from teal.runtime.session import Session
from tests.test_partitioned_builds import DAILY, DAILY_SUM_SQL, EVENTS_SQL, NOW, db, teal

VERIFIED = Path(".teal") / "cache" / "verified.pickle"


def _stale(root: Path, *args: str) -> dict[str, list[tuple[str, str]]]:
    """model -> (partition, reason) of every partition ``teal plan`` would build."""
    planned = json.loads(teal(root, "plan", "--json", *args).stdout)
    return {
        step["model"]: list(zip(step["partitions"], step["partition_reasons"], strict=True))
        for step in planned["steps"]
    }


def _built(project) -> Path:
    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": DAILY_SUM_SQL})
    teal(root, "build")
    assert _stale(root) == {}  # every partition up to date: remembered from here on
    assert (root / VERIFIED).is_file()
    assert _stale(root) == {}  # and the same answer from what was remembered
    return root


@pytest.mark.slow
def test_a_recorded_version_that_changed_is_stale_though_the_model_was_verified(project):
    root = _built(project)
    con = duckdb.connect(str(db(root)))
    con.execute(
        "update teal.partitions set data_version = 'not what a build records' "
        "where model = 'daily_sum' and partition_key = '2026-01-05'"
    )
    con.close()
    assert _stale(root) == {"daily_sum": [("2026-01-05", "stale (what it reads changed)")]}


@pytest.mark.slow
def test_an_upstream_rebuilt_with_other_data_makes_its_readers_stale(project):
    root = _built(project)
    events = root / "models" / "events.sql"
    events.write_text(events.read_text().replace("hour(ts) * 10", "hour(ts) * 11"))
    teal(root, "build", "-s", "events")
    stale = _stale(root, "-s", "daily_sum")
    assert [key for key, _ in stale["daily_sum"]] == [f"2026-01-{d:02d}" for d in range(1, 11)]
    assert {why for _, why in stale["daily_sum"]} == {"stale (upstream events changed)"}


@pytest.mark.slow
def test_a_model_whose_code_changed_is_stale_though_it_was_verified(project):
    root = _built(project)
    daily = root / "models" / "daily_sum.sql"
    daily.write_text(daily.read_text().replace("sum(v) as total", "sum(v) + 0 as total"))
    stale = _stale(root)
    assert len(stale["daily_sum"]) == 10
    assert {why for _, why in stale["daily_sum"]} == {"stale (its code, config or vars changed)"}


@pytest.mark.slow
def test_an_unreadable_file_of_verified_models_is_ignored(project):
    root = _built(project)
    (root / VERIFIED).write_bytes(b"not a pickle")
    assert _stale(root) == {}
    con = duckdb.connect(str(db(root)))
    con.execute(
        "delete from teal.partitions where model = 'events' and partition_key = '2026-01-02'"
    )
    con.close()
    assert _stale(root, "-s", "events") == {"events": [("2026-01-02", "missing")]}


# --------------------------------------------------------------------------- remembered digests
# Plans made in this process, so that the computation of expected versions can be counted.


def _plan(
    root: Path, monkeypatch: pytest.MonkeyPatch, *select: str
) -> tuple[dict[str, Any], Counter[str]]:
    """The plan of ``select`` (default: everything) as ``teal plan --json`` gives it, made in
    this process, and per model how many times the versions its recorded partitions would
    be built with now were computed (``DataVersions.expected_partitions``, which the plan
    skips for a model remembered in verified.pickle). The spy only counts: every call goes
    on to the real computation."""
    calls: Counter[str] = Counter()
    compute = DataVersions.expected_partitions

    def counted(self: DataVersions, name: str, keys: Sequence[str]) -> list[str]:
        calls[name] += 1
        return compute(self, name, keys)

    with monkeypatch.context() as patch:
        patch.setattr(DataVersions, "expected_partitions", counted)
        patch.setenv("TEAL_NOW", NOW["TEAL_NOW"])
        with Session.open(root) as session:
            plan = session.plan(list(select) or None)
    return json.loads(plan.explain("json")), calls


def _partitions(plan: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """model -> (partition, reason) of every partition ``plan`` builds."""
    return {
        step["model"]: list(zip(step["partitions"], step["partition_reasons"], strict=True))
        for step in plan["steps"]
    }


def _without_remembered(
    root: Path, monkeypatch: pytest.MonkeyPatch, *select: str
) -> dict[str, Any]:
    """The plan of ``select`` made with verified.pickle deleted (what is remembered, if
    anything, is put back afterwards)."""
    path = root / VERIFIED
    kept = path.read_bytes() if path.exists() else None
    path.unlink(missing_ok=True)
    plan, calls = _plan(root, monkeypatch, *select)
    assert calls, "nothing remembered, so the plan computes versions"
    if kept is not None:
        path.write_bytes(kept)
    return plan


@pytest.mark.slow
def test_a_second_plan_computes_no_versions_of_the_models_it_remembers(project, monkeypatch):
    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": DAILY_SUM_SQL})
    teal(root, "build")
    up_to_date = {"events": "all partitions up to date", "daily_sum": "all partitions up to date"}

    first, computed = _plan(root, monkeypatch)
    assert first["steps"] == [] and first["not_run"] == up_to_date
    assert computed == {"events": 1, "daily_sum": 1}  # nothing remembered yet
    assert (root / VERIFIED).is_file()

    second, computed = _plan(root, monkeypatch)
    assert second == first
    assert computed == {}  # both models remembered: no version computed

    (root / VERIFIED).unlink()
    third, computed = _plan(root, monkeypatch)
    assert third == first
    assert computed == {"events": 1, "daily_sum": 1}
    assert _plan(root, monkeypatch)[1] == {}  # remembered again

    # one recorded version of daily_sum changes: only daily_sum is computed again
    con = duckdb.connect(str(db(root)))
    con.execute(
        "update teal.partitions set data_version = 'not what a build records' "
        "where model = 'daily_sum' and partition_key = '2026-01-05'"
    )
    con.close()
    fourth, computed = _plan(root, monkeypatch)
    assert computed == {"daily_sum": 1}
    assert _partitions(fourth) == {"daily_sum": [("2026-01-05", "stale (what it reads changed)")]}
    assert fourth == _without_remembered(root, monkeypatch)


# --------------------------------------------------------------------------- window mappings
# rolling reads the day and the two before it of events (lookback), weekly the days of its
# week (time_window, written out though it is the default between two time definitions).
# The weeks are 2025-12-29 (reading 2026-01-01..04) and 2026-01-05 (reading 01-05..10).

ROLLING_SQL = f"""
    {{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='day',
                partition_mapping={{'events': 'lookback(3)'}}) }}}}
    select max(date_trunc('day', ts)) as day, count(*) as n, sum(v) as total from events
"""
WEEKLY_SQL = """
    {{ config(materialized='incremental', partition_column='week',
              partitioned_by={'weekly': {'start': '2025-12-29', 'end': '2026-01-12'}},
              partition_mapping={'events': 'time_window'}) }}
    select date_trunc('week', ts) as week, count(*) as n, sum(v) as total from events group by 1
"""
READERS = ("rolling", "weekly")


def _windows_built(project, monkeypatch: pytest.MonkeyPatch) -> Path:
    """events, rolling and weekly all built, and rolling and weekly remembered."""
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/rolling.sql": ROLLING_SQL,
            "models/weekly.sql": WEEKLY_SQL,
        }
    )
    teal(root, "build")
    first, computed = _plan(root, monkeypatch, *READERS)
    assert first["steps"] == []
    # events too, not selected: whether the readers' plan must say it is out of date and
    # not rebuilt first (compiler/unselected_upstreams.py); remembered from then on as well
    assert computed == {"events": 1, "rolling": 1, "weekly": 1}
    second, computed = _plan(root, monkeypatch, *READERS)
    assert second == first
    assert computed == {}  # remembered from here on
    return root


@pytest.mark.slow
def test_an_upstream_partition_rebuilt_makes_stale_exactly_the_windows_that_read_it(
    project, monkeypatch
):
    root = _windows_built(project, monkeypatch)
    teal(root, "build", "-s", "events", "--partition", "2026-01-05", "--vars", "{bump: 1}")

    plan, computed = _plan(root, monkeypatch, *READERS)
    # the digests remembered no longer match (events': its bumped day is stale, vars)
    assert computed == {"events": 1, "rolling": 1, "weekly": 1}
    changed = "stale (upstream events changed)"
    assert _partitions(plan) == {
        "rolling": [(day, changed) for day in ("2026-01-05", "2026-01-06", "2026-01-07")],
        "weekly": [("2026-01-05", changed)],
    }
    assert plan == _without_remembered(root, monkeypatch, *READERS)

    # building them reads the new rows, and leaves both up to date and remembered again
    teal(root, "build", "-s", "rolling", "-s", "weekly")
    con = duckdb.connect(str(db(root)), read_only=True)
    bumped = con.execute(
        "select strftime(day, '%Y-%m-%d'), total - (select sum(hour(ts) * 10) from events "
        "where ts::date between day::date - 2 and day::date) from rolling order by 1"
    ).fetchall()
    weeks = con.execute(
        "select strftime(week, '%Y-%m-%d'), total - (select sum(hour(ts) * 10) from events "
        "where date_trunc('week', ts) = w.week) from weekly w order by 1"
    ).fetchall()
    con.close()
    assert [day for day, extra in bumped if extra] == ["2026-01-05", "2026-01-06", "2026-01-07"]
    assert dict(bumped)["2026-01-05"] == 24  # one row an hour, each bumped by 1
    assert weeks == [("2025-12-29", 0), ("2026-01-05", 24)]
    assert _plan(root, monkeypatch, *READERS)[0]["steps"] == []
    again, computed = _plan(root, monkeypatch, *READERS)
    # the readers remembered; events, not selected, has a stale day (built with bump): it
    # is computed for the note that says so, and stays stale, so never remembered
    assert computed == {"events": 1}
    assert "upstream events is out of date and not selected" in again["not_run"]["rolling"]


@pytest.mark.slow
def test_plans_with_and_without_remembered_digests_agree_as_what_windows_read_changes(
    project, monkeypatch
):
    root = _windows_built(project, monkeypatch)
    remembered = (root / VERIFIED).read_bytes()

    def agree(*select: str) -> dict[str, list[tuple[str, str]]]:
        (root / VERIFIED).write_bytes(remembered)  # as the all-built plan left it
        plan, _ = _plan(root, monkeypatch, *select)
        assert plan == _without_remembered(root, monkeypatch, *select)
        return _partitions(plan)

    assert agree(*READERS) == {}
    assert agree() == {}

    # events 2026-01-02 failed with no rows left (a failure that rolled back keeps the
    # version of the rows it left, and changes nothing): what reads it reads a missing one
    con = duckdb.connect(str(db(root)))
    where = "where model = 'events' and partition_key = '2026-01-02'"
    [(version,)] = con.execute(f"select data_version from teal.partitions {where}").fetchall()
    con.execute(f"update teal.partitions set status = 'failed', data_version = NULL {where}")
    con.close()
    what = "stale (what it reads changed)"
    assert agree(*READERS) == {
        "rolling": [(day, what) for day in ("2026-01-02", "2026-01-03", "2026-01-04")],
        "weekly": [("2025-12-29", what)],
    }
    con = duckdb.connect(str(db(root)))
    con.execute(
        f"update teal.partitions set status = 'success', data_version = ? {where}", [version]
    )
    con.close()
    assert agree(*READERS) == {}

    # events starts a day later: the windows of the first days read fewer partitions,
    # though every version recorded is the same
    events = root / "models" / "events.sql"
    events.write_text(events.read_text().replace("'start': '2026-01-01'", "'start': '2026-01-02'"))
    assert agree(*READERS) == {
        "rolling": [(day, what) for day in ("2026-01-01", "2026-01-02", "2026-01-03")],
        "weekly": [("2025-12-29", what)],
    }
