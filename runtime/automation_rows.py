"""Schedules and sensors as rows: what ``teal schedules``/``teal sensors`` print and the
UI's automation page shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from teal.compiler.automation import Schedule, next_ticks
from teal.compiler.config import ProjectConfig


def schedule_row(schedule: Schedule, now: datetime) -> dict[str, Any]:
    """One schedule: its cron, what it runs and its next tick (``now``: naive UTC)."""
    upcoming = next_ticks(schedule, now.replace(tzinfo=UTC), 1) if schedule.enabled else []
    return {
        "name": schedule.name,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "runs": schedule.target.describe(),
        "partition": schedule.partition,
        "catchup": schedule.catchup,
        "enabled": schedule.enabled,
        "next_tick": upcoming[0].astimezone(schedule.zone).isoformat() if upcoming else None,
    }


def sensor_rows(config: ProjectConfig, conditioned: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every sensor, declared in the project config or written in Python, and the daemon's
    evaluator of automation conditions when models have one (``conditioned``: their names)."""
    from teal.runtime.python_sensors import load_sensors

    found = config.automation.sensors
    in_python = load_sensors(config.root)
    rows = [
        {
            "name": s.name,
            "kind": s.kind,
            "watches": s.watches(),
            "runs": s.target.describe() if s.kind != "run_status" else f"POST to ${s.webhook_env}",
            "partition_from": s.partition_from,
            "minimum_interval_s": s.minimum_interval,
            "enabled": s.enabled,
        }
        for s in found.values()
    ] + [
        {
            "name": d.name,
            "kind": "python",
            "watches": d.description or f"{d.file(config.root)}:{d.line}",
            "runs": f"job {d.job}"
            if d.job
            else ("-s " + " ".join(d.select) if d.select else "(its requests)"),
            "partition_from": None,
            "minimum_interval_s": d.minimum_interval,
            "enabled": True,
        }
        for d in in_python.values()
    ]
    if conditioned:
        rows.append(conditions_row(config, conditioned))
    return rows


def conditions_row(config: ProjectConfig, conditioned: Sequence[str]) -> dict[str, Any]:
    """The evaluator of the models' automation conditions (runtime/automation_conditions.py),
    listed as a sensor: it is paused and resumed as one."""
    from teal.compiler.automation_conditions import SENSOR_NAME

    named = ", ".join(conditioned[:3]) + (
        f" and {len(conditioned) - 3} more" if len(conditioned) > 3 else ""
    )
    return {
        "name": SENSOR_NAME,
        "kind": "automation_conditions",
        "watches": f"the automation conditions of {named} (`teal automation`)",
        "runs": "the models whose conditions fire",
        "partition_from": None,
        "minimum_interval_s": config.automation.daemon.automation_interval,
        "enabled": True,
    }
