"""Carry out a Plan: dependency-aware parallel execution over engine cursors.

Concurrency rules (the Executor's whole contract):

- Scheduling state (what is pending, done, failed, skipped) lives in the calling thread
  only. Workers never touch it: each worker runs one step and returns a
  :class:`ModelResult`, or a group of light SQL steps and returns a
  :class:`~teal.runtime.step_groups.GroupRun` (their results, and the steps it handed back
  unstarted).
- Each worker thread uses its own cursor (``Engine.cursor()``); every step is one
  transaction on that cursor (a group's steps share one: runtime/step_groups.py), so steps
  never see each other's half-done work.
- A failed step marks every step downstream of it skipped; with ``fail_fast`` no new step
  starts after the first failure (a group running on a worker starts no further step of
  it either) and the not-started ones are skipped.
- A cancel (`teal cancel`, Ctrl-C: runtime/cancel.py) sets one event: no step starts
  after it, the steps in flight are interrupted, and none commits (each transaction checks
  the event before it commits); the scheduler waits for them, records them canceled and
  ends the run. A second Ctrl-C stops waiting.
- The executor decides nothing the planner could have decided: it runs ``plan.steps``.
"""

from __future__ import annotations

import random
import signal
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from teal.compiler.errors import TealError, raise_all
from teal.compiler.plan import Plan, Step
from teal.compiler.project import Model, Project
from teal.compiler.schema_change import rebuild_hint
from teal.compiler.wording import counted
from teal.runtime.attempts import run_with_retries
from teal.runtime.cancel import CancelWatcher, InFlight, StepCanceled, ctrl_c, first_done
from teal.runtime.checking import AuditFailed, Auditor, CheckOutcome, audit_callback, unbuilt_reads
from teal.runtime.held_back import hold_back
from teal.runtime.incremental_build import build_incremental
from teal.runtime.metadata import evaluate_metadata
from teal.runtime.model_hooks import run_model_hooks, with_post_hooks
from teal.runtime.partition_errors import with_partition_context
from teal.runtime.pools import Pools
from teal.runtime.python_call import CallEnv, UserCodeError, call_asset
from teal.runtime.report import Reporter, SilentReporter
from teal.runtime.results import CANCELED_RUNNING, ERROR, SKIPPED, SUCCESS, BuildResult, ModelResult
from teal.runtime.scheduler import Puller, Schedule, skipped
from teal.runtime.step_groups import GroupRun, budget, groupable, run_group
from teal.runtime.validate import unbuilt_upstreams
from teal.runtime.view_errors import ViewProbe, with_view_context
from teal.warehouse.engine import (
    Audit,
    BuildTarget,
    Catalog,
    CheckAborted,
    Engine,
    EngineCursor,
    StepGroup,
)


