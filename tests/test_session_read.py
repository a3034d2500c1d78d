"""A notebook reads a model's rows back through its session (``Session.read``), and a
connection of its own to the warehouse file is named when it stands in a build's way."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

import teal
from teal.runtime.session import Session

FILES = {
    "models/numbers.sql": "{{ config(materialized='table') }}\nselect range as n from range(5)",
    "models/odds.sql": "select n from numbers where n % 2 = 1",
    "models/inlined.sql": "{{ config(materialized='ephemeral') }}\nselect 1 as one",
}


@pytest.mark.slow
def test_read_gives_a_model_s_rows_as_arrow_and_holds_nothing_open(project):
    root = project(FILES)
    with Session.open(root) as session:
        with pytest.raises(teal.WarehouseError, match="the warehouse has not been built yet"):
            session.read("numbers")
        session.build("numbers odds")
        table = session.read("odds")
        assert table.column_names == ["n"] and sorted(table["n"].to_pylist()) == [1, 3]
        assert pl.from_arrow(session.read("numbers")).height == 5
        assert session.read("numbers", limit=2).num_rows == 2
        with pytest.raises(teal.LineageError, match="no model named 'odd'"):
            session.read("odd")
        with pytest.raises(teal.ProjectError, match="'inlined' is ephemeral"):
            session.read("inlined")
        assert session.build("numbers").success  # the read's connection was closed


@pytest.mark.slow
def test_a_read_only_connection_of_the_process_is_named_when_a_build_cannot_open(project):
    root = project(FILES)
    with Session.open(root) as session:
        session.build("numbers")
        mine = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
        try:
            with pytest.raises(teal.WarehouseError, match="this process has it open already") as e:
                session.build("numbers")
            assert "con.close()" in (e.value.hint or "")
        finally:
            mine.close()
        assert session.build("numbers").success
