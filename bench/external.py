"""Benchmark (issue 23): the example project's largest marts written as Parquet files
(``materialized='external'``) against the same marts as tables in the warehouse.

Copies of the example project (the repository root: models, checks, data and
``pyproject.toml``) are built once: ``tables`` as it is; ``files`` with every model under
``models/marts/`` that is a table or an incremental model made external Parquet (the
project's folder default and the marts' own ``config(materialized=...)``; the view
``revenue_trend`` stays a view); and ``files_int`` with only ``int_orders``, the largest
table the marts read (a bigger write), made external. The marts read the same native
tables in every copy, so only how they are written differs.

Then, ``--repeat`` times and alternating the copies, ``teal build -s <marts>
--full-refresh --threads 1`` rewrites the marts (every partition of the partitioned
ones), with their checks, as a whole process, and ``teal build -s int_orders`` rewrites
that one; each model's own time is read from ``target/run_results.json`` (teal's step
time: its query, the writes, the checks, the swap and the state row). The median per model
and in total, and their ratio files/table, are printed and written to
``bench/results/external-<date>.json``.

A second measurement isolates what a partition costs: one daily-partitioned model
(``--partitions`` days of ``--rows-per-day`` rows) backfilled one transaction per
partition (multi_run), as an incremental table and as external Parquet (a folder per day).

Run: python bench/external.py [--repeat 5] [--orders 100000,1000000] [--partitions 365]
                              [--rows-per-day 10000] [--out DIR]
About three minutes at the default 100,000 orders, ten more at 1,000,000.
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
ROOT = HERE.parent

MARTS = [
    "customer_lifetime_value",
    "daily_traffic",
    "product_performance",
    "daily_revenue",
    "monthly_region_revenue",
]
LARGER = ["int_orders"]  # the largest table the marts read: a bigger write


def copy_example(where: Path, marts: bool = False, int_orders: bool = False) -> Path:
    """A copy of the example project; its marts, or int_orders, external Parquet."""
    where.mkdir(parents=True)
    for name in ("models", "checks", "data"):
        shutil.copytree(ROOT / name, where / name, ignore=shutil.ignore_patterns("landing"))
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    config = config[config.index("[tool.teal]") :]  # the project, not the package
    if marts:
        config = config.replace(
            '[tool.teal.folders.marts]\nmaterialized = "table"',
            '[tool.teal.folders.marts]\nmaterialized = "external"',
        )
        for path in [*(where / "models" / "marts").glob("*.sql")]:
            text = path.read_text(encoding="utf-8")
            path.write_text(
                text.replace("materialized='incremental'", "materialized='external'"),
                encoding="utf-8",
            )
    if int_orders:
        orders = where / "models" / "intermediate" / "int_orders.sql"
        text = orders.read_text(encoding="utf-8")
        orders.write_text(
            re.sub(r"materialized='table'", "materialized='external'", text), encoding="utf-8"
        )
    (where / "pyproject.toml").write_text(config, encoding="utf-8")
    return where


def teal(root: Path, *args: str) -> float:
    env = {**os.environ, "TEAL_RUN_STORE": "none"}
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "teal.cli", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"teal {' '.join(args)} failed in {root}:\n{done.stdout}{done.stderr}")
    return elapsed


def step_times(root: Path) -> dict[str, tuple[float, int]]:
    """model -> (its step's seconds, rows) from the last run's run_results.json."""
    results = json.loads((root / "target" / "run_results.json").read_text(encoding="utf-8"))
    return {
        r["model"]: (float(r["duration_s"]), int(r.get("rows") or 0)) for r in results["results"]
    }


def bench_size(orders: int, repeat: int, work: Path) -> dict:
    tables = copy_example(work / f"tables-{orders}")
    files = copy_example(work / f"files-{orders}", marts=True)
    files_int = copy_example(work / f"files-int-{orders}", int_orders=True)
    vars_ = json.dumps({"order_count": orders})
    for root in (tables, files, files_int):
        teal(root, "build", "--vars", vars_)
    chosen = MARTS + LARGER
    samples: dict[str, dict[str, list[float]]] = {"table": {}, "files": {}}
    whole: dict[str, list[float]] = {"table": [], "files": []}
    rows: dict[str, int] = {}
    marts = ("-s", " ".join(MARTS), "--full-refresh", "--threads", "1", "--vars", vars_)
    larger = ("-s", " ".join(LARGER), "--threads", "1", "--vars", vars_)
    for i in range(repeat):
        runs = [
            ("table", tables, marts),
            ("files", files, marts),
            ("table", tables, larger),
            ("files", files_int, larger),
        ]
        if i % 2:
            runs.reverse()
        for kind, root, args in runs:
            seconds = teal(root, "build", *args)
            if args is marts:
                whole[kind].append(seconds)
            for model, (took, n) in step_times(root).items():
                samples[kind].setdefault(model, []).append(took)
                rows[model] = n
    files_bytes = sum(
        p.stat().st_size
        for root in (files, files_int)
        for p in (root / "external").rglob("*")
        if p.is_file()
    )
    per_model = {}
    for model in chosen:
        t = statistics.median(samples["table"][model])
        f = statistics.median(samples["files"][model])
        per_model[model] = {"rows": rows[model], "table_s": t, "files_s": f, "ratio": f / t}
    marts_t = sum(per_model[m]["table_s"] for m in MARTS)
    marts_f = sum(per_model[m]["files_s"] for m in MARTS)
    return {
        "orders": orders,
        "models": per_model,
        "marts_total": {"table_s": marts_t, "files_s": marts_f, "ratio": marts_f / marts_t},
        "process": {
            "table_s": statistics.median(whole["table"]),
            "files_s": statistics.median(whole["files"]),
            "ratio": statistics.median(whole["files"]) / statistics.median(whole["table"]),
        },
        "parquet_bytes": files_bytes,
    }


BACKFILL = """\
{{{{ config(materialized='{kind}', partition_column='day',
    partitioned_by={{'daily': {{'start': '2025-01-01', 'end': '{end}'}}}}) }}}}
select cast('{{{{ partition.start }}}}' as date) as day, i as n, hash(i, '{{{{ partition.key }}}}') as h
from range({rows}) t(i)
"""


def bench_partitions(days: int, rows: int, repeat: int, work: Path) -> dict:
    """A ``days``-partition backfill (multi_run) as a table and as external Parquet."""
    from datetime import date as day
    from datetime import timedelta

    end = (day(2025, 1, 1) + timedelta(days=days)).isoformat()
    roots = {}
    for kind, materialized in (("table", "incremental"), ("files", "external")):
        root = work / f"backfill-{kind}"
        (root / "models").mkdir(parents=True)
        (root / "teal.toml").write_text('name = "backfill"\nthreads = 1\n', encoding="utf-8")
        (root / "models" / "events.sql").write_text(
            BACKFILL.format(kind=materialized, end=end, rows=rows), encoding="utf-8"
        )
        roots[kind] = root
    samples: dict[str, list[float]] = {"table": [], "files": []}
    for i in range(repeat):
        order = ["table", "files"] if i % 2 == 0 else ["files", "table"]
        for kind in order:
            teal(roots[kind], "build", "--full-refresh", "-s", "events")  # settle caches
            for leftover in roots[kind].glob("warehouse.duckdb*"):
                leftover.unlink()
            shutil.rmtree(roots[kind] / "external", ignore_errors=True)
            teal(roots[kind], "build")
            samples[kind].append(step_times(roots[kind])["events"][0])
    t, f = statistics.median(samples["table"]), statistics.median(samples["files"])
    return {
        "partitions": days,
        "rows_per_day": rows,
        "table_s": t,
        "files_s": f,
        "ratio": f / t,
        "table_ms_per_partition": t / days * 1000,
        "files_ms_per_partition": f / days * 1000,
    }


def table(result: dict) -> str:
    lines = [
        f"order_count={result['orders']:,} (median of the steps' own times, --threads 1)",
        "| model | rows | table s | Parquet s | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for model, m in result["models"].items():
        lines.append(
            f"| {model} | {m['rows']:,} | {m['table_s']:.3f} | {m['files_s']:.3f} | "
            f"{m['ratio']:.2f}x |"
        )
    t = result["marts_total"]
    lines.append(
        f"| the five marts | | {t['table_s']:.3f} | {t['files_s']:.3f} | {t['ratio']:.2f}x |"
    )
    p = result["process"]
    lines.append(
        f"| the marts' whole `teal build` process | | {p['table_s']:.3f} | {p['files_s']:.3f} | "
        f"{p['ratio']:.2f}x |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--orders", default="100000", help="order_count values, comma-separated (0: none)"
    )
    parser.add_argument("--partitions", type=int, default=365, help="0 skips the backfill")
    parser.add_argument("--rows-per-day", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--keep", action="store_true", help="keep the project copies")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="teal-bench-external-"))
    results = []
    backfill = None
    try:
        for orders in [int(x) for x in args.orders.split(",") if x.strip() and int(x)]:
            result = bench_size(orders, args.repeat, work)
            results.append(result)
            print(table(result), flush=True)
            print()
        if args.partitions:
            backfill = bench_partitions(args.partitions, args.rows_per_day, args.repeat, work)
            print(
                f"backfill of {backfill['partitions']} partitions x {args.rows_per_day:,} rows "
                f"(multi_run): table {backfill['table_s']:.3f} s "
                f"({backfill['table_ms_per_partition']:.1f} ms a partition), Parquet "
                f"{backfill['files_s']:.3f} s ({backfill['files_ms_per_partition']:.1f} ms), "
                f"{backfill['ratio']:.2f}x"
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"external-{date.today().isoformat()}.json"
    out.write_text(
        json.dumps({"repeat": args.repeat, "results": results, "backfill": backfill}, indent=2),
        encoding="utf-8",
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
