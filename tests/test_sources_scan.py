"""A file source's reader call is written out as text (a warm compile imports no parser);
it must stay the text sqlglot generates for the same expression, which models compiled
before were hashed with."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from teal.compiler.sources import FILE_KINDS, SQL_DIALECT, SourceTable, scan_expression, scan_text


@given(kind=st.sampled_from(FILE_KINDS), location=st.text(min_size=1, max_size=60))
def test_scan_text_is_what_sqlglot_writes(kind: str, location: str) -> None:
    table = SourceTable("raw", "t", kind, location)
    expected = scan_expression(table).sql(SQL_DIALECT, normalize_functions="lower")
    assert scan_text(table) == expected


def test_scan_text_doubles_quotes_and_keeps_backslashes() -> None:
    table = SourceTable("raw", "t", "csv", "C:\\data\\it's.csv")
    assert scan_text(table) == "read_csv('C:\\data\\it''s.csv')"
