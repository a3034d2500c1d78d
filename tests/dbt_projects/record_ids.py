"""Record how real dbt identifies each fixture project's tests, snapshots and sources: the
expected values tests/test_dbt_ids.py checks teal's manifest.json on.

    python tests/dbt_projects/record_ids.py [--venv DIR] [FIXTURE ...]

For each fixture (a folder here with dbt_project.yml; default: jaffle, events, ids) it
copies the project to a temporary folder, runs ``dbt parse`` there with the dbt of the
virtualenv ``--venv`` (made by record_expected.py's ``ensure_venv`` when missing: dbt-core
1.12 with dbt-duckdb 1.11) and writes, from dbt's ``target/manifest.json``, each test
node's and snapshot's ``unique_id``, ``name``, ``alias``, ``fqn``, ``test_metadata`` and
``column_name``, and each source's ``fqn``, to ``tests/golden/dbt_ids.json`` (by fixture;
the fixtures not named keep what the file holds).
CI needs no dbt, only these committed files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "golden" / "dbt_ids.json"
FIXTURES = ("jaffle", "events", "ids")
FIELDS = ("name", "alias", "fqn", "test_metadata", "column_name")


def identities(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a manifest says identifies its tests, snapshots and sources (the same function
    reads dbt's manifest here and teal's in tests/test_dbt_ids.py)."""
    nodes = {
        uid: {k: node.get(k) for k in FIELDS if k != "test_metadata" or "test_metadata" in node}
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in ("test", "snapshot")
    }
    sources = {uid: source["fqn"] for uid, source in manifest["sources"].items()}
    return {"nodes": dict(sorted(nodes.items())), "sources": dict(sorted(sources.items()))}


def record(fixture: Path, dbt: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / fixture.name
        shutil.copytree(
            fixture,
            work,
            ignore=shutil.ignore_patterns("target", "*.duckdb", ".teal", "expected.json", "logs"),
        )
        env = {
            **os.environ,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_PROFILES_DIR": str(work),
        }
        done = subprocess.run(
            [str(dbt), "parse"], cwd=work, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            sys.exit(done.stdout + done.stderr)
        manifest = json.loads((work / "target" / "manifest.json").read_text())
    return identities(manifest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", default="/tmp/teal-dbt-venv")
    parser.add_argument("fixtures", nargs="*")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from record_expected import ensure_venv, versions

    venv = Path(args.venv)
    dbt = ensure_venv(venv)
    found = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {"fixtures": {}}
    found["recorded_with"] = versions(venv)
    for name in args.fixtures or FIXTURES:
        found["fixtures"][name] = record(HERE / name, dbt)
        print(f"recorded {name}")
    GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
