"""dbt Jinja that queries the warehouse, in a deferred build (dbt's ``--defer``).

tests/deferral_dbt_queries: ``amount_by_status`` pivots over the statuses a
``run_query`` over ``ref('stg_orders')`` finds, ``customer_list`` lists the columns
``adapter.get_columns_in_relation(ref('stg_customers'))`` answers. Both are rendered when
the build runs them (teal's ``render_at_run``). Built into a fresh dev warehouse with the
staging models deferred to production, their rows must be production's; the real CLI
runs against real DuckDB files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_teal
from tests.deferral.support import built_for_prod, ok, refused, relations, rows

MARTS = ("amount_by_status", "customer_list")
DEFER = ("--defer", "--state", "prod-state")
STATUS = "select * from {}.amount_by_status order by all"
CUSTOMERS = "select * from {}.customer_list order by all"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The fixture built with its prod target (schema analytics), its manifest kept in
    prod-state/; the dev target's schema is dev_ada."""
    return built_for_prod(tmp_path / "shop", "deferral_dbt_queries", "--target", "prod")


@pytest.mark.slow
def test_run_query_and_get_columns_over_a_deferred_ref_read_production(shop: Path) -> None:
    prod, dev = shop / "prod.duckdb", shop / "dev.duckdb"
    plan = run_teal("plan", "-s", *MARTS, *DEFER, cwd=shop)
    ok(plan)
    assert "stg_orders        (deferred)" in plan.stdout, plan.stdout
    # was: "Table with name stg_orders does not exist!" and "SELECT clause without
    # selection list" (no columns), though the plan deferred both
    ok(run_teal("build", "-s", *MARTS, *DEFER, cwd=shop))
    assert relations(dev) == {"dev_ada.amount_by_status", "dev_ada.customer_list"}
    assert rows(dev, STATUS.format("dev_ada")) == rows(prod, STATUS.format("analytics"))
    assert rows(dev, STATUS.format("dev_ada")) == [("ada", 5.5, 25.0), ("bob", 0.0, 40.0)]
    assert rows(dev, CUSTOMERS.format("dev_ada")) == rows(prod, CUSTOMERS.format("analytics"))
    assert len(rows(dev, CUSTOMERS.format("dev_ada"))[0]) == 3

    # teal show -s renders it the same way (and creates no warehouse)
    dev.unlink()
    shown = run_teal("show", "-s", "amount_by_status", *DEFER, cwd=shop)
    ok(shown)
    assert "returned_amount  shipped_amount" in shown.stdout, shown.output
    assert "reads stg_orders from" in shown.stderr, shown.output
    shown = run_teal("show", "-s", "customer_list", *DEFER, cwd=shop)
    ok(shown)
    assert "customer  full_name     country" in shown.stdout, shown.output
    assert not dev.exists()

    # teal compile writes the SQL the deferred build runs, rendered, not the placeholder
    ok(run_teal("compile", "-s", *MARTS, *DEFER, cwd=shop))
    compiled = shop / "target/compiled/shop/models/marts/amount_by_status.sql"
    text = compiled.read_text()
    assert "rendered_at_run" not in text, text
    assert 'from "teal_defer"."analytics"."stg_orders"' in text, text
    assert "then amount else 0 end) as shipped_amount" in text, text
    conn = duckdb.connect()
    conn.execute(f"attach '{prod}' as teal_defer (read_only)")
    assert conn.execute(text).fetchall() == [("ada", 5.5, 25.0), ("bob", 0.0, 40.0)]
    listed = (shop / "target/compiled/shop/models/marts/customer_list.sql").read_text()
    assert "select customer, full_name, country" in listed, listed


@pytest.mark.slow
def test_a_ref_built_here_is_read_here_beside_the_attached_production(shop: Path) -> None:
    dev = shop / "dev.duckdb"
    # stg_customers built here, with a column production lacks: read here, its columns
    # only this warehouse's (production's namesake is attached beside it)
    customers = shop / "models/staging/stg_customers.sql"
    customers.write_text(customers.read_text().replace("select *", "select *, 'vip' as tier"))
    ok(run_teal("build", "-s", "stg_customers", "-q", cwd=shop))
    ok(run_teal("build", "-s", *MARTS, *DEFER, cwd=shop))  # stg_orders is deferred
    assert rows(dev, CUSTOMERS.format("dev_ada")) == [
        ("ada", "Ada Lovelace", "uk", "vip"),
        ("bob", "Bob Hope", "us", "vip"),
    ]
    ok(run_teal("build", "-s", *MARTS, *DEFER, "--favor-state", cwd=shop))  # production's
    assert rows(dev, CUSTOMERS.format("dev_ada")) == [
        ("ada", "Ada Lovelace", "uk"),
        ("bob", "Bob Hope", "us"),
    ]
    # nothing deferred (all built here), the file attached all the same, with the same
    # schemas: the columns are this warehouse's once (were: customer, customer_1, ...)
    shutil.copy(shop / "prod.duckdb", shop / "copy.duckdb")
    args = ("build", "--target", "prod", "-s", "customer_list", "--defer-to", "copy.duckdb")
    ok(run_teal(*args, cwd=shop))
    names = rows(shop / "prod.duckdb", "describe analytics.customer_list")
    assert [n[0] for n in names] == ["customer", "full_name", "country"]


EPHEMERAL = """{{ config(materialized='ephemeral') }}
{%- set statuses = [] -%}
{%- if execute -%}
{%- set statuses = run_query("select distinct status from " ~ ref('stg_orders')).columns[0].values() -%}
{%- endif %}
select customer{% for s in statuses %}, count(case when status = '{{ s }}' then 1 end) as n_{{ s }}{% endfor %}
from {{ ref('stg_orders') }} group by customer
"""


@pytest.mark.slow
def test_an_ephemeral_models_queries_are_refused_when_they_read_a_deferred_model(
    shop: Path,
) -> None:
    # an ephemeral model is rendered when the project loads (inlined into its readers):
    # deferral cannot reach its queries, so reading production there is refused, located
    ok(run_teal("build", "-s", "stg_orders", "-q", cwd=shop))  # here: its load's query runs
    (shop / "models/marts/statuses.sql").write_text(EPHEMERAL)
    (shop / "models/marts/status_counts.sql").write_text("select * from {{ ref('statuses') }}")
    done = run_teal("build", "-s", "status_counts", *DEFER, "--favor-state", cwd=shop)
    refused(
        done,
        # at the ref whose query deferral cannot reach (was 1:1), the setting in the hint
        "models/marts/statuses.sql:4:63: ephemeral model 'statuses' (inlined into "
        "status_counts) queries the warehouse in its Jinja",
        "--defer --state does not reach those queries, which would read stg_orders here",
        "run_query(\"select distinct status from \" ~ ref('stg_orders'))",
        "hint: make 'statuses' a view or table (line 1 sets materialized='ephemeral'), whose",
    )
    refused(run_teal("plan", "-s", "status_counts", *DEFER, "--favor-state", cwd=shop))
    assert "status_counts" not in str(relations(shop / "dev.duckdb"))
    # not deferred (stg_orders is built here): built from it, as without deferral
    ok(run_teal("build", "-s", "status_counts", *DEFER, cwd=shop))
    # in a fresh dev warehouse the load's query fails: its error says deferral misses it
    (shop / "dev.duckdb").unlink()
    done = run_teal("build", "-s", "status_counts", *DEFER, cwd=shop)
    refused(
        done,
        "models/marts/statuses.sql:4:",
        "--defer --state does not reach this query (an ephemeral model's Jinja",
    )
