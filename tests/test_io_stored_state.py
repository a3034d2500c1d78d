"""An asset a custom I/O manager stores has no relation in the warehouse, so whether it is
built is what teal recorded when the manager's ``save`` returned (docs/external.md, "What
teal knows of a store"): `--changed-only` skips it and its readers once built, as it skips
a table, and a file deleted behind teal's back is not noticed until a build is asked for;
`teal check` cannot read the rows, and says where its checks run instead of "not built".

The fixture project (tests/io_stored/) is the reviewer's repro: ``stored`` kept as an Arrow
file by the ``files`` manager and ``reader`` reading it, plus ``by_region``, a partitioned
asset the same manager stores, and ``region_count`` reading it; ``stored`` has a
not_null check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "io_stored"
MODELS = {"stored", "reader", "by_region", "region_count"}


def built_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "io_stored"
    shutil.copytree(FIXTURE, root)
    built = run_teal("build", cwd=root)
    assert built.returncode == 0 and "4 built" in built.stdout, built.output
    return root


def changed_only_plan(root: Path) -> dict:
    planned = run_teal("plan", "--changed-only", "--json", cwd=root)
    assert planned.returncode == 0, planned.output
    return json.loads(planned.stdout)


def test_a_stored_asset_is_not_missing_after_its_build(tmp_path):
    root = built_fixture(tmp_path)
    # nothing of it is in the warehouse: only the manager's files hold its rows
    tables = {
        n
        for (n,) in query(
            root / "warehouse.duckdb",
            "select table_name from duckdb_tables() where schema_name = 'main'",
        )
    }
    assert tables == {"reader", "region_count"}

    plan = changed_only_plan(root)
    assert plan["steps"] == []
    assert plan["not_run"] == {
        "stored": "unchanged since last build: skipped",
        "reader": "unchanged since last build: skipped",
        "by_region": "all partitions up to date",
        "region_count": "unchanged since last build: skipped",
    }
    text = run_teal("plan", "--changed-only", cwd=root).stdout
    assert "does not exist" not in text and "0 steps" in text, text

    again = run_teal("build", "--changed-only", cwd=root)
    assert again.returncode == 0, again.output
    assert "Nothing to build: 4 selected models need no step" in again.stdout

    listed = run_teal("partitions", "by_region", cwd=root)
    assert listed.returncode == 0 and "2 materialized" in listed.stdout, listed.output


def test_an_edited_stored_asset_rebuilds_with_its_reader(tmp_path):
    root = built_fixture(tmp_path)
    source = root / "models" / "a.py"
    source.write_text(source.read_text().replace('"x": [1, 2]', '"x": [1, 2, 3]'))
    plan = changed_only_plan(root)
    reasons = {s["model"]: s["reason"] for s in plan["steps"]}
    assert reasons == {
        "stored": "modified: SQL or config changed since last build",
        "reader": "upstream stored rebuilds",
    }
    built = run_teal("build", "--changed-only", cwd=root)
    assert built.returncode == 0 and "2 built" in built.stdout, built.output
    assert query(root / "warehouse.duckdb", "select count(*) from main.reader") == [(3,)]


def test_teal_trusts_its_record_of_a_store_until_a_build_is_asked_for(tmp_path):
    root = built_fixture(tmp_path)
    (root / "store" / "stored.arrow").unlink()  # removed behind teal's back
    (root / "store" / "by_region@eu.arrow").unlink()

    # teal cannot list the manager's store: the recorded builds stand
    assert changed_only_plan(root)["steps"] == []
    # a reader built now fails, naming the manager and what it could not load
    failed = run_teal("build", "-s", "reader", cwd=root)
    assert failed.returncode == 1, failed.output
    assert "I/O manager 'files' (Files) load of 'stored' raised FileNotFoundError" in failed.stdout

    # naming the asset in a build (without --changed-only) saves it again...
    rebuilt = run_teal("build", "-s", "stored+", cwd=root)
    assert rebuilt.returncode == 0 and "2 built" in rebuilt.stdout, rebuilt.output
    assert (root / "store" / "stored.arrow").exists()
    # ...and a partitioned one's partitions are rebuilt by --full-refresh (or --partition)
    refreshed = run_teal("build", "-s", "by_region+", "--full-refresh", cwd=root)
    assert refreshed.returncode == 0, refreshed.output
    assert "2 partitions" in refreshed.stdout
    assert (root / "store" / "by_region@eu.arrow").exists()
    assert query(root / "warehouse.duckdb", "select regions from main.region_count") == [(2,)]
    assert changed_only_plan(root)["steps"] == []
    assert set(changed_only_plan(root)["not_run"]) == MODELS


def test_teal_check_skips_a_stored_assets_checks_saying_where_they_run(tmp_path):
    root = built_fixture(tmp_path)
    checked = run_teal("check", "-s", "stored", cwd=root)
    assert checked.returncode == 0, checked.output
    assert "not built yet" not in checked.stdout
    assert (
        "skipped: stored is kept by its I/O manager 'files', which offers no view in the "
        "warehouse: its checks run when it builds (`teal build -s stored`)" in checked.stdout
    )
    assert "Checks: 0 run, 0 passed, 1 skipped" in checked.stdout
