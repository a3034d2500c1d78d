"""A/B a change on the build hot path: the same generated project built into a fresh
warehouse by this checkout's teal and by another interpreter's (the code before the
change), alternating, so both see the same machine.

``--baseline-python`` is a Python whose ``teal`` is the code to compare with, e.g. a
virtualenv with ``pip install -e`` of a checkout of ``main``. Each repetition builds with
one and then the other (the order alternates), ``TEAL_RUN_STORE=none`` unless
``--store``. Both the wall time and the CPU time of the build process (user + system, all
its threads) are taken: on a machine other work shares, the CPU time varies much less.
The medians and their ratios are printed and written to
``bench/results/ab_build-<date>.json``. ``--cold`` removes the project's ``.teal/`` (caches
and run store) and ``target/`` before every build, as ``run.py``'s cold build does.

Run: python bench/ab_build.py --baseline-python /path/to/venv/bin/python
                             [--models 1000] [--repeat 5] [--store] [--cold] [--out DIR]
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
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (bench/ is not a package)


def build(python: str, project: Path, store: bool, cold: bool = False) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``teal build`` into a fresh warehouse (from no
    cache at all, when ``cold``)."""
    if cold:
        shutil.rmtree(project / ".teal", ignore_errors=True)
        shutil.rmtree(project / "target", ignore_errors=True)
    for leftover in project.glob("warehouse.duckdb*"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    env = {**os.environ}
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not store:
        env["TEAL_RUN_STORE"] = "none"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "teal.cli", "build"], cwd=project, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{python}: teal build failed:\n{done.stdout}{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-python", required=True)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", action="store_true", help="record runs (SQLite store)")
    parser.add_argument("--cold", action="store_true", help="no .teal/ nor target/ each time")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="teal-ab-"))
    try:
        projects = {}
        for side in ("this", "baseline"):  # one copy each: their caches differ
            projects[side] = work / side
            generate.generate(projects[side], args.models)
        pythons = {"this": sys.executable, "baseline": args.baseline_python}
        for side in pythons:  # warm: compile caches written, bytecode compiled
            build(pythons[side], projects[side], args.store)
        times: dict[str, list[float]] = {"this": [], "baseline": []}
        cpu: dict[str, list[float]] = {"this": [], "baseline": []}
        for i in range(args.repeat):
            order = ["this", "baseline"] if i % 2 == 0 else ["baseline", "this"]
            for side in order:
                wall, used = build(pythons[side], projects[side], args.store, args.cold)
                times[side].append(wall)
                cpu[side].append(used)
                print(f"  {side:<8} {wall:.3f} s wall, {used:.3f} s CPU", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for what, got in (("wall", times), ("CPU", cpu)):
        this, baseline = statistics.median(got["this"]), statistics.median(got["baseline"])
        print(
            f"{args.models} models, {what} time, median of {args.repeat}: this {this:.3f} s, "
            f"baseline {baseline:.3f} s, ratio {this / baseline:.3f}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    cold = "-cold" if args.cold else ""
    out = args.out / f"ab_build{cold}-{date.today().isoformat()}.json"
    out.write_text(
        json.dumps(
            {
                "models": args.models,
                "repeat": args.repeat,
                "store": args.store,
                "cold": args.cold,
                "wall": times,
                "cpu": cpu,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
