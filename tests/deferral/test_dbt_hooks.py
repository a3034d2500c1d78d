"""dbt tests and hooks in a deferred build: their ``ref()`` resolves as a model's does.

tests/deferral_dbt_hooks: ``revenue`` reads ``stg_orders``; its pre-hook and post-hook
read ``stg_customers`` (so it depends on it, as in dbt); its generic test
``rows_at_most`` and the singular test ``every_customer_ordered`` ask ``run_query`` about
``stg_customers``, so both are rendered when they run; the dev target's on-run-start and
on-run-end count ``stg_orders``. Built into a fresh dev warehouse with both staging
models deferred to production, every one of them must read production's rows (it read
this warehouse, where nothing is built: "Table with name stg_orders does not exist").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_teal
from tests.deferral.support import built_for_prod, ok, relations, rows

DEFER = ("--defer", "--state", "prod-state")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return built_for_prod(tmp_path / "shop", "deferral_dbt_hooks", "--target", "prod")


def count(path: Path, table: str) -> int:
    return rows(path, f"select n from dev_ada.{table}")[0][0]


@pytest.mark.slow
def test_hooks_and_tests_rendered_at_run_read_the_deferred_relations(shop: Path) -> None:
    dev = shop / "dev.duckdb"
    done = run_teal("build", "-s", "revenue", *DEFER, cwd=shop)
    ok(done)
    assert "Deferred: 2 models read from" in done.output, done.output
    assert "checks: 2 pass" in done.output, done.output
    assert relations(dev) == {
        "dev_ada.revenue",
        "dev_ada.customers_seen",  # pre-hook: production's stg_customers
        "dev_ada.revenue_checked",  # post-hook: revenue here joined to production's
        "dev_ada.orders_at_start",  # on-run-start
        "dev_ada.orders_at_end",  # on-run-end
    }
    assert count(dev, "customers_seen") == 2
    assert count(dev, "revenue_checked") == 2
    assert count(dev, "orders_at_start") == 3
    assert count(dev, "orders_at_end") == 3
    assert rows(dev, "select * from dev_ada.revenue order by 1") == rows(
        shop / "prod.duckdb", "select * from analytics.revenue order by 1"
    )

    # dbt test --defer: the tests rendered when they run read production's stg_customers
    tested = run_teal("test", "-s", "revenue", *DEFER, cwd=shop)
    ok(tested)
    assert "Checks: 2 run, 2 passed" in tested.output, tested.output
    # without deferral they read this warehouse, which lacks it: the user sees why
    failed = run_teal("test", "-s", "revenue", cwd=shop)
    assert failed.returncode == 1, failed.output
    assert "stg_customers does not exist" in failed.output, failed.output


@pytest.mark.slow
def test_a_models_hooks_refs_are_its_upstreams(shop: Path) -> None:
    # as dbt's depends_on: +revenue selects what its hooks read, built before it
    lineage = run_teal("lineage", "revenue", cwd=shop)
    ok(lineage)
    assert "stg_customers (table, dev_ada.stg_customers)" in lineage.stdout, lineage.stdout
    prod = shop / "prod.duckdb"
    prod.unlink()  # (its target runs no project hooks)
    ok(run_teal("build", "--target", "prod", "-s", "+revenue", "-q", cwd=shop))
    assert rows(prod, "select n from analytics.customers_seen") == [(2,)]
