"""Partitioned models on Spark are tables partitioned by their partition key: a refresh
overwrites only the partitions it writes (dynamic partition overwrite), leaving every other
partition's files as they were, and the model's relation shows the model's columns only
(teal.warehouse.spark.layout, docs/spark.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from teal.warehouse.engine import BuildTarget, PartitionWrite

pytestmark = [pytest.mark.spark, pytest.mark.slow]

KEY_DIR = "__teal_partition="


@pytest.fixture
def engine(tmp_path: Path, spark_session: Any) -> Iterator[Any]:
    from teal.compiler.spark_settings import SparkSettings
    from teal.warehouse.spark import SparkEngine
    from tests.spark_support import drop_databases

    drop_databases(spark_session)  # a database another test left would keep its location
    opened = SparkEngine(SparkSettings(warehouse_dir=tmp_path / "wh", master="local[2]"))
    opened.ensure_schemas({"marts"})
    try:
        yield opened
    finally:
        opened.close()
        drop_databases(spark_session)


def target(name: str = "events") -> BuildTarget:
    return BuildTarget(
        model=name,
        schema="marts",
        name=name,
        materialization="incremental",
        sql_hash="h1",
        run_id="r1",
    )


def day(d: int, tag: str = "x") -> str:
    return f"SELECT * FROM (VALUES ({d}, '{tag}{d}'), ({d}, 'y{d}')) AS t(day, v)"


def files(engine: Any) -> dict[str, dict[str, tuple[int, int]]]:
    """Partition key -> its data files (name -> (inode, mtime in ns))."""
    (data,) = (engine.settings.warehouse_dir / "marts.db").glob("events__teal_p*")
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for folder in data.glob(KEY_DIR + "*"):
        out[folder.name[len(KEY_DIR) :]] = {
            f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in folder.glob("*.parquet")
        }
    return out


def rows(engine: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(r.values()) for r in engine.read_relation("marts", "events").to_pylist())


def test_a_partition_refresh_leaves_the_other_partitions_files_untouched(engine: Any) -> None:
    cur = engine.cursor()
    for d in (1, 2, 3):
        cur.replace_partition(target(), str(d), day(d), f"day = {d}")
    before = files(engine)
    assert sorted(before) == ["1", "2", "3"] and all(before.values())

    cur.replace_partition(target(), "2", "SELECT 2 AS day, 'new' AS v", "day = 2")
    after = files(engine)
    assert after["1"] == before["1"] and after["3"] == before["3"]
    assert after["2"] and set(after["2"]).isdisjoint(before["2"])  # its files replaced
    assert rows(engine) == [(1, "x1"), (1, "y1"), (2, "new"), (3, "x3"), (3, "y3")]

    # a group: one INSERT OVERWRITE for its partitions; one of them now has no rows
    writes = [
        PartitionWrite("2", day(2, "g"), "day = 2", None),
        PartitionWrite("3", "SELECT 3 AS day, 'gone' AS v WHERE false", "day = 3", None),
    ]
    assert cur.replace_partition_group(target(), writes) == [2, 0]
    again = files(engine)
    assert again["1"] == before["1"] and "3" not in again
    assert rows(engine) == [(1, "x1"), (1, "y1"), (2, "g2"), (2, "y2")]
    parts = engine.partition_state("events")["events"]
    assert {k: p["rows"] for k, p in parts.items()} == {"1": 2, "2": 2, "3": 0}


def test_the_relation_shows_the_models_columns_and_is_its_table(engine: Any) -> None:
    cur = engine.cursor()
    cur.replace_partition(target(), "1", "SELECT 'a' AS v, 1 AS day", "day = 1")
    assert engine.read_relation("marts", "events").column_names == ["v", "day"]
    assert cur.relation_kind(target()) == "table"
    catalog = engine.catalog()
    assert catalog.kind("marts", "events") == "table"
    assert {r for r in engine.plan_state().relations if r.startswith("marts.")} == {
        "marts.events"
    }  # the data table is not listed
    assert engine.output_schemas([("marts", "events")])[("marts", "events")] == [
        ("v", "STRING"),
        ("day", "INT"),
    ]


def test_a_full_refresh_swaps_in_a_new_partitioned_table(engine: Any) -> None:
    cur = engine.cursor()
    cur.replace_partition(target(), "1", day(1), "day = 1")
    (old,) = (engine.settings.warehouse_dir / "marts.db").glob("events__teal_p*")
    cur.rebuild_partitions(
        target(), [("1", "SELECT 1 AS day, 'r' AS v", "day = 1"), ("2", day(2), "day = 2")]
    )
    (new,) = (engine.settings.warehouse_dir / "marts.db").glob("events__teal_p*")
    assert new != old and sorted(files(engine)) == ["1", "2"]
    assert rows(engine) == [(1, "r"), (2, "x2"), (2, "y2")]
    # the model, built whole again as a plain table, leaves no data table behind
    cur.build_table(target(), "SELECT 7 AS day, 'p' AS v")
    assert not list((engine.settings.warehouse_dir / "marts.db").glob("events__teal_p*"))
    assert rows(engine) == [(7, "p")]


def test_a_rerun_after_a_write_without_its_state_row_converges(engine: Any) -> None:
    """A process killed after the overwrite and before the state row: the partition holds
    the new rows, its state is the old one; the next build writes it again, the same."""
    from teal.warehouse.spark import layout

    cur = engine.cursor()
    cur.replace_partition(target(), "1", day(1), "day = 1")
    data = layout.data_table(engine.sql, target(), "table")
    assert data is not None
    stage = "(SELECT 1 AS day, 'killed' AS v) AS s"  # what the killed run had written
    layout.overwrite(engine.sql, "marts", data, [(stage, "'1'")], "day, v")
    assert engine.partition_state("events")["events"]["1"]["rows"] == 2  # old state
    cur.replace_partition(target(), "1", "SELECT 1 AS day, 'killed' AS v", "day = 1")  # the rerun
    assert rows(engine) == [(1, "killed")]
    assert engine.partition_state("events")["events"]["1"]["rows"] == 1


def test_keys_of_two_dimensions_and_times_are_partitions_of_their_own(engine: Any) -> None:
    cur = engine.cursor()
    keys = ["2025-03|Southern Europe", "2025-03|Western Europe", "2025-01-05 10:00"]
    for i, key in enumerate(keys):
        cur.replace_partition(target(), key, f"SELECT {i} AS day, 'v{i}' AS v", f"day = {i}")
    before = files(engine)
    assert len(before) == 3
    cur.replace_partition(target(), keys[0], "SELECT 0 AS day, 'again' AS v", "day = 0")
    after = files(engine)
    assert [after[k] == before[k] for k in sorted(before)].count(True) == 2
    assert rows(engine) == [(0, "again"), (1, "v1"), (2, "v2")]
