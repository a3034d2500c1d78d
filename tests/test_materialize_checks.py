"""teal.materialize([asset, asset_check]) runs the asset and its check, in process, and
returns the check's outcome."""

from __future__ import annotations

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
