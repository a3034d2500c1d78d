"""Light steps built in one shared transaction (runtime/step_groups.py), end to end on a
real DuckDB file: every model is published with its state row, a model that fails or
fails a check inside a group is recorded exactly as if it had run alone, the group's other
models are published, and a relation whose kind changed in a group that rolled back is
built again alone.

The executor runs in process so that the test can give groups a large budget (a real build
sizes them by its own elapsed time) and see them form: with one thread, a group's steps
are all reported started before the first of them is reported finished.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teal.compiler.plan import Plan, Step
from teal.runtime.checking import Auditor
from teal.runtime.executor import Executor
from teal.runtime.results import BuildResult, ModelResult
from teal.runtime.scheduler import Puller
from teal.runtime.session import Session
from teal.runtime.step_groups import GROUP_MAX
from teal.warehouse.engine import open_engine
from tests.conftest import query

LIGHT = 12  # independent light models, m00 .. m11


class Events:
    """A reporter that keeps the order of starts and finishes."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def start(self, plan: Plan, threads: int, warehouse: str) -> None:
        pass

    def model_started(self, step: Step) -> None:
        self.seen.append(("start", step.model))

    def model_finished(self, result: ModelResult, done: int, total: int) -> None:
        self.seen.append(("finish", result.model))

    def finish(self, result: BuildResult) -> None:
        pass

    def started_together(self) -> int:
        """The most steps reported started in a row (1: no group formed)."""
        most = run = 0
        for kind, _ in self.seen:
            run = run + 1 if kind == "start" else 0
            most = max(most, run)
        return most


def light_project(project, models: dict[str, str]) -> Path:
    files = {f"models/m{i:02d}.sql": f"select {i} as id, 'x' as tag" for i in range(LIGHT)}
    files.update(models)
    files["models/schema.yml"] = """
        models:
          - name: m03
            columns:
              - name: tag
                tests: [not_null]
    """
    return project(
        files, config='name = "groups"\nthreads = 1\n[defaults]\nmaterialized = "table"\n'
    )


def build_grouped(root: Path, run_id: str) -> tuple[BuildResult, Events]:
    session = Session.open(root)
    try:
        plan = session.plan()
        events = Events()
        wh = open_engine(session.config, sources=session.project.sources)
        try:
            executor = Executor(
                session.project,
                plan,
                wh,
                run_id=run_id,
                threads=1,
                reporter=events,
                auditor=Auditor.for_run(session.project, run_id, False, {}, None, wh),
            )
            executor.group_budget = lambda elapsed: 60.0  # every ready light step fits
            return executor.run(), events
        finally:
            wh.close()
    finally:
        session.close()


def builds(root: Path, run_id: str) -> dict[str, list[str]]:
    rows = query(
        root / "warehouse.duckdb",
        f"select model, status from teal.builds where run_id = '{run_id}' order by model",
    )
    found: dict[str, list[str]] = {}
    for model, status in rows:
        found.setdefault(model, []).append(status)
    return found


def test_light_models_share_commits_and_each_is_published_with_its_state_row(project):
    root = light_project(project, {})
    result, events = build_grouped(root, "r1")
    assert result.success
    assert events.started_together() > 1  # a group formed
    assert builds(root, "r1") == {f"m{i:02d}": ["success"] for i in range(LIGHT)}
    db = root / "warehouse.duckdb"
    assert query(db, "select id, tag from main.m07") == [(7, "x")]
    checks = query(db, "select check_name, status from teal.check_results where run_id = 'r1'")
    assert checks == [("not_null_m03_tag", "pass")]


def test_a_model_that_fails_in_a_group_is_recorded_once_and_the_others_are_published(project):
    root = light_project(
        project,
        {
            "models/m05.sql": "select cast('five' as integer) as id, 'x' as tag",
            "models/after5.sql": "select id from m05",
        },
    )
    result, events = build_grouped(root, "r1")
    assert events.started_together() > 1
    by_model = {r.model: r for r in result}
    assert by_model["m05"].status == "error"
    assert "Could not convert string 'five'" in (by_model["m05"].message or "")
    assert by_model["after5"].status == "skipped"
    recorded = builds(root, "r1")
    assert recorded.pop("m05") == ["error"]  # once: the group's attempt is not recorded
    assert recorded == {f"m{i:02d}": ["success"] for i in range(LIGHT) if i != 5}
    db = root / "warehouse.duckdb"
    tables = query(
        db, "select table_name from information_schema.tables where table_schema = 'main'"
    )
    assert sorted(t for (t,) in tables) == sorted(f"m{i:02d}" for i in range(LIGHT) if i != 5)


