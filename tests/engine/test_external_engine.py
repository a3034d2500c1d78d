"""External materializations through the ``Engine`` / ``EngineCursor`` interface only: a
target with ``external`` set is written as files with a view over them, audited on the
staged files, and published with its state row; ``store`` hands the rows to an I/O
manager after the audit. Every engine that writes files passes these (``engine`` is
parametrized); the Spark engine refuses such targets so far, which the last test pins."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from teal.compiler.external import ExternalSpec
from teal.warehouse.engine import PartitionRowsError

ROWS = "SELECT * FROM (VALUES (1, 'a', 10), (2, 'b', 20), (3, 'a', 30)) AS t(id, grp, v)"
KEY_ROWS = "SELECT DATE '{day}' AS day, i AS n FROM range({n}) t(i)"
DAY = "\"day\" >= TIMESTAMP '{day} 00:00:00' AND \"day\" < TIMESTAMP '{day} 00:00:00' + INTERVAL 1 DAY"


@pytest.fixture(autouse=True)
def _writes_files(request):
    if "[spark" in request.node.name and "refuses" not in request.node.name:
        pytest.skip("the Spark engine does not write external files or I/O managers yet")


def spec(where: Path, **kw) -> ExternalSpec:
    return ExternalSpec(str(where), kw.pop("format", "parquet"), **kw)


def external(target, where: Path, name: str = "orders", **kw):
    import dataclasses

    return dataclasses.replace(target(name, "external"), external=spec(where, **kw))


def read(engine, name="orders"):
    return sorted(engine.read_relation("marts", name).to_pylist(), key=str)


def refuse(cur, relation_sql):
    raise RuntimeError("audit says no")


def test_a_table_of_files_is_written_audited_and_viewed(engine, target, tmp_path):
    where = tmp_path / "lake" / "orders.parquet"
    seen: list[int] = []

    def audit(cur, relation_sql):  # the staged file, not the location yet
        seen.append(cur.load(f"SELECT count(*) AS n FROM {relation_sql}", "arrow")["n"][0].as_py())
        assert not where.exists()

    built = engine.cursor().build_table(external(target, where, single_file=True), ROWS, audit)
    assert built.rows == 3 and seen == [3]
    assert pq.read_table(where).to_pylist() == read(engine)
    assert engine.cursor().relation_kind(target()) == "view"
    assert engine.plan_state().models["orders"].sql_hash == "h1"
    assert list((tmp_path / "lake").iterdir()) == [where]  # no temporaries left


def test_a_refused_audit_keeps_the_previous_files(engine, target, tmp_path):
    where = tmp_path / "lake" / "orders"
    cur = engine.cursor()
    cur.build_table(external(target, where, partition_by=("grp",)), ROWS)
    before = {p: p.read_bytes() for p in where.rglob("*.parquet")}
    with pytest.raises(RuntimeError, match="audit says no"):
        cur.build_table(external(target, where, partition_by=("grp",)), ROWS + " LIMIT 1", refuse)
    assert {p: p.read_bytes() for p in where.rglob("*.parquet")} == before
    assert len(read(engine)) == 3
    assert sorted(p.name for p in where.parent.iterdir()) == ["orders"]


def test_arrow_rows_and_partitions_each_get_a_folder(engine, target, tmp_path):
    where = tmp_path / "lake" / "events"
    t = external(target, where, name="events")
    cur = engine.cursor()
    for day, n in (("2025-01-01", 2), ("2025-01-02", 3)):
        data = cur.load(KEY_ROWS.format(day=day, n=n), "arrow")
        built = cur.replace_partition(t, day, data, DAY.format(day=day))
        assert built.rows == n
    assert sorted(p.name for p in where.iterdir()) == ["2025-01-01", "2025-01-02"]
    assert len(read(engine, "events")) == 5
    state = engine.partition_state("events")["events"]
    assert {k: v["rows"] for k, v in state.items()} == {"2025-01-01": 2, "2025-01-02": 3}
    # a partition's rows must belong to it: nothing changes otherwise
    stamp = (where / "2025-01-01").stat().st_ino
    with pytest.raises(PartitionRowsError, match="do not belong to partition 2025-01-01"):
        cur.replace_partition(
            t, "2025-01-01", KEY_ROWS.format(day="2025-01-02", n=1), DAY.format(day="2025-01-01")
        )
    assert (where / "2025-01-01").stat().st_ino == stamp
    # a full refresh replaces the whole location: a key no longer built is gone
    parts = [("2025-01-02", KEY_ROWS.format(day="2025-01-02", n=4), DAY.format(day="2025-01-02"))]
    assert cur.rebuild_partitions(t, parts).rows == 4
    assert sorted(p.name for p in where.iterdir()) == ["2025-01-02"]


def test_a_single_run_writes_each_windows_rows_in_its_folder(engine, target, tmp_path):
    where = tmp_path / "lake" / "events"
    t = external(target, where, name="events", format="csv")
    windows = [(f"2025-01-0{d}", datetime(2025, 1, d), datetime(2025, 1, d + 1)) for d in (1, 2, 3)]
    rows = "SELECT DATE '2025-01-01' + (i % 2)::int AS day, i AS n FROM range(10) t(i)"
    built = engine.cursor().replace_partitions_single_run(t, windows, rows, "day")
    assert built.rows == 10
    assert sorted(p.name for p in where.iterdir()) == ["2025-01-01", "2025-01-02"]  # 3rd: empty
    assert (where / "2025-01-01" / "data_0.csv").read_text().startswith("day,n\n")
    assert len(read(engine, "events")) == 10


class Kept:
    """An I/O manager bound to a step, as the runtime gives the engine one."""

    def __init__(self, sql: bool) -> None:
        self.saved: list[tuple[int, tuple[str, ...]]] = []
        self.path: Path | None = None
        self.sql = sql

    def save(self, data: pa.Table, keys: tuple[str, ...]) -> None:
        assert isinstance(data, pa.Table)
        self.saved.append((data.num_rows, keys))
        if self.path is not None:
            pq.write_table(data, self.path)

    def relation(self) -> str | None:
        return f"read_parquet('{self.path}')" if self.sql and self.path else None


def test_a_store_is_called_after_the_audit_and_its_relation_is_viewed(engine, target, tmp_path):
    import dataclasses

    store = Kept(sql=True)
    store.path = tmp_path / "kept.parquet"
    t = dataclasses.replace(target(), store=store)
    cur = engine.cursor()
    data = pa.table({"id": [1, 2, 3]})
    with pytest.raises(RuntimeError, match="audit says no"):
        cur.write_table(t, data, refuse)
    assert store.saved == []  # refused before the manager was called
    built = cur.write_table(t, data)
    assert built.rows == 3 and store.saved == [(3, ())]
    assert [r["id"] for r in read(engine)] == [1, 2, 3]
    cur.replace_partition(t, "k", pa.table({"id": [4]}), "")
    assert store.saved[-1] == (1, ("k",))
    assert engine.partition_state("orders")["orders"]["k"]["status"] == "success"


def test_a_store_saves_a_single_runs_partitions_at_once_and_records_each(engine, target):
    import dataclasses

    store = Kept(sql=False)
    t = dataclasses.replace(target("events"), store=store)
    windows = [(f"2025-01-0{d}", datetime(2025, 1, d), datetime(2025, 1, d + 1)) for d in (1, 2)]
    days = pa.table({"day": [datetime(2025, 1, 1), datetime(2025, 1, 1), datetime(2025, 1, 2)]})
    built = engine.cursor().replace_partitions_single_run(t, windows, days, "day")
    assert built.rows == 3 and store.saved == [(3, ("2025-01-01", "2025-01-02"))]
    state = engine.partition_state("events")["events"]
    assert {k: v["rows"] for k, v in state.items()} == {"2025-01-01": 2, "2025-01-02": 1}
    stray = pa.table({"day": [datetime(2025, 2, 1)]})
    with pytest.raises(PartitionRowsError, match="1 rows fall outside the 2 partitions"):
        engine.cursor().replace_partitions_single_run(t, windows, stray, "day")
    assert len(store.saved) == 1


def test_spark_refuses_external_targets_by_name(engine, target, tmp_path):
    if engine.DIALECT != "spark":
        pytest.skip("DuckDB writes external files (the tests above)")
    with pytest.raises(NotImplementedError, match="orders: materialized='external' is not"):
        engine.cursor().build_table(external(target, tmp_path / "out"), ROWS)
