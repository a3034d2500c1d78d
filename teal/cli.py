"""The ``teal`` command line. Thin: parse flags into options, call the session, print,
choose the exit code.

Exit codes: 0 ok, 1 a build ran and something failed, 2 a project or usage error.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from teal.cli_json import echo_json, emit_json
from teal.cli_spread import SpreadingGroup
from teal.cli_support import (
    DEBUG,
    STRICT,
    build_options,
    common_options,
    defer_options,
    handle_errors,
    indirect_option,
    job_option,
    open_session,
    plan_options,
    selection_options,
    set_indirect,
    setup_logging,
    verbose_option,
)
from teal.compiler.strategy import LoadStrategy

if TYPE_CHECKING:
    from teal.compiler.plan import PlanOptions
    from teal.runtime.session import RunOptions, Session


# the commands defined in the other cli_* modules, by name: a module is imported when one
# of its commands runs (or for --help), so `teal build` pays for no daemon, UI or dbt code
LAZY_COMMANDS: dict[str, str] = {
    **dict.fromkeys(("runs", "logs", "cancel", "migrate", "status"), "teal.cli_runs"),
    "partitions": "teal.cli_partitions",
    "ui": "teal.cli_ui",
    "validate": "teal.cli_lineage",
    "ls": "teal.cli_ls",
    "init": "teal.cli_init",
    "retry": "teal.cli_retry",
    **dict.fromkeys(("automation", "ticks"), "teal.cli_automation"),
    "show": "teal.cli_show",
    "run-operation": "teal.cli_operation",
    **dict.fromkeys(("daemon", "launch", "jobs", "schedules", "sensors"), "teal.cli_daemon"),
    **dict.fromkeys(
        ("seed", "snapshot", "test", "parse", "debug", "docs", "source"), "teal.cli_dbt"
    ),
}


class LazyGroup(SpreadingGroup):
    """A group whose :data:`LAZY_COMMANDS` are imported when asked for by name."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in LAZY_COMMANDS:
            return found
        from importlib import import_module

        module = import_module(LAZY_COMMANDS[cmd_name])
        commands: tuple[click.Command, ...] = getattr(module, "COMMANDS", ())
        for command in (*commands, *vars(module).values()):
            if isinstance(command, click.Command) and command.name == cmd_name:
                return command
        return None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="teal")
@click.option(
    "--strict",
    is_flag=True,
    envvar="TEAL_STRICT",
    help="Treat warnings (YAML describing a model that does not exist, ...) as errors.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks (as `teal COMMAND --debug`).")
def main(strict: bool, debug: bool) -> None:
    """teal: build a DuckDB warehouse from a folder of SQL and Python models."""
    # one project per process, a process of its own: loads may pause the collector, fork
    # helpers and store caches from a forked writer, which is waited for before exiting
    ctx = click.get_current_context()
    ctx.meta[STRICT] = strict
    ctx.meta[DEBUG] = debug
    strategy = LoadStrategy.command_line()
    ctx.obj = strategy
    ctx.call_on_close(strategy.wait)


PARTITION_OPTIONS = (
    "full_refresh",
    "partitions",
    "partition_range",
    "date_from",
    "date_to",
    "missing_only",
    "ignore_failed_upstream",
    "event_time_start",
    "event_time_end",
)


def _run(
    command: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    threads: int | None,
    fail_fast: bool,
    as_json: bool,
    changed_only: bool | None,
    inline_views: bool,
    **partition_opts: Any,
) -> None:
    from teal.runtime.job_errors import located_in_job
    from teal.runtime.run_config import read_run_config
    from teal.runtime.runstore import Trigger
    from teal.runtime.runstore.run_tags import with_tags
    from teal.runtime.session import RunOptions

    run_config = read_run_config(
        partition_opts.pop("config_file", None), partition_opts.pop("config_json", None)
    )
    job_vars, job_name = None, None
    job_tags: tuple[str, ...] = ()
    if partition_opts.get("job"):
        from teal.cli_daemon import apply_job

        job_name = str(partition_opts["job"])
        select, exclude, job_vars, job_tags = apply_job(
            project_dir, job_name, select, exclude, partition_opts
        )
    session = open_session(project_dir, target, warehouse, vars_, threads, base_vars=job_vars)
    set_indirect(session, partition_opts.pop("indirect_selection", None), select)
    from teal.runtime.dbt_flags import dbt_flags

    dbt_flags(
        session,
        empty=bool(partition_opts.pop("empty", False)),
        store_failures=bool(partition_opts.get("store_failures")),
        full_refresh=bool(partition_opts.get("full_refresh")),
    )
    if command == "run" and session.config.dbt is not None:  # dbt run: models, no seeds
        from teal.cli_dbt import only_resource_type

        select = only_resource_type("model", select)
    # binding (located errors, exit 2) happens in Session.build before the warehouse opens
    bind = bool(partition_opts.pop("validate_first", True))
    output = str(partition_opts.pop("output", "normal"))
    options = session.options(
        changed_only=changed_only,
        inline_views=inline_views,
        **{k: v for k, v in partition_opts.items() if k in PARTITION_OPTIONS},
    )
    if command == "backfill" and not (
        partition_opts.get("date_from") or partition_opts.get("date_to")
    ):
        from teal.compiler.frozen import evolve
        from teal.compiler.partition_pass import BACKFILL_FLAG

        options = evolve(options, range_flag=BACKFILL_FLAG)  # errors name the command
    run = RunOptions(
        command=command,
        trigger=Trigger.BACKFILL if command == "backfill" else Trigger.CLI,
        fail_fast=fail_fast,
        store_failures=bool(partition_opts.get("store_failures")),
        debug=debug,
        wait=partition_opts.get("wait"),
        config=run_config,
        bind=bind,
        job=job_name,
        tags=with_tags(job_tags, partition_opts.pop("tags", ())),  # checked: exit 2
    )
    with located_in_job(session.config, job_name):  # the job's selection: at teal.toml
        build_and_report(session, select, exclude, options, run, as_json, output)


