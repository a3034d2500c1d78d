"""The daemon's freshness evaluation (runtime/freshness.py), about once a minute: a run is
recorded whenever a model's freshness changed.

It is the one part of a daemon's step that loads the project. A project that does not
load (a model being edited) is reported once, with the error's location, and again only
when the error changes; the daemon goes on ticking (schedules and sensors do not need the
project, and a run launched meanwhile fails as a run, its error recorded), and says so
when the project loads again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from teal.compiler.config import ProjectConfig
from teal.compiler.errors import TealError
from teal.runtime.runstore import Trigger
from teal.runtime.runstore.ticks import TickStatus

if TYPE_CHECKING:
    from teal.compiler.project import Project
    from teal.runtime.daemon import Daemon, TickOutcome
    from teal.runtime.freshness import Freshness

PROJECT = "project"  # the source of the outcomes saying the project does (not) load

Evaluator = Callable[[datetime], "tuple[Project, list[Freshness]]"]


def check_freshness(d: Daemon, now: datetime) -> list[TickOutcome]:
    """Evaluate freshness (at most every ``d.freshness_every``); when any model's status
    changed since the last evaluation, record it as a run (its check results). A project
    that does not load is an outcome of source ``project`` (once per distinct error)."""
    from teal.runtime import freshness
    from teal.runtime.daemon import TickOutcome

    if d.freshness is None:
        return []
    if d.freshness_at is not None and now - d.freshness_at < d.freshness_every:
        return []
    d.freshness_at = now
    try:
        project, found = d.freshness(now)
    except TealError as exc:
        problem = str(exc)
        if problem == d.project_problem:
            return []
        d.project_problem = problem
        return [TickOutcome(PROJECT, now, TickStatus.FAILED, None, problem)]
    outcomes = []
    if d.project_problem is not None:
        d.project_problem = None
        outcomes.append(TickOutcome(PROJECT, now, TickStatus.REQUESTED, None, "loads again"))
    summary = json.dumps({f.model: f.status for f in found}, sort_keys=True)
    if not found or d.ticks.cursor("freshness") == summary:
        return outcomes
    run_id = freshness.record(d.store, project, found, trigger=Trigger.DAEMON)
    d.ticks.set_cursor("freshness", summary, now)
    stale = [f.model for f in found if f.status != "pass"]
    message = "stale: " + ", ".join(stale) if stale else "all fresh"
    outcomes.append(TickOutcome("freshness", now, TickStatus.REQUESTED, run_id, message))
    return outcomes


def freshness_evaluator(config: ProjectConfig) -> Evaluator:
    """Each model's (and source's) freshness at a moment, the project loaded afresh.

    The project's warnings are logged once each (not at every evaluation), and that a
    build holds the warehouse once while it holds it (the state kept from before is used)."""
    told: set[str] = set()

    def evaluate(now: datetime) -> tuple[Project, list[Freshness]]:
        from teal.compiler.errors import WarehouseBusy
        from teal.runtime import freshness
        from teal.runtime.session import Session

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

        with Session.open(config.root) as session:
            session.on_warnings = tell
            project = session.project
            names = [n for n, m in project.models.items() if m.config.get("freshness")]
            found = freshness.evaluate(project, session.state(), names, now)
            try:
                found += freshness.evaluate_sources(project, now)
            except WarehouseBusy:
                pass  # a build holds the warehouse: the sources' turn comes next time
        if not busy_now:
            told.discard("busy")  # the next build that holds it is told again
        return project, found

    return evaluate
