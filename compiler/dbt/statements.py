"""A dbt model's SQL is one statement: an empty or comment-only file, or a file of two
statements, is a located error, as in a teal project (compiler/sql.py). dbt loads do not
parse SQL with sqlglot (a load imports no parser), so the statements are counted by a
scan that knows DuckDB's quoting and comments; the error is placed in the model's file by
scanning its text with the Jinja tags blanked out.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from teal.compiler.errors import ParseError, line_col

if TYPE_CHECKING:
    from teal.compiler.dbt.nodes import Node

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_DOLLAR = re.compile(r"\$(\w*)\$")


def statement_starts(sql: str) -> list[int]:
    """The offset of each statement's first character (comments, blanks and ``;`` between
    statements are not statements; a ``;`` inside quotes or comments ends nothing).

    >>> statement_starts("select 1 as a;\\n-- done\\n")
    [0]
    >>> statement_starts("select ';' as a; select 2")
    [0, 17]
    >>> statement_starts("/* nothing */ -- here\\n ;")
    []
    """
    starts: list[int] = []
    in_statement = False
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch == ";":
            in_statement = False
            i += 1
            continue
        if ch.isspace():
            i += 1
            continue
        if not in_statement:
            starts.append(i)
            in_statement = True
        if ch in ("'", '"'):
            i = _after_quoted(sql, i, ch)
        elif ch == "$" and (dollar := _DOLLAR.match(sql, i)):
            end = sql.find(dollar.group(0), dollar.end())
            i = n if end < 0 else end + len(dollar.group(0))
        else:
            i += 1
    return starts


def _after_quoted(sql: str, start: int, quote: str) -> int:
    """The offset after the quoted text starting at ``start`` (a doubled quote is one)."""
    i = start + 1
    while True:
        end = sql.find(quote, i)
        if end < 0:
            return len(sql)
        if sql.startswith(quote * 2, end):
            i = end + 2
            continue
        return end + 1


def check_one_statement(node: Node, sql: str) -> None:
    """Raise a located error unless the rendered ``sql`` of ``node`` is one statement."""
    starts = statement_starts(sql)
    if len(starts) == 1:
        return
    if not starts:
        raise ParseError(
            "the model is empty",
            path=node.display,
            line=1,
            hint="a SQL model is one SELECT statement; to keep a file that is not built, "
            "disable it with {{ config(enabled=false) }}",
        )
    line, col, text = _second_in_file(node.raw or "")
    where = "" if line is not None else f" (its compiled SQL holds {len(starts)})"
    raise ParseError(
        f"a SQL model must be a single statement{where}",
        path=node.display,
        line=line or 1,
        col=col,
        source_line=text,
        hint="remove the extra statement (and the ';' before it): teal creates the table or "
        "view from the one SELECT",
    )


def _second_in_file(raw: str) -> tuple[int | None, int | None, str | None]:
    """Where the second statement starts in the model's file: its text scanned with each
    ``{{ }}`` made a name of the same size and ``{% %}``/``{# #}`` blanked (line breaks
    kept). None when the file's own text has one statement (a macro wrote the second)."""

    def blank(m: re.Match[str]) -> str:
        fill = "x" if m.group(0).startswith("{{") else " "
        return "".join(c if c == "\n" else fill for c in m.group(0))

    text = _JINJA.sub(blank, raw)
    starts = statement_starts(text)
    if len(starts) < 2:
        return None, None, None
    at = starts[1]
    line, col = line_col(text, at)
    return line, col, raw.splitlines()[line - 1]
