"""What deferral says: binding errors that name the deferred relation, the missing-in-
production error, what a build deferred, and the flags and variables dbt users type.

The fixture projects (tests/deferral_project, tests/deferral_dbt) are built into a "prod"
warehouse with the real CLI; every case runs the real CLI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_teal
from tests.deferral.support import ok, refused


def add_amount_x3(root: Path) -> None:
    """stg_orders gets a column here that production's relation lacks, and the ephemeral
    customer_orders (inlined into revenue) reads it."""
    orders = root / "models/staging/stg_orders.sql"
    orders.write_text(orders.read_text().replace("amount_x2", "amount_x2, amount * 3 as amount_x3"))
    ephemeral = root / "models/staging/customer_orders.sql"
    ephemeral.write_text(ephemeral.read_text().replace("o.amount_x2", "o.amount_x3 as amount_x2"))


DEFERRED_COLUMN = (
    "models/staging/customer_orders.sql:2:16: column 'amount_x3' does not exist in "
    "stg_orders (read as o), which is read from "
)


@pytest.mark.slow
def test_a_column_the_deferred_relation_lacks_says_where_it_is_read(proj: Path) -> None:
    add_amount_x3(proj)
    for command in ("build", "plan", "show"):
        done = run_teal(command, "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
        refused(done, DEFERRED_COLUMN, "prod.duckdb (not built here)", "-s stg_orders+")
        assert "did you mean" not in done.output, done.output
    assert not (proj / "warehouse.duckdb").exists()


@pytest.mark.slow
def test_plan_binds_the_whole_deferred_selection_as_the_build_does(proj: Path) -> None:
    # built here with amount_x3: nothing is edited since, but --favor-state reads
    # production's stg_orders, which lacks it
    add_amount_x3(proj)
    ok(run_teal("build", "-s", "+revenue", "-q", cwd=proj))
    args = ("-s", "revenue", "--defer-to", "prod.duckdb", "--favor-state")
    build = run_teal("build", *args, cwd=proj)
    refused(build, DEFERRED_COLUMN, "(--favor-state; built here too)")
    plan = run_teal("plan", *args, cwd=proj)  # was: exit 0, silent
    refused(plan, DEFERRED_COLUMN, "(--favor-state; built here too)")


@pytest.mark.slow
def test_a_model_production_never_built_is_named_as_new_with_a_selection_hint(
    dbt_proj: Path,
) -> None:
    (dbt_proj / "models/staging/stg_countries.sql").write_text("select 'fr' as country\n")
    (dbt_proj / "models/marts/countries.sql").write_text(
        "select count(*) as n from {{ ref('stg_countries') }}\n"
    )
    done = run_teal("build", "-s", "countries", "--defer", "--state", "prod-state", cwd=dbt_proj)
    refused(
        done,
        "models/staging/stg_countries.sql:1:1: model 'stg_countries' is not selected",
        "the manifest in --state",
        "has no node for it (a new model)",
        "-s stg_countries+",
        "state:new+",
    )
    assert "has no main.stg_countries" not in done.output, done.output
    assert not (dbt_proj / "dev.duckdb").exists()
    # --defer-to alone in a dbt project: this target's schema, not production's
    done = run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=dbt_proj)
    refused(done, "has no dev_ada.stg_orders either", "--defer --state DIR")
    # a folder given to --defer-to: dbt's --defer --state DIR is what was meant
    done = run_teal("build", "-s", "revenue", "--defer-to", "prod-state", cwd=dbt_proj)
    refused(done, "--defer-to prod-state is a folder", "--defer --state DIR")


@pytest.mark.slow
def test_a_deferred_build_says_what_it_read_from_production(proj: Path) -> None:
    import json

    done = run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    ok(done)
    where = str(proj / "prod.duckdb")
    line = f"Deferred: 3 models read from {where} (customers, stg_customers, stg_orders)"
    lines = done.stdout.splitlines()
    assert line in lines, done.stdout
    assert lines.index(line) < next(i for i, ln in enumerate(lines) if "OK" in ln)
    as_json = run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", "--json", cwd=proj)
    ok(as_json)
    deferred = json.loads(as_json.stdout)["deferred"]
    assert deferred["stg_orders"] == {
        "path": where,
        "relation": "staging.stg_orders",
        "reason": "not built here",
    }
    assert deferred["customers"]["reason"] == "by checks; not built here"
    plan = run_teal("plan", "-s", "revenue", "--defer-to", "prod.duckdb", "--json", cwd=proj)
    ok(plan)
    assert json.loads(plan.stdout)["deferred"] == deferred


HOLD = (
    "import duckdb, sys, time\n"
    "conn = duckdb.connect(sys.argv[1])\n"
    "print('held', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
    "conn.close()\n"
)


@pytest.mark.slow
def test_wait_waits_for_a_process_writing_the_deferred_file(proj: Path) -> None:
    import subprocess
    import sys

    prod = str(proj / "prod.duckdb")
    args = ("build", "-s", "revenue", "--defer-to", "prod.duckdb")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, prod, "60"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused(run_teal(*args, cwd=proj), "in use by another process", "--wait")
    finally:
        holder.kill()
        holder.wait()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, prod, "1.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = run_teal(*args, "--wait", "60", cwd=proj)  # was: exit 2 at once
        ok(done)
        assert "waiting for --defer-to" in done.stderr, done.output
    finally:
        holder.wait()


@pytest.mark.slow
def test_dbt_defer_environment_variables_and_defer_state(dbt_proj: Path) -> None:
    import os

    # dbt's variables (and dbt 1.11's DBT_ENGINE_ spellings) ask for deferral as the flags do
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env = {**clean, "DBT_DEFER": "1", "DBT_STATE": "prod-state"}
    done = run_teal("build", "-s", "revenue", cwd=dbt_proj, env=env)
    ok(done)
    assert "Deferred: 1 model read from" in done.stdout, done.stdout
    engine = {**clean, "DBT_ENGINE_DEFER": "true", "DBT_ENGINE_DEFER_STATE": "prod-state"}
    plan = run_teal("plan", "-s", "revenue", cwd=dbt_proj, env=engine)
    ok(plan)
    assert "stg_orders" in plan.stdout and "(deferred)" in plan.stdout, plan.stdout
    # --defer-state DIR: the manifest deferral reads, --state left to state: selectors
    args = ("plan", "-s", "revenue", "--defer", "--defer-state", "prod-state")
    done = run_teal(*args, cwd=dbt_proj, env=clean)
    ok(done)
    assert "(deferred)" in done.stdout, done.stdout
    refused(run_teal("plan", "--defer-state", "prod-state", cwd=dbt_proj), "needs --defer")
    # without DBT_DEFER, DBT_FAVOR_STATE alone asks for nothing (as in dbt)
    quiet = run_teal("plan", "-s", "revenue", cwd=dbt_proj, env={**clean, "DBT_FAVOR_STATE": "1"})
    ok(quiet)
    assert "(deferred)" not in quiet.stdout


@pytest.mark.slow
def test_teal_run_says_only_what_its_models_read_not_what_skipped_checks_would(
    proj: Path,
) -> None:
    import json

    # customers is read only by revenue's singular check, which `teal run` does not run:
    # not deferred, and not said to be (a build defers it: the test above)
    where = str(proj / "prod.duckdb")
    done = run_teal("run", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    ok(done)
    assert f"Deferred: 2 models read from {where} (stg_customers, stg_orders)" in done.stdout
    assert "customers" not in done.stdout.replace("stg_customers", ""), done.stdout
    as_json = run_teal("run", "-s", "revenue", "--defer-to", "prod.duckdb", "--json", cwd=proj)
    ok(as_json)
    assert sorted(json.loads(as_json.stdout)["deferred"]) == ["stg_customers", "stg_orders"]
    # a build runs the check, so it reads customers from production again
    done = run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    ok(done)
    assert "(customers, stg_customers, stg_orders)" in done.stdout, done.stdout
