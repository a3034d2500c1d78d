"""The repository's example shop project builds out of the box, and `marts+` selects right."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.checksums import content_checksums
from tests.conftest import REPO, query, run_teal

pytestmark = pytest.mark.slow

EXPECTED_ROWS = {
    "raw.customers": 10_000,
    "raw.products": 500,
    "raw.orders": 100_000,
    "intermediate.int_orders": 100_000,
    "marts.daily_revenue": 365,
    "marts.product_performance": 500,
}
VIEWS = [
    "staging.stg_customers",
    "staging.stg_order_items",
    "staging.stg_orders",
    "staging.stg_payments",
    "staging.stg_products",
    "staging.stg_web_events",
    "marts.revenue_trend",
]
TABLES = [
    "raw.customers",
    "raw.products",
    "raw.orders",
    "raw.order_items",
    "raw.payments",
    "raw.web_events",
    "intermediate.int_orders",
    "marts.customer_lifetime_value",
    "marts.daily_revenue",
    "marts.product_performance",
    "analytics.customer_segments",
    "marts.daily_traffic",
    "marts.monthly_region_revenue",
]
# marts+ rebuilds the unpartitioned marts and what reads them; the partitioned marts are
# complete already ("all partitions up to date")
MARTS_PLUS = [
    "customer_lifetime_value",
    "product_performance",
    "revenue_trend",
    "customer_segments",
]
PARTITIONED_MARTS = ["daily_revenue", "daily_traffic", "monthly_region_revenue"]


def copy_example(root):
    """The repository's example project (config, models, data, checks) copied to ``root``."""
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    for folder in ("models", "data", "checks"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def test_example_project_builds_and_marts_plus_selects_marts_and_descendants(tmp_path):
    root = copy_example(tmp_path / "shop")

    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    db = root / "warehouse.duckdb"
    relations = {
        f"{s}.{n}": t
        for s, n, t in query(
            db,
            "select table_schema, table_name, table_type from information_schema.tables "
            "where table_catalog = current_database() and table_schema <> 'teal'",
        )
    }
    assert relations == {**{v: "VIEW" for v in VIEWS}, **{t: "BASE TABLE" for t in TABLES}}
    # the ephemeral model is inlined, never created
    assert not [r for r in relations if r.endswith("int_order_lines")]
    for relation, rows in EXPECTED_ROWS.items():
        assert query(db, f"select count(*) from {relation}") == [(rows,)], relation
    clv = query(db, "select count(*) from marts.customer_lifetime_value")[0][0]
    assert 0 < clv <= 10_000
    assert query(db, "select count(*) from analytics.customer_segments") == [(clv,)]
    assert query(db, "select count(distinct order_date) from marts.daily_revenue") == [(365,)]
    assert query(db, "select distinct currency from marts.daily_revenue") == [("EUR",)]
    assert {
        s for (s,) in query(db, "select distinct segment from analytics.customer_segments")
    } <= {"champion", "at_risk", "occasional", "regular"}
    # the CSV source joined in
    assert query(db, "select count(*) from staging.stg_customers where country_name is null") == [
        (0,)
    ]
    first_run = query(db, "select run_id from teal.runs")[0][0]

    done = run_teal("build", "--select", "marts+", "--json", cwd=root)
    assert done.returncode == 0, done.output
    result = json.loads(done.stdout)
    assert result["success"] is True
    assert sorted(r["model"] for r in result["results"]) == sorted(MARTS_PLUS)
    assert {r["status"] for r in result["results"]} == {"success"}
    rows = {r["model"]: r["rows"] for r in result["results"]}
    assert rows["product_performance"] == 500
    assert sorted(m for m in PARTITIONED_MARTS if m not in rows) == PARTITIONED_MARTS
    assert rows["customer_segments"] == rows["customer_lifetime_value"] == clv
    # the second run rebuilt exactly those four models and nothing upstream of them
    second = query(
        db, f"select model from teal.builds where run_id = '{result['run_id']}' order by model"
    )
    assert [m for (m,) in second] == sorted(MARTS_PLUS)
    assert query(db, f"select count(*) from teal.builds where run_id = '{first_run}'") == [(20,)]
    assert query(db, "select count(*) from analytics.customer_segments") == [(clv,)]

    # the partitions: every day of 2025 built; one day refreshed alone; the 2-D model's keys
    assert query(
        db,
        "select count(*) from teal.partition_state where model = 'orders' and status = 'success'",
    ) == [(365,)]
    assert query(db, "select count(*) from marts.monthly_region_revenue") == [(48,)]
    before = query(db, "select * from marts.daily_revenue order by order_date")
    done = run_teal("build", "-s", "daily_revenue", "--partition", "2025-03-01", "--json", cwd=root)
    assert done.returncode == 0, done.output
    only = json.loads(done.stdout)["results"]
    assert [(r["model"], r["partitions"], r["rows"]) for r in only] == [("daily_revenue", 1, 1)]
    assert query(db, "select * from marts.daily_revenue order by order_date") == before


def test_the_example_is_reproducible_byte_for_byte_and_keeps_money_exact(tmp_path):
    """Two clean builds of the same inputs, and a full rebuild of one of them, hold the same
    content in every relation; money is DECIMAL, never DOUBLE (a DOUBLE summed in parallel
    rounds differently from run to run, and ranks of ties flip)."""
    first, second = copy_example(tmp_path / "a"), copy_example(tmp_path / "b")
    for root in (first, second):
        done = run_teal("build", cwd=root)
        assert done.returncode == 0, done.output
    sums = content_checksums(first / "warehouse.duckdb")
    assert len(sums) == len(VIEWS) + len(TABLES)
    assert content_checksums(second / "warehouse.duckdb") == sums
    rebuilt = run_teal("build", "--full-refresh", cwd=first)
    assert rebuilt.returncode == 0, rebuilt.output
    assert content_checksums(first / "warehouse.duckdb") == sums
    inexact = query(
        first / "warehouse.duckdb",
        "select table_schema || '.' || table_name || '.' || column_name "
        "from information_schema.columns where data_type in ('DOUBLE', 'FLOAT') "
        "and table_schema <> 'teal'",
    )
    assert inexact == []
    money = dict(
        query(
            first / "warehouse.duckdb",
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'customer_lifetime_value' "
            "and column_name in ('lifetime_revenue', 'avg_order_value')",
        )
    )
    assert all(kind.startswith("DECIMAL") for kind in money.values()), money
