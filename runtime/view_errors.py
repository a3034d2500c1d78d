"""Where a query's runtime error may come from when the model's own SQL does not show it.

A view's SQL runs inside the query of every model that reads it: a cast that fails on a
row (``Conversion Error``) is raised while the table below it is built, and DuckDB's
message names neither the view nor a line of the table's SQL. The failure then says which
views the model reads, through other views, with their files."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teal.compiler.project import Model, Project

SHOWN = 3  # views named in a message at most


def views_read(project: Project, model: Model) -> list[str]:
    """The project's views ``model`` reads, directly or through other views and
    ephemeral models, nearest first (an ephemeral model is part of the query's text, not
    a view, but the views it reads run inside the query too)."""
    found: list[str] = []
    seen: set[str] = set()
    todo = list(model.upstreams)
    while todo:
        name = todo.pop(0)
        upstream = project.models.get(name)
        if upstream is None or name in seen:
            continue
        seen.add(name)
        if upstream.materialized == "view":
            found.append(name)
        elif upstream.materialized != "ephemeral":
            continue
        todo.extend(upstream.upstreams)
    return found


def with_view_context(
    project: Project, model: Model, message: str, located: bool, by_rows: bool
) -> str:
    """``message`` (an engine error of ``model``'s query, ``located`` in its SQL or not;
    ``by_rows``: raised by the values it read, as the engine tells) with the views it reads
    named, when the error is of the rows and not located in its own SQL."""
    if located or not by_rows or model.materialized == "view":
        return message
    views = views_read(project, model)
    if not views:
        return message
    named = ", ".join(f"{v} at {project.models[v].display_path}" for v in views[:SHOWN])
    more = f" and {len(views) - SHOWN} more" if len(views) > SHOWN else ""
    whose = "whose SQL runs" if len(views) == 1 else "whose SQL run"
    return (
        f"{message}; it reads the view{'s' if len(views) > 1 else ''} {named}{more}, "
        f"{whose} inside its query: the error may be there"
    )
