"""Planner options from what a person typed: partition keys, ranges and the clock.

The command line and the Python API both describe partitions as text (``--partition
2025-03-01,2025-03-02``, ``--partition-range 2025-01-01..2025-01-31``, ``--from``/``--to``);
this turns that text into the planner's :class:`~teal.compiler.plan.PlanOptions`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from teal.compiler.config import ProjectConfig
from teal.compiler.errors import SelectionError
from teal.compiler.plan import PlanOptions

CLOCK_VARIABLE = "TEAL_NOW"  # an ISO time that fixes "now", for reproducible runs and tests


def clock_from_env(environ: Mapping[str, str] | None = None) -> datetime | None:
    """The time ``TEAL_NOW`` fixes, or None for the real clock.

    >>> clock_from_env({"TEAL_NOW": "2026-01-05T12:00:00"})
    datetime.datetime(2026, 1, 5, 12, 0)
    >>> clock_from_env({}) is None
    True
    """
    value = (os.environ if environ is None else environ).get(CLOCK_VARIABLE)
    return datetime.fromisoformat(value) if value else None


def plan_options(
    cfg: ProjectConfig,
    *,
    changed_only: bool | None = None,
    inline_views: bool = False,
    full_refresh: bool = False,
    partitions: Iterable[str] = (),
    partition_range: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    missing_only: bool = False,
    ignore_failed_upstream: bool = False,
    event_time_start: str | None = None,
    event_time_end: str | None = None,
    now: datetime | None = None,
) -> PlanOptions:
    """Planner options, falling back to the project's defaults.

    ``partitions`` items may hold several keys separated by commas. ``partition_range`` is
    ``FIRST..LAST``; ``date_from``/``date_to`` are the same range in two options (either
    may be omitted: the definition's first key / the last key up to now).
    """
    if full_refresh and missing_only:  # the full refresh was dropped, silently
        raise SelectionError(
            "--full-refresh and --only-missing contradict each other: a full refresh "
            "rebuilds every partition, --only-missing builds only those not built yet",
            hint="give one of them: --full-refresh to rebuild everything, --only-missing to "
            "fill the gaps",
        )
    keys: list[str] = []
    for item in partitions:
        keys.extend(k.strip() for k in item.split(",") if k.strip())
    rng = None
    flag = "--partition-range"
    if partition_range:
        if ".." not in partition_range:
            raise SelectionError(
                f"{partition_range!r} is not FIRST..LAST",
                path="--partition-range",
                hint="write 2026-01-01..2026-01-31",
            )
        first, last = partition_range.split("..", 1)
        rng = (first.strip(), last.strip())
    if date_from or date_to:
        if rng:
            raise SelectionError(
                "use --partition-range or --from/--to, not both", path="--partition-range"
            )
        rng = (date_from or "", date_to or "")
        flag = "--from/--to" if date_from and date_to else "--from" if date_from else "--to"
    window = event_time_window(event_time_start, event_time_end)
    return PlanOptions(
        changed_only=cfg.changed_only if changed_only is None else changed_only,
        inline_views=inline_views,
        full_refresh=full_refresh,
        partition_keys=tuple(keys),
        partition_range=rng,
        missing_only=missing_only,
        ignore_failed_upstream=ignore_failed_upstream,
        range_flag=flag,
        event_time_window=window,
        now=now,
    )


def event_time_window(start: str | None, end: str | None) -> tuple[datetime, datetime] | None:
    """dbt's ``--event-time-start``/``--event-time-end`` as a UTC window (both or neither,
    start before end, as dbt requires)."""
    if not start and not end:
        return None
    if not start or not end:
        given = "--event-time-start" if start else "--event-time-end"
        raise SelectionError(
            f"{given} needs {'--event-time-end' if start else '--event-time-start'} too",
            path=given,
            hint="give both: --event-time-start 2024-02-01 --event-time-end 2024-03-01",
        )
    bounds = []
    for flag, text in (("--event-time-start", start), ("--event-time-end", end)):
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SelectionError(
                f"{flag} {text!r} is not a date or time",
                path=flag,
                hint="write 2024-02-01 or 2024-02-01T06:00:00",
            ) from None
        bounds.append(value.replace(tzinfo=UTC) if value.tzinfo is None else value)
    if bounds[0] >= bounds[1]:
        raise SelectionError(
            f"--event-time-start {start} is not before --event-time-end {end}",
            path="--event-time-start",
            hint="the range is start (inclusive) to end (exclusive)",
        )
    return bounds[0], bounds[1]
