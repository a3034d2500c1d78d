"""Checks end to end: fixture projects built through the CLI into real DuckDB files.

What a user sees is pinned: exit codes, the build output's check lines and summary, the rows
of ``teal.check_results`` (status, failing_rows, sample, sql, partition_key), the relations
(write-audit-publish keeps the old data when an error check fails), ``teal_failures.<check>``
with ``--store-failures``, and compile-time errors (``path:line: message`` plus a hint).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

CONFIG = """\
name = "checks"
threads = 2

[vars]
dirty = false
"""

DIRTY = ("--vars", "{dirty: true}")


def last_run_id(root: Path) -> str:
    return query(
        root / "warehouse.duckdb", "select run_id from teal.runs order by started_at desc limit 1"
    )[0][0]


def check_rows(root: Path, run_id: str | None = None) -> dict[str, dict]:
    """``teal.check_results`` of one run (default: the last), by check name (and partition)."""
    run_id = run_id or last_run_id(root)
    rows = query(
        root / "warehouse.duckdb",
        "select check_name, partition_key, asset, kind, severity, status, failing_rows, "
        "sample, sql, message from teal.check_results "
        f"where run_id = '{run_id}' order by check_name, partition_key",
    )
    out: dict[str, dict] = {}
    for name, part, asset, kind, severity, status, failing, sample, sql, message in rows:
        key = name if part is None else f"{name}@{part}"
        assert key not in out, f"{key} recorded twice in run {run_id}"
        out[key] = {
            "asset": asset,
            "kind": kind,
            "severity": severity,
            "status": status,
            "failing": failing,
            "sample": json.loads(sample) if sample else None,
            "sql": sql,
            "message": message,
        }
    return out


def summary(rows: dict[str, dict]) -> dict[str, tuple[str, int | None]]:
    return {name: (r["status"], r["failing"]) for name, r in rows.items()}


def table(root: Path, relation: str, order: str = "all") -> list[tuple]:
    return query(root / "warehouse.duckdb", f"select * from {relation} order by {order}")


def build_ok(root: Path, *args: str) -> str:
    out = run_teal("build", *args, cwd=root)
    assert out.returncode == 0, out.output
    return out.stdout


# -- every built-in, passing and failing, with where:, thresholds and severities ------------

BUILTINS_PROJECT = {
    "models/customers.sql": "select * from (values (1), (2), (3)) t(id)\n",
    "models/orders.sql": """
        {{ config(materialized='table') }}
        select *, now()::TIMESTAMP as fresh_at, TIMESTAMP '2020-01-01' as old_at from (values
          (1, 'a', 'eu', 'paid',   10, 1,    1,    1, 'x', 1),
          (2, 'a', 'eu', 'paid',   20, 1,    2,    1, 'x', 2),
          (3, 'a', 'us', 'open',   -5, 2,    3,    1, 'y', 3),
          (4, 'b', 'us', 'weird',  30, 9,    null, 2, 'x', 4),
          (5, 'b', 'eu', null,    500, null, 5,    2, 'y', 7),
          (6, 'c', 'us', 'paid',  100, 3,    6,    3, 'x', 1)
        ) t(k, dup, region, status, amount, cust, qty, a, b, num)
        """,
    "models/scored.sql": """
        {{ config(materialized='table') }}
        select i, case when i <= 5 then null else i end as x from range(1, 13) t(i)
        """,
    "models/schema.yml": """
        models:
          - name: orders
            tests:
              - row_count: {min: 1, max: 10, name: rows_ok}
              - row_count: {min: 7, name: rows_too_few, severity: warn}
              - row_count: {max: 2, where: "region = 'eu'", name: eu_rows_too_many, severity: warn}
              - expression_is_true: {expression: "amount < 1000", name: amount_below_1000}
              - expression_is_true: {expression: "amount > 0", name: amount_positive, severity: warn}
              - unique_combination: {columns: [a, b], name: ab_unique, severity: warn}
              - dbt_utils.unique_combination_of_columns: {combination_of_columns: [k, a], name: ka_unique}
              - freshness: {column: old_at, max_age: '2 days', name: old_is_stale, severity: warn}
            columns:
              - name: k
                tests: [not_null, unique]
              - name: qty
                tests:
                  - not_null: {name: qty_not_null, severity: warn}
                  - expression_is_true: {expression: ">= 1", name: qty_at_least_1, severity: warn}
              - name: cust
                data_tests:
                  - not_null: {name: cust_not_null, severity: warn}
                  - not_null: {name: cust_not_null_when_paid, where: "status = 'paid'"}
                  - relationships: {to: ref('customers'), field: id, name: cust_is_customer, severity: warn}
              - name: a
                tests:
                  - relationships: {to: customers, field: id}
              - name: dup
                tests:
                  - unique: {name: dup_unique, severity: warn}
                  - unique: {name: dup_unique_in_us, config: {where: "region = 'us'"}}
              - name: status
                tests:
                  - accepted_values: {values: [paid, open], name: status_known, severity: warn}
                  - accepted_values: {values: [paid, open, weird], name: status_known_all}
                  - accepted_values: {values: [weird, paid, open, paid], name: status_values_repeated}
                  - accepted_values: {values: [PAID, open, weird], name: status_case_matters, severity: warn}
              - name: b
                tests:
                  - accepted_values: {values: ["'x'", "'y'"], quote: false, name: b_unquoted}
              - name: num
                tests:
                  - accepted_values: {values: [1, 2, 3, 4], name: num_small, severity: warn}
                  - accepted_values: {values: ['1', '2', '3', '4', '7'], name: num_as_text}
                  - accepted_values: {values: ['01', '2', '3', '4'], name: num_as_padded_text, severity: warn}
              - name: amount
                checks:
                  - accepted_range: {min_value: 0, name: amount_min, severity: warn}
                  - accepted_range: {min_value: 0, max_value: 100, name: amount_between, severity: warn}
                  - accepted_range: {min_value: 10, max_value: 100, inclusive: false, name: amount_exclusive, severity: warn}
                  - accepted_range: {min_value: -5, max_value: 500, name: amount_wide}
              - name: fresh_at
                tests:
                  - freshness: {max_age: '2 days', name: fresh_is_fresh}
                  - accepted_range: {min_value: "'2000-01-01'", name: fresh_since_2000}
          - name: scored
            columns:
              - name: x
                tests:
                  - not_null: {name: x_below_both_thresholds, warn_if: '>=10', error_if: '>=20'}
                  - not_null: {name: x_warns_below_error_threshold, error_if: '>=10'}
                  - not_null: {name: x_fails_at_error_threshold, config: {warn_if: '>=1', error_if: '>=5'}}
                  - not_null: {name: x_warn_severity_never_fails, severity: warn}
                  - not_null: {name: x_warn_if_not_met, severity: warn, warn_if: '>5'}
                  - not_null: {name: x_warn_if_equal, config: {severity: warn, warn_if: '=5'}}
        """,
}

# name -> (status, failing rows) on the data above
BUILTIN_EXPECTED = {
    # orders, model level
    "rows_ok": ("pass", 0),
    "rows_too_few": ("warn", 1),  # row_count fails as one row
    "eu_rows_too_many": ("warn", 1),  # 3 rows in eu
    "amount_below_1000": ("pass", 0),
    "amount_positive": ("warn", 1),  # -5
    "ab_unique": ("warn", 1),  # (1, 'x') twice: one duplicated combination
    "ka_unique": ("pass", 0),
    "old_is_stale": ("warn", 1),
    # orders, columns
    "not_null_orders_k": ("pass", 0),
    "unique_orders_k": ("pass", 0),
    "qty_not_null": ("warn", 1),
    "qty_at_least_1": ("warn", 1),  # a NULL makes the expression fail (coalesced to false)
    "cust_not_null": ("warn", 1),
    "cust_not_null_when_paid": ("pass", 0),  # the NULL is on a row with status NULL
    "cust_is_customer": ("warn", 1),  # 9; NULL is not checked
    "relationships_orders_a_customers": ("pass", 0),
    "dup_unique": ("warn", 2),  # one failing row per duplicated value: 'a' (3x), 'b' (2x)
    "dup_unique_in_us": ("pass", 0),  # us rows: a, b, c
    "status_known": ("warn", 1),  # 'weird'; NULL is accepted
    "status_known_all": ("pass", 0),
    "status_values_repeated": ("pass", 0),
    "status_case_matters": ("warn", 3),  # 'paid' is not 'PAID'
    "b_unquoted": ("pass", 0),
    "num_small": ("warn", 1),  # 7
    "num_as_text": ("pass", 0),  # quoted values compare as numbers with a number column
    "num_as_padded_text": ("warn", 1),  # '01' is 1 as a number; 7 is not listed
    "amount_min": ("warn", 1),  # -5
    "amount_between": ("warn", 2),  # -5, 500
    "amount_exclusive": ("warn", 4),  # 10 and 100 (bounds excluded), -5, 500
    "amount_wide": ("pass", 0),
    "fresh_is_fresh": ("pass", 0),
    "fresh_since_2000": ("pass", 0),  # a bound written as dbt_utils does: a SQL literal
    # scored: 5 NULL x of 12 rows; thresholds decide
    "x_below_both_thresholds": ("pass", 5),
    "x_warns_below_error_threshold": ("warn", 5),
    "x_fails_at_error_threshold": ("fail", 5),
    "x_warn_severity_never_fails": ("warn", 5),
    "x_warn_if_not_met": ("pass", 5),
    "x_warn_if_equal": ("warn", 5),
}


def test_builtins_pass_and_fail_with_exact_counts(project):
    root = project(BUILTINS_PROJECT, CONFIG)
    out = run_teal("build", cwd=root)
    assert out.returncode == 1, out.output  # scored fails its error threshold
    assert "Traceback" not in out.output

    rows = check_rows(root)
    assert summary(rows) == BUILTIN_EXPECTED

    # severities and kinds as declared (dbt_utils alias -> unique_combination)
    assert rows["ka_unique"]["kind"] == "unique_combination"
    assert rows["x_warn_if_equal"]["severity"] == "warn"
    assert rows["x_fails_at_error_threshold"]["severity"] == "error"
    assert {r["asset"] for n, r in rows.items() if n.startswith("x_")} == {"scored"}

    # samples: a few failing rows as JSON (whole rows, or the check's own columns)
    assert sorted(rows["dup_unique"]["sample"], key=lambda r: r["value"]) == [
        {"value": "a", "n": 3},
        {"value": "b", "n": 2},
    ]
    assert rows["cust_is_customer"]["sample"] == [{"value": 9}]
    assert rows["rows_too_few"]["sample"] == [{"n": 6}]
    assert [r["k"] for r in rows["amount_positive"]["sample"]] == [3]
    assert sorted(r["k"] for r in rows["amount_exclusive"]["sample"]) == [1, 3, 5, 6]
    assert sorted(r["i"] for r in rows["x_fails_at_error_threshold"]["sample"]) == [1, 2, 3, 4, 5]
    assert rows["rows_ok"]["sample"] is None

    # what the build printed
    n_orders = sum(1 for n in BUILTIN_EXPECTED if not n.startswith("x_"))
    orders_pass = sum(
        1 for n, (s, _) in BUILTIN_EXPECTED.items() if s == "pass" and not n.startswith("x_")
    )
    assert f"checks: {orders_pass} pass, {n_orders - orders_pass} warn" in out.stdout
    assert "WARN  check dup_unique  2 failing rows" in out.stdout
    assert "FAIL  check x_fails_at_error_threshold  5 failing rows" in out.stdout
    assert "check x_fails_at_error_threshold failed: 5 failing rows" in out.stdout
    said = {s: sum(1 for t, _ in BUILTIN_EXPECTED.values() if t == s) for s in ("pass", "warn")}
    failed = len(BUILTIN_EXPECTED) - said["pass"] - said["warn"]
    # each check counted once, by what its line says
    assert (
        f"Checks: {len(BUILTIN_EXPECTED)} run, {said['pass']} passed, {said['warn']} warned, "
        f"{failed} failed:"
    ) in out.stdout

    # orders is published with its warnings; scored was never published
    assert len(table(root, "orders", "k")) == 6
    assert query(
        root / "warehouse.duckdb",
        "select count(*) from information_schema.tables where table_name = 'scored'",
    ) == [(0,)]

    # the run and run_results.json agree
    results = json.loads((root / "target" / "run_results.json").read_text())
    by_model = {r["model"]: r for r in results["results"]}
    assert by_model["orders"]["status"] == "success"
    assert by_model["scored"]["status"] == "error"
    assert (
        by_model["scored"]["message"] == "check x_fails_at_error_threshold failed: 5 failing rows"
    )
    assert {c["check"]: c["status"] for c in by_model["scored"]["checks"]} == {
        n: s for n, (s, _) in BUILTIN_EXPECTED.items() if n.startswith("x_")
    }


def test_a_fail_calc_is_what_the_thresholds_compare(project):
    """dbt's ``fail_calc``: an aggregate over the check's failing rows (unique's are
    ``value`` and ``n``), which warn_if and error_if compare instead of their count."""
    root = project(
        {
            "models/orders.sql": "select * from (values (1), (1), (2), (2), (2), (3)) t(id)\n",
            "models/schema.yml": """
                models:
                  - name: orders
                    columns:
                      - name: id
                        tests:
                          - unique: {name: dup_values, warn_if: ">3", error_if: ">10"}
                          - unique:
                              name: dup_rows
                              config: {fail_calc: "sum(n)", warn_if: ">3", error_if: ">10"}
                """,
        },
        CONFIG,
    )
    out = build_ok(root)
    # 2 duplicated values, 5 rows that hold them
    assert summary(check_rows(root)) == {"dup_rows": ("warn", 5), "dup_values": ("pass", 2)}
    assert "WARN  check dup_rows  5 failures" in out


def test_fusable_checks_of_a_model_share_one_query(project):
    root = project(BUILTINS_PROJECT, CONFIG)
    plan = run_teal("plan", "-s", "orders", "--json", cwd=root)
    assert plan.returncode == 0, plan.output
    groups = json.loads(plan.stdout)["checks"]["orders"]
    fused = next(g["checks"] for g in groups if "fused" in g["how"])
    alone = next(g["checks"] for g in groups if "alone" in g["how"] or "each" in g["how"])
    assert {
        "not_null_orders_k",
        "qty_not_null",
        "status_known",
        "amount_min",
        "rows_ok",
        "amount_positive",
        "fresh_is_fresh",
    } <= set(fused)
    # joins and GROUP BYs run on their own
    assert {"cust_is_customer", "relationships_orders_a_customers"} <= set(alone)

    out = run_teal("build", "-s", "orders", "-s", "customers", cwd=root)
    assert out.returncode == 0, out.output
    rows = check_rows(root)
    fused_sql = {rows[n]["sql"] for n in fused}
    assert len(fused_sql) == 1, fused_sql  # one scan ran all of them
    (sql,) = fused_sql
    for fragment in (
        '"k"',
        '"qty"',
        "'paid', 'open'",
        '"amount"',
        "amount > 0",
        "count(*)",
        '"fresh_at"',
        "'2 days'",
    ):
        assert fragment in sql, fragment
    # it ran on the staged table before the swap; it is stored as a user can rerun it
    assert '"main"."orders"' in sql and "__teal_new" not in sql
    for name in alone:
        assert rows[name]["sql"] != sql
    assert len({rows[n]["sql"] for n in alone}) == len(alone)
    # the summary counts fused checks one by one
    assert f"Checks: {len(rows)} run, " in out.stdout


# -- blocking, skipping and write-audit-publish ---------------------------------------------

BLOCKING_PROJECT = {
    "models/orders.sql": """
        {{ config(materialized='table') }}
        select * from (values (1, 'a'), (2, 'b')
          {% if var('dirty') %}, (null, 'z'), (3, 'c'){% endif %}) t(id, name)
        """,
    "models/orders_summary.sql": "select count(*) as n from orders\n",
    "models/orders_report.sql": """
        {{ config(materialized='table') }}
        select * from orders_summary
        """,
    "models/labels.sql": """
        {{ config(materialized='table') }}
        select * from (values ('x'), ({{ "null" if var('dirty') else "'y'" }})) t(label)
        """,
    "models/labels_child.sql": "select * from labels\n",
    "models/schema.yml": """
        models:
          - name: orders
            columns:
              - name: id
                tests: [not_null]
          - name: labels
            columns:
              - name: label
                tests:
                  - not_null: {severity: warn}
        """,
}


def test_error_check_blocks_descendants_and_keeps_old_rows(project):
    root = project(BLOCKING_PROJECT, CONFIG)
    build_ok(root)
    assert table(root, "orders") == [(1, "a"), (2, "b")]
    assert table(root, "labels") == [("x",), ("y",)]

    out = run_teal("build", *DIRTY, "--store-failures", cwd=root)
    assert out.returncode == 1, out.output
    assert "Traceback" not in out.output
    lines = out.stdout.splitlines()
    assert any(
        "ERROR table  main.orders" in l and "check not_null_orders_id failed: 1 failing row" in l
        for l in lines
    )
    assert any(
        l.startswith("[")
        and "SKIP" in l
        and "main.orders_summary" in l
        and l.endswith("upstream orders failed check not_null_orders_id")
        for l in lines
    )
    assert any(
        l.startswith("[")
        and "SKIP" in l
        and "main.orders_report" in l
        and l.endswith("upstream orders failed check not_null_orders_id")
        for l in lines
    )
    # a warning lets its descendants build
    assert any("OK" in l and "main.labels " in l and "checks: 1 warn" in l for l in lines)
    assert any("OK" in l and "main.labels_child" in l for l in lines)
    assert "WARN  check not_null_labels_label  1 failing row" in out.stdout
    assert "FAIL  check not_null_orders_id  1 failing row" in out.stdout
    assert "Checks: 2 run, 0 passed, 1 warned, 1 failed:" in out.stdout
    assert "Finished in" in out.stdout and "2 built, 1 failed, 2 skipped" in out.stdout

    # write-audit-publish: the failed table keeps its old rows; the warned one is new
    assert table(root, "orders") == [(1, "a"), (2, "b")]
    assert table(root, "labels", "label nulls last") == [("x",), (None,)]
    assert table(root, "labels_child", "label nulls last") == [("x",), (None,)]
    assert table(root, "orders_report") == [(2,)]  # from the first build

    rows = check_rows(root)
    assert summary(rows) == {
        "not_null_orders_id": ("fail", 1),
        "not_null_labels_label": ("warn", 1),
    }
    assert rows["not_null_orders_id"]["sample"] == [{"id": None, "name": "z"}]

    db = root / "warehouse.duckdb"
    run_id = last_run_id(root)
    assert query(
        db,
        f"select model, status, message from teal.builds where run_id = '{run_id}' order by model",
    ) == [
        ("labels", "success", None),
        ("labels_child", "success", None),
        ("orders", "error", "check not_null_orders_id failed: 1 failing row"),
    ]

    # --store-failures: failing rows of failures and warnings, in teal_failures.<check>
    assert table(root, "teal_failures.not_null_orders_id") == [(None, "z")]
    assert table(root, "teal_failures.not_null_labels_label") == [(None,)]

    results = json.loads((root / "target" / "run_results.json").read_text())
    by_model = {r["model"]: r for r in results["results"]}
    assert by_model["orders_summary"]["status"] == "skipped"
    assert (
        by_model["orders_summary"]["message"] == "upstream orders failed check not_null_orders_id"
    )
    assert by_model["labels_child"]["status"] == "success"

    # a clean rebuild goes through again
    build_ok(root)
    assert check_rows(root)["not_null_orders_id"]["status"] == "pass"


PARTITIONED_PROJECT = {
    "models/events.sql": """
        {{ config(materialized='incremental',
                  partitioned_by={'daily': {'start': '2025-01-01', 'end': '2025-01-04'}},
                  partition_column='day') }}
        select day, k,
               case when strftime(day, '%Y-%m-%d') = '{{ var("bad_day") }}' then null
                    else v + {{ var("bump") }} end as v
        from (select range::DATE as day
              from range(DATE '2025-01-01', DATE '2025-01-04', INTERVAL 1 DAY)) d,
             (values (1, 10), (2, 20)) t(k, v)
        where day >= {{ partition.start }} and day < {{ partition.end }}
        """,
    "models/schema.yml": """
        models:
          - name: events
            columns:
              - name: v
                tests: [not_null]
        """,
}

PARTITIONED_CONFIG = """\
name = "checks"
threads = 2

