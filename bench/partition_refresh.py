"""Benchmark: refresh 1 of 365 daily partitions vs building all of them.

A generated project has one partitioned model `raw.events` (10,000 rows a day, 3.65M rows
over 2025) and a partitioned daily aggregate reading it (the day's filter is pushed into
its scan). Timed, as whole processes, with repetitions (median):

- floor: the same SQL run as two plain CREATE TABLE ... AS statements over the whole year
  by one DuckDB connection in a subprocess;
- the same two models built by teal as plain (unpartitioned) tables;
- full build into an empty warehouse, i.e. a backfill of all 365 partitions, with the
  default policy (teal's choice per model: the aggregate's query is decomposable, so its
  range is built with one query; the generator's is not, so it runs each partition's own
  query, in groups of partitions per transaction), and with backfill_policy='multi_run'
  (each partition's own query for both);
- the same with backfill_policy='single_run' (one query for the whole range);
- refresh of one partition (`teal build -s events+ --partition 2025-06-15`), and the time
  teal itself reports for those two steps (without interpreter start).

Prints a table with ratios and writes bench/results/partition_refresh-<date>.json.
Run: python bench/partition_refresh.py [--repeat 3] [--rows-per-day 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent

EVENTS = """\
{{{{ config(materialized='incremental', partition_column='ts', {policy}
    partitioned_by={{'daily': {{'start': '2025-01-01', 'end': '2026-01-01'}}}}) }}}}
select
    ts,
    hash(ts) % 1000            as user_id,
    (hash(ts) % 10000) / 100.0 as amount
from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, interval {step_ms} millisecond) as t(ts)
"""

TOTALS = """\
{{{{ config(materialized='incremental', partition_column='day', {policy}
    partitioned_by={{'daily': {{'start': '2025-01-01', 'end': '2026-01-01'}}}}) }}}}
select cast(ts as date) as day, count(*) as events, count(distinct user_id) as users,
       sum(amount) as amount
from events
group by 1
"""

# the same two models as plain tables: "the same rows built unpartitioned", by teal
EVENTS_TABLE = """\
{{{{ config(materialized='table') }}}}
select
    ts,
    hash(ts) % 1000            as user_id,
    (hash(ts) % 10000) / 100.0 as amount
from range(TIMESTAMP '2025-01-01', TIMESTAMP '2026-01-01', interval {step_ms} millisecond) as t(ts)
"""

TOTALS_TABLE = """\
{{ config(materialized='table') }}
select cast(ts as date) as day, count(*) as events, count(distinct user_id) as users,
       sum(amount) as amount
