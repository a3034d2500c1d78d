"""The daemon's sensors: files that landed, models another run materialized, runs that
ended with a status. Each is a function ``(daemon, sensor, now) -> outcomes`` that reads
its cursor from the run store and records each tick together with the cursor it moves."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.automation import Sensor
from teal.runtime.runstore import Trigger
from teal.runtime.runstore.ticks import TickStatus

if TYPE_CHECKING:
    from teal.runtime.daemon import Daemon, TickOutcome
    from teal.runtime.python_sensors import SensorDef

WEBHOOK_TIMEOUT_S = 10.0


def _outcome(source: str, tick: datetime, status: str, message: str | None) -> TickOutcome:
    from teal.runtime.daemon import TickOutcome

    return TickOutcome(source, tick, status, None, message)


def files_changed(d: Daemon, sensor: Sensor, now: datetime) -> list[TickOutcome]:
    """New or changed files since the sensor's cursor, in the order they landed: one run
    each (run_key: the file and its version, so a file is never run twice). The cursor
    remembers the files of the last ``remember_for`` (runtime/file_cursor.py)."""
    from teal.runtime.file_cursor import FileCursor

    source = f"sensor:{sensor.name}"
    now_ns = (now - _EPOCH) // timedelta(microseconds=1) * 1000
    horizon = int(sensor.remember_for * 1e9)
    seen = FileCursor.parse(d.ticks.cursor(source), now_ns)
    outcomes: list[TickOutcome] = []
    base: datetime | None = None  # the first new file's tick time, found when there is one
    for rel, stat in _by_landing(matching_files(d.config.root, sensor.files)):
        mtime, size = stat.st_mtime_ns, stat.st_size
        landed = max(mtime, stat.st_ctime_ns)
        if not seen.is_new(rel, mtime, size, landed, horizon=horizon):
            continue
        seen = seen.advanced(rel, mtime, size, landed, now=now_ns, horizon=horizon)
        cursor = seen.dump()
        base = d.tick_time(source, now) if base is None else base
        tick = base + timedelta(microseconds=len(outcomes))
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
                run_key=f"{rel}@{mtime}:{size}",
                cursor=cursor,
                add_partitions={sensor.add_partition_to: partitions}
                if sensor.add_partition_to
                else None,
            )
        )
    return outcomes


_EPOCH = datetime(1970, 1, 1)  # naive UTC, as the daemon's "now"


def _by_landing(found: list[tuple[Path, str]]) -> list[tuple[str, os.stat_result]]:
    """The files' names with their status, in the order they landed (then by name): a
    daemon killed between two files has written no mark past a file it did not evaluate."""
    stated = []
    for path, rel in found:
        try:
            stated.append((rel, path.stat()))
        except FileNotFoundError:  # moved away since the listing
            continue
    return sorted(stated, key=lambda f: (max(f[1].st_mtime_ns, f[1].st_ctime_ns), f[0]))


def matching_files(root: Path, pattern: str) -> list[tuple[Path, str]]:
    """The files ``pattern`` matches, in order, each with the name the sensor's cursor and
    run keys use: relative to the project root, else the absolute path. An absolute pattern
    (``/srv/landing/*.csv``, a landing folder outside the project) is globbed from its
    anchor, as ``Path.glob`` refuses one."""
    given = Path(pattern)
    base, relative = (
        (Path(given.anchor), given.relative_to(given.anchor).as_posix())
        if given.is_absolute()
        else (root, pattern)
    )
    found = []
    for path in base.glob(relative):
        if path.is_file():
            try:
                name = path.relative_to(root).as_posix()
            except ValueError:  # outside the project
                name = path.as_posix()
            found.append((path, name))
    return sorted(found, key=lambda pair: pair[1])


def asset_materialized(d: Daemon, sensor: Sensor, now: datetime) -> list[TickOutcome]:
    """Materializations of the watched model since the cursor: one run for all of them,
    for the partitions they wrote (none: a whole build). A new sensor starts from now."""
    source = f"sensor:{sensor.name}"
    after = d.ticks.cursor(source)
    found = d.ticks.materializations_since(sensor.asset, after or "")
    if after is None:  # first seen: history is not run
        # none yet: every materialization counts (materializations are stamped by the wall
        # clock, which a simulated "now" such as TEAL_NOW may be ahead of)
        d.ticks.set_cursor(source, found[-1][2] if found else "", now)
        return []
    if not found:
        return []
    latest = found[-1][2]
    keys = tuple(sorted({key for _, key, _ in found if key}))
    runs = sorted({run_id for run_id, _, _ in found})
    return [
        d.request(
            source,
            d.tick_time(source, now),
            now,
            sensor.target,
            trigger=Trigger.SENSOR,
            partitions=keys,
            partitions_of=sensor.asset,
            run_key=f"{sensor.asset}@{latest}",
            cursor=latest,
            message=f"{sensor.asset} materialized by run {', '.join(runs[:3])}",
        )
    ]


def run_ended(d: Daemon, sensor: Sensor, now: datetime) -> list[TickOutcome]:
    """Runs that ended with the watched status since the cursor: POST each to the webhook
    whose URL the environment variable ``webhook_env`` holds (the URL is never written)."""
    source = f"sensor:{sensor.name}"
    retry_at = d._post_retry_at.get(sensor.name)
    if retry_at is not None and now < retry_at:  # a failed post is tried again later
        return []
    after = d.ticks.cursor(source)
    if after is None:  # first seen: runs that ended before do not alert
        d.ticks.set_cursor(source, d.ticks.last_run_end() or "", now)
        return []
    outcomes = []
    base: datetime | None = None
    for i, run in enumerate(d.ticks.runs_ended_since(after, sensor.run_status)):
        if sensor.of_job is not None and run.config.get("job") != sensor.of_job:
            continue
        ended = (run.finished_at or now).isoformat(timespec="microseconds")
        base = d.tick_time(source, now) if base is None else base
        tick = base + timedelta(microseconds=i)
        status, message = _post(sensor, run.run_id, run.status.value, run.command, run.message)
        failed = status == TickStatus.FAILED
        said = f"run {run.run_id} {run.status.value}: {message}"
        if failed:
            # the cursor stays before this run, so it is posted again (and what ended after
            # it, in order) a minute later; the same failure is recorded once
            d._post_retry_at[sensor.name] = now + timedelta(seconds=POST_RETRY_S)
            if d._skipped.get(sensor.name) == said:
                break
            d._skipped[sensor.name] = said
        else:
            d._post_retry_at.pop(sensor.name, None)
            d._skipped.pop(sensor.name, None)
        recorded = d.ticks.record(
            source,
            tick,
            status,
            at=now,
            run_key=None if failed else run.run_id,
            message=said,
            cursor=None if failed else ended,
        )
        if recorded:
            outcomes.append(_outcome(source, tick, status, f"run {run.run_id}: {message}"))
        if failed:
            break
    return outcomes


POST_RETRY_S = 60.0  # after a failed post, the webhook is tried again this much later


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


def python_sensor(d: Daemon, definition: SensorDef, now: datetime) -> list[TickOutcome]:
    """Call a ``@teal.sensor`` function with its cursor; queue each run request it returns
    (moving the cursor with the last one), or record its skip reason when it changed."""
    from teal.compiler.automation import Target
    from teal.compiler.errors import TealError
    from teal.runtime.python_sensors import SensorContext, requests_of

    source = f"sensor:{definition.name}"
    before = d.ticks.cursor(source)
    context = SensorContext(definition.name, before, now, d.config.root)
    failed = False
    try:
        found, skip = requests_of(definition(context), definition.source)
    except TealError as exc:
        found, skip, failed = [], exc.message, True
    except Exception as exc:  # noqa: BLE001 - the user's function: its error is the tick's
        found, skip, failed = [], _raised_at(exc, definition, d.config.root), True
    # a failed evaluation keeps the cursor it started from, as Dagster drops a failed tick's
    # update_cursor: what it moved past before raising was never asked for, and is looked
    # at again by the next evaluation
    moved = context.cursor if context.cursor != before and not failed else None
    outcomes = []
    base = d.tick_time(source, now) if found else now
    # the requests and the cursor they move in one transaction: a daemon killed between
    # two of them would call the function again from the old cursor, and a request with
    # no run key would be queued a second time
    with d.store.atomic() if found else nullcontext():
        for i, request in enumerate(found):
            target = Target(
                job=request.job or (definition.job if not request.select else None),
                select=tuple(request.select) or (definition.select if not request.job else ()),
                exclude=tuple(request.exclude),
            )
            outcomes.append(
                d.request(
                    source,
                    base + timedelta(microseconds=i),
                    now,
                    target,
                    trigger=Trigger.SENSOR,
                    partitions=tuple(request.partitions),
                    run_key=request.run_key,
                    cursor=moved if i == len(found) - 1 else None,
                    add_partitions={k: tuple(v) for k, v in request.add_partitions.items()} or None,
                    vars=dict(request.vars) or None,
                    run_config=dict(request.run_config) or None,
                )
            )
    if found:
        d._skipped.pop(definition.name, None)
        return outcomes
    if moved is not None:
        d.ticks.set_cursor(source, moved, now)
    if skip is not None and d._skipped.get(definition.name) != skip:
        d._skipped[definition.name] = skip
        status = TickStatus.FAILED if failed else TickStatus.SKIPPED
        tick = d.tick_time(source, now)
        d.ticks.record(source, tick, status, at=now, message=skip)
        outcomes.append(_outcome(source, tick, status, skip))
    return outcomes


def _raised_at(exc: BaseException, definition: SensorDef, root: Path) -> str:
    """``sensors/api.py:12: RuntimeError: ...``: the exception, at the last line of the
    sensor's file it went through."""
    import traceback

    file = definition.source.rpartition(":")[0]
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    where = f"{definition.file(root)}:{frames[-1].lineno}: " if frames and file else ""
    return f"{where}{type(exc).__name__}: {exc}"


def guarded(
    d: Daemon, name: str, now: datetime, evaluate: Callable[[], list[TickOutcome]]
) -> list[TickOutcome]:
    """``evaluate()``, sensor ``name``'s ticks; an error it did not expect (a folder it may
    not read, say) is recorded as the sensor's failed tick, once while it repeats, and the
    other sensors and the schedules go on (it stopped the daemon)."""
    from teal.runtime.daemon import TickOutcome

    try:
        found = evaluate()
    except Exception as exc:  # noqa: BLE001 - one sensor's failure is its own
        source = f"sensor:{name}"
        said = f"evaluation failed: {type(exc).__name__}: {exc}"
        if d._failing.get(name) == said:
            return []
        d._failing[name] = said
        tick = d.tick_time(source, now)
        if not d.ticks.record(source, tick, TickStatus.FAILED, at=now, message=said):
            return []
        return [TickOutcome(source, tick, TickStatus.FAILED, None, said)]
    d._failing.pop(name, None)
    return found
