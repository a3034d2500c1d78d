"""Record what real dbt makes of each fixture project: the expected results teal is tested on.

    python tests/dbt_projects/record_expected.py [--venv DIR] [FIXTURE ...]

Installs dbt-core and dbt-duckdb into a scratch virtualenv (default /tmp/teal-dbt-venv;
never into teal's environment) and, for each fixture (a folder here with dbt_project.yml
and scenario.json), copies it to a temporary folder and runs each step of its scenario
with ``dbt`` there. After each step it writes what observe.py sees (relations, columns,
types, row counts, content checksums, test outcomes) to ``<fixture>/expected.json``,
with the dbt versions that made it. tests/test_dbt_projects.py runs the same steps with
teal and compares; CI needs no dbt, only this committed JSON.

dbt-core 1.12 requires dbt-core-experimental-parser, which cannot be built here, and
metricflow, whose dependencies pin old versions: both packages are installed with
--no-deps, then the requirements they actually import.
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

HERE = Path(__file__).resolve().parent
DBT = ["dbt-core>=1.10,<1.13", "dbt-duckdb>=1.9,<1.12", "metricflow>=0.207,<1"]
REQUIREMENTS = [
    "agate",
    "click",
    "daff",
    "dbt-adapters",
    "dbt-common",
    "dbt-extractor",
    "dbt-protos",
    "jinja2",
    "jsonschema",
    "mashumaro",
    "networkx",
    "opentelemetry-api",
    "packaging",
    "pathspec",
    "protobuf",
    "pydantic",
    "python-dotenv",
    "pytz",
    "pyyaml",
    "requests",
    "snowplow-tracker",
    "sqlparse",
    "typing-extensions",
    "duckdb>=2.0,<2.1",
    "importlib-metadata",
    "more-itertools",
    "python-dateutil",
    "rapidfuzz",
    "referencing",
    "sqlglot",
    "tabulate",
    "pandas",  # the fixtures' dbt Python models return pandas frames
    "pyarrow",
]


def ensure_venv(venv: Path) -> Path:
    dbt = venv / "bin" / "dbt"
    if dbt.exists():
        return dbt
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", *DBT], check=True)
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    return dbt


def versions(venv: Path) -> dict[str, str]:
    out = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('dbt-core'), m.version('dbt-duckdb'), m.version('duckdb'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {"dbt-core": out[0], "dbt-duckdb": out[1], "duckdb": out[2]}


def record(fixture: Path, dbt: Path, venv: Path) -> dict:
    scenario = json.loads((fixture / "scenario.json").read_text())
    python = str(venv / "bin" / "python")
    observe = HERE / "observe.py"
    steps = []
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
        for args in scenario["steps"]:
            done = subprocess.run(
                [str(dbt), *args], cwd=work, env=env, capture_output=True, text=True
            )
            print(f"{fixture.name}: dbt {' '.join(args)} -> exit {done.returncode}")
            if done.returncode not in (0, 1):
                sys.exit(done.stdout + done.stderr)
            seen = subprocess.run(
                [
                    python,
                    "-c",
                    "import json, sys; sys.path.insert(0, sys.argv[1]); import observe; "
                    "print(json.dumps({'relations': observe.relations(sys.argv[2], json.loads(sys.argv[4]), json.loads(sys.argv[5])), "
                    "'results': observe.results(sys.argv[3])}))",
                    str(observe.parent),
                    str(work / scenario.get("database", "jaffle.duckdb")),
                    str(work / "target" / "run_results.json"),
                    json.dumps(scenario.get("volatile", {})),
                    json.dumps(scenario.get("attach", {})),
                ],
                capture_output=True,
                text=True,
            )
            if seen.returncode != 0:
                sys.exit(seen.stderr)
            steps.append({"args": args, "exit_code": done.returncode, **json.loads(seen.stdout)})
    return {"recorded_with": versions(venv), "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", default="/tmp/teal-dbt-venv")
    parser.add_argument("fixtures", nargs="*")
    args = parser.parse_args()
    venv = Path(args.venv)
    dbt = ensure_venv(venv)
    names = args.fixtures or sorted(
        p.name for p in HERE.iterdir() if (p / "scenario.json").is_file()
    )
    for name in names:
        fixture = HERE / name
        expected = record(fixture, dbt, venv)
        (fixture / "expected.json").write_text(
            json.dumps(expected, indent=1, sort_keys=True) + "\n"
        )
        print(f"wrote {fixture / 'expected.json'}")


if __name__ == "__main__":
    main()
