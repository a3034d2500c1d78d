"""dbt's ``--indirect-selection``: a test with several parents (a relationships test from
``stg_orders.product_id`` to ``stg_products``) is selected through any of them by default
(``eager``), as dbt selects it, in ``teal ls``, ``teal test`` and ``teal build``.

The fixture (tests/indirect_dbt)::

    stg_orders   stg_products      relationships test: on stg_orders, to stg_products
            \\    /                  (attached to stg_products, which builds last)
          order_lines

The expected sets are dbt's rules (core/dbt/graph/selector.py, ``expand_selection``): eager,
any parent selected; cautious, every parent; buildable, every parent selected or an
ancestor of a selected model; empty, no test through a model.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import query, run_teal, write_project

FIXTURE = Path(__file__).parent / "indirect_dbt"
REL = "relationships_stg_orders_product_id__product_id__ref_stg_products_"
REL_CHECK = "relationships_stg_orders_25711d7165ca7dae190829aae03ddf38"  # its check's name
ORDERS_TESTS = ["not_null_stg_orders_product_id", "unique_stg_orders_order_id"]
ENV = {"TEAL_RUN_STORE": "none"}

# (mode, selection) -> the tests `teal ls --resource-type test` lists
LISTED = {
    ("eager", "stg_orders"): sorted([*ORDERS_TESTS, REL]),
    ("cautious", "stg_orders"): ORDERS_TESTS,
    ("buildable", "stg_orders"): ORDERS_TESTS,
    ("empty", "stg_orders"): [],
    ("eager", "stg_orders+"): sorted([*ORDERS_TESTS, REL, "not_null_order_lines_order_id"]),
    ("cautious", "stg_orders+"): sorted([*ORDERS_TESTS, "not_null_order_lines_order_id"]),
    ("buildable", "stg_orders+"): sorted([*ORDERS_TESTS, REL, "not_null_order_lines_order_id"]),
    ("empty", "stg_orders+"): [],
    ("eager", "stg_products"): sorted(["unique_stg_products_product_id", REL]),
    ("cautious", "stg_products"): ["unique_stg_products_product_id"],
}


def _shop(tmp_path: Path) -> Path:
    work = tmp_path / "shop"
    shutil.copytree(FIXTURE, work, ignore=shutil.ignore_patterns("target", "*.duckdb", ".teal"))
    return work


@pytest.mark.slow
def test_ls_lists_the_tests_each_mode_selects(tmp_path: Path) -> None:
    work = _shop(tmp_path)
    for (mode, select), expected in LISTED.items():
        ls = ("ls", "-s", select, "--resource-type", "test", "-o", "name")
        done = run_teal(*ls, "--indirect-selection", mode, cwd=work, env=ENV)
        assert done.returncode == 0, done.output
        assert sorted(done.stdout.split()) == expected, (mode, select, done.output)
    # the default is eager; dbt's environment variable sets it in a dbt project
    done = run_teal(*ls[:-3], "test", "-o", "name", cwd=work, env=ENV)
    assert sorted(done.stdout.split()) == LISTED[("eager", "stg_products")]
    for env, expected in (
        (ENV, LISTED[("eager", "stg_orders")]),
        (
            {**ENV, "DBT_INDIRECT_SELECTION": "cautious"},
            ORDERS_TESTS,
        ),
    ):
        done = run_teal("ls", "-s", "stg_orders", "--resource-type", "test", "-o", "name",
                        cwd=work, env=env)  # fmt: skip
        assert sorted(done.stdout.split()) == expected, done.output
    # excluding a parent leaves the test out, as dbt's exclusion does
    done = run_teal("ls", "-s", "stg_products", "--exclude", "stg_orders",
                    "--resource-type", "test", "-o", "name", cwd=work, env=ENV)  # fmt: skip
    assert done.stdout.split() == ["unique_stg_products_product_id"], done.output


@pytest.mark.slow
def test_an_unknown_mode_exits_2_naming_the_valid_ones(tmp_path: Path) -> None:
    work = _shop(tmp_path)
    done = run_teal(
        "test", "-s", "stg_orders", "--indirect-selection", "cautios", cwd=work, env=ENV
    )
    assert done.returncode == 2, done.output
    assert "unknown indirect selection 'cautios'" in done.stderr
    assert "did you mean 'cautious'?" in done.stderr
    assert "valid: eager, cautious, buildable, empty" in done.stderr
    assert "Traceback" not in done.stderr
    env = {**ENV, "DBT_INDIRECT_SELECTION": "nope"}
    done = run_teal("ls", "-s", "stg_orders", cwd=work, env=env)
    assert done.returncode == 2 and "DBT_INDIRECT_SELECTION: unknown" in done.stderr, done.output


@pytest.mark.slow
def test_build_runs_the_relationships_test_through_either_parent(tmp_path: Path) -> None:
    work = _shop(tmp_path)
    db = work / "shop.duckdb"
    # stg_orders was never built: the test is skipped saying so; stg_products publishes
    done = run_teal("build", "-s", "stg_products", cwd=work, env=ENV)
    assert done.returncode == 0, done.output
    assert (
        f"SKIP  check {REL_CHECK}  skipped: stg_orders is not built yet (not selected, and "
        "not in the warehouse)"
    ) in done.stdout
    assert query(db, "select count(*) from main.stg_products") == [(2,)]
    # building stg_orders runs the test after it, on stg_products as it is
    done = run_teal("build", "-s", "stg_orders", cwd=work, env=ENV)
    assert done.returncode == 0, done.output
    assert f"PASS  check {REL_CHECK}  0 failing rows  (on stg_products as it is)" in done.stdout
    assert "Tests on models not rebuilt: 1 run, 1 passed" in done.stdout
    checked = query(db, "select check_name, status from teal.check_results")
    assert (REL_CHECK, "pass") in checked
    # cautious: not every parent is selected; empty: no test at all
    done = run_teal("build", "-s", "stg_orders", "--indirect-selection", "cautious",
                    cwd=work, env=ENV)  # fmt: skip
    assert done.returncode == 0 and REL_CHECK not in done.stdout, done.output
    assert "checks: 2 pass" in done.stdout
    done = run_teal("build", "-s", "stg_orders", "--indirect-selection", "empty",
                    cwd=work, env=ENV)  # fmt: skip
    assert done.returncode == 0 and "check" not in done.stdout.lower(), done.output
    # a foreign key broken in stg_orders fails the build selected through stg_orders
    (work / "models/staging/stg_orders.sql").write_text(
        "select * from (values (1, 10, 2), (2, 99, 1)) as t(order_id, product_id, quantity)\n"
    )
    done = run_teal("build", "-s", "stg_orders", cwd=work, env=ENV)
    assert done.returncode == 1, done.output
    assert f"FAIL  check {REL_CHECK}  1 failing row" in done.stdout
    # stg_orders failing its own test: the relationships test is skipped, saying why
    (work / "models/staging/stg_orders.sql").write_text(
        "select * from (values (1, 10, 2), (2, null, 1)) as t(order_id, product_id, quantity)\n"
    )
    done = run_teal("build", "-s", "stg_orders", cwd=work, env=ENV)
    assert done.returncode == 1, done.output
    assert f"SKIP  check {REL_CHECK}  skipped: stg_orders failed" in done.stdout


@pytest.mark.slow
def test_test_runs_the_relationships_test_selected_through_stg_orders(tmp_path: Path) -> None:
    work = _shop(tmp_path)
    assert run_teal("build", cwd=work, env=ENV).returncode == 0
    done = run_teal("test", "-s", "stg_orders", cwd=work, env=ENV)
    assert done.returncode == 0, done.output
    assert "Checks: 3 run, 3 passed" in done.stdout and REL_CHECK in done.stdout
    for mode, count in (
        ("cautious", "Checks: 2 run"),
        ("buildable", "Checks: 2 run"),
        ("empty", "Checks: 0 run"),
    ):
        done = run_teal("test", "-s", "stg_orders", "--indirect-selection", mode,
                        cwd=work, env=ENV)  # fmt: skip
        assert done.returncode == 0 and f"{count}, " in done.stdout, (mode, done.output)
        assert REL_CHECK not in done.stdout
    done = run_teal("test", "-s", "stg_orders+", "--indirect-selection", "buildable",
                    cwd=work, env=ENV)  # fmt: skip
    assert "Checks: 4 run, 4 passed" in done.stdout and REL_CHECK in done.stdout, done.output
    # a test named directly still runs in empty
    done = run_teal("test", "-s", "test_name:unique", "--indirect-selection", "empty",
                    cwd=work, env=ENV)  # fmt: skip
    assert "Checks: 2 run, 2 passed" in done.stdout, done.output


@pytest.mark.slow
def test_test_skips_a_relationships_test_whose_other_model_is_not_built(tmp_path: Path) -> None:
    """As ``teal build`` does: the test is skipped saying which model is not built, and
    the command does not fail for a model the user did not select."""
    work = _shop(tmp_path)
    assert run_teal("build", "-s", "stg_orders", cwd=work, env=ENV).returncode == 0
    # the test is attached to stg_products, never built and not selected
    done = run_teal("test", "-s", "stg_orders", cwd=work, env=ENV)
    assert done.returncode == 0, done.output
    assert "selected model is not built yet" not in done.output
    assert f"the test {REL_CHECK} is attached to stg_products, which is not built yet" in (
        done.stdout
    )
    assert re.search(
        rf"{REL_CHECK}\s+SKIPPED\s+skipped: stg_products is not built yet", done.stdout
    )
    assert "Checks: 2 run, 2 passed, 1 skipped" in done.stdout
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    rel = [r for r in results if REL in r["unique_id"]]
    assert [(r["status"], r["message"]) for r in rel] == [
        ("skipped", "skipped: stg_products is not built yet")
    ]

    # the other way round: the model it is attached to is built, the one it reads is not
    fresh = _shop(tmp_path / "other")
    assert run_teal("build", "-s", "stg_products", cwd=fresh, env=ENV).returncode == 0
    done = run_teal("test", "-s", "stg_products", cwd=fresh, env=ENV)
    assert done.returncode == 0, done.output
    assert re.search(rf"{REL_CHECK}\s+SKIPPED\s+skipped: stg_orders is not built yet", done.stdout)
    assert (
        "Catalog Error" not in done.output and "Checks: 1 run, 1 passed, 1 skipped" in done.stdout
    )
    # stg_orders selected and not built: that is still a failure, and the test is skipped
    done = run_teal("test", "-s", "stg_orders", cwd=fresh, env=ENV)
    assert done.returncode == 1, done.output
    assert "1 selected model is not built yet" in done.stdout
    assert "skipped: stg_orders is not built yet" in done.stdout


@pytest.mark.slow
def test_a_selector_sets_its_indirect_selection(tmp_path: Path) -> None:
    work = _shop(tmp_path)
    (work / "selectors.yml").write_text(
        "selectors:\n"
        "  - name: orders_cautious\n"
        "    definition: {method: fqn, value: stg_orders, indirect_selection: cautious}\n"
        "  - name: orders\n"
        "    definition: {method: fqn, value: stg_orders}\n"
    )
    ls = ("ls", "--resource-type", "test", "-o", "name")
    done = run_teal(*ls, "--selector", "orders_cautious", cwd=work, env=ENV)
    assert sorted(done.stdout.split()) == ORDERS_TESTS, done.output
    done = run_teal(*ls, "--selector", "orders", cwd=work, env=ENV)
    assert sorted(done.stdout.split()) == LISTED[("eager", "stg_orders")], done.output
    done = run_teal(*ls, "-s", "selector:orders_cautious stg_products", cwd=work, env=ENV)
    assert done.returncode == 2 and "mixes indirect selections" in done.stderr, done.output


@pytest.mark.slow
def test_a_teal_check_reading_two_models_is_selected_through_either(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "proj",
        {
            "models/customers.sql": "select * from (values (1), (2)) as t(id)",
            "models/orders.sql": "select * from (values (10, 1), (11, 2)) as t(order_id, cust)",
            "models/schema.yml": """
                models:
                  - name: orders
                    columns:
                      - name: cust
                        tests:
                          - relationships: {to: customers, field: id, name: cust_is_customer}
                          - not_null
            """,
        },
    )
    ls = ("ls", "--resource-type", "test", "-o", "name")
    done = run_teal(*ls, "-s", "customers", cwd=root, env=ENV)
    assert done.stdout.split() == ["cust_is_customer"], done.output
    done = run_teal(*ls, "-s", "customers", "--indirect-selection", "cautious", cwd=root, env=ENV)
    assert done.stdout.split() == [], done.output
    # orders never built: building customers says the check cannot run yet
    done = run_teal("build", "-s", "customers", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert "check cust_is_customer  skipped: orders is not built yet" in done.stdout
    assert run_teal("build", "-s", "orders", cwd=root, env=ENV).returncode == 0
    done = run_teal("build", "-s", "customers", cwd=root, env=ENV)
    assert "PASS  check cust_is_customer  0 failing rows  (on orders as it is)" in done.stdout
