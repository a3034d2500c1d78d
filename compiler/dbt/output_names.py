"""Two columns of one name in a dbt model's query (``select 1 as x, 2 as x``): dbt-duckdb
stores the second as ``x_1``, so in a dbt project it is a warning (a teal project's load
refuses it, compiler/stage.py). dbt loads import no SQL parser, so the names of the
outermost SELECT's columns are scanned from the text (quotes, comments and parentheses
known); only when two look alike is the query parsed, to be sure and to say where.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from teal.compiler.errors import ProjectError

if TYPE_CHECKING:
    from teal.compiler.dbt.nodes import Node

# what the scan stops at: comments and quoted text (skipped whole), parentheses, commas, and
# the words that end a select list
_TOKEN = re.compile(
    r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[(),;]"
    r"|\b(?:select|from|union|except|intersect|where|group|order|limit|qualify|having|window)\b",
    re.I | re.S,
)
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_ALIAS = re.compile(r"\bas\s+(\"(?:[^\"]|\"\")+\"|\w+)\s*$", re.I)
_NAME = re.compile(r"(?:(?:\"[^\"]+\"|\w+)\s*\.\s*)*(\"[^\"]+\"|\w+)")
_DISTINCT = re.compile(r"^(?:distinct\s+(?:on\s*\([^)]*\)\s*)?|all\s+)", re.I)


def outer_names(sql: str) -> list[str | None]:
    """The lower-case name of each column of the outermost SELECT, as its text says it
    (an alias, a column, ``table.column``); None where the text does not say.

    >>> outer_names("with a as (select 1 as x, 2 as y) select x, a.y as z, x + 1 from a")
    ['x', 'z', None]
    >>> outer_names("select distinct \\"ID\\", id -- the same\\nfrom t")
    ['id', 'id']
    """
    depth, start, items = 0, None, []
    for m in _TOKEN.finditer(sql):
        token = m.group().lower()
        if token[0] in "-/'\"":
            continue
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth != 0:
            continue
        elif start is None:
            if token == "select":
                start = m.end()
        elif token == ",":
            items.append(sql[start : m.start()])
            start = m.end()
        elif token != "select":  # the end of the list
            items.append(sql[start : m.start()])
            return [_name(item, i == 0) for i, item in enumerate(items)]
    if start is not None:
        items.append(sql[start:])
    return [_name(item, i == 0) for i, item in enumerate(items)]


def _name(item: str, first: bool) -> str | None:
    text = _COMMENT.sub(" ", item).strip()
    if first:
        text = _DISTINCT.sub("", text)
    found = _ALIAS.search(text)
    name = found.group(1) if found else None
    if name is None and (plain := _NAME.fullmatch(text)):
        name = plain.group(1)
    return None if name is None else name.strip('"').lower()


def named_twice(node: Node, sql: str) -> ProjectError | None:
    """A warning when model ``node``'s compiled ``sql`` names two of its columns alike,
    located in its file at the second."""
    names = [n for n in outer_names(sql) if n is not None]
    if len(set(names)) == len(names):
        return None
    from teal.compiler.errors import TealError
    from teal.compiler.sql import parse_sql, repeated_column, repeated_column_error
    from teal.compiler.templating import Rendered

    try:
        found = repeated_column(parse_sql(sql, path=node.display, digest=False))
    except TealError:
        return None  # the scan was wrong about a query sqlglot cannot read: say nothing
    if found is None:
        return None
    name, raw = found[0], node.raw or ""
    return repeated_column_error(
        found,
        sql,
        raw,
        Rendered(sql=sql, source=raw).line_of,
        node.display,
        f"dbt-duckdb stores the second as {name}_1, which readers of {name} do not get",
    )
