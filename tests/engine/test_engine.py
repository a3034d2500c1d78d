"""What every engine must do, through the ``Engine`` / ``EngineCursor`` interface only."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime

import pytest

from teal.compiler.checks import builtin_check
from teal.compiler.errors import WarehouseError
from teal.warehouse.engine import (
    CheckRecord,
    EngineCursor,
    PartitionRowsError,
    PartitionWrite,
    SchemaChangeError,
)
from teal.warehouse.io import scannable

ROWS = "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, NULL)) AS t(id, status)"
NOW = datetime(2025, 1, 5)


def rows(engine, name="orders", schema="marts"):
    return sorted(engine.read_relation(schema, name).to_pylist(), key=lambda r: str(r))


def fail(cur, relation_sql):
    raise RuntimeError("audit says no")


# -- materializations ------------------------------------------------------------------


def test_create_view_then_table_replaces_it(engine, target):
    cur = engine.cursor()
    built = cur.create_view(target("orders", "view"), ROWS)
    assert built.rows is None
    assert cur.relation_kind(target()) == "view"
    assert [r["id"] for r in rows(engine)] == [1, 2, 3]
    built = cur.build_table(target(), ROWS)
    assert built.rows == 3
    assert cur.relation_kind(target()) == "table"
    assert engine.read_relation("marts", "orders").schema.names == ["id", "status"]
    assert engine.catalog().kind("MARTS", "Orders") == "table"


def test_build_table_records_state(engine, target):
    engine.cursor().build_table(target(sql_hash="abc"), ROWS)
    state = engine.plan_state()
    assert state.models["orders"].sql_hash == "abc"
    assert state.last_results["orders"] == "success"
    assert "marts.orders" in state.relations


def test_plan_state_lists_relations_only_when_asked(engine, target):
    engine.cursor().build_table(target(sql_hash="abc"), ROWS)
    listed, unlisted = engine.plan_state(), engine.plan_state(relations=False)
    assert "marts.orders" in listed.relations
    assert unlisted.relations is None  # not "nothing exists": not looked at
    assert unlisted.models == listed.models
    assert unlisted.last_results == listed.last_results


def test_output_schemas_of_a_few_relations_and_of_many_agree(engine, target):
    cur = engine.cursor()
    cur.build_table(target(), "SELECT 1::DECIMAL(18, 2) AS amount, [1, 2] AS ids, 'x' AS s")
    cur.create_view(target("orders_v", "view"), "SELECT amount, s FROM marts.orders")
    asked = [("MARTS", "Orders"), ("marts", "orders_v"), ("marts", "never_built")]
    few = engine.output_schemas(asked)  # looked up by name
    many = engine.output_schemas(asked + [("marts", f"absent_{i}") for i in range(40)])
    assert few == many  # the same answer as the one query over the catalog
    assert set(few) == {("marts", "orders"), ("marts", "orders_v")}
    assert [c for c, _ in few[("marts", "orders")]] == ["amount", "ids", "s"]
    assert few[("marts", "orders_v")] == [c for c in few[("marts", "orders")] if c[0] != "ids"]


def test_incremental_append_and_upsert(engine, target):
    cur = engine.cursor()
    cur.build_table(target(), ROWS)
    built = cur.incremental_append(target(), "SELECT 4 AS id, 'd' AS status")
    assert built.rows == 1
    assert [r["id"] for r in rows(engine)] == [1, 2, 3, 4]
    built = cur.incremental_upsert(
        target(), "SELECT * FROM (VALUES (2, 'B'), (5, 'e')) AS t(id, status)", ["id"]
    )
    assert built.rows == 2
    got = {r["id"]: r["status"] for r in rows(engine)}
    assert got == {1: "a", 2: "B", 3: None, 4: "d", 5: "e"}


def test_incremental_refuses_changed_columns(engine, target):
    cur = engine.cursor()
    cur.build_table(target(), ROWS)
    with pytest.raises(SchemaChangeError, match='new column "extra"'):
        cur.incremental_append(target(), "SELECT 9 AS id, 'x' AS status, 1 AS extra")
    assert len(rows(engine)) == 3


# a table of (id, status) gets rows without status and with a new column, extra: what
# each policy leaves (columns, then rows sorted)
SCHEMA_CHANGES = {
    "ignore": (["id", "status"], [(1, "a"), (2, "b"), (3, None), (4, None)]),
    "append_new_columns": (
        ["id", "status", "extra"],
        [(1, "a", None), (2, "b", None), (3, None, None), (4, None, 9)],
    ),
    "sync_all_columns": (["id", "extra"], [(1, None), (2, None), (3, None), (4, 9)]),
}


def as_tuples(engine, name="orders"):
    table = engine.read_relation("marts", name)
    return table.column_names, sorted(tuple(r.values()) for r in table.to_pylist())


# upserts align columns as appends do: one policy shows it
@pytest.mark.parametrize(
    "how, policy",
    [("append", p) for p in sorted(SCHEMA_CHANGES)] + [("upsert", "append_new_columns")],
)
def test_on_schema_change_policies(engine, target, policy, how):
    from dataclasses import replace

    cur = engine.cursor()
    t = replace(target(), on_schema_change=policy)
    cur.build_table(t, ROWS)
    if how == "append":
        cur.incremental_append(t, "SELECT 4 AS id, 9 AS extra")
    else:
        cur.incremental_upsert(t, "SELECT 4 AS id, 9 AS extra", ["id"])
    assert as_tuples(engine) == (SCHEMA_CHANGES[policy][0], SCHEMA_CHANGES[policy][1])


@pytest.mark.parametrize("policy", sorted(SCHEMA_CHANGES))
def test_on_schema_change_policies_on_a_partition(engine, target, policy):
    from dataclasses import replace

    cur = engine.cursor()
    t = replace(target("events", "incremental"), on_schema_change=policy)
    cur.replace_partition(t, "1", "SELECT 1 AS id, 'a' AS status", "id = 1")
    cur.replace_partition(t, "2", "SELECT 2 AS id, 'b' AS status", "id = 2")
    cur.replace_partition(t, "4", "SELECT 4 AS id, 9 AS extra", "id = 4")
    columns, expected = SCHEMA_CHANGES[policy]
    assert as_tuples(engine, "events") == (columns, [r for r in expected if r[0] != 3])
    # the next partition of the same query: the table already has its columns
    cur.replace_partition(t, "4", "SELECT 4 AS id, 8 AS extra", "id = 4")
    assert as_tuples(engine, "events")[1][-1][-1] == (8 if policy != "ignore" else None)


# -- atomicity ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["audit", "statement"])
def test_a_failed_build_keeps_the_old_relation_and_records_nothing(engine, target, how):
    cur = engine.cursor()
    cur.build_table(target(sql_hash="old"), ROWS)
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own error type
        if how == "audit":
            cur.build_table(target(sql_hash="new"), "SELECT 7 AS id", audit=fail)
        else:
            cur.build_table(target(sql_hash="new"), "SELECT 7 AS id, 1 / 0 + 'x' AS status")
    assert [r["id"] for r in rows(engine)] == [1, 2, 3]
    assert engine.read_relation("marts", "orders").schema.names == ["id", "status"]
    assert engine.plan_state().models["orders"].sql_hash == "old"


def test_a_failed_view_keeps_the_old_table(engine, target):
    cur = engine.cursor()
    cur.build_table(target(), ROWS)
    with pytest.raises(RuntimeError):
        cur.create_view(target("orders", "view"), "SELECT 1 AS id", audit=fail)
    assert cur.relation_kind(target()) == "table"
    assert len(rows(engine)) == 3


def test_record_failure_is_the_last_result(engine, target):
    cur = engine.cursor()
    cur.build_table(target(), ROWS)
    cur.record_failure(target(), NOW, "boom")
    state = engine.plan_state()
    assert state.last_results["orders"] == "error"
    assert state.models["orders"].sql_hash == "h1"  # the last success is kept
    # and the relation it built, which state:modified.relation compares without --state
    assert state.models["orders"].relation == "marts.orders"


# -- partitions --------------------------------------------------------------------------


def day(d: int) -> str:
    return f"SELECT * FROM (VALUES ({d}, 'x{d}'), ({d}, 'y{d}')) AS t(day, v)"


def test_replace_partition(engine, target):
    cur = engine.cursor()
    t = target("events", "incremental")
    for d in (1, 2):
        cur.replace_partition(t, str(d), day(d), f"day = {d}")
    built = cur.replace_partition(t, "2", "SELECT 2 AS day, 'z' AS v", "day = 2")
    assert built.rows == 1
    assert sorted((r["day"], r["v"]) for r in rows(engine, "events")) == [
        (1, "x1"),
        (1, "y1"),
        (2, "z"),
    ]
    parts = engine.partition_state("events")["events"]
    assert parts["2"]["status"] == "success" and parts["2"]["rows"] == 1
    assert engine.plan_state().partitions["events"]["1"]["rows"] == 2


def test_rows_outside_the_partition_fail_and_change_nothing(engine, target):
    cur = engine.cursor()
    t = target("events", "incremental")
    cur.replace_partition(t, "1", day(1), "day = 1")
    with pytest.raises(PartitionRowsError, match="2 of 3 rows do not belong to partition 1"):
        cur.replace_partition(
            t, "1", "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS t(day, v)", "day = 1"
        )
    assert len(rows(engine, "events")) == 2
    cur.record_partition_failure(t, "1", NOW, "rows outside")
    assert engine.partition_state("events")["events"]["1"]["status"] == "error"


def test_a_failed_partition_records_the_version_of_the_rows_it_left(engine, target):
    """A failed attempt rolls back: its record carries the data version of the last
    success's rows (compiler/versions.py: their readers are not stale); a partition never
    built has none."""
    import dataclasses

    cur = engine.cursor()
    t = dataclasses.replace(target("events", "incremental"), partition_versions={"1": "v1"})
    cur.replace_partition(t, "1", day(1), "day = 1")
    cur.record_partition_failure(target("events", "incremental", run_id="r2"), "1", NOW, "no")
    cur.record_partition_failure(target("events", "incremental", run_id="r2"), "2", NOW, "no")
    parts = engine.partition_state("events")["events"]
    assert (parts["1"]["status"], parts["1"]["data_version"]) == ("error", "v1")
    assert (parts["2"]["status"], parts["2"]["data_version"]) == ("error", None)


def test_a_group_of_partitions_is_replaced_in_one_transaction(engine, target):
    cur = engine.cursor()
    t = target("events", "incremental")
    cur.replace_partition(t, "1", day(1), "day = 1")
    seen: list[tuple[str, int]] = []  # what each audit sees: its partition's new rows

    def audit(cur: EngineCursor, sql: str) -> None:
        seen.append(cur.query(f"SELECT min(day), count(*) FROM {sql} AS r")[1][0])

    writes = [PartitionWrite(str(d), day(d), f"day = {d}", audit) for d in (1, 2, 3)]
    writes[1] = writes[1]._replace(sql="SELECT 2 AS day, 'z' AS v")
    assert cur.replace_partition_group(t, writes) == [2, 1, 2]
    assert sorted((r["day"], r["v"]) for r in rows(engine, "events")) == [
        (1, "x1"), (1, "y1"), (2, "z"), (3, "x3"), (3, "y3"),
    ]  # fmt: skip
    assert seen == [(1, 2), (2, 1), (3, 2)]
    parts = engine.partition_state("events")["events"]
    assert {k: (p["status"], p["rows"]) for k, p in parts.items()} == {
        "1": ("success", 2), "2": ("success", 1), "3": ("success", 2),
    }  # fmt: skip


@pytest.mark.parametrize("broken", ["outside", "audit"])
def test_a_failing_partition_keeps_its_whole_group_old(engine, target, broken):
    cur = engine.cursor()
    t = target("events", "incremental")
    for d in (1, 2):
        cur.replace_partition(t, str(d), day(d), f"day = {d}")
    before = rows(engine, "events")

    def audit(cur: EngineCursor, sql: str) -> None:
        day = cur.query(f"SELECT min(day) FROM {sql} AS r")[1][0][0]
        if broken == "audit" and day == 2:
            raise RuntimeError("check failed")

    writes = [PartitionWrite(str(d), f"SELECT {d} AS day, 'new' AS v", f"day = {d}", audit)
              for d in (1, 2)]  # fmt: skip
    if broken == "outside":
        writes[1] = writes[1]._replace(sql="SELECT 3 AS day, 'new' AS v")
    with pytest.raises((PartitionRowsError, RuntimeError)):
        cur.replace_partition_group(t, writes)
    assert rows(engine, "events") == before
    assert {p["rows"] for p in engine.partition_state("events")["events"].values()} == {2}


def test_replace_partition_from_arrow(engine, target):
    import pyarrow as pa

    cur = engine.cursor()
    t = target("events", "incremental")
    data = pa.table({"day": [3, 3, 3], "v": ["a", "b", "c"]})
    assert cur.replace_partition(t, "3", data, "day = 3").rows == 3
    reader = pa.table({"day": [3], "v": ["r"]}).to_reader()
    assert cur.replace_partition(t, "3", reader, "day = 3").rows == 1
    assert rows(engine, "events") == [{"day": 3, "v": "r"}]


def test_full_refresh_rebuilds_every_partition_atomically(engine, target):
    import pyarrow as pa

    cur = engine.cursor()
    t = target("events", "incremental")
    cur.replace_partition(t, "1", day(1), "day = 1")
    parts = [
        ("1", "SELECT 1 AS day, 'new' AS v", "day = 1"),
        ("2", lambda: pa.table({"day": [2], "v": ["py"]}), "day = 2"),
    ]
    built = cur.rebuild_partitions(t, parts)
    assert built.rows == 2
    assert rows(engine, "events") == [{"day": 1, "v": "new"}, {"day": 2, "v": "py"}]
    with pytest.raises(RuntimeError):
        cur.rebuild_partitions(t, [("1", "SELECT 1 AS day, 'gone' AS v", "day = 1")], audit=fail)
    with pytest.raises(PartitionRowsError):
        cur.rebuild_partitions(t, [("1", "SELECT 5 AS day, 'bad' AS v", "day = 1")])
    assert rows(engine, "events") == [{"day": 1, "v": "new"}, {"day": 2, "v": "py"}]
    assert set(engine.partition_state("events")["events"]) == {"1", "2"}


@pytest.mark.parametrize("hourly", [False, True])
def test_single_run_replaces_many_partitions(engine, target, hourly):
    cur = engine.cursor()
    t = target("daily", "incremental")
    lo = [datetime(2025, 1, d) for d in (1, 2, 3, 4)]
    windows = [(f"2025-01-0{d}", lo[d - 1], lo[d]) for d in (1, 2, 3)]
    if hourly:  # windows that are not calendar days: the join path
        windows = [(k, a.replace(hour=6), b.replace(hour=6)) for k, a, b in windows]
    select = (
        "SELECT ts, 1 AS n FROM (VALUES (TIMESTAMP '2025-01-01 07:00:00'), "
        "(TIMESTAMP '2025-01-02 07:00:00'), (TIMESTAMP '2025-01-02 08:00:00')) AS t(ts)"
    )
    built = cur.replace_partitions_single_run(t, windows, select, "ts")
    assert built.rows == 3
    state = engine.partition_state("daily")["daily"]
    assert {k: v["rows"] for k, v in state.items()} == {
        "2025-01-01": 1,
        "2025-01-02": 2,
        "2025-01-03": 0,
    }
    # again, replacing: the same rows, not twice as many
    cur.replace_partitions_single_run(t, windows, select, "ts")
    assert len(rows(engine, "daily")) == 3
    outside = "SELECT TIMESTAMP '2030-01-01 07:00:00' AS ts, 1 AS n"
    with pytest.raises(PartitionRowsError, match="1 rows fall outside the 3 partitions"):
        cur.replace_partitions_single_run(t, windows, outside, "ts")
    assert len(rows(engine, "daily")) == 3


# -- checks ------------------------------------------------------------------------------


def checks_of(asset: str = "orders"):
    def make(kind, column=None, **params):
        return builtin_check(kind, asset=asset, column=column, params=params, options={})

    return [
        make("not_null", "status"),
        make("accepted_values", "status", values=["a", "b"]),
        make("accepted_range", "id", min_value=2),
        make("unique", "id"),
        make("row_count", min=10),
    ]


def test_checks_measure_fused_and_single(engine, target):
    cur = engine.cursor()
    cur.build_table(target(), ROWS + " UNION ALL SELECT 2, 'zz'")
    checks = checks_of()
    measured = {m.check.kind: m for m in cur.measure(cur.relation_sql("marts", "orders"), checks)}
    assert {k: m.failing for k, m in measured.items()} == {
        "not_null": 1,
        "accepted_values": 1,
        "accepted_range": 1,
        "unique": 1,
        "row_count": 1,
    }
    m = measured["accepted_values"]
    cur.sample(m, cur.relation_sql("marts", "orders"), keep_failures=True)
    assert m.sample == [{"id": 2, "status": "zz"}]
    stored = cur.store_failures(m.check.name, m.failures)
    assert stored == f"teal_failures.{m.check.name}"
    assert engine.read_relation("teal_failures", m.check.name).num_rows == 1


ORDERS = (
    "SELECT * FROM (VALUES (1, 'a', 10, 1, TIMESTAMP '2000-01-01'), "
    "(2, 'b', -5, 2, TIMESTAMP '2000-01-02'), (2, 'zz', 20, 9, NULL), "
    "(4, NULL, 30, 1, TIMESTAMP '2000-01-03')) AS t(id, status, amount, customer_id, seen_at)"
)
# kind, column, params, where -> failing count, the first sample row
EVERY_KIND = [
    ("not_null", "status", {}, None, 1, {"id": 4, "status": None}),
    ("not_null", "status", {}, "amount < 25", 0, None),
    ("unique", "id", {}, None, 1, {"value": 2, "n": 2}),
    ("unique", "id", {}, "status <> 'zz'", 0, None),
    ("accepted_values", "status", {"values": ["a", "b"]}, None, 1, {"id": 2, "status": "zz"}),
    ("accepted_values", "id", {"values": [1, 2], "quote": False}, None, 1, {"id": 4}),
    ("accepted_range", "amount", {"min_value": 0}, None, 1, {"id": 2, "amount": -5}),
    ("accepted_range", "amount", {"min_value": 0, "inclusive": False}, "id > 1", 1, {"id": 2}),
    ("expression_is_true", None, {"expression": "amount < 25"}, None, 1, {"id": 4}),
    ("row_count", None, {"min": 10}, None, 1, {"n": 4}),
    ("row_count", None, {"max": 1}, "status = 'a'", 0, None),
    ("unique_combination", None, {"columns": ["id", "status"]}, None, 0, None),
    ("freshness", "seen_at", {"max_age": "1 day"}, None, 1, {"latest": "2000-01-03 00:00:00"}),
    ("freshness", "seen_at", {"max_age": "1 day"}, "id = 1", 1, {"latest": "2000-01-01 00:00:00"}),
    ("relationships", "customer_id", {"to": "customers", "field": "id"}, None, 1, {"value": 9}),
]


def test_every_builtin_check_counts_and_samples_its_failures(engine, target):
    cur = engine.cursor()
    cur.build_table(target(), ORDERS)
    cur.build_table(target("customers"), "SELECT * FROM (VALUES (1), (2)) AS c(id)")
    relation = cur.relation_sql("marts", "orders")
    checks = [
        builtin_check(
            kind,
            asset="orders",
            column=column,
            params=params,
            options={"name": f"c{i}", **({"where": where} if where else {})},
            relation_of=lambda name: cur.relation_sql("marts", name),
        )
        for i, (kind, column, params, where, _, _) in enumerate(EVERY_KIND)
    ]
    measured = {m.check.name: m for m in cur.measure(relation, checks)}
    assert [measured[c.name].failing for c in checks] == [row[4] for row in EVERY_KIND]
    for check, (*_, failing, first) in zip(checks, EVERY_KIND):
        m = measured[check.name]
        cur.sample(m, relation, keep_failures=False)
        assert len(m.sample) == failing, (check.kind, m.sample)
        if first is not None:
            shown = min(m.sample, key=lambda row: str(row))
            assert {k: shown[k] for k in first} == first, (check.kind, m.sample)


def test_a_broken_check_is_reported_not_raised(engine, target):
    cur = engine.cursor()
    cur.build_table(target(), ROWS)
    broken = builtin_check("not_null", asset="orders", column="nope", params={}, options={})
    (m,) = cur.measure(cur.relation_sql("marts", "orders"), [broken])
    assert m.failing is None and "nope" in (m.error or "")


def test_check_results_are_recorded(engine, target):
    cur = engine.cursor()
    check = checks_of()[0]
    cur.record_check_results(
        [
            CheckRecord("r1", check, None, "warn", 1, [{"id": 3}], "select 1", 1.5, None),
            CheckRecord("r1", check, "p1", "pass", 0, [], "select 1", 0.5, "ok"),
        ]
    )
    got = engine.read_relation("teal", "check_results").to_pylist()
    assert [(r["check_name"], r["status"], r["failing_rows"]) for r in got] == [
        (check.name, "warn", 1),
        (check.name, "pass", 0),
    ]


# -- runs --------------------------------------------------------------------------------


def test_run_records_feed_the_plan_state(engine, target):
    engine.cursor().build_table(target(), ROWS)
    engine.record_run(
        run_id="r1",
        command="build",
        started_at=NOW,
        finished_at=NOW,
        status="error",
        selected=2,
        succeeded=1,
        failed=0,
        skipped=["later"],
    )
    state = engine.plan_state()
    assert state.last_results == {"orders": "success", "later": "skipped"}
    cur = engine.cursor()
    cur.record_step(target("events", "incremental"), NOW, 5)
    assert engine.plan_state().models["events"].sql_hash == "h1"


# -- Arrow in and out --------------------------------------------------------------------


def inputs():
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    table = pa.table({"id": [1, 2], "status": ["a", "b"]})
    return {
        "arrow": table,
        "arrow_reader": table.to_reader(),
        "polars": pl.DataFrame(table),
        "polars_lazy": pl.DataFrame(table).lazy(),
        "pandas": pd.DataFrame({"id": [1, 2], "status": ["a", "b"]}),
        "batch": table.to_batches()[0],
    }


@pytest.mark.parametrize("kind", sorted(inputs()))
def test_python_outputs_are_written(engine, target, kind):
    built = engine.cursor().write_table(target(), scannable(inputs()[kind]))
    assert built.rows == 2
    assert rows(engine) == [{"id": 1, "status": "a"}, {"id": 2, "status": "b"}]


def test_a_native_relation_is_written(engine, target):
    cur = engine.cursor()
    cur.build_table(target("src"), ROWS)
    relation = cur.load_relation("marts", "src", cur_kind(engine))
    cur.write_table(target(), scannable(relation))
    assert len(rows(engine)) == 3


def cur_kind(engine) -> str:
    return {"duckdb": "duckdb", "spark": "spark"}[engine.DIALECT]


@pytest.mark.parametrize(
    "kind", ["arrow", "arrow_reader", "polars", "polars_lazy", "pandas", "native"]
)
def test_inputs_load_as_each_kind(engine, target, kind):
    cur = engine.cursor()
    cur.build_table(target(), ROWS)
    loaded = cur.load_relation("marts", "orders", cur_kind(engine) if kind == "native" else kind)
    table = scannable(loaded)
    if type(table).__module__.startswith("pyspark"):  # Spark's own frame stays in Spark
        assert table.count() == 3 and table.columns[:2] == ["id", "status"]
        return
    if hasattr(table, "read_all"):
        table = table.read_all()
    if not hasattr(table, "num_rows"):
        import pyarrow as pa

        table = pa.Table.from_pandas(table)
    assert table.num_rows == 3
    assert table.column_names[:2] == ["id", "status"]
    via_sql = cur.load(f"SELECT * FROM {cur.relation_sql('marts', 'orders')}", "arrow")
    assert via_sql.num_rows == 3


def test_engine_level_arrow_in_and_out(engine):
    import pyarrow as pa

    engine.ensure_schemas({"inputs"})
    engine.write_table("inputs", "people", pa.table({"name": ["x", "y"]}))
    assert engine.read_relation("inputs", "people").column("name").to_pylist() == ["x", "y"]


# -- errors ------------------------------------------------------------------------------


def test_a_binder_error_names_the_column_and_its_line(engine, target):
    cur = engine.cursor()
    cur.build_table(target("src"), ROWS)
    raw = "select\n    id,\n    amount\nfrom src"
    with pytest.raises(Exception) as info:
        cur.build_table(target(), "SELECT id, amount FROM marts.src")
    message, line, col = cur.describe_error(info.value, raw)
    assert "amount" in message and "LINE" not in message
    assert (line, col) == (3, 5)
    assert "orders" not in engine.plan_state().models


def test_a_missing_column_is_named_with_the_engines_suggestions(engine, target):
    cur = engine.cursor()
    cur.build_table(target("src"), ROWS)
    for sql in ("SELECT statu FROM marts.src", "SELECT s.statu FROM marts.src s"):
        with pytest.raises(Exception) as info:
            cur.load(sql, "arrow")
        name, suggested = cur.missing_column(info.value)
        assert name == "statu"
        assert "status" in suggested
    with pytest.raises(Exception) as other:
        cur.load("SELECT * FROM marts.no_such_table", "arrow")
    assert cur.missing_column(other.value) is None


def test_an_error_a_row_raises_is_told_from_an_error_of_the_text(engine, target):
    cur = engine.cursor()
    cur.build_table(target("src"), ROWS)
    with pytest.raises(Exception) as by_rows:  # a cast no row survives
        cur.build_table(target(), "SELECT id, CAST('x' || id AS INTEGER) AS x FROM marts.src")
    with pytest.raises(Exception) as by_text:
        cur.build_table(target(), "SELECT id, no_such_column FROM marts.src")
    assert cur.raised_by_rows(by_rows.value)
    assert not cur.raised_by_rows(by_text.value)


def test_evaluating_a_view_alone_raises_what_its_rows_raise(engine, target):
    """The probe runtime/view_errors.py asks of the views a failed table reads: every
    column is evaluated (a column no query of the view's names still raises)."""
    cur = engine.cursor()
    cur.build_table(target("src"), ROWS)
    cur.create_view(
        target("bad", "view"), "SELECT id, CAST('x' || id AS INTEGER) AS x FROM marts.src"
    )
    cur.create_view(target("good", "view"), "SELECT id, status FROM marts.src")
    raised = cur.evaluation_error("marts", "bad")
    assert raised is not None and cur.raised_by_rows(raised)
    assert cur.evaluation_error("marts", "good") is None
    missing = cur.evaluation_error("marts", "no_such_view")
    assert missing is not None and not cur.raised_by_rows(missing)


@pytest.mark.slow
def test_a_second_process_is_told_the_file_is_locked(engine, target, tmp_path):
    engine.cursor().build_table(target(), ROWS)
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from tests.engine.conftest import IMPLEMENTATIONS
        from teal.compiler.errors import WarehouseError
        try:
            IMPLEMENTATIONS[{_name(engine)!r}](Path({str(tmp_path)!r}))
        except WarehouseError as exc:
            print("WarehouseError:", exc)
        """
    )
    from tests.conftest import REPO

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert "WarehouseError:" in done.stdout, done.stdout + done.stderr
    assert "in use by another process" in done.stdout


def _name(engine) -> str:
    return engine.DIALECT


def test_unknown_engine_is_a_warehouse_error(tmp_path):
    from types import SimpleNamespace

    from teal.warehouse.engine import open_engine

    config = SimpleNamespace(engine="oracle", warehouse_path=tmp_path / "w")
    with pytest.raises(WarehouseError, match="unknown engine 'oracle'"):
        open_engine(config)
