"""Columns written ``schema.table.column`` keep binding when teal points the table they
name at something else: a file source's reader (``read_csv(...) AS orders``) or a
relation in another schema. They are written ``table.column`` in the compiled SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import query, run_teal, write_project

SOURCES = """
    sources:
      - name: raw
        type: csv
        path: ../data/{table}.csv
        tables: [orders]
"""


@pytest.mark.slow
def test_a_file_source_qualified_by_schema_and_table_builds(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "p",
        {
            "models/sources.yml": SOURCES,
            "models/big_orders.sql": """
                select raw.orders.id, raw.orders.amount, orders.amount * 2 as doubled
                from raw.orders
                where raw.orders.amount > 5
                order by raw.orders.id
            """,
            "models/after.sql": "select big_orders.id from main.big_orders",
        },
        config='name = "q"\n[defaults]\nmaterialized = "table"\n',
    )
    (root / "data").mkdir()
    (root / "data" / "orders.csv").write_text("id,amount\n1,5\n2,7\n3,9\n")
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    db = root / "warehouse.duckdb"
    assert query(db, "select id, amount, doubled from main.big_orders order by id") == [
        (2, 7, 14),
        (3, 9, 18),
    ]
    assert query(db, "select id from main.after order by id") == [(2,), (3,)]
    assert run_teal("compile", cwd=root).returncode == 0
    compiled = (root / "target" / "compiled" / "models" / "big_orders.sql").read_text()
    assert "raw.orders." not in compiled and "orders.id" in compiled, compiled
