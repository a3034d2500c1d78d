"""Carrying out a plan for a :class:`~teal.runtime.session.Session`: the run recorded in
the store around it, the executor with its checks and Python imports, the run's hooks, and
what is written after it (output schemas, the run's row in the warehouse, run results).

Apart from the session so that the commands that only read (``plan``, ``compile``, ``ls``,
``lineage``) do not import the executor, the recorder and the checks: ``Session.execute``
imports this module when a build runs.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from teal.compiler.plan import Plan, PlanOptions
from teal.compiler.wording import counted
from teal.runtime.artifacts import write_run_results
from teal.runtime.cancel import Interrupted
from teal.runtime.clock import utc_now
from teal.runtime.executor import Executor
from teal.runtime.hooks import run_end_hooks, run_hooks
from teal.runtime.python_imports import BackgroundImporter
from teal.runtime.recorder import (
    RunRecorder,
    abort_run,
    end_run,
    record_output_schemas,
    recording_logs,
    start_run,
)
from teal.runtime.recording_reporter import RecordingReporter
from teal.runtime.report import Reporter
from teal.runtime.results import BuildResult
from teal.runtime.run_config import RunInputs, recorded_options
from teal.runtime.run_options import RunOptions
from teal.runtime.runstore import EventKind, Retention, RunStatus, RunStore
from teal.runtime.step_output import recording_output
from teal.runtime.validate import remember_built
from teal.warehouse.engine import Engine, open_engine

if TYPE_CHECKING:
    from teal.runtime.session import Session


def recorded(
    session: Session,
    plan: Plan,
    run: RunOptions,
    reporter: Reporter,
    warehouse: Engine | None,
    run_id: str,
    selection: tuple[tuple[str, ...], tuple[str, ...]],
    options: PlanOptions | None,
    inputs: RunInputs,
    release: bool = False,
) -> BuildResult:
    """:func:`execute_plan` as a run of the session's run store: started (with its
    options, selection and run config) before, ended or aborted after. ``release``: close
    ``warehouse`` before the end is recorded (DuckDB checkpoints as it closes, which can
    take seconds; a script or daemon told the run ended then finds the file free)."""
    ignored = [(s.model, s.ignored_failure) for s in plan.steps if s.ignored_failure]
    recorder = start_run(
        session.run_store(),
        run_id=run_id,
        command=run.command,
        trigger=run.trigger,
        project=session.config.name,
        selection=selection[0],
        exclude=selection[1],
        partitions=tuple(options.partition_keys) if options else (),
        config={
            **recorded_options(
                session.config, run.threads, run.fail_fast, run.store_failures, options
            ),
            **inputs.recorded(),
            **({"job": run.job} if run.job is not None else {}),
            **({"tags": list(run.tags)} if run.job is not None or run.tags else {}),
        },
        parent_run_id=run.parent_run_id,
        planned=tuple(s.model for s in plan.steps),
        queued=run.queued,
        root=session.config.root,  # a lost store's writes wait there (runstore/spool.py)
    )
    for model, why in ignored:
        recorder.emit(
            EventKind.LOG,
            model,
            level="warning",
            message=f"builds although {why} (--ignore-failed-upstream)",
        )
    for warning in session.project.warnings:  # the load's, in the run's log as on stderr
        recorder.emit(EventKind.LOG, None, level="warning", message=str(warning))
    try:
        python = {
            s.model for s in plan.steps if (m := session.project.models.get(s.model)) and m.asset
        }
        with (
            recording_logs(recorder, {s.model for s in plan.steps}),
            recording_output(recorder, python),
        ):
            inputs.set_up()
            result = execute_plan(
                session, plan, run, RecordingReporter(recorder, reporter), warehouse, run_id, inputs
            )
            if release and warehouse is not None:  # closing it again later does nothing
                warehouse.close()
    except BaseException as exc:
        abort_run(recorder, exc)
        raise
    end_run(recorder, result, Retention(*session.config.run_retention, project=session.config.name))
    return result


def execute_plan(
    session: Session,
    plan: Plan,
    run: RunOptions,
    reporter: Reporter,
    warehouse: Engine | None,
    run_id: str,
    inputs: RunInputs,
) -> BuildResult:
    """Carry out ``plan`` on ``warehouse`` (opened and closed here when None): Python
    files imported on a thread, the steps run with their checks between the run's hooks,
    the outputs' schemas and the run recorded, ``target/run_results.json`` written."""
    from teal.runtime.checking import Auditor
    from teal.runtime.python_call import CallEnv

    project = session.project
    importer = BackgroundImporter(project, {s.model for s in plan.steps})
    started = utc_now()
    own = warehouse is None
    wh = warehouse or open_engine(session.config, sources=project.sources)
    try:
        run_checks_now = run.runs_checks
        redact = inputs.resources.redact or None
        auditor = (
            Auditor.for_run(
                project, run_id, run.store_failures, inputs.resources.instances, redact, wh
            )
            if run_checks_now and project.checks
            else None
        )
        if auditor is not None and run.left_out:  # dbt's --indirect-selection
            auditor = replace(auditor, only=frozenset(project.checks) - run.left_out)
        executor = Executor(
            project,
            plan,
            wh,
            run_id=run_id,
            threads=run.threads or session.config.threads,
            fail_fast=run.fail_fast,
            reporter=reporter,
            debug=run.debug,
            auditor=auditor,
            calls=CallEnv(
                project,
                run_id,
                run.debug,
                resources=inputs.resources.instances,
                configs=inputs.configs,
                redact=redact,
                now=plan.options.now,
            ),
        )
        executor.before_python = importer.wait
        if isinstance(reporter, RecordingReporter):
            executor.before_commit = reporter.before_commit
        if session.record_runs:  # `teal cancel` interrupts the step in flight
            store = session.run_store()

            def canceled() -> bool:
                found = store.run(run_id)
                return found is not None and found.status is RunStatus.CANCELING

            executor.cancel_requested = canceled
        run_hooks(session.project, wh, "start")
        result = executor.run()
        if not executor.interrupted:  # after Ctrl-C the run ends here, as dbt's does
            run_end_hooks(session.project, wh, result, run.command)
        if session.record_runs:  # one query for the output schema of everything built
            recording: RunStore | RunRecorder = session.run_store()
            if isinstance(reporter, RecordingReporter):
                reporter.recorder.flush()  # the materializations it completes
                recording = reporter.recorder  # which spools them should the store be lost
            built = record_output_schemas(recording, wh, project, run_id, result)
            if wh.DIALECT == "duckdb":  # the next build binds none of it again
                remember_built(project, session.run_store(), built)
        ok = result.success
        wh.record_run(
            run_id=run_id,
            command=run.command,
            started_at=started,
            finished_at=utc_now(),
            status="canceled" if executor.interrupted else "success" if ok else "error",
            selected=len(plan.steps),
            succeeded=len(result.built),
            failed=len(result.failed),
            skipped=[r.model for r in result.skipped],
        )
        # at most daily; not after a Ctrl-C, which asked for the process to end
        days = None if executor.interrupted else session.config.state_retention
        pruned = wh.prune_history(days, utc_now())
        if any(pruned.values()):
            logging.getLogger("teal").info(
                "state history older than %s days pruned: %s",
                session.config.state_retention,
                ", ".join(f"{n} rows of teal.{table}" for table, n in pruned.items() if n),
            )
    except KeyboardInterrupt:  # Ctrl-C twice: steps still running hold their cursors
        if own:  # and can commit nothing; the process ends them
            with contextlib.suppress(Exception):
                wh.close()
        raise
    except BaseException:
        if own:
            wh.close()
        raise
    if own:
        wh.close()
    write_run_results(session.config, result, run.command, project)
    if executor.interrupted:
        raise interrupted(result, run_id if session.record_runs else None, executor.stopped_by)
    return result


def interrupted(result: BuildResult, run_id: str | None, signum: int) -> Interrupted:
    """What Ctrl-C or SIGTERM (``signum``) did to the run (``run_id``: a recorded run,
    which `teal retry` can finish)."""
    stopped = sum(r.canceled for r in result)
    counts = f"{len(result.built)} built, {len(result.failed)} failed, "
    counts += f"{len(result.skipped)} skipped"
    if any(r.canceled and r.partitions for r in result):  # as the summary says it
        counts += f"; {result.written()}"
    said = f"{counted(stopped, 'step')} stopped while running and rolled back" if stopped else ""
    return Interrupted(
        f"{said or 'no step was running'}; nothing half-written was committed ({counts})",
        hint=f"`teal retry {run_id}` runs what it did not finish" if run_id else None,
        signum=signum,
    )
