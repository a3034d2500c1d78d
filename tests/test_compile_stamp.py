"""A ``teal compile`` whose inputs did not change since the last one answers as that one did
and checks and writes nothing again (runtime/compile_stamp.py); anything it reads that
changed makes it do the whole work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_teal

pytestmark = pytest.mark.slow

REUSED = "unchanged since the last compile"

FILES = {
    "data/prices.csv": "id,price\n1,9.50\n2,3.25\n",
    "models/sources.yml": """
        sources:
          - name: ref
            type: csv
            path: ../data/{table}.csv
            tables: [prices]
    """,
    "models/orders.sql": "select 1 as id, 2 as qty",
    "models/priced.sql": (
        "select o.id, o.qty * p.price as total\nfrom orders o join ref.prices p using (id)\n"
    ),
    "models/loud.py": (
        "import polars as pl\nimport teal\n\n\n@teal.asset\n"
        "def loud(orders: pl.DataFrame) -> pl.DataFrame:\n"
        "    return orders.with_columns(pl.lit('x').alias('tag'))\n"
    ),
    "models/tagged.sql": "select * from loud",
}


def compile_(root: Path) -> str:
    done = run_teal("compile", cwd=root)
    assert done.returncode == 0, done.output
    return done.stdout


def stats(root: Path) -> dict[str, int]:
    target = root / "target"
    return {
        str(p.relative_to(target)): p.stat().st_mtime_ns
        for p in [target / "manifest.json", *(target / "compiled").rglob("*.sql")]
    }


def test_an_unchanged_project_compiles_from_its_stamp_and_writes_nothing(project):
    root = project(FILES)
    first = compile_(root)
    assert REUSED not in first
    written = stats(root)
    again = compile_(root)
    assert REUSED in again
    assert stats(root) == written  # no file of target/ written again
    # the same counts and the same lineage sentence as the compile that did the work
    assert again.splitlines()[1] == first.splitlines()[1]
    assert again.split(" (")[0] == first.split(" (")[0]


def test_an_edited_model_or_a_removed_compiled_file_compiles_again(project):
    root = project(FILES)
    compile_(root)
    (root / "models/orders.sql").write_text("select 1 as id, 5 as qty")
    out = compile_(root)
    assert REUSED not in out
    assert "5 as qty" in (root / "target/compiled/models/orders.sql").read_text()

    (root / "target/compiled/models/priced.sql").unlink()
    assert REUSED not in compile_(root)
    assert (root / "target/compiled/models/priced.sql").exists()

    (root / "target/manifest.json").write_text("{}")  # edited by hand
    assert REUSED not in compile_(root)
    assert "priced" in json.loads((root / "target/manifest.json").read_text())["models"]


def test_an_error_is_reported_every_time_and_never_stamped(project):
    root = project(FILES)
    compile_(root)
    (root / "models/priced.sql").write_text("select o.id, o.qtty from orders o\n")
    for _ in range(2):
        done = run_teal("compile", cwd=root)
        assert done.returncode == 2, done.output
        assert "models/priced.sql:1:" in done.output and "qtty" in done.output


def test_a_source_file_with_other_columns_is_checked_again(project):
    root = project(FILES)
    compile_(root)
    (root / "data/prices.csv").write_text("id,cost\n1,9.50\n")
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2, done.output
    assert "models/priced.sql:1:" in done.output and "price" in done.output


def test_a_python_assets_first_materialization_changes_what_compile_knows(project):
    """The columns the run store recorded for a Python asset are part of the stamp: the
    compile after its first build knows them, and what reads it through ``*``."""
    root = project(FILES)
    compile_(root)
    manifest = json.loads((root / "target/manifest.json").read_text())
    assert manifest["models"]["tagged"]["columns"] is None

    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    assert REUSED not in compile_(root)
    manifest = json.loads((root / "target/manifest.json").read_text())
    assert list(manifest["models"]["tagged"]["columns"]) == ["id", "qty", "tag"]
    # a build writes target/run_results.json, which the stamp does not look at
    assert (root / "target/run_results.json").exists()
    assert REUSED in compile_(root)


def test_a_damaged_stamp_is_no_answer(project):
    root = project(FILES)
    compile_(root)
    stamp = root / ".teal/cache/compile-stamp.json"
    stored = json.loads(stamp.read_text())
    for damaged in ("not json", json.dumps({**stored, "files": [1, 2]}), json.dumps([1])):
        stamp.write_text(damaged)
        assert REUSED not in compile_(root)
        assert REUSED in compile_(root)  # written again, whole
