"""A dbt project's manifest.json names its tests as dbt's does: generic tests' ``unique_id``
(``test.<project>.<name>.<hash>``, the hash over the name and the test's metadata),
``name`` (the whole name, also when the relation and teal's check get a shortened one),
``alias``, ``fqn`` (with the folders of the YAML file) and ``test_metadata``; snapshots'
and sources' ``fqn``. So ``--state`` against a manifest dbt wrote, and tools that join on
dbt's ids, find teal's tests.

The expected values are real dbt's: tests/golden/dbt_ids.json, written by
tests/dbt_projects/record_ids.py (``dbt parse`` of each fixture with dbt-core 1.12.6 and
dbt-duckdb 1.11.1); CI needs no dbt. The ``ids`` fixture has every kind of generic test:
built-in ones with and without config, ``accepted_values`` with ``quote: false`` and a
``where``, ``relationships``, custom generic tests with arguments of every YAML type, a
package's tests (``fake_utils.expression_is_true``), tests on a seed, a snapshot, a source
and a quoted column, model-level tests, long names dbt shortens, ``name:`` and
``alias:`` given.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import run_teal

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "dbt_ids.json"
FIXTURES = ("jaffle", "events", "ids")
sys.path.insert(0, str(HERE / "dbt_projects"))
from record_ids import identities  # noqa: E402


def _expected(fixture: str) -> dict:
    assert GOLDEN.is_file(), f"{GOLDEN} is missing: run tests/dbt_projects/record_ids.py"
    fixtures = json.loads(GOLDEN.read_text())["fixtures"]
    assert fixture in fixtures, f"{GOLDEN} has no {fixture}: run tests/dbt_projects/record_ids.py"
    return fixtures[fixture]


def _copy(fixture: str, tmp_path: Path) -> Path:
    root = tmp_path / fixture
    shutil.copytree(
        HERE / "dbt_projects" / fixture,
        root,
        ignore=shutil.ignore_patterns("target", "*.duckdb", ".teal", "logs"),
    )
    return root


@pytest.mark.slow
@pytest.mark.parametrize("fixture", FIXTURES)
def test_the_manifest_names_tests_snapshots_and_sources_as_dbt_does(fixture, tmp_path):
    from teal.compiler.dbt.manifest import manifest
    from teal.compiler.project import load_project

    expected = _expected(fixture)
    found = identities(manifest(load_project(_copy(fixture, tmp_path))))
    assert sorted(found["nodes"]) == sorted(expected["nodes"])
    for uid, fields in expected["nodes"].items():
        assert found["nodes"][uid] == fields, uid
    assert found["sources"] == expected["sources"]


@pytest.mark.slow
def test_run_results_name_tests_as_the_manifest_and_dbt_do(tmp_path):
    root = _copy("ids", tmp_path)
    done = run_teal("build", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 0, done.output
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    ran = {r["unique_id"] for r in results if r["unique_id"].startswith("test.")}
    expected = {u for u in _expected("ids")["nodes"] if u.startswith("test.")}
    assert ran == expected
    # selection by teal's check name (dbt's shortened name for a long one) still works
    listed = run_teal(
        "ls",
        "-s",
        "test_name:relationships_stg_orders_96411fe0c89b49c3f4da955dfd358ba0",
        cwd=root,
        env={"TEAL_RUN_STORE": "none"},
    )
    assert listed.returncode == 0, listed.output
    assert "stg_orders" in listed.stdout
    # and listed by dbt's whole name, as `dbt ls --resource-type test -o name` prints it
    names = run_teal(
        "ls", "--resource-type", "test", "-o", "name", cwd=root, env={"TEAL_RUN_STORE": "none"}
    )
    assert names.returncode == 0, names.output
    expected_names = {
        fields["name"]
        for uid, fields in _expected("ids")["nodes"].items()
        if uid.startswith("test.")
    }
    assert set(names.stdout.split()) == expected_names


def test_a_generic_tests_id_is_dbts():
    from teal.compiler.dbt.test_ids import generic_test_id

    def ident(**given):
        base = dict(
            package="ids",
            display="models/staging/schema.yml",
            namespace=None,
            target="stg_orders",
            model="{{ get_where_subquery(ref('stg_orders')) }}",
            args={},
            column=None,
            options={},
            conf={},
        )
        return generic_test_id(**{**base, **given})

    # values recorded from dbt parse of tests/dbt_projects/ids (tests/golden/dbt_ids.json)
    quoted = ident(test="not_null", column='"order_date"')
    assert quoted["unique_id"] == "test.ids.not_null_stg_orders__order_date_.26d43870aa"
    unquoted = ident(
        test="accepted_values", column="customer_id", args={"values": [1, 2, 3], "quote": False}
    )
    assert unquoted["unique_id"] == (
        "test.ids.accepted_values_stg_orders_customer_id__False__1__2__3.3d7b4ca1cd"
    )
    long = ident(
        test="relationships",
        column="customer_id",
        args={"to": "ref('stg_customers')", "field": "customer_id"},
    )
    assert long["unique_id"] == (
        "test.ids.relationships_stg_orders_customer_id__customer_id__ref_stg_customers_.430bf21500"
    )
    assert (
        long["alias"]
        == long["short_name"]
        == "relationships_stg_orders_96411fe0c89b49c3f4da955dfd358ba0"
    )
    named = ident(
        test="relationships",
        column="customer_id",
        args={"to": "ref('stg_customers')", "field": "customer_id"},
        options={"name": "customer_is_known"},
    )
    assert named["unique_id"] == "test.ids.customer_is_known.bfae58bd2f"
    assert named["alias"] == named["name"] == "customer_is_known"
    source = ident(
        test="at_least",
        namespace="fake_utils",
        source=True,
        target="shop_orders",
        model="{{ get_where_subquery(source('shop', 'orders')) }}",
        args={"min_rows": 1},
    )
    assert source["unique_id"] == "test.ids.fake_utils_source_at_least_shop_orders_1.53f0e8ba16"
    assert source["fqn"] == ["ids", "staging", "fake_utils_source_at_least_shop_orders_1"]
