"""Jobs, schedules and sensors: what runs without a person at the keyboard.

Declared in the project config, each a table under its kind::

    [tool.teal.jobs.nightly]
    select = "marts+"
    description = "the marts, every night"

    [tool.teal.schedules.nightly]
    job = "nightly"
    cron = "0 3 * * *"
    timezone = "Europe/Berlin"

    [tool.teal.sensors.landing]
    files = "landing/*.csv"          # a file-arrival sensor
    select = "raw_orders+"
    partition_from = '(\\d{4}-\\d{2}-\\d{2})'

Everything is checked when the config is read: an unknown key, a bad cron expression or
time zone, a schedule naming a job that does not exist are located errors. Tick arithmetic
(DST-correct, through croniter) is in :func:`ticks_between`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from teal.compiler.automation_conditions import SENSOR_NAME
from teal.compiler.daemon_settings import DaemonSettings, check_known_keys, parse_daemon_settings
from teal.compiler.errors import ProjectError, did_you_mean
from teal.compiler.toml_lines import table_line, value_col

CATCHUP = ("latest", "all", "none")
JOB_KEYS = {
    "select",
    "exclude",
    "description",
    "vars",
    "tags",
    "partitions",
    "full_refresh",
    "priority",
    "max_concurrent_runs",
}
SCHEDULE_KEYS = {
    "job",
    "select",
    "exclude",
    "cron",
    "timezone",
    "partition",
    "partition_offset",
    "catchup",
    "description",
    "enabled",
}
SENSOR_KINDS = ("files", "asset", "run_status")
SENSOR_KEYS = {
    "files",
    "asset",
    "run_status",
    "of_job",
    "webhook_env",
    "job",
    "select",
    "exclude",
    "partition_from",
    "add_partition_to",
    "remember_for",
    "minimum_interval",
    "description",
    "enabled",
}
REMEMBER_FOR = 7 * 86400.0  # a file sensor's default horizon: a week
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


@dataclass(frozen=True)
class Target:
    """What a schedule or sensor runs: a job, or a selection of its own."""

    job: str | None = None
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.job:
            return f"job {self.job}"
        return "-s " + " ".join(self.select) if self.select else "every model"


@dataclass(frozen=True)
class Job:
    """A named selection with what it runs with (``teal build --job NAME``)."""

    name: str
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    description: str = ""
    vars: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()  # partition keys (or FIRST..LAST) to build
    full_refresh: bool = False
    priority: int = 0  # queued runs of higher priority are launched first
    # at most this many of its runs queued or running at once (None: no limit); a tick past
    # it is skipped, so a slow job does not pile up a backlog
    max_concurrent_runs: int | None = None


@dataclass(frozen=True)
class Schedule:
    """A cron schedule for a job or a selection."""

    name: str
    cron: str
    target: Target
    timezone: str = "UTC"
    # "closed": each tick builds the partition that just closed ("offset" more back); None:
    # a plain build of the selection (missing and stale partitions)
    partition: str | None = None
    partition_offset: int = 0
    catchup: str = "latest"  # ticks missed while no daemon ran: latest | all | none
    description: str = ""
    enabled: bool = True

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Sensor:
    """Watches something and asks for runs: ``files`` (files appear or change), ``asset``
    (another run materialized a model) or ``run_status`` (a run ended so: a webhook)."""

    name: str
    kind: str  # files | asset | run_status
    target: Target  # what it runs (files, asset)
    files: str = ""  # files: a glob relative to the project root
    partition_from: str | None = None  # files: a regex whose first group is the partition key
    add_partition_to: str | None = None  # files: the dynamic partition set that key joins
    # files: how long (seconds) before the newest file it ran the sensor remembers files by
    # name (runtime/file_cursor.py); what landed earlier counts as run
    remember_for: float = REMEMBER_FOR
    asset: str = ""  # asset: the model whose materializations it watches
    run_status: str = ""  # run_status: failure | success
    of_job: str | None = None  # run_status: only runs of this job
    webhook_env: str = ""  # run_status: the environment variable holding the URL to POST to
    minimum_interval: float = 1.0  # seconds between evaluations
    description: str = ""
    enabled: bool = True

    def watches(self) -> str:
        if self.kind == "files":
            return self.files
        if self.kind == "asset":
            return f"materializations of {self.asset}"
        return f"{self.run_status} of " + (f"job {self.of_job}" if self.of_job else "any run")


@dataclass(frozen=True)
class Automation:
    jobs: dict[str, Job] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    sensors: dict[str, Sensor] = field(default_factory=dict)
    # the daemon's own settings ([daemon]: how long ticks are kept)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    # how a job's table is written in the project file (pyproject.toml: under [tool.teal])
    jobs_header: str = "[jobs.<name>]"

    def job(self, name: str, *, path: str = "--job") -> Job:
        try:
            return self.jobs[name]
        except KeyError:
            raise ProjectError(
                f"unknown job '{name}'",
                path=path,
                hint=did_you_mean(name, self.jobs)
                or (
                    "known jobs: " + ", ".join(sorted(self.jobs))
                    if self.jobs
                    else f"declare one under {self.jobs_header} (see `teal jobs`)"
                ),
            ) from None


def parse_automation(data: dict[str, Any], config_path: Path, key_line: Any = None) -> Automation:
    """Jobs, schedules and sensors from the project config's ``jobs``, ``schedules`` and
    ``sensors`` tables, and the daemon's settings (``daemon``); ``key_line(path, key)``
    finds a key's line for messages."""

    def fail(message: str, key: str, hint: str | None = None) -> ProjectError:
        """``key``: where the mistake is, dotted (``schedules.nightly.timezone``)."""
        line = None
        if key_line is not None:
            kind, _, rest = key.partition(".")
            name, _, field = rest.partition(".")
            if name:
                line = table_line(config_path, f"{kind}.{name}", field or None)
            if line is None:
                line = key_line(config_path, field or name or kind)
        return ProjectError(message, path=config_path.name, line=line, hint=hint)

    def flag(spec: dict[str, Any], where: str, key: str, default: bool) -> bool:
        value = spec.get(key, default)
        if not isinstance(value, bool):
            raise fail(f"{where}.{key} must be true or false, got {value!r}", f"{where}.{key}")
        return value

    def tables(kind: str) -> dict[str, dict[str, Any]]:
        raw = data.get(kind) or {}
        if not isinstance(raw, dict):
            raise fail(f"'{kind}' must be a table of named {kind}", kind)
        for name, spec in raw.items():
            if not isinstance(spec, dict):
                raise fail(f"{kind}.{name} must be a table", f"{kind}.{name}")
        return raw

    def check_keys(kind: str, name: str, spec: dict[str, Any], known: set[str]) -> None:
        check_known_keys(spec, known, f"{kind}.{name}", fail)

    def words(value: Any, what: str, name: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(value.split()) if value.strip() else ()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise fail(
            f"{what} of {name} must be a selector string or a list of them", f"{name}.{what}"
        )

    jobs: dict[str, Job] = {}
    for name, spec in tables("jobs").items():
        check_keys("jobs", name, spec, JOB_KEYS)
        if not isinstance(spec.get("vars", {}), dict):
            raise fail(f"jobs.{name}.vars must be a table", f"jobs.{name}.vars")
        jobs[name] = Job(
            name=name,
            select=words(spec.get("select"), "select", f"jobs.{name}"),
            exclude=words(spec.get("exclude"), "exclude", f"jobs.{name}"),
            description=str(spec.get("description", "")),
            vars=dict(spec.get("vars", {})),
            tags=words(spec.get("tags"), "tags", f"jobs.{name}"),
            partitions=words(spec.get("partitions"), "partitions", f"jobs.{name}"),
            full_refresh=flag(spec, f"jobs.{name}", "full_refresh", False),
            priority=_whole(spec.get("priority", 0), f"jobs.{name}.priority", fail),
            max_concurrent_runs=None
            if spec.get("max_concurrent_runs") is None
            else _whole(
                spec["max_concurrent_runs"], f"jobs.{name}.max_concurrent_runs", fail, low=1
            ),
        )

    def target(kind: str, name: str, spec: dict[str, Any]) -> Target:
        job = spec.get("job")
        if job is not None and job not in jobs:
            error = fail(
                f"{kind}.{name} runs job '{job}', which is not declared",
                f"{kind}.{name}.job",
                did_you_mean(str(job), jobs) or f"declare it under {jobs_header(config_path)}",
            )
            error.col = value_col(config_path, error.line)  # at the job's name
            raise error
        if job is not None and ("select" in spec or "exclude" in spec):
            raise fail(
                f"{kind}.{name} gives both a job and a selection", f"{kind}.{name}", "keep one"
            )
        return Target(
            job=job,
            select=words(spec.get("select"), "select", f"{kind}.{name}"),
            exclude=words(spec.get("exclude"), "exclude", f"{kind}.{name}"),
        )

    schedules: dict[str, Schedule] = {}
    for name, spec in tables("schedules").items():
        check_keys("schedules", name, spec, SCHEDULE_KEYS)
        cron = spec.get("cron")
        if (problem := cron_problem(cron)) or not isinstance(cron, str):
            raise fail(
                f"schedules.{name}.cron {cron!r} {problem}",
                f"schedules.{name}.cron",
                'five fields: minute hour day month weekday, e.g. cron = "0 3 * * *"',
            )
        zone = str(spec.get("timezone", "UTC"))
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise fail(
                f"schedules.{name}.timezone '{zone}' is not a time zone",
                f"schedules.{name}.timezone",
                "an IANA name such as Europe/Berlin or UTC",
            ) from None
        catchup = str(spec.get("catchup", "latest"))
        if catchup not in CATCHUP:
            raise fail(
                f"schedules.{name}.catchup must be one of {', '.join(CATCHUP)}",
                f"schedules.{name}.catchup",
                did_you_mean(catchup, CATCHUP),
            )
        partition = spec.get("partition")
        if partition not in (None, "closed"):
            raise fail(
                f'schedules.{name}.partition must be "closed" (the partition that just '
                "closed at each tick)",
                f"schedules.{name}.partition",
                'partition = "closed", or leave it out: a tick then builds what `teal build` would',
            )
        offset = spec.get("partition_offset", 0)
        if not isinstance(offset, int) or offset < 0:
            raise fail(
                f"schedules.{name}.partition_offset must be a whole number >= 0",
                f"schedules.{name}.partition_offset",
            )
        schedules[name] = Schedule(
            name=name,
            cron=cron,
            target=target("schedules", name, spec),
            timezone=zone,
            partition=partition,
            partition_offset=offset,
            catchup=catchup,
            description=str(spec.get("description", "")),
            enabled=flag(spec, f"schedules.{name}", "enabled", True),
        )

    sensors: dict[str, Sensor] = {}
    for name, spec in tables("sensors").items():
        check_keys("sensors", name, spec, SENSOR_KEYS)
        if name == SENSOR_NAME:  # its ticks and pause mark would be the evaluator's
            raise fail(
                f"sensors.{name}: '{name}' is the daemon's evaluator of models' automation "
                "conditions",
                f"sensors.{name}",
                "give the sensor another name",
            )
        kinds = [k for k in SENSOR_KINDS if k in spec]
        if len(kinds) != 1:
            raise fail(
                f"sensors.{name} must watch one thing: files, asset or run_status",
                f"sensors.{name}",
                'files = "landing/*.csv", asset = "orders", or run_status = "failure"',
            )
        kind = kinds[0]
        interval = parse_duration(spec.get("minimum_interval", "1s"))
        if interval is None:
            raise fail(
                f'sensors.{name}.minimum_interval must be a duration such as "30s"',
                f"sensors.{name}.minimum_interval",
                'minimum_interval = "30s" (a number of ms, s, m, h or d, or of seconds)',
            )
        common: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "minimum_interval": interval,
            "description": str(spec.get("description", "")),
            "enabled": flag(spec, f"sensors.{name}", "enabled", True),
        }
        if kind == "run_status":
            sensors[name] = _run_status_sensor(name, spec, jobs, fail, common)
            continue
        if not isinstance(spec[kind], str) or not spec[kind].strip():
            raise fail(
                f"sensors.{name}.{kind} must be a non-empty string", f"sensors.{name}.{kind}"
            )
        pattern = spec.get("partition_from")
        if pattern is not None:
            try:
                if kind != "files" or re.compile(str(pattern)).groups < 1:
                    raise re.error("no group")
            except re.error:
                raise fail(
                    f"sensors.{name}.partition_from must be a regular expression with a "
                    "group capturing the partition key (file sensors only)",
                    f"sensors.{name}.partition_from",
                    "partition_from = '(\\d{4}-\\d{2}-\\d{2})'",
                ) from None
        adds = spec.get("add_partition_to")
        if adds is not None and (pattern is None or not isinstance(adds, str)):
            raise fail(
                f"sensors.{name}.add_partition_to names a dynamic partition set, and needs "
                "partition_from to find the key in each file's name",
                f"sensors.{name}.add_partition_to",
            )
        remember = parse_duration(spec.get("remember_for", REMEMBER_FOR))
        if not remember or ("remember_for" in spec and kind != "files"):
            raise fail(
                f'sensors.{name}.remember_for must be a duration such as "7d" (file '
                "sensors only): how long the sensor remembers the files it ran",
                f"sensors.{name}.remember_for",
            )
        sensors[name] = Sensor(
            target=target("sensors", name, spec),
            add_partition_to=adds,
            remember_for=remember,
            files=spec.get("files", ""),
            asset=spec.get("asset", ""),
            partition_from=str(pattern) if pattern is not None else None,
            **common,
        )
    return Automation(
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        daemon=parse_daemon_settings(data.get("daemon"), fail),
        jobs_header=jobs_header(config_path),
    )


