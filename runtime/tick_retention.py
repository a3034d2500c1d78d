"""The daemon's tick retention: ticks older than ``[daemon.tick_retention]`` allows for
their status are deleted from the run store, as Dagster's daemon purges old ticks.

Cheap by construction: the daemon prunes at most once an hour (the time is kept in the run
store, so ``teal daemon --once`` started by cron every minute prunes hourly too), and each
pass deletes at most :data:`BATCH` ticks of a status in one short transaction. A store that
grew before it had a retention (a minutely schedule records about 525,000 ticks a year)
drains a batch per daemon step, half a second apart, instead of holding the store's write
lock while a build records its events.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from teal.compiler.wording import counted

if TYPE_CHECKING:
    from teal.runtime.daemon import Daemon

PRUNE_EVERY = timedelta(hours=1)
BATCH = 2000  # ticks of one status deleted at most per pass
MARK = "pruned:ticks"  # the cursors row holding when ticks were last pruned


def prune_ticks(d: Daemon, now: datetime, *, batch: int = BATCH) -> int | None:
    """Delete the ticks past their retention if the last pass was an hour ago or more (or
    left some behind), saying so in the daemon's output when some went; how many were
    deleted, None when it was not due."""
    deleted = _prune_if_due(d, now, batch)
    if deleted and d.on_tick is not None:
        from teal.runtime.daemon import TickOutcome

        kept = d.config.automation.daemon.tick_retention.describe()
        said = f"deleted {counted(deleted, 'tick')} past their retention ({kept})"
        d.on_tick(TickOutcome("ticks", now, "pruned", None, said))
    return deleted


def _prune_if_due(d: Daemon, now: datetime, batch: int) -> int | None:
    last = d.pruned_at
    if last is None:
        kept = d.ticks.cursor(MARK)
        last = datetime.fromisoformat(kept) if kept else None
    if last is not None and last <= now < last + PRUNE_EVERY:
        d.pruned_at = last
        return None
    deleted, left_some = 0, False
    for status, days in d.config.automation.daemon.tick_retention.by_status().items():
        if days is None:  # kept forever
            continue
        gone = d.ticks.prune(status, now - timedelta(days=days), batch)
        deleted += gone
        left_some = left_some or gone == batch
    if left_some:  # a full batch: the next step goes on where this one stopped
        d.pruned_at = None
        return deleted
    d.pruned_at = now
    d.ticks.set_cursor(MARK, now.isoformat(), now)
    return deleted
