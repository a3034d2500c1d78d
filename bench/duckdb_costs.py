"""Benchmark: what one DuckDB statement costs, the unit of a cold build's binding (issue 22).

A cold build binds every model in DuckDB before any data changes (compiler/
column_binding.py): each upstream becomes a zero-row stand-in (a CREATE TABLE, or a
CREATE VIEW of names typed NULL below a Python asset never built), and each model's
query is bound (``con.sql``, which runs nothing). So the binding's floor is DuckDB's cost
per statement, measured here on the generated project's own queries, in one process:

- ``execute('select 42')``: the fixed cost of running any statement;
- ``create table`` and ``create view`` of a 10-column stand-in, one connection, and the
  same tables made from two threads on two cursors of one database;
- parsing a model's query (``extract_statements``) and binding it (``con.sql``), for the
  project's intermediate models against typed stand-ins of what they read.

Run: python bench/duckdb_costs.py [--models 1000] [--repeat 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

COLUMNS = (
    "id BIGINT, customer_id BIGINT, region VARCHAR, category VARCHAR, status VARCHAR, "
    "amount DECIMAL(18,2), quantity INTEGER, event_ts TIMESTAMP, score DOUBLE, tier VARCHAR"
)
NULLS = ", ".join(f"null as {c.split()[0]}" for c in COLUMNS.split(", "))
# "schema"."name" and schema.name references to models, as the generator writes them
REFERENCE = re.compile(r'from\s+"?(staging|intermediate)"?\."?(\w+)"?', re.IGNORECASE)


def per_call_us(fn: Callable[[int], object], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n * 1e6


def measure(queries: list[str], n: int) -> dict[str, float]:
    import duckdb

    out: dict[str, float] = {}
    con = duckdb.connect(":memory:")
    out["execute select 42"] = per_call_us(lambda _: con.execute("select 42"), n)
    for kind, ddl in (
        ("create table", lambda i: f'create table s."t{i}" ({COLUMNS})'),
        ("create view", lambda i: f'create view s."t{i}" as select {NULLS} where false'),
    ):
        con = duckdb.connect(":memory:")
        con.execute("create schema s")
        out[kind] = per_call_us(lambda i, c=con, d=ddl: c.execute(d(i)), n)  # type: ignore[misc]
    con = duckdb.connect(":memory:")
    con.execute("create schema s")
    cursors = [con.cursor(), con.cursor()]

    def make(cur: duckdb.DuckDBPyConnection, first: int) -> None:
        for i in range(first, n, 2):
            cur.execute(f'create table s."t{i}" ({COLUMNS})')

    start = time.perf_counter()
    threads = [threading.Thread(target=make, args=(c, k)) for k, c in enumerate(cursors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["create table, two threads (wall)"] = (time.perf_counter() - start) / n * 1e6

    con = duckdb.connect(":memory:")
    for schema in ("staging", "intermediate"):
        con.execute(f"create schema {schema}")
    for schema, name in sorted({m for q in queries for m in REFERENCE.findall(q)}):
        con.execute(f'create table if not exists "{schema}"."{name}" ({COLUMNS})')
    out["parse a model's query"] = per_call_us(
        lambda i: con.extract_statements(queries[i]), len(queries)
    )
    out["parse and bind it (con.sql)"] = per_call_us(lambda i: con.sql(queries[i]), len(queries))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--statements", type=int, default=2000, help="DDL statements timed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        generate(root, args.models, rows=100)
        queries = [p.read_text() for p in sorted((root / "models" / "intermediate").glob("*.sql"))]
    runs = [measure(queries, args.statements) for _ in range(args.repeat)]
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(f"DuckDB {duckdb.__version__}: {len(queries)} model queries, medians of {args.repeat}")
    for key, value in median.items():
        print(f"  {key:<36} {value:8.1f} us")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"duckdb_costs-{date.today().isoformat()}.json"
    path.write_text(
        json.dumps(
            {
                "duckdb": duckdb.__version__,
                "queries": len(queries),
                "statements": args.statements,
                "median_us": median,
                "runs_us": runs,
            },
            indent=2,
        )
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
