"""How DuckDB names things: quoted identifiers and string literals."""

from __future__ import annotations

DIALECT = "duckdb"


def quote(name: str) -> str:
    """A DuckDB-quoted identifier.

    >>> quote('marts'), quote('we"ird')
    ('"marts"', '"we""ird"')
    """
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}"


def string_literal(text: str) -> str:
    """
    >>> string_literal("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"
