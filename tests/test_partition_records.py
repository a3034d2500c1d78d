"""The planner's compact partition state (compiler/partition_records.py): rows read back
as the dicts they were, a pickle that keeps every value, and models unpickled only when
asked for."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from teal.compiler.partition_records import (
    FIELDS,
    PartitionRecords,
    PartitionState,
    partition_state,
)
from teal.compiler.plan import PlanState

ROWS = {
    "2026-01-01": {
        "status": "success",
        "rows": 24,
        "sql_hash": "abc",
        "finished_at": datetime(2026, 1, 2, 3, 4, 5, 678901),
        "duration_ms": 1.5,
        "message": None,
        "run_id": "r1",
        "data_version": "v1",
    },
    "2026-01-02": {"status": "error", "message": "boom", "run_id": "r1"},
}


def test_rows_read_back_as_dicts_with_every_field():
    records = PartitionRecords.from_dicts(ROWS)
    assert records["2026-01-01"] == ROWS["2026-01-01"]
    assert records.get("2026-01-02") == {f: ROWS["2026-01-02"].get(f) for f in FIELDS}
    assert records.get("2026-01-03") is None and "2026-01-03" not in records
    assert list(records) == ["2026-01-01", "2026-01-02"] and len(records) == 2
    assert list(records.columns("status", "data_version")) == [
        ("2026-01-01", "success", "v1"),
        ("2026-01-02", "error", None),
    ]


def test_a_pickled_state_keeps_every_value_and_unpickles_a_model_when_asked():
    aware = datetime(2026, 1, 1, tzinfo=UTC)  # not DuckDB's, but kept as it is
    state = partition_state(
        {"events": ROWS, "other": {"eu": {"status": "success", "finished_at": aware}}}
    )
    back = pickle.loads(pickle.dumps(state))
    assert isinstance(back, PartitionState) and back._loaded == {}  # nothing unpickled yet
    assert back["events"]["2026-01-01"]["finished_at"] == ROWS["2026-01-01"]["finished_at"]
    assert set(back._loaded) == {"events"}
    assert back == state
    assert back["other"]["eu"]["finished_at"] == aware
    assert back.get("missing") is None and "missing" not in back
    assert list(back) == ["events", "other"] and len(back) == 2


def test_plan_state_takes_plain_dicts():
    state = PlanState(partitions={"events": ROWS})
    assert isinstance(state.partitions, PartitionState)
    assert state.partitions["events"]["2026-01-02"]["message"] == "boom"
    assert pickle.loads(pickle.dumps(state)) == state


def test_the_kept_file_reads_a_model_s_rows_when_asked_even_after_it_is_replaced(tmp_path):
    from teal.compiler.replaced_files import replacing
    from teal.runtime.kept_state import dump_kept, load_kept

    state = PlanState(partitions={"events": ROWS, "other": {"eu": {"status": "error"}}})
    kept = tmp_path / "state.pickle"
    with replacing(kept) as fh:
        dump_kept({"state": state}, fh)
    back = load_kept(kept)["state"]
    with replacing(kept) as fh:  # a later read writes the file again
        dump_kept({"state": PlanState()}, fh)
    assert back.partitions["events"]["2026-01-01"] == ROWS["2026-01-01"]
    assert back == state
    assert load_kept(kept)["state"] == PlanState()
    kept.write_bytes(pickle.dumps({"state": state}))  # a file of another form: refused
    with pytest.raises(ValueError):
        load_kept(kept)