def test_a_check_that_fails_in_a_group_keeps_the_old_table_and_the_others_change(project):
    root = light_project(project, {})
    first, _ = build_grouped(root, "r1")
    assert first.success
    for i in range(LIGHT):  # every model changes; m03 now fails its not_null check
        tag = "null" if i == 3 else "'y'"
        (root / "models" / f"m{i:02d}.sql").write_text(f"select {i} as id, {tag} as tag")
    second, events = build_grouped(root, "r2")
    assert events.started_together() > 1
    by_model = {r.model: r for r in second}
    assert by_model["m03"].status == "error"
    assert "not_null_m03_tag" in (by_model["m03"].message or "")
    db = root / "warehouse.duckdb"
    assert query(db, "select tag from main.m03") == [("x",)]  # the old table, kept
    assert query(db, "select tag from main.m04") == [("y",)]
    assert builds(root, "r2")["m03"] == ["error"]
    checks = query(db, "select status, failing_rows from teal.check_results where run_id = 'r2'")
    assert checks == [("fail", 1)]  # recorded once, by the step run again alone


def test_a_view_made_a_table_in_a_group_that_rolled_back_is_built_again_alone(project):
    root = light_project(
        project, {"models/m01.sql": "{{ config(materialized='view') }} select 1 as id"}
    )
    first, _ = build_grouped(root, "r1")
    assert first.success
    db = root / "warehouse.duckdb"
    kind = "select table_type from information_schema.tables where table_name = 'm01'"
    assert query(db, kind) == [("VIEW",)]
    (root / "models" / "m01.sql").write_text("select 1 as id, 'table now' as tag")
    (root / "models" / "m02.sql").write_text("select cast('two' as integer) as id")
    second, events = build_grouped(root, "r2")
    assert events.started_together() > 1
    by_model = {r.model: r for r in second}
    assert by_model["m02"].status == "error"
    assert by_model["m01"].status == "success"
    assert query(db, kind) == [("BASE TABLE",)]
    assert query(db, "select tag from main.m01") == [("table now",)]


def schedule_of(  # type: ignore[no-untyped-def]
    expected: list[float], finished: list[float], reads: dict[int, int] | None = None
):
    """A Schedule of steps s000.. whose last builds took ``expected`` seconds (0: never
    built), with ``finished`` steps' durations known in this build; independent but for
    ``reads`` (the i-th step reads the j-th)."""
    from teal.compiler.plan import Plan
    from teal.runtime.pools import Pools
    from teal.runtime.report import SilentReporter
    from teal.runtime.scheduler import Schedule

    def step(i: int, seconds: float) -> Step:
        name = f"s{i:03d}"
        upstream = (f"s{reads[i]:03d}",) if reads and i in reads else ()
        return Step(
            name, "table", f"main.{name}", upstream, "new", "", f"{name}.sql", expected_s=seconds
        )

    plan = Plan(steps=tuple(step(i, s) for i, s in enumerate(expected)))
    schedule = Schedule(plan, SilentReporter(), Pools({}, {}))
    for seconds in finished:
        schedule.durations.add(seconds)
    return schedule


