"""Benchmark: column lineage and schema binding (issue 20) on a generated project.

Times whole processes (median of ``--repeat``), on a project of ``--models`` models made
by bench/generate.py:

- ``teal compile`` cold (no .teal cache, no target/) and warm (nothing changed);
- ``teal validate`` with the project loaded from its snapshot but no lineage cache (the
  cost of tracing every model) and warm;
- ``teal build`` from cold (no .teal, no target/, no warehouse), binding first (the
  default) and with ``--no-validate``: the cost of binding on a build that must bind all;
- ``teal build --changed-only`` when nothing changed, and after one model's edit, with
  and without binding (warm: the binding cache knows the project);
- with ``--baseline-python PY``: ``teal compile`` cold and warm under another interpreter
  whose ``teal`` is the code before lineage (a separate copy of the project, so the two
  never share a cache).

It also reports the lineage resolution rate of the generated project and of the example
project (the repository's own), from ``teal compile``'s "lineage resolved" line.
Writes bench/results/lineage-<date>.json. Run: python bench/lineage.py [--models 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

RATE = re.compile(r"lineage resolved for (\d+) of (\d+) columns")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine (see bench/README.md)
    env["TEAL_RUN_STORE"] = "none"
    return env


def run(python: str, args: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "teal.cli", *args], cwd=cwd, capture_output=True, text=True, env=_env()
    )
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"teal {' '.join(args)} failed in {cwd}:\n{done.stdout}{done.stderr}")
    return took, done.stdout


def median(python: str, args: list[str], cwd: Path, repeat: int, before: list[str]) -> float:
    """Median time of ``args``, each run preceded by removing the paths ``before``."""
    times = []
    for _ in range(repeat):
        for rel in before:
            path = cwd / rel
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        times.append(run(python, args, cwd)[0])
    return statistics.median(times)


def rate(python: str, cwd: Path) -> dict[str, float]:
    found = RATE.search(run(python, ["compile"], cwd)[1])
    assert found, "teal compile printed no lineage rate"
    resolved, total = int(found.group(1)), int(found.group(2))
    return {"resolved": resolved, "total": total, "rate": resolved / total if total else 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-python", default=None)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    py = sys.executable
    results: dict[str, object] = {"models": args.models, "date": date.today().isoformat()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        generate(root, args.models, rows=100)
        cold = [".teal", "target"]
        t: dict[str, float] = {}
        t["compile cold"] = median(py, ["compile"], root, args.repeat, cold)
        t["compile warm"] = median(py, ["compile"], root, args.repeat, [])
        lineage_cache = [".teal/cache/lineage.pickle"]
        t["validate, lineage cache cold"] = median(
            py, ["validate"], root, args.repeat, lineage_cache
        )
        t["validate warm"] = median(py, ["validate"], root, args.repeat, [])
        cold_build = [".teal", "target", "warehouse.duckdb"]
        for flag in ("--validate", "--no-validate"):
            t[f"build cold {flag}"] = median(py, ["build", flag], root, args.repeat, cold_build)
        run(py, ["compile"], root)  # lineage and binding caches warm
        for flag in ("--validate", "--no-validate"):
            t[f"no-op build --changed-only {flag}"] = median(
                py, ["build", "--changed-only", flag], root, args.repeat, []
            )
        edited = next(iter(sorted((root / "models" / "marts").glob("*.sql"))))
        text = edited.read_text(encoding="utf-8")
        for flag in ("--validate", "--no-validate"):
            times = []
            for i in range(args.repeat):  # a new output column each time: rebind, rebuild
                head, _, tail = text.rpartition("\nfrom ")
                body = f"{head},\n    {len(flag)}{i} as edit_{i}\nfrom {tail}"
                edited.write_text(body, encoding="utf-8")
                times.append(run(py, ["build", "--changed-only", flag], root)[0])
            t[f"one model edited, build --changed-only {flag}"] = statistics.median(times)
        edited.write_text(text, encoding="utf-8")
        results["rate_generated"] = rate(py, root)
        if args.baseline_python:
            base = Path(tmp) / "baseline"
            generate(base, args.models, rows=100)
            bp = args.baseline_python
            t["baseline compile cold"] = median(bp, ["compile"], base, args.repeat, cold)
            t["baseline compile warm"] = median(bp, ["compile"], base, args.repeat, [])
            run(bp, ["build"], base)
            t["baseline no-op build --changed-only"] = median(
                bp, ["build", "--changed-only"], base, args.repeat, []
            )
        example = Path(tmp) / "example"
        shutil.copytree(REPO / "models", example / "models")
        shutil.copytree(REPO / "data", example / "data")
        shutil.copytree(REPO / "checks", example / "checks")
        shutil.copy(REPO / "pyproject.toml", example / "pyproject.toml")
        results["rate_example"] = rate(py, example)
    results["seconds"] = t
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"lineage-{results['date']}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for name, seconds in t.items():
        print(f"{args.models:>6} models  {name:<40} {seconds:8.3f} s")
    for key in ("rate_generated", "rate_example"):
        r = results[key]
        assert isinstance(r, dict)
        print(f"{key}: {r['resolved']} of {r['total']} columns ({100 * r['rate']:.1f} %)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
