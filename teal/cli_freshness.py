"""``teal check --freshness`` and ``teal source freshness``: how recent the selected models'
(and sources') data is, recorded as a run, printed, exit 1 when one is past its error
threshold (runtime/freshness.py evaluates)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from teal.cli_json import emit_json, utc_iso
from teal.cli_support import table

if TYPE_CHECKING:
    from teal.runtime.freshness import Freshness
    from teal.runtime.session import Session


def report_freshness(
    session: Session, select: tuple[str, ...], exclude: tuple[str, ...], as_json: bool
) -> None:
    """``teal check --freshness``: evaluate, record as a run, print, exit 1 when stale."""
    from teal.cli_daemon import _now
    from teal.runtime import freshness

    names = session.select(list(select) or None, list(exclude) or None)
    found = freshness.evaluate(session.project, session.state(), names, _now())
    if not select and not exclude:  # sources' freshness too, as `dbt source freshness`
        found += freshness.evaluate_sources(session.project, _now())
    emit_freshness(session, found, as_json, "No selected model has a freshness config")


def emit_freshness(
    session: Session, found: list[Freshness], as_json: bool, none_found: str
) -> None:
    """Record ``found`` as a run, print it (``none_found`` when empty), exit 1 when one is
    past its error threshold. Nothing evaluated records no run: it would become the
    project's ``last`` run, which `teal retry last` and `teal logs last` then name."""
    from teal.runtime import freshness
    from teal.runtime.runstore import Trigger

    run_id = (
        freshness.record(session.run_store(), session.project, found, trigger=Trigger.CLI)
        if found
        else None
    )
    if as_json:
        rows = [
            {
                "model": f.model,
                "status": f.status,
                "data_time": utc_iso(f.data_time) if f.data_time else None,
                "lag_s": f.lag.total_seconds() if f.lag is not None else None,
                "max_lag_s": f.max_lag.total_seconds(),
                "message": f.message,
            }
            for f in found
        ]
        emit_json(
            {"run_id": run_id, "success": all(f.status != "fail" for f in found), "freshness": rows}
        )
    elif not found:
        click.echo(f"{none_found} (docs/automation.md#freshness).")
    else:
        click.echo(
            table(
                ("model", "status", "note"),
                [(f.model, f.status.upper(), f.message) for f in found],
            )
        )
    if any(f.status == "fail" for f in found):
        sys.exit(1)
