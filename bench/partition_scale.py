"""Partitions at scale (issue 22): many partitioned models, and one long backfill.

Two measurements, each on a generated project, as whole processes timed from outside:

- ``--models N`` (default 2,000) daily-partitioned SQL models over a year (365 partitions
  each): a tenth generate their rows from the day's bounds, the others read an earlier one
  (the day's filter is pushed into the read). One partition of each is built, so the
  warehouse has state for every model. Timed: ``teal compile`` and ``teal plan -s <one
  model>`` warm (the compile cache kept), ``teal plan`` of everything warm, and ``teal
  partitions show <one model>`` (Dagster takes over a minute to load 2,000 such assets).
- ``--backfill P`` (default 5,000) hourly partitions of one model built in one
  ``teal build`` (``backfill_policy='multi_run'``: each partition its own query, in
  groups of partitions per transaction; the default policy would build this generator's
  range with one query): the process's resident memory
  sampled through the build (first and last fifth compared), the number of lines of its
  output that mention a lock, and the partitions on record afterwards.

Targets (issue 22): load and plan of 2,000 models <= 1 s warm, ``teal partitions`` <= 0.3 s;
the 5,000-partition backfill with 0 lock errors and flat memory.

Run: python bench/partition_scale.py [--models 2000] [--backfill 5000] [--repeat 3]
                                      [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent

YEAR = "partitioned_by={'daily': {'start': '2025-01-01', 'end': '2026-01-01'}}"

ROOT_MODEL = """\
{{{{ config(materialized='incremental', partition_column='day', {year}) }}}}
select cast(ts as date) as day, count(*) as events, sum(hash(ts) % 100) as amount
from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, interval 1 hour) as t(ts)
group by 1
"""

READER_MODEL = """\
{{{{ config(materialized='incremental', partition_column='day', {year}) }}}}
select day, events + {i} as events, amount * 2 as amount
from {upstream}
"""

BACKFILL_MODEL = """\
{{{{ config(materialized='incremental', partition_column='ts', backfill_policy='multi_run',
    partitioned_by={{'hourly': {{'start': '2025-01-01', 'end': '{end}'}}}}) }}}}
