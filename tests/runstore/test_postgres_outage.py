"""A Postgres run store that goes away: restarted or stopped in the middle of a build, down
when a command starts, refusing the password, missing its database; and its password kept
out of every message. The outage tests stop and start a server of their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from teal.runtime.runstore import open_run_store
from tests.conftest import query, run_teal, spawn_teal
from tests.runstore.postgres_server import PostgresServer, binaries, running_server

pytestmark = pytest.mark.slow

# b waits, without polling, until the test opens the pipe: the build is mid-run meanwhile
PIPELINE = {
    "models/a.sql": "select 1 as id",
    "models/b.py": """
        import teal

        @teal.asset
        def b(context, a):
            context.log.info("b is waiting")
            with open("go") as gate:
                gate.read()
            return a
    """,
    "models/c.sql": "select id + 1 as id from b",
}


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresServer]:
    """A server these tests may stop and start (the session's server is shared)."""
    if binaries() is None:
        pytest.skip("Postgres server binaries are not installed (bash scripts/test.sh does it)")
    with running_server() as server:
        yield server


@pytest.fixture
def own_store(own_server: PostgresServer) -> str:
    """A new database on the server, its URL with a password (trust auth ignores it)."""
    import psycopg

    if not _up(own_server):  # a test that failed half way may have left it stopped
        own_server.start()
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(own_server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://teal:hunter2@127.0.0.1:{own_server.port}/{name}"


def _up(server: PostgresServer) -> bool:
    import psycopg

    try:
        psycopg.connect(server.url, connect_timeout=5).close()
    except psycopg.OperationalError:
        return False
    return True


def _pipeline(project, store: str) -> Path:  # type: ignore[no-untyped-def]
    root: Path = project(PIPELINE, config=f'name = "p"\nrun_store = "{store}"\n')
    os.mkfifo(root / "go")
    return root


def _build_until_b_waits(root: Path) -> subprocess.Popen[str]:
    build = spawn_teal("build", "--threads", "1", cwd=root)
    assert build.stdout is not None
    for line in build.stdout:
        if "b is waiting" in line:
            return build
    raise AssertionError("the build never reached b")


def _release_b(root: Path) -> None:
    with open(root / "go", "w") as gate:
        gate.write("go")


def test_a_store_restarted_mid_build_loses_nothing(project, own_server, own_store) -> None:
    root = _pipeline(project, own_store)
    build = _build_until_b_waits(root)
    try:
        own_server.stop("fast")  # the build's connection is closed by the server
        own_server.start()
        _release_b(root)
        out, _ = build.communicate(timeout=120)
    finally:
        build.kill()
    assert build.returncode == 0, out
    assert "Traceback" not in out
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    assert shown["run"]["status"] == "success"
    assert {s["model"]: s["status"] for s in shown["steps"]} == {
        "a": "success",
        "b": "success",
        "c": "success",
    }
    logs = run_teal("logs", "last", cwd=root).stdout
    assert logs.count("step_start") == 3 and logs.count("step_success") == 3


# 12 daily partitions; two of them wait, without polling, until the test opens their gate
SLOW_PARTS = {
    "models/slow_parts.py": """
        import datetime

        import pyarrow as pa
        import teal

        GATES = {"2025-01-04": "go", "2025-01-08": "go2"}

        @teal.asset(
            partitioned_by={"daily": {"start": "2025-01-01", "end": "2025-01-13"}},
            partition_column="day",
        )
        def slow_parts(context):
            gate = GATES.get(context.partition_key)
            if gate:
                context.log.info(f"{context.partition_key} is waiting")
                with open(gate) as waiting:
                    waiting.read()
            return pa.table({"day": [datetime.date.fromisoformat(context.partition_key)]})
    """,
}


def _slow_parts(project, store: str) -> Path:  # type: ignore[no-untyped-def]
    root: Path = project(SLOW_PARTS, config=f'name = "p"\nrun_store = "{store}"\n')
    os.mkfifo(root / "go")
    os.mkfifo(root / "go2")
    return root


def _open_gate(root: Path, gate: str) -> None:
    with open(root / gate, "w") as opened:
        opened.write("go")


def _history_matches_the_warehouse(root: Path) -> dict:  # type: ignore[type-arg]
    """The last run as `teal runs show` has it, once every partition the warehouse holds is
    among its materializations and its steps."""
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    built = query(
        root / "warehouse.duckdb",
        "select partition_key from teal.partition_state where model = 'slow_parts' "
        "and status = 'success' order by 1",
    )
    assert len(built) == 12
    days = [key for (key,) in built]
    assert sorted(m["partition"] for m in shown["materializations"]) == days
    parts = {s["partition_key"]: s["status"] for s in shown["steps"] if s["partition_key"]}
    assert parts == dict.fromkeys(days, "success")
    return shown


def test_a_store_down_past_the_end_of_a_partitioned_build_gets_its_whole_history(
    project, own_server, own_store
) -> None:
    """The store stops while a partition runs and comes back only after the build ended:
    the build goes on (its history kept in .teal/undelivered/), and the next command
    delivers it, so every partition the warehouse holds is in the run's history."""
    root = _slow_parts(project, own_store)
    build = spawn_teal("build", "-s", "slow_parts", "--threads", "1", cwd=root)
    try:
        _read_until(build, "2025-01-04 is waiting")
        own_server.stop("fast")
        try:
            _open_gate(root, "go")
            _open_gate(root, "go2")
            out, _ = build.communicate(timeout=120)
            kept = list((root / ".teal" / "undelivered").glob("*.jsonl"))
        finally:
            own_server.start()
    finally:
        build.kill()
    assert build.returncode == 0, out
    assert "Traceback" not in out and "hunter2" not in out
    assert "OK    python main.slow_parts" in out and "1 built, 0 failed" in out
    assert "warning: run_store: lost the run store postgresql://teal:***@127.0.0.1" in out
    assert "hint: the build goes on; its run's history is kept in .teal/undelivered/" in out
    assert "the next teal command in this project delivers it once the store is back" in out
    assert len(kept) == 1
    # the store is back: the next command delivers the history, then reads it
    listed = run_teal("runs", "--json", cwd=root)
    assert listed.returncode == 0, listed.output
    assert f"delivered the history of run {kept[0].stem}" in listed.stderr
    assert [(r["run_id"], r["status"]) for r in json.loads(listed.stdout)] == [
        (kept[0].stem, "success")
    ]
    assert not kept[0].exists()
    shown = _history_matches_the_warehouse(root)
    assert shown["run"]["message"] == "1 built, 0 failed, 0 skipped"


def test_a_store_back_before_the_build_ends_gets_the_history_from_the_build(
    project, own_server, own_store
) -> None:
    root = _slow_parts(project, own_store)
    build = spawn_teal("build", "-s", "slow_parts", "--threads", "1", cwd=root)
    try:
        _read_until(build, "2025-01-04 is waiting")
        own_server.stop("fast")
        try:
            _open_gate(root, "go")
            # the store found lost once the reconnect window has passed: the build goes on
            seen = _read_until(build, "the build goes on")
        finally:
            own_server.start()
        _open_gate(root, "go2")
        rest, _ = build.communicate(timeout=120)
    finally:
        build.kill()
    out = "\n".join([*seen, rest])
    assert build.returncode == 0, out
    assert "run_store: the store is back: this run's history, kept in .teal/undelivered/" in out
    assert list((root / ".teal" / "undelivered").glob("*.jsonl")) == []  # the build's own
    shown = _history_matches_the_warehouse(root)
    assert shown["run"]["status"] == "success"
    assert [s["status"] for s in shown["steps"] if not s["partition_key"]] == ["success"]


def test_a_store_stopped_mid_build_lets_the_build_go_on_and_record_it_later(
    project, own_server, own_store
) -> None:
    root = _pipeline(project, own_store)
    build = _build_until_b_waits(root)
    try:
        own_server.stop("fast")
        try:
            _release_b(root)
            out, _ = build.communicate(timeout=120)
        finally:
            own_server.start()
    finally:
        build.kill()
    assert build.returncode == 0, out
    assert "Traceback" not in out and "hunter2" not in out
    assert "lost the run store postgresql://teal:***@127.0.0.1" in out
    # c's start was kept in the spool file before c committed: c is built
    warehouse = root / "warehouse.duckdb"
    assert query(warehouse, "select id from c") == [(2,)]
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    assert shown["run"]["status"] == "success"
    assert {s["model"]: s["status"] for s in shown["steps"]} == {
        "a": "success",
        "b": "success",
        "c": "success",
    }
    logs = run_teal("logs", "last", cwd=root).stdout
    assert logs.count("step_start") == 3 and logs.count("step_success") == 3


def test_a_store_down_when_a_command_starts_is_exit_2_with_a_hint(
    project, own_server, own_store
) -> None:
    root = project({"models/a.sql": "select 1 as id"})
    own_server.stop("fast")
    try:
        done = run_teal("build", cwd=root, env={"TEAL_RUN_STORE": own_store})
    finally:
        own_server.start()
    assert done.returncode == 2
    assert "cannot reach the run store postgresql://teal:***@" in done.stderr
    assert "hint: start the server" in done.stderr
    assert "Traceback" not in done.output and "hunter2" not in done.output


def test_a_missing_database_is_named_with_a_hint(project, own_server) -> None:
    root = project({"models/a.sql": "select 1 as id"})
    url = f"postgresql://teal:hunter2@127.0.0.1:{own_server.port}/nosuchdb"
    done = run_teal("runs", cwd=root, env={"TEAL_RUN_STORE": url})
    assert done.returncode == 2
    assert 'database "nosuchdb" does not exist' in done.stderr
    assert "hint: create the database" in done.stderr


@pytest.mark.parametrize(
    "url",
    [
        # an unescaped @ in the password: libpq splits at the first @ and reports the rest
        # as the host name
        "postgresql://teal:s3cr@tpw@127.0.0.1:1/runs",
        "postgresql://teal@127.0.0.1:1/runs?sslmode=disable&password=s3crtpw",
    ],
)
def test_a_password_is_never_printed(project, url: str) -> None:
    root = project({"models/a.sql": "select 1 as id"}, config=f'name = "p"\nrun_store = "{url}"\n')
    for args in (("runs",), ("--debug", "build"), ("status",)):
        done = run_teal(*args, cwd=root)
        assert done.returncode == 2, done.output
        assert "cannot reach the run store postgresql://teal" in done.stderr
        for secret in ("s3cr", "tpw", "s3cr@tpw", "s3crtpw"):
            assert secret not in done.output, (args, done.output)


def test_a_restarted_server_is_reconnected_to_by_a_long_lived_store(own_server, own_store):
    """The daemon and `teal ui` keep one store open for days: a server restart costs them
    one call's wait, not every later call."""
    store = open_run_store(own_store, Path("."))
    try:
        from teal.runtime.clock import utc_now

        store.migrate(utc_now())
        own_server.stop("fast")
        own_server.start()
        assert store.runs() == []
        assert store.schema_version() > 0
    finally:
        store.close()


def _read_until(proc: subprocess.Popen[str], needle: str) -> list[str]:
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line.rstrip("\n"))
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never appeared in:\n" + "\n".join(seen))


def test_the_daemon_outlives_a_store_outage(project, own_server, own_store) -> None:
    root = project(
        {"models/a.sql": "select 1 as id"},
        config=f'name = "p"\nrun_store = "{own_store}"\n',
    )
    daemon = spawn_teal("daemon", cwd=root)
    try:
        _read_until(daemon, "teal daemon for p")
        own_server.stop("fast")
        try:
            lost = _read_until(daemon, "the daemon goes on and tries again")
        finally:
            own_server.start()
        back = _read_until(daemon, "the run store is back")
        daemon.send_signal(signal.SIGTERM)
        rest, _ = daemon.communicate(timeout=60)
    finally:
        daemon.kill()
    out = "\n".join([*lost, *back, rest])
    assert daemon.returncode == 0, out
    assert "lost the run store postgresql://teal:***@" in out
    assert "Traceback" not in out and "hunter2" not in out
    # the daemon's own hint, not a build's (it built nothing a retry would finish)
    assert "teal retry" not in out, out
    assert "the daemon records no tick and launches no run" in out, out
