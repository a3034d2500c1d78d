"""``teal launch RUN``: carry out a queued run (what the daemon starts for each run).

The queued run holds everything it was asked to do: its selection, partitions and config
(the job's vars, a full refresh). The launched process claims it (queued -> started), so a
run is carried out once however many processes try, and records it under the same id.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teal.compiler.automation import Job
from teal.compiler.errors import SelectionError
from teal.compiler.frozen import evolve
from teal.compiler.plan import PlanOptions
from teal.compiler.strategy import LoadStrategy
from teal.runtime.clock import utc_now
from teal.runtime.dbt_flags import dbt_flags
from teal.runtime.report import Reporter
from teal.runtime.results import BuildResult
from teal.runtime.run_config import RunConfig
from teal.runtime.runstore import RunStatus, open_run_store, store_spec
from teal.runtime.runstore.liveness import this_process
from teal.runtime.runstore.records import JsonValue
from teal.runtime.runstore.ticks import TickStore
from teal.runtime.session import RunOptions, Session


def launch_queued(
    project_dir: str | Path | None,
    run_id: str,
    *,
    reporter: Reporter | None = None,
    strategy: LoadStrategy | None = None,
) -> BuildResult:
    """Build what queued run ``run_id`` asks for, recorded as that run."""
    from teal.compiler.config import load_config

    config = load_config(project_dir)
    with open_run_store(store_spec(config.run_store), config.root, project=config.name) as store:
        store.migrate(utc_now())
        run = store.run(run_id)
    if run is None:
        raise SelectionError(f"no run {run_id!r}", path="RUN", hint="`teal runs` lists runs")
    if run.project and run.project != config.name:  # a store shared by projects
        raise SelectionError(
            f"run {run_id} was queued by project '{run.project}', not by this project "
            f"('{config.name}'): it builds that project's models into that project's warehouse",
            path="RUN",
            hint=f"launch it from the folder of project '{run.project}'",
        )
    if run.status != RunStatus.QUEUED:
        raise SelectionError(
            f"run {run_id} is {run.status.value}, not queued",
            path="RUN",
            hint="`teal retry RUN` runs again what a finished run did not finish",
        )
    settings = run.config
    raw_vars = settings.get("vars")
    session = Session.open(config.root, vars=dict(raw_vars) if isinstance(raw_vars, dict) else None)
    session.strategy = strategy
    settings_flags(session, settings)
    try:
        adds = settings.get("add_partitions")
        if isinstance(adds, dict):  # a sensor's new dynamic partition keys, added first
            for set_name, new_keys in adds.items():
                if isinstance(new_keys, list):
                    session.change_partitions(set_name, add=[str(k) for k in new_keys])
        options = run_options(session, run.selection, run.exclude, run.partitions, settings)
        result = session.build(
            list(run.selection) or None,
            list(run.exclude) or None,
            options=options,
            run=RunOptions(
                command=run.command,
                trigger=run.trigger,
                run_id=run_id,
                queued=True,
                parent_run_id=run.parent_run_id,
                store_failures=bool(settings.get("store_failures")),
                config=RunConfig.recorded(settings.get("run_config"), run_id),
            ),
            reporter=reporter,
        )
    except BaseException as exc:
        _finish_unstarted(session, run_id, RunStatus.FAILURE, str(exc)[:2000] or repr(exc))
        raise
    else:
        _finish_unstarted(session, run_id, RunStatus.SUCCESS, "nothing to build")
    finally:
        session.close()
    return result


@dataclass(frozen=True)
class JobRequest:
    """What a run of a job asks for (``teal build --job``, a job picked on the UI's Launch
    page): the job's selection with any exclusions given added, its vars and tags, its
    partitions unless partitions were given, and a full refresh when it says so."""

    job: str
    select: tuple[str, ...]
    exclude: tuple[str, ...]
    vars: dict[str, Any]
    tags: tuple[str, ...]
    partitions: tuple[str, ...] | None  # keys and FIRST..LAST; None: as given
    full_refresh: bool


def job_request(
    job: Job,
    select: Sequence[str],
    exclude: Sequence[str],
    *,
    partitions_given: bool,
    flags: tuple[str, str] = ("--job", "--select"),
) -> JobRequest:
    """Run ``job``; a selection given too is an error (``flags``: how the job and the
    selection are named where they were given)."""
    if select:
        raise SelectionError(
            f"use {flags[0]} or {flags[1]}, not both",
            path=flags[0],
            hint=f"job {job.name} selects for you",
        )
    return JobRequest(
        job=job.name,
        select=job.select,
        exclude=(*job.exclude, *exclude),
        vars=dict(job.vars),
        tags=tuple(job.tags),
        partitions=job.partitions if job.partitions and not partitions_given else None,
        full_refresh=job.full_refresh,
    )


def settings_flags(session: Session, settings: Mapping[str, JsonValue]) -> None:
    """dbt's flags from a run's settings, as the run a retry retries had them (before the
    project loads: its templates read them)."""
    dbt_flags(
        session,
        empty=bool(settings.get("empty")),
        store_failures=bool(settings.get("store_failures")),
        full_refresh=bool(settings.get("full_refresh")),
    )


def run_options(
    session: Session,
    select: Sequence[str],
    exclude: Sequence[str],
    partitions: Sequence[str],
    settings: Mapping[str, JsonValue],
) -> PlanOptions:
    """The plan options of a run from its recorded settings (a queued run's config, or a
    retry's: runtime/retry.py ``RetryRequest.settings``) and partitions (keys, and a range
    as ``FIRST..LAST``)."""
    keys = [k for k in partitions if ".." not in k]
    ranges = [k for k in partitions if ".." in k]
    watched = settings.get("partitions_of")
    if isinstance(watched, str):
        # an asset sensor's partitions are the watched model's: a range it wrote in one
        # run (a single_run backfill) counts as its keys, never as the target's range
        keys, ranges = keys + _range_keys(session, watched, ranges), []
        selected = session.select(list(select) or None, list(exclude) or None)
        if not _keys_of(session, selected, keys):
            # an asset sensor's keys, not the target's: the target's keys whose time
            # window overlaps theirs, or (no time to compare) what is stale
            keys = _overlapping_keys(session, selected, watched, keys)
    window = settings.get("event_time_window")
    start, end = (str(window[0]), str(window[1])) if isinstance(window, list) else (None, None)
    options = session.options(
        partitions=keys,
        partition_range=ranges[0] if ranges else None,
        full_refresh=bool(settings.get("full_refresh")),
        missing_only=bool(settings.get("missing_only")),
        ignore_failed_upstream=bool(settings.get("ignore_failed_upstream")),
        event_time_start=start,
        event_time_end=end,
    )
    return _retry_options(options, settings)


def _retry_options(options: PlanOptions, settings: Mapping[str, JsonValue]) -> PlanOptions:
    """A retry: the models it keeps, and their partitions that the retried run built
    (runtime/retry.py); a run of automation conditions: each model's partitions
    (runtime/automation_conditions.py)."""
    done = settings.get("done_partitions")
    if isinstance(done, dict):
        options = evolve(
            options,
            done_partitions=tuple(
                (str(m), tuple(str(k) for k in keys))
                for m, keys in done.items()
                if isinstance(keys, list)
            ),
        )
    only = settings.get("only_models")
    if isinstance(only, list):
        options = evolve(options, only_models=frozenset(str(m) for m in only))
    asked = settings.get("model_partitions")  # automation conditions' keys, by model
    if isinstance(asked, dict):
        options = evolve(
            options,
            model_partitions=tuple(
                (str(m), tuple(str(k) for k in keys))
                for m, keys in asked.items()
                if isinstance(keys, list)
            ),
        )
    return options


def _keys_of(session: Session, selected: list[str], keys: list[str]) -> bool:
    """Whether ``keys`` are partition keys of one of the ``selected`` models (an asset
    sensor passes the watched model's keys; a target partitioned otherwise, or not at all,
    builds other keys)."""
    from teal.compiler.partitions import PartitionKeyError

    project = session.project
    for name in selected:
        definition = project.models[name].partitions
        if definition is None:
            continue
        try:
            for key in keys:
                definition.validate(key)
        except PartitionKeyError:
            continue
        return True
    return False


def _range_keys(session: Session, watched: str, ranges: list[str]) -> list[str]:
    """The keys of model ``watched`` in ``ranges`` (``FIRST..LAST``); none when it is no
    longer partitioned so, or no longer a model."""
    from teal.compiler.partitions import PartitionKeyError

    model = session.project.models.get(watched)
    definition = model.partitions if model is not None else None
    keys: list[str] = []
    for text in ranges:
        first, _, last = text.partition("..")
        try:
            keys.extend(definition.range(first, last) if definition is not None else ())
        except PartitionKeyError:
            continue
    return keys


def _overlapping_keys(
    session: Session, selected: list[str], watched: str, keys: list[str]
) -> list[str]:
    """The keys of the partitioned ``selected`` models whose windows overlap those of
    ``keys`` of model ``watched`` (daily keys of an upstream: the months, and every region,
    of a month x region target); [] when there is no one definition to give them for."""
    from teal.compiler.partition_pass import key_windows, overlapping_keys
    from teal.compiler.partitions import time_partitions

    project = session.project
    source = project.models[watched].partitions if watched in project.models else None
    windows = key_windows(source, keys) if source is not None else []
    targets = {project.models[n].partitions for n in selected} - {None}
    if not windows or len(targets) != 1:
        return []
    [definition] = targets
    if definition is None or time_partitions(definition) is None:
        return []
    return overlapping_keys(definition, windows, session.now)


def _finish_unstarted(session: Session, run_id: str, status: RunStatus, message: str) -> None:
    """A queued run that never started (nothing to build, or an error before the build)
    is closed with ``status``, so that the queue moves on."""
    store = session.run_store()
    now = utc_now()
    claimed = TickStore(store).claim(
        run_id, host=socket.gethostname(), pid=os.getpid(), process=this_process(), at=now
    )
    if claimed:
        store.set_status(run_id, status, at=now, message=message)
