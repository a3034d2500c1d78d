"""`teal retry`: a failed run's failed and skipped steps, and a killed run's unfinished ones,
run again as a new run linked to the old one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import query, run_teal, spawn_teal

FLAKY = {
    "models/a.sql": "select 1 as id union all select 2",
    "models/b.py": """
        import os
        import teal

        @teal.asset
        def b(context, a):
            if os.path.exists("fail"):
                raise RuntimeError("the upstream service is down")
            # blocks while a pipe named 'gate' exists, until someone writes to it
            if os.path.exists("gate"):
                context.log.info("b waits at the gate")
                with open("gate") as gate:
                    gate.read()
            return a
    """,
    "models/c.sql": "select id * 10 as id from b",
    "models/d.sql": "select count(*) as n from a",
}


def _runs(root: Path) -> list[dict]:
    return json.loads(run_teal("runs", "--json", cwd=root).stdout)


def _show(root: Path, run: str) -> dict:
    return json.loads(run_teal("runs", "show", run, "--json", cwd=root).stdout)


@pytest.mark.slow
def test_retry_reruns_only_the_failed_and_skipped_steps(project):
    root = project(FLAKY)
    (root / "fail").write_text("")
    first = run_teal("build", cwd=root)
    assert first.returncode == 1
    (root / "fail").unlink()
    again = run_teal("retry", "last", cwd=root)
    assert again.returncode == 0, again.output
    assert "Retrying 2 models of run" in again.stdout
    newest, failed = _runs(root)[:2]
    assert (newest["trigger"], newest["parent_run_id"]) == ("retry", failed["run_id"])
    assert sorted(s["model"] for s in _show(root, newest["run_id"])["steps"]) == ["b", "c"]
    assert query(root / "warehouse.duckdb", "select id from main.c order by id") == [(10,), (20,)]
    nothing = run_teal("retry", newest["run_id"], cwd=root)
    assert nothing.returncode == 0, nothing.output
    assert f"Nothing to retry: every step of run {newest['run_id']} succeeded" in nothing.stdout
    assert len(_runs(root)) == 2  # and no run was started


@pytest.mark.slow
def test_a_killed_build_shows_crashed_and_retry_finishes_it_like_a_clean_build(project, tmp_path):
    root = project(FLAKY)
    os.mkfifo(root / "gate")
    build = spawn_teal("build", "--threads", "1", cwd=root)
    assert build.stdout is not None
    for line in build.stdout:  # a is built; b has started and is blocked on the pipe
        if "b waits at the gate" in line:
            break
    build.send_signal(signal.SIGKILL)
    build.wait(timeout=60)
    (root / "gate").unlink()

    crashed = _runs(root)[0]  # reading the store marks the dead process's run
    assert crashed["status"] == "crashed"
    assert "during b" in crashed["message"]
    retried = run_teal("retry", "last", cwd=root)
    assert retried.returncode == 0, retried.output
    steps = _show(root, "last")["steps"]
    assert sorted(s["model"] for s in steps) == ["b", "c", "d"]  # d never started

    clean = project(FLAKY, name="clean")
    assert run_teal("build", cwd=clean).returncode == 0
    for table in ("a", "b", "c", "d"):
        sql = f"select * from main.{table} order by all"
        assert query(root / "warehouse.duckdb", sql) == query(clean / "warehouse.duckdb", sql)


# a command as the first process of a new pid namespace, as in a container: it is pid 1
CONTAINED = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]


def _contained_available() -> bool:
    try:
        return subprocess.run([*CONTAINED, "true"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _contained_available(), reason="needs unshare and pid namespaces")
def test_a_build_killed_in_a_container_is_found_crashed_when_its_pid_is_taken_again(project):
    """A container's teal is pid 1, and so is the next teal after the container restarts
    (same host name): the killed build's pid is alive again, but not its process."""
    root = project(FLAKY)
    os.mkfifo(root / "gate")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TEAL_RUN_STORE")}
    teal = [sys.executable, "-m", "teal.cli"]
    build = subprocess.Popen(
        [*CONTAINED, *teal, "build", "--threads", "1"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert build.stdout is not None
    for line in build.stdout:
        if "b waits at the gate" in line:
            break
    build.kill()  # unshare, and with it (--kill-child) the build: SIGKILL
    build.wait(timeout=60)
    (root / "gate").unlink()

    def contained(*args: str) -> subprocess.CompletedProcess[str]:
        command = [*CONTAINED, *teal, *args]
        return subprocess.run(command, cwd=root, capture_output=True, text=True, env=env)

    listed = contained("runs", "--json")  # pid 1 again, as the build was
    assert listed.returncode == 0, listed.stderr
    [run] = json.loads(listed.stdout)
    assert run["status"] == "crashed", run
    retried = contained("retry", "last")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert sorted(s["model"] for s in _show(root, "last")["steps"]) == ["b", "c", "d"]


def _build_held_at_the_gate(root: Path, *args: str) -> subprocess.Popen[str]:
    """`teal build ARGS` in a process of its own, once b has started and waits at the gate
    (a named pipe, until someone writes to it)."""
    os.mkfifo(root / "gate")
    build = spawn_teal("build", *args, cwd=root)
    assert build.stdout is not None
    for line in build.stdout:
        if "b waits at the gate" in line:
            return build
    build.kill()
    raise AssertionError("the build ended before b reached the gate: " + build.communicate()[0])


@pytest.mark.slow
def test_retry_builds_into_the_warehouse_of_the_run_it_retries(project):
    root = project(FLAKY, config='name = "p"\n[targets.dev]\nwarehouse = "dev.duckdb"\n')
    (root / "fail").write_text("")
    assert run_teal("build", "-t", "dev", cwd=root).returncode == 1
    (root / "fail").unlink()
    elsewhere = run_teal("retry", "last", "--warehouse", "other.duckdb", cwd=root)
    assert elsewhere.returncode == 2, elsewhere.output
    assert "built into" in elsewhere.stderr and "dev.duckdb" in elsewhere.stderr
    assert "drop --target/--warehouse" in elsewhere.stderr and "Traceback" not in elsewhere.output
    again = run_teal("retry", "last", cwd=root)  # no flags: the run's own target
    assert again.returncode == 0, again.output
    assert "dev.duckdb" in again.stdout
    assert query(root / "dev.duckdb", "select id from main.c order by id") == [(10,), (20,)]
    assert not (root / "warehouse.duckdb").exists() and not (root / "other.duckdb").exists()


def test_cancel_help_says_a_python_function_runs_to_its_end_and_rolls_back(tmp_path):
    """`teal cancel --help` says what a cancel does, as docs/runs.md does: a running query
    is interrupted, a running Python function is not (its result is rolled back)."""
    shown = run_teal("cancel", "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.output
    said = " ".join(shown.stdout.split())
    assert "the steps running finish" not in said
    assert "a running SQL step is interrupted and rolls back" in said
    assert "a running Python function cannot be interrupted mid-call: it runs to its end" in said
    assert "its result is rolled back" in said


@pytest.mark.slow
def test_cancel_rolls_back_the_python_step_in_flight_and_retry_finishes_the_run(project):
    """b, a Python asset, is in its function when `teal cancel` comes: it cannot be
    interrupted, so it runs to its end, and then its write rolls back; nothing else
    starts."""
    root = project(FLAKY)
    build = _build_held_at_the_gate(root, "--threads", "1")
    try:
        assert build.stdout is not None
        asked = run_teal("cancel", "last", cwd=root)
        assert asked.returncode == 0, asked.output
        assert (  # what happens to b: it is a Python function, not a query
            "no new step starts; a running SQL step is interrupted and rolls back; a running "
            "Python function cannot be interrupted mid-call: it runs to its end and its result "
            "is rolled back"
        ) in asked.stdout
        for line in build.stdout:  # the build saw the cancel: from here no step starts
            if line.startswith("Canceling: "):
                break
        with open(root / "gate", "w") as gate:  # b's function returns; nothing commits
            gate.write("go")
        rest, _ = build.communicate(timeout=120)
    finally:
        build.kill()
    assert build.returncode == 1, rest
    assert "b  canceled while running: its work was rolled back" in rest
    assert "Traceback" not in rest and "error:" not in rest
    run = _runs(root)[0]
    assert run["status"] == "canceled"
    steps = {s["model"]: s["status"] for s in _show(root, run["run_id"])["steps"]}
    assert steps == {"a": "success", "b": "canceled", "c": "skipped", "d": "skipped"}, rest
    built = "select table_name from information_schema.tables where table_schema = 'main'"
    assert query(root / "warehouse.duckdb", built) == [("a",)]  # b was not published
    again = run_teal("cancel", run["run_id"], cwd=root)
    assert again.returncode == 2 and "is canceled, not running" in again.stderr

    (root / "gate").unlink()
    retried = run_teal("retry", "last", cwd=root)
    assert retried.returncode == 0, retried.output
    assert sorted(s["model"] for s in _show(root, "last")["steps"]) == ["b", "c", "d"]
    assert query(root / "warehouse.duckdb", "select n from main.d") == [(2,)]


@pytest.mark.slow
def test_a_cancel_while_the_last_step_runs_keeps_the_rows_it_had(project):
    """The last step, b, is in its function when the cancel comes: its new rows are not
    published (the rows of the build before stay), and the run ends canceled."""
    root = project(FLAKY)
    assert run_teal("build", cwd=root).returncode == 0
    build = _build_held_at_the_gate(root, "-s", "b")
    try:
        assert build.stdout is not None
        asked = run_teal("cancel", "last", cwd=root)
        assert asked.returncode == 0, asked.output
        for line in build.stdout:  # the build saw the cancel
            if line.startswith("Canceling: "):
                break
        with open(root / "gate", "w") as gate:  # b, the last step, returns
            gate.write("go")
        rest, _ = build.communicate(timeout=120)
    finally:
        build.kill()
    assert build.returncode == 1, rest
    assert "0 built, 0 failed, 1 skipped" in rest, rest
    run = _runs(root)[0]
    assert run["status"] == "canceled", run
    built = "select run_id from teal.builds where model = 'b' and status = 'success'"
    assert query(root / "warehouse.duckdb", built) == [(_runs(root)[1]["run_id"],)]


@pytest.mark.slow
def test_a_run_whose_resource_failed_to_set_up_is_a_failed_run_that_retry_finishes(project):
    """A resource's setup() raising (the API is down) fails the run as a run: recorded
    (from the daemon and from the command line), exit 1, and retried; it was an error of
    the project with no run, and a daemon run's retry said "Nothing to retry"."""
    root = project(
        {
            "models/a.sql": "select 1 as id",
            "models/b.py": """
                import teal

                @teal.asset
                def b(a, api):
                    return a
            """,
        }
    )
    (root / "teal.toml").write_text(
        'name = "p"\n[resources.api]\nclass = "api.py:Api"\n'
        '[schedules.nightly]\nselect = "b+"\ncron = "30 0 * * *"\n'
    )
    (root / "api.py").write_text(
        "import os\nimport teal\n\nclass Api(teal.Resource):\n"
        "    def setup(self):\n"
        "        if os.path.exists('fail'):\n"
        "            raise RuntimeError('the API is down')\n"
    )
    (root / "fail").write_text("")
    assert run_teal("build", "-s", "a", cwd=root).returncode == 0
    assert (
        run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-10T00:10:00"}).returncode
        == 0
    )
    run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-10T00:31:00"})
    failed = _runs(root)[0]
    assert failed["trigger"] == "schedule" and failed["status"] == "failure", failed
    assert "setup of resource 'api' (Api) raised RuntimeError: the API is down" in (
        failed["message"] or ""
    )
    by_hand = run_teal("build", "-s", "b", cwd=root)
    assert by_hand.returncode == 1, by_hand.output
    assert "Traceback" not in by_hand.output
    assert "teal.toml:2:1: setup of resource 'api' (Api) raised RuntimeError" in by_hand.stderr
    assert "at api.py:7 in setup" in by_hand.stderr  # where it raised
    assert _runs(root)[0]["status"] == "failure"
    (root / "fail").unlink()
    again = run_teal("retry", failed["run_id"], cwd=root)
    assert again.returncode == 0, again.output
    assert query(root / "warehouse.duckdb", "select id from main.b") == [(1,)]


# a daily asset that fails for the days named in a file, and logs each day it is called for
FLAKY_DAYS = {
    "models/daily.py": """
        from pathlib import Path
        import polars as pl
        import teal

        @teal.asset(partitioned_by={'daily': {'start': '2026-01-01'}}, partition_column='day')
        def daily(context):
            key = context.partition_key
            with open("calls.log", "a") as log:
                log.write(key + "\\n")
            if key in Path("fail").read_text().split():
                raise RuntimeError(f"no data for {key} yet")
            start, _ = context.partition_window
            return pl.DataFrame({"day": [start.date()], "n": [int(key[-2:])]})
    """,
    "models/down.sql": """
        {{ config(partitioned_by={'daily': {'start': '2026-01-01'}}, partition_column='day') }}
        select day, n * 10 as n10 from daily
    """,
    "models/monthly.sql": """
        {{ config(partitioned_by={'monthly': {'start': '2026-01'}}, partition_column='month') }}
        select date_trunc('month', day)::date as month, sum(n10) as total from down group by 1
    """,
}


def _step_keys(root: Path, run: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for step in _show(root, run)["steps"]:
        if step["partition_key"]:
            keys.setdefault(step["model"], []).append(step["partition_key"])
    return {model: sorted(found) for model, found in keys.items()}


@pytest.mark.slow
def test_retry_of_a_backfill_builds_only_the_partitions_that_did_not_succeed(project):
    """As Dagster's backfills: the days downstream of the days that succeeded build in the
    first run (those of the failed days are held back, and the month that reads them);
    the retry builds only what did not succeed, upstream and down."""
    root = project(FLAKY_DAYS)
    (root / "fail").write_text("2026-01-02 2026-01-04")
    env = {"TEAL_NOW": "2026-02-01T00:00:00"}
    first = run_teal(
        "backfill", "daily+", "--from", "2026-01-01", "--to", "2026-01-05", cwd=root, env=env
    )
    assert first.returncode == 1, first.output
    assert "2 partitions held back: upstream daily failed" in first.stdout, first.stdout
    failed = _runs(root)[0]["run_id"]
    assert _step_keys(root, failed)["down"] == [f"2026-01-0{d}" for d in range(1, 6)]
    built = query(root / "warehouse.duckdb", "select day::varchar from main.down order by 1")
    assert built == [("2026-01-01",), ("2026-01-03",), ("2026-01-05",)]
    (root / "fail").write_text("")
    (root / "calls.log").write_text("")
    again = run_teal("retry", "last", cwd=root, env=env)
    assert again.returncode == 0, again.output
    assert (root / "calls.log").read_text().split() == ["2026-01-02", "2026-01-04"]
    newest = _runs(root)[0]
    assert _step_keys(root, newest["run_id"]) == {
        "daily": ["2026-01-02", "2026-01-04"],
        "down": ["2026-01-02", "2026-01-04"],
        "monthly": ["2026-01"],  # it reads every day: held back whole the first time
    }
    rows = query(root / "warehouse.duckdb", "select day::varchar, n10 from main.down order by 1")
    assert rows == [(f"2026-01-0{d}", d * 10) for d in range(1, 6)]


@pytest.mark.slow
def test_a_retry_queued_from_the_ui_builds_only_the_partitions_that_did_not_succeed(project):
    """The UI's retry queues the run; `teal launch` (what the daemon starts) carries it out
    with the same partitions left out."""
    import time
    import urllib.request

    from tests.ui.conftest import start_ui, stop_ui

    root = project(FLAKY_DAYS)
    (root / "fail").write_text("2026-01-03")
    env = {"TEAL_NOW": "2026-02-01T00:00:00"}
    failed = run_teal(
        "backfill", "daily", "--from", "2026-01-01", "--to", "2026-01-04", cwd=root, env=env
    )
    assert failed.returncode == 1, failed.output
    (root / "fail").write_text("")
    (root / "calls.log").write_text("")
    server = start_ui(root)
    try:
        run_id = _runs(root)[0]["run_id"]
        request = urllib.request.Request(
            f"{server.url}api/runs/{run_id}/retry",
            data=b"{}",
            method="POST",
            headers={"Content-Type": "application/json", "Origin": server.url.rstrip("/")},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            new_run = json.loads(answer.read())["run_id"]
        # the UI launches the queued run itself (`teal launch`): wait until it has ended
        deadline = time.monotonic() + 120
        while _show(root, new_run)["run"]["status"] in ("queued", "started"):
            assert time.monotonic() < deadline, "the retry queued from the UI never ended"
            time.sleep(0.2)
    finally:
        stop_ui(server)
    assert _show(root, new_run)["run"]["status"] == "success"
    assert (root / "calls.log").read_text().split() == ["2026-01-03"]
    assert _step_keys(root, new_run) == {"daily": ["2026-01-03"]}


@pytest.mark.slow
def test_retry_of_a_partition_build_gives_models_selected_by_plus_their_own_partitions(project):
    """`-s daily+ --partition DAY` builds the month of DAY of the monthly model below; its
    retry does the same (the day is not a key of the monthly model), and a retry of that
    retry leaves out what either run built."""
    root = project(FLAKY_DAYS)
    env = {"TEAL_NOW": "2026-02-01T00:00:00"}
    (root / "fail").write_text("2026-01-02")
    first = run_teal("build", "-s", "daily+", "--partition", "2026-01-02", cwd=root, env=env)
    assert first.returncode == 1, first.output
    (root / "fail").write_text("")
    again = run_teal("retry", "last", cwd=root, env=env)
    assert again.returncode == 0, again.output
    assert _step_keys(root, _runs(root)[0]["run_id"]) == {
        "daily": ["2026-01-02"],
        "down": ["2026-01-02"],
        "monthly": ["2026-01"],
    }
    assert query(root / "warehouse.duckdb", "select month::varchar, total from main.monthly") == [
        ("2026-01-01", 20)
    ]
    # a backfill failing on two days, retried while one of them still fails, then again
    (root / "fail").write_text("2026-01-06 2026-01-08")
    days = ("--from", "2026-01-05", "--to", "2026-01-09")
    assert run_teal("backfill", "daily", *days, cwd=root, env=env).returncode == 1
    (root / "fail").write_text("2026-01-08")
    assert run_teal("retry", "last", cwd=root, env=env).returncode == 1
    (root / "fail").write_text("")
    (root / "calls.log").write_text("")
    last = run_teal("retry", "last", cwd=root, env=env)
    assert last.returncode == 0, last.output
    assert (root / "calls.log").read_text().split() == ["2026-01-08"]


@pytest.mark.slow
def test_a_retry_builds_what_failed_when_its_selection_no_longer_reaches_it(project):
    """`-s state:modified+`: once the run built the modified model it is no longer
    modified, yet the retry still builds the model below it that failed."""
    root = project(
        {
            "models/a.sql": "{{ config(materialized='table') }} select 1 as x",
            "models/c.sql": "{{ config(materialized='table') }}\n"
            "select a.x, f.y from a, read_csv('ok.csv') f",
        }
    )
    (root / "ok.csv").write_text("y\n1\n")
    assert run_teal("build", cwd=root).returncode == 0
    (root / "models" / "a.sql").write_text("{{ config(materialized='table') }} select 2 as x")
    (root / "ok.csv").rename(root / "gone.csv")
    assert run_teal("build", "-s", "state:modified+", cwd=root).returncode == 1
    (root / "gone.csv").rename(root / "ok.csv")
    again = run_teal("retry", "last", cwd=root)
    assert again.returncode == 0, again.output
    assert "1 built" in again.stdout
    assert query(root / "warehouse.duckdb", "select x, y from main.c") == [(2, 1)]


@pytest.mark.slow
def test_a_retry_runs_a_check_that_was_skipped_because_what_it_reads_failed(project):
    """c's relationships check reads b, skipped when a failed: c was built without it.
    The retry builds a, b and c again, so the check runs (and here fails)."""
    root = project(
        {
            "models/a.sql": "select id from read_csv('ids.csv')",
            "models/b.sql": "select id from a",
            "models/c.sql": "select 1 as id, 7 as b_id",
            "models/schema.yml": """
                models:
                  - name: c
                    columns:
                      - name: b_id
                        tests:
                          - relationships: {to: ref('b'), field: id, name: c_b_exists}
                """,
        },
        'name = "p"\n\n[defaults]\nmaterialized = "table"\n',
    )
    first = run_teal("build", cwd=root)
    assert first.returncode == 1, first.output
    assert "SKIP  check c_b_exists" in first.stdout
    (root / "ids.csv").write_text("id\n1\n")
    again = run_teal("retry", "last", cwd=root)
    assert again.returncode == 1, again.output
    assert "Retrying 3 models" in again.stdout
    assert "check c_b_exists failed" in again.stdout, again.stdout


@pytest.mark.slow
def test_a_retry_replays_the_runs_other_options(project):
    """--store-failures and --ignore-failed-upstream are recorded with the run and given
    to its retry again."""
    from teal.runtime.retry import plan_retry
    from teal.runtime.runstore.refs import resolve_run
    from teal.runtime.session import Session

    root = project(FLAKY)
    (root / "fail").write_text("")
    first = run_teal("build", "--store-failures", "--ignore-failed-upstream", cwd=root)
    assert first.returncode == 1, first.output
    with Session.open(root) as session:
        store = session.run_store()
        request = plan_retry(store, resolve_run(store, "last"))
    assert request.store_failures and request.ignore_failed_upstream
    assert request.event_time_window is None and not request.empty


@pytest.mark.parametrize("selection", [("kept", "late"), ()])
def test_the_retry_of_a_freshness_evaluation_names_a_build_only_of_models_it_evaluated(selection):
    from teal.compiler.errors import SelectionError
    from teal.runtime.retry import rerun_request
    from teal.runtime.runstore.records import RunRecord, RunStatus

    run = RunRecord(
        "20261206T204712-1df0affb0dff", "freshness", RunStatus.SUCCESS, selection=selection
    )
    with pytest.raises(SelectionError) as refused:
        rerun_request(run)
    hint = refused.value.hint or ""
    if selection:
        assert "`teal build -s kept late`" in hint
    else:  # `teal check --freshness` where no model has a freshness config
        assert "-s `" not in hint and "evaluated no model" in hint
