"""What ``teal daemon`` prints. Its output is a log read after the fact (journald, ``docker
logs``, a file it is redirected to), so every line starts with the time it was written
(UTC), and a launched run's end says how it ended and where to read it, not only its exit
code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from teal.compiler.errors import TealError
from teal.runtime.runstore import RunStore

if TYPE_CHECKING:
    from teal.runtime.daemon import TickOutcome


def say(text: str, *, err: bool = False) -> None:
    """One line (or a message of several) of the daemon's output, stamped with the wall
    clock in UTC (``TEAL_NOW`` moves the daemon's ticks, not the time it writes)."""
    click.echo(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z {text}", err=err)


def ended(store: RunStore, run_id: str, code: int | None) -> str:
    """``run RUN ended with exit code N: STATUS (its note); teal logs RUN, output in
    .teal/logs/RUN.log``, read from the store once the daemon settled the run."""
    try:
        run = store.run(run_id)
    except TealError:  # the store went away: the daemon says so and tries again
        how = "its status is in the run store, which did not answer"
    else:
        how = "deleted" if run is None else run.status.value
        if run is not None and run.message:
            how += f" ({run.message.strip().splitlines()[0]})"
    return (
        f"run {run_id} ended with exit code {code}: {how}; "
        f"`teal logs {run_id}`, its output in .teal/logs/{run_id}.log"
    )


class TickLines:
    """The lines of the ticks the daemon records: each its own line, except a run of a
    schedule's ticks skipped for one reason (the ticks missed while no daemon ran, a paused
    schedule's), which is one line with their count and first and last times. A minutely
    schedule whose daemon was down a day records 1,440 skipped ticks, and printed a line
    for each. ``flush()`` after each step says what is held."""

    def __init__(self) -> None:
        self._held: list[TickOutcome] = []

    def __call__(self, outcome: TickOutcome) -> None:
        if self._held and (outcome.source, outcome.message) != (
            self._held[0].source,
            self._held[0].message,
        ):
            self.flush()
        if outcome.source.startswith("schedule:") and outcome.status == "skipped":
            self._held.append(outcome)
        else:
            say(outcome.describe())

    def flush(self) -> None:
        held, self._held = self._held, []
        if len(held) <= 2:
            for outcome in held:
                say(outcome.describe())
            return
        first, last = held[0].tick_at, held[-1].tick_at
        say(
            f"{held[0].source} {first:%Y-%m-%d %H:%M:%S}..{last:%Y-%m-%d %H:%M:%S}: "
            f"{len(held):,} ticks skipped ({held[0].message})"
        )
