"""``teal retry``: run again what a recorded run did not finish, as a new run.

What to run again is decided from the run store by runtime/retry.py; this module opens
the session the run had (its vars, target, warehouse and partitions) and builds it.
"""

from __future__ import annotations

from pathlib import Path

import click

from teal.cli import build_and_report
from teal.cli_json import emit_json
from teal.cli_support import common_options, handle_errors, open_session, parse_vars, verbose_option


@click.command()
@click.argument("run_ref", metavar="RUN", default="last")
@common_options
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="Models to build at once."
)
@click.option("--fail-fast", "-x", is_flag=True, help="Stop at the first failure.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@verbose_option
@handle_errors
def retry(
    run_ref: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    threads: int | None,
    fail_fast: bool,
    as_json: bool,
    output: str,
) -> None:
    """Run again what RUN did not finish (failed, skipped or never started), as a new run
    with the same partitions, vars and options (RUN: an id, a prefix of one, or `last`)."""
    from teal.compiler.wording import counted
    from teal.runtime.launch import run_options, settings_flags
    from teal.runtime.retry import NothingToRetry, plan_retry, retry_warehouse
    from teal.runtime.runstore import Trigger
    from teal.runtime.runstore.refs import resolve_run
    from teal.runtime.session import RunOptions, Session

    first = open_session(project_dir, target, warehouse, vars_, threads)
    try:
        request = plan_retry(first.run_store(), resolve_run(first.run_store(), run_ref))
    except NothingToRetry as nothing:
        if as_json:  # a build's shape, nothing in it, and why
            emit_json(
                {"retried": None, "message": nothing.message, "success": True, "results": []},
                indent=None,
            )
        else:
            click.echo(nothing.message)
        return
    finally:
        first.close()
    given = parse_vars(vars_) or {}
    for name in sorted(k for k in given if k in request.vars and given[k] != request.vars[k]):
        click.echo(  # a retry finishes the run as it was asked for: said, not ignored
            f"warning: --vars {name}: run {request.parent.run_id} had {name} = "
            f"{request.vars[name]!r}, and its retry keeps it (a new `teal build` takes "
            "other vars)",
            err=True,
        )
    vars_now = {**given, **request.vars}
    target, warehouse = retry_warehouse(request, target, warehouse, first.config.warehouse_path)
    session = Session.open(
        project_dir,
        target=target,
        warehouse=warehouse,
        vars=vars_now,
        threads=threads,
        strategy=first.strategy,
    )
    click.get_current_context().call_on_close(session.close)
    settings = request.settings()
    settings_flags(session, settings)  # before the project loads: its templates read them
    options = run_options(
        session, request.select, request.exclude, request.partitions_asked(), settings
    )
    run = RunOptions(
        command=request.command,
        trigger=Trigger.RETRY,
        parent_run_id=request.parent.run_id,
        fail_fast=fail_fast,
        debug=debug,
        config=request.run_config,
        store_failures=request.store_failures,
        job=request.job,  # a retry of a job's run is a run of that job
        tags=request.tags,
    )
    if not as_json:
        click.echo(
            f"Retrying run {request.parent.run_id} as it was asked for (it failed before its "
            "first step)"
            if request.whole
            else f"Retrying {counted(len(request.models), 'model')} of run {request.parent.run_id}"
        )
    build_and_report(session, request.select, request.exclude, options, run, as_json, output)
