"""Pools: at most a pool's size of its models build at once within a run."""

from __future__ import annotations

import json

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

HEAVY = (
    "{{ config(materialized='table', pool='heavy') }} select sum(i) as s from range(2000000) t(i)"
)


def test_a_pool_of_one_builds_its_models_one_at_a_time(project):
    root = project(
        {f"models/h{i}.sql": HEAVY for i in range(4)} | {"models/light.sql": "select 1 as x"}
    )
    (root / "teal.toml").write_text("threads = 4\n\n[pools]\nheavy = 1\n")
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    spans = sorted(
        (s["started_at"], s["finished_at"]) for s in shown["steps"] if s["model"].startswith("h")
    )
    assert len(spans) == 4
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start, spans  # the next one started after the last one finished


def test_a_model_in_an_undeclared_pool_is_an_error_before_anything_builds(project):
    root = project({"models/a.sql": "{{ config(pool='hevy') }} select 1 as x"})
    (root / "teal.toml").write_text("[pools]\nheavy = 2\n")
    done = run_teal("build", cwd=root)
    assert done.returncode == 2
    assert "models/a.sql" in done.stderr and "pool 'hevy', which is not declared" in done.stderr
    assert "did you mean 'heavy'" in done.stderr
    db = root / "warehouse.duckdb"
    if db.exists():  # nothing was built
        found = query(db, "select count(*) from information_schema.tables where table_name = 'a'")
        assert found == [(0,)]
    (root / "teal.toml").write_text("[pools]\nheavy = 0\n")
    bad = run_teal("build", cwd=root)
    assert bad.returncode == 2 and "pool 'heavy' must allow" in bad.stderr
