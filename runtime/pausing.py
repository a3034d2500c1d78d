"""Pausing schedules and sensors: a paused one gets no ticks from the daemon until resumed.

The mark lives in the run store (runtime/runstore/ticks.py, ``paused:schedule:NAME``), so
`teal schedules pause`, the UI and a running daemon share it without the project's files
changing. What a listing shows is read with the last ticks (runtime/last_ticks.py), without
creating a store that does not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from teal.compiler.automation_conditions import SENSOR_NAME
from teal.compiler.config import ProjectConfig
from teal.compiler.errors import SelectionError, did_you_mean
from teal.runtime.clock import utc_now
from teal.runtime.runstore import RunStore, open_run_store, store_spec
from teal.runtime.runstore.ticks import TickStore

if TYPE_CHECKING:
    from teal.runtime.daemon import TickOutcome

KINDS = ("schedule", "sensor")


def set_paused(
    config: ProjectConfig, kind: str, name: str, paused: bool, store: RunStore | None = None
) -> None:
    """Pause or resume schedule or sensor ``name`` (``kind``) in ``store`` (None: the
    project's, opened for this); an error if there is none."""
    from teal.runtime.automation_rows import sensor_rows

    known = (
        list(config.automation.schedules)
        if kind == "schedule"
        else [*(r["name"] for r in sensor_rows(config)), SENSOR_NAME]  # conditions' evaluator
    )
    if name not in known:
        raise SelectionError(
            f"no {kind} '{name}'",
            path="NAME",
            hint=did_you_mean(name, known) or f"`teal {kind}s` lists them",
        )
    if store is not None:  # the UI's, open already
        TickStore(store).set_paused(f"{kind}:{name}", paused, utc_now())
        return
    with open_run_store(store_spec(config.run_store), config.root, project=config.name) as opened:
        opened.migrate(utc_now())
        TickStore(opened).set_paused(f"{kind}:{name}", paused, utc_now())


@dataclass
class PausesSaid:
    """What the daemon said of its paused schedules: a schedule paused, or resumed, since
    its last step is said once. Each tick of a paused schedule is recorded skipped all the
    same (the UI lists them), but said each time an every-minute one was 1,440 lines a
    day."""

    said: set[str] = field(default_factory=set)  # ``schedule:NAME`` said paused

    def said_now(self, config: ProjectConfig, paused: set[str], now: datetime) -> list[TickOutcome]:
        """The outcomes to say at ``now`` (naive UTC), ``paused`` as the store has it."""
        from teal.runtime.daemon import TickOutcome

        schedules = {f"schedule:{name}" for name in config.automation.schedules}
        paused_now = paused & schedules
        found = [
            TickOutcome(
                source,
                now,
                "paused",
                None,
                "its ticks are recorded skipped until "
                f"`teal schedules resume {source.partition(':')[2]}` or the UI resumes it",
            )
            for source in sorted(paused_now - self.said)
        ]
        found.extend(
            TickOutcome(source, now, "resumed", None, "its next tick runs")
            for source in sorted((self.said - paused_now) & schedules)
        )
        self.said = paused_now
        return found
