"""Schema change of incremental models, seen by the planner before anything runs.

An incremental run adds rows to a table built earlier; when the model's query now has
other columns than that table, its ``on_schema_change`` config says what to do (dbt's
names): ``fail`` (teal's default) refuses, ``ignore`` inserts the columns the table has,
``append_new_columns`` adds the new ones to the table, ``sync_all_columns`` also drops
the ones the query no longer has. The warehouse applies the last three while it inserts
(warehouse/duckdb/materializations.py); ``fail`` is decided here, from the columns
binding found (compiler/column_binding.py) and the table's columns, so that it is a
located error before any data changes rather than a failed step halfway through a run.
A model whose columns binding does not know is left to the warehouse's own check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from teal.compiler.errors import ProjectError, TealError

if TYPE_CHECKING:
    from teal.compiler.plan import Step
    from teal.compiler.project import Model, Project

DEFAULT = "fail"


class SchemaChange(NamedTuple):
    """How a model's new columns differ from its table's (names as written)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]


def policy(model: Model) -> str:
    return str(model.config.get("on_schema_change") or DEFAULT)


def incremental_relations(project: Project, steps: Iterable[Step]) -> list[tuple[str, str]]:
    """(schema, name) of each step that adds rows (or partitions) to an existing
    incremental table."""
    return [
        (m.schema, m.alias)
        for step in steps
        if step.action == "incremental" and not step.full_refresh
        for m in (project.models[step.model],)
    ]


def schema_change(new: Iterable[str], have: Iterable[str]) -> SchemaChange:
    """The columns of ``new`` the table (``have``) lacks and the reverse, by name.

    >>> schema_change(["id", "amount", "extra"], ["ID", "amount", "old"])
    SchemaChange(added=('extra',), removed=('old',))
    """
    new, have = list(new), list(have)
    lower_new, lower_have = {c.lower() for c in new}, {c.lower() for c in have}
    return SchemaChange(
        tuple(c for c in new if c.lower() not in lower_have),
        tuple(c for c in have if c.lower() not in lower_new),
    )


def schema_change_errors(
    project: Project,
    steps: Iterable[Step],
    columns_of: Callable[[str], tuple[str, ...] | None],
    tables: Mapping[tuple[str, str], list[tuple[str, str]]],
) -> list[TealError]:
    """A located error for each incremental step whose model's columns (``columns_of``,
    from binding) differ from its existing table's (``tables``: (schema, name) -> columns
    and types, lower-case keys) under ``on_schema_change: fail``."""
    out: list[TealError] = []
    for step in steps:
        if step.action != "incremental" or step.full_refresh:
            continue
        model = project.models[step.model]
        existing = tables.get((model.schema.lower(), model.alias.lower()))
        new = columns_of(model.name)
        if existing is None or new is None:
            continue
        have = [c for c, _ in existing]
        change = schema_change(new, have)
        if policy(model) != "fail" or not (change.added or change.removed):
            continue
        out.append(_error(model, change, have))
    return out


def _error(model: Model, change: SchemaChange, have: list[str]) -> ProjectError:
    parts = []
    if change.added:
        parts.append("add " + ", ".join(f"'{c}'" for c in change.added))
    if change.removed:
        parts.append("drop " + ", ".join(f"'{c}'" for c in change.removed))
    line, col, text = _position(model, change.added[0] if change.added else None)
    return ProjectError(
        f"incremental model {model.name} would {' and '.join(parts)}: its table "
        f"{model.relation} has {', '.join(have)}, and on_schema_change is 'fail'",
        path=model.display_path,
        line=line,
        col=col,
        source_line=text,
        hint="set on_schema_change to 'append_new_columns', 'sync_all_columns' or 'ignore' "
        f"in the model's config, or {rebuild_hint(model.name, model.config)}",
    )


def rebuild_hint(name: str, config: Mapping[str, object]) -> str:
    """How to rebuild model ``name``: ``--full-refresh``, unless its ``config``'s
    ``full_refresh=false`` wins over that flag (following the hint would fail again)."""
    if config.get("full_refresh") is False:
        return (
            "rebuild it: its config has full_refresh=false, which wins over --full-refresh; "
            f"remove that for one `teal build -s {name} --full-refresh`"
        )
    return f"rebuild it: `teal build -s {name} --full-refresh`"


def _position(model: Model, column: str | None) -> tuple[int, int | None, str | None]:
    """Where the new column is named in the model's file (else its first line)."""
    lines = (model.raw_sql or "").splitlines()
    if column is not None:
        pattern = re.compile(rf"(?<![\w.]){re.escape(column)}(?!\w)", re.IGNORECASE)
        for number, text in reversed(list(enumerate(lines, 1))):
            hit = pattern.search(text)
            if hit:
                return number, hit.start() + 1, text
    return (model.line or 1), None, (lines[0] if lines else None)
