"""``teal retry RUN``: run again what a run did not finish, as it was asked for.

A retry is a new run linked to the old one (its parent). It plans the old run's selection
again with its partitions, vars, run config and refresh options, and keeps the steps of
the models the old run planned that did not succeed (failed, skipped, or never started
because the run crashed or was canceled): planning the whole selection gives a model
selected by ``+`` the partitions it read from its upstreams the first time. A run that
failed before its first step is retried as it was asked for.
Partitioned models are planned for the same partitions as the first time, less those the
run built (``done_partitions``, as Dagster retries a backfill's failed partitions); a
model whose every partition succeeded but which failed after them (a post-hook) builds
them all again, which is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from teal.compiler.errors import SelectionError
from teal.runtime.run_config import RunConfig
from teal.runtime.runstore import EventKind, RunRecord, RunStatus, RunStore, Trigger
from teal.runtime.runstore.records import JsonValue, StepRecord


@dataclass(frozen=True)
class RetryRequest:
    """What to run to finish ``parent``."""

    parent: RunRecord
    models: tuple[str, ...]  # the models retried (the parent's selection, for ``whole``)
    partitions: tuple[str, ...]
    partition_range: tuple[str, str] | None
    full_refresh: bool
    missing_only: bool
    vars: dict[str, JsonValue]
    command: str
    run_config: RunConfig | None  # the parent's, reused whole
    # the parent's --target and warehouse file (None: not recorded, by an older teal)
    target: str | None = None
    warehouse: str | None = None
    # the parent's selection expressions and exclusions, planned again (() for everything)
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # a run that failed before it started a step: everything it selects is retried
    whole: bool = False
    # each partitioned model's partitions the run built: the retry leaves them out
    done_partitions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # the run's other options, replayed: --store-failures, --ignore-failed-upstream, dbt's
    # --event-time-start/--event-time-end (UTC, ISO) and --empty
    store_failures: bool = False
    ignore_failed_upstream: bool = False
    event_time_window: tuple[str, str] | None = None
    empty: bool = False
    # the job the run was of (`teal build --job`, a schedule's) and its tags: a retry is
    # of the same job, so a run-status sensor of that job sees it
    job: str | None = None
    tags: tuple[str, ...] = ()

    def only_models(self) -> frozenset[str] | None:
        """The models whose steps the retry keeps (None: all its selection plans)."""
        return None if self.whole else frozenset(self.models)

    def partitions_asked(self) -> list[str]:
        """The parent's partition keys, and its range as ``FIRST..LAST``."""
        rng = self.partition_range
        return [*self.partitions, *([f"{rng[0]}..{rng[1]}"] if rng else [])]

    def settings(self) -> dict[str, JsonValue]:
        """The retry's run config: what runtime/launch.py's ``run_options`` plans it from,
        for a retry queued from the UI and `teal retry` alike."""
        only = self.only_models()
        window = self.event_time_window
        return {
            "vars": dict(self.vars),
            "run_config": self.run_config.to_json() if self.run_config else {},
            "full_refresh": self.full_refresh,
            "missing_only": self.missing_only,
            "store_failures": self.store_failures,
            "ignore_failed_upstream": self.ignore_failed_upstream,
            "event_time_window": list(window) if window else None,
            "empty": self.empty,
            "done_partitions": {m: list(keys) for m, keys in self.done_partitions},
            "only_models": [m for m in sorted(only)] if only is not None else None,
            # an asset sensor's run: its keys are the watched model's
            "partitions_of": self.parent.config.get("partitions_of"),
            # a run of automation conditions: each model's keys (a plain build of a
            # time-partitioned model would build every missing partition)
            "model_partitions": self.parent.config.get("model_partitions"),
            # a queued retry's run records them as a run of the job does
            **({"job": self.job, "tags": list(self.tags)} if self.job is not None else {}),
        }


class NothingToRetry(SelectionError):
    """The run finished every step it planned: a retry has nothing to do (not an error
    for the command line, which says so and exits 0, as a build with nothing to build)."""


def plan_retry(store: RunStore, run: RunRecord) -> RetryRequest:
    """The retry of ``run``; an error if it is still running or has nothing to redo."""
    _finished(run)
    _built_something(run)
    started = store.events(run.run_id, kinds=[EventKind.RUN_START])
    planned_data = started[0].data.get("planned") if started else None
    planned = [str(m) for m in planned_data] if isinstance(planned_data, list) else []
    steps = store.steps(run.run_id)
    # a partitioned step that succeeded with partitions held back (runtime/held_back.py)
    # has those to build: it is retried, less the partitions it built
    done_keys = {(s.model, s.partition_key) for s in steps if s.status == "success"}
    partitions_left = {
        s.model for s in steps if s.partition_key and (s.model, s.partition_key) not in done_keys
    }
    # a model whose check was skipped (a model it reads failed) built without that check:
    # the retry builds it again, and the check runs
    unchecked = {
        str(e.model)
        for e in store.events(run.run_id, kinds=[EventKind.CHECK_RESULT])
        if e.data.get("status") == "skipped" and e.model
    }
    succeeded = {
        s.model
        for s in steps
        if s.status == "success"
        and not s.partition_key
        and s.model not in partitions_left
        and s.model not in unchecked
    }
    todo = tuple(m for m in planned if m not in succeeded)
    built: dict[str, dict[str, None]] = {}
    for s in _chain_steps(store, run, steps):
        if s.status == "success" and s.partition_key and s.model in todo:
            built.setdefault(s.model, {})[s.partition_key] = None
    never_started = not started and run.status in (
        RunStatus.FAILURE,
        RunStatus.CRASHED,
        RunStatus.CANCELED,
    )
    if never_started:  # failed before its first step (a resource's setup, a bad target)
        todo = run.selection
    elif not todo:
        raise NothingToRetry(
            f"Nothing to retry: every step of run {run.run_id} succeeded",
            hint="`teal runs --status failure` lists runs that failed",
        )
    return replace(
        _asked(run),
        models=todo,
        whole=never_started,
        done_partitions=tuple((model, tuple(keys)) for model, keys in sorted(built.items())),
    )


