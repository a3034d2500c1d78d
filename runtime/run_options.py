"""How a build is carried out, as the caller asks for it: :class:`RunOptions` (the
planner decides what runs; these decide how, and what is recorded with the run)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from teal.runtime.run_config import RunConfig
from teal.runtime.runstore import Trigger

# the commands that publish without running checks, as dbt's run, seed and snapshot do
NO_CHECKS = frozenset({"run", "seed", "snapshot"})


@dataclass(frozen=True)
class RunOptions:
    """How a plan is carried out (what the planner does not decide)."""

    command: str = "build"  # build | run | backfill | materialize: recorded with the run
    threads: int | None = None  # None: the project's setting
    fail_fast: bool = False
    checks: bool | None = None  # None: every command but those of NO_CHECKS audits
    store_failures: bool = False
    debug: bool = False  # tracebacks in failure messages
    run_id: str | None = None
    trigger: Trigger = Trigger.API  # who asked for the run (recorded with it)
    parent_run_id: str | None = None  # the run this one retries
    queued: bool = False  # run_id names a queued run (the daemon's) that this run claims
    # seconds to wait for a warehouse another process holds (None: fail at once, unless
    # this project's daemon runs; runtime/waiting.py)
    wait: float | None = None
    # run config of the Python models (runtime/run_config.py), recorded with the run
    config: RunConfig | None = None
    # resource instances by name, in place of the project's declarations (API and tests)
    resources: Mapping[str, Any] | None = field(default=None, repr=False)
    # bind the selected models' columns before any data changes (Session.bind)
    bind: bool = True
    # the job it runs, with the job's tags (`teal build --job`): recorded with the run, as
    # the daemon records its job runs (a run_status sensor's of_job reads it); ``tags``
    # also those of `teal build --tag` (KEY=VALUE or NAME: runtime/runstore/run_tags.py)
    job: str | None = None
    tags: tuple[str, ...] = ()
    # dbt's --indirect-selection (runtime/tests_alone.py): the checks of the selected models
    # the selection leaves out of their audits, and the tests it selects through a model it
    # builds whose own model it does not build (run after the build, on that model as it is)
    left_out: frozenset[str] = frozenset()
    beyond: frozenset[str] = frozenset()

    @property
    def runs_checks(self) -> bool:
        """Whether the run audits what it builds (``checks``, else by its command)."""
        return self.command not in NO_CHECKS if self.checks is None else self.checks
