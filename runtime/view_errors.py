"""Where a query's runtime error comes from when the model's own SQL does not show it.

A view's SQL runs inside the query of every model that reads it: a cast that fails on a
row (``Conversion Error``) is raised while the table below it is built, and DuckDB's
message names neither the view nor a line of the table's SQL. When a table's query fails
on its rows at no line of its own SQL, each view it reads (through other views) is
evaluated alone, every row and column, on the failed step's cursor: the views that raise
the same error and read no other view that does are named as where it comes from; when
every view evaluates, the error is the table's own and no view is named. A view that
could not be told (its evaluation failed otherwise: deferred, interrupted) leaves the
message naming the views it may come from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from teal.compiler.project import Model, Project
    from teal.warehouse.engine import EngineCursor

SHOWN = 3  # views named in a message at most
PROBED = 8  # views evaluated alone at most, nearest first

Verdict = Literal["raises", "evaluates", "unknown"]


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


class ViewProbe:
    """The failed step's cursor and the error its query raised, to evaluate the views it
    reads alone and compare what they raise with it."""

    def __init__(self, cur: EngineCursor, raised: BaseException) -> None:
        self.cur, self.raised = cur, raised

    @property
    def by_rows(self) -> bool:
        return self.cur.raised_by_rows(self.raised)

    def verdict(self, view: Model) -> Verdict:
        try:
            error = self.cur.evaluation_error(view.schema, view.alias)
        except Exception:  # noqa: BLE001 - a probe never hides the step's own error
            return "unknown"
        if error is None:
            return "evaluates"
        if self.cur.raised_by_rows(error) and _first_line(error) == _first_line(self.raised):
            return "raises"
        return "unknown"


def with_view_context(
    project: Project, model: Model, message: str, located: bool, probe: ViewProbe
) -> str:
    """``message`` (an engine error of ``model``'s query, ``located`` in its SQL or not)
    with the view it comes from named, when the error is of the rows, not located in its
    own SQL, and a view it reads raises it too (or may: it could not be told)."""
    if located or not probe.by_rows or model.materialized == "view":
        return message
    views = views_read(project, model)
    verdicts = {v: probe.verdict(project.models[v]) for v in views[:PROBED]}
    raising = [v for v, said in verdicts.items() if said == "raises"]
    # the view whose own SQL raises it: one that reads no other view raising it
    sources = [v for v in raising if not set(views_read(project, project.models[v])) & set(raising)]
    if sources:
        return _named(
            project,
            sources,
            message,
            "which raises the same error on its own: the error is in its SQL",
            "which raise the same error on their own: the error is in their SQL",
        )
    untold = [v for v in views if verdicts.get(v, "unknown") == "unknown"]
    if not untold:
        return message  # every view evaluates alone: the error is the table's own
    return _named(
        project,
        untold,
        message,
        "whose SQL runs inside its query: the error may be there",
        "whose SQL run inside its query: the error may be there",
    )


def _named(project: Project, views: list[str], message: str, one: str, several: str) -> str:
    named = ", ".join(f"{v} at {project.models[v].display_path}" for v in views[:SHOWN])
    more = f" and {len(views) - SHOWN} more" if len(views) > SHOWN else ""
    said = one if len(views) == 1 else several
    return f"{message}; it reads the view{'s' if len(views) > 1 else ''} {named}{more}, {said}"


def _first_line(exc: BaseException) -> str:
    """An engine message without where it points in the query that raised it."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
