"""``teal daemon``, ``teal launch``, ``teal jobs``, ``teal schedules`` and ``teal sensors``:
running without a person at the keyboard (runtime/daemon.py)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from teal.cli_json import emit_json, utc_iso
from teal.cli_support import common_options, handle_errors, open_session, setup_logging, table
from teal.compiler.config import ProjectConfig, load_config
from teal.compiler.errors import ProjectError, SelectionError
from teal.daemon_output import TickLines, ended, say

if TYPE_CHECKING:
    from teal.runtime.runstore import RunRecord, RunStore

POLL_S = 0.5  # how often the daemon steps: a tick becomes a started run within about this


def _config(project_dir: Path | None) -> ProjectConfig:
    return load_config(project_dir)


def _checked_config(project_dir: Path | None) -> ProjectConfig:
    """The project config, with what its jobs, schedules and sensors name checked against
    the project (runtime/automation_check.py) as warnings: a listing, or the daemon, is
    not stopped by a model being edited (``teal validate`` makes them errors)."""
    from teal.compiler.errors import TealError
    from teal.runtime.automation_check import automation_errors

    config = _config(project_dir)
    automation = config.automation
    if (
        not (automation.jobs or automation.schedules or automation.sensors)
        and not (config.root / "sensors").is_dir()
    ):
        return config
    session = open_session(project_dir, None, None, None)
    try:
        problems = automation_errors(session)
    except TealError as exc:  # the project does not load now: nothing to check against
        problems = []
        click.echo(
            f"warning: what jobs, schedules and sensors name is not checked: {exc}", err=True
        )
    for problem in problems:
        problem.spot_in(config.root)
        click.echo(f"warning: {problem}", err=True)
    return session.config


def _now() -> datetime:
    """Naive UTC now; ``TEAL_NOW`` (an ISO time, UTC when it has no zone) fixes it."""
    from teal.runtime.options import clock_from_env

    fixed = clock_from_env()
    if fixed is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return fixed.astimezone(UTC).replace(tzinfo=None) if fixed.tzinfo else fixed


@click.command()
@common_options
@click.option("--once", is_flag=True, help="Evaluate once, run what is queued, then exit.")
@handle_errors
def daemon(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    once: bool,
) -> None:
    """Evaluate schedules and sensors, queue their runs and launch them one at a time."""
    from teal.runtime.daemon import DaemonLock, open_daemon
    from teal.runtime.runstore.lost import StoreLost

    if target or warehouse or vars_:  # hidden from --help: each run is as its job says
        flag = "--target" if target else "--warehouse" if warehouse else "--vars"
        raise SelectionError(
            "the daemon runs the project as configured",
            path=flag,
            hint="give a job its vars in its table: [jobs.<name>] in teal.toml "
            "([tool.teal.jobs.<name>] in pyproject.toml)"
            if flag == "--vars"
            else "run a daemon from the project whose warehouse it builds (TEAL_RUN_STORE "
            "chooses its run store)",
        )

    show = TickLines()
    if debug:
        _show_debug_lines()
    _checked_config(project_dir)  # what it would run exists, before the first tick
    d = open_daemon(project_dir, on_tick=show)
    lock = DaemonLock(d.config.root / ".teal" / "daemon.lock")
    lock.acquire()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    failed = 0
    lost: list[StoreLost] = []  # the run store's outage, reported once

    def step() -> None:
        try:
            _refuse_newer_store(d.store)
            try:
                d.step(_now())
            finally:  # the skipped ticks it held, said before what follows
                show.flush()
        except StoreLost as exc:  # a restart or a failover: the next step connects again
            if once:
                raise
            if not lost:
                say(exc.to_daemon(), err=True)  # its hint is the daemon's, not a build's
            lost[:] = [exc]
            return
        if lost:
            say("the run store is back")
            lost.clear()

    try:
        automation = d.config.automation
        if not once:
            say(
                f"teal daemon for {d.config.name}: {len(automation.schedules)} schedules, "
                f"{len(automation.sensors)} sensors (pid {_pid()}); Ctrl-C stops it"
            )
        step()
        if d.running is not None and not once:
            say(f"launched run {d.running.run_id}")
        while once and d.running is not None:  # run what is queued, one run at a time
            code, run_id = _wait(d.running), d.running.run_id
            failed += code != 0
            d.reap()
            say(ended(d.store, run_id, code))
            d.launch_next()  # None when a run started elsewhere holds the warehouse
        if once:
            _say_left_queued(d.store, d.ticks.queued())
        while not once and not stop.is_set():
            stop.wait(POLL_S)
            running = d.running
            step()  # reaps the run that ended, and settles it
            if running is not None and d.running is not running:
                say(ended(d.store, running.run_id, running.poll()))
            if d.running is not None and d.running is not running:
                say(f"launched run {d.running.run_id}")
    finally:
        if d.running is not None and not once:
            say(f"stopping: run {d.running.run_id} goes on to its end")
        lock.release()
        d.store.close()
    if failed:
        sys.exit(1)


for _param in daemon.params:  # common_options gives every command these; not the daemon
    if isinstance(_param, click.Option) and _param.name in ("target", "warehouse", "vars_"):
        _param.hidden = True


def _show_debug_lines() -> None:
    """``teal daemon --debug`` prints the daemon's debug lines too (each load of the
    project, runtime/daemon_load.py), stamped as its other lines."""
    import logging

    class _Said(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            say(f"debug: {record.getMessage()}")

    logger = logging.getLogger("teal.daemon")
    logger.addHandler(_Said())
    logger.setLevel(logging.DEBUG)


def _say_left_queued(store: RunStore, queued: Sequence[RunRecord]) -> None:
    """`teal daemon --once` launches nothing while a run is in progress (it may hold the
    warehouse): say which run its queued runs wait for, where it exited saying nothing, as
    if it had run what was queued (a run a dead machine left started held them for ever)."""
    from teal.runtime.runstore.records import IN_PROGRESS

    active = store.runs(status=list(IN_PROGRESS), limit=1) if queued else []
    if active:
        held = active[0]
        say(
            f"{len(queued)} queued run{'s' if len(queued) != 1 else ''} left queued: run "
            f"{held.run_id} is {held.status.value} on {held.host or 'an unknown host'} "
            f"(`teal runs show {held.run_id}`; `teal cancel {held.run_id}` if it is not "
            "running any more)"
        )


def _refuse_newer_store(store: RunStore) -> None:
    """Stop when a newer teal migrated the run store while this daemon ran: upgraded in
    place, the runs it launches run the new teal, which migrates the store the first time
    it opens it, and this process's writes (ticks, cursors, queued runs) are of the schema
    it knew. Checked at each step (one query); it was checked only as the daemon opened the
    store, so a daemon from before a migration went on writing into the migrated one."""
    from teal.compiler.errors import WarehouseError
    from teal.runtime.runstore.schema import LATEST

    found = store.schema_version()
    if found > LATEST:
        raise WarehouseError(
            f"the run store {store.location} was migrated to schema version {found} by a "
            f"newer teal while this daemon ran; its teal knows schema version {LATEST}: the "
            "daemon stops before it writes what that version does not expect",
            path="run_store",
            hint="start the daemon again with the newer teal (a systemd unit with "
            "Restart=always does it)",
        )


def _wait(handle: Any) -> int:
    process = getattr(handle, "process", None)
    if process is not None:
        return int(process.wait())
    code = handle.poll()
    return int(code or 0)


def _pid() -> int:
    import os

    return os.getpid()


@click.command()
@click.argument("run_id", metavar="RUN")
@common_options
@handle_errors
def launch(
    run_id: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
) -> None:
    """Carry out queued run RUN (what the daemon starts for each run)."""
    from teal.runtime.launch import launch_queued
    from teal.runtime.report import ConsoleReporter

    setup_logging()
    ctx = click.get_current_context(silent=True)
    from teal.compiler.strategy import LoadStrategy

    strategy = ctx.find_object(LoadStrategy) if ctx is not None else None
    result = launch_queued(project_dir, run_id, reporter=ConsoleReporter(), strategy=strategy)
    if not result.results:
        click.echo("Nothing to build.")
    if not result.success:
        sys.exit(1)


@click.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
@handle_errors
def jobs(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    as_json: bool,
) -> None:
    """List the project's jobs (run one with `teal build --job NAME`)."""
    automation = _checked_config(project_dir).automation
    found = automation.jobs
    if as_json:
        emit_json(
            [
                {
                    "name": j.name,
                    "select": list(j.select),
                    "exclude": list(j.exclude),
                    "vars": j.vars,
                    "partitions": list(j.partitions),
                    "tags": list(j.tags),
                    "priority": j.priority,
                    "max_concurrent_runs": j.max_concurrent_runs,
                    "description": j.description,
                }
                for j in found.values()
            ]
        )
        return
    if not found:
        click.echo(f"No jobs: declare them under {automation.jobs_header} (docs/automation.md).")
        return
    rows = [
        (j.name, " ".join(j.select) or "(all)", " ".join(j.exclude), j.description)
        for j in found.values()
    ]
    click.echo(table(("job", "select", "exclude", "description"), rows))