class Executor:
    """Runs the steps of one plan against one open warehouse."""

    def __init__(
        self,
        project: Project,
        plan: Plan,
        warehouse: Engine,
        *,
        run_id: str,
        threads: int = 1,
        fail_fast: bool = False,
        reporter: Reporter | None = None,
        debug: bool = False,
        auditor: Auditor | None = None,
        calls: CallEnv | None = None,
    ) -> None:
        self.project = project
        self.plan = plan
        self.warehouse = warehouse
        self.run_id = run_id
        self.threads = max(1, threads)
        self.fail_fast = fail_fast
        self.reporter = reporter or SilentReporter()
        self.debug = debug
        self.auditor = auditor  # runtime.checking.Auditor: checks run (build), or None (run)
        # model -> its checks whose query aborted a try of its audit (check -> the error):
        # reported, not run, when it is built again (_build_step)
        self._broken_checks: dict[str, dict[str, str]] = {}
        # what Python asset calls of this run share
        self.calls = calls or CallEnv(project, run_id, debug)
        self.calls.shared.expect_steps(project, plan.steps)
        self.catalog: Catalog | None = None
        # called before a step that runs Python (an asset, or a Python check) is started:
        # the build imports model files in the background and this waits for them
        # waits until the Python files behind a model are imported; raises the error of
        # one that failed to import (runtime/python_imports.BackgroundImporter)
        self.before_python: Callable[[str], None] | None = None
        # called in each of a step's transactions before it commits, with the model's name
        # (the run store has the step's start on record before its data is committed)
        self.before_commit: Callable[[str], None] | None = None
        # whether `teal cancel` was asked (runtime/cancel.py): None, nobody asks
        self.cancel_requested: Callable[[], bool] | None = None
        # set by a cancel (`teal cancel`, Ctrl-C): no step starts or commits after it
        self._canceled = threading.Event()
        self._cancel_lock = threading.Lock()
        self.interrupted = False  # Ctrl-C canceled the run: the caller raises Interrupted
        self.stopped_by: int = signal.SIGINT  # the signal that did (SIGINT or SIGTERM)
        # set once --fail-fast stops the build: a group starts no further step
        self._failed_fast = threading.Event()
        self._sql_in_flight = InFlight()  # cursors of running SQL steps
        # (model, partition) -> the teal.Output metadata of a partitioned Python asset,
        # until the partition is reported (each key is written by the one step building it)
        self._partition_metadata: dict[tuple[str, str], dict[str, Any]] = {}
        # the pause between attempts of a retried model (a cancel ends it), and its jitter
        # (tests replace them)
        self.sleep: Callable[[float], object] = self._canceled.wait
        self.rand: Callable[[], float] = random.random
        # how long a group of light steps formed after `elapsed` seconds of the build may
        # build before its commit (runtime/step_groups.py; tests replace it)
        self.group_budget: Callable[[float], float] = budget

    def run(self) -> BuildResult:
        """Run the plan; Ctrl-C in the meantime cancels the run (:attr:`interrupted`)."""
        asked = self.cancel_requested
        watch = CancelWatcher(self.cancel, asked) if asked else nullcontext()
        with ctrl_c(self._interrupted, self.cancel), watch:
            return self._run()

    def cancel(self) -> None:
        """Stop the run (`teal cancel`, Ctrl-C; any thread, once): no step starts or
        commits after this, and the steps in flight are interrupted and roll back."""
        with self._cancel_lock:
            if self._canceled.is_set():
                return
            self._canceled.set()
        self._interrupt_sql()

    def _interrupted(self, signum: int = signal.SIGINT) -> None:
        self.interrupted = True
        self.stopped_by = signum

    def _interrupt_sql(self) -> None:
        """Interrupt the queries of the steps in flight (a canceled run): each rolls back.
        A Python function runs on to its end, and its transaction rolls back before it
        commits (:meth:`_before_commit`); the reporter says so."""
        noticed = getattr(self.reporter, "cancel_noticed", None)
        if noticed is not None:
            noticed(self.stopped_by if self.interrupted else None)
        self._sql_in_flight.interrupt()

    def _run(self) -> BuildResult:
        started = time.perf_counter()
        pools = Pools.of(self.project, {s.model: s for s in self.plan.steps})  # checked first
        schedule = Schedule(
            self.plan, self.reporter, pools, hold_back(self.project, self.plan.options.now)
        )
        # relation kinds, read once for the run; what it reads and does not build is there
        self.catalog = self.warehouse.catalog()
        if self.auditor is not None:  # a check reading a model that is not built skips
            why = unbuilt_reads(self.project, self.plan, self.catalog, schedule.not_built)
            self.auditor = replace(self.auditor, not_built=why)
        raise_all(unbuilt_upstreams(self.project, self.plan, self.catalog))
        self.reporter.start(self.plan, self.threads, self.warehouse.path)
        self.warehouse.ensure_schemas({s.relation.split(".")[0] for s in self.plan.steps})
        schedule.skip_blocked()
        # the steps that may share a transaction (none where the engine has no transactions)
        light = {
            s.model
            for s in self.plan.steps
            if self.warehouse.GROUPS_STEPS
            and groupable(self.project.models[s.model], s, self._runs_python(s.model))
        }
        stop = hard = False
        pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="teal")
        running: dict[Future[ModelResult | GroupRun], str] = {}
        try:
            while running or schedule.has_ready():
                stop = stop or self._canceled.is_set()  # canceled: nothing more starts
                # the steps to start now, started together once the engine knows how
                # many steps will be running (it shares its threads among them; a
                # Python asset counts too: its inputs and output go through the engine,
                # and its Python takes a core: counting SQL steps only was slower)
                starting: list[tuple[str, Callable[[], ModelResult | GroupRun]]] = []
                while len(running) + len(starting) < self.threads and not stop:
                    name = schedule.take()
                    if name is None:
                        break
                    step = schedule.steps[name]
                    # a group's other steps are reported by its worker as it starts them
                    self.reporter.model_started(step)
                    budget_s = self.group_budget(time.perf_counter() - started)
                    if schedule.may_group(name, light, budget_s):
                        pull = Puller(schedule, light)
                        starting.append((name, partial(self._grouped, step, pull, budget_s)))
                    else:
                        starting.append((name, partial(self._attempts, step)))
                self.warehouse.steps_running(len(running) + len(starting))
                for name, call in starting:
                    running[pool.submit(call)] = name
                if stop:
                    schedule.stop()
                if not running:
                    break
                finished = first_done(running)
                for future in finished:
                    del running[future]
                    got = future.result()
                    if isinstance(got, GroupRun):
                        schedule.give_back(got.unstarted)
                    for result in got.results if isinstance(got, GroupRun) else (got,):
                        if self.fail_fast and result.status != SUCCESS:
                            self._failed_fast.set()  # before it is reported
                        if schedule.done(result) and self.fail_fast:
                            stop = True
        except KeyboardInterrupt:  # a second Ctrl-C (or one ctrl_c could not catch):
            hard = True  # no waiting for steps that can commit nothing any more
            self._interrupted(self.stopped_by)
            self.cancel()
            raise
        finally:
            self.warehouse.steps_running(0)
            pool.shutdown(wait=not hard, cancel_futures=True)
        schedule.skip_the_rest(
            "canceled before it started"
            if self._canceled.is_set()
            else "not started: --fail-fast stopped the build"
            if stop
            else "not run"
        )
        built = BuildResult(
            run_id=self.run_id,
            results=schedule.ordered(),
            duration_s=time.perf_counter() - started,
            warehouse=self.warehouse.path,
            not_run=dict(self.plan.not_run),
            deferred=dict(self.plan.deferred),
        )
        self.reporter.finish(built)
        return built

    def _grouped(self, first: Step, pull: Puller, budget_s: float) -> GroupRun:
        """Build ``first`` and the steps ``pull`` gives in one transaction while
        ``budget_s`` lasts (step_groups.py)."""
        canceled = self._canceled
        cur = self.warehouse.cursor()
        with self._sql_in_flight.running(canceled, cur) as started:
            if not started:  # it does not start (handed back, it would come again)
                return GroupRun((skipped(first, "canceled before it started"),), ())
            pull.open()  # before BEGIN: what it pulls, its snapshot holds
            try:
                group = cur.open_group()
            except Exception:  # noqa: BLE001 - the step alone meets and reports the error
                group = None
            if group is None:  # or an engine without transactions (the scheduler never groups)
                return GroupRun((self._attempts(first),), ())
            return run_group(
                cur,
                group,
                first,
                pull,
                build=self._build_step,
                alone=self._again_alone,
                budget_s=budget_s,
                stop=lambda: self._failed_fast.is_set() or canceled.is_set(),
                started=self.reporter.model_started,
                canceled=canceled.is_set,
            )

    def _again_alone(self, step: Step) -> ModelResult:
        """A step of a group that was rolled back, built again in its own transaction."""
        if self._canceled.is_set():
            return skipped(step, CANCELED_RUNNING)
        return self._attempts(step)

    def _attempts(self, step: Step) -> ModelResult:
        """The step, run again after a failure while its model has retries left; a step
        stopped by a cancel is canceled, not failed."""
        if self.before_python is not None and self._runs_python(step.model):
            try:
                self.before_python(step.model)
            except Exception as exc:  # noqa: BLE001 - its file did not import: it fails alone
                error = exc if isinstance(exc, TealError) else TealError(f"{exc!r}")
                return self._not_imported(step, error)
        # the cursor this worker thread's step runs on, which a cancel interrupts
        with self._sql_in_flight.running(self._canceled, self.warehouse.cursor()) as started:
            if not started:
                return skipped(step, "canceled before it started")
            result = self._retried(step)
        if result.status != ERROR or result.published or not self._canceled.is_set():
            return result
        done = len(step.partitions) - len(result.failed_partitions or step.partitions)
        why = CANCELED_RUNNING
        if done:  # partitions committed before the cancel keep their rows
            why = f"canceled while running: {counted(done, 'partition')} committed before it, "
            why += "the one running rolled back"
        return replace(result, status=SKIPPED, message=why, partitions=done or None)

    def _not_imported(self, step: Step, error: TealError) -> ModelResult:
        """``step``'s model failed: a Python file it runs (its own, or a check's) raised
        while it was imported; located where it raised."""
        error.spot_in(self.project.root)
        return ModelResult(
            model=step.model,
            status=ERROR,
            relation=step.relation,
            materialization=step.action,
            message=error.message + (f" (hint: {error.hint})" if error.hint else ""),
            path=error.path or step.path,
            line=error.line,
            col=error.col,
        )

    def _retried(self, step: Step) -> ModelResult:
        model = self.project.models[step.model]
        if not model.config.get("retries"):
            return self._run_step(step)
        return run_with_retries(
            step,
            model,
            self._run_step,
            on_retry=getattr(self.reporter, "attempt_failed", None),
            stop=self._canceled.is_set,
            sleep=self.sleep,
            rand=self.rand,
            on_attempt=getattr(self.reporter, "attempt_started", None),
        )

    def _store(self, model: Model) -> Any:
        """The I/O manager that saves ``model``'s rows, bound to this step."""
        from teal.runtime.io_managers import BoundStore, manager_of

        manager = manager_of(self.calls.resources, model)
        return BoundStore(manager, model, self.run_id, self.calls.redact)

    def _runs_python(self, name: str) -> bool:
        if self.project.models[name].kind == "python":
            return True
        return any(
            self.project.checks[c].python is not None for c in self.project.models[name].checks
        )

    # -- one step, on a worker thread ---------------------------------------------------
    def _run_step(self, step: Step) -> ModelResult:
        result = self._build_step(step)
        model = self.project.models[step.model]
        if model.post_hooks and result.status == SUCCESS:  # after the build committed
            result = with_post_hooks(self.warehouse.cursor(), model, result)
        return result

    def _build_step(self, step: Step, group: StepGroup | None = None) -> ModelResult:
        """Build one step: alone (its own transaction), or in ``group``'s transaction, where
        a failure is only returned: the group rolls back and the step runs again alone,
        which records it."""
        model = self.project.models[step.model]
        cur = self.warehouse.cursor()
        target = BuildTarget(
            model=model.name,
            schema=model.schema,
            name=model.alias,
            materialization=step.action,
            sql_hash=step.sql_hash,
            run_id=self.run_id,
            catalog=self.catalog,
            data_version=step.data_version,
            partition_versions=dict(zip(step.partitions, step.partition_versions)),
            on_schema_change=str(model.config.get("on_schema_change") or "fail"),
            rebuild=rebuild_hint(model.name, model.config),
            external=model.external,  # files instead of a table: the engine's to write
            store=self._store(model) if model.io_manager else None,
            group=group,
        )
        started = datetime.now(UTC).replace(tzinfo=None)
        t0 = time.perf_counter()
        outcomes: list[CheckOutcome] = []
        audit = self._audit_for(model, outcomes)
        metadata: dict[str, Any] = {}
        try:
            if model.pre_hooks:  # before the build's transaction (runtime/model_hooks.py)
                run_model_hooks(cur, model, "pre")
            if model.config.get("render_at_run") and self.project.render_at_run is not None:
                model, step = self._render_now(cur, model, step)
            if model.partitions is not None:
                from teal.runtime.partition_steps import run_partitions

                return run_partitions(self, cur, step, model, target, started, t0)
            if step.action == "view":
                built = cur.create_view(target, step.sql or "", audit=audit)
            elif step.action in ("table", "external"):
                built = cur.build_table(target, step.sql or "", audit=audit)
            elif step.action == "incremental":
                built = build_incremental(cur, step, model, target, audit)
            else:
                output = call_asset(self.calls, cur, model)
                built = cur.write_table(target, output.data, audit=audit)
                metadata = dict(output.metadata)  # JSON already: python_call.py
            if model.config.get("metadata"):  # the model's own figures, after it is built
                metadata.update(evaluate_metadata(cur, model))
        except Exception as exc:  # noqa: BLE001 - a failed step is a result, not a crash
            if group is not None:  # the group rolls back; the step runs again alone
                return skipped(step, f"its group rolled back: {exc}")
            broken = self._broken_checks.setdefault(model.name, {})
            if (
                isinstance(exc, CheckAborted)
                and not exc.checks.keys() <= broken.keys()
                and not self._canceled.is_set()  # a cancel's interrupt aborted it
            ):
                # a check's query aborted the audit's transaction, so the other checks
                # did not run: build again, that check reported as an error beside theirs
                broken.update(exc.checks)
                return self._build_step(step)
            return self._not_built(cur, target, model, started, t0, exc)
        return self._succeeded(
            cur, step, model, target, started, t0, built.rows, outcomes, metadata=metadata
        )

    def _not_built(
        self,
        cur: EngineCursor,
        target: BuildTarget,
        model: Model,
        started: datetime,
        t0: float,
        exc: Exception,
    ) -> ModelResult:
        """The failed step's result, recorded: why it failed, where in the model's text."""
        if self._canceled.is_set():  # interrupted, or refused its commit: rolled back
            return self._failed(cur, target, model, started, t0, CANCELED_RUNNING)
        if isinstance(exc, AuditFailed):
            return self._audit_failed(cur, target, model, started, t0, exc)
        if isinstance(exc, UserCodeError):
            return self._failed(cur, target, model, started, t0, exc.message, exc.line)
        if isinstance(exc, TealError):  # a template rendered now (a dbt model that queries)
            return self._failed(cur, target, model, started, t0, exc.message, exc.line, exc.col)
        message, line, col = cur.describe_error(exc, model.raw_sql)  # an engine error
        message = with_partition_context(model, message)
        message = with_view_context(
            self.project, model, message, line is not None, ViewProbe(cur, exc)
        )
        if self.debug:
            message += "\n" + "".join(traceback.format_exception(exc))
        return self._failed(cur, target, model, started, t0, message, line, col)

    def _render_now(self, cur: EngineCursor, model: Model, step: Step) -> tuple[Model, Step]:
        """A dbt model whose Jinja queries the warehouse (``run_query``, ``statement``,
        ``adapter.get_columns_in_relation``) rendered again now, as dbt compiles a node just
        before it runs it: its queries see what this build has published so far."""
        assert self.project.render_at_run is not None
        sql, incremental_sql = self.project.render_at_run(model.name, cur.query)
        return replace(model, compiled_sql=sql, incremental_sql=incremental_sql), replace(
            step, sql=sql
        )

    def _succeeded(
        self,
        cur: EngineCursor,
        step: Step,
        model: Model,
        target: BuildTarget,
        started: datetime,
        t0: float,
        rows: int | None,
        outcomes: list[CheckOutcome],
        *,
        partitions: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ModelResult:
        """The result of a step whose data is published, after its Python checks."""
        return self._after_publish(
            cur,
            model,
            target,
            started,
            t0,
            ModelResult(
                model=model.name,
                status=SUCCESS,
                relation=model.relation,
                materialization=step.action,
                rows=rows,
                duration_s=time.perf_counter() - t0,
                path=model.display_path,
                partitions=partitions,
                checks=tuple(outcomes),
                metadata=metadata or {},
            ),
        )

    # -- checks -------------------------------------------------------------------------
    def _audit_for(
        self, model: Model, outcomes: list[CheckOutcome], partition: str | None = None
    ) -> Audit | None:
        """The callback a step's transactions make before they commit (runtime/checking.py)."""
        broken = self._broken_checks.get(model.name)
        return audit_callback(
            self.auditor, self._before_commit, model.name, outcomes, partition, broken
        )

    def _before_commit(self, model: str) -> None:
        """In each of a step's transactions, before it commits: a canceled run commits
        nothing more (an interrupt can miss a step between two queries, and a Python
        function cannot be interrupted); then the recorder's ``before_commit``."""
        if self._canceled.is_set():
            raise StepCanceled(f"{model}: the run was canceled before this step committed")
        if self.before_commit is not None:
            self.before_commit(model)

    def _audit_failed(
        self,
        cur: EngineCursor,
        target: BuildTarget,
        model: Model,
        started: datetime,
        t0: float,
        exc: AuditFailed,
    ) -> ModelResult:
        """A blocking check failed: the data was rolled back; record why."""
        try:
            if self.auditor is not None:
                self.auditor.record_after_rollback(cur, exc)
                self.auditor.store(cur, exc)
        except Exception:  # noqa: BLE001 - recording is best effort; the failure stands
            pass
        result = self._failed(cur, target, model, started, t0, str(exc), None)
        return replace(result, checks=tuple(exc.outcomes))

    def _after_publish(
        self,
        cur: EngineCursor,
        model: Model,
        target: BuildTarget,
        started: datetime,
        t0: float,
        result: ModelResult,
    ) -> ModelResult:
        """Store failing rows of warnings, then run Python checks on the published data."""
        if self.auditor is None:
            return result
        try:
            self.auditor.store(cur, [])
        except Exception:  # noqa: BLE001
            pass
        if not self.auditor.python_checks(model.name):
            return result

        def load(param: str, kind: str) -> Any:
            up = self.project.models[param]
            if up.io_manager:  # kept by an I/O manager: loaded through it (an unpartitioned
                # model's check reads every partition of a partitioned upstream)
                from teal.runtime.python_call import load_managed_input

                return load_managed_input(self.calls, cur, model, up, kind)
            return cur.load_relation(up.schema, up.alias, kind)

        outcomes = self.auditor.run_python(cur, model.name, load)
        result = replace(result, checks=result.checks + tuple(outcomes))
        from teal.runtime.python_check_spots import failed_after_publish

        return failed_after_publish(result, outcomes)  # said at the check's own file

    def _failed(
        self,
        cur: EngineCursor,
        target: BuildTarget,
        model: Model,
        started: datetime,
        t0: float,
        message: str,
        line: int | None = None,
        col: int | None = None,
    ) -> ModelResult:
        if message != CANCELED_RUNNING:  # a canceled attempt changed nothing: not recorded
            try:
                cur.record_failure(target, started, message)
            except Exception:  # noqa: BLE001 - recording is best effort; the failure stands
                pass
        return ModelResult(
            model=model.name,
            status=ERROR,
            relation=model.relation,
            materialization=target.materialization,
            duration_s=time.perf_counter() - t0,
            message=message,
            path=model.display_path,
            line=line,
            col=col,
        )
