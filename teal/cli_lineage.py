"""``teal validate`` and the column form of ``teal lineage`` (``MODEL.COLUMN``).

``teal validate`` loads the project, traces every selected model's columns and binds
each reference against its upstreams' columns (runtime/validate.py), without opening the
warehouse or building anything: exit 0 when every reference resolves, 2 with every
problem located otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from teal.cli_json import emit_json
from teal.cli_support import common_options, handle_errors, open_session, selection_options

if TYPE_CHECKING:
    from teal.runtime.session import Session


@click.command()
@selection_options
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handle_errors
def validate(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    as_json: bool,
) -> None:
    """Check the project before running it: every model loads, every table and column a
    query reads exists, enforced contracts hold, and what jobs, schedules and sensors name
    exists. Builds nothing."""
    session = open_session(project_dir, target, warehouse, vars_)
    _ = session.config.automation  # a mistake in its tables is validate's error, said once
    names = session.validate(select, exclude)
    from teal.compiler.errors import raise_all
    from teal.runtime.automation_check import automation_errors

    raise_all(automation_errors(session))  # what jobs, schedules and sensors name exists
    summary = session.columns().resolution(names if (select or exclude) else None)
    if as_json:
        emit_json(
            {
                "success": True,  # as every --json result (and error: false)
                "valid": True,
                "models": len(names),
                "columns": summary.total,
                "resolved": summary.resolved,
                "opaque": summary.opaque,
                "unknown": list(summary.unknown),
            },
            indent=None,
        )
        return
    click.echo(f"{len(names)} models valid; {summary}")


def print_column_lineage(
    session: Session,
    text: str,
    *,
    depth: int | None,
    upstream: bool,
    downstream: bool,
    fmt: str,
) -> bool:
    """Print the column ``text`` names (``model.column``); False when ``text`` names a
    model (or a model's relation) rather than a column."""
    from teal.compiler.column_view import column_dot, column_json, column_tree, find_column

    project = session.project
    wanted = text.lower().replace('"', "")
    if text in project.models or any(m.relation.lower() == wanted for m in project.models.values()):
        return False
    graph = session.columns()
    ref = find_column(graph, text)
    if ref is None:
        return False
    if fmt == "json":
        emit_json(column_json(graph, ref, depth))
    elif fmt == "dot":
        click.echo(column_dot(graph, ref, depth))
    else:
        click.echo(column_tree(graph, ref, depth=depth, upstream=upstream, downstream=downstream))
    return True