select ts, hash(ts) % 1000 as user_id
from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, interval 1 minute) as t(ts)
"""


def teal(*args: str) -> list[str]:
    return [sys.executable, "-m", "teal.cli", *args]


def env() -> dict[str, str]:
    found = dict(os.environ)
    found.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine (see run.py)
    found["TEAL_RUN_STORE"] = "none"  # the store's cost is run_store.py's subject
    return found


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    """(wall seconds, stdout) of one command."""
    elapsed, _, out = measured(cmd, cwd)
    return elapsed, out


def measured(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one command; CPU is the user + system time of
    the process, what it cost itself on a machine shared with other work."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env())
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done.stdout


def many_models(root: Path, n: int) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "scale"\nthreads = 2\n')
    roots = max(1, n // 10)
    for i in range(n):
        name = f"m{i:05d}"
        if i < roots:
            sql = ROOT_MODEL.format(year=YEAR)
        else:
            upstream = f"m{(i * 7919) % i:05d}"  # an earlier model, spread over the DAG
            sql = READER_MODEL.format(year=YEAR, i=i, upstream=upstream)
        (root / "models" / f"{name}.sql").write_text(sql)
    return root


MANY_STEPS = (
    ("compile", "teal compile", None),
    ("plan_one", "teal plan -s <one model>", None),
    ("plan_all", "teal plan (everything)", 1.0),
    ("partitions", "teal partitions show <one model>", 0.3),
)


def _timings(
    project: Path, one: str, repeat: int, *, expect_steps: int, expect_shown: str
) -> dict[str, dict[str, object]]:
    """Each command of MANY_STEPS ``repeat`` times: median wall and CPU seconds. Every run's
    output is checked: the plan's step count and the partitions' status counts."""
    runs: dict[str, list[tuple[float, float]]] = {key: [] for key, _, _ in MANY_STEPS}
    commands = {
        "compile": teal("compile"),
        "plan_one": teal("plan", "-s", one),
        "plan_all": teal("plan"),
        "partitions": teal("partitions", "show", one),
    }
    for _ in range(repeat):
        for key, cmd in commands.items():
            wall, cpu, out = measured(cmd, project)
            if key == "plan_all" and f"\n{expect_steps} step" not in out:
                raise SystemExit(f"teal plan: expected {expect_steps} steps:\n{out[-300:]}")
            if key == "partitions" and not out.rstrip().endswith(expect_shown):
                raise SystemExit(f"teal partitions: expected {expect_shown!r}:\n{out[-300:]}")
            runs[key].append((wall, cpu))
    return {
        key: {
            "median_s": round(statistics.median(w for w, _ in v), 3),
            "median_cpu_s": round(statistics.median(c for _, c in v), 3),
            "runs": [round(w, 3) for w, _ in v],
            "cpu": [round(c, 3) for _, c in v],
        }
        for key, v in runs.items()
    }


def fill_state(project: Path) -> int:
    """Write a state row for every partition not built yet, with the data version a build
    would record (from ``teal plan --json``), as a finished backfill leaves the warehouse:
    building 730,000 partitions for real would take hours. Returns the rows written."""
    import duckdb

    planned = json.loads(timed(teal("plan", "--json"), project)[1])
    rows = [
        (step["model"], key, step["sql_hash"], version)
        for step in planned["steps"]
        for key, version in zip(step["partitions"], step["partition_versions"], strict=True)
    ]
    con = duckdb.connect(str(project / "warehouse.duckdb"))
    try:
        con.execute(
            "create temp table filled (model varchar, partition_key varchar, sql_hash varchar, "
            "data_version varchar)"
        )
        con.executemany("insert into filled values (?, ?, ?, ?)", rows)
        con.execute(
            "insert into teal.partitions select 'backfill', model, partition_key, 'success', "
            "24, sql_hash, timestamp '2025-12-31 00:00:00', timestamp '2025-12-31 00:00:01', "
            "1.0, null, data_version from filled"
        )
    finally:
        con.close()
    return len(rows)


def bench_many(n: int, repeat: int, work: Path, all_built: bool = False) -> dict[str, object]:
    project = many_models(work / f"many{n}", n)
    one = f"m{n - 1:05d}"
    timed(teal("build", "--partition", "2025-06-15"), project)  # state for every model
    timed(teal("compile"), project)  # the compile cache is warm from here on
    found: dict[str, object] = {
        "models": n,
        "partitions_each": 365,
        **_timings(
            project, one, repeat, expect_steps=n, expect_shown="1 materialized, 364 missing"
        ),
    }
    if all_built:
        filled = fill_state(project)
        found["all_built"] = {
            "state_rows_written": filled,
            **_timings(project, one, repeat, expect_steps=0, expect_shown="365 materialized"),
        }
    return found


def many_table(many: dict[str, object]) -> str:
    """The measurements of bench_many, each with its target and whether it is met."""
    lines = []
    sections: list[tuple[str, dict[str, object]]] = [
        (
            f"{many['models']:,} daily-partitioned models (365 partitions each), one built, warm",
            many,
        )
    ]
    if isinstance(many.get("all_built"), dict):
        sections.append(
            ("the same with every partition built (state rows written)", many["all_built"])
        )  # type: ignore[arg-type]
    for title, found in sections:
        lines.append(f"{title}; median wall (CPU):")
        for key, label, target in MANY_STEPS:
            got = found[key]
            assert isinstance(got, dict)
            wall, cpu = got["median_s"], got["median_cpu_s"]
            aim = f"target <= {target} s: {'met' if wall <= target else 'missed'}" if target else ""
            lines.append(f"  {label:<36} {wall:>7.3f} s ({cpu:.3f} s CPU)  {aim}".rstrip())
    return "\n".join(lines)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def bench_backfill(partitions: int, work: Path) -> dict[str, object]:
    root = work / f"backfill{partitions}"
    (root / "models").mkdir(parents=True)
    (root / "teal.toml").write_text('name = "backfill"\nthreads = 2\n')
    # the end bound: the hour after the last partition
    end = (datetime(2025, 1, 1) + timedelta(hours=partitions)).strftime("%Y-%m-%d %H:%M:%S")
    (root / "models" / "events.sql").write_text(BACKFILL_MODEL.format(end=end))
    timed(teal("compile"), root)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        teal("build"),
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(),
    )
    samples: list[tuple[float, float]] = []
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:  # a progress line per partition: sample memory as they come
        lines.append(line)
        mb = rss_mb(proc.pid)
        if mb is not None:
            samples.append((time.perf_counter() - t0, mb))
    proc.wait()
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit("the backfill failed:\n" + "".join(lines[-30:]))
    fifth = max(1, len(samples) // 5)
    first = statistics.median(mb for _, mb in samples[:fifth])
    last_mb = statistics.median(mb for _, mb in samples[-fifth:])
    locks = sum(1 for line in lines if "lock" in line.lower())
    _, shown = timed(teal("partitions", "show", "events", "--json"), root)
    recorded = sum(1 for p in json.loads(shown) if p.get("status") == "materialized")
    return {
        "partitions": partitions,
        "seconds": round(elapsed, 3),
        "ms_per_partition": round(1000 * elapsed / partitions, 3),
        "rss_first_fifth_mb": round(first, 1),
        "rss_last_fifth_mb": round(last_mb, 1),
        "rss_max_mb": round(max(mb for _, mb in samples), 1),
        "lock_lines": locks,
        "materialized": recorded,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--backfill", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--all-built",
        action="store_true",
        help="Also measure with every partition built (state rows written directly).",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="teal-bench-") as tmp:
        work = Path(tmp)
        many = bench_many(args.models, args.repeat, work, args.all_built) if args.models else None
        backfill = bench_backfill(args.backfill, work) if args.backfill else None
    if many is not None:
        print(many_table(many))
    if backfill is not None:
        print(
            f"backfill of {backfill['partitions']:,} hourly partitions: {backfill['seconds']} s "
            f"({backfill['ms_per_partition']} ms each), {backfill['materialized']:,} materialized, "
            f"{backfill['lock_lines']} lines about locks, resident memory "
            f"{backfill['rss_first_fifth_mb']} MB (first fifth) -> "
            f"{backfill['rss_last_fifth_mb']} MB (last fifth), max {backfill['rss_max_mb']} MB"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"partition-scale-{date.today().isoformat()}.json"
    path.write_text(json.dumps({"many": many, "backfill": backfill}, indent=2))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
