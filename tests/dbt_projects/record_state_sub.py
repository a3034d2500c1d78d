"""Record what real dbt selects with the sub-selectors of ``state:modified``, for
tests/test_dbt_state_subselectors.py.

    python tests/dbt_projects/record_state_sub.py --dbt /tmp/teal-dbt-venv/bin/dbt

Writes the project of that test into a temporary folder, runs ``dbt parse`` there, trims
its manifest to what ``--state`` compares into tests/golden/dbt_state_sub.json, changes the
project as the test's ``change`` does, and prints, for each selector, what ``dbt ls -s
state:<value> --state <the manifest's folder>`` lists (models, seeds and tests by name):
the test's ``DBT`` table. dbt itself is not installed by this script: record_expected.py's
``ensure_venv`` makes the virtualenv (dbt-core 1.12, whose checksums teal writes); CI needs
no dbt, only the committed JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SELECTORS = (
    "modified",
    "new",
    "modified.body",
    "modified.configs",
    "modified.relation",
    "modified.persisted_descriptions",
    "modified.macros",
    "modified.contract",
)
# what compiler/dbt/state.py and compiler/dbt/test_state.py read of a node
NODE_KEYS = (
    "unique_id",
    "resource_type",
    "name",
    "package_name",
    "schema",
    "alias",
    "database",
    "checksum",
    "fqn",
    "description",
    "contract",
)
CONFIG_KEYS = (
    "database",
    "schema",
    "alias",
    "materialized",
    "enabled",
    "unique_key",
    "incremental_strategy",
    "on_schema_change",
    "full_refresh",
    "column_types",
    "persist_docs",
    "contract",
    "severity",
    "where",
    "limit",
    "fail_calc",
    "warn_if",
    "error_if",
    "store_failures",
)


def trimmed(manifest: dict[str, Any], project: str) -> dict[str, Any]:
    """The manifest with what --state reads: the project's nodes and macros, cut down."""

    def node(entry: dict[str, Any]) -> dict[str, Any]:
        out = {k: entry[k] for k in NODE_KEYS if k in entry}
        out["config"] = {k: entry["config"][k] for k in CONFIG_KEYS if k in entry["config"]}
        out["depends_on"] = {"macros": entry.get("depends_on", {}).get("macros", [])}
        out["columns"] = {
            name: {k: c.get(k) for k in ("name", "description", "data_type")}
            for name, c in (entry.get("columns") or {}).items()
        }
        return out

    return {
        "metadata": {k: manifest["metadata"][k] for k in ("dbt_schema_version", "dbt_version")},
        "nodes": {
            uid: node(n)
            for uid, n in sorted(manifest["nodes"].items())
            if n["package_name"] == project
        },
        "macros": {
            uid: {k: m[k] for k in ("unique_id", "name", "package_name", "macro_sql", "depends_on")}
            for uid, m in sorted(manifest["macros"].items())
            if m["package_name"] == project
        },
        "unit_tests": {},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbt", required=True, help="the dbt executable to record with")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.test_dbt_front_end import dbt_project
    from tests.test_dbt_state_subselectors import FILES, change

    with tempfile.TemporaryDirectory() as scratch:
        root = dbt_project(Path(scratch) / "p", FILES)

        def dbt(*more: str) -> str:
            done = subprocess.run(
                [args.dbt, *more, "--profiles-dir", str(root)],
                cwd=root,
                env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise SystemExit(done.stdout + done.stderr)
            return done.stdout

        dbt("parse")
        manifest = json.loads((root / "target" / "manifest.json").read_text())
        golden = REPO / "tests" / "golden" / "dbt_state_sub.json"
        golden.write_text(json.dumps(trimmed(manifest, "shop"), indent=1, sort_keys=True) + "\n")
        state = Path(scratch) / "state"
        (root / "target").rename(state)
        change(root)
        for value in SELECTORS:
            listed = dbt(
                "ls", "-q", "-s", f"state:{value}", "--state", str(state), "--output", "name"
            )
            print(f'    "{value}": {sorted(set(listed.split()))},')


if __name__ == "__main__":
    main()
