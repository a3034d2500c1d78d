"""dbt projects give what dbt gives: each fixture under tests/dbt_projects/ is built by
teal, step by step as its scenario.json says, and after each step its relations (names,
kinds, columns, type families, row counts, content checksums, open snapshot rows) and
its test outcomes in target/run_results.json must equal what real dbt recorded
(expected.json, written by tests/dbt_projects/record_expected.py; CI needs no dbt).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import run_teal

HERE = Path(__file__).resolve().parent / "dbt_projects"
sys.path.insert(0, str(HERE))
import observe  # noqa: E402

FIXTURES = sorted(p.name for p in HERE.iterdir() if (p / "expected.json").is_file())
pytestmark = pytest.mark.slow


def _columns(rel: dict) -> list[tuple[str, str]]:
    return [(name, fam) for name, _type, fam in rel["columns"]]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_teal_builds_what_dbt_builds(fixture: str, tmp_path: Path) -> None:
    source = HERE / fixture
    expected = json.loads((source / "expected.json").read_text())
    scenario = json.loads((source / "scenario.json").read_text())
    work = tmp_path / fixture
    shutil.copytree(
        source, work, ignore=shutil.ignore_patterns("target", "*.duckdb", ".teal", "expected.json")
    )
    for step in expected["steps"]:
        done = run_teal(*step["args"], cwd=work, env={"TEAL_RUN_STORE": "none"})
        assert done.returncode == step["exit_code"], done.output
        got = observe.relations(
            work / scenario.get("database", "jaffle.duckdb"),
            scenario.get("volatile", {}),
            scenario.get("attach", {}),
        )
        want = step["relations"]
        assert sorted(got) == sorted(want), f"after {step['args']}: relations differ"
        for rel, w in want.items():
            g = got[rel]
            where = f"after {step['args']}: {rel}"
            assert g["kind"] == w["kind"], where
            assert _columns(g) == _columns(w), where
            assert g["rows"] == w["rows"], where
            assert g.get("open_rows") == w.get("open_rows"), where
            assert g["checksum"] == w["checksum"], f"{where}: content differs"
        results = observe.results(work / "target" / "run_results.json")
        assert results == step["results"], f"after {step['args']}"


@pytest.mark.parametrize("fixture", FIXTURES)
def test_artifacts_validate_against_dbts_schemas(fixture: str, tmp_path: Path) -> None:
    """target/manifest.json and run_results.json (of a build and of ``teal test``) as dbt's
    own schemas (manifest v12, run_results v6, through dbt-artifacts-parser) accept them:
    tools that read dbt's artifacts read teal's."""
    from dbt_artifacts_parser.parser import parse_manifest, parse_run_results

    source = HERE / fixture
    work = tmp_path / fixture
    shutil.copytree(
        source, work, ignore=shutil.ignore_patterns("target", "*.duckdb", ".teal", "expected.json")
    )
    done = run_teal("build", cwd=work, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode in (0, 1), done.output  # a fixture may hold a failing test
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    parsed = parse_manifest(manifest)
    assert {n.split(".")[0] for n in manifest["nodes"]} >= {"model", "test"}
    assert len(parsed.nodes) == len(manifest["nodes"])
    singular = [n for n in manifest["nodes"].values() if n.get("resource_type") == "test"]
    ids = [n["unique_id"] for n in singular]
    assert len(ids) == len(set(ids)) and all(n.get("schema") for n in singular)
    parse_run_results(json.loads((work / "target" / "run_results.json").read_text()))
    done = run_teal("test", cwd=work, env={"TEAL_RUN_STORE": "none"})  # dbt test's results
    assert done.returncode in (0, 1), done.output
    tested = json.loads((work / "target" / "run_results.json").read_text())
    parse_run_results(tested)
    assert tested["results"] and {r["unique_id"].split(".")[0] for r in tested["results"]} <= {
        "test",
        "unit_test",
    }
