"""The environment a project's ``EnvVar`` values are read from: its ``.env`` file under
the process environment (which wins, as with docker and dotenv tools). Resources read it
when a run opens them (runtime/resources.py); the engine reads it for the credentials of
DuckDB secrets (object storage) when it opens the warehouse."""

from __future__ import annotations

import os
import re
from pathlib import Path

from teal.compiler.errors import ProjectError

DOTENV = ".env"


def read_dotenv(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a ``.env`` file (``export`` prefixes, ``#`` comments, single
    or double quotes; no expansion). A line that is none of these is an error pointing at
    it: a silently skipped line would leave a variable unset."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        parsed = parse_dotenv_line(raw)
        if parsed is None:
            continue
        if isinstance(parsed, str):
            raise ProjectError(
                parsed,
                path=DOTENV,
                line=number,
                col=1,
                hint="write NAME=value (quotes around values with spaces or #)",
            )
        found[parsed[0]] = parsed[1]
    return found


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def parse_dotenv_line(raw: str) -> tuple[str, str] | str | None:
    """One ``.env`` line: (name, value), None for a blank or comment line, or the problem.

    >>> parse_dotenv_line('export TOKEN="a b" # note')
    ('TOKEN', 'a b')
    >>> parse_dotenv_line("# just a comment") is None
    True
    """
    line = raw.strip()
    if not line or line.startswith("#"):
        return None
    if line.startswith("export "):
        line = line[len("export ") :].lstrip()
    name, sep, rest = line.partition("=")
    name = name.strip()
    if not sep or not _NAME.fullmatch(name):
        return "not a NAME=value line"
    rest = rest.strip()
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        end = rest.find(quote, 1)
        if end < 0:
            return f"the value's {quote} is not closed"
        value = rest[1:end]
        if quote == '"':
            value = value.replace("\\n", "\n").replace('\\"', '"')
        tail = rest[end + 1 :].strip()
        if tail and not tail.startswith("#"):
            return "text after the closing quote"
        return name, value
    value = rest.split(" #", 1)[0].strip() if " #" in rest else rest
    return name, value


def environment(root: Path) -> dict[str, str]:
    """The variables EnvVars read: the project's ``.env``, then the process environment
    (which wins, as with docker and dotenv tools)."""
    return {**read_dotenv(root / DOTENV), **os.environ}
