"""Property tests of the column tracer (compiler/columns.py) over generated queries: for
any select list of copies, renames and expressions, read through any number of ``select
*`` CTE layers, each output column's edges are exactly the columns it was written with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teal.compiler.columns import trace_columns
from teal.compiler.sql import parse_sql

COLUMNS = ("id", "amount", "qty", "price", "status")

# one select item: (SQL, {column: kind}) before aliasing
column = st.sampled_from(COLUMNS)
copy = column.map(lambda c: (c, {c: "copy"}))
binary = st.tuples(column, st.sampled_from(["+", "*", "-"]), column).map(
    lambda t: (f"{t[0]} {t[1]} {t[2]}", {t[0]: "transform", t[2]: "transform"})
)
function = column.map(lambda c: (f"coalesce({c}, 0)", {c: "transform"}))
case = st.tuples(column, column).map(
    lambda t: (f"case when {t[0]} > 0 then {t[1]} end", {t[0]: "transform", t[1]: "transform"})
)
item = st.one_of(copy, binary, function, case)


@pytest.mark.slow
@given(items=st.lists(item, min_size=1, max_size=6), layers=st.integers(0, 3))
def test_edges_are_the_columns_each_output_was_written_with(items, layers):
    selects = ", ".join(f"{sql} as out_{i}" for i, (sql, _) in enumerate(items))
    ctes = [f"t{i} as (select * from {'src' if i == 0 else f't{i - 1}'})" for i in range(layers)]
    source = f"t{layers - 1}" if layers else "src"
    sql = (f"with {', '.join(ctes)} " if ctes else "") + f"select {selects} from {source}"
    query = parse_sql(sql, path="m.sql")
    found = trace_columns(query, lambda t: "src" if t.name == "src" else None, {"src": COLUMNS})
    assert found.missing == ()
    assert found.columns is not None
    for (_, expected), out in zip(items, found.columns, strict=True):
        assert {e.column: e.kind for e in out.edges} == expected
        assert {e.table for e in out.edges} <= {"src"}
        assert out.resolved


@pytest.mark.slow
@given(
    name=st.one_of(
        st.sampled_from(COLUMNS),
        # prefixed with "col_": never a keyword (a bare "c" prefix made "case")
        st.text("abcdefghijklmnopqrstuvwxyz_", max_size=12).map(lambda t: "col_" + t),
    )
)
def test_a_name_no_upstream_has_is_reported_where_it_is_written(name):
    sql = f"select id,\n  {name} as x from src"
    found = trace_columns(
        parse_sql(sql, path="m.sql"),
        lambda t: "src" if t.name == "src" else None,
        {"src": COLUMNS},
    )
    if name in COLUMNS:
        assert found.missing == ()
    else:
        (missing,) = found.missing
        assert (missing.line, missing.col, missing.column) == (2, 3, name)
        assert missing.candidates == COLUMNS
