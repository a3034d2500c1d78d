"""What recording runs costs: ``teal build`` with no run store, the local SQLite store and a
Postgres store, at 50 and 1,000 light models, and the bytes one run adds to the store.

Each build is a whole process into a fresh warehouse (the compile cache warm), the three
modes interleaved within each repetition so that drift of the machine hits them alike. The
ratio is the build with recording over the same build with ``TEAL_RUN_STORE=none``.
Postgres is a real server started for the run (Debian's ``postgresql`` binaries, as the
tests use); without them that column is left out.

Whole-process times vary from run to run by more than the store costs on a shared machine,
so the store's share is also measured in process: the time the build's own threads spend
inside run-store calls over the build's wall time ("waited"), and apart from it the time
the recorder's writer thread spends writing while the build goes on ("behind"; the
cancel watcher's reads are left out of both).

Run: python bench/run_store.py [--models 50,1000] [--repeat 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import generate  # noqa: E402  (bench/ is not a package)
from run import fresh_warehouse, teal, timed  # noqa: E402

from tests.runstore.postgres_server import binaries, postgres_server  # noqa: E402


def store_bytes(spec: str, project: Path) -> int:
    from teal.runtime.clock import utc_now
    from teal.runtime.runstore import open_run_store

    with open_run_store(spec, project) as store:
        store.migrate(utc_now())
        return store.status().size_bytes or 0


def blocked_share(project: Path, spec: str, repeat: int) -> dict[str, float]:
    """The share of a build's wall time its threads wait in run-store calls (in process)."""
    import threading
    import time

    import teal
    from teal.runtime.runstore.sqlstore import SqlRunStore

    spent = [0.0]
    behind = [0.0]  # written by the recorder's writer thread while the build goes on
    lock = threading.Lock()
    originals = {}
    for name in ("append", "run", "add_run", "set_status", "set_output_schemas", "prune"):
        original = getattr(SqlRunStore, name)
        originals[name] = original

        def timed_call(self, *a, _original=original, **k):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return _original(self, *a, **k)
            finally:
                thread = threading.current_thread().name
                with lock:
                    if thread == "teal-recorder":
                        behind[0] += time.perf_counter() - t0
                    elif thread != "teal-cancel":
                        spent[0] += time.perf_counter() - t0

        setattr(SqlRunStore, name, timed_call)
    shares, behind_shares, walls = [], [], []
    os.environ["TEAL_RUN_STORE"] = spec
    try:
        for _ in range(repeat):
            fresh_warehouse(project)
            spent[0] = behind[0] = 0.0
            t0 = time.perf_counter()
            assert teal.build(project).success
            wall = time.perf_counter() - t0
            shares.append(spent[0] / wall)
            behind_shares.append(behind[0] / wall)
            walls.append(wall)
    finally:
        del os.environ["TEAL_RUN_STORE"]
        for name, original in originals.items():
            setattr(SqlRunStore, name, original)
    return {
        "blocked_share": round(statistics.median(shares), 4),
        "behind_share": round(statistics.median(behind_shares), 4),
        "wall_s": round(statistics.median(walls), 3),
    }


def bench_size(n: int, repeat: int, work: Path, pg_url: str | None) -> dict[str, object]:
    project = generate.generate(work / f"p{n}", n)
    timed(teal("compile"), project)  # warm the compile cache: builds time building
    modes = {"none": "none", "sqlite": str(project / ".teal" / "runs.sqlite")}
    if pg_url is not None:
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "bench{n}"')
            conn.execute(f'CREATE DATABASE "bench{n}"')
        modes["postgres"] = pg_url.rsplit("/", 1)[0] + f"/bench{n}"
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    sizes: dict[str, list[int]] = {mode: [] for mode in modes if mode != "none"}
    for _ in range(repeat):
        for mode, spec in modes.items():
            fresh_warehouse(project)
            before = store_bytes(spec, project) if mode != "none" else 0
            os.environ["TEAL_RUN_STORE"] = spec
            try:
                elapsed, _ = timed(teal("build"), project)
            finally:
                del os.environ["TEAL_RUN_STORE"]
            times[mode].append(elapsed)
            if mode != "none":
                sizes[mode].append(store_bytes(spec, project) - before)
    base = statistics.median(times["none"])
    result: dict[str, object] = {"models": n}
    for mode, values in times.items():
        med = statistics.median(values)
        result[mode] = {
            "median_s": round(med, 3),
            "min_s": round(min(values), 3),
            "max_s": round(max(values), 3),
            "ratio": round(med / base, 3),
        }
        if mode in sizes:
            result[mode]["bytes_per_run"] = int(statistics.median(sizes[mode]))  # type: ignore[index]
            result[mode].update(blocked_share(project, modes[mode], repeat))  # type: ignore[union-attr]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="50,1000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.models.split(",")]
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="teal-bench-")))
        pg_url = stack.enter_context(postgres_server()) if binaries() else None
        results = [bench_size(n, args.repeat, work, pg_url) for n in sizes]
    print(
        f"{'models':>7}  {'store':<9} {'median s':>9} {'min s':>7} {'max s':>7} {'x none':>7} "
        f"{'bytes/run':>10} {'waited':>7} {'behind':>7}"
    )
    for r in results:
        for mode in ("none", "sqlite", "postgres"):
            row = r.get(mode)
            if not isinstance(row, dict):
                continue
            print(
                f"{r['models']:>7}  {mode:<9} {row['median_s']:>9.3f} {row['min_s']:>7.3f} "
                f"{row['max_s']:>7.3f} {row['ratio']:>6.3f}x {row.get('bytes_per_run', ''):>10} "
                + (
                    f"{row['blocked_share']:>7.1%} {row['behind_share']:>7.1%}"
                    if "blocked_share" in row
                    else ""
                )
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"run-store-{date.today().isoformat()}.json"
    path.write_text(json.dumps({"repeat": args.repeat, "results": results}, indent=2))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
