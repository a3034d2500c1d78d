"""``teal runs``, ``teal logs``, ``teal migrate`` and ``teal status``: reading the run store.

They read the store, never the warehouse, so they work from a second terminal while a
build holds the warehouse.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from teal.cli_json import emit_json, utc_iso
from teal.cli_support import common_options, handle_errors, open_session, table
from teal.compiler.errors import SelectionError
from teal.compiler.wording import counted
from teal.runtime.clock import utc_now
from teal.runtime.runstore import Event, EventKind, RunRecord, RunStatus, Trigger
from teal.runtime.runstore.refs import resolve_run

if TYPE_CHECKING:
    from teal.runtime.session import Session

FOLLOW_POLL_S = 0.2  # how often `teal logs --follow` asks the store for new events


def _when(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else ""


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    return f"{(end - start).total_seconds():.2f}s"


def _since(text: str | None) -> datetime | None:
    """``--since``: an ISO time, or an age such as ``2h``, ``3d``, ``30m``."""
    if not text:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].isdigit():
        return utc_now() - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise SelectionError(
            f"{text!r} is not a time", path="--since", hint="write 2h, 3d or 2026-12-01"
        ) from None


def _stored_time(value: object) -> object:
    """A time the store gives as text (UTC, no zone) as the JSON's other times."""
    return utc_iso(datetime.fromisoformat(value)) if isinstance(value, str) and value else value


def _run_dict(run: RunRecord) -> dict[str, object]:
    from teal.runtime.run_labels import started_by

    found = asdict(run)
    found["status"], found["trigger"] = run.status.value, run.trigger.value
    found["started_by"] = started_by(run)
    # as `teal runs --job/--tag` filter: its job, and its job's tags and its own
    found["job"], found["tags"] = run.config.get("job"), run.config.get("tags") or []
    return found


