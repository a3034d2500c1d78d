"""Which schedule, sensor or job started a run, and its partitions in a few words, in
`teal runs`, `teal runs show` and the UI's API (runtime/run_labels.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from teal.runtime.runstore import RunRecord, RunStatus, Trigger
from teal.runtime.session import Session
from tests.conftest import run_teal

DAYS = tuple(f"2025-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29))  # 336
# days 29-31 are left out of each month but February (of 28 days): runs, not one span
GAPPED = "2025-01-01..2025-01-28, 2025-02-01..2025-03-28, 2025-04-01..2025-04-28, +224 more (336)"


def seeded(project) -> tuple[Path, str, str]:
    """A project whose store holds a schedule's run of a job and a sensor's backfill."""
    root = project({"models/a.sql": "select 1 as x"})
    at = datetime(2026, 3, 2, 3, 0)
    scheduled = RunRecord(
        "20260302T030000-aaaaaa",
        "build",
        RunStatus.SUCCESS,
        Trigger.SCHEDULE,
        ("a",),
        config={"source": "schedule:nightly", "job": "nightly"},
        created_at=at,
        started_at=at,
        finished_at=at,
    )
    sensed = RunRecord(
        "20260302T030100-bbbbbb",
        "build",
        RunStatus.SUCCESS,
        Trigger.SENSOR,
        ("a",),
        partitions=DAYS,
        config={"source": "sensor:after_orders"},
        created_at=at,
        started_at=at,
        finished_at=at,
    )
    with Session.open(root) as session:  # recorded as the project's, as its daemon would
        for run in (scheduled, sensed):
            session.run_store().add_run(replace(run, project=session.config.name))
    return root, scheduled.run_id, sensed.run_id


@pytest.mark.slow
def test_the_run_listings_name_the_schedule_sensor_or_job_that_started_a_run(project):
    root, scheduled, sensed = seeded(project)
    listed = run_teal("runs", cwd=root).stdout
    [line] = [l for l in listed.splitlines() if l.startswith(scheduled)]
    assert "schedule nightly, job nightly" in line
    [line] = [l for l in listed.splitlines() if l.startswith(sensed)]
    assert "sensor after_orders" in line
    shown = run_teal("runs", "show", sensed, cwd=root).stdout
    assert "  by         sensor after_orders\n" in shown
    assert f"  partitions {GAPPED}\n" in shown  # not 336 keys on a line, nor one span
    as_json = json.loads(run_teal("runs", "show", scheduled, "--json", cwd=root).stdout)
    assert as_json["run"]["started_by"] == "schedule nightly, job nightly"


@pytest.mark.slow
def test_the_ui_api_says_who_started_a_run(project):
    from tests.ui.test_ui_api import call, ui_server

    root, scheduled, sensed = seeded(project)
    with ui_server(root) as (url, _):
        runs = {r["run_id"]: r for r in call(url, "runs")}
        assert runs[scheduled]["started_by"] == "schedule nightly, job nightly"
        assert runs[sensed]["partitions_summary"] == GAPPED
        assert call(url, f"runs/{sensed}")["run"]["started_by"] == "sensor after_orders"


DAILY = (
    "{{ config(materialized='incremental', partitioned_by={'daily': {'start': '2025-01-01'}}, "
    "partition_column='d') }} select cast('{{ partition.start }}' as date) as d"
)


@pytest.mark.slow
def test_a_range_backfill_shows_the_range_it_was_asked_for(project):
    root = project({"models/daily.sql": DAILY})
    done = run_teal("build", "--partition-range", "2025-01-01..2025-01-05", cwd=root)
    assert done.returncode == 0, done.output
    shown = run_teal("runs", "show", "last", cwd=root).stdout
    assert "  partitions 2025-01-01..2025-01-05\n" in shown
    from tests.ui.test_ui_api import call, ui_server

    with ui_server(root) as (url, _):
        [run] = call(url, "runs")
        assert run["partitions_summary"] == "2025-01-01..2025-01-05"
