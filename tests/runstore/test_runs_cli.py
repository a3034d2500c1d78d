"""Runs recorded by real builds, read with `teal runs`, `teal logs` and `teal status`, also
from a second process while a build runs."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import query, run_teal, spawn_teal

PIPELINE = {
    "models/a.sql": "select 1 as id",
    # waits, without polling, until the test opens the pipe: the build is mid-run meanwhile
    "models/b.py": """
        import teal

        @teal.asset
        def b(context, a):
            context.log.info("b is waiting")
            with open("go") as gate:
                gate.read()
            context.log.info("b goes on")
            return a
    """,
    "models/c.sql": "select id + 1 as id from b",
}


def _spawn(root: Path, *args: str) -> subprocess.Popen[str]:
    return spawn_teal(*args, cwd=root)


def _read_until(proc: subprocess.Popen[str], needle: str) -> list[str]:
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line.rstrip("\n"))
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never appeared in:\n" + "\n".join(seen))


@pytest.mark.slow
def test_logs_follow_from_a_second_process_sees_steps_as_they_happen(project):
    root = project(PIPELINE)
    os.mkfifo(root / "go")
    build = _spawn(root, "build", "--threads", "1")
    try:
        _read_until(build, "OK    view   main.a")  # a is done, b has started
        follow = _spawn(root, "logs", "--follow", "last")
        try:
            before = _read_until(follow, "b is waiting")
            with open(root / "go", "w") as gate:  # let b finish
                gate.write("go")
            rest, _ = follow.communicate(timeout=120)
        finally:
            follow.kill()
        assert build.wait(timeout=120) == 0
    finally:
        build.kill()
    lines = before + rest.splitlines()
    assert follow.returncode == 0
    # columns of `teal logs`: time, event kind (or log level), model
    events = [(line[14:29].strip(), line[30:60].strip()) for line in lines if line[:2].isdigit()]
    assert events == [
        ("run_start", ""),
        ("step_start", "a"),
        ("materialization", "a"),
        ("step_success", "a"),
        ("step_start", "b"),
        ("INFO", "b"),
        ("INFO", "b"),
        ("materialization", "b"),
        ("step_success", "b"),
        ("step_start", "c"),
        ("materialization", "c"),
        ("step_success", "c"),
        ("run_end", ""),
    ]
    assert "b is waiting" in before[-1] and any("b goes on" in line for line in rest.splitlines())
    assert lines[-1].endswith("success")


@pytest.mark.slow
def test_logs_follow_of_a_build_killed_with_kill_9_ends_saying_it_crashed(project):
    root = project(PIPELINE)
    os.mkfifo(root / "go")
    build = _spawn(root, "build", "--threads", "1")
    try:
        _read_until(build, "OK    view   main.a")  # a is done, b waits at the pipe
        follow = _spawn(root, "logs", "--follow", "last")
        try:
            _read_until(follow, "b is waiting")
            build.kill()  # SIGKILL: nothing of the build records its end
            build.wait(timeout=60)
            rest, _ = follow.communicate(timeout=30)  # it ends: it did not wait forever
        finally:
            follow.kill()
    finally:
        build.kill()
    assert follow.returncode == 0
    assert rest.splitlines()[-1].endswith("crashed"), rest


@pytest.mark.slow
def test_runs_lists_each_build_and_show_gives_steps_rows_and_failures(project):
    root = project({"models/ok.sql": "select 1 as id", "models/bad.sql": "select nope from ok"})
    first = run_teal("build", "--no-validate", cwd=root)  # run, so that the step fails
    assert first.returncode == 1
    second = run_teal("build", "-s", "ok", cwd=root)
    assert second.returncode == 0
    listed = json.loads(run_teal("runs", "--json", cwd=root).stdout)
    assert [(r["command"], r["status"], r["selection"]) for r in listed] == [
        ("build", "success", ["ok"]),
        ("build", "failure", []),
    ]
    failed = run_teal("runs", "--status", "failure", cwd=root).stdout
    assert listed[1]["run_id"] in failed and listed[0]["run_id"] not in failed
    shown = json.loads(run_teal("runs", "show", listed[1]["run_id"], "--json", cwd=root).stdout)
    steps = {s["model"]: s for s in shown["steps"]}
    assert steps["ok"]["status"] == "success" and steps["ok"]["rows"] is None  # a view
    assert steps["bad"]["status"] == "failure" and "nope" in steps["bad"]["message"]
    assert steps["ok"]["partition_key"] is None  # as events say it: `select(.partition_key)`
    text = run_teal("runs", "show", "last", cwd=root).stdout
    assert "build success (cli)" in text and "ok" in text
    status = run_teal("status", cwd=root).stdout
    assert "2 runs" in status and "bad    failure" in status
    assert "2 runs" in run_teal("runs", "--model", "ok", cwd=root).stdout
    misspelt = run_teal("runs", "--model", "okk", cwd=root)
    assert misspelt.returncode == 2 and "no run built 'okk'" in misspelt.stderr
    assert "did you mean 'ok'?" in misspelt.stderr


@pytest.mark.slow
def test_unknown_run_is_a_clear_error(project):
    root = project({"models/ok.sql": "select 1 as id"})
    assert run_teal("build", cwd=root).returncode == 0
    done = run_teal("runs", "show", "nosuchrun", cwd=root)
    assert done.returncode == 2
    assert "no run 'nosuchrun'" in done.stderr and "teal runs" in done.stderr
    assert run_teal("build", cwd=root).returncode == 0
    ids = [r["run_id"] for r in json.loads(run_teal("runs", "--json", cwd=root).stdout)]
    shared = os.path.commonprefix(ids)  # both runs start with the same date
    assert len(ids) == 2 and shared
    ambiguous = run_teal("runs", "show", shared, cwd=root)
    assert ambiguous.returncode == 2
    assert f"'{shared}' names 2 runs" in ambiguous.stderr
    assert ids[0] in ambiguous.stderr and ids[1] in ambiguous.stderr


def test_an_unreachable_run_store_fails_the_build_before_any_data_changes(project):
    pytest.importorskip("psycopg")
    root = project({"models/ok.sql": "select 1 as id"})
    done = run_teal(
        "build", cwd=root, env={"TEAL_RUN_STORE": "postgresql://teal:pw@127.0.0.1:1/runs"}
    )
    assert done.returncode == 2
    assert "cannot reach the run store postgresql://teal:***@127.0.0.1:1/runs" in done.stderr
    assert "pw@" not in done.output
    assert not (root / "warehouse.duckdb").exists() or query(
        root / "warehouse.duckdb",
        "select count(*) from information_schema.tables where table_name = 'ok'",
    ) == [(0,)]


@pytest.mark.slow
def test_an_unreachable_run_store_is_located_where_it_was_chosen(project):
    """`teal runs` with the store down says the store is unreachable, at the setting that
    chose it (exit 2), and not that nothing was built: it builds nothing. A build says so."""
    pytest.importorskip("psycopg")
    url = "postgresql://teal:pw@127.0.0.1:1/runs"
    root = project({"models/ok.sql": "select 1 as id"}, config=f'name = "p"\nrun_store = "{url}"\n')
    listed = run_teal("runs", cwd=root)
    assert listed.returncode == 2, listed.output
    assert listed.stderr.startswith(
        "teal.toml:2:13: cannot reach the run store postgresql://teal:***@127.0.0.1:1/runs"
    ), listed.stderr
    assert '    run_store = "postgresql://teal:***@127.0.0.1:1/runs"\n' in listed.stderr
    assert "hint: start the server or fix run_store / TEAL_RUN_STORE\n" in listed.stderr
    assert "nothing was built" not in listed.output and "pw@" not in listed.output
    built = run_teal("build", cwd=root)
    assert built.returncode == 2, built.output
    assert "hint: start the server or fix run_store / TEAL_RUN_STORE; nothing was built" in (
        built.stderr
    )
    chosen = run_teal("status", cwd=root, env={"TEAL_RUN_STORE": url.replace("runs", "other")})
    assert chosen.returncode == 2, chosen.output
    assert chosen.stderr.startswith("TEAL_RUN_STORE: cannot reach the run store"), chosen.stderr


def test_migrate_says_what_it_applied_then_that_it_is_current(project):
    root = project({"models/ok.sql": "select 1 as id"})
    first = run_teal("migrate", cwd=root)
    assert first.returncode == 0
    assert "applied 1: runs, steps, events" in first.stdout
    assert "applied 2: the daemon's ticks and cursors" in first.stdout
    assert "applied 3: ticks by status and age" in first.stdout
    assert "applied 4: which process runs a run, beyond its pid" in first.stdout
    assert "applied 5: ticks and cursors per project" in first.stdout
    assert "applied 6: a run's heartbeat" in first.stdout
    assert "applied 7: a run's job and tags" in first.stdout
    again = run_teal("migrate", cwd=root).stdout
    assert "is up to date (schema version 7)" in again


@pytest.mark.slow
def test_runs_recorded_in_postgres(project, fresh_postgres):
    root = project({"models/ok.sql": "select 1 as id", "models/two.sql": "select id from ok"})
    env = {"TEAL_RUN_STORE": fresh_postgres}
    assert run_teal("build", cwd=root, env=env).returncode == 0
    listed = json.loads(run_teal("runs", "--json", cwd=root, env=env).stdout)
    assert [r["status"] for r in listed] == ["success"]
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root, env=env).stdout)
    assert sorted(s["model"] for s in shown["steps"]) == ["ok", "two"]
    assert not (root / ".teal" / "runs.sqlite").exists()


def test_python_api_build_is_recorded_and_read_back_with_teal_runs(project):
    import teal

    root = project({"models/ok.sql": "select 1 as id"})
    result = teal.build(root)
    found = teal.runs(root)
    assert [(r.run_id, r.trigger.value, r.status) for r in found] == [
        (result.run_id, "api", teal.RunStatus.SUCCESS)
    ]
    assert teal.runs(root, status=["failure"]) == []


@pytest.mark.slow
def test_project_config_chooses_the_store_and_its_retention(project):
    config = """
        name = "kept"
        run_store = "history/runs.sqlite"
        run_retention = { days = 30, runs = 2 }
    """
    root = project({"models/ok.sql": "select 1 as id"}, config=config)
    for _ in range(3):
        assert run_teal("build", cwd=root).returncode == 0
    assert (root / "history" / "runs.sqlite").exists()
    assert not (root / ".teal" / "runs.sqlite").exists()
    assert len(json.loads(run_teal("runs", "--json", cwd=root).stdout)) == 2


def test_a_bad_retention_setting_is_a_located_error(project):
    root = project(
        {"models/ok.sql": "select 1 as id"},
        config='name = "x"\nrun_retention = { days = 30, weeks = 2 }\n',
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 2
    assert "teal.toml:2:" in done.stderr and "unknown: weeks" in done.stderr


@pytest.mark.slow
def test_a_note_of_several_lines_keeps_its_run_on_one_line_of_the_list(project):
    from teal.runtime.clock import utc_now
    from teal.runtime.runstore import RunStatus
    from teal.runtime.session import Session

    root = project({"models/ok.sql": "select 1 as id"})
    assert run_teal("build", cwd=root).returncode == 0
    with Session.open(root) as session:
        store = session.run_store()
        run_id = store.runs(limit=1)[0].run_id
        note = "run canceled: the warehouse was busy\n  hint: try again with --wait"
        store.set_status(run_id, RunStatus.CANCELED, at=utc_now(), message=note)
    listed = run_teal("runs", cwd=root)
    assert listed.returncode == 0, listed.output
    [line] = [l for l in listed.stdout.splitlines() if run_id in l]
    assert line.rstrip().endswith("run canceled: the warehouse was busy")
    assert "hint: try again" not in listed.stdout
    shown = run_teal("runs", "show", run_id, cwd=root)
    assert "hint: try again with --wait" in shown.stdout  # the whole note, where it is shown


@pytest.mark.slow
def test_runs_show_prints_a_failing_row_of_each_failed_check(project):
    root = project(
        {
            "models/people.sql": "select 1 as id, 'ann' as name union all select 2, null",
            "models/people.yml": """
                models:
                  - name: people
                    columns:
                      - name: name
                        tests: [not_null]
            """,
        }
    )
    assert run_teal("build", cwd=root).returncode == 1
    text = run_teal("runs", "show", "last", cwd=root).stdout
    sample = [line for line in text.splitlines() if "e.g." in line]
    assert len(sample) == 1, text
    assert "[people]" in sample[0] and "id=2" in sample[0] and "name=NULL" in sample[0]


@pytest.mark.slow
def test_a_trigger_and_an_event_kind_a_newer_teal_wrote_are_listed_as_written(project):
    # one store shared by two teal versions: the newer one's runs must not break the older
    root = project({"models/ok.sql": "select 1 as id"})
    assert run_teal("build", cwd=root).returncode == 0
    run_id = json.loads(run_teal("runs", "--json", cwd=root).stdout)[0]["run_id"]
    with sqlite3.connect(root / ".teal" / "runs.sqlite") as db:
        db.execute("UPDATE runs SET run_trigger = 'a_newer_trigger' WHERE run_id = ?", (run_id,))
        db.execute(
            "INSERT INTO events (run_id, seq, at, kind, message) "
            "SELECT run_id, max(seq) + 1, max(at), 'a_newer_event', 'said by a newer teal' "
            "FROM events WHERE run_id = ? GROUP BY run_id",
            (run_id,),
        )
    listed = run_teal("runs", "--json", cwd=root)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["trigger"] == "a_newer_trigger"
    shown = run_teal("runs", "show", run_id, cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert "build success (a_newer_trigger)" in shown.stdout
    logs = run_teal("logs", run_id, cwd=root)
    assert logs.returncode == 0, logs.stderr
    assert "said by a newer teal" in logs.stdout
