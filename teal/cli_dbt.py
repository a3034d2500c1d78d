"""Commands a dbt user types: ``teal seed``, ``teal snapshot``, ``teal test``, ``teal parse``,
``teal debug``. They work in any project; in a dbt project (dbt_project.yml) they mean
what dbt's do. ``build``, ``run``, ``compile`` and ``ls`` are teal's own commands, which
read a dbt project as well.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from teal.cli_spread import SpreadingGroup
from teal.cli_support import (
    PROFILES_DIR,
    build_options,
    common_options,
    defer_options,
    handle_errors,
    indirect_option,
    open_session,
    selection_options,
)


def only_resource_type(resource_type: str, select: tuple[str, ...]) -> tuple[str, ...]:
    """The selection intersected with ``resource_type:<type>``."""
    if not select:
        return (f"resource_type:{resource_type}",)
    return tuple(
        " ".join(f"{term},resource_type:{resource_type}" for term in item.split())
        for item in select
    )


def _resource_command(resource_type: str, doc: str) -> click.Command:
    @click.command(name=resource_type, help=doc)
    @build_options
    @handle_errors
    def command(select: tuple[str, ...], **kwargs: Any) -> None:
        from teal.cli import _run
        from teal.compiler.config import find_project
        from teal.compiler.errors import ProjectError

        root = find_project(kwargs.get("project_dir"))
        if (root / "teal.toml").is_file() or not (root / "dbt_project.yml").is_file():
            raise ProjectError(
                f"`teal {resource_type}` builds a dbt project's {resource_type}s, and "
                f"{root} is a teal project",
                hint="a teal project reads CSV files as sources (`type: csv` in a sources "
                "YAML, docs/projects.md#sources)"
                if resource_type == "seed"
                else "a teal project keeps a table's history with an incremental model "
                "(docs/incremental.md)",
            )
        kwargs = dict(kwargs)
        _run(
            resource_type,  # recorded as the command; no tests run, as in dbt seed/snapshot
            project_dir=kwargs.pop("project_dir"),
            target=kwargs.pop("target"),
            warehouse=kwargs.pop("warehouse"),
            vars_=kwargs.pop("vars_"),
            debug=kwargs.pop("debug"),
            select=only_resource_type(resource_type, select),
            exclude=kwargs.pop("exclude"),
            threads=kwargs.pop("threads"),
            fail_fast=kwargs.pop("fail_fast"),
            as_json=kwargs.pop("as_json"),
            changed_only=kwargs.pop("changed_only"),
            inline_views=kwargs.pop("inline_views"),
            **kwargs,
        )

    return command


seed = _resource_command(
    "seed", "Load the selected seeds (CSV files) into tables; --full-refresh reloads them."
)
snapshot = _resource_command(
    "snapshot", "Build the selected snapshots (type-2 history of their queries)."
)


@click.command(name="test")
@selection_options
@common_options
@defer_options
@indirect_option
@click.option("--store-failures", is_flag=True, help="Keep failing rows in teal_failures.<check>.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def test(ctx: click.Context, **kwargs: Any) -> None:
    """Run the tests (checks) of the selected nodes on what is built now, as `dbt test`."""
    from teal.cli import check

    ctx.invoke(check, freshness=False, **kwargs)


@click.command()
@common_options
@handle_errors
def parse(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
) -> None:
    """Read the project (every model, macro, YAML file and test) and report what it holds;
    errors exit 2 with their file, line and column. A dbt project's target/manifest.json
    is written."""
    started = time.perf_counter()
    session = open_session(project_dir, target, warehouse, vars_)
    project = session.project
    elapsed = time.perf_counter() - started
    kinds: dict[str, int] = {}
    for model in project.models.values():
        kind = str(model.config.get("resource_type") or "model")
        kinds[kind] = kinds.get(kind, 0) + 1
    from teal.compiler.wording import counted

    parts = [counted(n, k) for k, n in sorted(kinds.items())]
    parts.append(counted(len(project.checks), "test"))
    parts.append(counted(sum(len(s.tables) for s in project.sources.values()), "source"))
    if project.config.dbt is not None:
        from teal.compiler.dbt.manifest import write_manifest

        write_manifest(project)
    click.echo(f"Parsed {project.config.name}: {', '.join(parts)} in {elapsed:.2f}s")


@click.command(name="debug")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--target", "-t", default=None)
@click.option("--profiles-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.pass_context
def debug_command(
    ctx: click.Context, project_dir: Path | None, target: str | None, profiles_dir: Path | None
) -> None:
    """Check the project file, the profile and its target, the packages and the connection."""
    from teal.compiler.errors import TealError

    if profiles_dir is not None:
        ctx.meta[PROFILES_DIR] = profiles_dir
    ok = True

    def line(label: str, good: bool, detail: str) -> None:
        nonlocal ok
        ok = ok and good
        click.echo(f"  {label:<16} [{'OK' if good else 'ERROR'}] {detail}")

    try:
        session = open_session(project_dir, target, None, None)
    except TealError as exc:
        click.echo(f"{exc}", err=True)
        sys.exit(2)
    cfg = session.config
    click.echo(f"teal debug: {cfg.root}")
    if cfg.dbt is None:
        line("project", True, f"{cfg.config_path.name} (a teal project)")
    else:
        dbt = cfg.dbt
        line("dbt_project.yml", True, f"project {dbt.project.name}")
        line("profiles.yml", True, dbt.target.profiles_path)
        line(
            "target",
            True,
            f"{dbt.target.profile}.{dbt.target.name}: duckdb, schema {dbt.target.schema}, threads {dbt.target.threads}",
        )
        names = ", ".join(p.name for p in dbt.packages) or "none"
        line("packages", True, f"installed: {names}")
    try:
        import duckdb

        path = cfg.warehouse_path
        if str(path) == ":memory:" or not Path(path).exists():
            con = duckdb.connect()
            detail = f"{path} (does not exist yet; a build creates it)"
        else:
            con = duckdb.connect(str(path), read_only=True)
            detail = str(path)
        con.execute("select 1").fetchall()
        con.close()
        line("connection", True, detail)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is reported
        line("connection", False, str(exc).splitlines()[0])
    try:
        project = session.project
        line("load", True, f"{len(project.models)} nodes, {len(project.checks)} tests")
    except TealError as exc:
        line("load", False, str(exc))
    click.echo("All checks passed!" if ok else "Some checks failed.")
    if not ok:
        sys.exit(1)


@click.group(name="docs", cls=SpreadingGroup)
def docs_group() -> None:
    """dbt projects: dbt's documentation artifacts (dbt docs generate)."""


