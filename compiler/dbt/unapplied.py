"""dbt settings teal reads but does not apply: each one a located warning, never silence.

A dbt project may set configs (``persist_docs``, ``grants``, ``contract``) that teal does
not act on. The project still builds, so these
are warnings (errors under ``--strict``), each naming the file and line where the setting
is written: the model's SQL, its YAML properties entry, or the ``dbt_project.yml`` folder
config it inherits. One warning per place, however many models inherit it.

dbt-duckdb's options of the ``merge`` strategy (``merge_update_columns``, ``merge_clauses``,
...) change which rows and columns a build writes; teal's merge replaces every column of a
matched row, so a model that sets one would get other rows than dbt gives: an error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.dbt.nodes import Node, position, source_line
from teal.compiler.errors import ProjectError

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader

# config key -> (what teal does instead, the hint)
UNAPPLIED_CONFIGS: dict[str, tuple[str, str]] = {
    "persist_docs": (
        "descriptions are not written as DuckDB comments",
        "descriptions stay in target/manifest.json and teal's catalog",
    ),
    "grants": (
        "DuckDB has no grants",
        "drop the setting for the duckdb target",
    ),
    "contract": (
        "the declared column types are not enforced",
        "add not_null/accepted_values tests, or a teal check on the column types",
    ),
}


# dbt-duckdb's merge options (its merge.sql), each changing what a merge writes
MERGE_CONFIGS = (
    "merge_update_columns",
    "merge_exclude_columns",
    "merge_update_condition",
    "merge_insert_condition",
    "merge_update_set_expressions",
    "merge_on_using_columns",
    "merge_clauses",
)


def _set(value: object) -> bool:
    """Whether a config value asks for something (dbt's defaults are empty or false)."""
    if isinstance(value, dict):
        return any(_set(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    return value not in (None, False, "", 0)


class Seen:
    """What one load has warned about (one warning per place) and the dbt_project.yml texts
    it searched (read once, not once per model)."""

    def __init__(self) -> None:
        self.places: set[tuple[str, int | None, str]] = set()
        self.texts: dict[Path, str] = {}

    def __contains__(self, place: tuple[str, int | None, str]) -> bool:
        return place in self.places

    def add(self, place: tuple[str, int | None, str]) -> None:
        self.places.add(place)

    def text(self, path: Path) -> str:
        if path not in self.texts:
            try:
                self.texts[path] = path.read_text(encoding="utf-8")
            except OSError:
                self.texts[path] = ""
        return self.texts[path]


def warn_unapplied(loader: DbtLoader, node: Node, seen: Seen) -> None:
    """Append a warning to ``loader.warnings`` for each unapplied setting of a model."""
    for key, (effect, hint) in UNAPPLIED_CONFIGS.items():
        if not _set(node.config.get(key)):
            continue
        message = f"{key} (model '{node.name}') is read but not applied by teal: {effect}"
        warn_where_set(loader, node, key, seen, message, hint)


def warn_where_set(
    loader: DbtLoader, node: Node, key: str, seen: Seen, message: str, hint: str
) -> None:
    """Append to ``loader.warnings`` ``message`` located where ``key`` is set for
    ``node`` (:func:`where_set`), once per place and key."""
    path, line, col, text = where_set(loader, node, key, seen)
    if (path, line, key) in seen:
        return
    seen.add((path, line, key))
    loader.warnings.append(
        ProjectError(
            message,
            path=path,
            line=line,
            col=col,
            hint=hint,
            source_line=source_line(text, line) if text else None,
        )
    )


def refuse_merge_configs(loader: DbtLoader, node: Node) -> None:
    """An error in ``loader.errors`` for each of dbt-duckdb's merge options an incremental
    ``merge`` model sets: teal's merge would write other rows than dbt-duckdb's."""
    if node.config.get("incremental_strategy") != "merge":
        return
    for key in MERGE_CONFIGS:
        if not _set(node.config.get(key)):
            continue
        path, line, col, text = where_set(loader, node, key, Seen())
        loader.errors.append(
            ProjectError(
                f"{key} (model '{node.name}') is not supported by teal: its merge replaces "
                "every column of each row whose unique_key matches, and inserts the others",
                path=path,
                line=line,
                col=col,
                hint="remove it, or write the columns to keep in the model's is_incremental() "
                "branch (joined from {{ this }})",
                source_line=source_line(text, line) if text else None,
            )
        )


def where_set(
    loader: DbtLoader, node: Node, key: str, seen: Seen
) -> tuple[str, int | None, int | None, str]:
    """Where ``key`` is set for ``node``: its SQL, its YAML entry, else dbt_project.yml."""
    found = position(node.raw, rf"\b{re.escape(key)}\s*=")
    if found is not None:
        return node.display, found[0], found[1], node.raw
    entry = node.yaml
    conf = entry.get("config") if isinstance(entry, dict) else None
    if isinstance(conf, dict) and key in conf:
        line, col = getattr(conf, "keys_at", {}).get(key, (getattr(conf, "line", None), None))
        return node.yaml_display, line, col, ""
    for owner in (loader.settings.package(node.package), loader.settings.project):
        if owner is None:
            continue
        text = seen.text(Path(owner.root) / "dbt_project.yml")
        found = position(text, rf"(?m)^\s*\+?{re.escape(key)}\s*:")
        if found is not None:
            line = found[0]
            col = len(text.splitlines()[line - 1]) - len(text.splitlines()[line - 1].lstrip()) + 1
            return owner.display, line, col, text
    return node.display, None, None, ""
