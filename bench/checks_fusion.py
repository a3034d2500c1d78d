"""Benchmark: 20 column checks on a 10-million-row table, fused vs one query per check.

Builds a table of 10M rows and 10 columns in a DuckDB file, then times (median of N):

- floor: one full scan reading every value of every column once (``max`` of each column);
- fused: teal's fused check query (all 20 checks as aggregates of one scan);
- separate: the 20 checks as 20 ``count(*)`` queries, as most tools run them.

The checks are teal's own built-ins (compiler.checks), run through warehouse.checks, the
code `teal build` uses. Prints the ratios; writes bench/results/checks_fusion-<date>.json.
Run: python bench/checks_fusion.py [--rows 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from teal.compiler.checks import builtin_check
from teal.warehouse.duckdb.checks import measure

HERE = Path(__file__).resolve().parent


def checks() -> list:
    spec = [
        ("not_null", "id", {}),
        ("accepted_range", "id", {"min_value": 0}),
        ("not_null", "customer_id", {}),
        ("accepted_range", "customer_id", {"min_value": 1}),
        ("accepted_values", "status", {"values": ["new", "paid", "shipped", "returned"]}),
        ("not_null", "status", {}),
        ("accepted_range", "amount", {"min_value": 0, "max_value": 10_000}),
        ("not_null", "amount", {}),
        ("accepted_range", "quantity", {"min_value": 1, "max_value": 100}),
        ("not_null", "quantity", {}),
        ("not_null", "created_at", {}),
        ("accepted_values", "channel", {"values": ["web", "app", "store"]}),
        ("not_null", "channel", {}),
        ("accepted_range", "discount", {"min_value": 0, "max_value": 1}),
        ("not_null", "country", {}),
        ("accepted_values", "country", {"values": ["de", "fr", "es", "it"]}),
        ("not_null", "flag", {}),
        ("accepted_range", "score", {"min_value": 0, "max_value": 100}),
        ("not_null", "score", {}),
        ("expression_is_true", None, {"expression": "amount >= 0"}),
    ]
    return [
        builtin_check(kind, asset="facts", column=col, params=params, options={})
        for kind, col, params in spec
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="teal-checks-") as tmp:
        con = duckdb.connect(str(Path(tmp) / "facts.duckdb"))
        # a few NULLs and odd values, so that column statistics cannot answer the checks
        con.execute(f"""CREATE TABLE facts AS SELECT
            CASE WHEN range % 1000 = 7 THEN NULL ELSE range END AS id,
            CASE WHEN range % 1001 = 7 THEN NULL ELSE range % 100000 + 1 END AS customer_id,
            CASE WHEN range % 1002 = 7 THEN NULL
                 ELSE ['new', 'paid', 'shipped', 'returned'][range % 4 + 1] END AS status,
            CASE WHEN range % 1003 = 7 THEN NULL ELSE (range % 997) * 1.5 END AS amount,
            CASE WHEN range % 1004 = 7 THEN NULL ELSE range % 7 + 1 END AS quantity,
            CASE WHEN range % 1005 = 7 THEN NULL
                 ELSE TIMESTAMP '2025-01-01' + to_seconds(range % 31536000) END AS created_at,
            CASE WHEN range % 1006 = 7 THEN NULL ELSE ['web', 'app', 'store'][range % 3 + 1] END AS channel,
            CASE WHEN range % 1007 = 7 THEN NULL ELSE (range % 10) / 10.0 END AS discount,
            CASE WHEN range % 1008 = 7 THEN NULL ELSE ['de', 'fr', 'es', 'it'][range % 4 + 1] END AS country,
            CASE WHEN range % 1009 = 7 THEN NULL ELSE range % 2 = 0 END AS flag,
            CASE WHEN range % 1010 = 7 THEN NULL ELSE range % 101 END AS score
            FROM range({args.rows})""")
        all_checks = checks()
        cols = [
            "id",
            "customer_id",
            "status",
            "amount",
            "quantity",
            "created_at",
            "channel",
            "discount",
            "country",
            "score",
        ]
        # one full scan: every value of every column read once (a bare count(c) would be
        # answered from statistics or validity masks without reading the values)
        floor_sql = "SELECT " + ", ".join(f"max({c})" for c in cols) + " FROM facts"
        times: dict[str, list[float]] = {"floor": [], "fused": [], "separate": []}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            con.execute(floor_sql).fetchall()
            times["floor"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            fused_result = measure(con, "facts", all_checks)
            times["fused"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            separate_result = measure(con, "facts", all_checks, fuse=False)
            times["separate"].append(time.perf_counter() - t0)
        assert [m.failing for m in fused_result] == [m.failing for m in separate_result]
        con.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"20 column checks on {args.rows:,} rows, median of {args.repeat}")
    print(f"{'query':<36} {'median s':>9} {'ratio to one scan':>18}")
    for key, label in (
        ("floor", "one full scan (floor)"),
        ("fused", "teal: 20 checks fused, 1 query"),
        ("separate", "20 checks, 1 query each"),
    ):
        print(f"{label:<36} {med[key]:>9.3f} {med[key] / med['floor']:>17.2f}x")
    print("target: fused <= 1.5x one full scan")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"checks_fusion-{date.today().isoformat()}.json").write_text(
        json.dumps(
            {"rows": args.rows, "repeat": args.repeat, "seconds": times, "median": med}, indent=2
        )
    )


if __name__ == "__main__":
    main()