@docs_group.command(name="generate")
@common_options
@handle_errors
def docs_generate(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
) -> None:
    """Write target/manifest.json and target/catalog.json (each built relation's columns
    and types) as dbt docs generate does; `teal ui` shows the same in teal's UI."""
    from teal.compiler.errors import ProjectError
    from teal.runtime.dbt_catalog import write_docs

    session = open_session(project_dir, target, warehouse, vars_)
    if session.config.dbt is None:
        raise ProjectError(
            "docs generate is for dbt projects",
            hint="a teal project's models, columns and lineage are in `teal ui` and `teal ls --json`",
        )
    folder, count = write_docs(session.project)
    click.echo(
        f"Wrote {folder / 'manifest.json'} and {folder / 'catalog.json'} ({count} relations)"
    )


@click.group(name="source", cls=SpreadingGroup)
def source_group() -> None:
    """dbt's source commands (dbt source freshness)."""


@source_group.command(name="freshness")
@common_options
@click.option(
    "--select",
    "-s",
    "select",
    multiple=True,
    help="Source tables to check: source:NAME, source:NAME.TABLE (default: every one).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@handle_errors
def source_freshness(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    select: tuple[str, ...],
    as_json: bool,
) -> None:
    """How recent each source table's data is, from its freshness and loaded_at_field, as
    dbt source freshness says it; exit 1 when one is past its error_after. Recorded as a
    run, as `teal check --freshness` (which also checks models) is."""
    from teal.cli_daemon import _now
    from teal.cli_freshness import emit_freshness
    from teal.compiler.errors import SelectionError, did_you_mean
    from teal.runtime.freshness import evaluate_sources

    session = open_session(project_dir, target, warehouse, vars_)
    tables = sorted(t.key for s in session.project.sources.values() for t in s.tables.values())
    wanted = set()
    for text in select:
        name = text.removeprefix("source:")
        chosen = {k for k in tables if k == name or k.startswith(name + ".")}
        if not chosen:
            raise SelectionError(
                f"{text!r} names no source or source table",
                path="--select",
                hint=did_you_mean(name, tables)
                or (
                    "source tables: " + ", ".join(tables[:10])
                    if tables
                    else "the project declares no sources"
                ),
            )
        wanted |= chosen
    found = evaluate_sources(session.project, _now())
    if select:
        found = [f for f in found if f.model in wanted]
    emit_freshness(session, found, as_json, "No selected source table has a freshness config")


COMMANDS = (seed, snapshot, test, parse, debug_command, docs_group, source_group)
