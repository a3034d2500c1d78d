"""Benchmark (issue 21): the example project at a larger scale built by teal on DuckDB and
on a local Spark session in the same run, against a raw-DuckDB floor, plus what
translating each model's SQL to Spark costs.

A copy of the example project (models, checks, data, ``--orders`` orders) is built from
nothing by ``teal build`` (a whole process: for Spark that includes starting the JVM and
its metastore) on the default DuckDB target and on a ``spark`` target (``local[2]``), one
after the other, ``--repeat`` times on fresh warehouses. Each model's own time is read from
``target/run_results.json``. The floor is the same SQL run as plain ``CREATE TABLE ... AS``
statements on one DuckDB connection in build order, over the raw tables teal's DuckDB
build produced (copied first, not timed; the Python models that generate them are not in
the floor, nor are checks), each partitioned model as teal builds it (one statement for a
single_run range, one per key otherwise). Both builds must leave the same row count in
every relation before anything is reported.

Transpile cost: each SQL model's compiled SQL translated to Spark SQL (``to_spark``) and
checked for what Spark lacks (``problems``), the median of 20 runs each, in milliseconds.

Afterwards one partition of ``daily_revenue`` and one of ``monthly_region_revenue`` (a
two-dimensional key) are refreshed on each engine (``teal build -s M --partition K``) and
their step times reported: on Spark a dynamic ``INSERT OVERWRITE`` of that partition.

Run: python bench/spark.py [--orders 1000000] [--repeat 1] [--out DIR]
About five minutes at the default million orders on two cores.
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
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

SPARK_TARGET = """
[tool.teal.targets.spark]
engine = "spark"

[tool.teal.targets.spark.spark]
master = "local[2]"
"""


def copy_example(where: Path, orders: int) -> Path:
    where.mkdir(parents=True)
    for name in ("models", "checks", "data"):
        shutil.copytree(ROOT / name, where / name, ignore=shutil.ignore_patterns("landing"))
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    config = config[config.index("[tool.teal]") :]
    config = config.replace("order_count = 100000", f"order_count = {orders}")
    (where / "pyproject.toml").write_text(config + SPARK_TARGET, encoding="utf-8")
    return where


# one partition refreshed after the build, per model: (model, key); the step's time is
# reported (on Spark a dynamic INSERT OVERWRITE of that partition)
REFRESHES = (("daily_revenue", "2025-03-01"), ("monthly_region_revenue", "2025-03|Southern Europe"))


def teal_build(project: Path, target: str | None, *extra: str) -> tuple[float, dict[str, float]]:
    """Wall time of ``teal build`` and each model's step time."""
    args = [sys.executable, "-m", "teal.cli", "build", *extra] + (
        ["--target", target] if target else []
    )
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=project, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"teal build {target or 'duckdb'} failed:\n{done.stdout}\n{done.stderr}")
    results = json.loads((project / "target" / "run_results.json").read_text(encoding="utf-8"))
    return wall, {r["model"]: float(r["duration_s"]) for r in results["results"]}


def row_counts_duckdb(project: Path, relations: dict[str, tuple[str, str]]) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(project / "warehouse.duckdb"), read_only=True)
    try:
        return {
            m: int(con.sql(f'select count(*) from "{s}"."{n}"').fetchall()[0][0])
            for m, (s, n) in relations.items()
        }
    finally:
        con.close()


def row_counts_spark(project: Path, relations: dict[str, tuple[str, str]]) -> dict[str, int]:
    from teal.compiler.config import load_config
    from teal.warehouse.engine import open_engine

    with open_engine(load_config(project, target="spark"), read_only=True) as engine:
        cur = engine.cursor()  # counted in Spark: millions of rows are not collected
        return {
            m: int(cur.query(f"select count(*) from {cur.relation_sql(s, n)}")[1][0][0])
            for m, (s, n) in relations.items()
        }


def floor(project: Path) -> float:
    """The example's SQL models as plain DuckDB statements in build order (seconds)."""
    import duckdb

    from teal.compiler.config import load_config
    from teal.compiler.project import load_project

    loaded = load_project(config=load_config(project))
    db = project / "floor.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"ATTACH '{project / 'warehouse.duckdb'}' AS built (READ_ONLY)")
    con.execute("CREATE SCHEMA raw")
    for model in loaded.models.values():
        if model.kind == "python" and model.schema == "raw":
            con.execute(
                f'CREATE TABLE raw."{model.alias}" AS SELECT * FROM built.raw."{model.alias}"'
            )
    con.execute("DETACH built")
    t0 = time.perf_counter()
    for name in loaded.dag.order():
        model = loaded.models[name]
        if model.kind != "sql" or model.materialized == "ephemeral" or not model.compiled_sql:
            continue
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{model.schema}"')
        relation = f'"{model.schema}"."{model.alias}"'
        if model.partitions is None:
            kind = "VIEW" if model.materialized == "view" else "TABLE"
            con.execute(f"CREATE {kind} {relation} AS {model.compiled_sql}")
            continue
        keys = list(model.partitions.keys())
        if model.config.get("backfill_policy") == "single_run":
            sql = loaded.sql_for_range(model, model.compiled_sql, keys)
            con.execute(f"CREATE TABLE {relation} AS {sql}")
            continue
        for i, key in enumerate(keys):
            sql = loaded.sql_for_partition(model, model.compiled_sql, key)
            con.execute(
                f"CREATE TABLE {relation} AS {sql}" if i == 0 else f"INSERT INTO {relation} {sql}"
            )
    took = time.perf_counter() - t0
    con.close()
    db.unlink()
    return took


