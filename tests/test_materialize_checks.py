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


@teal.asset_check(asset="user_activity")
def active_users_exist(user_activity: pl.DataFrame) -> bool:
    return user_activity.height > 0


def test_a_check_without_its_asset_says_how_to_test_it():
    """The check of a SQL model, its table given as an input: it said "which is not a
    model", as if the check were misspelt; calling the check on the table is the way."""
    table = pl.DataFrame({"user_id": [1]})
    with pytest.raises(teal.SelectionError) as caught:
        teal.materialize([active_users_exist], inputs={"user_activity": table})
    error = caught.value
    assert error.message == (
        "check 'active_users_exist' is of asset 'user_activity', given only as input data: "
        "materialize runs checks on the assets it builds"
    )
    assert error.hint is not None and "active_users_exist(table)" in error.hint
    assert active_users_exist(table) is True  # as the hint says