def jobs_header(config_path: Path) -> str:
    """How a job's table is written in the project file ``config_path``.

    >>> jobs_header(Path("teal.toml")), jobs_header(Path("pyproject.toml"))
    ('[jobs.<name>]', '[tool.teal.jobs.<name>]')
    """
    return "[tool.teal.jobs.<name>]" if config_path.name == "pyproject.toml" else "[jobs.<name>]"


def _whole(value: Any, what: str, fail: Any, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        at_least = f" of at least {low}" if low is not None else ""
        raise fail(f"{what} must be a whole number{at_least}, got {value!r}", what)
    return value


def _run_status_sensor(
    name: str,
    spec: dict[str, Any],
    jobs: dict[str, Job],
    fail: Any,
    common: dict[str, Any],
) -> Sensor:
    status = spec["run_status"]
    if status not in ("failure", "success"):
        raise fail(
            f"sensors.{name}.run_status must be failure or success", f"sensors.{name}.run_status"
        )
    if "job" in spec or "select" in spec or "exclude" in spec:
        raise fail(
            f"sensors.{name} watches runs: it runs nothing itself",
            f"sensors.{name}",
            "of_job = NAME limits it to the runs of one job; webhook_env names the URL",
        )
    of_job = spec.get("of_job")
    if of_job is not None and of_job not in jobs:
        raise fail(
            f"sensors.{name}.of_job '{of_job}' is not a declared job", f"sensors.{name}.of_job"
        )
    webhook = spec.get("webhook_env")
    if not isinstance(webhook, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", webhook):
        raise fail(
            f"sensors.{name} needs webhook_env = the environment variable holding the URL",
            f"sensors.{name}.webhook_env",
            'webhook_env = "ALERT_WEBHOOK_URL" (the URL itself is never written anywhere)',
        )
    return Sensor(target=Target(), run_status=status, of_job=of_job, webhook_env=webhook, **common)


# the keys of a model's freshness config
FRESHNESS_KEYS = ("max_lag", "severity", "cron", "timezone")


def freshness_problem(value: dict[str, Any]) -> tuple[str, str] | None:
    """What is wrong with a model's ``freshness`` config and the key it is at, or None.

    >>> freshness_problem({"max_lag": "26h"}), freshness_problem({"max_lag": "soon"})
    (None, ("max_lag 'soon' is not a duration such as '26h'", 'max_lag'))
    >>> freshness_problem({"max_lag": "26h", "timzone": "UTC"})
    ("unknown key 'timzone' (did you mean 'timezone'?)", 'timzone')
    """
    unknown = sorted(str(k) for k in set(value) - set(FRESHNESS_KEYS))
    if unknown:
        close = did_you_mean(unknown[0], FRESHNESS_KEYS)
        known = close or "known: " + ", ".join(FRESHNESS_KEYS)
        return f"unknown key '{unknown[0]}' ({known})", unknown[0]
    if parse_duration(value.get("max_lag")) is None:
        return f"max_lag {value.get('max_lag')!r} is not a duration such as '26h'", "max_lag"
    if value.get("severity", "error") not in ("warn", "error"):
        return f"severity {value.get('severity')!r} is not warn or error", "severity"
    cron = value.get("cron")
    if cron is not None and (problem := cron_problem(cron)):
        return f"cron {cron!r} {problem} (such as '0 9 * * *')", "cron"
    try:
        ZoneInfo(str(value.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        return f"timezone {value.get('timezone')!r} is not a time zone", "timezone"
    return None


def last_tick(cron: str, timezone: str, now: datetime) -> datetime:
    """The latest tick of ``cron`` (in ``timezone``) at or before ``now`` (naive UTC), as
    naive UTC: a freshness deadline."""
    schedule = Schedule(name="deadline", cron=cron, target=Target(), timezone=timezone)
    start = now.replace(tzinfo=UTC) - timedelta(days=400)
    found = ticks_between(schedule, start, now.replace(tzinfo=UTC))
    return (found[-1] if found else start).replace(tzinfo=None)


def cron_problem(expression: object) -> str | None:
    """What is wrong with ``expression`` as five cron fields, or None: not a cron
    expression, or one that never fires (``0 3 31 2 *``: February 31st parses)."""
    from croniter import CroniterBadDateError, croniter

    if not isinstance(expression, str):
        return "is not a cron expression"
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        return "is not a cron expression"
    try:  # a leap day comes within 8 years
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        return "never fires: no date matches it"
    return None


def parse_duration(value: Any) -> float | None:
    """Seconds in ``"30s"``, ``"5m"``, ``"1.5h"``, ``"250ms"`` or a number of seconds.

    >>> parse_duration("5m"), parse_duration(2), parse_duration("soon")
    (300.0, 2.0, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    found = _DURATION.match(str(value))
    if not found:
        return None
    return float(found.group(1)) * _UNITS[found.group(2)]


def iter_ticks(schedule: Schedule, after: datetime) -> Iterator[datetime]:
    """The schedule's ticks strictly after ``after``, in UTC, forever.

    DST-correct in the schedule's time zone: a wall time skipped by a spring-forward runs
    at the first valid time after it; a wall time that occurs twice in the autumn runs
    once for a schedule with fixed hours (each real hour still ticks for ``0 * * * *``)."""
    from croniter import croniter

    zone = schedule.zone
    it = croniter(schedule.cron, after.astimezone(zone))
    hours = schedule.cron.split()[1]
    fixed_hours = hours != "*" and "/" not in hours
    while True:
        tick: datetime = it.get_next(datetime)
        instant = tick.astimezone(UTC)
        if fixed_hours:
            # a wall time that occurs twice (autumn): only its first occurrence ticks,
            # wherever the iteration started
            wall = instant.astimezone(zone).replace(tzinfo=None)
            if wall.replace(tzinfo=zone, fold=0).astimezone(UTC) != instant:
                continue
        yield instant


def ticks_between(schedule: Schedule, after: datetime, until: datetime) -> list[datetime]:
    """The ticks in ``(after, until]``, in UTC."""
    found = []
    for tick in iter_ticks(schedule, after):
        if tick > until:
            break
        found.append(tick)
    return found


def next_ticks(schedule: Schedule, now: datetime, count: int) -> list[datetime]:
    found = []
    for tick in iter_ticks(schedule, now):
        found.append(tick)
        if len(found) == count:
            break
    return found


def missed_before(now: datetime, grace: float) -> datetime:
    """Ticks before this time were missed (no daemon evaluated them in time)."""
    return now - timedelta(seconds=grace)
