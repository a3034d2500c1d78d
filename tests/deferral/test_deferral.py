"""Deferral (``--defer-to PATH``, dbt's ``--defer --state DIR``, ``--favor-state``).

A developer's warehouse is empty or stale; production's is another DuckDB file. The
fixture projects (tests/deferral_project, tests/deferral_dbt) are built into a "prod"
warehouse with the real CLI, then one mart is built into a fresh dev warehouse reading its
unbuilt upstreams from prod: its rows must equal the ones built without deferral, and
nothing may be written to prod.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from teal.compiler.deferral import defer_sql
from tests.conftest import run_teal
from tests.deferral.support import (
    HERE,
    REVENUE,
    fingerprint,
    ok,
    refused,
    relations,
    rows,
)

# -- the rewrite, in process ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            'select c.name from "staging"."stg_customers" AS "c"',
            'select c.name from "teal_defer"."staging"."stg_customers" AS "c"',
        ),
        (  # a relation not deferred is left alone, and so is one in another catalog
            'select * from "staging"."a" join "x"."staging"."b" using (id)',
            'select * from "staging"."a" join "x"."staging"."b" using (id)',
        ),
        (  # written with more than a name (a column qualified by the schema): only prefixed
            'select "staging"."b".id from "staging"."b"',
            'select "staging"."b".id from "teal_defer"."staging"."b"',
        ),
        (  # inside a subquery and a CTE of the same name as nothing it reads
            'with b as (select * from "staging"."b") select * from b',
            'with b as (select * from "teal_defer"."staging"."b") select * from b',
        ),
    ],
)
def test_deferred_references_point_at_the_attached_catalog(sql: str, expected: str) -> None:
    assert defer_sql(sql, {("staging", "stg_customers"): ("staging", "stg_customers"),
                           ("staging", "b"): ("staging", "b")}, "m.sql") == expected  # fmt: skip


def test_a_relation_renamed_in_production_keeps_its_name_as_the_alias() -> None:
    sql = 'select stg_orders.id from "dev_ada"."stg_orders" join t using (id)'
    out = defer_sql(sql, {("dev_ada", "stg_orders"): ("analytics", "orders")}, "m.sql")
    assert out == (
        'select stg_orders.id from "teal_defer"."analytics"."orders" AS "stg_orders" '
        "join t using (id)"
    )
    conn = duckdb.connect()
    conn.execute("attach ':memory:' as teal_defer")
    conn.execute("create schema teal_defer.analytics")
    conn.execute("create table teal_defer.analytics.orders as select 1 as id")
    conn.execute("create table t as select 1 as id")
    assert conn.execute(out).fetchall() == [(1,)]


# -- a teal project -------------------------------------------------------------------------


@pytest.mark.slow
def test_one_mart_is_built_reading_its_unbuilt_upstreams_from_production(proj: Path) -> None:
    prod = proj / "prod.duckdb"
    before = fingerprint(prod)
    done = run_teal(
        "build", "-s", "revenue", "customer_count", "--defer-to", "prod.duckdb", cwd=proj
    )
    ok(done)
    dev = proj / "warehouse.duckdb"
    assert rows(dev, REVENUE) == rows(prod, REVENUE) == [("ADA", 61), ("BOB", 80)]
    assert rows(dev, "select * from marts.customer_count") == [(2,)]  # a Python asset too
    # only the selection is built here, and only it is recorded as built here
    assert relations(dev) == {"marts.revenue", "marts.customer_count"}
    built = rows(dev, "select distinct model from teal.builds order by 1")
    assert built == [("customer_count",), ("revenue",)]
    assert fingerprint(prod) == before  # nothing written to production's file
    # revenue is a view in the project: built as a table here, so it reads after the build
    assert rows(dev, "select table_type from information_schema.tables "
                     "where table_name = 'revenue'") == [("BASE TABLE",)]  # fmt: skip
    # a build without deferral builds it again from here, and says why (was: "modified:
    # SQL or config changed since last build", though nothing had changed)
    plan = run_teal("plan", "-s", "revenue", "--changed-only", cwd=proj)
    ok(plan)
    said = f"built while deferring to {prod}: reads stg_customers, stg_orders there"
    assert said in plan.stdout, plan.stdout


@pytest.mark.slow
def test_the_python_api_defers_as_the_command_line_does(proj: Path) -> None:
    import teal
    from teal.compiler.errors import ProjectError

    dev = proj / "dev.duckdb"
    result = teal.build(proj, select="revenue", warehouse=dev, defer_to=proj / "prod.duckdb")
    assert result.success and [r.model for r in result.built] == ["revenue"]
    assert rows(dev, REVENUE) == [("ADA", 61), ("BOB", 80)]
    assert relations(dev) == {"marts.revenue"}
    with pytest.raises(ProjectError, match="favor_state=True needs defer_to=PATH"):
        teal.build(proj, select="revenue", warehouse=dev, favor_state=True)
    with pytest.raises(ProjectError, match="is a folder"):
        teal.build(proj, select="revenue", warehouse=dev, defer_to=proj)


@pytest.mark.slow
def test_plan_says_which_upstreams_are_deferred(proj: Path) -> None:
    done = run_teal("plan", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    ok(done)
    lines = done.stdout.splitlines()
    assert any("stg_orders" in ln and "(deferred)" in ln and "not built here" in ln for ln in lines)
    assert any("revenue" in ln and "built as a table" in ln for ln in lines), done.stdout
    assert "3 models deferred" in done.stdout  # customers: read by a check of revenue
    as_json = run_teal("plan", "-s", "revenue", "--defer-to", "prod.duckdb", "--json", cwd=proj)
    ok(as_json)
    import json

    deferred = json.loads(as_json.stdout)["deferred"]
    assert sorted(deferred) == ["customers", "stg_customers", "stg_orders"]
    assert not (proj / "warehouse.duckdb").exists()  # a plan opens no warehouse for writing


@pytest.mark.slow
def test_show_previews_a_model_reading_its_unbuilt_upstreams_from_production(proj: Path) -> None:
    done = run_teal("show", "-s", "revenue", "--defer-to", "prod.duckdb", "--json", cwd=proj)
    ok(done)
    import json

    assert json.loads(done.stdout)["show"] == [
        {"name": "ADA", "revenue": 61.0},
        {"name": "BOB", "revenue": 80.0},
    ]
    assert "reads stg_customers, stg_orders from" in done.stderr
    assert not (proj / "warehouse.duckdb").exists()  # nothing created here
    inline = run_teal("show", "--inline", "select 1", "--defer-to", "prod.duckdb", cwd=proj)
    refused(inline, "--defer-to previews a model")


@pytest.mark.slow
def test_upstreams_built_here_are_read_here_unless_favor_state(proj: Path) -> None:
    # the developer changed the orders and built them here
    orders = proj / "models/raw/orders.sql"
    orders.write_text(orders.read_text().replace("(3, 11, 40.0)", "(3, 11, 40.0), (4, 11, 1.0)"))
    ok(run_teal("build", "-s", "+stg_orders", "-q", cwd=proj))
    dev, prod = proj / "warehouse.duckdb", proj / "prod.duckdb"
    ok(run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj))
    assert rows(dev, REVENUE) == [("ADA", 61), ("BOB", 82)]  # this warehouse's orders
    plan = run_teal("plan", "-s", "revenue", "--defer-to", "prod.duckdb", "--favor-state", cwd=proj)
    ok(plan)
    assert "favor-state; built here too" in plan.stdout, plan.stdout
    ok(run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", "--favor-state", cwd=proj))
    assert rows(dev, REVENUE) == rows(prod, REVENUE)  # production's orders
    # stg_orders stays as this warehouse built it: nothing deferred is recorded here
    assert rows(dev, "select count(*) from staging.stg_orders") == [(4,)]


@pytest.mark.slow
def test_selected_models_are_bound_against_the_deferred_relations_columns(proj: Path) -> None:
    # stg_customers is edited here (not built, not selected): production's still has `name`
    staged = proj / "models/staging/stg_customers.sql"
    staged.write_text("select customer_id, upper(name) as full_name from customers\n")
    done = run_teal("build", "-s", "+revenue", "--warehouse", "other.duckdb", cwd=proj)
    refused(done, "column 'name' does not exist in stg_customers")  # the edit breaks revenue
    ok(run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj))
    dev = proj / "warehouse.duckdb"
    assert rows(dev, REVENUE) == rows(proj / "prod.duckdb", REVENUE)
    # a column made here but not in production's relation: located, before any data changes
    orders = proj / "models/staging/stg_orders.sql"
    orders.write_text(orders.read_text().replace("amount_x2", "amount_x2, amount * 3 as amount_x3"))
    ephemeral = proj / "models/staging/customer_orders.sql"
    ephemeral.write_text(ephemeral.read_text().replace("o.amount_x2", "o.amount_x3 as amount_x2"))
    before = fingerprint(dev)
    done = run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    refused(done, "models/staging/customer_orders.sql:2:", "amount_x3")
    assert fingerprint(dev) == before


@pytest.mark.slow
def test_deferral_mistakes_are_located_errors_and_write_nothing(proj: Path) -> None:
    prod = proj / "prod.duckdb"
    before = fingerprint(prod)
    done = run_teal("build", "-s", "revenue", "--defer-to", "nowhere.duckdb", cwd=proj)
    refused(done, "--defer-to", "nowhere.duckdb: no such file", "hint:")
    (proj / "notes.duckdb").write_text("not a database\n" * 100)
    done = run_teal("build", "-s", "revenue", "--defer-to", "notes.duckdb", cwd=proj)
    refused(done, "notes.duckdb: not a DuckDB database file", "hint:")
    # a deferred model that production lacks too: named, with its file
    ok(run_teal("build", "-s", "customers", "--warehouse", "half.duckdb", "-q", cwd=proj))
    done = run_teal("build", "-s", "revenue", "--defer-to", "half.duckdb", cwd=proj)
    refused(done, "models/staging/stg_orders.sql:1:1: model 'stg_orders'", "half.duckdb has no")
    assert "stg_customers" in done.output
    done = run_teal("build", "-s", "revenue", "--favor-state", cwd=proj)
    refused(done, "--favor-state needs --defer-to")
    done = run_teal("build", "-s", "revenue", "--defer", cwd=proj)
    refused(done, "--defer is for dbt projects", "--defer-to")
    done = run_teal("build", "-s", "revenue", "--defer-to", "warehouse.duckdb", cwd=proj)
    ok(run_teal("build", "-s", "customers", "-q", cwd=proj))
    done = run_teal("build", "-s", "revenue", "--defer-to", "warehouse.duckdb", cwd=proj)
    refused(done, "is this warehouse")
    assert not (proj / "warehouse.duckdb").exists() or relations(proj / "warehouse.duckdb") == {
        "raw.customers"
    }
    assert fingerprint(prod) == before


@pytest.mark.slow
def test_checks_read_the_other_models_they_read_from_production(proj: Path) -> None:
    # revenue's relationships check reads stg_customers, its singular check customers
    # (which revenue's SQL does not read); neither is built here
    prod = proj / "prod.duckdb"
    before = fingerprint(prod)
    done = run_teal("check", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    assert done.returncode == 1, done.output  # the checked model itself is read here
    assert "revenue: not built yet" in done.stdout, done.output
    done = run_teal("build", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    ok(done)
    assert "checks: 3 pass" in done.stdout, done.stdout
    plan = run_teal("plan", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    assert any(
        ln.split()[1:3] == ["customers", "(deferred)"] and "by checks (not built here)" in ln
        for ln in plan.stdout.splitlines()
    ), plan.output
    alone = run_teal("check", "-s", "revenue", cwd=proj)  # without deferral: not there
    # the checks reading it are skipped saying so, as a build skips them
    assert alone.returncode == 0, alone.output
    assert "skipped: stg_customers is not built yet" in alone.stdout, alone.output
    assert "Checks: 1 run, 1 passed, 2 skipped" in alone.stdout, alone.output
    done = run_teal("check", "-s", "revenue", "--defer-to", "prod.duckdb", "--json", cwd=proj)
    ok(done)
    import json

    found = json.loads(done.stdout)
    assert [(c["check"], c["status"]) for c in found["checks"]] == [
        ("not_null_revenue_name", "pass"),
        ("relationships_revenue_name_stg_customers", "pass"),
        ("revenue_of_known_customers", "pass"),
    ]
    assert sorted(found["deferred"]) == ["customers", "stg_customers"]
    text = run_teal("check", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    ok(text)
    assert "customers (deferred): read from" in text.stdout
    assert "by checks (not built here)" in text.stdout, text.stdout
    # stg_customers built here without bob: read here, unless --favor-state
    raw = proj / "models/raw/customers.sql"
    raw.write_text(raw.read_text().replace(", (11, 'bob')", ""))
    built = run_teal("build", "-s", "+stg_customers", "-q", cwd=proj)
    # dbt's eager indirect selection runs revenue's tests that read stg_customers too, on
    # revenue as it is here (with bob): they fail, stg_customers is built all the same
    assert built.returncode == 1, built.output
    assert "Tests on models not rebuilt: 2 run, 0 passed, 2 failed" in built.stdout, built.output
    here = run_teal("test", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    assert here.returncode == 1, here.output
    assert "relationships_revenue_name_stg_customers  FAIL" in here.stdout, here.stdout
    favored = ("test", "-s", "revenue", "--defer-to", "prod.duckdb", "--favor-state")
    ok(run_teal(*favored, cwd=proj))
    assert fingerprint(prod) == before
    done = run_teal("check", "--freshness", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    refused(done, "--defer-to does not apply")


@pytest.mark.slow
def test_compile_writes_the_sql_a_deferred_build_runs(proj: Path) -> None:
    done = run_teal("compile", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    ok(done)
    compiled = proj / "target/compiled/models/marts/revenue.sql"
    text = compiled.read_text()
    assert text.startswith("-- revenue: table marts.revenue\n-- reads stg_customers, stg_orders")
    assert '"teal_defer"."staging"."stg_orders"' in text, text
    assert not (proj / "warehouse.duckdb").exists()  # nothing created here
    conn = duckdb.connect()  # the file runs as written, with production attached as it says
    conn.execute(f"attach '{proj / 'prod.duckdb'}' as teal_defer (read_only)")
    assert conn.execute(text).fetchall() == [("ADA", 61), ("BOB", 80)]
    ok(run_teal("compile", "-s", "revenue", cwd=proj))  # without: this warehouse's SQL again
    assert "teal_defer" not in compiled.read_text()
    # bound as the deferred build binds: against production's columns, not the edit's
    orders = proj / "models/staging/stg_orders.sql"
    orders.write_text(orders.read_text().replace("amount_x2", "amount_x2, amount * 3 as amount_x3"))
    ephemeral = proj / "models/staging/customer_orders.sql"
    ephemeral.write_text(ephemeral.read_text().replace("o.amount_x2", "o.amount_x3 as amount_x2"))
    ok(run_teal("compile", "-s", "revenue", cwd=proj))  # here, stg_orders has amount_x3
    done = run_teal("compile", "-s", "revenue", "--defer-to", "prod.duckdb", cwd=proj)
    refused(done, "models/staging/customer_orders.sql:2:", "amount_x3")  # production has not
    done = run_teal("compile", "-s", "revenue", "--defer-to", "nowhere.duckdb", cwd=proj)
    refused(done, "nowhere.duckdb: no such file")


DAYS = ("--partition", "2025-01-02,2025-01-03")
TOTALS = "select * from marts.daily_totals order by all"


@pytest.mark.slow
def test_a_partitioned_mart_reads_its_deferred_daily_upstream(tmp_path: Path) -> None:
    # tests/deferral_partitions: daily_totals (daily) reads daily_events (daily), built in
    # production only; its partitions are judged by production's state, not this one's
    root = tmp_path / "parts"
    shutil.copytree(HERE / "deferral_partitions", root)
    ok(run_teal("build", "--warehouse", "prod.duckdb", "-q", cwd=root))
    args = ("build", "-s", "daily_totals", *DAYS)
    done = run_teal(*args, "--defer-to", "prod.duckdb", cwd=root)
    ok(done)
    assert "not built" not in done.output, done.output  # no warning: production has them
    whole = ("build", "-s", "+daily_totals", *DAYS, "--warehouse", "whole.duckdb", "-q")
    ok(run_teal(*whole, cwd=root))  # the same two days, built here from scratch
    built = rows(root / "warehouse.duckdb", TOTALS)
    assert built == rows(root / "whole.duckdb", TOTALS)
    assert [(str(d), a, t, n) for d, a, t, n in built] == [
        ("2025-01-02", "a", 20, 1),
        ("2025-01-02", "b", 30, 1),
        ("2025-01-03", "b", 90, 2),
    ]
    # a production that lacks one of the upstream's partitions: that one is named
    half = ("build", "-s", "+daily_events", "--partition", "2025-01-02", "-q")
    ok(run_teal(*half, "--warehouse", "half.duckdb", cwd=root))
    done = run_teal(*args, "--defer-to", "half.duckdb", "--warehouse", "dev.duckdb", cwd=root)
    ok(done)
    assert (
        "daily_totals reads partitions of daily_events that the deferred warehouse has not "
        "built (2025-01-03)"
    ) in done.stderr, done.output
    assert "hint: daily_events is read from" in done.stderr, done.stderr


# -- a dbt project ----------------------------------------------------------------------------


@pytest.mark.slow
def test_dbt_defer_reads_the_manifests_relations_from_production(dbt_proj: Path) -> None:
    prod, dev = dbt_proj / "prod.duckdb", dbt_proj / "dev.duckdb"
    before = fingerprint(prod)
    done = run_teal("build", "-s", "revenue", "--defer", "--state", "prod-state", cwd=dbt_proj)
    ok(done)
    # production's schema is analytics, this target's dev_ada: the manifest says where
    assert rows(dev, "select * from dev_ada.revenue") == rows(
        prod, "select * from analytics.revenue"
    )
    assert relations(dev) == {"dev_ada.revenue"}
    assert fingerprint(prod) == before
    done = run_teal("build", "-s", "revenue", "--defer", cwd=dbt_proj)
    refused(done, "--defer needs --state DIR")


@pytest.mark.slow
def test_dbt_defer_to_a_database_teal_cannot_find_says_so(dbt_proj: Path) -> None:
    profiles = dbt_proj / "profiles.yml"
    profiles.write_text(profiles.read_text().split("    prod:")[0])  # no prod output now
    done = run_teal("build", "-s", "revenue", "--defer", "--state", "prod-state", cwd=dbt_proj)
    refused(done, "prod-state/manifest.json", "database 'prod' is not a DuckDB file", "--defer-to")
    assert not (dbt_proj / "dev.duckdb").exists()
    args = ("build", "-s", "revenue", "--defer", "--state", "prod-state")
    ok(run_teal(*args, "--defer-to", "prod.duckdb", cwd=dbt_proj))  # told where it is


@pytest.mark.slow
def test_dbt_test_with_defer_reads_the_manifests_relations(dbt_proj: Path) -> None:
    ok(run_teal("build", "-s", "revenue", "--defer", "--state", "prod-state", cwd=dbt_proj))
    # revenue's relationships test reads stg_orders: analytics.stg_orders in production
    alone = run_teal("test", "-s", "revenue", cwd=dbt_proj)  # not here: skipped
    assert alone.returncode == 0, alone.output
    assert "skipped: stg_orders is not built yet" in alone.stdout, alone.output
    done = run_teal("test", "-s", "revenue", "--defer", "--state", "prod-state", cwd=dbt_proj)
    ok(done)
    assert "stg_orders (deferred): read from" in done.stdout, done.stdout
