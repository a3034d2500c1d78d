"""What a command's ``--json`` prints, and where.

stdout is the JSON alone: while a command given ``--json`` (or ``--format json``) runs,
anything else written to stdout (a Python model's ``print`` when its file is imported, an
asset's log lines) goes to stderr, and :func:`emit_json` writes to the real stdout. A
project or usage error is still ``path:line:col: message`` on stderr with exit 2, and
stdout gets its JSON form (:func:`error_json`), so that a script reading the command's
JSON reads why there is none. Times are ISO-8601 in UTC (``2026-12-06T16:32:35.859080+00:00``):
teal records times as UTC without a zone, which :func:`utc_iso` makes explicit.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

import click

from teal.compiler.errors import ErrorGroup, TealError

JSON_STDOUT = "teal.json_stdout"  # where the command's JSON goes (click's per-invocation meta)


def utc_iso(value: datetime) -> str:
    """ISO-8601 in UTC; a time without a zone is UTC (as the run store and the warehouse
    record them).

    >>> utc_iso(datetime(2026, 12, 6, 16, 32, 35))
    '2026-12-06T16:32:35+00:00'
    """
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat()


def json_default(value: object) -> object:
    """``json.dumps``'s ``default``: times as :func:`utc_iso`, anything else as text."""
    if isinstance(value, datetime):
        return utc_iso(value)
    return str(value)


def dumps(payload: object, *, indent: int | None = 2) -> str:
    return json.dumps(payload, indent=indent, default=json_default)


def _stdout() -> IO[str]:
    ctx = click.get_current_context(silent=True)
    found = ctx.meta.get(JSON_STDOUT) if ctx is not None else None
    return found if found is not None else sys.stdout


def echo_json(text: str) -> None:
    """Write JSON text (one document, or one JSON line) to the command's real stdout."""
    stream = _stdout()
    click.echo(text, file=stream)
    stream.flush()  # a reader of JSON lines (`teal logs --follow --json`) sees each at once


def emit_json(payload: object, *, indent: int | None = 2) -> None:
    """Print ``payload`` as JSON on the command's real stdout."""
    echo_json(dumps(payload, indent=indent))


@contextlib.contextmanager
def json_stdout() -> Iterator[None]:
    """While it is open, stdout is stderr, except for :func:`emit_json`."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and JSON_STDOUT not in ctx.meta:
        ctx.meta[JSON_STDOUT] = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        yield


def wants_json(options: dict[str, object]) -> bool:
    """Whether the command was asked for JSON (``--json``, ``--format json``)."""
    return bool(options.get("as_json")) or options.get("fmt") == "json"


def error_json(exc: TealError) -> dict[str, object]:
    """The JSON form of an error: every problem (an ErrorGroup has several) with its
    place, as ``{"success": false, "exit_code": 2, "errors": [...]}``."""
    problems = exc.errors if isinstance(exc, ErrorGroup) else [exc]
    return {
        "success": False,
        "exit_code": exc.exit_code,
        "errors": [
            {
                "message": e.message,
                "path": e.path,
                "line": e.line,
                "col": e.col,
                "hint": e.hint,
                "text": str(e),  # as stderr shows it: `path:line:col: message` ...
            }
            for e in problems
        ],
    }