def transpile_costs(project: Path) -> dict[str, dict[str, float]]:
    from teal.compiler.config import load_config
    from teal.compiler.project import load_project
    from teal.warehouse.spark.transpile import problems, to_spark

    loaded = load_project(config=load_config(project))
    out = {}
    for name, model in sorted(loaded.models.items()):
        if model.kind != "sql" or not model.compiled_sql:
            continue
        sql = model.compiled_sql
        timed = {}
        for label, call in (("to_spark_ms", to_spark), ("problems_ms", problems)):
            runs = []
            for _ in range(20):
                t0 = time.perf_counter()
                call(sql)
                runs.append((time.perf_counter() - t0) * 1000.0)
            timed[label] = round(statistics.median(runs), 3)
        out[name] = timed
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="teal-bench-spark-") as tmp:
        for i in range(args.repeat):
            project = copy_example(Path(tmp) / f"p{i}", args.orders)
            duck_wall, duck_steps = teal_build(project, None)
            spark_wall, spark_steps = teal_build(project, "spark")
            refresh: dict[str, dict[str, float]] = {}
            for model, key in REFRESHES:
                for label, target in (("duckdb", None), ("spark", "spark")):
                    _, steps = teal_build(project, target, "-s", model, "--partition", key)
                    refresh.setdefault(f"{model} {key}", {})[label] = steps[model]
            from teal.compiler.config import load_config
            from teal.compiler.project import load_project

            loaded = load_project(config=load_config(project))
            relations = {
                n: (m.schema, m.alias)
                for n, m in loaded.models.items()
                if m.materialized != "ephemeral"
            }
            counts = row_counts_duckdb(project, relations)
            if counts != row_counts_spark(project, relations):
                raise SystemExit("DuckDB and Spark built different row counts")
            floor_s = floor(project)
            runs.append(
                {
                    "duckdb_s": duck_wall,
                    "spark_s": spark_wall,
                    "floor_s": floor_s,
                    "duckdb_steps": duck_steps,
                    "spark_steps": spark_steps,
                    "refresh_one_partition_s": refresh,
                    "rows": counts,
                }
            )
            costs = transpile_costs(project)
    duck = statistics.median(r["duckdb_s"] for r in runs)
    spark = statistics.median(r["spark_s"] for r in runs)
    low = statistics.median(r["floor_s"] for r in runs)
    print(f"example project, {args.orders:,} orders, {os.cpu_count()} cores")
    print(f"  raw DuckDB floor (SQL models only)  {low:8.2f} s")
    print(f"  teal build, DuckDB                  {duck:8.2f} s  ({duck / low:.1f}x floor)")
    print(
        f"  teal build, Spark local[2]          {spark:8.2f} s  ({spark / low:.1f}x floor, "
        f"{spark / duck:.1f}x DuckDB)"
    )
    print("  per model (s): DuckDB / Spark")
    steps = runs[-1]
    for model in sorted(steps["duckdb_steps"]):
        d, s = steps["duckdb_steps"][model], steps["spark_steps"].get(model, float("nan"))
        print(f"    {model:28s} {d:8.2f} {s:8.2f}")
    print("  one partition refreshed afterwards, step (s): DuckDB / Spark")
    for what, took in steps["refresh_one_partition_s"].items():
        print(f"    {what:40s} {took['duckdb']:8.2f} {took['spark']:8.2f}")
    print("  transpile per model (ms): to_spark / problems")
    for model, cost in costs.items():
        print(f"    {model:28s} {cost['to_spark_ms']:8.2f} {cost['problems_ms']:8.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"spark-{date.today().isoformat()}-{args.orders // 1000}k.json"
    out.write_text(
        json.dumps(
            {
                "orders": args.orders,
                "cores": os.cpu_count(),
                "median": {"duckdb_s": duck, "spark_s": spark, "floor_s": low},
                "runs": runs,
                "transpile": costs,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