@given(
    expected=st.lists(st.sampled_from([0.0, 0.001, 0.01, 0.2, 5.0]), min_size=1, max_size=60),
    finished=st.lists(st.sampled_from([0.001, 0.01, 0.3]), max_size=5),
    heavy=st.sets(st.integers(0, 59)),
    left_s=st.sampled_from([0.0, 0.005, 0.05, 0.25, 10.0]),
)
def test_a_group_pulls_the_most_urgent_light_step_that_fits_what_is_left(
    expected, finished, heavy, left_s
):
    """``Schedule.pull`` hands a group's worker one step at a time: light, expected to fit
    what is left of the budget (its last build, else the typical one), the most urgent of
    those (among the first GROUP_MAX ready), and never the same step twice."""
    schedule = schedule_of(expected, finished)
    light = {s.model for i, s in enumerate(schedule.plan.steps) if i not in heavy}
    typical = schedule.durations.typical()
    pulled = []
    while (step := schedule.pull(light, left_s, 0)) is not None:
        pulled.append(step.model)
    assert len(pulled) == len(set(pulled))
    for name in pulled:
        assert name in light
        assert (schedule.steps[name].expected_s or typical) < left_s
    fits = [
        s.model
        for s in schedule.plan.steps[:GROUP_MAX]  # the most urgent ready ones looked at
        if s.model in light and (s.expected_s or typical) < left_s
    ]
    assert pulled[:1] == fits[:1]  # the most urgent first
    assert pulled == sorted(pulled)  # in the plan's order
    left = set(schedule.ready)
    assert left == {s.model for s in schedule.plan.steps} - set(pulled)


def test_a_group_pulls_no_step_that_became_ready_after_its_transaction_began():
    """DuckDB's snapshot, taken when the group's transaction begins, does not hold a table
    another worker commits later: a step whose upstream finished after that is left to
    another group (it would fail with "table does not exist" and roll the group back)."""
    from teal.runtime.results import SUCCESS

    schedule = schedule_of([0.0, 0.0, 0.0], [0.01], reads={1: 0})  # s001 reads s000
    a, b, c = schedule.plan.steps
    light = {a.model, b.model, c.model}
    assert schedule.take() == a.model  # another worker builds a
    pull = Puller(schedule, light)
    pull.open()  # this group's transaction begins
    schedule.done(ModelResult(a.model, SUCCESS, a.relation, "table", duration_s=0.01))
    assert b.model in schedule.ready  # b is ready, but a committed after the snapshot
    got = pull(10.0)
    assert got is not None and got.model == c.model
    assert pull(10.0) is None
    later = Puller(schedule, light)
    later.open()
    got = later(10.0)
    assert got is not None and got.model == b.model


def test_a_run_canceled_after_its_first_steps_starts_no_group_and_ends(project):
    """White box: the event the cancel watcher sets (runtime/cancel.py) is set as the
    first step finishes, as if `teal cancel` had been asked then; the steps not built end
    canceled, none is started again and again, and the run ends."""
    import threading

    canceled = threading.Event()

    class CancelAfterFirst(Events):
        def model_finished(self, result: ModelResult, done: int, total: int) -> None:
            super().model_finished(result, done, total)
            canceled.set()

    root = light_project(project, {})
    session = Session.open(root)
    try:
        plan = session.plan()
        wh = open_engine(session.config, sources=session.project.sources)
        try:
            executor = Executor(
                session.project, plan, wh, run_id="r1", threads=1, reporter=CancelAfterFirst()
            )
            executor.group_budget = lambda elapsed: 60.0
            executor._canceled = canceled
            result = executor._run()
        finally:
            wh.close()
    finally:
        session.close()
    statuses = [r.status for r in result]
    assert statuses.count("success") == 1
    assert statuses.count("skipped") == LIGHT - 1
    assert {r.message for r in result if r.status == "skipped"} == {"canceled before it started"}


def test_a_model_with_retries_does_not_hold_its_mates_results_through_its_pauses(project):
    """A model with retries that fails in a group: the group's other models are published
    and reported before the failing one pauses between attempts (with ``retry_delay`` a
    pause can be minutes, and their downstream models would wait for it)."""
    root = light_project(
        project,
        {"models/m05.sql": "{{ config(retries=2, retry_delay=30) }} select cast('x' as int) as id"},
    )
    session = Session.open(root)
    try:
        plan = session.plan()
        events = Events()
        open_at_pause: list[set[str]] = []

        def pause(seconds: float) -> None:  # what was started and not reported finished
            started = {m for kind, m in events.seen if kind == "start"}
            finished = {m for kind, m in events.seen if kind == "finish"}
            open_at_pause.append(started - finished - {"m05"})

        wh = open_engine(session.config, sources=session.project.sources)
        try:
            executor = Executor(session.project, plan, wh, run_id="r1", threads=1, reporter=events)
            executor.group_budget = lambda elapsed: 60.0
            executor.sleep = pause
            result = executor.run()
        finally:
            wh.close()
    finally:
        session.close()
    by_model = {r.model: r for r in result}
    assert by_model["m05"].status == "error" and by_model["m05"].attempts == 3
    assert len(open_at_pause) == 2
    assert open_at_pause == [set(), set()]  # nothing else waits on m05's pauses
    assert sum(r.status == "success" for r in result) == LIGHT - 1


