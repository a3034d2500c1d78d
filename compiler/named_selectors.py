"""Named selectors (``selector:NAME``): the ``[selectors]`` table of the project config,
kept with the file it was read from, so that a mistake inside a definition is reported at
its line in that file (``teal.toml:12:17``) rather than at the ``--select`` flag that
named it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from teal.compiler.errors import SelectionError
from teal.compiler.toml_lines import table_line


class NamedSelectors(dict[str, Any]):
    """Selector name -> its definition (an expression, a list of them, or a table with
    ``select`` / ``exclude``), read from the TOML file ``path``."""

    def __init__(self, table: dict[str, Any], path: Path) -> None:
        super().__init__(table)
        self.path = path

    def relocated(self, name: str, inner: SelectionError, message: str) -> SelectionError | None:
        """``inner`` (a mistake in the expression ``inner.source_line`` of selector
        ``name``) placed at that expression in the file, or None where it is not found."""
        expression = inner.source_line
        # a table of its own ([selectors.NAME]), else its key in [selectors]
        start = table_line(self.path, f"selectors.{name}") or table_line(
            self.path, "selectors", name
        )
        if start is None or expression is None:
            return None
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return None
        for line in range(start, min(start + 50, len(lines) + 1)):  # a list's, a table's
            text = lines[line - 1]
            if line > start and text.lstrip().startswith("["):  # the next table
                return None
            for quote in ('"', "'"):
                at = text.find(f"{quote}{expression}{quote}")
                if at >= 0:
                    col = at + 2 + ((inner.col or 1) - 1)  # after the quote, then the offset
                    return SelectionError(
                        message,
                        path=self.path.name,
                        line=line,
                        col=col,
                        hint=inner.hint,
                        source_line=text,
                    )
        return None