def rerun_request(run: RunRecord) -> RetryRequest:
    """``run`` asked for again, whole: its selection, partitions, vars, run config and
    options, every step (the UI's Re-execute all); an error while it has not finished."""
    _finished(run)
    _built_something(run)
    if run.command == "check":
        raise SelectionError(
            f"run {run.run_id} ran checks alone (`teal check`): it builds nothing to run again",
            path="RUN",
            hint="run `teal check` again",
        )
    return _asked(run)


def _asked(run: RunRecord) -> RetryRequest:
    """What ``run`` was asked to do, from its record, whole."""
    config = run.config
    rng = config.get("partition_range")
    return RetryRequest(
        parent=run,
        models=run.selection,
        partitions=run.partitions,
        partition_range=(str(rng[0]), str(rng[1]))
        if isinstance(rng, list) and len(rng) == 2
        else None,
        full_refresh=bool(config.get("full_refresh")),
        missing_only=bool(config.get("missing_only")),
        vars=dict(config["vars"]) if isinstance(config.get("vars"), dict) else {},  # type: ignore[arg-type]
        command=run.command,
        run_config=RunConfig.recorded(config.get("run_config"), run.run_id),
        target=str(config["target"]) if isinstance(config.get("target"), str) else None,
        warehouse=str(config["warehouse"]) if isinstance(config.get("warehouse"), str) else None,
        select=run.selection,
        exclude=run.exclude,
        whole=True,
        store_failures=bool(config.get("store_failures")),
        ignore_failed_upstream=bool(config.get("ignore_failed_upstream")),
        event_time_window=(str(window[0]), str(window[1]))
        if isinstance(window := config.get("event_time_window"), list) and len(window) == 2
        else None,
        empty=bool(config.get("empty")),
        job=str(config["job"]) if isinstance(config.get("job"), str) else None,
        tags=tuple(str(t) for t in tags) if isinstance(tags := config.get("tags"), list) else (),
    )


def _finished(run: RunRecord) -> None:
    """A run still queued or running cannot be run again yet."""
    if run.status in (RunStatus.STARTED, RunStatus.CANCELING, RunStatus.QUEUED):
        raise SelectionError(
            f"run {run.run_id} is {run.status.value}",
            path="RUN",
            hint="wait for it to end, or `teal cancel` it first",
        )


def _built_something(run: RunRecord) -> None:
    """A freshness evaluation (``teal check --freshness``, the daemon's) builds nothing:
    run again it would build its models, though its record says ``freshness``; and a
    stale one has no step to retry (it was not "every step succeeded"). Nor does a dbt
    macro's run (``teal run-operation``): it has no steps, only the macro's statements."""
    if run.command == "run-operation":
        macro = run.config.get("macro")
        raise SelectionError(
            f"run {run.run_id} ran a macro (`teal run-operation`): it builds nothing to run again",
            path="RUN",
            hint=f"run `teal run-operation {macro}` again" if macro else None,
        )
    if run.command == "freshness":
        models = " ".join(run.selection)
        # no selection: it evaluated no model (none had a freshness config), and the
        # hint offered `teal build -s ` with nothing after it
        hint = (
            f"build the models it evaluated (`teal build -s {models}`), or "
            "`teal check --freshness` to evaluate them again"
            if models
            else "it evaluated no model: none it selected has a freshness config "
            "(docs/automation.md#freshness)"
        )
        raise SelectionError(
            f"run {run.run_id} evaluated freshness: it builds nothing to run again",
            path="RUN",
            hint=hint,
        )


def _chain_steps(store: RunStore, run: RunRecord, steps: list[StepRecord]) -> list[StepRecord]:
    """The steps of ``run`` and, when it is itself a retry, of the runs it retried: a
    partition one of them built is not built again."""
    found = list(steps)
    seen = {run.run_id}
    while run.trigger is Trigger.RETRY and run.parent_run_id and run.parent_run_id not in seen:
        parent = store.run(run.parent_run_id)
        if parent is None:
            break
        seen.add(parent.run_id)
        found.extend(store.steps(parent.run_id))
        run = parent
    return found


def retry_warehouse(
    request: RetryRequest, target: str | None, warehouse: str | None, chosen: Path
) -> tuple[str | None, str | None]:
    """The ``(target, warehouse)`` a retry opens: the parent's. ``target``/``warehouse``
    are the command's own flags and ``chosen`` the warehouse they name; flags that name
    another warehouse are an error (a retry of a dev run must not write to prod)."""
    if request.warehouse is None:  # recorded by a teal that did not keep it: the flags
        return target, warehouse
    if (target is not None or warehouse is not None) and str(chosen) != request.warehouse:
        where = f" (target {request.target})" if request.target else ""
        raise SelectionError(
            f"run {request.parent.run_id} built into {request.warehouse}{where}, not {chosen}",
            path="RUN",
            hint="drop --target/--warehouse: a retry builds into the warehouse of the run "
            "it retries",
        )
    return request.target, request.warehouse
