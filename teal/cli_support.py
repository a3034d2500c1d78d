"""What every ``teal`` command shares: project options, error handling, the session, tables.

Exit codes: 0 ok, 1 a build ran and something failed, 2 a project or usage error.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

from teal.cli_defer import DEFER, dbt_environment, defer_options, deferral_of
from teal.cli_json import emit_json, error_json, json_stdout, wants_json
from teal.compiler.config import parse_vars
from teal.compiler.errors import ErrorGroup, ProjectError, TealError, raise_all

if TYPE_CHECKING:
    from teal.runtime.session import Session


PROFILES_DIR = "teal.profiles_dir"
STATE_DIR = "teal.state_dir"  # dbt's --state: the folder of a previous manifest.json


def _keep_profiles_dir(ctx: click.Context, _param: Any, value: Path | None) -> None:
    if value is not None:
        ctx.meta[PROFILES_DIR] = value


def _keep_state_dir(ctx: click.Context, _param: Any, value: Path | None) -> None:
    if value is not None:
        ctx.meta[STATE_DIR] = value


def _group_debug() -> bool:
    """``teal --debug COMMAND`` as ``teal COMMAND --debug``."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(DEBUG))


def _keep_strict(ctx: click.Context, _param: Any, value: bool) -> None:
    if value:  # `teal build --strict` as `teal --strict build`
        ctx.meta[STRICT] = True


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--project-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Project folder (default: nearest with teal.toml / [tool.teal]).",
        ),
        click.option("--target", "-t", default=None, help="Named target from [targets.<name>]."),
        click.option(
            "--warehouse", default=None, help="DuckDB file to use instead of the configured one."
        ),
        click.option(
            "--vars", "vars_", default=None, help="YAML mapping of vars, e.g. '{day: 2026-01-01}'."
        ),
        click.option(
            "--debug",
            is_flag=True,
            default=_group_debug,
            show_default=False,
            help="Show tracebacks.",
        ),
        click.option(
            "--strict",
            is_flag=True,
            expose_value=False,
            callback=_keep_strict,
            help="Treat warnings as errors (as `teal --strict COMMAND`).",
        ),
        click.option(
            "--profiles-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            expose_value=False,
            callback=_keep_profiles_dir,
            help="dbt projects: the folder holding profiles.yml (default: "
            "DBT_PROFILES_DIR, the project, then ~/.dbt).",
        ),
        click.option(
            "--state",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            expose_value=False,
            callback=_keep_state_dir,
            help="dbt projects: the folder of a previous manifest.json that state:modified "
            "and state:new compare with (dbt's --state).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def with_selectors(*args: Any, selector: tuple[str, ...] = (), **kwargs: Any) -> Any:
        # dbt's `--selector NAME` is `-s selector:NAME`, added to what -s selects
        if selector:
            named = tuple(f"selector:{name}" for name in selector)
            kwargs["select"] = (*(kwargs.get("select") or ()), *named)
        return command(*args, **kwargs)

    func = click.option(
        "--selector",
        multiple=True,
        help="A named selector (selectors.yml, [selectors]): as -s selector:NAME (dbt's flag).",
    )(with_selectors)
    func = click.option("--exclude", multiple=True, help="Models to leave out (same grammar).")(
        func
    )
    func = click.option(
        "--select",
        "-s",
        multiple=True,
        help="Models to include: name, +name, name+, folder, tag:x, ...",
    )(func)
    return func


def indirect_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """dbt's ``--indirect-selection``, read by :func:`set_indirect`."""
    return click.option(
        "--indirect-selection",
        "indirect_selection",
        default=None,
        metavar="eager|cautious|buildable|empty",
        help="How a test with several parents (a relationships test) is selected, as in "
        "dbt: eager (default) when any parent is selected, cautious when all are, buildable "
        "when all are or are ancestors of selected models, empty never (only the tests the "
        "selection names). dbt projects read DBT_INDIRECT_SELECTION too.",
    )(func)


def set_indirect(session: Session, flag: str | None, select: tuple[str, ...]) -> None:
    """The session's indirect selection: a named selector's (selectors.yml), the flag's,
    ``DBT_INDIRECT_SELECTION`` (dbt projects) or eager; an unknown value exits 2."""
    from teal.compiler.indirect_selection import indirect_mode, selector_mode

    named = selector_mode(session.config.selectors, select)
    session.indirect_selection = indirect_mode(flag, session.config.dbt is not None, named)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context(silent=True)
        # `teal --debug build` as `teal build --debug`
        debug = kwargs.get("debug", False) or bool(ctx is not None and ctx.meta.get(DEBUG))
        as_json = wants_json(kwargs)  # stdout is the JSON alone (teal/cli_json.py)
        try:
            with json_stdout() if as_json else contextlib.nullcontext():
                return func(*args, **kwargs)
        except TealError as exc:
            if debug:
                traceback.print_exc()
            _spot(exc, kwargs.get("project_dir"))
            if isinstance(exc, ErrorGroup):  # each error starts its own `path:line:col:` line
                click.echo(f"{exc}\n\n{exc.message}", err=True)
            else:
                click.echo(
                    f"error: {exc}" if exc.path is None and exc.line is None else str(exc), err=True
                )
            if as_json:
                emit_json(error_json(exc), indent=None)  # one line: JSON lines too
            sys.exit(exc.exit_code)
        except KeyboardInterrupt as exc:  # a build's says what it stopped (runtime/cancel.py)
            click.echo(f"interrupted: {str(exc) or 'nothing half-written was committed'}", err=True)
            hint = getattr(exc, "hint", None)
            if hint:
                click.echo(f"  hint: {hint}", err=True)
            code = getattr(exc, "exit_code", 130)  # 128 + the signal (Ctrl-C: 130)
            if as_json:
                said = str(exc) or "nothing half-written was committed"
                stopped = {
                    "success": False,
                    "exit_code": code,
                    "interrupted": True,
                    "message": said,
                }
                emit_json(stopped, indent=None)
            if getattr(exc, "at_once", False):
                _exit_now(code)
            sys.exit(code)

    return wrapper


def _exit_now(code: int) -> NoReturn:
    """Exit without waiting for the threads left running (a build stopped by a second
    Ctrl-C leaves its steps' threads, which can commit nothing: Python would wait for
    them to end)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _spot(error: TealError, project_dir: object) -> None:
    """Give a line-only location its column (compiler.errors.TealError.spot_in); the
    project is the one the command ran in, if there is one."""
    from teal.compiler.config import find_project

    try:
        root = find_project(project_dir if isinstance(project_dir, Path) else None)
    except TealError:
        return
    error.spot_in(root)


def open_session(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    threads: int | None = None,
    base_vars: dict[str, Any] | None = None,
    profiles_dir: Path | None = None,
) -> Session:
    """The session every command runs through (flags that choose the project);
    ``base_vars`` (a job's) are overridden by ``--vars``."""
    from teal.compiler.strategy import LoadStrategy
    from teal.runtime.session import Session

    # the command line's load strategy (set by the `teal` group; absent when a command is
    # invoked on its own, as in tests of one command)
    ctx = click.get_current_context(silent=True)
    strategy = ctx.find_object(LoadStrategy) if ctx is not None else None
    session = Session.open(
        project_dir,
        target=target,
        warehouse=warehouse,
        vars={**(base_vars or {}), **(parse_vars(vars_) or {})} or None,
        threads=threads,
        strategy=strategy,
        profiles_dir=profiles_dir if profiles_dir is not None else _profiles_dir(),
    )
    state_dir = ctx.meta.get(STATE_DIR) if ctx is not None else None
    if state_dir is not None:
        compare_with_manifest(session, Path(state_dir))
    asked = ctx.meta.get(DEFER) if ctx is not None else None
    if session.config.dbt is not None:  # dbt's environment variables, as dbt reads them
        asked = dbt_environment(asked or {})
        if state_dir is None and os.environ.get("DBT_STATE", os.environ.get("DBT_ENGINE_STATE")):
            state_dir = Path(os.environ.get("DBT_STATE") or os.environ["DBT_ENGINE_STATE"])
            compare_with_manifest(session, state_dir)
    if asked:
        deferral_of(session, asked, Path(state_dir).resolve() if state_dir else None)
    session.on_warnings = functools.partial(
        report_warnings,
        root=session.config.root,
        strict=bool(ctx is not None and ctx.meta.get(STRICT)),
    )
    # the run store is closed with the command: teal.cli.console's exit does not close
    # it, and closing is when SQLite folds its write-ahead log into the file
    if ctx is not None:
        ctx.call_on_close(session.close)
    return session


def compare_with_manifest(session: Session, state_dir: Path) -> None:
    """``--state DIR``: the dbt project's state: selectors compare with DIR/manifest.json."""
    import dataclasses

    if session.config.dbt is None:
        raise ProjectError(
            "--state is for dbt projects",
            hint="in a teal project, state:modified compares with what the warehouse last built",
        )
    dbt = dataclasses.replace(session.config.dbt, state_dir=state_dir.resolve())
    session.config = dataclasses.replace(session.config, dbt=dbt)


def _profiles_dir() -> Path | None:
    """--profiles-dir of the command being run (every command that takes project options
    has it), so that commands need not pass it through."""
    ctx = click.get_current_context(silent=True)
    value = ctx.meta.get(PROFILES_DIR) if ctx is not None else None
    return Path(value) if value else None


# where the `teal` group keeps --strict and --debug for its commands (click's
# per-invocation meta)
STRICT = "teal.strict"
DEBUG = "teal.debug"


def report_warnings(warnings: tuple[TealError, ...], *, root: Path, strict: bool) -> None:
    """Print a load's warnings to stderr, or under ``--strict`` raise them as errors;
    located like errors (``path:line:col``, TealError.spot_in)."""
    if strict:
        raise_all(list(warnings))
    for warning in warnings:
        warning.spot_in(root)
        click.echo(f"warning: {warning}", err=True)


def setup_logging(stream: IO[str] | None = None, quiet: bool = False) -> None:
    """Assets' ``context.log`` lines to ``stream`` (stdout; stderr when stdout is JSON);
    ``quiet``: warnings and errors only."""

    class _AssetFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return f"    [{record.name.rsplit('.', 1)[-1]}] {record.getMessage()}"

    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(_AssetFormatter())
    logger = logging.getLogger("teal.asset")
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    # the terminal shows info and up (warnings with -q); the run's log keeps debug lines too
    handler.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False


def partition_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--to",
        "date_to",
        default=None,
        metavar="KEY",
        help="Last partition of a range (with --from).",
    )(func)
    func = click.option(
        "--from",
        "date_from",
        default=None,
        metavar="KEY",
        help="First partition of a range (with --to; either may be left out).",
    )(func)
    func = click.option(
        "--event-time-end",
        default=None,
        metavar="TIME",
        help="dbt microbatch models: build the batches before TIME (with --event-time-start).",
    )(func)
    func = click.option(
        "--event-time-start",
        default=None,
        metavar="TIME",
        help="dbt microbatch models: build the batches from TIME (with --event-time-end).",
    )(func)
    func = click.option(
        "--partition-range",
        default=None,
        metavar="FIRST..LAST",
        help="Build the partitions from FIRST to LAST (inclusive).",
    )(func)
    func = click.option(
        "--partition",
        "partitions",
        multiple=True,
        metavar="KEY",
        help="Build this partition (repeat, or separate keys with commas).",
    )(func)
    func = click.option(
        "--only-missing",
        "--missing-only",
        "missing_only",
        is_flag=True,
        help="Partitioned models: build only partitions never built successfully, not stale ones.",
    )(func)
    func = click.option(
        "--full-refresh",
        is_flag=True,
        help="Rebuild incremental models from scratch (all partitions).",
    )(func)
    return func


def plan_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = partition_options(func)
    func = click.option(
        "--ignore-failed-upstream",
        is_flag=True,
        help="Build models downstream of an error check that failed in an earlier run "
        "(skipped until it passes again); each such model is logged.",
    )(func)
    func = click.option(
        "--inline-views",
        is_flag=True,
        help="Inline views read by one model of this build instead of creating them.",
    )(func)
    func = click.option(
        "--changed-only/--all",
        "changed_only",
        default=None,
        help="Skip models unchanged since their last successful build.",
    )(func)
    return func


def wait_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--wait [SECONDS]``: wait for a warehouse another process holds (build, run-operation)."""
    return click.option(
        "--wait",
        type=click.FloatRange(min=0),
        is_flag=False,
        flag_value=600.0,
        default=None,
        metavar="[SECONDS]",
        help="While another process holds the warehouse, wait for it (default 600 s) "
        "instead of failing.",
    )(func)


def job_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--job NAME``: a job's selection, vars and partitions (teal/cli_daemon.py apply_job)."""
    return click.option(
        "--job",
        default=None,
        metavar="NAME",
        help="Run job NAME: its selection, vars and partitions (`teal jobs` lists them).",
    )(func)


def verbose_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``-v``/``--verbose`` (a progress line per partition, not one per partitioned model)
    and ``-q``/``--quiet`` (only what went wrong, and the summary): the parameter
    ``output``, ``"verbose"``, ``"quiet"`` or ``"normal"``."""
    func = click.option(
        "--quiet",
        "-q",
        "output",
        flag_value="quiet",
        help="Print only failures, skips, checks that did not pass, warnings and the summary "
        "(no line per model built; assets' info log lines left out).",
    )(func)
    return click.option(
        "--verbose",
        "-v",
        "output",
        flag_value="verbose",
        default="normal",
        help="Print a line per partition as it finishes (default: a partitioned model's "
        "partitions are counted on its one line).",
    )(func)


def build_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = plan_options(func)
    func = click.option(
        "--config",
        "config_file",
        default=None,
        metavar="FILE",
        help="Run config from a YAML or JSON file: {model: {field: value}} for the "
        "teal.Config of Python models.",
    )(func)
    func = click.option(
        "--config-json",
        default=None,
        metavar="JSON",
        help='Run config as JSON: \'{"forecast": {"days": 3}}\'.',
    )(func)
    func = wait_option(func)
    func = job_option(func)
    func = click.option(
        "--tag",
        "tags",
        multiple=True,
        metavar="KEY=VALUE",
        help="Tag the run (repeatable; a bare NAME too), beside its job's tags: `teal runs "
        "--tag KEY[=VALUE]` lists the runs with it.",
    )(func)
    func = click.option(
        "--store-failures",
        is_flag=True,
        help="Keep failing rows of checks in teal_failures.<check>.",
    )(func)
    func = click.option(
        "--validate/--no-validate",
        "validate_first",
        default=True,
        help="Bind every selected model's columns before any data changes (the default): "
        "a missing column or a broken contract fails with its location, exit 2.",
    )(func)
    func = click.option(
        "--empty",
        is_flag=True,
        help="dbt projects: build every relation with no rows (refs and sources read nothing), "
        "to check the SQL runs.",
    )(func)
    func = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)
    func = defer_options(func)
    func = verbose_option(func)
    func = indirect_option(func)
    func = click.option("--fail-fast", "-x", is_flag=True, help="Stop at the first failure.")(func)
    func = click.option(
        "--threads",
        type=click.IntRange(min=1),
        default=None,
        help="Models to build at once (default: config or cores).",
    )(func)
    return selection_options(common_options(func))


def table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    widths = (
        [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        if rows
        else [len(h) for h in header]
    )
    lines = [
        "  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for row in rows:
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    return "\n".join(lines)
