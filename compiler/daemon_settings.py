"""The daemon's own settings: ``[daemon]`` in the project config.

    [daemon.tick_retention]      # days a tick is kept, by what it did
    skipped = 7                  # evaluated, nothing to run (most of a minutely schedule's)
    failed = 30                  # evaluating it failed
    requested = 90               # it queued a run; "forever" keeps them all

    [daemon]
    automation_interval = "30s"  # how often models' automation conditions are evaluated

Read with the jobs, schedules and sensors (compiler/automation.py), so a mistake here is
what their mistakes are: a located error for the daemon and ``teal validate``, a warning
for every other command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from teal.compiler.errors import ProjectError, did_you_mean
from teal.compiler.wording import counted

DAEMON_KEYS = {"tick_retention", "automation_interval"}
FOREVER = "forever"

# ``fail(message, dotted key, hint)``: the located error of compiler/automation.py
Fail = Callable[..., ProjectError]


@dataclass(frozen=True)
class TickRetention:
    """How many days a tick is kept, by its status (None: forever). Skipped ticks are most
    of a frequent schedule's and say little once old; a failed tick or one that queued a
    run is what someone looks back for, so they are kept longer (as long as run history,
    by default)."""

    skipped: int | None = 7
    failed: int | None = 30
    requested: int | None = 90

    def by_status(self) -> dict[str, int | None]:
        """Tick status (runtime/runstore/ticks.py ``TickStatus``) -> days kept."""
        return {"skipped": self.skipped, "failed": self.failed, "requested": self.requested}

    def describe(self) -> str:
        """``skipped 7 days, failed 30 days, requested forever``."""
        return ", ".join(
            f"{status} " + ("forever" if days is None else counted(days, "day"))
            for status, days in self.by_status().items()
        )


@dataclass(frozen=True)
class DaemonSettings:
    tick_retention: TickRetention = field(default_factory=TickRetention)
    # seconds between two evaluations of the models' automation conditions
    # (runtime/automation_conditions.py), as Dagster's sensor evaluates them every 30 s
    automation_interval: float = 30.0


def parse_daemon_settings(raw: object, fail: Fail) -> DaemonSettings:
    """The ``[daemon]`` table (None: the defaults).

    >>> def fail(message, key, hint=None): return ProjectError(message, path=key)
    >>> parse_daemon_settings({"tick_retention": {"skipped": 2, "requested": "forever"}}, fail)
    ... # doctest: +NORMALIZE_WHITESPACE
    DaemonSettings(tick_retention=TickRetention(skipped=2, failed=30, requested=None),
                   automation_interval=30.0)
    """
    if raw is None:
        return DaemonSettings()
    if not isinstance(raw, dict):
        raise fail("'daemon' must be a table of the daemon's settings", "daemon")
    check_known_keys(raw, DAEMON_KEYS, "daemon", fail)
    spec = raw.get("tick_retention", {})
    if not isinstance(spec, dict):
        raise fail(
            "daemon.tick_retention must be a table of days by tick status",
            "daemon.tick_retention",
            "tick_retention = { skipped = 7, failed = 30, requested = 90 }",
        )
    statuses = TickRetention().by_status()
    check_known_keys(spec, set(statuses), "daemon.tick_retention", fail)
    days = {
        status: _days(spec.get(status, default), status, fail)
        for status, default in statuses.items()
    }
    return DaemonSettings(
        tick_retention=TickRetention(**days),
        automation_interval=_interval(raw.get("automation_interval", "30s"), fail),
    )


def _interval(value: object, fail: Fail) -> float:
    from teal.compiler.automation import parse_duration

    seconds = parse_duration(value)
    if not seconds:  # None (not a duration) or 0 (evaluated at every step)
        raise fail(
            f"daemon.automation_interval must be a duration of more than 0, got {value!r}",
            "daemon.automation_interval",
            'automation_interval = "30s"',
        )
    return seconds


def check_known_keys(spec: dict[str, Any], known: set[str], where: str, fail: Fail) -> None:
    """Fail on the first key of ``spec`` (the table at dotted ``where``) not in ``known``."""
    for key in spec:
        if key not in known:
            raise fail(
                f"unknown key '{key}' in {where}",
                f"{where}.{key}",
                did_you_mean(key, known) or "known: " + ", ".join(sorted(known)),
            )


def _days(value: object, status: str, fail: Fail) -> int | None:
    if value is None or value == FOREVER:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(
            f"daemon.tick_retention.{status} must be a whole number of days (1 or more) or "
            f'"{FOREVER}", got {value!r}',
            f"daemon.tick_retention.{status}",
            f'{status} = 30, or {status} = "{FOREVER}"',
        )
    return value
