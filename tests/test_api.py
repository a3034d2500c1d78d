"""The Python API: ``teal.build`` on a project folder and ``teal.materialize`` in memory."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import teal
from tests.conftest import query

# -- teal.build ------------------------------------------------------------------------


def test_build_returns_per_model_results(project):
    root = project(
        {
            "models/raw/numbers.py": """
            import pyarrow as pa
            import teal

            @teal.asset
            def numbers():
                return pa.table({"n": list(range(1, 8))})
        """,
            "models/staging/stg_numbers.sql": "select n from numbers",
            "models/marts/odds.sql": "{{ config(materialized='table') }}\n"
            "select n from stg_numbers where n % 2 = 1",
            "models/marts/unrelated.sql": "select 1 as one",
        }
    )
    result = teal.build(root, select="+odds", threads=1)
    assert isinstance(result, teal.BuildResult)
    assert result.success
    assert [r.model for r in result] == ["numbers", "stg_numbers", "odds"]
    assert len(result) == 3
    assert result["odds"].rows == 4
    assert result["odds"].status == "success"
    assert result["odds"].materialization == "table"
    assert result["odds"].relation == "marts.odds"
    assert result["numbers"].rows == 7
    assert result["numbers"].materialization == "python"
    assert result["stg_numbers"].status == "success"
    assert result["stg_numbers"].materialization == "view"
    assert result["stg_numbers"].rows is None  # views are not counted
    for r in result:
        assert isinstance(r, teal.ModelResult)
        assert r.duration_s >= 0
    assert result.duration_s >= 0
    with pytest.raises(KeyError, match="unrelated: not in this build"):
        result["unrelated"]
    assert result.get("unrelated") is None and result.get("odds") is result["odds"]
    # built again with nothing changed: a model with no step says why, as not_run does
    again = teal.build(root, select="+odds", threads=1, changed_only=True)
    assert again.get("odds") is None
    assert again.not_run["odds"] == "unchanged since last build: skipped"
    with pytest.raises(KeyError, match=r"odds: not run \(unchanged since last build"):
        again["odds"]
    db = root / "warehouse.duckdb"
    assert query(db, "select count(*) from marts.odds") == [(4,)]
    assert query(
        db, "select count(*) from information_schema.tables where table_name = 'unrelated'"
    ) == [(0,)]
    as_dict = result.to_dict()
    assert as_dict["counts"] == {
        "success": 3,
        "error": 0,
        "skipped": 0,
        "failed_after_publishing": 0,
    }
    assert as_dict["run_id"] == result.run_id
    assert query(db, "select run_id, status from teal.runs") == [(result.run_id, "success")]


def test_build_reports_failures_without_raising(project):
    root = project(
        {
            "models/raw/boom.py": """
            import teal

            @teal.asset
            def boom():
                raise RuntimeError("kaboom")
        """,
            "models/marts/after.sql": "select * from boom",
            "models/marts/fine.sql": "select 42 as answer",
        }
    )
    result = teal.build(root, vars={"unused": 1})
    assert not result.success
    assert result["boom"].status == "error"
    assert "kaboom" in result["boom"].message
    assert result["boom"].path == "models/raw/boom.py"
    assert result["boom"].line is not None
    assert result["after"].status == "skipped"
    assert result["fine"].status == "success"
    assert [r.model for r in result.failed] == ["boom"]
    assert [r.model for r in result.skipped] == ["after"]


# -- teal.materialize ------------------------------------------------------------------


@teal.asset
def raw_orders() -> pa.Table:
    return pa.table({"order_id": [1, 2, 3, 4], "amount": [10.0, 20.0, 5.0, 40.0]})


@teal.asset
def big_orders(raw_orders: pl.DataFrame) -> pl.DataFrame:
    return raw_orders.filter(pl.col("amount") >= 10)


@teal.asset
def order_total(big_orders: pd.DataFrame, context: teal.AssetContext) -> pd.DataFrame:
    factor = context.vars.get("factor", 1)
    return pd.DataFrame(
        {"total": [float(big_orders["amount"].sum()) * factor], "asset": [context.asset_name]}
    )


@teal.asset
def enriched(customers: pl.DataFrame, raw_orders: pl.DataFrame) -> pl.DataFrame:
    """Reads a Python asset and an input given to materialize()."""
    return raw_orders.with_columns(customer=pl.lit(customers["name"][0]))


@teal.asset
def fails(raw_orders: pa.Table) -> pa.Table:
    raise ValueError("bad data in raw_orders")


@teal.asset
def after_fails(fails: pa.Table) -> pa.Table:
    return fails


def test_materialize_runs_assets_in_dependency_order():
    # given out of order on purpose: the DAG, not the list, decides the order
    result = teal.materialize([order_total, big_orders, raw_orders], vars={"factor": 2})
    assert result.success
    assert [r.model for r in result.result] == ["raw_orders", "big_orders", "order_total"]
    total = result.output_for("order_total")
    assert isinstance(total, pa.Table)
    assert total.to_pylist() == [{"total": 140.0, "asset": "order_total"}]
    big = result.output_for(big_orders)
    assert isinstance(big, pa.Table)
    assert big.num_rows == 3
    assert sorted(big.column("order_id").to_pylist()) == [1, 2, 4]
    assert result["big_orders"].rows == 3
    assert result.output_for("raw_orders").num_rows == 4


def test_materialize_with_inputs():
    customers = pl.DataFrame({"customer_id": [7], "name": ["Ada"]})
    result = teal.materialize([enriched, raw_orders], inputs={"customers": customers})
    out = result.output_for("enriched")
    assert isinstance(out, pa.Table)
    assert out.num_rows == 4
    assert set(out.column("customer").to_pylist()) == {"Ada"}
    # an upstream asset can also come in as data instead of being run
    result = teal.materialize(
        [big_orders], inputs={"raw_orders": pa.table({"order_id": [9, 10], "amount": [1.0, 99.0]})}
    )
    assert result.output_for("big_orders").to_pylist() == [{"order_id": 10, "amount": 99.0}]
    assert [r.model for r in result.result] == ["big_orders"]


def test_materialize_warns_of_inputs_no_asset_reads():
    customers = pl.DataFrame({"customer_id": [7], "name": ["Ada"]})
    with pytest.warns(UserWarning, match="no asset given reads the inputs custmers, extra"):
        result = teal.materialize(
            [enriched, raw_orders],
            inputs={"customers": customers, "custmers": customers, "extra": customers},
        )
    assert result.output_for("enriched").num_rows == 4


def test_materialize_raise_on_error():
    with pytest.raises(teal.ExecutionError) as info:
        teal.materialize([raw_orders, fails, after_fails])
    assert "fails" in str(info.value)
    assert "bad data in raw_orders" in str(info.value)
    result = teal.materialize([raw_orders, fails, after_fails], raise_on_error=False)
    assert not result.success
    assert result["raw_orders"].status == "success"
    assert result["fails"].status == "error"
    assert "bad data in raw_orders" in result["fails"].message
    assert result["after_fails"].status == "skipped"
    assert result.output_for("raw_orders").num_rows == 4
    with pytest.raises(KeyError):
        result.output_for("fails")


def test_results_repr_in_a_line_per_model():
    from teal.runtime.results import BuildResult, ModelResult

    built = ModelResult("odds", "success", "marts.odds", "table", rows=4, duration_s=0.01234)
    failed = ModelResult(
        "boom", "error", "marts.boom", "table", message="Binder Error: no x\nmore", path="b.sql"
    )
    result = BuildResult("r1", (built, failed), 1.5, "w.duckdb", not_run={"other": "up to date"})
    assert repr(result).splitlines() == [
        "BuildResult(run_id='r1', success=False, built=1, failed=1, skipped=0, duration_s=1.5, "
        "not_run=1)",
        "  odds success table         0.01s  4 rows",
        "  boom error   table         0.00s  b.sql: Binder Error: no x",
    ]
    assert repr(built) == (
        "ModelResult(model='odds', status='success', relation='marts.odds', "
        "materialization='table', rows=4, duration_s=0.012)"
    )
