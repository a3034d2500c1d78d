"""Deferral judged against the developer's warehouse as dbt judges it.

A fresh or half-built dev warehouse: a ``state:`` selector with a deferral (one open of
the warehouse), a failed check below a deferred model (it must not block), a relation
dbt built here without teal (built here: read here), a partitioned upstream built here
only in part (read here, with a warning). The fixture projects are tests/deferral_*;
every case runs the real CLI against real DuckDB files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_teal
from tests.deferral.support import HERE, REVENUE, ok, refused, relations, rows


@pytest.mark.slow
def test_a_state_selector_with_defer_builds_into_a_fresh_dev_warehouse(dbt_proj: Path) -> None:
    mart = dbt_proj / "models/marts/revenue.sql"
    mart.write_text(mart.read_text() + "-- edited\n")
    dev = dbt_proj / "dev.duckdb"
    assert not dev.exists()
    # prod's manifest resolved schema `analytics`, dev's `dev_ada`: only the edit is modified,
    # as dbt compares the relation as configured (it took every model as modified)
    listed = run_teal(
        "ls", "-s", "state:modified", "--state", "prod-state", "--output", "name", cwd=dbt_proj
    )
    ok(listed)
    assert listed.stdout.split() == ["revenue"], listed.output
    args = ("build", "-s", "state:modified+", "--defer", "--state", "prod-state")
    ok(run_teal(*args, cwd=dbt_proj))  # was: exit 2, "this process has it open already"
    assert rows(dev, "select * from dev_ada.revenue") == [("ada", 30.5), ("bob", 40.0)]
    assert relations(dev) == {"dev_ada.revenue"}  # stg_orders read from production


@pytest.mark.slow
def test_a_state_selector_with_defer_to_builds_into_a_new_warehouse(proj: Path) -> None:
    args = ("build", "-s", "state:modified", "--defer-to", "prod.duckdb")
    ok(run_teal(*args, "--warehouse", "new.duckdb", "-q", cwd=proj))
    assert rows(proj / "new.duckdb", REVENUE) == [("ADA", 61), ("BOB", 80)]


@pytest.mark.slow
def test_a_binding_mistake_in_a_deferred_build_creates_no_dev_warehouse(proj: Path) -> None:
    orders = proj / "models/staging/stg_orders.sql"
    orders.write_text(orders.read_text().replace("amount_x2", "amount_x2, amount * 3 as amount_x3"))
    ephemeral = proj / "models/staging/customer_orders.sql"
    ephemeral.write_text(ephemeral.read_text().replace("o.amount_x2", "o.amount_x3 as amount_x2"))
    done = run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    refused(done, "models/staging/customer_orders.sql:2:", "amount_x3")
    assert not (proj / "warehouse.duckdb").exists()


@pytest.mark.slow
def test_a_relation_in_the_dev_warehouse_not_built_by_teal_counts_as_built_here(
    proj: Path,
) -> None:
    # dbt's rule: a ref is deferred only when its relation does not exist in the dev
    # target; here dbt (not teal) built staging.stg_orders, with one order of 2
    dev = proj / "warehouse.duckdb"
    conn = duckdb.connect(str(dev))
    conn.execute("create schema staging")
    conn.execute(
        "create table staging.stg_orders as "
        "select 1 as order_id, 10 as customer_id, 2.0 as amount_x2"
    )
    conn.close()
    plan = run_teal("plan", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    ok(plan)
    assert not any("stg_orders" in ln and "(deferred)" in ln for ln in plan.stdout.splitlines())
    ok(run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj))
    assert rows(dev, REVENUE) == [("ADA", 2)]  # this warehouse's stg_orders
    favored = ("build", "-s", "revenue", "--defer-to", "prod.duckdb", "--favor-state")
    ok(run_teal(*favored, cwd=proj))
    assert rows(dev, REVENUE) == [("ADA", 61), ("BOB", 80)]  # production's
    assert "staging.stg_orders" in relations(dev)


@pytest.mark.slow
def test_a_check_failed_here_below_a_deferred_model_blocks_nothing(proj: Path) -> None:
    # raw orders fail a check in this warehouse; stg_orders (read by revenue) is then
    # not built here, so it is read from production: the local failure is not read
    (proj / "models/raw/orders.yml").write_text(
        "models:\n  - name: orders\n    columns:\n      - name: customer_id\n"
        "        tests:\n          - accepted_values: {values: [10]}\n"
    )
    failed = run_teal("build", "-s", "+stg_orders", cwd=proj)
    assert failed.returncode == 1, failed.output
    done = run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    ok(done)
    assert "blocked" not in done.output, done.output
    assert rows(proj / "warehouse.duckdb", REVENUE) == [("ADA", 61), ("BOB", 80)]
    # without deferral the failure still blocks what reads the local relations
    blocked = run_teal("plan", "-s", "stg_orders+", cwd=proj)
    ok(blocked)
    assert "blocked: upstream orders failed check" in blocked.stdout, blocked.stdout


# -- tests/deferral_partitions: daily_events (daily, 4 days) read by daily_totals (daily)
# and account_totals (not partitioned: every day) ------------------------------------------


@pytest.fixture(scope="module")
def parts_prod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deferral_parts") / "project"
    shutil.copytree(HERE / "deferral_partitions", root)
    ok(run_teal("build", "--warehouse", "prod.duckdb", "-q", cwd=root))
    return root


@pytest.fixture
def parts(parts_prod: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(parts_prod, root, ignore=shutil.ignore_patterns("__pycache__", ".teal"))
    return root


@pytest.mark.slow
def test_partitions_built_while_deferring_say_so_not_code_changed(parts: Path) -> None:
    prod = parts / "prod.duckdb"
    args = ("-s", "daily_totals", "--partition", "2025-01-02,2025-01-03")
    ok(run_teal("build", *args, "--defer-to", "prod.duckdb", "-q", cwd=parts))
    said = f"built while deferring to {prod}: reads daily_events there"
    listed = run_teal("partitions", "daily_totals", "--json", cwd=parts)
    ok(listed)
    notes = {p["key"]: (p["status"], p["note"]) for p in json.loads(listed.stdout)}
    # was: stale, "its code, config or vars changed", though nothing had changed
    assert notes["2025-01-02"] == notes["2025-01-03"] == ("stale", said), notes
    assert notes["2025-01-01"] == ("missing", None)
    shown = run_teal("partitions", "daily_totals", cwd=parts)
    ok(shown)
    assert said in shown.stdout, shown.stdout
    plan = run_teal("plan", "-s", "daily_totals", cwd=parts)
    ok(plan)
    assert f"2 stale ({said})" in plan.stdout, plan.stdout
    # still rebuilt from this warehouse by a build without deferral, even --changed-only
    ok(run_teal("build", "-s", "+daily_totals", "--partition", "2025-01-02", "-q", cwd=parts))
    again = run_teal("plan", "-s", "daily_totals", "--changed-only", cwd=parts)
    ok(again)
    assert f"1 stale ({said})" in again.stdout, again.stdout  # 2025-01-03: still production's
    listed = run_teal("partitions", "daily_totals", "--json", cwd=parts)
    notes = {p["key"]: (p["status"], p["note"]) for p in json.loads(listed.stdout)}
    assert notes["2025-01-02"] == ("materialized", None), notes
    # built here, then deferring with --favor-state: said the other way round
    favored = ("plan", "-s", "daily_totals", "--defer-to", "prod.duckdb", "--favor-state")
    plan = run_teal(*favored, cwd=parts)
    ok(plan)
    assert f"(built without deferring; reads daily_events from {prod} now)" in plan.stdout


@pytest.mark.slow
def test_an_upstream_built_here_in_part_is_warned_of_when_deferring(parts: Path) -> None:
    prod, dev = parts / "prod.duckdb", parts / "warehouse.duckdb"
    one_day = ("build", "-s", "daily_events", "--partition", "2025-01-02")
    ok(run_teal(*one_day, "--defer-to", "prod.duckdb", "-q", cwd=parts))  # raw.events deferred
    said = (
        "account_totals reads daily_events here, where only 1 of its 4 partitions is built: "
        f"daily_events counts as built here (its relation exists), so it is not read from {prod}"
    )
    favor = f"hint: --favor-state reads daily_events from {prod}"
    args = ("-s", "account_totals", "--defer-to", "prod.duckdb")
    plan = run_teal("plan", *args, cwd=parts)
    ok(plan)
    assert said in plan.stderr and favor in plan.stderr, plan.output
    done = run_teal("build", *args, cwd=parts)
    ok(done)  # was: built from one day of four, without a word
    assert "models/marts/account_totals.sql: account_totals reads" in done.stderr, done.output
    assert said in done.stderr and favor in done.stderr, done.output
    totals = "select * from marts.account_totals order by all"
    assert rows(dev, totals) == [("a", 20, 1), ("b", 30, 1)]  # as warned: one day here
    done = run_teal("build", *args, "--favor-state", cwd=parts)
    ok(done)
    assert "partitions is built" not in done.stderr, done.output
    assert rows(dev, totals) == rows(prod, totals) == [("a", 90, 3), ("b", 120, 3)]
    # all of it built here: no warning
    ok(run_teal("build", "-s", "daily_events", "--defer-to", "prod.duckdb", "-q", cwd=parts))
    done = run_teal("build", *args, cwd=parts)
    ok(done)
    assert "partitions is built" not in done.stderr and "are built" not in done.stderr
    assert rows(dev, totals) == [("a", 90, 3), ("b", 120, 3)]
