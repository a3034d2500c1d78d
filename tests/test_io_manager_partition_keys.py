"""What an I/O manager's load is asked for when an unpartitioned Python model (or its
Python check) reads a partitioned asset the manager keeps: every partition of the asset
up to the run's clock, as Dagster passes every upstream partition in that case, so a
manager that keeps a file per partition reads the partitions of the definition and
nothing else."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pytest

import teal

MANAGER = '''
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import teal


class DayFiles(teal.IOManager):
    """One Arrow file per partition; a load reads the files of the keys it is given."""

    root: str

    def save(self, context, data):
        Path(self.root).mkdir(parents=True, exist_ok=True)
        for key in context.partition_keys:
            feather.write_feather(data, Path(self.root) / f"{context.asset_name}@{key}.arrow")

    def load(self, context):
        with open(Path(self.root) / "loads.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps({"reader": context.reader, "keys": list(context.partition_keys)}) + "\\n")
        if not context.partition_keys:  # what a manager told nothing can do: read every file
            found = sorted(Path(self.root).glob(f"{context.asset_name}@*.arrow"))
            return pa.concat_tables([feather.read_table(p) for p in found])
        return pa.concat_tables(
            [feather.read_table(Path(self.root) / f"{context.asset_name}@{k}.arrow")
             for k in context.partition_keys]
        )
'''

ASSETS = """
import datetime

import pyarrow as pa
import teal


@teal.asset(io_manager="days", partitioned_by={"daily": "2026-01-01"}, partition_column="day")
def visits(context) -> pa.Table:
    day = datetime.date.fromisoformat(context.partition_key)
    return pa.table({"day": [day] * 2, "n": [1, 2]})


@teal.asset
def visit_days(visits: pa.Table) -> pa.Table:
    return pa.table({"day": sorted(set(visits.column("day").to_pylist()))})


@teal.asset_check(asset="visit_days")
def one_row_a_day(visit_days: pa.Table, visits: pa.Table) -> bool:
    return visit_days.num_rows * 2 == visits.num_rows
"""


@pytest.mark.slow
def test_an_unpartitioned_reader_asks_the_manager_for_every_partition(
    project, tmp_path, monkeypatch
):
    store = tmp_path / "store"
    root = project(
        {"io_managers.py": MANAGER, "models/assets.py": ASSETS},
        config=f'name = "io"\nthreads = 1\n[resources.days]\nclass = "io_managers.py:DayFiles"\n'
        f'root = "{store}"\n',
    )
    monkeypatch.setenv("TEAL_NOW", "2026-01-04T12:00:00")  # days 1 to 3 have closed
    # a partition the definition no longer has (its start moved on, say): a manager
    # given no keys would read its file too
    store.mkdir()
    old_day = pa.table({"day": [datetime.date(2025, 12, 31)] * 2, "n": [1, 2]})
    feather.write_feather(old_day, store / "visits@2025-12-31.arrow")
    result = teal.build(root)
    assert result.success, [(r.model, r.message) for r in result.failed]
    days = ["2026-01-01", "2026-01-02", "2026-01-03"]
    loads = [json.loads(line) for line in (store / "loads.jsonl").read_text().splitlines()]
    assert loads == [
        {"reader": "visit_days", "keys": days},  # the model
        {"reader": "visit_days", "keys": days},  # its check, after the model is built
    ]
    assert result.get("visit_days") is not None and result.get("visit_days").rows == 3  # type: ignore[union-attr]
    check = result.get("visit_days").checks[0]  # type: ignore[union-attr]
    assert check.status == "pass", check


def test_a_partitioned_reader_still_asks_for_the_partitions_its_partition_reads(
    project, tmp_path, monkeypatch
):
    store = tmp_path / "store"
    daily_reader = ASSETS.replace(
        "@teal.asset\ndef visit_days(visits: pa.Table)",
        '@teal.asset(partitioned_by={"daily": "2026-01-01"}, partition_column="day")\n'
        "def visit_days(visits: pa.Table)",
    ).split("@teal.asset_check")[0]
    root = project(
        {"io_managers.py": MANAGER, "models/assets.py": daily_reader},
        config=f'name = "io"\nthreads = 1\n[resources.days]\nclass = "io_managers.py:DayFiles"\n'
        f'root = "{store}"\n',
    )
    monkeypatch.setenv("TEAL_NOW", "2026-01-03T12:00:00")
    assert teal.build(root).success
    loads = [json.loads(line) for line in (Path(store) / "loads.jsonl").read_text().splitlines()]
    assert sorted(tuple(x["keys"]) for x in loads) == [("2026-01-01",), ("2026-01-02",)]
