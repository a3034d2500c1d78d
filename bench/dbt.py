"""teal on a dbt project against dbt itself and a raw-DuckDB floor, in the same run.

    python bench/dbt.py [--models 50 1000] [--repeat 3] [--dbt-venv DIR] [--out DIR]

Generates one dbt project per size (three seeds; staging views over them; intermediate
tables joining two upstreams; marts aggregating; a project macro called in every model;
``unique`` and ``not_null`` on every model's key), then times, each on a fresh copy:

- ``dbt parse --no-partial-parse`` and ``teal parse`` (nothing cached);
- ``dbt build`` and ``teal build`` on an empty warehouse (seeds, models, tests);
- the floor: the same seeds and SQL as plain ``CREATE TABLE/VIEW ... AS`` statements and
  the same test queries, in build order on one DuckDB connection, in this process.

dbt comes from a scratch virtualenv (default /tmp/teal-dbt-venv, made by
tests/dbt_projects/record_expected.py's recipe if missing). Both tools must leave the same
relations with the same row counts; the script checks that before it reports. Medians of
``--repeat`` runs go to ``bench/results/dbt-<date>.json`` and a table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "dbt_projects"))


def generate(root: Path, n: int) -> dict[str, object]:
    """Write the project; return the floor's statements and the expected relations."""
    rnd = random.Random(n)
    (root / "seeds").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "models" / "staging").mkdir(parents=True)
    (root / "models" / "intermediate").mkdir()
    (root / "models" / "marts").mkdir()
    (root / "dbt_project.yml").write_text(
        "name: bench\nprofile: bench\nmodels:\n  bench:\n    +materialized: table\n"
        "    staging:\n      +materialized: view\nseeds:\n  bench:\n    +schema: raw\n"
    )
    (root / "profiles.yml").write_text(
        "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: bench.duckdb\n      schema: main\n      threads: 4\n"
    )
    (root / "macros" / "money.sql").write_text(
        "{% macro cents(col) %}round({{ col }} / 100.0, 2){% endmacro %}\n"
    )
    with open(root / "seeds" / "customers.csv", "w") as f:
        f.write("customer_id,name,region\n")
        for i in range(1, 1001):
            f.write(f"{i},c{i},{rnd.choice(['n', 's', 'e', 'w'])}\n")
    with open(root / "seeds" / "orders.csv", "w") as f:
        f.write("order_id,customer_id,amount_cents,ordered_on\n")
        for i in range(1, 20001):
            f.write(
                f"{i},{rnd.randint(1, 1000)},{rnd.randint(100, 90000)},2024-{1 + i % 12:02d}-{1 + i % 28:02d}\n"
            )
    with open(root / "seeds" / "payments.csv", "w") as f:
        f.write("payment_id,order_id,method,cents\n")
        for i in range(1, 25001):
            f.write(
                f"{i},{rnd.randint(1, 20000)},{rnd.choice(['card', 'cash', 'gift'])},{rnd.randint(100, 50000)}\n"
            )
    seeds = {"customers": "customer_id", "orders": "order_id", "payments": "payment_id"}
    floor: list[str] = [
        "create schema if not exists main_raw",
        *(
            f"create table main_raw.{s} as select * from read_csv('{root / 'seeds' / s}.csv', header=true)"
            for s in seeds
        ),
    ]
    models: dict[str, tuple[str, str]] = {}  # name -> (key column, kind)
    yml = ["version: 2", "models:"]
    n_staging = max(3, n // 5)
    n_inter = max(1, (n - n_staging) // 2)
    order: list[str] = []

    def add(name: str, folder: str, dbt_sql: str, floor_sql: str, key: str, kind: str) -> None:
        (root / "models" / folder / f"{name}.sql").write_text(dbt_sql)
        floor.append(f"create {kind} main.{name} as {floor_sql}")
        floor.append(f"select count(*) from main.{name} where {key} is null")
        floor.append(
            f"select {key} from main.{name} where {key} is not null group by {key} having count(*) > 1"
        )
        models[name] = (key, kind)
        order.append(name)
        yml.extend(
            [
                f"  - name: {name}",
                "    columns:",
                f"      - name: {key}",
                "        data_tests: [unique, not_null]",
            ]
        )

    for i in range(n_staging):
        seed = list(seeds)[i % 3]
        key = seeds[seed]
        amount = {"customers": "customer_id", "orders": "amount_cents", "payments": "cents"}[seed]
        body = f"select *, {{{{ cents('{amount}') }}}} as value_{i} from {{{{ ref('{seed}') }}}} where {key} % {i % 5 + 2} <> 7"
        fbody = f"select *, round({amount} / 100.0, 2) as value_{i} from main_raw.{seed} where {key} % {i % 5 + 2} <> 7"
        add(f"stg_{i}", "staging", body + "\n", fbody, key, "view")
    staged = list(order)
    for i in range(n_inter):
        a = staged[rnd.randrange(len(staged))] if i < 3 else order[rnd.randrange(len(order))]
        key = models[a][0]
        body = (
            f"with base as (select * from {{{{ ref('{a}') }}}})\n"
            f"select {key}, count(*) as n_{i}, max({key}) as top_{i} from base group by {key}\n"
        )
        fbody = f"with base as (select * from main.{a}) select {key}, count(*) as n_{i}, max({key}) as top_{i} from base group by {key}"
        add(f"int_{i}", "intermediate", body, fbody, key, "table")
    for i in range(n - n_staging - n_inter):
        a = order[rnd.randrange(len(staged), len(order))] if len(order) > len(staged) else order[-1]
        key = models[a][0]
        body = (
            f"select {key}, sum(n_{a.split('_')[1]}) as total from {{{{ ref('{a}') }}}} group by {key}\n"
            if a.startswith("int_")
            else ""
        )
        if not body:
            body = f"select {key}, count(*) as total from {{{{ ref('{a}') }}}} group by {key}\n"
            fbody = f"select {key}, count(*) as total from main.{a} group by {key}"
        else:
            fbody = f"select {key}, sum(n_{a.split('_')[1]}) as total from main.{a} group by {key}"
        add(f"mart_{i}", "marts", body, fbody, key, "table")
    (root / "models" / "schema.yml").write_text("\n".join(yml) + "\n")
    return {
        "floor": floor,
        "relations": sorted([f"main.{m}" for m in models] + [f"main_raw.{s}" for s in seeds]),
    }


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


def floor_time(statements: list[str], db: Path) -> float:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(str(db))
    for sql in statements:
        con.execute(sql).fetchall()
    con.close()
    return time.perf_counter() - started


def row_counts(db: Path, relations: list[str]) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r: con.execute(f"select count(*) from {r}").fetchone()[0] for r in relations}
    finally:
        con.close()


def bench_size(n: int, repeat: int, dbt: Path | None, work: Path) -> dict[str, object]:
    base = work / f"project_{n}"
    info = generate(base, n)
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TEAL_RUN_STORE": os.environ.get("TEAL_RUN_STORE", ""),
    }
    env.pop("TEAL_RUN_STORE") if not env["TEAL_RUN_STORE"] else None
    teal = [sys.executable, "-m", "teal.cli"]
    times: dict[str, list[float]] = {
        k: [] for k in ("dbt parse", "teal parse", "dbt build", "teal build", "floor")
    }
    counts: dict[str, dict[str, int]] = {}
    for _ in range(repeat):
        for tool in ("dbt", "teal") if dbt is not None else ("teal",):
            copy = work / f"{tool}_{n}"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(base, copy)
            cmd = [str(dbt), "parse", "--no-partial-parse"] if tool == "dbt" else [*teal, "parse"]
            times[f"{tool} parse"].append(run(cmd, copy, env))
            shutil.rmtree(copy)
            shutil.copytree(base, copy)
            cmd = [str(dbt), "build"] if tool == "dbt" else [*teal, "build"]
            times[f"{tool} build"].append(run(cmd, copy, env))
            counts[tool] = row_counts(copy / "bench.duckdb", info["relations"])  # type: ignore[arg-type]
        floor_db = work / f"floor_{n}.duckdb"
        floor_db.unlink(missing_ok=True)
        times["floor"].append(floor_time(info["floor"], floor_db))  # type: ignore[arg-type]
        counts["floor"] = row_counts(floor_db, info["relations"])  # type: ignore[arg-type]
    if dbt is None:
        counts["dbt"] = counts["teal"]
        times.pop("dbt parse"), times.pop("dbt build")
        times["dbt parse"] = times["dbt build"] = [float("nan")]
    if not (counts["dbt"] == counts["teal"] == counts["floor"]):
        diff = {
            r: (counts["dbt"].get(r), counts["teal"].get(r), counts["floor"].get(r))
            for r in info["relations"]
            if len({counts[t].get(r) for t in counts}) > 1
        }  # type: ignore[union-attr]
        sys.exit(f"row counts differ at {n} models (dbt, teal, floor): {diff}")
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"models": n, "seconds": med, "all": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, nargs="+", default=[50, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dbt-venv", default="/tmp/teal-dbt-venv")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument(
        "--no-dbt", action="store_true", help="time teal and the floor only (no dbt needed)"
    )
    args = parser.parse_args()
    from record_expected import ensure_venv, versions

    venv = Path(args.dbt_venv)
    dbt = None if args.no_dbt else ensure_venv(venv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.models:
            results.append(bench_size(n, args.repeat, dbt, Path(tmp)))
    print(
        f"{'models':>7} {'step':<6} {'floor s':>8} {'dbt s':>8} {'teal s':>8} {'dbt/floor':>10} {'teal/floor':>11} {'dbt/teal':>9}"
    )
    for r in results:
        s = r["seconds"]
        for step in ("parse", "build"):
            fl = s["floor"] if step == "build" else None
            d, t = s[f"dbt {step}"], s[f"teal {step}"]
            print(
                f"{r['models']:>7} {step:<6} {fl if fl is not None else float('nan'):>8.2f} {d:>8.2f} {t:>8.2f} "
                f"{(d / fl) if fl else float('nan'):>10.1f} {(t / fl) if fl else float('nan'):>11.1f} {d / t:>9.1f}"
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"dbt-{date.today().isoformat()}.json"
    found = {} if dbt is None else versions(venv)
    path.write_text(
        json.dumps({"versions": found, "repeat": args.repeat, "results": results}, indent=1)
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