def heavy_build(project, recorded_s: float | None) -> tuple[list[str], list[list[str]]]:
    """Build 40 light models and ``heavy`` (ready after ``gate``; it reads a named pipe,
    which the test writes to once every light model not held by heavy's group is built)
    with two workers. ``recorded_s``: heavy's last build's duration on record (None: it was
    never built). The light models heavy's group held while heavy built, and all the
    groups formed (the steps each took)."""
    import os
    import threading
    import time

    import duckdb

    pipe = project({}, name="pipe").parent / "heavy.fifo"
    files = {f"models/l{i:02d}.sql": f"select {i} as id" for i in range(40)}
    files["models/gate.sql"] = "select 1 as g"
    heavy = f"select g, (select content from read_text('{pipe}')) as c from gate"
    root = project(files, config='name = "h"\nthreads = 2\n[defaults]\nmaterialized = "table"\n')
    if recorded_s is not None:
        (root / "models" / "heavy.sql").write_text(heavy)
        pipe.write_text("first")
        assert Session.open(root).build().success
        con = duckdb.connect(str(root / "warehouse.duckdb"))
        con.execute(
            f"update teal.builds set duration_ms = {recorded_s * 1000} where model = 'heavy'"
        )
        con.close()
        pipe.unlink()
    files["models/heavy.sql"] = heavy
    for rel, text in files.items():  # every model changes: all are built again
        (root / rel).write_text(text.replace("select", "select 2 as v,", 1))
    os.mkfifo(pipe)

    session = Session.open(root)
    plan = session.plan()
    assert {s.model: s.expected_s for s in plan.steps}["heavy"] == (recorded_s or 0.0)
    events = Events()
    grouped: list[list[str]] = []
    wh = open_engine(session.config, sources=session.project.sources)
    executor = Executor(session.project, plan, wh, run_id="r2", threads=2, reporter=events)
    executor.group_budget = lambda elapsed: 60.0
    build_group = executor._grouped

    class SeenPuller(Puller):
        def __init__(self, pull: Puller, group: list[str]) -> None:
            self.pull, self.group = pull, group

        def open(self) -> None:
            self.pull.open()

        def __call__(self, left_s: float) -> Step | None:
            step = self.pull(left_s)
            if step is not None:
                self.group.append(step.model)
            return step

    def seen_group(first: Step, pull: Puller, budget_s: float):  # type: ignore[no-untyped-def]
        group = [first.model]  # the steps the group took so far
        grouped.append(group)
        return build_group(first, SeenPuller(pull, group), budget_s)

    executor._grouped = seen_group  # type: ignore[method-assign]
    done: list[BuildResult] = []
    thread = threading.Thread(target=lambda: done.append(executor.run()))
    thread.start()
    try:
        while True:  # heavy opens the pipe to read it: it is building
            try:
                writer = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                assert thread.is_alive()
                time.sleep(0.01)
        # what heavy's group took besides heavy while heavy builds: it waits unstarted
        held = [m for g in grouped if "heavy" in g for m in g if m != "heavy"]
        light = {f"l{i:02d}" for i in range(40)} - set(held)
        # the light models heavy does not hold: the other worker builds them all meanwhile
        # (the guard only turns a hang into a failure; they take well under a second)
        guard = time.monotonic() + 120
        while light - {m for kind, m in events.seen if kind == "finish"}:
            assert time.monotonic() < guard, f"light models not built: {sorted(light)}"
            time.sleep(0.01)
        os.write(writer, b"second")
        os.close(writer)
    finally:
        thread.join()
        wh.close()
        session.close()
    assert done[0].success
    assert query(root / "warehouse.duckdb", "select c from main.heavy") == [("second",)]
    return held, grouped