@click.group(invoke_without_command=True)
@common_options
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in RunStatus]),
    help="Only runs with this status (repeatable).",
)
@click.option("--model", default=None, help="Only runs with a step of this model.")
@click.option("--job", default=None, metavar="NAME", help="Only runs of this job.")
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="KEY[=VALUE]",
    help="Only runs with this tag (KEY alone: any value); repeatable, all must match.",
)
@click.option("--since", default=None, help="Only runs started since (2h, 3d, an ISO time).")
@click.option("--limit", type=click.IntRange(min=1), default=20, help="How many runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.pass_context
@handle_errors
def runs(
    ctx: click.Context,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    statuses: tuple[str, ...],
    model: str | None,
    job: str | None,
    tags: tuple[str, ...],
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List recent runs, newest first (`teal runs show RUN` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from teal.runtime.runstore.run_tags import check_tag

    for tag in tags:
        check_tag(tag)
    session = open_session(project_dir, target, warehouse, vars_)
    store = session.run_store()
    found = store.runs(
        status=[RunStatus(s) for s in statuses],
        model=model,
        job=job,
        tags=tags,
        since=_since(since),
        limit=limit,
    )
    if job is not None and not found and job not in session.config.automation.jobs:
        from teal.compiler.errors import SelectionError, did_you_mean

        raise SelectionError(  # a run of a job since deleted is still listed
            f"no run of job '{job}', and the project has no such job",
            path="--job",
            hint=did_you_mean(job, session.config.automation.jobs) or "`teal jobs` lists them",
        )
    if model is not None and not found and model not in session.project.models:
        from teal.compiler.errors import SelectionError, did_you_mean

        raise SelectionError(  # a run of a model since deleted is still listed
            f"no run built '{model}', and the project has no such model",
            path="--model",
            hint=did_you_mean(model, session.project.models) or "`teal ls` lists the models",
        )
    if as_json:
        emit_json([_run_dict(r) for r in found])
        return
    from teal.runtime.run_labels import selection_of, started_by

    rows = [
        (
            r.run_id,
            r.command,
            r.status.value,
            started_by(r),
            selection_of(r),
            _when(r.started_at),
            _duration(r.started_at, r.finished_at),
            (r.message or "").split("\n", 1)[0],  # one line a run: `runs show` has the rest
        )
        for r in found
    ]
    header = ("run", "command", "status", "started by", "selection", "started", "took", "note")
    click.echo(table(header, rows))
    click.echo(f"\n{counted(len(found), 'run')}")


@runs.command(name="show")
@click.argument("run_ref", metavar="RUN")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@handle_errors
def show(
    run_ref: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    as_json: bool,
) -> None:
    """Show one run: its steps with times and rows, check results and log lines."""
    store = open_session(project_dir, target, warehouse, vars_).run_store()
    run = resolve_run(store, run_ref)
    steps = store.steps(run.run_id)
    checks = store.events(run.run_id, kinds=[EventKind.CHECK_RESULT])
    logs_ = store.events(run.run_id, kinds=[EventKind.LOG])
    if as_json:
        payload = {
            "run": _run_dict(run),
            # an unpartitioned step's key is null, as in events (stored as '' for the key)
            "steps": [{**asdict(s), "partition_key": s.partition_key or None} for s in steps],
            "checks": [dict(e.data, model=e.model, partition=e.partition_key) for e in checks],
            "logs": [asdict(e) for e in logs_],
            "materializations": [
                {**m, "at": _stored_time(m["at"])}
                for m in store.materializations(run_id=run.run_id, limit=100_000)
            ],
        }
        emit_json(payload)
        return
    from teal.runtime.run_labels import run_partitions, selection_of, started_by

    click.echo(f"run {run.run_id}: {run.command} {run.status.value} ({run.trigger.value})")
    if started_by(run) != run.trigger.value:  # which schedule, sensor or job
        click.echo(f"  by         {started_by(run)}")
    tags = run.config.get("tags")
    if isinstance(tags, list) and tags:  # its job's and those of `teal build --tag`
        click.echo(f"  tags       {', '.join(str(t) for t in tags)}")
    click.echo(f"  selection  {selection_of(run)}")
    if run.command == "run-operation" and run.config.get("args"):
        click.echo(f"  args       {json.dumps(run.config['args'], sort_keys=True)}")
    if run.exclude:
        click.echo(f"  exclude    {' '.join(run.exclude)}")
    asked = run_partitions(run)
    if asked:
        click.echo(f"  partitions {asked}")
    if run.parent_run_id:  # a retry, or the UI's re-execution of the whole run
        again = "retry of" if run.trigger is Trigger.RETRY else "rerun of"
        click.echo(f"  {again:<10} {run.parent_run_id}")
    if run.config.get("run_config"):
        click.echo(f"  config     {json.dumps(run.config['run_config'], sort_keys=True)}")
    if run.config.get("resources"):
        click.echo(f"  resources  {json.dumps(run.config['resources'], sort_keys=True)}")
    click.echo(f"  started    {_when(run.started_at)} on {run.host} (pid {run.pid})")
    click.echo(
        f"  finished   {_when(run.finished_at)}  {_duration(run.started_at, run.finished_at)}"
    )
    if run.message:
        click.echo(f"  note       {run.message}")
    click.echo("")
    rows = [
        (
            s.model,
            s.partition_key,
            str(s.attempt),
            s.status,
            _duration(s.started_at, s.finished_at),
            "" if s.rows is None else f"{s.rows:,}",
            (s.message or "").splitlines()[0][:80] if s.message else "",
        )
        for s in steps
    ]
    click.echo(table(("model", "partition", "try", "status", "took", "rows", "note"), rows))
    detailed = [s for s in steps if s.message and "\n" in s.message.strip()]
    if detailed:  # a failure's full message (a Python asset's frames), the note cut short
        click.echo("")
        for s in detailed:
            where = s.model + (f"[{s.partition_key}]" if s.partition_key else "")
            click.echo(f"{where}: {(s.message or '').strip()}")
    described = [
        m
        for m in store.materializations(run_id=run.run_id, limit=100_000)
        if m["metadata"] or m["schema"]
    ]
    if described:
        click.echo("")
        click.echo(
            table(
                ("materialized", "partition", "columns", "metadata"),
                [
                    (
                        str(m["model"]),
                        str(m["partition"] or ""),
                        str(len(m["schema"]) if isinstance(m["schema"], list) else ""),
                        ", ".join(
                            f"{k}={v}"
                            for k, v in (m["metadata"] or {}).items()  # type: ignore[union-attr]
                        )[:100],
                    )
                    for m in reversed(described)
                ],
            )
        )
    if checks:
        click.echo("")
        # a partitioned model's checks ran once per partition: each row says on which
        check_rows = [
            (
                e.model or "",
                e.partition_key or "",
                str(e.data.get("check", "")),
                str(e.data.get("status", "")),
                "" if e.data.get("failing_rows") is None else str(e.data["failing_rows"]),
            )
            for e in checks
        ]
        click.echo(table(("model", "partition", "check", "status", "failing"), check_rows))
        for e in checks:  # a failing row of each failed check, as the build printed it
            if e.data.get("sample"):  # naming its partition as the build's line does
                where = f"in {e.partition_key}: " if e.partition_key else ""
                click.echo(f"  {e.data.get('check')} [{e.model}] e.g. {where}{e.data['sample']}")
    if logs_:
        click.echo("")
        for event in logs_:
            click.echo(format_event(event))


def check_run_models(asked: tuple[str, ...], ran: set[str], run_id: str) -> None:
    """A usage error for a ``--model`` that names no step of run ``run_id``."""
    from teal.compiler.errors import SelectionError, did_you_mean

    for name in asked:
        if name not in ran:
            raise SelectionError(
                f"run {run_id} has no step of model '{name}'",
                path="--model",
                hint=did_you_mean(name, ran)
                or "its models: " + (", ".join(sorted(ran)) or "none (it ran no step)"),
            )


def project_models(session: Session, asked: tuple[str, ...]) -> set[str]:
    """The project's model names (``asked`` itself when the project does not load: a
    model being edited must not keep ``teal logs`` from following a run)."""
    from teal.compiler.errors import TealError

    try:
        return set(session.project.models)
    except TealError:
        return set(asked)


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")  # as the run store names them


def format_event(event: Event) -> str:
    """One line of ``teal logs``."""
    where = event.model or ""
    if event.partition_key:
        where += f"[{event.partition_key}]"
    kind = event.level.upper() if event.kind is EventKind.LOG and event.level else event.kind.value
    text = event.message or ""
    rows = event.data.get("rows")
    if event.kind is EventKind.MATERIALIZATION and isinstance(rows, int):
        text = counted(rows, "row")
    elif event.kind is EventKind.CHECK_RESULT:
        text = f"{event.data.get('check')} {event.data.get('status')}"
        failing = event.data.get("failing_rows")
        if isinstance(failing, int) and failing:  # how bad, as the build printed it
            text += f" ({counted(failing, 'failing row')})"
        if event.message:
            text += f": {event.message}"
    elif event.kind is EventKind.STEP_FAILURE:
        located = event.data.get("where")  # the failed step's file (and line), as the build said
        if isinstance(located, str) and located:
            text = f"{located}: {text}"
    return f"{event.at.strftime('%H:%M:%S.%f')[:-3]}  {kind:<15} {where:<30} {text}".rstrip()


@click.command()
@click.argument("run_ref", metavar="RUN", default="last")
@common_options
@click.option("--follow", "-f", is_flag=True, help="Keep printing events until the run ends.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print each event as a line of JSON (JSON lines)."
)
@click.option(
    "--model",
    "-m",
    "models",
    multiple=True,
    metavar="NAME",
    help="Only the events of this model's steps, its log and output lines (repeatable).",
)
@click.option(
    "--level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="debug",
    show_default=True,
    help="Only the log lines at this level or above (printed lines count as info); the "
    "run's events all show.",
)
@handle_errors
def logs(
    run_ref: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    follow: bool,
    as_json: bool,
    models: tuple[str, ...],
    level: str,
) -> None:
    """Print a run's events and log lines (RUN: a run id, a prefix of one, or `last`);
    times are UTC, each new day's date on a line of its own."""
    from teal.runtime.runstore.liveness import any_gone, mark_crashed_here

    days: list[str] = []  # the date of the last line shown
    below = set(LOG_LEVELS[: LOG_LEVELS.index(level)])  # the log levels left out
    if "info" in below:  # printed lines count as info
        below |= {"stdout", "stderr"}

    def show(event: Event) -> None:
        if models and event.model not in models:
            return
        if event.kind is EventKind.LOG and event.level in below:
            return
        if as_json:
            emit_json(asdict(event), indent=None)
            return
        day = event.at.strftime("%Y-%m-%d")
        if days != [day]:
            click.echo(f"-- {day} (UTC)")
            days[:] = [day]
        click.echo(format_event(event))

    session = open_session(project_dir, target, warehouse, vars_)
    store = session.run_store()
    run = resolve_run(store, run_ref)
    if models:
        ran = {step.model for step in store.steps(run.run_id)}
        if not run.status.finished:  # a model whose step has yet to start is no error
            ran |= project_models(session, models)
        check_run_models(models, ran, run.run_id)
    seen = 0
    while True:
        for event in store.events(run.run_id, after=seen):
            show(event)
            seen = event.seq
        if not follow:
            return
        current = store.run(run.run_id)
        if current is not None and any_gone([current]):  # killed: it will never end itself
            mark_crashed_here(store)
            current = store.run(run.run_id)
        if current is None or current.status.finished:
            for event in store.events(run.run_id, after=seen):  # written as it ended
                show(event)
            if not as_json:  # JSON lines are events only: `teal runs show RUN --json` ends
                click.echo(f"run {run.run_id} {current.status.value if current else 'deleted'}")
            return
        time.sleep(FOLLOW_POLL_S)


@click.command()
@click.argument("run_ref", metavar="RUN", default="last")
@common_options
@handle_errors
def cancel(
    run_ref: str,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
) -> None:
    """Stop a running run: no new step starts; a running SQL step is interrupted and rolls
    back; a running Python function cannot be interrupted mid-call: it runs to its end and
    its result is rolled back. The run ends canceled; a queued run ends canceled without
    starting (RUN: an id, a prefix of one, or `last`)."""
    from teal.runtime.cancel import STOPPING
    from teal.runtime.runstore.heartbeat import cancel_unreachable
    from teal.runtime.runstore.ticks import TickStore

    store = open_session(project_dir, target, warehouse, vars_).run_store()
    run = resolve_run(store, run_ref)
    if cancel_unreachable(store, run, utc_now()):
        click.echo(
            f"canceled run {run.run_id} of host {run.host}: recorded by a teal from before "
            "heartbeats, nothing tells whether it still runs, and nothing would ever end it"
        )
    elif store.request_cancel(run.run_id):
        click.echo(f"asked run {run.run_id} to stop: no new step starts; {STOPPING}")
    elif TickStore(store).cancel_queued(run.run_id, at=utc_now()):
        click.echo(f"canceled run {run.run_id}, which was queued: it will not start")
    else:
        raise SelectionError(
            f"run {run.run_id} is {run.status.value}, not running or queued",
            path="RUN",
            hint="`teal runs --status started` lists the runs in progress",
        )


@click.command()
@common_options
@handle_errors
def migrate(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
) -> None:
    """Bring the run store's schema up to date, and say what changed."""
    from teal.runtime.runstore import open_run_store, store_spec

    session = open_session(project_dir, target, warehouse, vars_)
    config = session.config
    with open_run_store(store_spec(config.run_store), config.root, project=config.name) as store:
        applied = store.migrate(utc_now())
        version = store.schema_version()
        where = store.location
    if applied:
        click.echo(f"migrated the run store at {where}:")
        for line in applied:
            click.echo(f"  applied {line}")
    else:
        click.echo(f"the run store at {where} is up to date (schema version {version})")


@click.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@handle_errors
def status(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    as_json: bool,
) -> None:
    """Show the run store (runs kept, size) and the last run of each model."""
    store = open_session(project_dir, target, warehouse, vars_).run_store()
    info = store.status()
    last = store.last_runs_by_model()
    if as_json:
        payload = {
            "store": asdict(info),
            "models": {
                m: {"run_id": r, "status": s, "finished_at": f} for m, (r, s, f) in last.items()
            },
        }
        emit_json(payload)
        return
    size = "" if info.size_bytes is None else f", {info.size_bytes / 1024:,.0f} KiB"
    click.echo(f"run store  {info.location} (schema version {info.schema_version})")
    click.echo(f"kept       {counted(info.runs, 'run')}, {counted(info.events, 'event')}{size}")
    if last:
        click.echo("")
        rows = [(m, s, r, _when(f)) for m, (r, s, f) in sorted(last.items())]
        click.echo(table(("model", "last status", "run", "finished"), rows))
