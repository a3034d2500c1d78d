"""The project a daemon is the daemon of, in a run store other projects may share.

A daemon reads and writes its project's rows only (runtime/runstore/scope.py): its ticks,
its cursors, and the queue it launches runs from. Its project is the config's ``name``;
a daemon keeps the name it started with (a ``name`` edited while it runs is refused until
it restarts, or it would leave its ticks and queued runs behind under the old name).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from teal.compiler.config import ProjectConfig
from teal.compiler.errors import ProjectError
from teal.compiler.wording import counted
from teal.runtime.runstore.scope import adopt_unowned

if TYPE_CHECKING:
    from teal.runtime.daemon import Daemon
    from teal.runtime.runstore import RunStore

ADOPTED = "store"  # the source of the outcome saying what the daemon adopted


def scope_store(store: RunStore, config: ProjectConfig) -> None:
    """Make ``store`` the store of ``config``'s project: one opened for no project is
    scoped to it; one opened for another project is a mistake of the caller's."""
    if store.project is None:
        store.project = config.name
    elif store.project != config.name:
        raise ProjectError(
            f"the run store was opened for project '{store.project}', "
            f"not for the daemon's project '{config.name}'",
            path="run_store",
        )


def renamed(running: ProjectConfig, edited: ProjectConfig) -> str | None:
    """Why an edited config is not taken while the daemon runs: its project's name
    changed (None: it did not)."""
    if edited.name == running.name:
        return None
    return (
        f"the project's name changed from '{running.name}' to '{edited.name}': restart the "
        "daemon to tick as the renamed project (its ticks, cursors and queued runs stay "
        f"'{running.name}''s)"
    )


def adopt_state(d: Daemon, now: datetime) -> None:
    """Take the ticks and cursors migration 5 could trace to no project (a store whose runs
    named none), saying so: the first daemon to open the store after the upgrade goes on
    from them, as it would have before."""
    from teal.runtime.daemon import TickOutcome

    ticks, cursors = adopt_unowned(d.store, d.config.name)
    if (ticks or cursors) and d.on_tick is not None:
        said = (
            f"project '{d.config.name}' adopted {counted(ticks, 'tick')} and "
            f"{counted(cursors, 'cursor')} recorded before the run store kept them per "
            "project (another project sharing the store starts its schedules and sensors "
            "afresh)"
        )
        d.on_tick(TickOutcome(ADOPTED, now, "adopted", None, said))
