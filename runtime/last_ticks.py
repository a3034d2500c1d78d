"""What the daemon last decided for each schedule and sensor, for the listings: `teal
schedules` and `teal sensors` show, beside on or paused, how the last tick went (`on (last
tick failed 2m ago: ...)`), and `teal ticks` lists the recent ones. Read from the run
store (runtime/runstore/ticks.py) without creating one that does not exist yet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from teal.compiler.config import ProjectConfig
from teal.runtime.clock import utc_now
from teal.runtime.runstore import open_run_store, store_spec
from teal.runtime.runstore.ticks import TickRecord, TickStore

NOTE = 60  # characters of a tick's message a listing shows (`teal ticks` has it whole)


def automation_state(
    config: ProjectConfig, sources: Sequence[str]
) -> tuple[set[str], dict[str, TickRecord]]:
    """The paused schedules and sensors (``schedule:NAME`` / ``sensor:NAME``) and the last
    tick of each of ``sources``, read in one opening of the store (none: nothing)."""
    from teal.runtime.validate import existing_store_path

    spec = store_spec(config.run_store)
    if not existing_store_path(config.root, spec):
        return set(), {}
    with open_run_store(spec, config.root, project=config.name) as store:
        store.migrate(utc_now())
        ticks = TickStore(store)
        last = {s: found[0] for s in sources if (found := ticks.ticks(s, limit=1))}
        return ticks.paused(), last


def ago(then: datetime, now: datetime) -> str:
    """How long ago ``then`` was, in its largest unit.

    >>> now = datetime(2026, 12, 1, 9, 0)
    >>> [ago(datetime(2026, 12, 1, 8, 58), now), ago(datetime(2026, 11, 28, 9, 0), now)]
    ['2m ago', '3d ago']
    >>> ago(datetime(2026, 12, 1, 8, 59, 50), now), ago(datetime(2026, 12, 1, 9, 0, 5), now)
    ('10s ago', 'just now')
    """
    seconds = int((now - then).total_seconds())
    if seconds <= 0:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def tick_note(tick: TickRecord | None, now: datetime) -> str:
    """A tick as a listing says it: ``failed 2m ago: <message>``, ``requested a run 1h
    ago``, ``skipped 30s ago: <why>``; empty for none."""
    if tick is None:
        return ""
    what = "requested a run" if tick.status == "requested" else tick.status
    said = (tick.message or "").strip().split("\n", 1)[0]
    if len(said) > NOTE:
        said = said[: NOTE - 3] + "..."
    return f"{what} {ago(tick.tick_at, now)}" + (f": {said}" if said else "")
