"""A failed attempt at a partition rolls back and leaves the rows of its last success: the
partitions that read it are not stale, and every view says so alike (``teal partitions``,
``teal plan`` of the reader alone or with its upstream, the UI's graph)."""

from __future__ import annotations

import pytest

from teal.runtime.session import Session
from teal.runtime.ui.project_view import FAILED, FRESH, ProjectView
from tests.test_partitioned_builds import DAILY_SUM_SQL, EVENTS_SQL

BAD = "2026-01-05"


@pytest.mark.slow
def test_a_failed_upstream_partition_does_not_make_its_readers_stale(project):
    root = project({"models/events.sql": EVENTS_SQL, "models/daily_sum.sql": DAILY_SUM_SQL})
    with Session.open(root) as session:
        assert session.build().success
    with Session.open(root, vars={"bad_day": BAD}) as session:  # this day fails
        failed = session.build(["events"], options=session.options(partitions=(BAD,)))
        assert not failed.success

    with Session.open(root) as session:
        own = {r["key"]: r["status"] for r in session.partitions("events")}
        assert own[BAD] == "failed"
        readers = {r["key"]: (r["status"], r["note"]) for r in session.partitions("daily_sum")}
        assert readers[BAD] == ("materialized", None)
        assert session.plan(["daily_sum"]).steps == ()  # nothing to rebuild
        plan = session.plan(["events+"])  # the failed partition again; its reader: not
        assert [(s.model, s.partitions, s.partition_reasons) for s in plan.steps] == [
            ("events", (BAD,), ("failed last time",))
        ]
        statuses = ProjectView(session).statuses(session.state())
        assert statuses.get("events") == FAILED
        assert statuses.get("daily_sum", FRESH) == FRESH
