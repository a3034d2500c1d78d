"""What the UI shows and does with runs: lists and pages from the run store (live, by
polling events after a sequence number), the plan of a launch, and launch, retry and
cancel.

A launch goes through the run queue, as a schedule's run does: the run is queued in the
store (trigger ``ui``) and carried out by ``teal launch RUN`` in a child process (by the
daemon instead, when one runs for this project), which builds through a Session like the
command line. The server itself never opens the warehouse for writing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from teal import __version__
from teal.compiler.errors import SelectionError, TealError
from teal.runtime.clock import new_run_id, utc_now
from teal.runtime.run_labels import run_partitions, started_by
from teal.runtime.runstore import (
    EventKind,
    RunRecord,
    RunStatus,
    RunStore,
    StepRecord,
    Trigger,
)
from teal.runtime.runstore.liveness import any_gone, mark_crashed_here
from teal.runtime.runstore.records import JsonValue
from teal.runtime.session import Session

if TYPE_CHECKING:
    from teal.runtime.retry import RetryRequest

MAX_RUNS = 500
MAX_EVENTS = 2000  # a page of events; the page asks again from the last one it got
MAX_CHILDREN = 50  # a run's retries and re-executions listed on its page
LATEST_RUNS = 10  # runs looked through for an asset's last error (runs skipping it pass)


def _number(value: object, default: int) -> float:
    return value if isinstance(value, int | float) else default


def _second(stored: object) -> str:
    """A stored time as every page shows it: ``2026-12-06 13:49:06`` (UTC, to the second)."""
    return str(stored).replace("T", " ")[:19]


def _when(value: datetime | None, spec: str = "seconds") -> str | None:
    return value.isoformat(sep=" ", timespec=spec) if value else None


def run_summary(run: RunRecord) -> dict[str, Any]:
    took = (
        (run.finished_at - run.started_at).total_seconds()
        if run.finished_at and run.started_at
        else None
    )
    return {
        "run_id": run.run_id,
        "command": run.command,
        "status": run.status.value,
        "trigger": run.trigger.value,
        "selection": list(run.selection),
        "exclude": list(run.exclude),
        "partitions": list(run.partitions),
        "partitions_summary": run_partitions(run),  # the keys, or the range asked
        "started_by": started_by(run),
        "parent_run_id": run.parent_run_id,
        "created_at": _when(run.created_at),
        "started_at": _when(run.started_at),
        "finished_at": _when(run.finished_at),
        "duration_s": took,
        "message": run.message,
        "config": run.config,
        # where it ran: a store shared by CI runners, a daemon and laptops holds runs of
        # many machines (as `teal runs show` says, `on HOST (pid N)`)
        "host": run.host or None,
        "pid": run.pid,
    }


class RunView:
    """Runs of one project, from its run store."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def store(self) -> RunStore:
        return self.session.run_store()

    def resolve(self, run_id: str) -> RunRecord:
        """The run ``run_id`` names: an id, a unique prefix of one, or ``last``."""
        from teal.runtime.runstore.refs import resolve_run

        return resolve_run(self.store, run_id, path="run")

    def runs(
        self,
        *,
        status: list[str],
        model: str | None,
        limit: int = 100,
        job: str | None = None,
        tags: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """The runs, newest first, with ``status``, a step of ``model``, of ``job`` and
        with every tag of ``tags`` (KEY=VALUE, or KEY with any value)."""
        from teal.runtime.runstore.run_tags import check_tag

        try:
            wanted = [RunStatus(s) for s in status]
        except ValueError:
            raise SelectionError(
                f"unknown status in {status}",
                path="status",
                hint="one of " + ", ".join(s.value for s in RunStatus),
            ) from None
        for tag in tags:
            check_tag(tag, path="tag")
        limit = min(limit, MAX_RUNS)
        found = self.store.runs(status=wanted, model=model or None, job=job, tags=tags, limit=limit)
        if any_gone(found):  # killed since the store was opened: shown crashed, not running
            mark_crashed_here(self.store)
            found = self.store.runs(
                status=wanted, model=model or None, job=job, tags=tags, limit=limit
            )
        return [run_summary(r) for r in found]

    def building(self) -> list[str]:
        """The models a run of the project is building now (a step started, not ended):
        the graph marks them, as Dagster's shows an asset materializing. A run whose
        process is gone is settled crashed first, so its steps are not shown building."""
        live = [RunStatus.STARTED, RunStatus.CANCELING]
        found = self.store.runs(status=live, limit=MAX_CHILDREN)
        if any_gone(found):
            mark_crashed_here(self.store)
            found = self.store.runs(status=live, limit=MAX_CHILDREN)
        return sorted(
            {s.model for r in found for s in self.store.steps(r.run_id) if s.status == "started"}
        )

    def run(self, run_id: str, after: int = 0) -> dict[str, Any]:
        """The run, its steps, and its events after ``after`` (the page polls with the last
        sequence number it has, so a live page reads only what is new)."""
        run = self.resolve(run_id)
        if any_gone([run]):
            mark_crashed_here(self.store)
            run = self.resolve(run.run_id)
        run_id = run.run_id
        found = self.store.events(run_id, after=after)
        events = found[:MAX_EVENTS]
        where = self._failed_at(run_id)
        planned = self._partitions_planned(run_id)
        covers = self._range_sizes()
        return {
            "run": run_summary(run),
            "steps": [
                {
                    **asdict(s),
                    "started_at": _when(s.started_at, "milliseconds"),  # the timeline's
                    "finished_at": _when(s.finished_at, "milliseconds"),
                    "where": where.get((s.model, s.attempt))
                    if s.status == "failure" and not s.partition_key
                    else None,
                    # a partitioned step: how many partitions it builds (the page counts
                    # those that ended while it runs)
                    "partitions": None if s.partition_key else planned.get(s.model),
                    # a range built in one go (single_run) is one row of many partitions
                    "covers": covers(s.model, s.partition_key),
                }
                for s in self.store.steps(run_id)
            ],
            "events": [
                {
                    "seq": e.seq,
                    "at": e.at.isoformat(sep=" ", timespec="milliseconds"),
                    "kind": e.kind.value,
                    "model": e.model,
                    "partition": e.partition_key,
                    "level": e.level,
                    "message": e.message,
                    "data": e.data,
                }
                for e in events
            ],
            "finished": run.status.finished,
            # events after the last one given: the page asks again at once, a finished run
            # too (its checks table and log are made of them)
            "more": len(found) > len(events),
            # the runs that ran it again: its retries and re-executions, newest first
            "children": [
                {"run_id": c.run_id, "trigger": c.trigger.value, "status": c.status.value}
                for c in self.store.runs(parent=run_id, limit=MAX_CHILDREN)
            ],
        }

    def _range_sizes(self) -> Callable[[str, str], int]:
        """(model, partition key) -> how many partitions the key stands for: a range
        ``FIRST..LAST`` (a step that built them in one go) its keys, any other key one. A
        project that does not load counts a range as one (the page works without it)."""
        try:
            models = self.session.project.models
        except TealError:
            models = {}

        def size(model: str, key: str) -> int:
            found = models.get(model)
            if ".." not in key or found is None or found.partitions is None:
                return 1
            first, last = key.split("..", 1)
            try:
                return max(len(found.partitions.range(first, last)), 1)
            except (TealError, ValueError):  # a key the definition no longer holds
                return 1

        return size

    def _partitions_planned(self, run_id: str) -> dict[str, int]:
        """model -> how many partitions its step builds, as its start said."""
        found: dict[str, int] = {}
        for e in self.store.events(run_id, kinds=[EventKind.STEP_START]):
            count = e.data.get("partitions")
            if e.model and isinstance(count, int) and count:
                found.setdefault(e.model, count)
        return found

    def _failed_at(self, run_id: str) -> dict[tuple[str, int], str]:
        """(model, attempt) -> where its failure is (``path:line:col``, as the build's
        summary says), for the steps of the run that failed."""
        found = {}
        for e in self.store.events(run_id, kinds=[EventKind.STEP_FAILURE]):
            where = e.data.get("where")
            if e.model and isinstance(where, str) and not e.partition_key:
                found[(e.model, int(_number(e.data.get("attempt"), 1)))] = where
        return found

    def asset_history(self, model: str, limit: int = 50) -> dict[str, Any]:
        """An asset's materializations over time, its check results, and its runs."""
        checks = []
        took = {}  # run -> how long the model's step took in it
        runs = self.store.runs(model=model, limit=limit)
        for run in runs:
            for s in self.store.steps(run.run_id):
                if s.model == model and not s.partition_key and s.started_at and s.finished_at:
                    took[run.run_id] = (s.finished_at - s.started_at).total_seconds()
            for e in self.store.events(run.run_id, kinds=[EventKind.CHECK_RESULT]):
                if e.model == model:
                    checks.append(
                        {
                            "run_id": run.run_id,
                            "at": _when(e.at),
                            "partition": e.partition_key,
                            "message": e.message,
                            **e.data,
                        }
                    )
        materializations = self.store.materializations(model=model, limit=limit)
        for m in materializations:
            m["duration_s"] = took.get(str(m["run_id"]))
            m["at"] = _second(m["at"])
        return {
            "materializations": materializations,
            "checks": checks,
            "runs": [run_summary(r) for r in runs],
        }

    def asset_latest(self, model: str) -> dict[str, Any]:
        """An asset's last materialization (when, rows, run) and, when the latest run that
        built or failed it failed it (a step, or an error check), that error; runs that
        only skipped it are passed over. What the graph's side panel shows."""
        found = self.store.materializations(model=model, limit=1)
        last = (
            {k: found[0][k] for k in ("run_id", "rows", "partition")}
            | {"at": _second(found[0]["at"])}
            if found
            else None
        )
        return {"materialization": last, "error": self._last_error(model)}

    def _last_error(self, model: str) -> dict[str, Any] | None:
        for run in self.store.runs(model=model, limit=LATEST_RUNS):
            steps = [s for s in self.store.steps(run.run_id) if s.model == model]
            # each partition's (or the whole model's) last attempt: a failure that a retry
            # within the run built over (``retries``) no longer stands
            last: dict[str, StepRecord] = {}
            for s in steps:
                if s.partition_key not in last or s.attempt >= last[s.partition_key].attempt:
                    last[s.partition_key] = s
            steps = list(last.values())
            # a step canceled or crashed while it ran did not build either (a canceled
            # one leaves the model failed in the warehouse's state): its run says why
            failed = [s for s in steps if s.status in ("failure", "canceled", "crashed")]
            checks = [
                e
                for e in self.store.events(run.run_id, kinds=[EventKind.CHECK_RESULT])
                if e.model == model
                and e.data.get("status") in ("fail", "error")
                and e.data.get("severity") != "warn"
            ]
            if failed:
                whole = [s for s in failed if not s.partition_key]
                # a partitioned step's failure is its partitions': the row of the whole
                # step that failed with them is not one more
                parts = [s for s in failed if s.partition_key]
                first = parts[0] if parts else failed[0]
                return {
                    "run_id": run.run_id,
                    "at": _when(first.finished_at),
                    "partition": first.partition_key or None,
                    "failed": len(parts) or len(failed),  # partitions (steps) that failed
                    "message": first.message or f"its step {first.status}",
                    "where": self._failed_at(run.run_id).get((model, whole[-1].attempt))
                    if whole
                    else None,
                }
            if checks:
                return {
                    "run_id": run.run_id,
                    "at": _when(checks[0].at),
                    "partition": checks[0].partition_key,
                    "failed": len(checks),
                    "message": f"check {checks[0].data.get('check')} failed"
                    + (f": {checks[0].message}" if checks[0].message else ""),
                }
            if any(s.status == "success" for s in steps):
                return None  # built since: no error stands
        return None

    # -- doing ------------------------------------------------------------------------------
    def queue(
        self,
        *,
        select: Sequence[str],
        exclude: Sequence[str],
        partitions: Sequence[str],
        settings: Mapping[str, JsonValue],
        trigger: Trigger = Trigger.UI,
        parent: RunRecord | None = None,
        command: str = "build",
    ) -> str:
        """Queue a build (the daemon or a launched process carries it out); its run id.
        ``settings``: what it carries besides its selection (runtime/launch.py reads them)."""
        run_id = new_run_id()
        config: dict[str, Any] = {"vars": {}, "full_refresh": False, "source": "ui"}
        config.update(settings)
        self.store.add_run(
            RunRecord(
                run_id=run_id,
                command=command,
                status=RunStatus.QUEUED,
                trigger=trigger,
                selection=tuple(select),
                exclude=tuple(exclude),
                partitions=tuple(partitions),
                config=json.loads(json.dumps(config, default=str)),
                parent_run_id=parent.run_id if parent else None,
                project=self.session.config.name,
                teal_version=__version__,
                created_at=utc_now(),
            )
        )
        return run_id

    def retry(self, run_id: str) -> str:
        """Queue a run of what run ``run_id`` did not finish (as ``teal retry``), of its job
        and with its tags."""
        from teal.runtime.retry import plan_retry

        return self._again(plan_retry(self.store, self.resolve(run_id)), Trigger.RETRY)

    def reexecute(self, run_id: str) -> str:
        """Queue run ``run_id`` again, whole: its selection, partitions and settings, and
        its job and tags (Dagster's re-execute all, and a retry alike: ``settings()``);
        linked to it as its parent."""
        from teal.runtime.retry import rerun_request

        return self._again(rerun_request(self.resolve(run_id)), Trigger.UI)

    def _again(self, request: RetryRequest, trigger: Trigger) -> str:
        from teal.runtime.retry import retry_warehouse

        # the daemon builds into this project's warehouse: a run of another one is refused
        config = self.session.config
        retry_warehouse(request, config.target, str(config.warehouse_path), config.warehouse_path)
        return self.queue(
            select=request.select,
            exclude=request.exclude,
            partitions=request.partitions_asked(),
            settings=request.settings(),
            trigger=trigger,
            parent=request.parent,
            command=request.command,
        )

    def cancel(self, run_id: str) -> str:
        run = self.resolve(run_id)
        if run.status is RunStatus.QUEUED:
            self.store.set_status(run_id, RunStatus.CANCELED, at=utc_now(), message="canceled")
            return "canceled before it started"
        from teal.runtime.runstore.heartbeat import cancel_unreachable

        if cancel_unreachable(self.store, run, utc_now()):  # recorded before heartbeats
            return f"canceled: its host {run.host} records no heartbeat, so it was not asked"
        if not self.store.request_cancel(run_id):
            raise SelectionError(
                f"run {run_id} is {run.status.value}, not running",
                path="run",
                hint="only a queued or running run can be canceled",
            )
        from teal.runtime.cancel import STOPPING

        return f"asked to stop: no new step starts; {STOPPING}"
