"""Freshness: is each model's data as recent as its ``freshness`` config asks?

A model says ``freshness = {max_lag = "26h"}`` (severity ``error`` by default, or ``warn``).
Its *data time* is when its data was last brought up to date: for a time-partitioned model
the end of the newest partition built successfully (the data covers up to then), for any
other model the end of its last successful build. Its lag is now minus that time; a lag
over ``max_lag``, or no data at all, fails the check.

``teal check --freshness`` evaluates the selected models and records the result as a run
whose check results are the ``freshness`` checks; the daemon evaluates it too and records a
run whenever a model's freshness changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from teal.compiler.automation import last_tick, parse_duration
from teal.compiler.plan import PlanState
from teal.compiler.project import Project
from teal.runtime.clock import new_run_id, utc_now
from teal.runtime.runstore import EventKind, RunStatus, RunStore, Trigger
from teal.runtime.runstore.records import JsonValue

CHECK = "freshness"


@dataclass(frozen=True)
class Freshness:
    """One model's freshness at one moment."""

    model: str
    max_lag: timedelta
    severity: str
    data_time: datetime | None  # naive UTC
    lag: timedelta | None
    warn_after: timedelta | None = None  # sources: older than this warns (dbt's warn_after)
    deadline: datetime | None = None  # a cron deadline's latest tick: the lag is measured there

    @property
    def status(self) -> str:
        """pass, warn or fail (as check results say)."""
        if self.lag is not None and self.lag <= self.max_lag:
            if self.warn_after is not None and self.lag > self.warn_after:
                return "warn"
            return "pass"
        return "warn" if self.severity == "warn" else "fail"

    @property
    def message(self) -> str:
        if self.data_time is None:
            return "no data: never built"
        age = f"data as of {self.data_time:%Y-%m-%d %H:%M} UTC, {_human(self.lag)} old"
        if self.deadline is not None:
            age += f" at its deadline {self.deadline:%Y-%m-%d %H:%M} UTC"
        if self.lag is not None and self.lag > self.max_lag:
            return f"{age}, over its max_lag of {_human(self.max_lag)}"
        if self.warn_after is not None and self.lag is not None and self.lag > self.warn_after:
            return f"{age}, over its warn_after of {_human(self.warn_after)}"
        return f"{age}, within its max_lag of {_human(self.max_lag)}"


def evaluate(
    project: Project, state: PlanState, names: list[str], now: datetime
) -> list[Freshness]:
    """The freshness of each of ``names`` that has a ``freshness`` config (``now``: naive
    UTC)."""
    found = []
    for name in names:
        model = project.models[name]
        policy = model.config.get("freshness")
        if not policy:
            continue
        max_lag = timedelta(seconds=parse_duration(policy.get("max_lag")) or 0.0)
        data_time = _data_time(project, state, name)
        # with a cron deadline, the data must be that fresh at the latest deadline passed
        at = (
            last_tick(str(policy["cron"]), str(policy.get("timezone", "UTC")), now)
            if policy.get("cron")
            else now
        )
        found.append(
            Freshness(
                model=name,
                max_lag=max_lag,
                severity=str(policy.get("severity", "error")),
                data_time=data_time,
                lag=None if data_time is None else max(at - data_time, timedelta(0)),
                deadline=at if policy.get("cron") else None,
            )
        )
    return found


