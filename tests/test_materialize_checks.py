"""teal.materialize([asset, asset_check]) runs the asset and its check, in process, and
returns the check's outcome."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

import teal


@teal.asset
def orders() -> pl.DataFrame:
    return pl.DataFrame({"id": [1, 2, 2]})


@teal.asset_check(asset=orders)
def ids_unique(orders: pl.DataFrame) -> teal.CheckResult:
    return teal.CheckResult(
        passed=bool(orders["id"].is_unique().all()), metadata={"n": orders.height}
    )


@teal.asset_check(asset=orders, severity="warn")
def has_rows(orders: pl.DataFrame) -> bool:
    return orders.height > 0


def test_materialize_runs_the_checks_given_with_the_assets():
    result = teal.materialize([orders, has_rows])
    assert result.success and result.output_for(orders).num_rows == 3
    assert result.check_result(has_rows).status == "pass"
    assert [o.check for o in result.check_results] == ["has_rows"]


def test_a_failing_error_check_fails_the_materialization():
    with pytest.raises(teal.ExecutionError) as caught:
        teal.materialize([orders, ids_unique])
    assert "check ids_unique failed" in caught.value.message
    result = teal.materialize([orders, ids_unique, has_rows], raise_on_error=False)
    assert not result.success
    assert result.check_result("ids_unique").status == "fail"
    assert result.check_result(has_rows).status == "pass"
    with pytest.raises(KeyError):
        result.check_result("nope")


@teal.asset(
    partitioned_by={"daily": {"start": "2026-01-01", "end": "2026-02-01"}}, partition_column="day"
)
def daily_counts(context: teal.AssetContext) -> pl.DataFrame:
    start, end = context.partition_window
    return pl.DataFrame(
        {
            "day": [start],
            "hours": [int((end - start).total_seconds() // 3600)],
            "scale": [context.vars["scale"]],
        }
    )


def test_build_context_calls_an_asset_function_directly():
    context = teal.build_context(daily_counts, partition_key="2026-01-05", vars={"scale": 3})
    assert context.partition_key == "2026-01-05" and context.partition_keys == ("2026-01-05",)
    frame = daily_counts(context)
    assert frame.to_dicts() == [{"day": datetime(2026, 1, 5), "hours": 24, "scale": 3}]
    with pytest.raises(teal.SelectionError) as caught:
        teal.build_context(daily_counts, partition_key="2026-02-30")
    assert caught.value.path == "partition_key"
    plain = teal.build_context(vars={"a": 1})
    assert plain.partition_key is None and plain.vars == {"a": 1}
