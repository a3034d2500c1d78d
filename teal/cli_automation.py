"""``teal automation``: each model's automation condition, whether it fires now and why, as
the daemon's evaluator would decide it (runtime/automation_conditions.py), without the
daemon and without recording anything; and ``teal ticks``: what the daemon decided, tick by
tick, for the schedules and sensors (runtime/runstore/ticks.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from teal.cli_json import emit_json, utc_iso
from teal.cli_support import common_options, handle_errors, open_session, table
from teal.compiler.errors import SelectionError
from teal.compiler.wording import counted
from teal.runtime.clock import utc_now
from teal.runtime.runstore.ticks import TickRecord, TickStore

if TYPE_CHECKING:
    from teal.compiler.config import ProjectConfig


@click.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
@handle_errors
def automation(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    as_json: bool,
) -> None:
    """Show each model's automation condition and whether it fires now, and why."""
    from teal.cli_daemon import _now
    from teal.runtime.automation_conditions import evaluate_now
    from teal.runtime.runstore import open_run_store, store_spec
    from teal.runtime.validate import existing_store_path

    session = open_session(project_dir, target, warehouse, vars_)
    config = session.config
    spec = store_spec(config.run_store)
    store = (
        open_run_store(spec, config.root, project=config.name)
        if existing_store_path(config.root, spec)
        else None
    )
    try:
        found = evaluate_now(session, store, _now())
    finally:
        if store is not None:
            store.close()
        session.close()
    rows = [
        {
            "model": v.model,
            "condition": v.condition,
            "fires": v.fires,
            "reason": v.reason,
            "partitions": list(v.partitions),
        }
        for v in found.verdicts
    ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(
            "No model has an automation condition: set automation_condition in a model's "
            "config (docs/automation.md#automation-conditions)."
        )
        return
    click.echo(
        table(
            ("model", "condition", "fires", "why"),
            [
                (r["model"], r["condition"], "yes" if r["fires"] else "no", r["reason"])
                for r in rows
            ],
        )
    )


TICK_STATUSES = ("requested", "skipped", "failed")  # runtime/runstore/ticks.py TickStatus


def tick_json(tick: TickRecord | None) -> dict[str, object] | None:
    """A tick as the JSON of `teal ticks`, `teal schedules` and `teal sensors` gives it."""
    if tick is None:
        return None
    kind, _, name = tick.source.partition(":")
    return {
        "source": tick.source,
        "kind": kind,
        "name": name,
        "tick_at": utc_iso(tick.tick_at),
        "status": tick.status,
        "run_id": tick.run_id,
        "run_key": tick.run_key,
        "message": tick.message,
    }


@click.command()
@click.argument("name", required=False)
@common_options
@click.option("--limit", type=click.IntRange(min=1), default=20, help="How many ticks to list.")
@click.option(
    "--status",
    type=click.Choice([*TICK_STATUSES, "success"]),
    default=None,
    help="Only ticks with this outcome (success: requested a run, as Dagster says).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the ticks as JSON.")
@handle_errors
def ticks(
    name: str | None,
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    limit: int,
    status: str | None,
    as_json: bool,
) -> None:
    """List the recent ticks of the schedules and sensors (NAME: one of them), newest
    first: when, its outcome, the run it queued and why it skipped or failed."""
    from teal.cli_daemon import _config
    from teal.runtime.runstore import open_run_store, store_spec
    from teal.runtime.validate import existing_store_path

    config = _config(project_dir)
    declared = _declared(config) if name else set()
    sources = _sources(name, declared) if name else []
    found: list[TickRecord] = []
    spec = store_spec(config.run_store)
    if existing_store_path(config.root, spec):  # none yet: no tick, and none is created
        with open_run_store(spec, config.root, project=config.name) as store:
            store.migrate(utc_now())
            wanted = "requested" if status == "success" else status
            found = TickStore(store).recent(sources, wanted, limit)
            # a name no longer declared lists its ticks; a typo is an error
            if (
                name
                and not declared & set(sources)
                and not TickStore(store).recent(sources, None, 1)
            ):
                raise _unknown(name, declared)
    elif name and not declared & set(sources):
        raise _unknown(name, declared)
    if as_json:
        emit_json([{**(tick_json(t) or {}), "created_at": utc_iso(t.created_at)} for t in found])
        return
    if not found:
        which = (f" of {name}" if name else "") + (f" with status {status}" if status else "")
        click.echo(
            f"No ticks recorded{which}: the daemon records one each time it evaluates a "
            "schedule or sensor (`teal daemon`)."
        )
        return
    rows = [
        (
            t.tick_at.isoformat(sep=" ", timespec="seconds"),
            t.source,
            t.status,
            t.run_id or "",
            (t.message or "").strip().split("\n", 1)[0],
        )
        for t in found
    ]
    click.echo(table(("tick (UTC)", "source", "status", "run", "note"), rows))
    click.echo(f"\n{counted(len(found), 'tick')}")


def _declared(config: ProjectConfig) -> set[str]:
    """The tick sources the project declares: ``schedule:NAME``, ``sensor:NAME`` (Python
    sensors and the evaluator of automation conditions too)."""
    from teal.compiler.automation_conditions import SENSOR_NAME
    from teal.runtime.automation_rows import sensor_rows

    return {
        *(f"schedule:{s}" for s in config.automation.schedules),
        *(f"sensor:{r['name']}" for r in sensor_rows(config)),
        f"sensor:{SENSOR_NAME}",
    }


def _sources(name: str, declared: set[str]) -> list[str]:
    """The sources NAME names: ``schedule:X`` / ``sensor:X`` as written; a bare name, the
    schedule and the sensor so named (both, for one no longer declared: its ticks stay)."""
    if name.startswith(("schedule:", "sensor:")):
        return [name]
    both = [f"schedule:{name}", f"sensor:{name}"]
    return [s for s in both if s in declared] or both


def _unknown(name: str, declared: set[str]) -> SelectionError:
    from teal.compiler.errors import did_you_mean

    names = {*declared, *(s.partition(":")[2] for s in declared)}
    return SelectionError(
        f"no schedule or sensor '{name}', and no tick of one so named is recorded",
        path="NAME",
        hint=did_you_mean(name, names) or "`teal schedules` and `teal sensors` list them",
    )


COMMANDS = (automation, ticks)