def build_and_report(
    session: Session,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    options: PlanOptions,
    run: RunOptions,
    as_json: bool,
    output: str = "normal",
) -> None:
    """Build, print progress (``output``: ``verbose``, a line per partition too; ``quiet``,
    only what went wrong and the summary) or JSON, and exit 1 if anything failed."""
    from teal.runtime.report import ConsoleReporter, SilentReporter

    quiet = output == "quiet"
    reporter = (
        SilentReporter() if as_json else ConsoleReporter(verbose=output == "verbose", quiet=quiet)
    )
    if as_json:  # stdout is the JSON alone: assets' log lines and prints go to stderr
        setup_logging(sys.stderr)
        with contextlib.redirect_stdout(sys.stderr):
            result = session.build(select, exclude, options=options, run=run, reporter=reporter)
    else:
        setup_logging(quiet=quiet)
        result = session.build(select, exclude, options=options, run=run, reporter=reporter)
    if as_json:  # the same shape whether or not anything needed a step
        emit_json(result.to_dict())
    elif result.tests:
        from teal.runtime.tests_alone import tests_alone_lines

        for line in tests_alone_lines(result, quiet=quiet):
            click.echo(line)
    elif not result.results:
        if result.not_run:
            from teal.compiler.wording import counted

            n = len(result.not_run)
            click.echo(
                f"Nothing to build: {counted(n, 'selected model')} "
                f"{'needs' if n == 1 else 'need'} no step (see `teal plan` for why)."
            )
        else:
            click.echo("Nothing to build: the selection contains no buildable models.")
    if not as_json:
        from teal.runtime.tests_alone import checks_not_run_line

        unchecked = checks_not_run_line(result)
        if unchecked:
            click.echo(unchecked)
    if not result.success:
        sys.exit(1)


@main.command()
@build_options
@handle_errors
def build(**options: Any) -> None:
    """Build the selected models, auditing each with its checks before publishing it."""
    _run("build", **options)


@main.command()
@build_options
@handle_errors
def run(**options: Any) -> None:
    """Build the selected models without running their checks."""
    _run("run", **options)