@pytest.mark.slow
def test_a_model_whose_last_build_was_long_builds_alone_and_holds_no_light_model(project):
    """``heavy`` took two minutes last time (its ``teal.builds`` row says so): it is never
    grouped, so while it builds the other worker builds every light model, none waits in
    its group unstarted."""
    held, grouped = heavy_build(project, recorded_s=120.0)
    assert held == []
    assert any(len(g) > 1 for g in grouped)  # the light models did share commits


def test_a_heavy_model_never_built_before_holds_no_light_model(project):
    """Nothing on record says ``heavy`` is slow, so it may start a group; its worker takes
    no further step until it is built, and the other worker builds every light model
    meanwhile (heavy_build waits for all 40 before letting heavy finish)."""
    held, _ = heavy_build(project, recorded_s=None)
    assert held == []


def test_fail_fast_stops_a_group_running_on_another_worker(project, tmp_path):
    """With --fail-fast, a failure on one worker stops the group another worker is
    building: the steps of it not started yet are skipped, not built. The group waits on
    a named pipe its ``n_pipe`` step reads until the failure has been reported; ``bad``
    (a Python model, alone on the other worker) fails when the test lets it."""
    import os
    import threading
    import time

    pipe, go = tmp_path / "n.fifo", tmp_path / "go_bad"
    files = {f"models/m{i:02d}.sql": f"select {i} as id" for i in range(10)}
    files.update({f"models/o{i:02d}.sql": f"select {i} as id" for i in range(10)})
    files["models/n_pipe.sql"] = f"select (select content from read_text('{pipe}')) as c"
    files["models/after_bad.sql"] = "select * from bad"  # bad is the most urgent
    files["models/bad.py"] = f"""
        import pathlib, time
        import teal

        @teal.asset
        def bad():
            while not pathlib.Path({str(go)!r}).exists():
                time.sleep(0.01)
            raise ValueError("the source system is down")
    """
    root = project(files, config='name = "ff"\nthreads = 2\n[defaults]\nmaterialized = "table"\n')
    os.mkfifo(pipe)
    session = Session.open(root)
    plan = session.plan()
    events = Events()
    wh = open_engine(session.config, sources=session.project.sources)
    executor = Executor(
        session.project, plan, wh, run_id="r1", threads=2, fail_fast=True, reporter=events
    )
    executor.group_budget = lambda elapsed: 60.0
    done: list[BuildResult] = []
    thread = threading.Thread(target=lambda: done.append(executor.run()))
    thread.start()
    try:
        while True:  # n_pipe opens the pipe: the group is waiting for it
            try:
                writer = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                assert thread.is_alive()
                time.sleep(0.01)
        go.write_text("fail now")
        while ("finish", "bad") not in events.seen:
            time.sleep(0.01)
        os.write(writer, b"piped")
        os.close(writer)
    finally:
        thread.join()
        wh.close()
        session.close()
    by_model = {r.model: r for r in done[0]}
    assert by_model["bad"].status == "error"
    started_after = events.seen[events.seen.index(("finish", "bad")) :]
    assert [m for kind, m in started_after if kind == "start"] == []
    assert by_model["n_pipe"].status == "success"  # it had started: it finished
    stopped = {m for m, r in by_model.items() if m.startswith("o") and r.status == "skipped"}
    assert stopped, {m: r.status for m, r in by_model.items()}
    assert {by_model[m].message for m in stopped} == {"not started: --fail-fast stopped the build"}


