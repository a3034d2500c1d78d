"""``teal run-operation MACRO``: a dbt project's macro called against the warehouse, as
``dbt run-operation`` calls it.

The warehouse is opened for writing (an operation may create schemas, tables, grants),
waiting for it as a build does (``--wait``), and the macro's statements run in one
transaction, committed when the macro returns and rolled back when it raises: a failed
operation leaves the warehouse as it was. The operation is recorded in the run store as a
run of its own (command ``run-operation``, no steps, the macro's log lines as its events),
as ``teal seed`` and the freshness checks are: ``teal runs`` and ``teal logs`` show what
changed the warehouse and when. ``teal retry`` refuses such a run (it builds nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from teal.compiler.errors import ProjectError
from teal.runtime.clock import new_run_id, utc_now
from teal.runtime.runstore import EventKind, RunStatus, Trigger
from teal.runtime.waiting import open_when_free

if TYPE_CHECKING:
    from teal.runtime.recorder import RunRecorder
    from teal.runtime.session import Session

COMMAND = "run-operation"
MACRO_ARG = "MACRO"  # where a mistake in the command's argument is located


class Operation(NamedTuple):
    """What ran: the run it was recorded as (None: the project records no runs) and the
    lines the macro logged with ``info=True`` or printed."""

    run_id: str | None
    logs: tuple[str, ...]


def run_operation(
    session: Session,
    macro: str,
    args: dict[str, Any],
    *,
    wait: float | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> Operation:
    """Call ``macro`` with ``args`` on the warehouse opened for writing, in one
    transaction; ``log`` gets each line the macro logs with ``info=True`` or prints as it
    does (every line it logs is recorded with the run, ``info=False`` ones at debug). An unknown macro, or
    an argument it does not take, is a located error before the warehouse is opened; what the macro raises is an
    ExecutionError at its line, after the transaction rolled back."""
    if session.config.dbt is None:  # known from the configuration: nothing is loaded
        raise ProjectError(
            "`teal run-operation` calls a dbt macro, and a teal project has no macros",
            path=MACRO_ARG,
            hint="run SQL against the warehouse with `teal show --inline 'select ...'` "
            "(read-only), or make it a model; a dbt project's macros are in its macro-paths",
        )
    project = session.project
    operations = project.dbt_operations
    assert operations is not None  # the dbt front end sets it
    operations.check_call(macro, args)
    recorder = _start(session, macro, args)
    logs: list[str] = []

    def logged(level: str, line: str) -> None:
        if recorder is not None:
            recorder.emit(EventKind.LOG, level=level, message=line)
        if level != "debug":  # dbt's info=False lines are for its debug log: recorded only
            logs.append(line)
            log(line)

    try:
        wh = open_when_free(session.config, project.sources, wait)
        try:
            cur = wh.cursor()
            with cur.user_transaction():
                operations.call_macro(macro, args, cur.query, logged)
        finally:
            wh.close()  # before the run's end: a reader told it ended finds the file free
    except BaseException as exc:
        if recorder is not None:
            from teal.runtime.recorder import abort_run

            abort_run(recorder, exc)
        raise
    if recorder is not None:
        recorder.emit(EventKind.RUN_END, message="success")
        recorder.close()
        recorder.store.set_status(
            recorder.run_id, RunStatus.SUCCESS, at=utc_now(), message=f"{macro} ran"
        )
    return Operation(recorder.run_id if recorder is not None else None, tuple(logs))


def _start(session: Session, macro: str, args: dict[str, Any]) -> RunRecorder | None:
    """The run the operation is recorded as, started; None when the project records none."""
    if not session.record_runs:
        return None
    from teal.runtime.recorder import start_run

    return start_run(
        session.run_store(),
        run_id=new_run_id(),
        command=COMMAND,
        trigger=Trigger.CLI,
        project=session.config.name,
        # the macro is no model: as a selection, the UI and `teal retry` would read it so
        selection=(),
        exclude=(),
        partitions=(),
        config={"macro": macro, "args": _recordable(args)},
    )


def _recordable(value: Any) -> Any:
    """``value`` (parsed YAML) as JSON the run store keeps: dates and other scalars as text."""
    if isinstance(value, dict):
        return {str(k): _recordable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_recordable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
