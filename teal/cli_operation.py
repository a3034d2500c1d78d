"""``teal run-operation MACRO --args '{...}'``: call a dbt project's macro against the
warehouse, as ``dbt run-operation`` does (the work is runtime/run_operation.py).

Each line the macro logs with ``{{ log('...', info=True) }}`` is printed as it is logged;
exit 0 when it returns, 1 when it raises (its message at the macro's line), 2 for an
unknown macro, ``--args`` that is not a YAML mapping, or a teal project (no macros).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from teal.cli_support import common_options, handle_errors, open_session, wait_option


@click.command(name="run-operation")
@click.argument("macro")
@common_options
@click.option(
    "--args",
    "args_text",
    default="{}",
    metavar="YAML",
    help="The macro's keyword arguments as a YAML mapping: '{role: reporter, days: 7}'.",
)
@wait_option
@handle_errors
def run_operation(
    macro: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    args_text: str,
    wait: float | None,
) -> None:
    """Call dbt macro MACRO (or PACKAGE.MACRO) with --args, against the warehouse; its
    statements commit when it returns and roll back when it raises."""
    from teal.runtime.run_operation import run_operation as run

    args = _mapping(args_text)
    session = open_session(project_dir, target, warehouse, vars_)
    done = run(session, macro, args, wait=wait, log=click.echo)
    recorded = f" (run {done.run_id})" if done.run_id else ""
    click.echo(f"Ran {macro}{recorded}", err=True)


def _mapping(text: str) -> dict[str, Any]:
    """``--args`` as the mapping dbt reads from it: YAML (so JSON too)."""
    import yaml

    from teal.compiler.errors import ProjectError

    try:
        found = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProjectError(
            f"--args is not YAML: {str(exc).splitlines()[0]}",
            path="--args",
            hint="give a mapping of the macro's arguments: --args '{days: 7, dry_run: true}'",
        ) from None
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise ProjectError(
            f"--args must be a YAML mapping of the macro's arguments, not {type(found).__name__} "
            f"{text!r}",
            path="--args",
            hint="--args '{days: 7, dry_run: true}'",
        )
    return {str(k): v for k, v in found.items()}


COMMANDS = (run_operation,)