@pytest.mark.slow
def test_group_mates_reported_from_worker_threads_are_each_recorded_once(project, monkeypatch):
    """Four workers building groups (their steps reported started from the worker threads)
    through the real run store and console reporter: each model has one step row, one
    start and one outcome event, one progress line, and its start before its finish."""
    import io
    import sqlite3

    import teal.runtime.executor as executor_module
    from teal.runtime.report import ConsoleReporter

    monkeypatch.setattr(executor_module, "budget", lambda elapsed: 60.0)
    groups: list[int] = []
    run_group = executor_module.run_group

    def counted(cur, group, first, pull, **kwargs):  # type: ignore[no-untyped-def]
        got = run_group(cur, group, first, pull, **kwargs)
        groups.append(len(got.results))
        return got

    monkeypatch.setattr(executor_module, "run_group", counted)
    count = 60
    files = {f"models/m{i:02d}.sql": f"select {i} as id, 'x' as tag" for i in range(count)}
    files["models/m07.sql"] = "select cast('seven' as integer) as id, 'x' as tag"
    files["models/schema.yml"] = "models:\n" + "".join(
        f"  - name: m{i:02d}\n    columns:\n      - name: tag\n        tests: [not_null]\n"
        for i in range(0, count, 3)
    )
    root = project(files, config='name = "t"\nthreads = 4\n[defaults]\nmaterialized = "table"\n')
    out = io.StringIO()
    result = Session.open(root).build(reporter=ConsoleReporter(out=out, color=False))
    assert [r.model for r in result.failed] == ["m07"]
    assert groups and max(groups) > 1  # groups formed
    lines = out.getvalue().splitlines()
    for i in range(count):
        assert sum(f"main.m{i:02d} " in line for line in lines) == 1, (i, out.getvalue())
    con = sqlite3.connect(root / ".teal" / "runs.sqlite")
    try:
        steps = con.execute(
            "select model, status, started_at <= finished_at from steps"
            " where run_id = ? order by model",
            (result.run_id,),
        ).fetchall()
        kinds = con.execute(
            "select kind, count(*), count(distinct model) from events"
            " where run_id = ? and kind like 'step_%' group by kind order by kind",
            (result.run_id,),
        ).fetchall()
    finally:
        con.close()
    expected = [(f"m{i:02d}", "failure" if i == 7 else "success", 1) for i in range(count)]
    assert steps == expected
    assert kinds == [
        ("step_failure", 1, 1),
        ("step_start", count, count),
        ("step_success", count - 1, count - 1),
    ]
    checks = query(
        root / "warehouse.duckdb",
        f"select count(*) from teal.check_results where run_id = '{result.run_id}'",
    )
    assert checks == [(count // 3,)]


def test_dbt_seeds_and_plain_models_group_but_hooks_snapshots_incrementals_and_spark_do_not(
    tmp_path,
):
    """Which steps of the dbt fixture may share a commit: seeds (tables read from CSV) and
    models without hooks; never a model with a pre/post hook (they run around the build's
    transaction), a snapshot or incremental model, or a Python model. Spark never groups."""
    import shutil

    from teal.runtime.step_groups import groupable
    from teal.warehouse.spark.engine import SparkEngine

    root = tmp_path / "events"
    shutil.copytree(Path(__file__).parent / "dbt_projects" / "events", root)
    session = Session.open(root)
    try:
        plan = session.plan()
        project = session.project
        actions = {s.model: s.action for s in plan.steps}
        light = set()
        for step in plan.steps:
            model = project.models[step.model]
            python = model.kind == "python" or any(
                project.checks[c].python is not None for c in model.checks
            )
            if groupable(model, step, python):
                light.add(step.model)
    finally:
        session.close()
    assert light == {"raw_events", "event_kinds", "stg_events", "kinds_live", "stg_legacy"}
    assert actions["kinds_snapshot"] == "incremental" and "kinds_snapshot" not in light
    assert actions["kinds_compared"] == "table"  # its hooks keep it alone
    assert SparkEngine.GROUPS_STEPS is False


def test_a_cancel_as_a_group_is_about_to_commit_rolls_it_back(project):
    """White box: the cancel comes as the group's second step passes its pre-commit check,
    every step of the group built; the group rolls back instead of committing (a canceled
    run commits nothing more), its steps end canceled, and none starts after."""
    root = light_project(project, {})
    session = Session.open(root)
    checked: list[str] = []
    try:
        plan = session.plan()
        wh = open_engine(session.config, sources=session.project.sources)
        try:
            executor = Executor(session.project, plan, wh, run_id="r1", threads=1)
            executor.group_budget = lambda elapsed: 60.0

            def before_commit(model: str) -> None:
                checked.append(model)
                if len(checked) == 3:  # the first step ran alone, the next two in a group
                    executor.cancel()

            executor.before_commit = before_commit
            result = executor.run()
        finally:
            wh.close()
    finally:
        session.close()
    assert len(checked) == 3, checked
    by_model = {r.model: r for r in result}
    assert by_model[checked[0]].status == "success"
    for model in checked[1:]:
        assert by_model[model].message == "canceled while running: its work was rolled back"
    rest = {r.message for r in result if r.model not in checked}
    assert rest == {"canceled before it started"}
    tables = "select table_name from duckdb_tables() where schema_name = 'main'"
    assert query(root / "warehouse.duckdb", tables) == [(checked[0],)]


def test_a_cancel_inside_a_group_rolls_it_back_and_ends_its_steps_canceled(project, tmp_path):
    """`teal cancel` while a group builds (white box: the event and the interrupt the
    cancel watcher makes): the SQL in flight is interrupted, the group rolls back, and
    every step of it ends canceled, none is built again alone, none is published. The
    group's ``slow`` step reads a named pipe, then computes for many seconds: the cancel
    comes once the test has written to the pipe."""
    import os
    import threading
    import time

    pipe = tmp_path / "slow.fifo"
    files = {f"models/m{i:02d}.sql": f"select {i} as id" for i in range(6)}
    files["models/slow.sql"] = (
        f"select count(*) as n from range(2000000000) "
        f"where md5(range::varchar || (select content from read_text('{pipe}'))) = 'x'"
    )
    root = project(files, config='name = "c"\nthreads = 1\n[defaults]\nmaterialized = "table"\n')
    os.mkfifo(pipe)
    canceled = threading.Event()
    session = Session.open(root)
    plan = session.plan()
    events = Events()
    wh = open_engine(session.config, sources=session.project.sources)
    executor = Executor(session.project, plan, wh, run_id="r1", threads=1, reporter=events)
    executor.group_budget = lambda elapsed: 60.0
    executor._canceled = canceled
    done: list[BuildResult] = []
    thread = threading.Thread(target=lambda: done.append(executor._run()))
    thread.start()
    try:
        while True:
            try:
                writer = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                assert thread.is_alive()
                time.sleep(0.01)
        in_group = {m for kind, m in events.seen if kind == "start"} - {
            m for kind, m in events.seen if kind == "finish"
        }
        os.write(writer, b"go")
        os.close(writer)
        canceled.set()
        executor._interrupt_sql()
    finally:
        thread.join()
        wh.close()
        session.close()
    assert "slow" in in_group and len(in_group) > 1, events.seen  # a group was building
    by_model = {r.model: r for r in done[0]}
    for model in in_group:
        assert by_model[model].status == "skipped", by_model[model]
        assert by_model[model].message == "canceled while running: its work was rolled back"
    tables = {
        t
        for (t,) in query(
            root / "warehouse.duckdb",
            "select table_name from duckdb_tables() where schema_name = 'main'",
        )
    }
    assert not (in_group & tables)
    rows = query(
        root / "warehouse.duckdb", "select model, status from teal.builds where run_id = 'r1'"
    )
    assert not ({m for m, _ in rows} & in_group), rows


def test_one_heavy_step_does_not_make_the_light_ones_after_it_look_heavy():
    """The typical duration a group's pulls go by is the light steps': one model of a
    minute among 5 ms ones would otherwise keep the next 32 steps out of every group."""
    from teal.runtime.step_groups import Durations

    durations = Durations()
    for _ in range(20):
        durations.add(0.005)
    durations.add(60.0)
    for _ in range(5):
        durations.add(0.005)
    assert durations.typical() == 0.005
    schedule = schedule_of([0.0] * 20, [0.005] * 20 + [60.0] + [0.005] * 5)
    light = {s.model for s in schedule.plan.steps}
    pulled = [schedule.pull(light, 0.25, 0) for _ in range(20)]
    assert all(step is not None for step in pulled)
