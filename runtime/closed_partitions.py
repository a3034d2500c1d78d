"""Which partitions a closed-partition schedule's tick builds (``partition = "closed"``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from teal.compiler.automation import Schedule, Target
from teal.compiler.config import ProjectConfig
from teal.compiler.errors import ProjectError

if TYPE_CHECKING:
    from teal.runtime.session import Session


class NoPartitionClosed(ProjectError):
    """No partition closed at this tick: the definition ended before it. The daemon records
    the tick as skipped (as Dagster's schedules skip past a definition's end), not failed."""


def partition_finder(
    config: ProjectConfig, opened: Callable[[], Session] | None = None
) -> Callable[[Target, Schedule, datetime], tuple[str, ...]]:
    """The partitions a "closed" schedule's tick builds: of the first time-partitioned
    model it selects, the last time window that has closed by the tick
    (``partition_offset`` more back), and with a second, static dimension every key of
    that window (``2025-05|east``, ``2025-05|west``, ...). ``opened``: the session of the
    daemon's step (runtime/daemon_load.py; None: the project is loaded for each tick)."""

    def find(target: Target, schedule: Schedule, tick: datetime) -> tuple[str, ...]:
        from teal.compiler.partitions import MultiPartitions, parse_partitions, time_partitions
        from teal.runtime.session import Session

        select, exclude = target.select, target.exclude
        if target.job is not None:
            job = config.automation.job(target.job)
            select, exclude = job.select, job.exclude
        now = tick.replace(tzinfo=UTC)
        with nullcontext(opened()) if opened is not None else Session.open(config.root) as session:
            project = session.project
            for name in session.select(list(select) or None, list(exclude) or None):
                definition = project.models[name].partitions
                time = time_partitions(definition)
                if time is None:
                    continue
                # the windows closed by the tick, past the definition's end too (and none
                # still open, whatever its end_offset): the one it asks for may be past it
                spec = {k: v for k, v in time.to_spec().items() if k not in ("end", "end_offset")}
                unbounded = parse_partitions(spec)
                assert unbounded is not None  # a time definition's spec
                windows = unbounded.keys(now)
                if len(windows) <= schedule.partition_offset:
                    raise ProjectError(
                        f"no partition of {name} has closed by {tick:%Y-%m-%d %H:%M} UTC",
                        path=f"schedules.{schedule.name}",
                    )
                window = windows[-1 - schedule.partition_offset]
                existing = time.keys(now)
                if window not in existing:
                    raise NoPartitionClosed(
                        f"no partition of {name} closed at this tick: its partitions end "
                        f"with {existing[-1] if existing else 'none'}",
                        path=f"schedules.{schedule.name}",
                        hint="extend the definition's end, or disable the schedule",
                    )
                if not isinstance(definition, MultiPartitions):
                    return (str(window),)
                (time_name, _), (other_name, other) = sorted(  # time first
                    definition.dimensions, key=lambda d: d[1] is not time
                )
                return tuple(
                    definition.make_key({time_name: window, other_name: key})
                    for key in other.keys(now)
                )
        raise ProjectError(
            f"schedule {schedule.name} builds the partition that closed at each tick, but it "
            "selects no time-partitioned model",
            path=f"schedules.{schedule.name}",
            hint='remove partition = "closed", or select a model partitioned by time',
        )

    return find
