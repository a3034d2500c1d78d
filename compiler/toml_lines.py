"""Where a key is in a TOML project file, for messages: tomllib gives values, not lines.

Best effort, read from the text: ``key_line`` finds the first line that names a key;
``table_line`` finds a table's header (``[schedules.nightly]``, or under ``[tool.teal.]``
in pyproject.toml) and a key inside it, so that two tables sharing a name (a job and the
schedule that runs it) are told apart.
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
