"""What a Python asset returns with ``teal.Output(data, metadata=...)`` is recorded in its
JSON form: NumPy scalars (what a pandas ``.sum()`` gives), dates and times, decimals and
paths are converted, and a value with no JSON form is left out with a warning located at
the asset's ``return`` line, while the data is written all the same (runtime/metadata.py)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import teal
from tests.conftest import run_teal

ORDERS = """
import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

import teal


@teal.asset
def orders() -> pd.DataFrame:
    frame = pd.DataFrame({"id": [1, 2, 3], "amount": [10, 20, 30]})
    return teal.Output(
        frame,
        metadata={
            "total": frame["amount"].sum(),
            "mean": frame["amount"].mean(),
            "any_big": frame["amount"].gt(25).any(),
            "at": dt.datetime(2026, 1, 2, 3, 4),
            "day": dt.date(2026, 1, 2),
            "cost": Decimal("1.50"),
            "file": Path("exports") / "orders.csv",
            "pages": [np.int64(1), 2],
            "by_region": {"eu": np.int64(2)},
            "frame": frame,
        },
    )
"""


@pytest.mark.slow
def test_numpy_dates_and_decimals_are_recorded_and_the_rest_warned_at_the_return(project):
    root = project({"models/orders.py": ORDERS}, config='name = "p"\n')
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert "3 rows written" in done.stdout
    warning = (
        "models/orders.py:14: Output metadata 'frame' (a pandas.DataFrame) is not recorded: "
        "it has no JSON form (the data is written)"
    )
    assert warning in done.stdout  # line 14: `return teal.Output(`, not the decorator
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    (orders,) = shown["materializations"]
    assert orders["metadata"] == {
        "total": 60,
        "mean": 20.0,
        "any_big": True,
        "at": "2026-01-02T03:04:00",
        "day": "2026-01-02",
        "cost": "1.50",
        "file": "exports/orders.csv",
        "pages": [1, 2],
        "by_region": {"eu": 2},
    }
    log = run_teal("logs", "last", cwd=root).stdout
    assert warning in log


def _counted() -> pa.Table:
    table = pa.table({"n": [1, 2, 3]})
    return teal.Output(table, metadata={"rows": np.int64(3), "ok": np.bool_(True)})  # type: ignore[return-value]


def _with_an_object() -> pa.Table:
    table = pa.table({"n": [1]})
    return teal.Output(table, metadata={"when": dt.time(9, 30), "raw": object()})  # type: ignore[return-value]


@pytest.mark.slow  # the first materialize() of a process imports pyarrow and pandas: about 1 s
def test_materialize_records_numpy_metadata_as_numbers():
    counted = teal.asset(name="counted")(_counted)
    out = teal.materialize([counted])
    assert out["counted"].metadata == {"rows": 3, "ok": True}
    assert out.output_for(counted).num_rows == 3


def test_a_value_without_json_form_is_left_out_with_a_located_warning(caplog):
    with_object = teal.asset(name="with_object")(_with_an_object)
    with caplog.at_level(logging.WARNING, logger="teal.asset"):
        out = teal.materialize([with_object])
    assert out.success and out.output_for(with_object).num_rows == 1
    assert out["with_object"].metadata == {"when": "09:30:00"}
    line = _with_an_object.__code__.co_firstlineno + 2  # its return line
    (record,) = [r for r in caplog.records if "Output metadata" in r.getMessage()]
    assert f"test_output_metadata.py:{line}: Output metadata 'raw' (a object) is not recorded" in (
        record.getMessage()
    )


def test_partitioned_assets_record_numpy_metadata_per_partition():
    def daily(context: teal.AssetContext) -> pa.Table:
        table = pa.table({"day": [context.partition_window.start.date()]})
        return teal.Output(table, metadata={"n": np.int64(table.num_rows)})  # type: ignore[return-value]

    asset = teal.asset(partitioned_by={"daily": "2026-01-01"}, partition_column="day")(daily)
    out = teal.materialize([asset], partition_key="2026-01-02")
    assert out.success and out["daily"].partitions == 1


def _shares(doubled: pa.Table) -> teal.CheckResult:
    share = np.float64(0.25)
    return teal.CheckResult(passed=bool(share < 0.5), metadata={"share": share, "n": np.int64(4)})


def test_a_checks_numpy_metadata_reads_as_numbers_in_its_message():
    doubled = teal.asset(name="doubled")(lambda: pa.table({"n": [1]}))
    check = teal.asset_check(asset="doubled")(_shares)
    out = teal.materialize([doubled, check])
    assert out.check_result(check).message == "{'share': 0.25, 'n': 4}"


def test_json_metadata_converts_what_has_an_obvious_json_form():
    from teal.runtime.metadata import json_metadata

    kept, dropped = json_metadata(
        {
            "a": np.int64(3),
            "b": np.float32(1.5),
            "c": np.array([1, 2]),
            "d": np.datetime64("2026-01-01"),
            "e": Decimal("2.10"),
            "f": Path("x"),
            "g": {np.int64(1): (dt.date(2026, 1, 1),)},
            "h": {1, 2},
        }
    )
    assert kept == {
        "a": 3,
        "b": 1.5,
        "c": [1, 2],
        "d": "2026-01-01",
        "e": "2.10",
        "f": "x",
        "g": {"1": ["2026-01-01"]},
    }
    assert dropped == {"h": "set"}
    assert type(kept["a"]) is int and type(kept["b"]) is float
