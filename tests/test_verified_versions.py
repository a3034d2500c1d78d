"""A plan remembers which partitioned models it found wholly up to date, by a digest of what
decided it (compiler/verified_versions.py), and skips computing their versions next time.
These tests check that what is remembered never hides a stale partition: the recorded
versions, the model's code and its upstream's data are all part of the digest."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.test_partitioned_builds import DAILY_SUM_SQL, EVENTS_SQL, db, teal

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


def test_a_recorded_version_that_changed_is_stale_though_the_model_was_verified(project):
    root = _built(project)
    con = duckdb.connect(str(db(root)))
    con.execute(
        "update teal.partitions set data_version = 'not what a build records' "
        "where model = 'daily_sum' and partition_key = '2026-01-05'"
    )
    con.close()
    assert _stale(root) == {"daily_sum": [("2026-01-05", "stale (what it reads changed)")]}


def test_an_upstream_rebuilt_with_other_data_makes_its_readers_stale(project):
    root = _built(project)
    events = root / "models" / "events.sql"
    events.write_text(events.read_text().replace("hour(ts) * 10", "hour(ts) * 11"))
    teal(root, "build", "-s", "events")
    stale = _stale(root, "-s", "daily_sum")
    assert [key for key, _ in stale["daily_sum"]] == [f"2026-01-{d:02d}" for d in range(1, 11)]
    assert {why for _, why in stale["daily_sum"]} == {"stale (upstream events changed)"}


def test_a_model_whose_code_changed_is_stale_though_it_was_verified(project):
    root = _built(project)
    daily = root / "models" / "daily_sum.sql"
    daily.write_text(daily.read_text().replace("sum(v) as total", "sum(v) + 0 as total"))
    stale = _stale(root)
    assert len(stale["daily_sum"]) == 10
    assert {why for _, why in stale["daily_sum"]} == {"stale (its code, config or vars changed)"}


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
