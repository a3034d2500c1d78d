"""Benchmark suite (issue 9): teal against the raw-DuckDB floor at 50, 1,000 and 10,000 models.

For each project size, bench/generate.py writes a synthetic project (3 Parquet sources;
staging, intermediate joins/unions, marts; ~5 % Python models; ~2 checks per model), then
this script times whole processes (``python -m teal.cli ...`` as subprocesses, from the
outside, interpreter start included), ``--repeat`` times each, and reports median, min and
max:

- floor: the same SQL as plain ``CREATE TABLE ... AS`` statements in topological order,
  run by one DuckDB connection in a subprocess (``generate.floor_sql``; Python models are
  replaced by their SQL equivalent);
- ``teal compile`` cold (``.teal/`` and ``target/`` removed) and warm (cache present);
- ``teal plan`` cold and warm;
- ``teal run`` (no checks) and ``teal build`` (with checks) into a fresh warehouse, with
  the default threads (all cores); ``teal build --threads 1`` likewise; and the cold first
  build: ``teal build`` with no compile cache into a fresh warehouse (what a user's first
  build costs); every full build's row counts are checked against the floor's;
- start to the first model finished: the time from starting the ``teal build`` process to
  its first progress line ``[ 1/N] OK ...`` on stdout (measured on the default build);
- no-op rebuild: ``teal build --changed-only`` right after a full build;
- ``teal build -s <one intermediate model>`` and ``teal build -s +<mart>`` (a mart with
  its upstreams) on the built warehouse;
- partitions (bench/partition_refresh.py): a 365-partition backfill (default policy, multi_run and
  single_run) against the same rows built unpartitioned, and a one-partition refresh.
- partitions at scale (bench/partition_scale.py, opt-in ``--partition-scale N``): N
  daily-partitioned models of 365 partitions, warm ``teal plan`` of everything (target
  <= 1 s) and ``teal partitions show <one>`` (target <= 0.3 s), wall and CPU time, with one
  partition of each built and (``--partition-scale-all-built``) with every one built.

Prints a table (median, min, max, ratio to the floor measured in the same run, the
issue's target and whether it is met) and writes ``bench/results/suite-<date>.json``.

Run: python bench/run.py [--models 50,1000] [--repeat 3] [--with-10k] [--data light|heavy]
                         [--partition-scale 2000 [--partition-scale-all-built]]
                         [--with run_store,daemon,ui,partition_scale] [--out DIR]

``--partition-scale N`` measures loading and planning N daily-partitioned models in this
process's run (partition_scale.py). ``--with`` adds the other suites of issue 22
(bench/extras.py), each run as its own script: the run store's cost, the daemon's
latency, the UI in Chromium, and partition_scale.py whole (2,000 models and the
5,000-partition backfill); their values are printed beside their targets.

The default run (50 and 1,000 light models, repeat 3) takes about 6-7 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import extras  # noqa: E402  (bench/ is not a package)
import generate  # noqa: E402
import partition_refresh  # noqa: E402
import partition_scale  # noqa: E402

FLOOR_SCRIPT = """\
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1])
for stmt in json.load(open(sys.argv[2])):
    con.execute(stmt)
