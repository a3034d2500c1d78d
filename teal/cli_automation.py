"""``teal automation``: each model's automation condition, whether it fires now and why, as
the daemon's evaluator would decide it (runtime/automation_conditions.py), without the
daemon and without recording anything."""

from __future__ import annotations

from pathlib import Path

import click

from teal.cli_json import emit_json
from teal.cli_support import common_options, handle_errors, open_session, table


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


COMMANDS = (automation,)
