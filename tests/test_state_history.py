"""The warehouse's state history is pruned (``state_retention``): rows older than the
retention go, except those a plan reads, so builds do not slow down as the history grows
and nothing a plan decides changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teal.warehouse.duckdb import state, state_history
from tests.conftest import query, run_teal

NOW = datetime(2026, 12, 1, 12, 0)

FILES = {
    "models/a.sql": "select 1 as id union all select 2",
    "models/b.sql": "select id * 10 as id from a",
    "models/days.sql": (
        "{{ config(materialized='table', partition_column='d', partitioned_by={'daily': "
        "{'start': '2026-01-01', 'end': '2026-01-03'}}) }}\n"
        "select {{ partition.start }}::date as d, 1 as n"
    ),
    "models/schema.yml": "models:\n  - name: b\n    columns:\n      - name: id\n"
    "        checks: [not_null]\n",
}


def _age(db: Path, days: int, *, forget_pruning: bool = True) -> None:
    """Move every state row ``days`` into the past, as if built that long ago."""
    con = duckdb.connect(str(db))
    try:
        for table, at in (
            ("builds", "finished_at"),
            ("partitions", "finished_at"),
            ("check_results", "checked_at"),
            ("runs", "finished_at"),
        ):
            con.execute(f"update teal.{table} set {at} = {at} - interval {days} day")
        if forget_pruning:
            con.execute("delete from teal.housekeeping")
    finally:
        con.close()


def _counts(db: Path) -> dict[str, int]:
    return {
        t: query(db, f"select count(*) from teal.{t}")[0][0]
        for t in ("builds", "partitions", "check_results", "runs")
    }


@pytest.mark.slow
def test_old_rows_go_and_the_latest_of_each_model_partition_and_check_stay(project) -> None:
    root = project(FILES)
    db = root / "warehouse.duckdb"
    assert run_teal("build", cwd=root).returncode == 0
    assert run_teal("build", "--full-refresh", cwd=root).returncode == 0
    assert _counts(db) == {"builds": 6, "partitions": 4, "check_results": 2, "runs": 2}
    _age(db, 200)
    # a build of `a` alone: b's and days' rows are all old, and their latest stay
    built = run_teal("build", "-s", "a", cwd=root)
    assert built.returncode == 0, built.output
    assert _counts(db) == {"builds": 3, "partitions": 2, "check_results": 1, "runs": 1}
    # a's new build, and the latest of b and days however old
    assert query(db, "select model, count(*) from teal.builds group by model order by model") == [
        ("a", 1),
        ("b", 1),
        ("days", 1),
    ]
    # what the plan reads stands: b only follows a (rebuilt after it), as without pruning
    plan = run_teal("plan", "--changed-only", cwd=root)
    assert plan.returncode == 0, plan.output
    assert "b      create view  -      upstream a was rebuilt after it" in plan.stdout
    assert "a      (no step)    -      unchanged since last build" in plan.stdout
    assert "days   (no step)    -      all partitions up to date" in plan.stdout
    partitions = run_teal("partitions", "days", cwd=root)
    assert partitions.returncode == 0 and partitions.stdout.rstrip().endswith("2 materialized")


@pytest.mark.slow
def test_pruning_runs_once_a_day_and_forever_keeps_everything(project) -> None:
    root = project(FILES)
    db = root / "warehouse.duckdb"
    assert run_teal("build", cwd=root).returncode == 0  # the first prune (nothing old)
    assert run_teal("build", "--full-refresh", cwd=root).returncode == 0
    _age(db, 200, forget_pruning=False)
    assert run_teal("build", "-s", "a", cwd=root).returncode == 0
    assert _counts(db)["builds"] == 7  # pruned less than a day ago: not again yet

    (root / "teal.toml").write_text('name = "fixture"\nstate_retention = "forever"\n')
    _age(db, 1)  # the last prune a day ago too
    assert run_teal("build", "-s", "a", cwd=root).returncode == 0
    assert _counts(db)["builds"] == 8


@pytest.mark.slow
def test_a_wrong_state_retention_is_a_located_error(project) -> None:
    root = project(FILES, 'name = "fixture"\nstate_retention = { days = 0 }\n')
    done = run_teal("build", cwd=root)
    assert done.returncode == 2
    assert "teal.toml:2:1: state_retention takes a positive whole number of days" in done.stderr
    assert 'hint: state_retention = { days = 90 }, or state_retention = "forever"' in done.stderr
    assert not (root / "warehouse.duckdb").exists()


# -- the rule, against a model of it in Python ------------------------------------------


def _kept_by_the_rule(rows: list[tuple[object, int, bool]], days: int) -> set[str]:
    """The rule in Python: row ``i`` (its key, days before NOW, whether it meets the
    condition) is ``r{i}``, written ``i`` seconds after its day; kept when within ``days``,
    or the latest of its key, or the latest of its key meeting the condition."""

    def latest(of: list[int]) -> set[str]:
        return {f"r{min(of, key=lambda i: (rows[i][1], -i))}"} if of else set()

    kept = {f"r{i}" for i, (_, ago, _) in enumerate(rows) if ago <= days}
    for key in {k for k, _, _ in rows}:
        mine = [i for i, r in enumerate(rows) if r[0] == key]
        kept |= latest(mine) | latest([i for i in mine if rows[i][2]])
    return kept


def _at(ago: int, i: int) -> datetime:
    return NOW - timedelta(days=ago) + timedelta(seconds=i)


ROW = st.tuples(
    st.sampled_from(["m1", "m2", "m3"]),  # model
    st.integers(0, 400),  # days before NOW it finished
    st.booleans(),  # success
)


@pytest.mark.slow  # a DuckDB warehouse per example
@settings(max_examples=60, deadline=None)
@given(st.lists(ROW, max_size=25), st.integers(1, 300))
def test_prune_keeps_exactly_the_recent_rows_and_each_models_latest(rows, days) -> None:
    con = duckdb.connect()
    state.ensure(con)
    for i, (model, ago, ok) in enumerate(rows):
        con.execute(
            "insert into teal.builds (run_id, model, status, finished_at) values (?, ?, ?, ?)",
            [f"r{i}", model, "success" if ok else "error", _at(ago, i)],
        )
    state_history.prune(con, days, NOW)
    kept = {r[0] for r in con.execute("select run_id from teal.builds").fetchall()}
    assert kept == _kept_by_the_rule(rows, days)
    assert not state_history.due(con, NOW + timedelta(hours=23))
    assert state_history.due(con, NOW + timedelta(days=1))


CHECK_ROW = st.tuples(
    st.sampled_from(["c1", "c2"]),  # check
    st.sampled_from([None, "2026-01-01", "2026-01-02"]),  # partition (None: unpartitioned)
    st.integers(0, 400),  # days before NOW it ran
    st.booleans(),  # error severity (else warn)
)


@pytest.mark.slow  # a DuckDB warehouse per example
@settings(max_examples=60, deadline=None)
@given(st.lists(CHECK_ROW, max_size=25), st.integers(1, 300))
def test_prune_keeps_each_checks_latest_result_per_partition_and_at_error_severity(
    rows, days
) -> None:
    con = duckdb.connect()
    state.ensure(con)
    for i, (check, key, ago, error) in enumerate(rows):
        con.execute(
            "insert into teal.check_results (run_id, check_name, asset, partition_key, "
            "severity, status, checked_at) values (?, ?, 'm', ?, ?, 'fail', ?)",
            [f"r{i}", check, key, "error" if error else "warn", _at(ago, i)],
        )
    state_history.prune(con, days, NOW)
    kept = {r[0] for r in con.execute("select run_id from teal.check_results").fetchall()}
    assert kept == _kept_by_the_rule([((c, k), ago, e) for c, k, ago, e in rows], days)
