"""The daemon loads the project at most once per step, shared by the automation conditions
and freshness, and keeps it while its files are unchanged (runtime/daemon_load.py); a
project that does not load is reported once, and both say they are skipped for it. A
simulated clock and a real SQLite run store; runs are queued, not carried out."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from teal.runtime.automation_conditions import SOURCE
from teal.runtime.daemon import Daemon, TickOutcome, open_daemon
from teal.runtime.runstore.ticks import TickStore
from tests.conftest import run_teal

T0 = datetime(2026, 3, 10, 0, 30)  # naive UTC, as the daemon's clock
SECONDS = timedelta(seconds=1)
FAST = 'name = "loads"\n[daemon]\nautomation_interval = "30s"\n'
RAW = "{{ config(materialized='table', freshness={'max_lag': '1d'}) }} select 1 as n"
ORDERS = "{{ config(materialized='table', automation_condition='eager') }} select n from raw"
BOTH = (
    "{{ config(materialized='table', freshness={'max_lag': '1d'}, "
    "automation_condition='eager') }} select 2 as m"
)


@dataclass
class Queued:
    run_id: str

    def poll(self) -> int | None:
        return None  # never ends: the runs stay as the daemon launched them


@dataclass
class NotingLauncher:
    launched: list[str] = field(default_factory=list)

    def launch(self, run_id: str) -> Queued:
        self.launched.append(run_id)
        return Queued(run_id)


@pytest.fixture
def loads() -> Iterator[list[str]]:
    """The daemon's debug lines about loading the project, as ``teal daemon --debug``
    prints them (cleared by the test between steps)."""
    found: list[str] = []

    class Noted(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record.getMessage())

    handler = Noted(logging.DEBUG)
    logger = logging.getLogger("teal.daemon")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield found
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def step(d: Daemon, at: datetime, loads: list[str]) -> tuple[list[TickOutcome], list[str]]:
    """One step: what it said, and the project loads it made."""
    loads.clear()
    found = d.step(at)
    return found, [line for line in loads if line.startswith("project ")]


def daemon(root: Path) -> Daemon:
    return open_daemon(root, launcher=NotingLauncher())


def test_one_load_per_step_kept_while_unchanged_and_an_edit_seen_by_both(project, loads):
    root = project({"models/raw.sql": RAW, "models/orders.sql": ORDERS}, config=FAST)
    d = daemon(root)

    found, loaded = step(d, T0, loads)  # automation and freshness are both due
    assert [line.split(" (")[0] for line in loaded] == ["project loaded"]
    assert [o.source for o in found] == [SOURCE, "freshness"]
    assert found[1].message == "stale: raw"

    found, loaded = step(d, T0 + 30 * SECONDS, loads)  # automation: the project kept
    assert loaded == []
    found, loaded = step(d, T0 + 60 * SECONDS, loads)  # both again: kept
    assert loaded == []
    assert d.loads.loads == 1

    (root / "models" / "both.sql").write_text(BOTH)  # edited between two steps
    found, loaded = step(d, T0 + 120 * SECONDS, loads)
    assert [line.split(" (")[0] for line in loaded] == ["project loaded"]
    said = {o.source: o.message for o in found}
    assert said[SOURCE] == "builds both (new: never built)"  # automation saw the edit...
    assert said["freshness"] == "stale: both, raw"  # ...and so did freshness, in one step
    found, loaded = step(d, T0 + 180 * SECONDS, loads)
    assert loaded == [] and d.loads.loads == 2
    d.store.close()


BROKEN = "select * from not_a_model"
WHERE = "models/broken.sql:1:15: 'not_a_model' is not a model or a declared source"


def test_a_project_that_does_not_load_is_said_once_and_both_say_they_skip(project, loads):
    files = {"models/raw.sql": RAW, "models/orders.sql": ORDERS, "models/broken.sql": BROKEN}
    root = project(files, config=FAST)
    d = daemon(root)

    found, loaded = step(d, T0, loads)
    assert [line.split(":")[0] for line in loaded] == ["project does not load"]
    lines = [o.describe() for o in found]
    assert len(lines) == 3, lines
    assert lines[0].startswith(
        f"project 2026-03-10 00:30:00: does not load; runs launched now fail: {WHERE}"
    )
    assert lines[1:] == [
        "sensor:automation_conditions 2026-03-10 00:30:00: skipped (the project does not load)",
        "freshness 2026-03-10 00:30:00: skipped (the project does not load)",
    ]
    for seconds in (30, 60, 90):  # the same error: tried once a step, said no more
        found, loaded = step(d, T0 + seconds * SECONDS, loads)
        assert found == [] and len(loaded) == 1
    # each evaluation is a skipped tick all the same, with the error where it is written
    ticks = TickStore(d.store).ticks(SOURCE, limit=10)
    assert [t.status for t in ticks] == ["skipped"] * 4
    assert all((t.message or "").startswith(f"the project does not load: {WHERE}") for t in ticks)

    (root / "models" / "broken.sql").write_text("select n from raw")
    found, loaded = step(d, T0 + 120 * SECONDS, loads)
    assert [line.split(" (")[0] for line in loaded] == ["project loaded"]
    assert [(o.source, o.status) for o in found] == [
        ("project", "requested"),
        (SOURCE, "skipped"),
        ("freshness", "requested"),
    ]
    assert found[0].describe() == "project 2026-03-10 00:32:00: loads again"
    assert (found[1].message or "").startswith("nothing to build")
    d.store.close()


@pytest.mark.slow
def test_teal_daemon_debug_prints_each_load_of_the_project(project):
    root = project({"models/raw.sql": RAW, "models/orders.sql": ORDERS}, config=FAST)
    done = run_teal("daemon", "--once", "--debug", cwd=root, env={"TEAL_NOW": "2026-03-10T00:30"})
    assert done.returncode == 0, done.stderr
    loaded = [line for line in done.stdout.splitlines() if "debug: project loaded" in line]
    assert len(loaded) == 1, done.stdout  # automation and freshness, one load
    assert loaded[0].endswith("debug: project loaded (2 models)")


THINGS = """
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import settings  # noqa: E402

import pyarrow as pa  # noqa: E402

import teal  # noqa: E402


@teal.asset(automation_condition=settings.CONDITION)
def things() -> pa.Table:
    return pa.table({"n": [1]})
"""


@pytest.mark.slow
def test_a_kept_project_is_loaded_again_when_a_helper_module_changed(project, loads):
    """Kept while unchanged means what a stored project means (compiler/snapshot.py): its
    files, and the project-local modules its Python models imported."""
    root = project({"lib/settings.py": "CONDITION = None\n", "models/things.py": THINGS}, FAST)
    d = daemon(root)
    found, loaded = step(d, T0, loads)
    assert found == [] and len(loaded) == 1  # no model has a condition
    found, loaded = step(d, T0 + 30 * SECONDS, loads)
    assert found == [] and loaded == []

    (root / "lib" / "settings.py").write_text('CONDITION = "eager"\n')
    found, loaded = step(d, T0 + 60 * SECONDS, loads)
    assert len(loaded) == 1
    assert [(o.source, o.message) for o in found] == [(SOURCE, "builds things (new: never built)")]
    d.store.close()
