"""Benchmark: binding's share of a build, timed in one process (issue 20).

Whole-command timings on a shared machine swing by seconds; this times the parts in one
process, one after the other, so that each share is measured under the same load:

- warm: ``Session.bind`` of every model with its caches warm, against a no-op
  ``--changed-only`` build (without binding) of the same project;
- cold: binding (names only), the full lineage trace and the DuckDB typing pass, each
  with no cache, against a full build from an empty warehouse (without binding).

Run: python bench/binding_share.py [--models 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    args = parser.parse_args()
    os.environ["TEAL_RUN_STORE"] = "none"
    from teal.compiler.column_binding import bound_columns
    from teal.compiler.column_lineage import column_graph
    from teal.runtime.session import RunOptions, Session
    from teal.runtime.type_check import type_errors

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        generate(root, args.models, rows=100)

        def session() -> Session:
            s = Session.open(root)
            assert s.project is not None  # loaded before the clock starts
            return s

        session().build(run=RunOptions(bind=False))
        session().bind()  # binding cache warm
        t: dict[str, float] = {}
        t["warm bind"] = statistics.median(timed(lambda s=session(): s.bind()) for _ in range(5))
        no_bind = RunOptions(bind=False)
        t["no-op build --changed-only, no bind"] = statistics.median(
            timed(lambda s=session(): s.build(options=s.options(changed_only=True), run=no_bind))
            for _ in range(5)
        )
        project = session().project
        t["cold bind (names only)"] = timed(lambda: bound_columns(project, use_cache=False))
        t["cold lineage trace"] = timed(lambda: column_graph(project, use_cache=False))
        t["cold typing"] = timed(lambda: type_errors(project, project.dag.order(), use_cache=False))
        (root / "warehouse.duckdb").unlink()
        t["full build, empty warehouse, no bind"] = timed(lambda: session().build(run=no_bind))
    for name, seconds in t.items():
        print(f"{args.models:>6} models  {name:<40} {seconds:8.3f} s")
    warm = t["warm bind"] / t["no-op build --changed-only, no bind"]
    cold = t["cold bind (names only)"] / t["full build, empty warehouse, no bind"]
    print(f"warm bind / no-op build: {warm:.2f}; cold bind / full build: {cold:.2f}")


if __name__ == "__main__":
    main()
