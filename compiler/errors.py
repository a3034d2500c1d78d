"""Errors meant for people.

Every error teal raises for a user mistake is a :class:`TealError`. It carries the file,
line and column where the problem is (when they exist), a one-line description, an
optional hint saying what to do, and optionally the offending source line with a caret.
The CLI turns a ``TealError`` into ``path:line:col: message`` plus the hint and an exit
code; nothing else in teal decides exit codes.

>>> str(ProjectError("unknown key 'materialised'", path="models/a.sql", line=1, col=11,
...                  hint="did you mean 'materialized'?"))
"models/a.sql:1:11: unknown key 'materialised'\\n  hint: did you mean 'materialized'?"
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path


class TealError(Exception):
    """Root of all user-facing errors. ``exit_code`` is 2 for project/usage errors."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
        source_line: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.col = col
        self.hint = hint
        self.source_line = source_line

    @property
    def location(self) -> str:
        """``path:line:col`` with the parts that are known."""
        parts = [self.path or "<project>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def __str__(self) -> str:
        known = self.path is not None or self.line is not None
        text = f"{self.location}: {self.message}" if known else self.message
        if self.source_line is not None and (self.line is not None or self.col is not None):
            text += f"\n    {self.source_line.rstrip()}"
            if self.col is not None:
                text += "\n    " + " " * max(self.col - 1, 0) + "^"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def spot_in(self, root: Path) -> None:
        """Where the error names a line of a file under ``root`` but no column (TOML and
        YAML keys are found by line), the column where that line's text starts, and the
        line itself to show under the message; for a YAML or TOML key located with its
        column, the line."""
        if self.path is None or self.line is None:
            return
        if self.col is not None and (
            self.source_line is not None or not str(self.path).endswith((".yml", ".yaml", ".toml"))
        ):
            return  # a SQL file's column may be of its rendered text: show no line
        try:
            lines = (root / self.path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError, ValueError):
            return
        if not 0 < self.line <= len(lines) or not lines[self.line - 1].strip():
            return
        text = lines[self.line - 1]
        if self.col is None:
            self.col = len(text) - len(text.lstrip()) + 1
        if self.source_line is None:
            self.source_line = text


class ProjectError(TealError):
    """The project or its configuration is wrong (missing project, bad config, duplicates)."""


class TemplateError(TealError):
    """A Jinja template could not be rendered."""


class ParseError(TealError):
    """SQL that sqlglot cannot parse, or a Python model file that cannot be imported."""


class LineageError(TealError):
    """A reference that resolves to nothing, or a cycle between models."""


class SelectionError(TealError):
    """A ``--select`` / ``--exclude`` expression that is malformed or matches nothing."""


class NotFound(SelectionError):
    """A model, source table or run named by the user that does not exist (the UI's
    API answers it with 404, other selection mistakes with 400)."""


class WarehouseError(TealError):
    """The warehouse cannot be opened or written (for example, locked by another process)."""


class WarehouseBusy(WarehouseError):
    """Another process holds the warehouse (DuckDB lets one process open a file)."""


class ExecutionError(TealError):
    """A model failed while running. Builds with failures exit 1."""

    exit_code = 1


class ErrorGroup(TealError):
    """Several independent problems found in one pass (``teal compile`` reports them all)."""

    MAX_SHOWN = 20

    def __init__(self, errors: list[TealError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problems found")

    def spot_in(self, root: Path) -> None:
        for error in self.errors:
            error.spot_in(root)

    def __str__(self) -> str:
        shown = [str(e) for e in self.errors[: self.MAX_SHOWN]]
        extra = len(self.errors) - self.MAX_SHOWN
        if extra > 0:
            shown.append(f"... and {extra} more")
        return "\n".join(shown)


def line_col(text: str, offset: int) -> tuple[int, int]:
    r"""The 1-based line and column of the character at ``offset`` in ``text``.

    >>> line_col("select 1\nfrom t", 9)
    (2, 1)
    """
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def source_col(
    rendered: str | None, source: str | None, col: int | None, written: str = ""
) -> int | None:
    """The column on ``source`` (a line of the author's file) of what is at ``col`` of
    ``rendered`` (the line Jinja made of it); ``written``: the text there (a name), when
    known. None when the spot cannot be told: better the line than a wrong column.

    >>> line = "select day, {{ 1 + 1 }} as two, countryy from daily"
    >>> source_col("select day, 2 as two, countryy from daily", line, 23, "countryy")
    33
    >>> source_col("select 2, 2", "select {{ x }}, {{ x }}", 11) is None
    True
    """
    if col is None or source is None or rendered is None:
        return None if rendered != source else col
    if rendered == source or rendered[: col - 1] == source[: col - 1]:
        return col  # nothing before it changed: it starts where the source has it
    start, size = col - 1, max(len(written), 1)
    matcher = difflib.SequenceMatcher(None, rendered, source, autojunk=False)
    for a, b, length in matcher.get_matching_blocks():
        if a <= start and start + size <= a + length:  # text Jinja left as it is
            return b + start - a + 1
    if written:  # written once on the line: there
        pattern = rf"(?<![\w.]){re.escape(written)}(?!\w)"
        hits = list(re.finditer(pattern, source, re.IGNORECASE))
        if len(hits) == 1:
            return hits[0].start() + 1
    return None


def raise_all(errors: list[TealError]) -> None:
    """Raise nothing, the single error, or an :class:`ErrorGroup` of them all."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ErrorGroup(errors)


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> str | None:
    """A hint naming the closest candidates, or None.

    >>> did_you_mean("stg_ordrs", ["stg_orders", "stg_customers", "marts"])
    "did you mean 'stg_orders'?"
    """
    pool = sorted(set(candidates))
    close = difflib.get_close_matches(name, pool, n=n, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in pool}
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=n)]
    if not close:
        return None

    def score(candidate: str) -> float:
        return difflib.SequenceMatcher(None, name.lower(), candidate.lower()).ratio()

    best = max(score(c) for c in close)  # name only the candidates about as close as the best
    close = [c for c in close if score(c) >= best - 0.1]
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
