"""``@teal.asset(vars=[...])``: a Python asset names the project vars it reads, and only
those go into its version, as a SQL model's version holds only the vars it renders. Without
it every var does: changing a var that only a view reads made every partition of every
Python asset stale, and a plain build rebuilt them all (SQLMesh fingerprints a Python
model by the vars it uses). ``context.vars`` then holds only the declared vars, so one read
without being declared (and so outside the version) is an error, not silently stale."""

from __future__ import annotations

import json

import pytest

from .conftest import query, run_teal

NOW = {"TEAL_NOW": "2026-01-04T00:00:00"}
CONFIG = """
name = "fixture"
threads = 2

[vars]
scale = 1
threshold = 0
"""
DAYS_PY = """
import datetime as dt

import pyarrow as pa
import teal


@teal.asset(
    partitioned_by={"daily": {"start": "2026-01-01", "end": "2026-01-04"}},
    partition_column="day",
    vars=["scale"],
)
def days(context):
    day = context.partition_window.start.date()
    return pa.table({"day": [day], "v": [day.day * context.vars["scale"]]})
"""
# a view that renders the other var: changing it changes the view alone
BIG_SQL = "select * from days where v > {{ var('threshold') }}"


def values(root) -> list[tuple]:
    return query(
        root / "warehouse.duckdb", "select strftime(day, '%d'), v from main.days order by 1"
    )


def steps(root, *args: str) -> dict[str, dict]:
    plan = run_teal("plan", "--json", *args, cwd=root, env=NOW)
    assert plan.returncode == 0, plan.output
    return {s["model"]: s for s in json.loads(plan.stdout)["steps"]}


@pytest.mark.slow
def test_a_python_asset_is_stale_only_for_the_vars_it_declares(project):
    root = project({"models/days.py": DAYS_PY, "models/big.sql": BIG_SQL}, CONFIG)
    assert run_teal("build", cwd=root, env=NOW).returncode == 0
    assert values(root) == [("01", 1), ("02", 2), ("03", 3)]

    # a var only the view reads: the view is rebuilt, no partition of days is stale
    planned = steps(root, "--vars", "{threshold: 1}")
    assert "days" not in planned and "big" in planned
    built = run_teal("build", "--vars", "{threshold: 1}", cwd=root, env=NOW)
    assert built.returncode == 0 and "python main.days" not in built.stdout, built.output

    # the var it declares: every partition is stale, and rebuilt with it
    planned = steps(root, "--vars", "{scale: 10}")
    assert planned["days"]["partitions"] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert set(planned["days"]["partition_reasons"]) == {"stale (its code, config or vars changed)"}
    assert run_teal("build", "--vars", "{scale: 10}", cwd=root, env=NOW).returncode == 0
    assert values(root) == [("01", 10), ("02", 20), ("03", 30)]


@pytest.mark.slow
def test_reading_a_var_it_does_not_declare_fails_its_step_naming_the_declaration(project):
    undeclared = DAYS_PY.replace('context.vars["scale"]', 'context.vars.get("threshold", 1)')
    root = project({"models/days.py": undeclared}, CONFIG)
    built = run_teal("build", cwd=root, env=NOW)
    assert built.returncode == 1, built.output
    assert "var 'threshold' is not one asset days declares (vars=['scale'])" in built.stdout
    assert "add it to @teal.asset(vars=[...])" in built.stdout
