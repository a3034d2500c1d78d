"""The project as a daemon's step loads it: at most once per step, shared by every part of
the step that needs it (automation conditions, freshness, a closed-partition schedule's
tick), and kept from one step to the next while what it was loaded from is unchanged.

"Unchanged" is the compiler's own rule for taking a stored project instead of loading
(compiler/snapshot.py): the snapshot key of the project's files and configuration, and the
project-local modules its Python model files imported. Each step that needs the project
reads the configuration and takes the key (a stat of each file, no file read while none
moved); the same key keeps the project in memory, with no load and no unpickling. A
project without a key (a dbt project) is loaded once per step that needs it.

A project that does not load is reported here, once per distinct error with its
location, and said to load again once it does; the parts that needed it say once that
they are skipped for that reason (:meth:`ProjectLoads.skipped`), and a failed load is
not tried again within the step. Every load, and every failed one, is a debug line of
the ``teal.daemon`` logger (``project loaded``, ``project does not load``), which
``teal daemon --debug`` prints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.errors import TealError
from teal.compiler.wording import counted
from teal.runtime.runstore.ticks import TickStatus

if TYPE_CHECKING:
    from teal.compiler.project import Project
    from teal.runtime.daemon import TickOutcome
    from teal.runtime.session import Session

PROJECT = "project"  # the source of the outcomes saying the project does (not) load
NOT_LOADING = "the project does not load"  # why a part that needs it is skipped

log = logging.getLogger("teal.daemon")


@dataclass(frozen=True)
class _Kept:
    """A project loaded by an earlier step, and what tells whether it is still current."""

    key: str  # compiler/snapshot.py's key of the load that made it
    project: Project  # as loaded: no step's dynamic partitions bound
    warnings: tuple[TealError, ...]  # what the load warned about


@dataclass
class ProjectLoads:
    """The project of one daemon's steps: :meth:`begin` a step, :meth:`session` where the
    step needs the project, :meth:`end` the step."""

    root: Path
    loads: int = 0  # the project's loads so far (not counting the steps that kept it)
    problem: str | None = None  # why the project did not load, as last reported
    _kept: _Kept | None = field(default=None, repr=False)
    _now: datetime | None = field(default=None, repr=False)
    _session: Session | None = field(default=None, repr=False)
    _loaded: Project | None = field(default=None, repr=False)  # this step's, as loaded
    _error: TealError | None = field(default=None, repr=False)
    _warnings: tuple[TealError, ...] = field(default=(), repr=False)
    _said: list[TickOutcome] = field(default_factory=list, repr=False)
    _skips_said: set[str] = field(default_factory=set, repr=False)

    def begin(self, now: datetime) -> None:
        """A new step at ``now``: the next :meth:`session` looks at the files again."""
        self.end()
        self._now = now

    def end(self) -> None:
        """The step ended: its session is closed (the kept project stays)."""
        if self._session is not None:
            self._session.close()
        self._session, self._loaded, self._error, self._warnings = None, None, None, ()

    def session(self) -> Session:
        """This step's session, its project loaded, or kept from an earlier step when its
        files are unchanged; raises the load's error (the same one for the rest of the
        step, which does not load again)."""
        if self._error is not None:
            raise self._error
        if self._session is not None:
            # as loaded, as a session of its own would have it: an earlier part's state()
            # bound its dynamic partitions to what the warehouse held then
            self._session._project = self._loaded
            return self._session
        try:
            self._session, self._warnings = self._open()
        except TealError as exc:
            self._error = exc
            log.debug("project does not load: %s", exc)
            self.report(exc)
            raise
        if self.problem is not None:
            self.problem = None
            self._skips_said.clear()
            self._say(TickStatus.REQUESTED, "loads again")
        return self._session

    @property
    def warnings(self) -> tuple[TealError, ...]:
        """What this step's project warned about when it was loaded (also when kept)."""
        return self._warnings

    def _open(self) -> tuple[Session, tuple[TealError, ...]]:
        from teal.compiler import snapshot
        from teal.compiler.pyfiles import helpers_unchanged
        from teal.runtime.session import Session

        session = Session.open(self.root)
        kept = self._kept
        if kept is not None and kept.key == snapshot.key(session.config):
            helpers = kept.project.helpers
            if helpers is not None and helpers_unchanged(helpers):
                # as compiler/snapshot.py hands back a stored project: with this config
                self._loaded = replace(kept.project, config=session.config)
                session._project = self._loaded
                return session, kept.warnings
        said: list[TealError] = []
        session.on_warnings = said.extend
        project = self._loaded = session.project
        session.on_warnings = None  # what reading the state says is logged, as before
        self.loads += 1
        log.debug("project loaded (%s)", counted(len(project.models), "model"))
        warnings = tuple(said)
        self._kept = (
            _Kept(project.load_key, project, warnings) if project.load_key is not None else None
        )
        return session, warnings

    def report(self, exc: TealError) -> None:
        """Say why the project does not load, once per distinct error (with its location:
        ``str(exc)``)."""
        problem = str(exc)
        if problem == self.problem:
            return
        self.problem = problem
        self._say(TickStatus.FAILED, problem)

    def skipped(self, part: str) -> bool:
        """Whether ``part`` (skipped because the project does not load) says so now: once
        until the project loads again."""
        if part in self._skips_said:
            return False
        self._skips_said.add(part)
        return True

    def said(self) -> list[TickOutcome]:
        """What the loads said since the last call (for the step's outcomes)."""
        found, self._said = self._said, []
        return found

    def _say(self, status: str, message: str) -> None:
        from teal.runtime.clock import utc_now
        from teal.runtime.daemon import TickOutcome

        at = self._now if self._now is not None else utc_now()
        self._said.append(TickOutcome(PROJECT, at, status, None, message))
