"""Every materialization records rows, output schema and code version; a Python model's
teal.Output metadata and a SQL model's metadata expressions are stored with it and shown."""

from __future__ import annotations

import json

import pytest

from teal.runtime.session import Session
from tests.conftest import run_teal

pytestmark = pytest.mark.slow

ORDERS = """
import polars as pl

import teal


@teal.asset
def orders() -> pl.DataFrame:
    frame = pl.DataFrame({"id": [1, 2, 3], "amount": [10, 20, 30]})
    return teal.Output(frame, metadata={"source": "api", "pages": 2})
"""
SUMMARY = (
    "{{ config(materialized='table', metadata={'total': 'sum(amount)', 'latest': 'max(id)'}) }} "
    "select id, amount::decimal(10, 2) as amount from orders"
)


def test_materializations_record_schema_version_and_metadata(project):
    root = project({"models/orders.py": ORDERS, "models/summary.sql": SUMMARY})
    assert run_teal("build", cwd=root).returncode == 0
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    by_model = {m["model"]: m for m in shown["materializations"]}
    assert by_model["orders"]["metadata"] == {"source": "api", "pages": 2}
    assert by_model["summary"]["metadata"] == {"total": "60.00", "latest": 3}
    assert by_model["summary"]["schema"] == [["id", "BIGINT"], ["amount", "DECIMAL(10,2)"]]
    assert by_model["orders"]["rows"] == 3 and by_model["orders"]["code_version"]
    text = run_teal("runs", "show", "last", cwd=root).stdout
    assert "pages=2, source=api" in text and "latest=3, total=60.00" in text

    with Session.open(root) as session:  # the same from Python, newest first
        found = session.run_store().materializations(model="summary")
    assert [m["metadata"] for m in found] == [{"total": "60.00", "latest": 3}]


def test_a_bad_metadata_config_is_a_located_error(project):
    root = project({"models/a.sql": "{{ config(metadata={'total': 5}) }} select 1 as x"})
    done = run_teal("ls", cwd=root)
    assert done.returncode == 2 and "models/a.sql:1" in done.stderr
    assert "metadata 'total' must be a plain name mapped to a SQL expression" in done.stderr


DAILY = """
import pyarrow as pa

import teal


@teal.asset(
    partitioned_by={"daily": {"start": "2026-01-01", "end": "2026-01-04"}}, partition_column="day"
)
def pages(context: teal.AssetContext) -> pa.Table:
    day = context.partition_window[0].date()
    rows = day.day  # a different count each day
    table = pa.table({"day": [day] * rows, "n": list(range(rows))})
    return teal.Output(table, metadata={"fetched_pages": rows * 10, "day": str(day)})
"""


def test_a_partitioned_python_asset_records_its_metadata_per_partition(project):
    root = project({"models/pages.py": DAILY})
    assert run_teal("build", cwd=root).returncode == 0
    with Session.open(root) as session:
        found = session.run_store().materializations(model="pages")
    by_key = {m["partition"]: m["metadata"] for m in found}
    assert by_key == {
        "2026-01-01": {"fetched_pages": 10, "day": "2026-01-01"},
        "2026-01-02": {"fetched_pages": 20, "day": "2026-01-02"},
        "2026-01-03": {"fetched_pages": 30, "day": "2026-01-03"},
    }
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    assert sorted(m["metadata"]["fetched_pages"] for m in shown["materializations"]) == [10, 20, 30]