con.close()
"""

FIRST_LINE = re.compile(r"^\[\s*1/\d+\]\s+(OK|ERROR|SKIP)\b")

# (label, key) in print order
MEASUREMENTS = [
    ("floor: plain CTAS in order, 1 connection", "floor"),
    ("teal compile, cold (no .teal cache)", "compile_cold"),
    ("teal compile, warm", "compile_warm"),
    ("teal plan, cold", "plan_cold"),
    ("teal plan, warm", "plan_warm"),
    ("teal run (no checks), default threads", "run"),
    ("teal build, --threads 1", "build_threads1"),
    ("teal build, default threads", "build"),
    ("teal build, cold: no cache, fresh warehouse", "build_cold"),
    ("teal build: start -> first model done", "first_model"),
    ("no-op rebuild (build --changed-only)", "noop"),
    ("teal compile -s <one model>, warm", "select_one_compile"),
    ("teal build -s <one model>", "select_one"),
    ("floor of -s <one>: a process, 1 CTAS", "floor_one"),
    ("teal build -s +<mart>", "select_mart"),
]


def target_for(key: str, n: int, data: str) -> tuple[str, str, float, str | None] | None:
    """The issue's target as (text, kind, limit, reference): kind 'ratio' (to the floor),
    's' (seconds) or 'share' (of the median of measurement `reference`)."""
    if key in ("build", "build_cold"):  # issue 22: cold cache or warm
        if data == "light" and n == 1000:
            return ("<= 0.9x floor", "ratio", 0.9, None)
        if data == "light" and n == 50:
            return ("<= 1.2x floor", "ratio", 1.2, None)
        if data == "heavy":
            return ("<= 1.0x floor", "ratio", 1.0, None)
    if key in ("compile_cold", "plan_cold"):
        if n == 1000:
            return ("<= 0.5 s", "s", 0.5, None)
        if n == 10_000:
            return ("<= 4 s", "s", 4.0, None)
    if key in ("compile_warm", "plan_warm") and n <= 1000:
        return ("<= 0.2 s", "s", 0.2, None)
    if key == "noop" and n <= 1000:
        return ("<= 0.5 s", "s", 0.5, None)
    if key == "first_model" and data == "light":  # on heavy data the first model is minutes
        return ("<= 0.3 s", "s", 0.3, None)
    if key == "select_one" and n >= 10_000:  # issue 22
        return ("<= 0.3 s", "s", 0.3, None)
    if key in ("select_one", "select_one_compile") and n >= 1000:
        return ("< 10% of compile cold", "share", 0.10, "compile_cold")
    return None


def teal(*args: str) -> list[str]:
    return [sys.executable, "-m", "teal.cli", *args]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.pop("PYTHONPATH", None)
    # as on a user's machine: Python keeps compiled bytecode of teal's modules (the
    # development machine sets this variable, which made every start compile them again)
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    return e


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env())
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(
            f"command failed (exit {done.returncode}) in {cwd}: {' '.join(cmd)}\n"
            f"{done.stdout[-5000:]}\n{done.stderr[-5000:]}"
        )
    return elapsed, done.stdout


def timed_build_first_line(cmd: list[str], cwd: Path) -> tuple[float, float | None, str]:
    """Whole-process time and the time to the first ``[ 1/N] ...`` progress line."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        env=env(),
    )
    first = None
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if first is None and FIRST_LINE.match(line):
            first = time.perf_counter() - t0
        lines.append(line)
    err = proc.stderr.read() if proc.stderr else ""
    rc = proc.wait()
    elapsed = time.perf_counter() - t0
    out = "".join(lines)
    if rc != 0:
        raise SystemExit(
            f"command failed (exit {rc}) in {cwd}: {' '.join(cmd)}\n{out[-5000:]}\n{err[-5000:]}"
        )
    return elapsed, first, out


def fresh_warehouse(project: Path) -> None:
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        (project / name).unlink(missing_ok=True)


def clear_cache(project: Path) -> None:
    shutil.rmtree(project / ".teal", ignore_errors=True)
    shutil.rmtree(project / "target", ignore_errors=True)


def ancestors(info: dict) -> dict[str, set[str]]:
    ups = {m["model"]: m["upstreams"] for m in info["models"]}
    memo: dict[str, set[str]] = {}
    for m in info["models"]:  # topological order
        s: set[str] = set()
        for u in ups[m["model"]]:
            s.add(u)
            s |= memo[u]
        memo[m["model"]] = s
    return memo


