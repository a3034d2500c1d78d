"""Where a key is in a TOML project file, for messages: tomllib gives values, not lines.

Best effort, read from the text: ``key_line`` finds the first line that names a key;
``table_line`` finds a table's header (``[schedules.nightly]``, or under ``[tool.teal.]``
in pyproject.toml) and a key inside it, so that two tables sharing a name (a job and the
schedule that runs it) are told apart. ``toml_problem`` says tomllib's syntax errors the
way a person sees the mistake.
"""

from __future__ import annotations

import re
from pathlib import Path


def key_line(path: Path, key: str) -> int | None:
    """Best-effort line number of ``key`` in a TOML file, for error messages."""
    for i, text in enumerate(_lines(path), 1):
        if re.match(rf"\s*\[?[\w.\"/]*{re.escape(key)}\b", text):
            return i
    return None


def table_line(path: Path, table: str, key: str | None = None) -> int | None:
    """The line of ``key`` in the table ``table`` (dotted: ``schedules.nightly``), or of
    the table's header when ``key`` is None or not written on a line of its own; None
    when the table has no header of its own (an inline table)."""
    parts = r"\s*\.\s*".join(rf"\"?{re.escape(p)}\"?" for p in table.split("."))
    header = re.compile(rf"\s*\[\s*(tool\s*\.\s*teal\s*\.\s*)?{parts}\s*\]")
    lines = _lines(path)
    for i, text in enumerate(lines, 1):
        if not header.match(text):
            continue
        if key is None:
            return i
        wanted = re.compile(rf"\s*\"?{re.escape(key)}\"?\s*=")
        for j in range(i, len(lines)):
            if lines[j].lstrip().startswith("["):
                break
            if wanted.match(lines[j]):
                return j + 1
        return i
    return None


def value_col(path: Path, line: int | None) -> int | None:
    """The 1-based column of the value of the ``key = value`` on line ``line`` of
    ``path`` (a message about the value points at it), or None."""
    text = line_text(path, line)
    found = re.match(r"\s*[\w.\"'-]+\s*=\s*", text or "")
    return found.end() + 1 if found and found.end() < len(text or "") else None


def line_text(path: Path, line: int | None) -> str | None:
    """Line ``line`` of ``path`` (1-based), or None."""
    if line is None:
        return None
    lines = _lines(path)
    return lines[line - 1] if 0 < line <= len(lines) else None


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def toml_problem(
    message: str, src: str | None, lines: list[str], line: int | None
) -> tuple[str, str]:
    """tomllib's ``message`` about line ``line`` (its text ``src``), and the hint, said
    the way a person would see the mistake where tomllib's words mislead (a header without
    its ``]`` is reported as a table declared twice when the name was declared before).

    >>> toml_problem("Cannot declare ('defaults',) twice", "[defaults", [], 3)
    ("the table header '[defaults' has no closing ']'", 'write it [defaults]')
    """
    header = re.match(r"\s*(\[\[?)([^\[\]#=]*)(\]*)\s*(#.*)?$", src or "")
    if header is not None and len(header.group(3)) < len(header.group(1)):
        # "[defaults" or "[[jobs]": a closing bracket is missing
        opening, name = header.group(1), header.group(2).strip()
        closing = "]" * len(opening)
        return (
            f"the table header '{opening}{name}' has no closing '{closing}'",
            f"write it {opening}{name}{closing}",
        )
    twice = re.match(r"Cannot declare \((.*)\) twice", message)
    if twice is not None:
        name = ".".join(p.strip().strip("'\"") for p in twice.group(1).split(",") if p.strip())
        first = next(
            (
                i
                for i, text in enumerate(lines[: (line or 1) - 1], 1)
                if re.match(rf"\s*\[\s*{re.escape(name)}\s*\]", text)
            ),
            None,
        )
        where = f" (first on line {first})" if first is not None else ""
        return (
            f"the table [{name}] is declared twice{where}",
            f"merge the two into one [{name}] table: TOML declares each table once",
        )
    if message == "Cannot overwrite a value" and src is not None and "=" in src:
        key = src.split("=", 1)[0].strip()
        return (
            f"'{key}' is set twice in one table",
            f"keep one '{key} = ...' line",
        )
    return (
        message,
        "fix the line (a value is a string in quotes, a number, true/false, a [list] or a "
        "{table}); https://toml.io describes the format",
    )
