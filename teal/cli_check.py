"""How `teal check` (and dbt's `teal test`) prints what it ran: a table of the checks'
outcomes, what it could not check and why, the build's `Checks:` count and a sample of
each failure's rows; or all of it as JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from teal.cli_json import emit_json
from teal.cli_support import table
from teal.compiler.wording import counted
from teal.runtime.check_lines import (
    check_line,
    run_counts,
    summarize_checks,
    unbuilt_attached_lines,
)
from teal.runtime.report import sample_line

if TYPE_CHECKING:
    from teal.runtime.check_run import CheckRun


def print_check_run(result: CheckRun, as_json: bool) -> None:
    """Print ``result`` (``as_json``: one JSON object)."""
    if as_json:
        emit_json(
            {
                "run_id": result.run_id,
                "success": result.success,
                "missing": list(result.missing),
                "checks": [asdict(o) for o in result.outcomes],
                **(
                    {"deferred": {n: r.as_json() for n, r in sorted(result.deferred.items())}}
                    if result.deferred
                    else {}
                ),
            }
        )
    else:
        rows = [
            (
                o.asset,
                o.check,
                o.status.upper(),
                "" if o.failing is None else f"{o.failing:,}",
                o.message or "",
            )
            for o in result.outcomes
        ]
        if rows:
            click.echo(table(("model", "check", "status", "failing", "note"), rows))
        for name in result.missing:
            click.echo(f"{name}: not built yet, its checks were not run")
        for line in unbuilt_attached_lines(result.unbuilt_attached):
            click.echo(line)
        for name, why in sorted(result.deferred.items()):  # as `teal plan` lists them
            click.echo(f"{name} (deferred): {why}")
        flagged = [o for o in result.outcomes if o.status not in ("pass", "skipped")]
        # as the build counts them: each status named, a partitioned check counted once
        click.echo(f"\nChecks: {run_counts(summarize_checks(list(result.outcomes)))}")
        for o in flagged:
            if o.sample:
                click.echo(f"  {check_line(o)}\n{sample_line(o)}")
        if result.missing:
            n = len(result.missing)
            how = (
                f"`teal build -s {' '.join(result.missing)}`"
                if n <= 5
                else "`teal build` with the same selection"
            )
            click.echo(
                f"{counted(n, 'selected model')} {'is' if n == 1 else 'are'} not built yet, "
                f"so {'its' if n == 1 else 'their'} checks did not run: build first, {how}"
            )
