"""The daemon's freshness evaluation (runtime/freshness.py), about once a minute: a run is
recorded whenever a model's freshness changed.

It takes the project the step loaded (runtime/daemon_load.py): loaded at most once per
step, shared with the automation conditions and a closed schedule's tick, and kept from
step to step while its files are unchanged. A project that does not load (a model being
edited) is reported there, once per distinct error with its location, and again only when
the error changes; freshness says once that it is skipped for that reason, the daemon goes
on ticking (schedules and sensors do not need the project, and a run launched meanwhile
fails as a run, its error recorded), and says so when the project loads again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from teal.compiler.config import ProjectConfig
from teal.compiler.errors import TealError
from teal.runtime.daemon_load import NOT_LOADING, ProjectLoads
from teal.runtime.runstore import Trigger
from teal.runtime.runstore.ticks import TickStatus

if TYPE_CHECKING:
    from teal.compiler.project import Project
    from teal.runtime.daemon import Daemon, TickOutcome
    from teal.runtime.freshness import Freshness

SOURCE = "freshness"  # the source of its outcomes


class Evaluator(Protocol):
    """Each model's (and source's) freshness at ``now``, with the project of the step's
    ``loads`` (None: loaded afresh)."""

    def __call__(
        self, now: datetime, loads: ProjectLoads | None = None
    ) -> tuple[Project, list[Freshness]]: ...


def check_freshness(d: Daemon, now: datetime) -> list[TickOutcome]:
    """Evaluate freshness (at most every ``d.freshness_every``); when any model's status
    changed since the last evaluation, record it as a run (its check results). A project
    that does not load is said by the step's loads (runtime/daemon_load.py), and
    freshness says once that it is skipped; an evaluation that fails once the project
    loaded is said once per distinct error."""
    from teal.runtime import freshness
    from teal.runtime.daemon import TickOutcome

    if d.freshness is None:
        return []
    if d.freshness_at is not None and now - d.freshness_at < d.freshness_every:
        return []
    d.freshness_at = now
    try:
        d.loads.session()
    except TealError:  # reported by the loads, once per distinct error
        if not d.loads.skipped(SOURCE):
            return []
        return [TickOutcome(SOURCE, now, TickStatus.SKIPPED, None, NOT_LOADING)]
    try:
        project, found = d.freshness(now, d.loads)
    except TealError as exc:  # the project loaded: reading its state failed, say
        problem = f"evaluation failed: {exc}"
        if problem == d.freshness_problem:
            return []
        d.freshness_problem = problem
        return [TickOutcome(SOURCE, now, TickStatus.FAILED, None, problem)]
    d.freshness_problem = None
    summary = json.dumps({f.model: f.status for f in found}, sort_keys=True)
    if not found or d.ticks.cursor(SOURCE) == summary:
        return []
    run_id = freshness.record(d.store, project, found, trigger=Trigger.DAEMON)
    d.ticks.set_cursor(SOURCE, summary, now)
    stale = [f.model for f in found if f.status != "pass"]
    message = "stale: " + ", ".join(stale) if stale else "all fresh"
    return [TickOutcome(SOURCE, now, TickStatus.REQUESTED, run_id, message)]


def freshness_evaluator(config: ProjectConfig) -> Evaluator:
    """Each model's (and source's) freshness at a moment, with the project of the step's
    loads (given none: the project loaded afresh).

    The project's warnings are logged once each (not at every evaluation), and that a
    build holds the warehouse once while it holds it (the state kept from before is used)."""
    told: set[str] = set()

    def evaluate(
        now: datetime, loads: ProjectLoads | None = None
    ) -> tuple[Project, list[Freshness]]:
        from teal.compiler.errors import WarehouseBusy
        from teal.runtime import freshness

        busy_now = False

        def tell(warnings: tuple[TealError, ...]) -> None:
            nonlocal busy_now
            for warning in warnings:
                busy = isinstance(warning, WarehouseBusy)
                busy_now = busy_now or busy
                key = "busy" if busy else str(warning)
                if key not in told:
                    told.add(key)
                    logging.getLogger("teal").warning("%s", warning)

        own = loads is None
        if loads is None:
            loads = ProjectLoads(config.root)
            loads.begin(now)
        try:
            session = loads.session()
            tell(loads.warnings)  # the load's (said when it loaded, or kept)
            session.on_warnings = tell  # what reading the state says
            try:
                project = session.project
                names = [n for n, m in project.models.items() if m.config.get("freshness")]
                found = freshness.evaluate(project, session.state(), names, now)
                try:
                    found += freshness.evaluate_sources(project, now)
                except WarehouseBusy:
                    pass  # a build holds the warehouse: the sources' turn comes next time
            finally:
                session.on_warnings = None  # the step's session: others read it after
        finally:
            if own:
                loads.end()
        if not busy_now:
            told.discard("busy")  # the next build that holds it is told again
        return project, found

    return evaluate