_PERIOD = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def evaluate_sources(project: Project, now: datetime) -> list[Freshness]:
    """dbt's source freshness: for each source table with ``freshness`` and
    ``loaded_at_field``, the newest loaded-at value against its warn/error thresholds. Reads
    the sources through the warehouse (read-only)."""
    from teal.compiler.sources import READERS, scan_text
    from teal.compiler.sql import quote_identifier
    from teal.warehouse.engine import open_engine

    tables = [t for src in project.sources.values() for t in src.tables.values() if t.freshness]
    if not tables:
        return []
    found = []
    built = Path(project.config.warehouse_path).exists()  # file sources need no warehouse
    with open_engine(
        project.config,
        read_only=built,
        sources=project.sources,
        path=None if built else ":memory:",
    ) as wh:
        cur = wh.cursor()
        for table in tables:
            relation = (
                scan_text(table)
                if table.kind in READERS
                else ".".join(quote_identifier(p) for p in table.location.split("."))
            )
            field = str(table.loaded_at_field)
            # a column name, quoted; dbt's loaded_at_field may also be an expression, as is
            column = quote_identifier(field) if field.isidentifier() else field
            data = cur.load(f"SELECT max({column}) AS loaded_at FROM {relation}", "arrow")
            newest = data.column(0)[0].as_py() if data.num_rows else None
            limits = {
                severity: count * _PERIOD[period] for severity, count, period in table.freshness
            }
            error, warn = limits.get("error"), limits.get("warn")
            data_time = _naive_utc(newest)
            found.append(
                Freshness(
                    model=table.key,
                    max_lag=error if error is not None else warn or timedelta(0),
                    severity="error" if error is not None else "warn",
                    data_time=data_time,
                    lag=None if data_time is None else max(now - data_time, timedelta(0)),
                    warn_after=warn if error is not None else None,
                )
            )
    return found


def _naive_utc(value: object) -> datetime | None:
    """A loaded-at value as naive UTC (a date is its midnight; naive times are UTC)."""
    from datetime import date

    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def _data_time(project: Project, state: PlanState, name: str) -> datetime | None:
    definition = project.models[name].partitions
    if definition is None:
        built = state.models.get(name)
        return built.finished_at if built is not None else None
    newest: datetime | None = None
    for key, rec in state.partitions.get(name, {}).items():
        if rec.get("status") != "success":
            continue
        try:
            end = definition.window_utc(key)[1]
        except Exception:  # noqa: BLE001 - no time dimension: the build time is the data time
            end = rec.get("finished_at")
        if end is not None and (newest is None or end > newest):
            newest = end
    if newest is not None and newest.tzinfo is not None:
        newest = newest.astimezone(UTC).replace(tzinfo=None)
    return newest


def record(
    store: RunStore,
    project: Project,
    found: list[Freshness],
    *,
    trigger: Trigger,
    command: str = "freshness",
) -> str:
    """Record an evaluation as a finished run whose check results are the freshness checks;
    its run id."""
    from teal.runtime.recorder import start_run

    run_id = new_run_id()
    recorder = start_run(
        store,
        run_id=run_id,
        command=command,
        trigger=trigger,
        project=project.config.name,
        selection=tuple(f.model for f in found),
        exclude=(),
        partitions=(),
        config={},
    )
    for f in found:
        data: dict[str, JsonValue] = {
            "check": CHECK,
            "status": f.status,
            "severity": f.severity,
            "failing_rows": None,
            "lag_s": None if f.lag is None else f.lag.total_seconds(),
        }
        recorder.emit(EventKind.CHECK_RESULT, f.model, message=f.message, data=data)
    failed = [f for f in found if f.status == "fail"]
    recorder.emit(EventKind.RUN_END, message="failure" if failed else "success")
    store.set_status(
        run_id,
        RunStatus.FAILURE if failed else RunStatus.SUCCESS,
        at=utc_now(),
        message=f"{len(found) - len(failed)} fresh, {len(failed)} stale",
    )
    return run_id


def _human(delta: timedelta | None) -> str:
    """``26h``, ``3d 4h``, ``12m``.

    >>> _human(timedelta(hours=26)), _human(timedelta(days=3, hours=4)), _human(timedelta(minutes=12))
    ('26h', '3d 4h', '12m')
    """
    if delta is None:
        return "?"
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if days or hours:
        return f"{days * 24 + hours}h" + (f" {mins}m" if mins and not days else "")
    return f"{mins}m"
