"""The daemon's sensors: files that landed, models another run materialized, runs that
ended with a status. Each is a function ``(daemon, sensor, now) -> outcomes`` that reads
its cursor from the run store and records each tick together with the cursor it moves."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from teal.compiler.automation import Sensor
from teal.runtime.runstore import Trigger
from teal.runtime.runstore.ticks import TickStatus

if TYPE_CHECKING:
    from teal.runtime.daemon import Daemon, TickOutcome

WEBHOOK_TIMEOUT_S = 10.0


def _outcome(source: str, tick: datetime, status: str, message: str | None) -> TickOutcome:
    from teal.runtime.daemon import TickOutcome

    return TickOutcome(source, tick, status, None, message)


def files_changed(d: Daemon, sensor: Sensor, now: datetime) -> list[TickOutcome]:
    """New or changed files since the sensor's cursor: one run each (run_key: the file
    and its version, so a file is never run twice)."""
    source = f"sensor:{sensor.name}"
    seen: dict[str, list[int]] = json.loads(d.ticks.cursor(source) or "{}")
    outcomes = []
    root = d.config.root
    for i, path in enumerate(sorted(p for p in root.glob(sensor.files) if p.is_file())):
        stat = path.stat()
        rel = path.relative_to(root).as_posix()
        version = [stat.st_mtime_ns, stat.st_size]
        if seen.get(rel) == version:
            continue
        seen[rel] = version
        cursor = json.dumps(seen, sort_keys=True)
        tick = now + timedelta(microseconds=i)
        partitions: tuple[str, ...] = ()
        if sensor.partition_from is not None:
            found = re.search(sensor.partition_from, rel)
            if found is None:
                message = f"{rel}: no partition key in its name ({sensor.partition_from})"
                d.ticks.record(
                    source, tick, TickStatus.SKIPPED, at=now, message=message, cursor=cursor
                )
                outcomes.append(_outcome(source, tick, TickStatus.SKIPPED, message))
                continue
            partitions = (found.group(1),)
        outcomes.append(
            d.request(
                source,
                tick,
                now,
                sensor.target,
                trigger=Trigger.SENSOR,
                partitions=partitions,
                run_key=f"{rel}@{stat.st_mtime_ns}:{stat.st_size}",
                cursor=cursor,
                add_partitions={sensor.add_partition_to: partitions}
                if sensor.add_partition_to
                else None,
            )
        )
    return outcomes


def asset_materialized(d: Daemon, sensor: Sensor, now: datetime) -> list[TickOutcome]:
    """Materializations of the watched model since the cursor: one run for all of them,
    for the partitions they wrote (none: a whole build). A new sensor starts from now."""
    source = f"sensor:{sensor.name}"
    after = d.ticks.cursor(source)
    found = d.ticks.materializations_since(sensor.asset, after or "")
    if after is None:  # first seen: history is not run
        d.ticks.set_cursor(
            source, found[-1][2] if found else now.isoformat(timespec="microseconds"), now
        )
        return []
    if not found:
        return []
    latest = found[-1][2]
    keys = tuple(sorted({key for _, key, _ in found if key}))
    runs = sorted({run_id for run_id, _, _ in found})
    return [
        d.request(
            source,
            now,
            now,
            sensor.target,
            trigger=Trigger.SENSOR,
            partitions=keys,
            run_key=f"{sensor.asset}@{latest}",
            cursor=latest,
            message=f"{sensor.asset} materialized by run {', '.join(runs[:3])}",
        )
    ]


def run_ended(d: Daemon, sensor: Sensor, now: datetime) -> list[TickOutcome]:
    """Runs that ended with the watched status since the cursor: POST each to the webhook
    whose URL the environment variable ``webhook_env`` holds (the URL is never written)."""
    source = f"sensor:{sensor.name}"
    after = d.ticks.cursor(source)
    if after is None:  # first seen: runs that ended before do not alert
        d.ticks.set_cursor(source, d.ticks.last_run_end() or "", now)
        return []
    outcomes = []
    for i, run in enumerate(d.ticks.runs_ended_since(after, sensor.run_status)):
        if sensor.of_job is not None and run.config.get("job") != sensor.of_job:
            continue
        ended = (run.finished_at or now).isoformat(timespec="microseconds")
        tick = now + timedelta(microseconds=i)
        status, message = _post(sensor, run.run_id, run.status.value, run.command, run.message)
        recorded = d.ticks.record(
            source,
            tick,
            status,
            at=now,
            run_key=run.run_id,
            message=f"run {run.run_id} {run.status.value}: {message}",
            cursor=ended,
        )
        if recorded:
            outcomes.append(_outcome(source, tick, status, f"run {run.run_id}: {message}"))
    return outcomes


def _post(
    sensor: Sensor, run_id: str, status: str, command: str, note: str | None
) -> tuple[str, str]:
    """POST the run's outcome as JSON; (tick status, what happened), never naming the URL."""
    url = os.environ.get(sensor.webhook_env)
    if not url:
        return TickStatus.FAILED, f"environment variable {sensor.webhook_env} is not set"
    body = json.dumps(
        {
            "sensor": sensor.name,
            "run_id": run_id,
            "status": status,
            "command": command,
            "message": note,
        }
    ).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            return TickStatus.REQUESTED, f"posted to ${sensor.webhook_env} (HTTP {response.status})"
    except urllib.error.HTTPError as exc:
        return TickStatus.FAILED, f"${sensor.webhook_env} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        text = str(reason).replace(url, f"${sensor.webhook_env}")
        return TickStatus.FAILED, f"could not post to ${sensor.webhook_env}: {text}"