from events
group by 1
"""

FLOOR = """\
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("create schema raw; create schema marts")
con.execute(\"\"\"create table raw.events as
    select ts, hash(ts) % 1000 as user_id, (hash(ts) % 10000) / 100.0 as amount
    from range(TIMESTAMP '2025-01-01', TIMESTAMP '2026-01-01', interval {step_ms} millisecond) as t(ts)\"\"\")
con.execute(\"\"\"create table marts.daily_totals as
    select cast(ts as date) as day, count(*) as events, count(distinct user_id) as users,
           sum(amount) as amount from raw.events group by 1\"\"\")
con.close()
"""


def make_project(root: Path, step_ms: int, policy: str) -> Path:
    """policy: '' (the default), 'multi_run', 'single_run', or 'unpartitioned'."""
    if root.exists():
        shutil.rmtree(root)
    (root / "models" / "raw").mkdir(parents=True)
    (root / "models" / "marts").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "bench"\nthreads = 2\n')
    if policy == "unpartitioned":
        events, totals = EVENTS_TABLE.format(step_ms=step_ms), TOTALS_TABLE
    else:
        extra = f"backfill_policy='{policy}'," if policy else ""
        events, totals = EVENTS.format(step_ms=step_ms, policy=extra), TOTALS.format(policy=extra)
    (root / "models/raw/events.sql").write_text(events)
    (root / "models/marts/daily_totals.sql").write_text(totals)
    return root


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine (see run.py)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def teal(*args: str) -> list[str]:
    return [sys.executable, "-m", "teal.cli", *args]


KEYS = (
    "floor",
    "unpartitioned",
    "full_default",
    "full_multi_run",
    "full_single_run",
    "refresh_process",
    "refresh_steps",
)


def measure(repeat: int, rows_per_day: int) -> dict:
    """Time every measurement ``repeat`` times; returns rows, seconds and medians."""
    step_ms = 86_400_000 // rows_per_day
    rows = 365 * (86_400_000 // step_ms)
    work = Path(tempfile.mkdtemp(prefix="teal-bench-"))
    results: dict[str, list[float]] = {k: [] for k in KEYS}
    try:
        for _ in range(repeat):
            floor_db = work / "floor.duckdb"
            floor_db.unlink(missing_ok=True)
            script = work / "floor.py"
            script.write_text(FLOOR.format(step_ms=step_ms))
            results["floor"].append(timed([sys.executable, str(script), str(floor_db)], work)[0])

            plain = make_project(work / "plain", step_ms, "unpartitioned")
            results["unpartitioned"].append(timed(teal("build"), plain)[0])

            multi = make_project(work / "multi", step_ms, "")
            results["full_default"].append(timed(teal("build"), multi)[0])

            each = make_project(work / "each", step_ms, "multi_run")
            results["full_multi_run"].append(timed(teal("build"), each)[0])

            single = make_project(work / "single", step_ms, "single_run")
            results["full_single_run"].append(timed(teal("build"), single)[0])

            elapsed, out = timed(
                teal("build", "-s", "events+", "--partition", "2025-06-15", "--json"), multi
            )
            results["refresh_process"].append(elapsed)
            report = json.loads(out)
            results["refresh_steps"].append(sum(r["duration_s"] for r in report["results"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    return {"rows": rows, "repeat": repeat, "seconds": results, "median": med}


def table(measured: dict) -> str:
    results, med = measured["seconds"], measured["median"]
    floor, plain, full = med["floor"], med["unpartitioned"], med["full_default"]
    lines = [
        f"teal partition benchmark: 365 daily partitions, {measured['rows']:,} rows in "
        f"raw.events, median of {measured['repeat']}",
        "",
        f"{'measurement':<48} {'median s':>9} {'min':>7} {'max':>7} {'ratio':>26}",
    ]

    def row(label: str, key: str, ratio: str) -> None:
        v = results[key]
        lines.append(f"{label:<48} {med[key]:>9.3f} {min(v):>7.3f} {max(v):>7.3f} {ratio:>26}")

    row("floor: 2 plain CTAS over the year", "floor", "1.00x floor")
    row("teal build, unpartitioned (2 tables)", "unpartitioned", f"{plain / floor:.2f}x floor")
    row(
        "backfill of 365 partitions, default policy",
        "full_default",
        f"{full / plain:.2f}x unpartitioned",
    )
    row(
        "backfill of 365 partitions, multi_run",
        "full_multi_run",
        f"{med['full_multi_run'] / plain:.2f}x unpartitioned",
    )
    row(
        "backfill of 365 partitions, single_run",
        "full_single_run",
        f"{med['full_single_run'] / plain:.2f}x unpartitioned",
    )
    row(
        "refresh 1 partition: whole process",
        "refresh_process",
        f"1/{full / med['refresh_process']:.0f} of full build",
    )
    row(
        "refresh 1 partition: teal's two steps",
        "refresh_steps",
        f"1/{full / med['refresh_steps']:.0f} of full build",
    )
    lines.append("")
    lines.append(
        "targets: one-partition refresh <= 1/50 of the full build; "
        "backfill <= 1.5x the same rows built unpartitioned"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows-per-day", type=int, default=10_000)
    parser.add_argument(
        "--out", type=Path, default=HERE / "results", help="Folder for the JSON results."
    )
    args = parser.parse_args()
    measured = measure(args.repeat, args.rows_per_day)
    print(table(measured))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"partition_refresh-{date.today().isoformat()}.json").write_text(
        json.dumps(measured, indent=2)
    )


if __name__ == "__main__":
    main()