[vars]
bad_day = ""
bump = 0
"""


def test_partition_failing_check_keeps_that_partition_and_updates_the_others(project):
    root = project(PARTITIONED_PROJECT, PARTITIONED_CONFIG)
    first = build_ok(root)
    assert "3 partitions  checks: 1 pass" in first  # one check, passed on each partition
    rows = check_rows(root)
    assert summary(rows) == {f"not_null_events_v@2025-01-0{d}": ("pass", 0) for d in (1, 2, 3)}

    out = run_teal(
        "build",
        "--vars",
        "{bad_day: '2025-01-02', bump: 100}",
        "--partition",
        "2025-01-01,2025-01-02,2025-01-03",
        cwd=root,
    )
    assert out.returncode == 1, out.output
    assert (
        "1 of 3 partitions failed  check not_null_events_v failed: 2 failing rows in partition 2025-01-02"
        in out.stdout
    )
    assert (
        "FAIL  check not_null_events_v  failed on 1 of 3 partitions: 2025-01-02  (2 failing rows)"
        in out.stdout
    )

    rows = check_rows(root)
    assert summary(rows) == {
        "not_null_events_v@2025-01-01": ("pass", 0),
        "not_null_events_v@2025-01-02": ("fail", 2),
        "not_null_events_v@2025-01-03": ("pass", 0),
    }
    assert [r["k"] for r in rows["not_null_events_v@2025-01-02"]["sample"]] == [1, 2]

    # 01 and 03 have the new values; 02 keeps its old rows (never NULL)
    data = query(
        root / "warehouse.duckdb", "select strftime(day, '%d'), k, v from events order by all"
    )
    assert data == [
        ("01", 1, 110),
        ("01", 2, 120),
        ("02", 1, 10),
        ("02", 2, 20),
        ("03", 1, 110),
        ("03", 2, 120),
    ]
    state = query(
        root / "warehouse.duckdb",
        "select partition_key, status from teal.partition_state "
        "where model = 'events' order by partition_key",
    )
    assert state == [("2025-01-01", "success"), ("2025-01-02", "error"), ("2025-01-03", "success")]


AUDITED_PROJECT = {
    "models/v_orders.sql": """
        {{ config(materialized='view') }}
        select * from (values (1), ({{ "null" if var('dirty') else "2" }})) t(id)
        """,
    "models/py_orders.py": """
        import pyarrow as pa
        import teal


        @teal.asset
        def py_orders(context):
            ids = [1, 2, None] if context.vars.get("dirty") else [1, 2]
            return pa.table({"id": pa.array(ids, pa.int64())})
        """,
    "models/py_child.sql": "select * from py_orders\n",
    "models/inc_orders.sql": """
        {{ config(materialized='incremental', unique_key='id') }}
        select * from (values (1, 'a'), (2, 'b')
          {% if var('dirty') %}, (3, null){% endif %}) t(id, name)
        """,
    "models/schema.yml": """
        models:
          - name: v_orders
            columns:
              - name: id
                tests: [not_null]
          - name: py_orders
            columns:
              - name: id
                tests: [not_null]
          - name: inc_orders
            columns:
              - name: name
                tests: [not_null]
        """,
}


def test_views_python_assets_and_incremental_models_are_audited(project):
    root = project(AUDITED_PROJECT, CONFIG)
    out = build_ok(root)
    assert out.count("checks: 1 pass") == 3
    assert summary(check_rows(root)) == {
        "not_null_v_orders_id": ("pass", 0),
        "not_null_py_orders_id": ("pass", 0),
        "not_null_inc_orders_name": ("pass", 0),
    }

    out = run_teal("build", *DIRTY, cwd=root)
    assert out.returncode == 1, out.output
    for model, check in (
        ("v_orders", "not_null_v_orders_id"),
        ("py_orders", "not_null_py_orders_id"),
        ("inc_orders", "not_null_inc_orders_name"),
    ):
        assert f"main.{model}" in out.stdout
        assert f"check {check} failed: 1 failing row" in out.stdout
    assert "upstream py_orders failed check not_null_py_orders_id" in out.stdout
    assert summary(check_rows(root)) == {
        "not_null_v_orders_id": ("fail", 1),
        "not_null_py_orders_id": ("fail", 1),
        "not_null_inc_orders_name": ("fail", 1),
    }
    # nothing was published: the old view, the old Arrow-written table, the old increment
    assert table(root, "v_orders") == [(1,), (2,)]
    assert table(root, "py_orders") == [(1,), (2,)]
    assert table(root, "py_child") == [(1,), (2,)]
    assert table(root, "inc_orders") == [(1, "a"), (2, "b")]


BROKEN_PROJECT = {
    "models/orders.sql": """
        {{ config(materialized='table') }}
        select * from (values (1, 'a'), (2, 'b')) t(id, status)
        """,
    "models/casts.sql": """
        {{ config(materialized='table') }}
        select * from (values (1, 'a')) t(id, status)
        """,
    "models/schema.yml": """
        models:
          - name: orders
            tests:
              - expression_is_true: {expression: "idd > 0", name: typo_in_expression, severity: warn}
              - row_count: {min: 1}
            columns:
              - name: id
                tests: [not_null, unique]
          - name: casts
            tests:
              - expression_is_true: {expression: "status::int > 0", name: status_is_a_number}
        """,
}


def test_a_check_that_cannot_run_is_reported_without_breaking_the_others(project):
    root = project(BROKEN_PROJECT, CONFIG)
    # bound before the build, the check naming a missing column stops it: nothing runs
    out = run_teal("build", cwd=root)
    assert out.returncode == 2, out.output
    assert (
        "models/schema.yml:4:7: check typo_in_expression of orders cannot run: column 'idd' "
        "does not exist in orders"
    ) in out.stderr
    assert not (root / "warehouse.duckdb").exists()
    out = run_teal("build", "--no-validate", cwd=root)
    assert out.returncode == 1, out.output
    assert "Traceback" not in out.output
    # a binder error (unknown column) is that check's error; its fused neighbours still run
    rows = check_rows(root)
    assert summary(rows) == {
        "typo_in_expression": ("error", None),
        "row_count_orders": ("pass", 0),
        "not_null_orders_id": ("pass", 0),
        "unique_orders_id": ("pass", 0),
        # an error while running aborts the audit's transaction: casts is built again, the
        # check reported as an error (tests below: the others' outcomes beside it)
        "status_is_a_number": ("error", None),
    }
    assert rows["typo_in_expression"]["message"].startswith(  # where the check is written
        'the check (models/schema.yml:4) could not run: Binder Error: Referenced column "idd"'
    )
    assert "checks: 3 pass, 1 error" in out.stdout
    assert table(root, "orders") == [(1, "a"), (2, "b")]  # a warn check: published
    # an error while running (not binding) names the check instead of an aborted transaction
    assert (
        "check status_is_a_number failed: the check (models/schema.yml:11) could not run: "
        "Conversion Error: Could not convert string 'a' to INT32"
    ) in out.stdout
    assert "transaction is aborted" not in out.output
    assert query(
        root / "warehouse.duckdb",
        "select count(*) from information_schema.tables where table_name = 'casts'",
    ) == [(0,)]


def test_accepted_values_are_quoted_as_in_dbt_so_numbers_on_text_only_fail_their_rows(project):
    """`values: [1, 2]` on a text column compares text: the rows that are not '1' or '2'
    fail that check; the column is not cast to a number (which aborted the build and made
    every fused neighbour "could not run")."""
    schema = """
        version: 2
        models:
          - name: codes
            columns:
              - name: code
                tests: [not_null, {accepted_values: {values: [1, 2]}}]
              - name: n
                tests: [{accepted_values: {values: [1, 2, 3]}}]
    """
    root = project(
        {
            "models/codes.sql": "select * from (values ('1', 1), ('2', 2), ('x', 3)) t(code, n)",
            "models/schema.yml": schema,
        },
        CONFIG,
    )
    out = run_teal("build", cwd=root)
    assert out.returncode == 1, out.output
    assert "could not run" not in out.output
    assert summary(check_rows(root)) == {
        "not_null_codes_code": ("pass", 0),
        "accepted_values_codes_code": ("fail", 1),
        "accepted_values_codes_n": ("pass", 0),
    }


# -- singular, Python and custom generic checks -----------------------------------------------

KINDS_PROJECT = {
    "models/orders.sql": """
        {{ config(materialized='table') }}
        select * from (values (1, 1, 10), (2, 1, 60), (3, 2, 70), (4, 3, 5)) t(id, cust, amount)
        """,
    "models/zz_customers.sql": """
        {{ config(materialized='table') }}
        select * from (values (1), (2)) t(id)
        """,
    "models/enriched.sql": "select id, amount * 2 as double_amount from orders\n",
    "models/enriched_child.sql": "select * from enriched\n",
    "checks/big_amounts.sql": """
        {{ config(severity='warn') }}
        select * from orders where amount > 50
        """,
    "checks/orders_without_customer.sql": """
        {{ config(asset='zz_customers', severity='warn') }}
        select o.* from orders o left join zz_customers c on o.cust = c.id where c.id is null
        """,
    "checks/no_huge_amounts.sql": "select * from {{ ref('orders') }} where amount > 1000\n",
    "checks/generic/is_multiple_of.sql": """
        {% test is_multiple_of(model, column_name, factor=2) %}
        select * from {{ model }} where {{ column_name }} % {{ factor }} <> 0
        {% endtest %}
        """,
    "models/schema.yml": """
        models:
          - name: orders
            columns:
              - name: amount
                tests:
                  - is_multiple_of: {factor: 5}
                  - is_multiple_of: {factor: 10, name: amount_multiple_of_10, severity: warn}
                  - is_multiple_of: {factor: 20, name: big_amount_multiple_of_20, where: "amount > 50", severity: warn}
        """,
    "models/quality.py": """
        import pyarrow as pa
        import teal


        @teal.asset_check(asset="orders")
        def orders_have_four_rows(orders: pa.Table) -> teal.CheckResult:
            return teal.CheckResult(passed=orders.num_rows == 4, metadata={"rows": orders.num_rows})


        @teal.asset_check(asset="orders", severity="warn")
        def orders_over_100_rows(orders: pa.Table) -> teal.CheckResult:
            return teal.CheckResult(passed=orders.num_rows > 100, metadata={"rows": orders.num_rows})


        @teal.asset_check(asset="orders", severity="warn")
        def orders_plain_bool(orders) -> bool:
            return False


        @teal.asset_check(asset="orders")
        def orders_result_says_warn(orders) -> teal.CheckResult:
            return teal.CheckResult(passed=False, severity="warn", description="only a warning")


        @teal.asset_check(asset="zz_customers")
        def customers_two(zz_customers) -> bool:
            return zz_customers.num_rows == 2


        @teal.asset_check(asset="zz_customers", severity="warn")
        def customers_raises(zz_customers):
            raise ValueError("boom")


        @teal.asset_check(asset="enriched")
        def enriched_divides(enriched):
            return 1 / 0
        """,
}


def test_singular_python_and_generic_checks(project):
    root = project(KINDS_PROJECT, CONFIG)
    # the singular check of zz_customers reads orders: its audit waits for orders, but
    # zz_customers does not depend on it (orders failing skips only that check)
    plan = json.loads(run_teal("plan", "--json", cwd=root).stdout)
    steps = {s["model"]: s for s in plan["steps"]}
    assert "orders" in steps["zz_customers"]["check_waits"]
    assert "orders" not in steps["zz_customers"]["depends_on"]

    out = run_teal("build", cwd=root)
    assert out.returncode == 1, out.output
    assert "Traceback" not in out.output
    rows = check_rows(root)
    assert summary(rows) == {
        "big_amounts": ("warn", 2),
        "orders_without_customer": ("warn", 1),
        "no_huge_amounts": ("pass", 0),
        "is_multiple_of_orders_amount": ("pass", 0),
        "amount_multiple_of_10": ("warn", 1),
        "big_amount_multiple_of_20": ("warn", 1),  # 70; 5 is outside where:
        "orders_have_four_rows": ("pass", None),
        "orders_over_100_rows": ("warn", None),
        "orders_plain_bool": ("warn", None),
        "orders_result_says_warn": ("warn", None),
        "customers_two": ("pass", None),
        "customers_raises": ("error", None),
        "enriched_divides": ("error", None),
    }
    kinds = {n: (r["asset"], r["kind"], r["severity"]) for n, r in rows.items()}
    assert kinds["big_amounts"] == ("orders", "singular", "warn")  # asset inferred
    assert kinds["no_huge_amounts"] == ("orders", "singular", "error")
    assert kinds["orders_without_customer"] == (
        "zz_customers",
        "singular",
        "warn",
    )  # config(asset=)
    assert kinds["amount_multiple_of_10"] == ("orders", "is_multiple_of", "warn")
    assert kinds["orders_over_100_rows"] == ("orders", "python", "warn")
    assert kinds["orders_result_says_warn"] == ("orders", "python", "warn")
    assert sorted(r["id"] for r in rows["big_amounts"]["sample"]) == [2, 3]
    assert rows["orders_without_customer"]["sample"] == [{"id": 4, "cust": 3, "amount": 5}]
    assert rows["big_amount_multiple_of_20"]["sample"] == [{"id": 3, "cust": 2, "amount": 70}]
    assert rows["orders_over_100_rows"]["message"] == "{'rows': 4}"
    assert rows["orders_result_says_warn"]["message"] == "only a warning"
    assert rows["customers_raises"]["message"] == "ValueError: boom"
    assert rows["enriched_divides"]["message"] == "ZeroDivisionError: division by zero"

    lines = out.stdout.splitlines()
    # warnings (and a warn-severity check that raised) do not block
    assert any("OK" in l and "main.orders " in l for l in lines)
    assert any("OK" in l and "main.zz_customers" in l for l in lines)
    # an error-severity Python check that raises fails its asset after publishing
    assert (
        "published, then check enriched_divides failed: ZeroDivisionError: division by zero"
    ) in out.stdout
    # the summary says what was published and what failed
    assert re.search(r"\d+ failed \(1 published, then failed a check\)", out.stdout), out.stdout
    assert any(
        "SKIP" in l
        and "main.enriched_child" in l
        and l.endswith("upstream enriched failed check enriched_divides")
        for l in lines
    )
    assert table(root, "enriched", "id") == [(1, 20), (2, 120), (3, 140), (4, 10)]


# -- teal check, teal run ------------------------------------------------------------------

CHECK_PROJECT = {
    "models/orders.sql": """
        {{ config(materialized='table') }}
        select * from (values (1, 'a'), (2, 'b')
          {% if var('dirty') %}, (null, 'z'){% endif %}) t(id, name)
        """,
    "models/labels.sql": """
        {{ config(materialized='table') }}
        select * from (values ('x'), (null)) t(label)
        """,
    "models/never_built.sql": "select 1 as id\n",
    "models/label_checks.py": """
        import teal


        @teal.asset_check(asset="labels", severity="warn")
        def labels_not_more_than_never_built(labels, never_built):
            return labels.num_rows <= never_built.num_rows
        """,
    "models/schema.yml": """
        models:
          - name: orders
            columns:
              - name: id
                tests:
                  - not_null: {store_failures: true}
              - name: name
                tests:
                  - accepted_values: {values: [a, b, z]}
          - name: labels
            columns:
              - name: label
                tests:
                  - not_null: {severity: warn}
          - name: never_built
            columns:
              - name: id
                tests: [not_null]
        """,
}


def test_teal_run_runs_no_checks_and_teal_check_audits_what_is_built(project):
    root = project(CHECK_PROJECT, CONFIG)
    db = root / "warehouse.duckdb"
    out = run_teal("run", *DIRTY, "-s", "orders", "-s", "labels", cwd=root)
    assert out.returncode == 0, out.output
    assert "checks:" not in out.stdout and "Checks:" not in out.stdout
    run_id = last_run_id(root)
    assert query(db, f"select command from teal.runs where run_id = '{run_id}'") == [("run",)]
    assert query(db, f"select count(*) from teal.check_results where run_id = '{run_id}'") == [(0,)]
    assert table(root, "orders", "id nulls last") == [(1, "a"), (2, "b"), (None, "z")]

    # blocking failure: exit 1; the YAML store_failures keeps its rows without the flag
    out = run_teal("check", "-s", "orders", cwd=root)
    assert out.returncode == 1, out.output
    assert "Traceback" not in out.output
    lines = [l.split() for l in out.stdout.splitlines()]
    assert ["orders", "not_null_orders_id", "FAIL", "1"] in lines
    assert ["orders", "accepted_values_orders_name", "PASS", "0"] in lines
    assert "Checks: 2 run, 1 passed, 1 failed" in out.stdout
    assert "FAIL  check not_null_orders_id  1 failing row" in out.stdout
    assert summary(check_rows(root)) == {
        "not_null_orders_id": ("fail", 1),
        "accepted_values_orders_name": ("pass", 0),
    }
    assert query(
        db, f"select command, status from teal.runs where run_id = '{last_run_id(root)}'"
    ) == [("check", "error")]
    assert table(root, "teal_failures.not_null_orders_id") == [(None, "z")]
    # teal check rebuilds nothing
    assert table(root, "orders", "id nulls last") == [(1, "a"), (2, "b"), (None, "z")]

    # only warnings: exit 0; --store-failures keeps the warned rows too. A Python check
    # whose input (never_built) is not in the warehouse is skipped saying so, as a build
    # skips it, not a crash (nor a check result: nothing was checked)
    out = run_teal("check", "-s", "labels", "--store-failures", cwd=root)
    assert out.returncode == 0, out.output
    assert "Traceback" not in out.output
    assert ["labels", "not_null_labels_label", "WARN", "1"] in [
        l.split() for l in out.stdout.splitlines()
    ]
    assert "Checks: 1 run, 0 passed, 1 warned, 1 skipped" in out.stdout
    assert table(root, "teal_failures.not_null_labels_label") == [(None,)]
    assert re.search(
        r"labels_not_more_than_never_built\s+SKIPPED\s+skipped: never_built is not built yet",
        out.stdout,
    )
    assert "labels_not_more_than_never_built" not in check_rows(root)

    # --json, and a model that was never built
    out = run_teal("check", "--json", cwd=root)
    assert out.returncode == 1, out.output
    payload = json.loads(out.stdout)
    assert payload["success"] is False
    assert payload["missing"] == ["never_built"]
    assert {
        c["check"]: (c["asset"], c["status"], c["severity"], c["failing"])
        for c in payload["checks"]
    } == {
        "not_null_orders_id": ("orders", "fail", "error", 1),
        "accepted_values_orders_name": ("orders", "pass", "error", 0),
        "not_null_labels_label": ("labels", "warn", "warn", 1),
        "labels_not_more_than_never_built": ("labels", "skipped", "warn", None),
    }
    failing = next(c for c in payload["checks"] if c["check"] == "not_null_orders_id")
    assert failing["sample"] == [{"id": None, "name": "z"}]
    assert summary(check_rows(root, payload["run_id"])) == {
        "not_null_orders_id": ("fail", 1),
        "accepted_values_orders_name": ("pass", 0),
        "not_null_labels_label": ("warn", 1),
    }

    out = run_teal("check", "-s", "never_built", cwd=root)
    assert out.returncode == 1, out.output  # its checks could not run: no pass
    assert "never_built: not built yet, its checks were not run" in out.stdout
    assert (
        "1 selected model is not built yet, so its checks did not run: build first, "
        "`teal build -s never_built`"
    ) in out.stdout


def test_check_before_any_build_creates_no_warehouse(project):
    root = project(
        {
            "models/orders.sql": "select 1 as id\n",
            "models/schema.yml": "models:\n  - name: orders\n    columns:\n"
            "      - name: id\n        tests: [not_null]\n",
        }
    )
    out = run_teal("check", cwd=root)
    assert out.returncode == 1, out.output
    assert "orders: not built yet, its checks were not run" in out.stdout
    assert not (root / "warehouse.duckdb").exists()  # was an empty file left behind


# -- compile-time errors ---------------------------------------------------------------------

ERROR_BASE = {
    "models/orders.sql": "select 1 as id, 'a' as status\n",
}

ERROR_CASES = {
    "unknown column": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                columns:
                  - name: id
                    tests: [not_null]
                  - name: stauts
                    tests: [not_null]
            """
        },
        "models/schema.yml:6:7: model 'orders' has no column 'stauts'",
        "hint: did you mean 'status'?",
    ),
    "column misspelled by the query": (
        {
            "models/by_status.sql": "select o.stauts, count(*) as n from orders o group by all\n",
            "models/schema.yml": """
            models:
              - name: by_status
                columns:
                  - name: status
                    tests: [not_null]
            """,
        },
        "models/schema.yml:4:7: model 'by_status' has no column 'status'",
        "hint: 'status' is a column of orders, which the query reads: check "
        "models/by_status.sql, which does not output it ('stauts' instead?)",
    ),
    "unknown check": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                columns:
                  - name: id
                    tests:
                      - unique
                      - not_nul
            """
        },
        "models/schema.yml:7:11: unknown check 'not_nul'",
        "hint: did you mean 'not_null'?",
    ),
    "accepted_values without values": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                columns:
                  - name: status
                    tests:
                      - accepted_values: {quote: true}
            """
        },
        "models/schema.yml:6:11: check accepted_values on status of orders: needs values: [...]",
        "hint: accepted_values: {values: ['a', 'b']}",
    ),
    "bad severity": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                columns:
                  - name: id
                    tests:
                      - not_null: {severity: fatal}
            """
        },
        "models/schema.yml:6:11: check not_null on id of orders: severity must be error or warn, "
        "got 'fatal'",
        "hint: severity: warn reports failures without blocking",
    ),
    "misspelled severity": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                tests:
                  - row_count: {min: 1, config: {severity: warning}}
            """
        },
        "models/schema.yml:4:7: check row_count of orders: severity must be error or warn, "
        "got 'warning'",
        "hint: did you mean 'warn'?",
    ),
    "misspelt option": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                columns:
                  - name: id
                    tests:
                      - not_null: {severty: warn}
            """
        },
        "models/schema.yml:6:11: unknown key 'severty' in check not_null",
        "hint: did you mean 'severity'?",
    ),
    "a severity where the mapping goes": (  # was "unknown key 'arg'"
        {
            "models/schema.yml": """
            models:
              - name: orders
                columns:
                  - name: id
                    tests:
                      - not_null: warn
            """
        },
        "models/schema.yml:6:11: check not_null takes a mapping of arguments and options, "
        "got 'warn'",
        "hint: write '- not_null: {severity: warn}'",
    ),
    "misspelt argument": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                tests:
                  - row_count: {min: 1, mx: 5}
            """
        },
        "models/schema.yml:4:7: unknown key 'mx' in check row_count",
        "hint: did you mean 'max'?",
    ),
    "unsupported dbt_utils argument": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                tests:
                  - dbt_utils.unique_combination_of_columns:
                      {combination_of_columns: [id, status], row_condition: "id > 1"}
            """
        },
        "models/schema.yml:4:7: 'row_condition' of check unique_combination is not supported",
        "hint: express it with a singular check",
    ),
    "bad threshold": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                columns:
                  - name: id
                    tests:
                      - not_null: {warn_if: lots}
            """
        },
        "models/schema.yml:6:11: check not_null on id of orders: threshold 'lots' is not a comparison",
        "hint: write '>0', '>=10' or '!=0'",
    ),
    "relationships to an unknown model": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                columns:
                  - name: id
                    tests:
                      - relationships: {to: ordrs, field: id}
            """
        },
        "models/schema.yml:6:33: check relationships on id of orders: to: 'ordrs' is not a model",
        "hint: did you mean 'orders'?",
    ),
    "relationships to an unknown ref, under arguments": (
        {
            "models/schema.yml": """
            models:
              - name: orders
                columns:
                  - name: id
                    tests:
                      - relationships:
                          arguments:
                            to: ref('ordrs')
                            field: id
            """
        },
        "models/schema.yml:8:21: check relationships on id of orders: to: 'ordrs' is not a model",
        "hint: did you mean 'orders'?",
    ),
    "singular check reads an unknown table": (
        {"checks/no_nulls.sql": "select * from ordrs where id is null\n"},
        "checks/no_nulls.sql:1:15: 'ordrs' is not a model",
        "hint: did you mean 'orders'?",
    ),
    "singular check of an unknown asset": (
        {
            "checks/no_nulls.sql": "{{ config(asset='order') }}\nselect * from orders where id is null\n"
        },
        "checks/no_nulls.sql:1:1: check asset 'order' is not a model",
        "hint: did you mean 'orders'?",
    ),
    "two checks with one name": (
        {
            "models/customers.sql": "select 1 as id\n",
            "models/schema.yml": """
            models:
              - name: orders
                columns:
                  - name: id
                    tests: [not_null]
              - name: customers
                tests:
                  - row_count: {min: 1, name: not_null_orders_id}
            """,
        },
        "models/schema.yml:8:7: two checks are named 'not_null_orders_id' (models/schema.yml:5 and here)",
        "hint: give one of them a name: {name: ...}",
    ),
    "python check of an unknown asset": (
        {
            "models/quality.py": """
            import teal


            @teal.asset_check(asset="ordres")
            def has_rows(ordres):
                return True
            """
        },
        "models/quality.py:4:1: check 'has_rows' is of asset 'ordres', which is not a model",
        "hint: did you mean 'orders'?",
    ),
    "python check with a bad severity": (
        {
            "models/quality.py": """
            import teal


            @teal.asset_check(asset="orders", severity="fatal")
            def has_rows(orders):
                return True
            """
        },
        "models/quality.py:4:1: check 'has_rows': severity must be error or warn, got 'fatal'",
        "hint: severity='warn' reports a failure without blocking",
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_compile_time_errors_point_at_the_check(project, case):
    files, message, hint = ERROR_CASES[case]
    root = project({**ERROR_BASE, **files}, CONFIG)
    out = run_teal("build", cwd=root)
    assert out.returncode == 2, out.output
    assert "Traceback" not in out.output
    assert out.stderr.startswith(message), out.stderr
    assert hint in out.stderr, out.stderr
    assert not (root / "warehouse.duckdb").exists() or query(
        root / "warehouse.duckdb",
        "select count(*) from information_schema.tables where table_name = 'orders'",
    ) == [(0,)]


def test_a_check_reading_a_model_the_build_skipped_is_skipped_not_its_model(project):
    """``c``'s relationships check reads ``b``, which is skipped because ``a`` failed: ``c``
    waits for ``b``'s step to finish, then builds and publishes, and only that check is
    skipped, naming why (a check-read is no upstream: it does not skip the model)."""
    root = project(
        {
            "models/a.sql": "select cast('x' || {{ var('n', 1) }} as int) as id",
            "models/b.sql": "select id from a",
            "models/c.sql": "select 1 as id, 1 as b_id",
            "models/d.sql": "select id from c",
            "models/schema.yml": """
                models:
                  - name: c
                    columns:
                      - name: b_id
                        tests:
                          - relationships: {to: ref('b'), field: id, name: c_b_exists}
                          - not_null: {name: c_b_not_null}
                """,
        },
        'name = "skips"\nthreads = 2\n\n[defaults]\nmaterialized = "table"\n',
    )
    out = run_teal("build", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert out.returncode == 1, out.output
    assert "Traceback" not in out.output
    assert "Skipped:\n  b  upstream a failed" in out.output
    assert "SKIP  check c_b_exists  skipped: b was skipped (upstream a failed)" in out.output
    assert "Checks: 1 run, 1 passed, 1 skipped:" in out.output
    assert table(root, "main.d") == [(1,)]
    # a skipped check is not a result of the check: the warehouse keeps what last ran
    assert set(summary(check_rows(root))) == {"c_b_not_null"}


def test_a_check_that_cannot_run_leaves_the_other_checks_of_its_model_reported(project):
    """A check whose query fails while it runs (DuckDB's Conversion Error) aborts the
    audit's transaction: the model is built again with that check reported as an error,
    at its YAML line, beside every other check's outcome, as `teal check` shows them."""
    root = project(
        {
            "models/customers.sql": "select 1 as id",
            "models/orders.sql": "select * from (values ('1', 'paid'), ('x2', 'weird')) t(cust, status)",
            "models/schema.yml": """
                models:
                  - name: orders
                    columns:
                      - name: cust
                        tests:
                          - relationships: {to: ref('customers'), field: id, name: cust_known}
                      - name: status
                        tests:
                          - accepted_values: {values: [paid], name: status_known}
                          - not_null: {name: status_set}
                """,
        },
        'name = "aborts"\nthreads = 2\n\n[defaults]\nmaterialized = "table"\n',
    )
    out = run_teal("build", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert out.returncode == 1, out.output
    assert "Traceback" not in out.output
    assert (
        "ERROR check cust_known  the check (models/schema.yml:6) could not run: Conversion Error"
        in out.output
    )
    assert "FAIL  check status_known  1 failing row" in out.output
    assert "Checks: 3 run, 1 passed, 1 failed, 1 errored:" in out.output
    assert summary(check_rows(root)) == {
        "cust_known": ("error", None),
        "status_known": ("fail", 1),
        "status_set": ("pass", 0),
    }
    assert query(
        root / "warehouse.duckdb",
        "select count(*) from information_schema.tables where table_name = 'orders'",
    ) == [(0,)]  # nothing published
