"""A/B the commands around a build: the same generated project, this checkout's teal and
another interpreter's (the code before a change), alternating, so both see the same
machine. Each side has its own copy of the project (their caches differ).

Measured per side: ``teal compile`` and ``teal plan`` cold (``.teal/cache`` and ``target/``
removed) and warm, ``teal build -s <one model>`` on a built warehouse, and, after a
build from a cold cache, the no-op rebuild (``build --changed-only``) and ``teal compile
-s <one model>`` that follow it. Wall and CPU time (user + system, children included) of
each whole process; medians and ratios printed, everything written to
``bench/results/ab_commands-<date>.json``.

Run: python bench/ab_commands.py --baseline-python /path/to/venv/bin/python
                                [--models 1000] [--repeat 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (bench/ is not a package)

Timed = tuple[float, float]  # wall seconds, CPU seconds


def teal(python: str, project: Path, *args: str) -> Timed:
    """(wall, CPU) of one ``teal`` command run by ``python`` in ``project``."""
    env = {**os.environ}
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode kept, as on a user's machine
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "teal.cli", *args], cwd=project, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{python}: teal {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _remove(project: Path, *names: str) -> None:
    for name in names:
        for found in project.glob(name):
            shutil.rmtree(found) if found.is_dir() else found.unlink()


def measurements(one: str) -> dict[str, Callable[[str, Path], Timed]]:
    """Each measurement: prepare the project as it needs, then time one command."""

    def cold(*args: str) -> Callable[[str, Path], Timed]:
        def run(python: str, project: Path) -> Timed:
            _remove(project, ".teal/cache", "target")
            return teal(python, project, *args)

        return run

    def warm(*args: str) -> Callable[[str, Path], Timed]:
        def run(python: str, project: Path) -> Timed:
            teal(python, project, *args)  # this side's caches written
            return teal(python, project, *args)

        return run

    def after_cold_build(*args: str) -> Callable[[str, Path], Timed]:
        def run(python: str, project: Path) -> Timed:
            _remove(project, ".teal", "target", "warehouse.duckdb*")
            teal(python, project, "build")
            return teal(python, project, *args)

        return run

    return {
        "compile, cold": cold("compile"),
        "compile, warm": warm("compile"),
        "plan, cold": cold("plan"),
        "plan, warm": warm("plan"),
        "build -s <one>, warm": warm("build", "-s", one),
        "no-op rebuild after a cold build": after_cold_build("build", "--changed-only"),
        "compile -s <one> after a cold build": after_cold_build("compile", "-s", one),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-python", required=True)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    pythons = {"this": sys.executable, "baseline": args.baseline_python}
    found: dict[str, dict[str, list[Timed]]] = {}
    work = Path(tempfile.mkdtemp(prefix="teal-ab-"))
    try:
        projects = {side: work / side for side in pythons}
        for side, project in projects.items():
            generate.generate(project, args.models)
            teal(pythons[side], project, "build")
        # a middle intermediate SQL model, as bench/run.py's `-s <one model>`
        inter = [
            m["model"]
            for m in generate.project_info(projects["this"])["models"]
            if m["relation"].startswith("intermediate.") and m["kind"] == "sql"
        ]
        one = str(inter[len(inter) // 2])
        for name, measure in measurements(one).items():
            got: dict[str, list[Timed]] = {"this": [], "baseline": []}
            for i in range(args.repeat):
                for side in ("this", "baseline") if i % 2 == 0 else ("baseline", "this"):
                    got[side].append(measure(pythons[side], projects[side]))
            found[name] = got
            wall = {s: statistics.median(w for w, _ in got[s]) for s in got}
            cpu = {s: statistics.median(c for _, c in got[s]) for s in got}
            print(
                f"{name:<38} this {wall['this']:7.3f} s ({cpu['this']:.3f} CPU)  baseline "
                f"{wall['baseline']:7.3f} s ({cpu['baseline']:.3f} CPU)  "
                f"ratio {wall['this'] / wall['baseline']:.2f}",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"ab_commands-{date.today().isoformat()}.json"
    out.write_text(
        json.dumps({"models": args.models, "repeat": args.repeat, "timed": found}, indent=2),
        encoding="utf-8",
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
