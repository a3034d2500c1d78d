"""``teal ls``: what the project has, in build order; dbt's ``--resource-type`` too.

Without ``--resource-type`` it lists models (and a dbt project's seeds and snapshots) as it
always has. dbt users script ``dbt ls --resource-type model --output name`` (CI that picks
what to run), so the types dbt lists are here as well: ``model``, ``seed``, ``snapshot``,
``test`` (the checks of the selected models), ``source`` (the source tables they read;
every one without a selection) and ``exposure`` (those reading them), or ``all``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import click

from teal.cli_json import emit_json
from teal.cli_support import (
    common_options,
    handle_errors,
    indirect_option,
    open_session,
    selection_options,
    set_indirect,
    table,
)
from teal.compiler.project import Project

MODEL_TYPES = ("model", "seed", "snapshot")
RESOURCE_TYPES = (*MODEL_TYPES, "test", "source", "exposure")


class Listed(NamedTuple):
    """One resource ``teal ls`` prints."""

    resource_type: str
    name: str
    path: str
    # what a non-model resource is about: a test's model, a source's relation, an
    # exposure's type
    about: str


def model_type(project: Project, name: str) -> str:
    """model, seed or snapshot (a dbt project's node says; a teal project has models)."""
    node = project.dbt_nodes.get(name)
    kind = node.get("resource_type") if isinstance(node, dict) else None
    return kind if kind in MODEL_TYPES else "model"


def listed(
    project: Project,
    names: list[str],
    types: set[str],
    selected: bool,
    alone: frozenset[str] = frozenset(),
    tests: frozenset[str] | None = None,
) -> list[Listed]:
    """The resources of ``types`` among or around the selected models ``names``
    (``alone``: tests selected themselves, dbt's ``--state``; ``tests``: the tests
    selected, when not every test of ``names``: dbt's ``--indirect-selection``)."""
    found = [
        Listed(kind, n, m.display_path, m.relation)
        for n in names
        for m in [project.models[n]]
        for kind in [model_type(project, n)]
        if kind in types
    ]
    chosen = set(names)
    if "test" in types:
        idents = project.dbt_tests  # a dbt test is listed by dbt's whole name, as dbt ls does
        found += [
            Listed(
                "test", str((idents.get(c.name) or {}).get("name") or c.name), c.path or "", c.asset
            )
            for c in sorted(project.checks.values(), key=lambda c: c.name)
            if (c.asset in chosen if tests is None else c.name in tests) or c.name in alone
        ]
    if "source" in types:
        read = {t for n in names for t in project.models[n].source_tables}
        found += [
            Listed("source", t.key, "", t.location)
            for s in project.sources.values()
            for t in s.tables.values()
            if not selected or t.key in read
        ]
    if "exposure" in types:
        found += [
            Listed("exposure", e.name, e.path, e.type)
            for e in sorted(project.exposures.values(), key=lambda e: e.name)
            if not selected or chosen & set(e.depends_on)
        ]
    return found


@click.command(name="ls")
@selection_options
@common_options
@indirect_option
@click.option("--json", "as_json", is_flag=True, help="Print models as JSON.")
@click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "name", "path", "relation"]),
    default="table",
    help="What to print per model.",
)
@click.option(
    "--resource-type",
    "resource_types",
    type=click.Choice([*RESOURCE_TYPES, "all"]),
    multiple=True,
    help="List resources of this type (dbt's; repeatable): models, seeds, snapshots, tests, "
    "sources, exposures, or all. Default: models, seeds and snapshots.",
)
@handle_errors
def ls(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    as_json: bool,
    output: str,
    resource_types: tuple[str, ...],
    indirect_selection: str | None,
) -> None:
    """List models (in build order), or the resources --resource-type names."""
    from teal.compiler.manifest import model_entry
    from teal.compiler.test_state_selection import tests_by_state

    session = open_session(project_dir, target, warehouse, vars_)
    set_indirect(session, indirect_selection, select)
    names = session.select(select, exclude)
    project = session.project
    alone = tests_by_state(project, select, exclude)
    if not resource_types:
        _models(project, names, as_json, output, len(alone))
        return
    types = set(RESOURCE_TYPES) if "all" in resource_types else set(resource_types)
    tests = None
    if "test" in types:  # as `teal test` selects them
        from teal.compiler.indirect_selection import with_indirect

        mode, choose = session.indirect_selection, session.select
        tests = with_indirect(project, names, None, select, exclude, mode, choose)[1]
    found = listed(project, names, types, bool(select or exclude), alone, tests)
    if as_json:
        emit_json(
            [
                {**model_entry(project, project.models[r.name]), "resource_type": r.resource_type}
                if r.resource_type in MODEL_TYPES
                else {
                    "name": r.name,
                    "resource_type": r.resource_type,
                    "path": r.path,
                    "on": r.about,
                }
                for r in found
            ]
        )
        return
    if output != "table":
        for r in found:
            click.echo({"name": r.name, "path": r.path, "relation": r.about}[output])
        return
    click.echo(
        table(
            ("resource_type", "name", "on", "path"),
            [tuple(r[:2]) + (r.about, r.path) for r in found],
        )
    )
    click.echo(f"\n{len(found)} resources")


def _models(project: Project, names: list[str], as_json: bool, output: str, alone: int) -> None:
    """The listing without --resource-type: the selected models (``alone``: how many tests
    the selection selects themselves, said after the table)."""
    from teal.compiler.manifest import model_entry

    if as_json:
        emit_json([model_entry(project, project.models[n]) for n in names])
        return
    if output != "table":
        for n in names:
            m = project.models[n]
            click.echo({"name": n, "path": m.display_path, "relation": m.relation}[output])
        return
    rows = [
        (
            n,
            m.kind,
            m.materialized,
            m.relation if m.materialized != "ephemeral" else "-",
            ",".join(m.tags),
            m.display_path,
        )
        for n in names
        for m in [project.models[n]]
    ]
    header = ("name", "kind", "materialized", "relation", "tags", "path")
    click.echo(table(header, rows))
    click.echo(f"\n{len(names)} of {len(project.models)} models")
    if alone:
        from teal.compiler.wording import counted

        click.echo(
            f"and {counted(alone, 'test')} selected by state alone "
            "(`--resource-type test` lists them)"
        )


COMMANDS = (ls,)