@main.command()
@selection_options
@common_options
@defer_options
@indirect_option
@click.option("--store-failures", is_flag=True, help="Keep failing rows in teal_failures.<check>.")
@click.option(
    "--freshness", is_flag=True, help="Check how recent the selected models' data is instead."
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@handle_errors
def check(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    store_failures: bool,
    freshness: bool,
    as_json: bool,
    indirect_selection: str | None = None,
) -> None:
    """Run the checks of the selected models on what is built now (nothing is rebuilt)."""
    session = open_session(project_dir, target, warehouse, vars_)
    set_indirect(session, indirect_selection, select)
    from teal.runtime.dbt_flags import dbt_flags

    dbt_flags(session, store_failures=store_failures)
    if freshness:
        from teal.cli_freshness import report_freshness

        if session.defer is not None:
            from teal.compiler.errors import ProjectError

            raise ProjectError(
                f"--freshness judges this warehouse's data: {session.defer.flag} does not apply",
                hint=f"drop {session.defer.flag}, or drop --freshness to run the checks",
            )
        report_freshness(session, select, exclude, as_json)
        return
    result = session.check(select, exclude, store_failures=store_failures)
    from teal.cli_check import print_check_run

    print_check_run(result, as_json)
    if not result.success:
        sys.exit(1)


@main.command()
@click.argument("selection")
@common_options
@click.option(
    "--from", "date_from", default=None, metavar="KEY", help="First partition (default: the first)."
)
@click.option(
    "--to",
    "date_to",
    default=None,
    metavar="KEY",
    help="Last partition (default: the last up to now).",
)
@click.option(
    "--only-missing",
    "--missing-only",
    "missing_only",
    is_flag=True,
    help="Only partitions not built successfully yet.",
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="Models to build at once."
)
@click.option("--fail-fast", "-x", is_flag=True, help="Stop at the first failed partition.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@verbose_option
@handle_errors
def backfill(
    selection: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    date_from: str | None,
    date_to: str | None,
    missing_only: bool,
    threads: int | None,
    fail_fast: bool,
    as_json: bool,
    output: str,
) -> None:
    """Build a range of partitions of the selected models (SELECTION: same grammar as -s)."""
    from teal.compiler.selection import named_flag

    with named_flag("backfill SELECTION"):
        _run(
            "backfill",
            project_dir,
            target,
            warehouse,
            vars_,
            debug,
            (selection,),
            (),
            threads,
            fail_fast,
            as_json,
            False,
            False,
            date_from=date_from or "",
            date_to=date_to or "",
            missing_only=missing_only,
            partitions=(),
            # no --from/--to: every partition, first to last (an open range)
            partition_range=None if date_from or date_to else "..",
            full_refresh=False,
            output=output,
        )


@main.command()
@selection_options
@common_options
@plan_options
@defer_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="Output format (text is an EXPLAIN-like table).",
)
@job_option
@click.option(
    "--validate/--no-validate",
    "validate_first",
    default=True,
    help="Bind the selected models edited since they were last built, and what reads them, "
    "as `teal build` binds every model (the default): a plan the edit makes the build refuse "
    "is the same located error, exit 2.",
)
@handle_errors
def plan(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    changed_only: bool | None,
    inline_views: bool,
    as_json: bool,
    fmt: str,
    validate_first: bool,
    **partition_opts: Any,
) -> None:
    """Show what `teal build` would do with the same arguments, without touching data."""
    job_vars = None
    job = partition_opts.pop("job", None)
    if job:
        from teal.cli_daemon import apply_job

        select, exclude, job_vars, _ = apply_job(project_dir, job, select, exclude, partition_opts)
    session = open_session(project_dir, target, warehouse, vars_, base_vars=job_vars)
    options = session.options(
        changed_only=changed_only, inline_views=inline_views, **partition_opts
    )
    from teal.runtime.job_errors import located_in_job

    with located_in_job(session.config, job):  # the job's selection: at teal.toml
        the_plan = session.plan(select, exclude, options)
    if validate_first:  # what an edit makes `teal build` refuse, plan refuses too
        session.bind_edited(select, exclude, the_plan)
    if as_json or fmt == "json":
        echo_json(the_plan.explain("json"))
    else:
        click.echo(the_plan.explain(fmt))


@main.command()
@selection_options
@common_options
@defer_options
@handle_errors
def compile(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """Render and compile models into target/ (compiled SQL and manifest.json)."""
    session = open_session(project_dir, target, warehouse, vars_)
    compiled = session.compile(select, exclude)
    project = session.project
    stats = project.stats
    click.echo(
        f"Compiled {compiled.written} of {len(project.models)} models into {compiled.folder} "
        f"({stats.get('parsed', 0)} SQL parses, {stats.get('cache_hits', 0)} cache hits"
        + (
            "; unchanged since the last compile: nothing checked or written)"
            if compiled.reused
            else ")"
        )
    )
    click.echo(compiled.resolution)


@main.command()
@click.argument("model")
@common_options
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Levels to show each way.")
@click.option("--upstream/--no-upstream", default=True, help="Show what MODEL reads.")
@click.option("--downstream/--no-downstream", default=True, help="Show what reads MODEL.")
@click.option("--json", "as_json", is_flag=True, help="Print ancestors and descendants as JSON.")
@click.option("--dot", "as_dot", is_flag=True, help="Print a column's graph as Graphviz dot.")
@handle_errors
def lineage(
    model: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    depth: int | None,
    upstream: bool,
    downstream: bool,
    as_json: bool,
    as_dot: bool,
) -> None:
    """Show the upstream and downstream tree of MODEL, or of a column: MODEL.COLUMN."""
    from teal.cli_lineage import print_column_lineage
    from teal.compiler.lineage_view import lineage_json, lineage_tree

    session = open_session(project_dir, target, warehouse, vars_)
    fmt = "json" if as_json else "dot" if as_dot else "text"
    if print_column_lineage(
        session, model, depth=depth, upstream=upstream, downstream=downstream, fmt=fmt
    ):
        return
    project = session.project
    model = project.model(model).name  # a relation name works too; unknown: a suggestion
    if as_json:
        emit_json(lineage_json(project, model, depth))
    else:
        click.echo(
            lineage_tree(project, model, depth=depth, upstream=upstream, downstream=downstream)
        )


def console() -> None:
    """The ``teal`` command: :func:`main`, then the process ends without freeing its heap.

    Python's own exit frees every object the command made one by one (after a cold
    compile, millions of parse-tree nodes), although the process is about to go. With no
    other thread left, what that exit would still do that matters is done here (atexit
    handlers, which close logging; flushing the output streams) and the process then
    ends at once, as mypy's command line does. Files and databases are closed by the
    commands themselves (a session's run store with its command's context: cli_support.
    open_session); a thread still running (the UI's server, the daemon) gets Python's
    ordinary exit, which waits for it."""
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if threading.active_count() > 1:
        raise SystemExit(code)
    status = code if isinstance(code, int) else 0 if code is None else 1
    if not isinstance(code, int) and code is not None:
        print(code, file=sys.stderr)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed (`teal build 1>&-`)
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (teal ... | head): nothing to say
            pass
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    console()
