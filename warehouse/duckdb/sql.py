"""How the DuckDB engine writes SQL: its dialect, and teal's statements rendered in it."""

from __future__ import annotations

from teal.warehouse.statements import Statements, string_literal

DIALECT = "duckdb"
SQL = Statements(DIALECT)


def quote(name: str) -> str:
    """A DuckDB-quoted identifier.

    >>> quote('marts'), quote('we"ird')
    ('"marts"', '"we""ird"')
    """
    return SQL.quote(name)


def qualified(schema: str, name: str) -> str:
    return SQL.qualified(schema, name)


__all__ = ["DIALECT", "SQL", "qualified", "quote", "string_literal"]
