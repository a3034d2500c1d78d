"""A Python asset's declared output schema, ``@teal.asset(columns={...})`` (issue 20):
its SQL readers are bound against it before anything runs, and what it returns must
match it."""

from __future__ import annotations

import pytest

from teal.compiler.assets import declared_schema
from teal.compiler.column_lineage import column_graph
from teal.compiler.project import load_project

from .conftest import query, run_teal

ASSET = """
import pyarrow as pa
import teal


@teal.asset(columns={"id": "bigint", "amount": "decimal(10, 2)", "note": "varchar"})
def payments():
    from decimal import Decimal

    return pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "amount": pa.array([Decimal("1.50"), Decimal("2.25")], pa.decimal128(10, 2)),
        "note": ["a", "b"],{extra}
    })
"""
READER = "select id,\n       amount * 2 as doubled\nfrom payments\n"


def files(reader: str = READER, extra: str = "") -> dict[str, str]:
    return {"models/payments.py": ASSET.replace("{extra}", extra), "models/reader.sql": reader}


def test_declared_columns_are_the_assets_columns_in_lineage(project):
    root = project(files())
    graph = column_graph(load_project(root))
    assert graph.columns_of("payments") == ("id", "amount", "note")
    assert graph.models["payments"].opaque  # what they are made of is still not known
    assert graph.errors() == []


@pytest.mark.slow
def test_a_reader_of_an_undeclared_column_is_a_compile_error(project):
    root = project(files(reader="select id,\n       amont * 2 as doubled\nfrom payments\n"))
    for command in ("compile", "build"):
        done = run_teal(command, cwd=root)
        assert done.returncode == 2, done.output
        assert "models/reader.sql:2:8: column 'amont' does not exist in payments" in done.stderr
        assert "did you mean 'amount'?" in done.stderr
    assert not (root / "warehouse.duckdb").exists()


@pytest.mark.slow
def test_what_the_asset_returns_is_checked_against_its_declared_columns(project):
    root = project(files())
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert query(root / "warehouse.duckdb", "select count(*) from main.reader") == [(2,)]

    (root / "models" / "payments.py").write_text(
        ASSET.replace("{extra}", '\n        "surprise": [1, 2],'), encoding="utf-8"
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert "has undeclared column 'surprise'" in done.output

    typed = ASSET.replace("{extra}", "").replace('"note": "varchar"', '"note": "integer"')
    (root / "models" / "payments.py").write_text(typed, encoding="utf-8")
    done = run_teal("build", cwd=root)
    assert done.returncode == 1, done.output
    assert "'note' is VARCHAR, declared INTEGER" in done.output


def test_declared_schema_shapes():
    assert declared_schema({"id": "int8"}) == {"id": "INT8"}
    assert declared_schema(("a", "b")) == {"a": None, "b": None}
    with pytest.raises(TypeError):
        declared_schema("id")


@pytest.mark.slow
def test_a_pandas_input_keeps_money_exact(project):
    """A DECIMAL column read as a pandas DataFrame holds Decimals (DuckDB's df() gives
    float64), so an asset that passes it on writes DECIMAL, not DOUBLE."""
    root = project(
        {
            "models/orders.sql": "select 1 as id, 10.10::decimal(10, 2) as amount, "
            "null::bigint as parent, date '2024-01-02' as day",
            "models/pd_money.py": """
            import pandas as pd

            import teal

            @teal.asset
            def pd_money(orders: pd.DataFrame) -> pd.DataFrame:
                # as DuckDB's df() gives them: a nullable integer, a datetime64 date
                assert str(orders["parent"].dtype) == "Int64", orders.dtypes
                assert str(orders["day"].dt.day[0]) == "2", orders.dtypes
                return orders[["id", "amount"]]
            """,
        }
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    # a DECIMAL (pandas keeps no precision: Arrow takes the values' own, here (4,2))
    assert query(root / "warehouse.duckdb", "describe pd_money")[1][1].startswith("DECIMAL(")
    assert query(root / "warehouse.duckdb", "select amount::varchar from pd_money") == [("10.10",)]