def pick_selections(info: dict) -> tuple[str, str, int]:
    """A middle intermediate SQL model, and the mart with the median number of ancestors."""
    inter = [
        m["model"]
        for m in info["models"]
        if m["relation"].startswith("intermediate.") and m["kind"] == "sql"
    ]
    one = inter[len(inter) // 2]
    anc = ancestors(info)
    marts = sorted(
        (len(anc[m["model"]]), m["model"])
        for m in info["models"]
        if m["relation"].startswith("marts.")
    )
    size, mart = marts[len(marts) // 2]
    return one, mart, size + 1


def bench_size(n: int, args: argparse.Namespace, work: Path) -> dict:
    project = work / f"project-{n}"
    t0 = time.perf_counter()
    generate.generate(
        project, n, data=args.data, seed=args.seed, rows=args.rows, staging=args.staging
    )
    gen_s = time.perf_counter() - t0
    info = generate.project_info(project)
    stmts = work / f"floor-{n}.json"
    stmts.write_text(json.dumps(generate.floor_sql(project)))
    floor_py = work / "floor.py"
    floor_py.write_text(FLOOR_SCRIPT)
    floor_db = work / f"floor-{n}.duckdb"
    one, mart, mart_size = pick_selections(info)
    # the floor of `teal build -s <one>`: a process that imports DuckDB, opens the floor's
    # warehouse (every relation built), replaces that one model's table and closes
    one_relation = next(m["relation"] for m in info["models"] if m["model"] == one)
    one_sql = [
        stmt.replace("create table", "create or replace table", 1)
        for stmt in json.loads(stmts.read_text())
        if stmt.startswith(f"create table {one_relation} as")
    ]
    if len(one_sql) != 1:
        raise SystemExit(f"no single floor statement for {one_relation}: {len(one_sql)}")
    one_stmt = work / f"floor-one-{n}.json"
    one_stmt.write_text(json.dumps(one_sql))
    print(
        f"\n== {n:,} models ({info['layers']}, {info['checks']} checks, "
        f"{info['rows']:,} rows per source; generated in {gen_s:.1f}s)",
        flush=True,
    )

    secs: dict[str, list[float]] = {key: [] for _, key in MEASUREMENTS}
    rows_check: dict | None = None
    for rep in range(args.repeat):
        t_rep = time.perf_counter()
        for p in (floor_db, floor_db.with_name(floor_db.name + ".wal")):
            p.unlink(missing_ok=True)
        secs["floor"].append(
            timed([sys.executable, str(floor_py), str(floor_db), str(stmts)], work)[0]
        )

        clear_cache(project)
        secs["compile_cold"].append(timed(teal("compile"), project)[0])
        secs["compile_warm"].append(timed(teal("compile"), project)[0])
        clear_cache(project)
        secs["plan_cold"].append(timed(teal("plan"), project)[0])
        secs["plan_warm"].append(timed(teal("plan"), project)[0])

        fresh_warehouse(project)
        elapsed, out = timed(teal("run"), project)
        secs["run"].append(elapsed)
        verify(project, floor_db, info, out)
        fresh_warehouse(project)
        elapsed, out = timed(teal("build", "--threads", "1"), project)
        secs["build_threads1"].append(elapsed)
        verify(project, floor_db, info, out)
        fresh_warehouse(project)
        elapsed, first, out = timed_build_first_line(teal("build"), project)
        secs["build"].append(elapsed)
        if first is not None:
            secs["first_model"].append(first)
        rows_check = verify(project, floor_db, info, out)
        clear_cache(project)
        fresh_warehouse(project)
        elapsed, out = timed(teal("build"), project)
        secs["build_cold"].append(elapsed)
        verify(project, floor_db, info, out)  # every full build is checked, not only the first

        _, out = timed(teal("build", "--changed-only"), project)
        secs["noop"].append(_)
        secs["select_one_compile"].append(timed(teal("compile", "-s", one), project)[0])
        secs["select_one"].append(timed(teal("build", "-s", one), project)[0])
        secs["floor_one"].append(
            timed([sys.executable, str(floor_py), str(floor_db), str(one_stmt)], work)[0]
        )
        secs["select_mart"].append(timed(teal("build", "-s", f"+{mart}"), project)[0])
        print(
            f"   repeat {rep + 1}/{args.repeat} done in {time.perf_counter() - t_rep:.1f}s",
            flush=True,
        )
    if not args.keep:
        shutil.rmtree(project, ignore_errors=True)
        floor_db.unlink(missing_ok=True)
    return {
        "info": {k: v for k, v in info.items() if k != "models"},
        "selections": {
            "select_one": one,
            "select_mart": f"+{mart}",
            "select_mart_models": mart_size,
        },
        "generate_s": gen_s,
        "verify": rows_check,
        "seconds": secs,
    }


def verify(project: Path, floor_db: Path, info: dict, build_out: str) -> dict:
    """After a full build: every model built, and the same row counts as the floor."""
    import duckdb

    expected = len(info["models"])
    m = re.search(r"(\d+) built, (\d+) failed, (\d+) skipped", build_out)
    if not m or int(m.group(1)) != expected:
        raise SystemExit(f"teal build did not build all {expected} models:\n{build_out[-3000:]}")
    rels = [x["relation"] for x in info["models"]]
    counts = {}
    for db in (project / "warehouse.duckdb", floor_db):
        con = duckdb.connect(str(db), read_only=True)
        try:
            counts[db.name] = {
                r: con.execute(f"select count(*) from {r}").fetchone()[0] for r in rels
            }
        finally:
            con.close()
    teal_rows, floor_rows = counts["warehouse.duckdb"], counts[floor_db.name]
    diff = [r for r in rels if teal_rows[r] != floor_rows[r]]
    if diff:
        raise SystemExit(f"row counts differ between teal and the floor: {diff[:10]}")
    return {"models": expected, "rows": sum(teal_rows.values()), "same_as_floor": True}


def summarize(sizes: dict[int, dict], data: str) -> list[dict]:
    rows = []
    for n, res in sizes.items():
        secs = res["seconds"]
        med = {k: statistics.median(v) for k, v in secs.items() if v}
        floor = med["floor"]
        for label, key in MEASUREMENTS:
            v = secs[key]
            if not v:
                continue
            if key == "select_mart":
                label = f"teal build -s +<mart> ({res['selections']['select_mart_models']} models)"
            t = target_for(key, n, data)
            met = None
            if t:
                text, kind, limit, ref = t
                value = {
                    "ratio": med[key] / floor,
                    "s": med[key],
                    "share": med[key] / med[ref] if ref in med else None,
                }[kind]
                met = None if value is None else value <= limit
            rows.append(
                {
                    "n": n,
                    "key": key,
                    "label": label,
                    "median": med[key],
                    "min": min(v),
                    "max": max(v),
                    "ratio": med[key] / floor,
                    "target": t[0] if t else "",
                    "met": met,
                }
            )
    return rows


def table(rows: list[dict], repeat: int, data: str) -> str:
    out = [
        f"teal benchmark suite: {data} data, whole processes, median of {repeat} "
        f"({os.cpu_count()} cores, Python {platform.python_version()})",
        "",
    ]
    head = (
        f"{'models':>6}  {'measurement':<46} {'median s':>9} {'min':>8} {'max':>8} "
        f"{'x floor':>8}  {'target':<22} met"
    )
    out.append(head)
    out.append("-" * len(head))
    for r in rows:
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        out.append(
            f"{r['n']:>6,}  {r['label']:<46} {r['median']:>9.3f} {r['min']:>8.3f} "
            f"{r['max']:>8.3f} {r['ratio']:>7.2f}x  {r['target']:<22} {met}"
        )
    medians = {(r["n"], r["key"]): r["median"] for r in rows}
    for n in sorted({r["n"] for r in rows}):
        one, floor = medians.get((n, "select_one")), medians.get((n, "floor_one"))
        if one is not None and floor:
            out.append(
                f"{n:>6,}  teal build -s <one model> is {one / floor:.2f}x its floor "
                "(a process: import duckdb, open the warehouse, 1 CTAS, close)"
            )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", default="50,1000", help="Comma-separated project sizes (default 50,1000)."
    )
    parser.add_argument("--with-10k", action="store_true", help="Also run 10,000 models.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", choices=sorted(generate.ROWS), default="light")
    parser.add_argument(
        "--rows", type=int, default=None, help="Rows per source (overrides --data; for tests)."
    )
    parser.add_argument(
        "--staging",
        choices=["table", "view"],
        default="table",
        help="Materialize staging models as tables (default) or views.",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="Keep the generated projects.")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="Folder for generated projects (default: a temporary one).",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "results", help="Folder for the JSON results."
    )
    parser.add_argument(
        "--partitions",
        type=int,
        default=10_000,
        metavar="ROWS_PER_DAY",
        help="Rows per day of the 365-partition model (partition_refresh.py; 0 skips it).",
    )
    parser.add_argument(
        "--with",
        dest="parts",
        default="",
        metavar="PART,...",
        help=f"Also run these parts, each its own script: {', '.join(extras.PARTS)} "
        "(long: minutes each).",
    )
    parser.add_argument(
        "--partition-scale",
        type=int,
        default=0,
        metavar="MODELS",
        help="Daily-partitioned models for partition_scale.py's load-and-plan line (issue 22: "
        "2000; 0 skips it).",
    )
    parser.add_argument(
        "--partition-scale-all-built",
        action="store_true",
        help="With --partition-scale: also measure with every partition built.",
    )
    args = parser.parse_args(argv)
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    unknown = [x for x in parts if x not in extras.PARTS]
    if unknown:  # said before the suite's minutes, not after
        parser.error(
            f"--with: unknown part(s) {', '.join(unknown)}; known: {', '.join(extras.PARTS)}"
        )
    sizes = [int(x) for x in args.models.split(",") if x.strip()]
    if args.with_10k and 10_000 not in sizes:
        sizes.append(10_000)

    work = args.work or Path(tempfile.mkdtemp(prefix="teal-suite-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[int, dict] = {}
    try:
        for n in sizes:
            results[n] = bench_size(n, args, work)
    finally:
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    partitions = None
    if args.partitions:
        print(f"\n== partitions: 365 daily partitions, {args.partitions:,} rows a day", flush=True)
        partitions = partition_refresh.measure(args.repeat, args.partitions)
    more = extras.measure(parts, args.repeat) if parts else {}
    at_scale = None
    if args.partition_scale:
        print(f"\n== partitions at scale: {args.partition_scale:,} daily models", flush=True)
        with tempfile.TemporaryDirectory(prefix="teal-partition-scale-") as tmp:
            at_scale = partition_scale.bench_many(
                args.partition_scale, args.repeat, Path(tmp), args.partition_scale_all_built
            )
    rows = summarize(results, args.data)
    print()
    print(table(rows, args.repeat, args.data))
    if partitions is not None:
        print()
        print(partition_refresh.table(partitions))
    if more:
        print()
        print(extras.table(more))
    if at_scale is not None:
        print()
        print(partition_scale.many_table(at_scale))
    total = time.perf_counter() - started
    print(f"\nsuite finished in {total:.0f}s")

    import duckdb

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True, capture_output=True
    ).stdout.strip()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"suite-{date.today().isoformat()}.json"
    path.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {
                    "cores": os.cpu_count(),
                    "python": platform.python_version(),
                    "duckdb": duckdb.__version__,
                    "platform": platform.platform(),
                },
                "commit": commit,
                "repeat": args.repeat,
                "data": args.data,
                "staging": args.staging,
                "total_s": total,
                "sizes": {str(n): r for n, r in results.items()},
                "table": rows,
                "partitions": partitions,
                "parts": {k: [r._asdict() for r in v] for k, v in more.items()},
                "partition_scale": at_scale,
            },
            indent=2,
        )
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
