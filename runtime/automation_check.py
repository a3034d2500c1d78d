"""What jobs, schedules and sensors name, checked against the project: a selection that
matches no model, an asset sensor's model that does not exist, a closed-partition
schedule without a time-partitioned model, a Python sensor's job that is not declared.
The project config parses without the project (compiler/automation.py); these need its
models, so ``teal validate``, the automation listings and the daemon's start check them,
rather than a run failing at a tick with a flag the user never passed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from teal.compiler.automation import Target
from teal.compiler.errors import ProjectError, SelectionError, TealError, did_you_mean
from teal.compiler.toml_lines import table_line

if TYPE_CHECKING:
    from teal.runtime.session import Session


def automation_errors(session: Session) -> list[TealError]:
    """A located error for each thing the project's automation names that the project
    does not have."""
    config = session.config
    automation = config.automation
    project = session.project
    path = config.config_path
    out: list[TealError] = []

    def error(table: str, message: str, hint: str | None = None, key: str | None = None) -> None:
        """At ``key``'s line in ``table`` (the header's when it is not on a line of its own)."""
        out.append(
            ProjectError(
                f"{table} {message}",
                path=path.name,
                line=table_line(path, table, key),
                hint=hint,
            )
        )

    jobs: dict[str, list[str] | None] = {}  # each job's models, None: its selection failed

    def selected(table: str, target: Target) -> list[str] | None:
        if target.job is not None and target.job in jobs:  # checked once, as the job
            return jobs[target.job]
        try:
            return session.select(list(target.select) or None, list(target.exclude) or None)
        except SelectionError as exc:
            key = (
                "job"
                if target.job is not None
                else "exclude"
                if exc.source_line in target.exclude
                else "select"
            )
            error(table, f"selects {exc.message}", exc.hint, key)
            return None

    for name, job in automation.jobs.items():
        names = jobs[name] = selected(
            f"jobs.{name}", Target(select=job.select, exclude=job.exclude)
        )
        if names and job.partitions:  # the keys as its runs plan them
            keys = [k for k in job.partitions if ".." not in k]
            ranges = [k for k in job.partitions if ".." in k]
            try:
                session.plan(
                    list(job.select) or None,
                    list(job.exclude) or None,
                    session.options(partitions=keys, partition_range=ranges[0] if ranges else None),
                )
            except TealError as exc:
                error(f"jobs.{name}", f"partitions: {exc.message}", exc.hint, "partitions")
    for name, schedule in automation.schedules.items():
        names = selected(f"schedules.{name}", schedule.target)
        if (
            names is not None
            and schedule.partition == "closed"
            and not any(_time_partitioned(session, n) for n in names)
        ):
            error(
                f"schedules.{name}",
                'builds the partition that closed at each tick (partition = "closed"), but it '
                "selects no model partitioned by time",
                'remove partition = "closed", or select a model partitioned by time',
                "partition",
            )
    for name, sensor in automation.sensors.items():
        if sensor.kind == "asset" and sensor.asset not in project.models:
            error(
                f"sensors.{name}",
                f"watches '{sensor.asset}', which is not a model",
                did_you_mean(sensor.asset, project.models),
                "asset",
            )
        if sensor.kind != "run_status":
            selected(f"sensors.{name}", sensor.target)
    from teal.runtime.python_sensors import load_sensors

    for name, defined in load_sensors(config.root).items():
        if defined.job is not None and defined.job not in automation.jobs:
            out.append(
                ProjectError(
                    f"sensor {name} runs job '{defined.job}', which is not declared",
                    path=defined.file(config.root),
                    line=defined.line,
                    hint=did_you_mean(defined.job, automation.jobs)
                    or f"declare it under {automation.jobs_header}",
                )
            )
    return out


def _time_partitioned(session: Session, name: str) -> bool:
    from teal.compiler.partitions import time_partitions

    return time_partitions(session.project.models[name].partitions) is not None
