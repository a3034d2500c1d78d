"""``teal run-operation MACRO --args '{...}'``: call a dbt project's macro against the
warehouse, as ``dbt run-operation`` does (the work is runtime/run_operation.py).

Each line the macro logs with ``{{ log('...', info=True) }}`` or prints with ``{{
print('...') }}`` is printed on stdout as it comes (``info=False`` lines are recorded with
the run only); exit 0 when it returns, 1 when it raises (its message at the macro's line),
2 for an unknown macro, arguments it does not take or needs and misses, ``--args`` that is
not a YAML mapping (compiler/config.py's ``parse_vars``, as ``--vars``), or a teal project.
"""

from __future__ import annotations

from pathlib import Path

import click

from teal.cli_support import common_options, handle_errors, open_session, parse_vars, wait_option


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

    args = parse_vars(args_text, path="--args") or {}  # dbt reads --args as it reads --vars
    session = open_session(project_dir, target, warehouse, vars_)
    done = run(session, macro, args, wait=wait, log=click.echo)
    recorded = f" (run {done.run_id})" if done.run_id else ""
    click.echo(f"Ran {macro}{recorded}", err=True)


COMMANDS = (run_operation,)
