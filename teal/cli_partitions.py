"""``teal partitions``: each partition's status, and the keys of dynamic partition sets."""

from __future__ import annotations

from pathlib import Path

import click

from teal.cli_json import emit_json
from teal.cli_support import common_options, handle_errors, open_session, table


class _ShowByDefault(click.Group):
    """``teal partitions MODEL`` shows MODEL's partitions; ``add`` and ``remove`` are
    subcommands."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in self.commands:
            return super().resolve_command(ctx, args)
        return "show", self.commands["show"], args


@click.group(cls=_ShowByDefault)
def partitions() -> None:
    """Show each partition of MODEL (`teal partitions MODEL`), or add and remove the keys of
    a dynamic partition set (`teal partitions add NAME KEY...`)."""


@partitions.command()
@click.argument("model")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the partitions as JSON.")
@click.option(
    "--status",
    "only",
    type=click.Choice(["materialized", "missing", "failed", "stale"]),
    multiple=True,
    help="Show only partitions with this status (repeatable).",
)
@handle_errors
def show(
    model: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    as_json: bool,
    only: tuple[str, ...],
) -> None:
    """Show each partition of MODEL: materialized, missing, failed or stale."""
    rows = open_session(project_dir, target, warehouse, vars_).partitions(model)
    if only:
        rows = [r for r in rows if r["status"] in only]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(
            f"No partition of {model} is {' or '.join(only)}"
            if only
            else f"{model} has no partitions"
        )
        return
    listed = [
        (
            r["key"],
            r["status"],
            "" if r["rows"] is None else f"{r['rows']:,}",
            str(r["built_at"] or "")[:19],
            r["note"] or "",
        )
        for r in rows
    ]
    click.echo(table(("partition", "status", "rows", "built at", "note"), listed))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    click.echo("\n" + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


@partitions.command()
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
@common_options
@handle_errors
def add(
    name: str,
    keys: tuple[str, ...],
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
) -> None:
    """Add KEYS to dynamic partition set NAME (or MODEL's set)."""
    added, _ = open_session(project_dir, target, warehouse, vars_).change_partitions(name, add=keys)
    skipped = [k for k in keys if k not in added]
    click.echo(f"added {len(added)} key{'s' if len(added) != 1 else ''}: {', '.join(added)}")
    if skipped:
        click.echo(f"already there: {', '.join(skipped)}")


@partitions.command()
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
@common_options
@handle_errors
def remove(
    name: str,
    keys: tuple[str, ...],
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
) -> None:
    """Remove KEYS from dynamic partition set NAME (the data of their partitions stays)."""
    _, removed = open_session(project_dir, target, warehouse, vars_).change_partitions(
        name, remove=keys
    )
    click.echo(
        f"removed {len(removed)} key{'s' if len(removed) != 1 else ''}: {', '.join(removed)}"
    )
    absent = [k for k in keys if k not in removed]
    if absent:
        click.echo(f"not in the set: {', '.join(absent)}")