@click.group(invoke_without_command=True)
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the schedules as JSON.")
@click.pass_context
@handle_errors
def schedules(
    ctx: click.Context,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    as_json: bool,
) -> None:
    """List the schedules with their next ticks (`teal schedules preview NAME`)."""
    if ctx.invoked_subcommand is not None:
        return
    from teal.cli_automation import tick_json
    from teal.runtime.automation_rows import schedule_row
    from teal.runtime.last_ticks import automation_state, tick_note

    now = _now()
    config = _checked_config(project_dir)
    paused, last = automation_state(config, [f"schedule:{s}" for s in config.automation.schedules])
    rows = [
        {
            **schedule_row(s, now),
            "paused": f"schedule:{s.name}" in paused,
            "last_tick": tick_json(last.get(f"schedule:{s.name}")),  # what the daemon did
        }
        for s in config.automation.schedules.values()
    ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No schedules: declare them under [tool.teal.schedules.<name>].")
        return
    click.echo(
        table(
            ("schedule", "cron", "timezone", "runs", "next tick", "last tick"),
            [
                (
                    r["name"],
                    r["cron"],
                    r["timezone"],
                    r["runs"] + (" (closed partition)" if r["partition"] else ""),
                    "(paused)" if r["paused"] else r["next_tick"] or "(disabled)",
                    tick_note(last.get(f"schedule:{r['name']}"), now),
                )
                for r in rows
            ],
        )
    )


@schedules.command()
@click.argument("name")
@common_options
@click.option("--count", type=click.IntRange(min=1), default=5, help="How many ticks.")
@click.option("--json", "as_json", is_flag=True, help="Print the ticks as JSON.")
@handle_errors
def preview(
    name: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    count: int,
    as_json: bool,
) -> None:
    """Show the next ticks of schedule NAME and what each would run."""
    from teal.compiler.errors import did_you_mean
    from teal.runtime.closed_partitions import NoPartitionClosed, partition_finder

    config = _config(project_dir)
    found = config.automation.schedules
    if name not in found:
        raise SelectionError(
            f"no schedule '{name}'",
            path="NAME",
            hint=did_you_mean(name, found) or "`teal schedules` lists them",
        )
    schedule = found[name]
    finder = partition_finder(config)
    rows = []
    from teal.compiler.automation import next_ticks

    for tick in next_ticks(schedule, _now().replace(tzinfo=UTC), count):
        partitions: list[str] = []
        note, skipped = "", False
        if schedule.partition == "closed":
            try:
                partitions = list(finder(schedule.target, schedule, tick.replace(tzinfo=None)))
            except ProjectError as exc:  # this tick fails (none closed yet); later ones may not
                note, skipped = exc.message, isinstance(exc, NoPartitionClosed)
        rows.append(
            {
                "tick": tick.astimezone(schedule.zone).isoformat(),
                "tick_utc": utc_iso(tick),
                "runs": schedule.target.describe(),
                "partitions": partitions,
                "partition": partitions[0] if len(partitions) == 1 else None,  # as before
                "problem": note or None,
                "skipped": skipped,  # nothing to build (past the definition's end)
            }
        )
    if as_json:
        emit_json(rows)
        return

    def shown(row: Mapping[str, object]) -> str:
        keys = row["partitions"]
        assert isinstance(keys, list)
        if row["problem"]:
            return f"({'skipped' if row['skipped'] else 'fails'}: {row['problem']})"
        return ", ".join(keys) if len(keys) <= 3 else f"{keys[0]} .. {keys[-1]} ({len(keys)})"

    click.echo(
        table(("tick", "runs", "partitions"), [(r["tick"], r["runs"], shown(r)) for r in rows])
    )


@click.group(invoke_without_command=True)
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the sensors as JSON.")
@click.pass_context
@handle_errors
def sensors(
    ctx: click.Context,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    as_json: bool,
) -> None:
    """List the sensors: what they watch and what they run (`teal sensors pause NAME`)."""
    if ctx.invoked_subcommand is not None:
        return
    from teal.cli_automation import tick_json
    from teal.runtime.automation_rows import sensor_rows
    from teal.runtime.last_ticks import automation_state, tick_note

    config = _checked_config(project_dir)
    listed = sensor_rows(config, _conditioned(project_dir))
    paused, last = automation_state(config, [f"sensor:{r['name']}" for r in listed])
    rows = [
        {
            **r,
            "paused": f"sensor:{r['name']}" in paused,
            "last_tick": tick_json(last.get(f"sensor:{r['name']}")),  # a sensor failing
        }
        for r in listed
    ]
    now = _now()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No sensors: declare them under [tool.teal.sensors.<name>] or in sensors/.")
        return
    click.echo(
        table(
            ("sensor", "watches", "runs", "partition from", "state"),
            [
                (
                    r["name"],
                    r["watches"],
                    r["runs"],
                    r["partition_from"] or "",
                    ("paused" if r["paused"] else "on" if r["enabled"] else "disabled")
                    + (
                        f" (last tick {n})"
                        if (n := tick_note(last.get(f"sensor:{r['name']}"), now))
                        else ""
                    ),
                )
                for r in rows
            ],
        )
    )


def _conditioned(project_dir: Path | None) -> list[str]:
    """The models with an automation condition (none when the project does not load: the
    listing of the other sensors goes on)."""
    from teal.compiler.errors import TealError
    from teal.runtime.automation_conditions import conditions_of

    try:
        return sorted(conditions_of(open_session(project_dir, None, None, None).project))
    except TealError:
        return []


def _pause_command(group: click.Group, kind: str, paused: bool) -> None:
    """``teal schedules pause NAME`` and its kin: the daemon skips a paused one's ticks."""
    verb = "pause" if paused else "resume"

    @group.command(name=verb, help=f"{verb.capitalize()} {kind} NAME (as the UI's button does).")
    @click.argument("name")
    @common_options
    @handle_errors
    def command(
        name: str,
        project_dir: Path | None,
        target: str | None,
        warehouse: str | None,
        vars_: str | None,
        debug: bool,
    ) -> None:
        from teal.runtime.pausing import set_paused

        set_paused(_config(project_dir), kind, name, paused)
        click.echo(
            f"{kind.capitalize()} {name} is paused: the daemon skips its ticks until "
            f"`teal {kind}s resume {name}`"
            if paused
            else f"{kind.capitalize()} {name} runs again from its next tick"
        )


for _group, _kind in ((schedules, "schedule"), (sensors, "sensor")):
    _pause_command(_group, _kind, True)
    _pause_command(_group, _kind, False)


def apply_job(
    project_dir: Path | None,
    name: str,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    partition_opts: dict[str, Any],
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, Any], tuple[str, ...]]:
    """``--job NAME``: the job's selection (with any --exclude added), its vars, its tags,
    and its partitions unless partitions were given."""
    from teal.runtime.launch import job_request

    given = any(partition_opts.get(k) for k in ("partitions", "partition_range", "date_from"))
    found = job_request(
        load_config(project_dir).automation.job(name), select, exclude, partitions_given=given
    )
    if found.partitions is not None:
        partition_opts["partitions"] = tuple(k for k in found.partitions if ".." not in k)
        ranges = [k for k in found.partitions if ".." in k]
        partition_opts["partition_range"] = ranges[0] if ranges else None
    if found.full_refresh:
        partition_opts["full_refresh"] = True
    return found.select, found.exclude, found.vars, found.tags


COMMANDS = (daemon, launch, jobs, schedules, sensors)
