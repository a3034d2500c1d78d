"""A model that does not compile does not stop the daemon: it is reported once, located,
schedules go on ticking, the runs launched meanwhile fail as runs with the error, and
once the file is fixed the daemon says so and goes on (a simulated clock, no process)."""

from __future__ import annotations

from datetime import datetime

import pytest

from teal.compiler.config import load_config
from teal.compiler.errors import LineageError
from teal.runtime.closed_partitions import partition_finder
from teal.runtime.daemon import Daemon, TickOutcome
from teal.runtime.daemon_freshness import freshness_evaluator
from teal.runtime.launch import launch_queued
from teal.runtime.runstore import RunStatus, open_run_store
from tests.runstore.test_daemon import T0, NotingLauncher

TOML = """
[schedules.hourly]
select = "a"
cron = "0 * * * *"

[schedules.daily]
select = "days"
cron = "30 0 * * *"
partition = "closed"
"""
DAYS = (
    "{{ config(materialized='table', partitioned_by={'daily': {'start': '2026-01-01'}}, "
    "partition_column='d') }} select cast('{{ partition.start }}' as date) as d"
)


def test_a_model_that_does_not_compile_is_reported_and_the_daemon_goes_on(
    tmp_path, store_spec, monkeypatch
):
    monkeypatch.setenv("TEAL_RUN_STORE", store_spec)  # for the launched run too
    (tmp_path / "models").mkdir()
    (tmp_path / "teal.toml").write_text(TOML)
    (tmp_path / "models" / "a.sql").write_text("select 1 as x")
    (tmp_path / "models" / "days.sql").write_text(DAYS)
    broken = tmp_path / "models" / "broken.sql"
    broken.write_text("select * from not_a_model")
    config = load_config(tmp_path)
    store = open_run_store(store_spec, tmp_path)
    store.migrate(T0)
    d = Daemon(config, store, NotingLauncher())
    d.partition_for = partition_finder(config)
    d.freshness = freshness_evaluator(config)
    said: list[TickOutcome] = []
    d.on_tick = said.append

    d.step(T0)  # no exception: the error is reported, located
    [problem] = [o for o in said if o.source == "project"]
    assert problem.status == "failed"
    assert problem.describe().startswith(
        "project 2026-03-02 02:59:00: does not load; runs launched now fail: "
        "models/broken.sql:1:15: 'not_a_model' is not a model or a declared source"
    )
    said.clear()
    # the schedules go on: one that needs no project queues its run, one that does fails
    # its tick with the error, located; the same error is not reported again
    found = d.step(datetime(2026, 3, 2, 3, 0, 1))
    assert [(o.source, o.status) for o in found] == [("schedule:hourly", "requested")]
    assert [o.source for o in said] == ["schedule:hourly"]
    found = d.step(datetime(2026, 3, 3, 0, 30, 1))
    daily = [o for o in found if o.source == "schedule:daily"]
    assert [o.status for o in daily] == ["failed"]
    assert (daily[0].message or "").startswith(
        "could not queue a run: models/broken.sql:1:15: 'not_a_model' is not a model"
    )
    assert not [o for o in found if o.source == "project"]

    # the run it launched fails as a run, with the error recorded
    [launched] = d.launcher.started  # type: ignore[attr-defined]
    with pytest.raises(LineageError, match="'not_a_model' is not a model"):
        launch_queued(tmp_path, launched.run_id)
    run = store.run(launched.run_id)
    assert run is not None and run.status == RunStatus.FAILURE
    assert (run.message or "").startswith("models/broken.sql:1:15: 'not_a_model' is not")
    launched.code = 1

    broken.write_text("select x from a")  # fixed: said once, and the schedules go on
    found = d.step(datetime(2026, 3, 3, 0, 32))
    assert [(o.source, o.message) for o in found] == [("project", "loads again")]
    assert d.step(datetime(2026, 3, 3, 0, 34)) == []
    found = d.step(datetime(2026, 3, 4, 0, 30, 1))
    assert [(o.source, o.status) for o in found if o.status != "skipped"] == [
        ("schedule:hourly", "requested"),
        ("schedule:daily", "requested"),
    ]
    store.close()
