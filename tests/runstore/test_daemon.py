"""The daemon's ticks, catch-up, sensors and queue, on a simulated clock, against SQLite
and a real Postgres. Launching is the only thing replaced: a launcher that notes what it
would start (the real subprocess launch is tested end to end in tests/test_daemon_e2e.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from teal.compiler.config import load_config
from teal.runtime.daemon import Daemon, DaemonLock, DaemonRunning
from teal.runtime.runstore import RunStatus, open_run_store
from teal.runtime.runstore.ticks import TickStore
from teal.runtime.waiting import daemon_running

T0 = datetime(2026, 3, 2, 2, 59)  # naive UTC, as the store keeps times


@dataclass
class Started:
    run_id: str
    code: int | None = None

    def poll(self) -> int | None:
        return self.code


@dataclass
class NotingLauncher:
    started: list[Started] = field(default_factory=list)

    def launch(self, run_id: str) -> Started:
        self.started.append(Started(run_id))
        return self.started[-1]


def project(tmp_path: Path, toml: str) -> Path:
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "teal.toml").write_text(toml)
    return tmp_path


def daemon(root: Path, spec: str, launcher: NotingLauncher | None = None) -> Daemon:
    """A daemon as a fresh process would open it (a restart is a new one)."""
    store = open_run_store(spec, root)
    store.migrate(T0)
    return Daemon(load_config(root), store, launcher or NotingLauncher())


HOURLY = """
[jobs.marts]
select = "marts+"
vars = {region = "eu"}

[schedules.hourly]
job = "marts"
cron = "0 * * * *"
catchup = "CATCHUP"
"""


@pytest.mark.slow
def test_a_schedule_ticks_once_per_cron_time_and_queues_its_job(tmp_path, store_spec):
    root = project(tmp_path, HOURLY.replace("CATCHUP", "latest"))
    d = daemon(root, store_spec)
    assert d.step(T0) == []  # first seen: history is not run
    assert d.step(T0 + timedelta(seconds=30)) == []
    tick = datetime(2026, 3, 2, 3, 0)
    found = d.step(tick + timedelta(seconds=1))
    assert [(o.source, o.tick_at, o.status) for o in found] == [
        ("schedule:hourly", tick, "requested")
    ]
    run = d.store.run(found[0].run_id or "")
    assert run is not None and run.status == RunStatus.QUEUED and run.trigger == "schedule"
    assert run.selection == ("marts+",) and run.config["vars"] == {"region": "eu"}
    assert run.config["job"] == "marts"
    assert [s.run_id for s in d.launcher.started] == [run.run_id]  # type: ignore[attr-defined]
    # the same moment again, or a restarted daemon: nothing twice
    assert d.step(tick + timedelta(seconds=2)) == []
    again = daemon(root, store_spec)
    assert again.step(tick + timedelta(seconds=3)) == []
    assert len(d.store.runs(limit=100)) == 1
    d.store.close()
    again.store.close()


@pytest.mark.parametrize(
    ("catchup", "queued", "skipped"),
    [
        ("latest", ["06:00"], ["03:00", "04:00", "05:00"]),
        ("all", ["03:00", "04:00", "05:00", "06:00"], []),
        ("none", ["06:00"], ["03:00", "04:00", "05:00"]),
    ],
)
def test_ticks_missed_while_the_daemon_was_down_follow_the_catchup_policy(
    tmp_path, store_spec, catchup, queued, skipped
):
    root = project(tmp_path, HOURLY.replace("CATCHUP", catchup))
    d = daemon(root, store_spec)
    d.step(T0)
    d.store.close()
    # down from before 03:00 until just after 06:00
    back = daemon(root, store_spec)
    back.step(datetime(2026, 3, 2, 6, 0, 20))
    ticks = TickStore(back.store).ticks("schedule:hourly")
    by_status = {
        status: sorted(t.tick_at.strftime("%H:%M") for t in ticks if t.status == status)
        for status in ("requested", "skipped")
    }
    assert by_status == {"requested": queued, "skipped": skipped}
    assert len(back.store.runs(status=[RunStatus.QUEUED], limit=100)) == len(queued)
    missed = [t for t in ticks if t.status == "skipped"]
    assert all("missed" in (t.message or "") for t in missed)
    back.store.close()


def test_the_queue_launches_one_run_at_a_time_oldest_first(tmp_path, store_spec):
    root = project(tmp_path, HOURLY.replace("CATCHUP", "all"))
    d = daemon(root, store_spec)
    d.step(T0)
    d.step(datetime(2026, 3, 2, 5, 0, 5))  # three ticks due: three queued runs
    launcher = d.launcher
    assert isinstance(launcher, NotingLauncher)
    queued = [r.run_id for r in TickStore(d.store).queued()]
    assert len(queued) == 3 and [s.run_id for s in launcher.started] == queued[:1]
    d.step(datetime(2026, 3, 2, 5, 0, 6))  # the first still runs: nothing else starts
    assert len(launcher.started) == 1
    # the launched process claimed its run and finished it
    assert TickStore(d.store).claim(queued[0], host="h", pid=os.getpid(), at=T0)
    d.store.set_status(queued[0], RunStatus.SUCCESS, at=T0)
    launcher.started[0].code = 0
    # a build started by hand holds the warehouse: the daemon waits for it
    from teal.runtime.runstore import RunRecord, Trigger

    d.store.add_run(
        RunRecord(
            run_id="by-hand",
            project=d.config.name,  # a build records its project's name
            command="build",
            status=RunStatus.STARTED,
            trigger=Trigger.CLI,
            selection=(),
            exclude=(),
            partitions=(),
            config={},
            created_at=T0,
            started_at=T0,
            pid=os.getpid(),
            host="h",
        )
    )
    d.step(datetime(2026, 3, 2, 5, 0, 7))
    assert len(launcher.started) == 1
    d.store.set_status("by-hand", RunStatus.SUCCESS, at=T0)
    # the third is canceled while queued (teal cancel): it never starts
    assert TickStore(d.store).cancel_queued(queued[2], at=T0)
    assert not TickStore(d.store).cancel_queued(queued[2], at=T0)  # once
    canceled = d.store.run(queued[2])
    assert canceled is not None and canceled.status == RunStatus.CANCELED
    d.step(datetime(2026, 3, 2, 5, 0, 8))
    assert [s.run_id for s in launcher.started] == queued[:2]
    d.store.set_status(queued[1], RunStatus.SUCCESS, at=T0)
    launcher.started[1].code = 0
    d.step(datetime(2026, 3, 2, 5, 0, 9))
    assert [s.run_id for s in launcher.started] == queued[:2]
    d.store.close()


def test_a_launched_run_killed_while_started_is_crashed_and_the_queue_moves_on(
    tmp_path, store_spec
):
    import socket
    import subprocess

    root = project(tmp_path, HOURLY.replace("CATCHUP", "all"))
    d = daemon(root, store_spec)
    d.step(T0)
    d.step(datetime(2026, 3, 2, 4, 0, 5))  # two ticks due: two queued runs
    launcher = d.launcher
    assert isinstance(launcher, NotingLauncher)
    first, second = [r.run_id for r in TickStore(d.store).queued()]
    gone = subprocess.Popen(["true"])  # the pid of a process that ended
    gone.wait()
    assert TickStore(d.store).claim(first, host=socket.gethostname(), pid=gone.pid, at=T0)
    launcher.started[0].code = -9  # killed while it ran
    d.step(datetime(2026, 3, 2, 4, 0, 6))
    run = d.store.run(first)
    assert run is not None and run.status == RunStatus.CRASHED
    assert [s.run_id for s in launcher.started] == [first, second]  # not held up by it
    d.store.close()


SENSOR = """
[sensors.landing]
files = "landing/*.csv"
select = "orders+"
partition_from = '(\\d{4}-\\d{2}-\\d{2})'
minimum_interval = "10s"
"""


def test_a_file_sensor_runs_each_new_or_changed_file_once(tmp_path, store_spec):
    root = project(tmp_path, SENSOR)
    (root / "landing").mkdir()
    # files are evaluated in the order they landed (then by name)
    (root / "landing" / "notes.csv").write_text("no date here\n")
    (root / "landing" / "orders_2026-03-01.csv").write_text("a\n")
    d = daemon(root, store_spec)
    found = d.step(T0)
    assert [(o.status, o.message) for o in found] == [
        ("skipped", "landing/notes.csv: no partition key in its name ((\\d{4}-\\d{2}-\\d{2}))"),
        ("requested", None),
    ]
    run = d.store.run(found[1].run_id or "")
    assert run is not None and run.partitions == ("2026-03-01",) and run.trigger == "sensor"
    # within its minimum interval the sensor is not evaluated; after it, nothing is new
    (root / "landing" / "orders_2026-03-02.csv").write_text("b\n")
    assert d.step(T0 + timedelta(seconds=5)) == []
    d.store.close()
    # a restarted daemon keeps the cursor: only the new file runs
    restarted = daemon(root, store_spec)
    found = restarted.step(T0 + timedelta(seconds=20))
    assert [o.status for o in found] == ["requested"]
    assert restarted.store.run(found[0].run_id or "").partitions == ("2026-03-02",)  # type: ignore[union-attr]
    # a file written again is a new version: it runs again
    path = root / "landing" / "orders_2026-03-01.csv"
    path.write_text("a\nmore\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    found = restarted.step(T0 + timedelta(seconds=40))
    assert [o.status for o in found] == ["requested"]
    assert len(restarted.store.runs(limit=100)) == 3
    restarted.store.close()


def test_an_hourly_sensor_is_evaluated_hourly_by_daemons_run_once_each(tmp_path, store_spec):
    """`teal daemon --once` from cron every minute: each is a new process, and a sensor
    with minimum_interval 1h is still evaluated once an hour (it was every time)."""
    root = project(tmp_path, SENSOR.replace('minimum_interval = "10s"', 'minimum_interval = "1h"'))
    (root / "landing").mkdir()
    (root / "landing" / "orders_2026-03-01.csv").write_text("a\n")
    first = daemon(root, store_spec)
    assert [o.status for o in first.step(T0)] == ["requested"]
    first.store.close()
    (root / "landing" / "orders_2026-03-02.csv").write_text("b\n")
    a_minute_later = daemon(root, store_spec)
    assert a_minute_later.step(T0 + timedelta(minutes=1)) == []
    a_minute_later.store.close()
    an_hour_later = daemon(root, store_spec)
    assert [o.status for o in an_hour_later.step(T0 + timedelta(minutes=61))] == ["requested"]
    an_hour_later.store.close()


def test_one_daemon_per_project(tmp_path):
    lock = DaemonLock(tmp_path / ".teal" / "daemon.lock")
    lock.acquire()
    second = DaemonLock(tmp_path / ".teal" / "daemon.lock")
    with pytest.raises(DaemonRunning) as caught:
        second.acquire()
    assert f"pid {os.getpid()}" in caught.value.message
    assert daemon_running(tmp_path)  # a build by hand now waits for the warehouse
    lock.release()
    assert not daemon_running(tmp_path)
    second.acquire()  # released: the next one may start
    second.release()


def finished_run(
    store,
    run_id: str,
    status: RunStatus,
    *,
    job: str | None = None,
    model: str | None = None,
    keys: tuple[str, ...] = (),
) -> None:
    """A run recorded as a build of the store's project records it: started,
    materializations, then its end."""
    from teal.runtime.recorder import start_run
    from teal.runtime.runstore import EventKind, Trigger

    recorder = start_run(
        store,
        run_id=run_id,
        command="build",
        trigger=Trigger.CLI,
        project=store.project or "p",
        selection=(),
        exclude=(),
        partitions=(),
        config={"job": job} if job else {},
    )
    for key in keys or ((None,) if model else ()):
        recorder.emit(EventKind.MATERIALIZATION, model, partition=key, data={"rows": 1})
    store.set_status(run_id, status, at=datetime.now())


ASSET = """
[sensors.after_orders]
asset = "orders"
select = "payments+"
"""


def test_an_asset_sensor_runs_when_another_run_materialized_the_model(tmp_path, store_spec):
    root = project(tmp_path, ASSET)
    d = daemon(root, store_spec)
    finished_run(d.store, "before", RunStatus.SUCCESS, model="orders")
    assert d.step(T0) == []  # first seen: earlier materializations are history
    finished_run(
        d.store, "r1", RunStatus.SUCCESS, model="orders", keys=("2026-03-01", "2026-03-02")
    )
    finished_run(d.store, "r2", RunStatus.SUCCESS, model="customers")
    [found] = d.step(T0 + timedelta(seconds=5))
    run = d.store.run(found.run_id or "")
    assert run is not None and run.selection == ("payments+",)
    assert (
        run.partitions == ("2026-03-01", "2026-03-02")
        and found.message == "orders materialized by run r1"
    )
    assert d.step(T0 + timedelta(seconds=10)) == []  # nothing new since
    d.store.close()


ALERT = """
[jobs.nightly]
select = "marts+"

[sensors.alert]
run_status = "failure"
of_job = "nightly"
webhook_env = "TEAL_TEST_ALERT_URL"
"""


@pytest.mark.slow
def test_a_run_status_sensor_posts_each_failed_run_of_its_job_once_and_retries_a_failed_post(
    tmp_path, store_spec, monkeypatch
):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    posted: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret_url = f"http://127.0.0.1:{server.server_port}/hooks/s3cr3t-token"
    root = project(tmp_path, ALERT)
    try:
        d = daemon(root, store_spec)
        finished_run(d.store, "old", RunStatus.FAILURE, job="nightly")
        assert d.step(T0) == []  # first seen: earlier runs do not alert
        finished_run(d.store, "bad", RunStatus.FAILURE, job="nightly")
        finished_run(d.store, "other", RunStatus.FAILURE, job=None)
        finished_run(d.store, "good", RunStatus.SUCCESS, job="nightly")
        monkeypatch.delenv("TEAL_TEST_ALERT_URL", raising=False)
        [missing] = d.step(T0 + timedelta(seconds=5))
        assert missing.status == "failed" and "TEAL_TEST_ALERT_URL is not set" in (
            missing.message or ""
        )
        finished_run(d.store, "bad2", RunStatus.FAILURE, job="nightly")
        monkeypatch.setenv("TEAL_TEST_ALERT_URL", secret_url)
        # not tried again at once (a minute later), and then the notice that could not be
        # posted is posted, then the newer one, in order
        assert d.step(T0 + timedelta(seconds=10)) == [] and posted == []
        sent = d.step(T0 + timedelta(seconds=70))
        assert [o.status for o in sent] == ["requested", "requested"]
        assert [p["run_id"] for p in posted] == ["bad", "bad2"]
        assert posted[0]["status"] == "failure" and posted[0]["sensor"] == "alert"
        assert d.step(T0 + timedelta(seconds=75)) == []  # each run once
        ticks = TickStore(d.store).ticks("sensor:alert")
        assert all("s3cr3t" not in (t.message or "") for t in ticks)
        assert "posted to $TEAL_TEST_ALERT_URL" in (ticks[0].message or "")
        d.store.close()
    finally:
        server.shutdown()
    if not store_spec.startswith("postgres"):
        for file in tmp_path.glob("runs.sqlite*"):
            assert b"s3cr3t" not in file.read_bytes()


def test_the_daemon_reads_an_edited_config_and_keeps_the_last_good_one(tmp_path, store_spec):
    root = project(tmp_path, HOURLY.replace("CATCHUP", "latest"))
    reported: list[str] = []
    d = daemon(root, store_spec)
    d.on_tick = lambda o: reported.append(o.describe())
    d.step(T0)

    def edit(text: str, bump: int) -> None:
        path = root / "teal.toml"
        path.write_text(text)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 10**9))

    edit(HOURLY.replace("CATCHUP", "latest") + '\n[schedules.daily]\ncron = "30 3 * * *"\n', 1)
    d.step(T0 + timedelta(seconds=1))  # the new schedule is seen from now on
    found = d.step(datetime(2026, 3, 2, 3, 30, 5))
    assert sorted(o.source for o in found if o.status == "requested") == [
        "schedule:daily",
        "schedule:hourly",
    ]
    edit("[schedules.hourly]\ncron = 'often'\n", 2)  # a mistake: reported, the old kept
    found = d.step(datetime(2026, 3, 2, 4, 0, 5))
    assert [o.source for o in found if o.status == "requested"] == ["schedule:hourly"]
    assert any("is not a cron expression" in r and "keeping the schedules" in r for r in reported)
    d.store.close()


PRIORITIES = """
[jobs.low]
select = "a"

[jobs.high]
select = "b"
priority = 5

[schedules.s1_low]
job = "low"
cron = "0 * * * *"

[schedules.s2_high]
job = "high"
cron = "0 * * * *"
"""


def test_higher_priority_runs_are_launched_first(tmp_path, store_spec):
    root = project(tmp_path, PRIORITIES)
    d = daemon(root, store_spec)
    d.step(T0)
    d.running = Started("someone")  # busy: both ticks queue
    d.step(datetime(2026, 3, 2, 3, 0, 5))
    queued = TickStore(d.store).queued()
    assert [r.selection for r in queued] == [("b",), ("a",)]
    assert [r.config.get("priority") for r in queued] == [5, 0]
    d.store.close()


PY_SENSOR = '''
import teal

@teal.sensor(select="orders+", minimum_interval="10s")
def api_orders(context: teal.SensorContext):
    """new orders in the API"""
    newest = int((context.root / "api_newest.txt").read_text())
    last = int(context.cursor or 0)
    if newest == last:
        return teal.SkipReason(f"nothing after order {last}")
    context.cursor = str(newest)
    return [
        teal.RunRequest(run_key=f"orders-{newest}", vars={"since": last}, partitions="2026-03-01"),
        teal.RunRequest(run_key=f"audit-{newest}", job="audit"),
    ]

@teal.sensor(minimum_interval="1s")
def broken(context):
    raise RuntimeError("the API is down")
'''


def test_python_sensors_keep_a_cursor_and_ask_for_runs(tmp_path, store_spec):
    root = project(tmp_path, '[jobs.audit]\nselect = "audit_model"\n')
    (root / "sensors").mkdir()
    (root / "sensors" / "api.py").write_text(PY_SENSOR)
    (root / "api_newest.txt").write_text("7")
    d = daemon(root, store_spec)
    d.running = Started("busy")  # keep what is queued in the queue
    found = d.step(T0)
    requested = [o for o in found if o.status == "requested"]
    assert len(requested) == 2
    orders = d.store.run(requested[0].run_id or "")
    assert orders is not None and orders.selection == ("orders+",)
    assert orders.partitions == ("2026-03-01",) and orders.config["vars"] == {"since": 0}
    audit = d.store.run(requested[1].run_id or "")
    assert audit is not None and audit.selection == ("audit_model",)
    failed = [o for o in found if o.source == "sensor:broken"]
    assert failed[0].status == "failed"  # where in the sensor's file, said once
    assert failed[0].message == "sensors/api.py:19: RuntimeError: the API is down"
    assert (
        failed[0].describe().endswith("failed (sensors/api.py:19: RuntimeError: the API is down)")
    )
    # nothing new: one skipped tick with the reason; the broken one is not reported again
    found = d.step(T0 + timedelta(seconds=11))
    assert [(o.source, o.status, o.message) for o in found] == [
        ("sensor:api_orders", "skipped", "nothing after order 7")
    ]
    assert d.step(T0 + timedelta(seconds=22)) == []
    d.store.close()
    # a restarted daemon keeps the cursor
    (root / "api_newest.txt").write_text("9")
    again = daemon(root, store_spec)
    again.running = Started("busy")
    found = again.step(T0 + timedelta(seconds=40))
    runs = [again.store.run(o.run_id or "") for o in found if o.status == "requested"]
    assert [r.config["vars"] for r in runs if r is not None and r.selection == ("orders+",)] == [
        {"since": 7}
    ]
    again.store.close()


# requests without run keys: only the cursor tells the next evaluation what was asked for
BATCH_SENSOR = """
import teal

@teal.sensor(select="orders+", minimum_interval="10s")
def days(context: teal.SensorContext):
    if context.cursor == "done":
        return teal.SkipReason("every day was asked for")
    context.cursor = "done"
    return [teal.RunRequest(partitions=day) for day in ("2026-03-01", "2026-03-02", "2026-03-03")]
"""

# a daemon step in a process of its own that dies (os._exit: no cleanup, as kill -9) once
# the first of the sensor's runs is on record
KILLED_AFTER_ONE = """
import os, sys
from datetime import datetime
from pathlib import Path

from teal.compiler.config import load_config
from teal.runtime.daemon import Daemon
from teal.runtime.runstore import open_run_store
from teal.runtime.runstore.ticks import TickStore

recorded = TickStore.record

def record(self, *args, **kwargs):
    done = recorded(self, *args, **kwargs)
    if kwargs.get("run") is not None:
        os._exit(9)  # after the first run request's record, if it committed on its own
    return done

TickStore.record = record
root, spec = Path(sys.argv[1]), sys.argv[2]
store = open_run_store(spec, root)
Daemon(load_config(root), store, launcher=None).step(datetime(2026, 3, 2, 2, 59))
"""


def test_a_daemon_killed_while_a_python_sensor_queues_its_runs_queues_each_once(
    tmp_path, store_spec
):
    import subprocess
    import sys

    root = project(tmp_path, "")
    (root / "sensors").mkdir()
    (root / "sensors" / "days.py").write_text(BATCH_SENSOR)
    daemon(root, store_spec).store.close()  # migrated
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_ONE, str(root), store_spec], env=env, check=False
    )
    assert killed.returncode == 9
    again = daemon(root, store_spec)
    again.running = Started("busy")  # keep what is queued in the queue
    again.step(T0 + timedelta(seconds=11))
    queued = sorted(r.partitions for r in TickStore(again.store).queued())
    assert queued == [("2026-03-01",), ("2026-03-02",), ("2026-03-03",)]
    again.store.close()


def test_a_python_sensor_file_that_fails_to_import_is_reported_with_its_line(tmp_path, store_spec):
    root = project(tmp_path, "")
    (root / "sensors").mkdir()
    (root / "sensors" / "bad.py").write_text("import teal\n\nx = 1 / 0\n")
    d = daemon(root, store_spec)
    reported: list[str] = []
    d.on_tick = lambda o: reported.append(o.describe())
    d.step(T0)
    assert any("sensors/bad.py:3" in r and "ZeroDivisionError" in r for r in reported), reported
    d.store.close()


def test_a_job_at_its_max_concurrent_runs_skips_further_ticks(tmp_path, store_spec):
    root = project(
        tmp_path,
        HOURLY.replace("CATCHUP", "all").replace(
            'vars = {region = "eu"}', 'vars = {region = "eu"}\nmax_concurrent_runs = 1'
        ),
    )
    d = daemon(root, store_spec)
    d.step(T0)
    d.running = Started("someone else")  # the warehouse is busy: what is queued waits
    found = d.step(datetime(2026, 3, 2, 5, 0, 5))
    assert [o.status for o in found] == ["requested", "skipped", "skipped"]
    assert (
        found[1].message
        == "job marts already has 1 run queued or running (max_concurrent_runs = 1)"
    )
    assert len(TickStore(d.store).queued()) == 1
    d.store.close()


def test_a_schedule_paused_from_the_ui_does_not_tick_until_resumed(tmp_path, store_spec):
    root = project(tmp_path, HOURLY.replace("CATCHUP", "latest"))
    d = daemon(root, store_spec)
    assert d.step(T0) == []
    d.ticks.set_paused("schedule:hourly", True, T0)
    assert d.ticks.paused() == {"schedule:hourly"}
    resume = "`teal schedules resume hourly` or the UI resumes it"
    said = d.step(datetime(2026, 3, 2, 2, 59, 30))  # said paused as the daemon sees it
    assert [(o.source, o.status, o.message) for o in said] == [
        ("schedule:hourly", "paused", f"its ticks are recorded skipped until {resume}")
    ]
    assert d.step(datetime(2026, 3, 2, 3, 0, 1)) == []  # its 03:00 tick: recorded, not run
    tick = TickStore(d.store).last_tick("schedule:hourly")
    assert tick == datetime(2026, 3, 2, 3, 0)
    assert d.launcher.started == []  # type: ignore[attr-defined]
    d.ticks.set_paused("schedule:hourly", False, T0)
    found = d.step(datetime(2026, 3, 2, 4, 0, 1))  # resumed: the next tick runs, no catch-up
    assert [(o.tick_at, o.status) for o in found] == [
        (datetime(2026, 3, 2, 4, 0, 1), "resumed"),
        (datetime(2026, 3, 2, 4, 0), "requested"),
    ]


def test_a_paused_every_minute_schedule_is_said_paused_once_and_resumed_once(tmp_path, store_spec):
    """Each tick of a paused schedule is recorded skipped; the daemon's output says the
    pause once, not a line a minute (1,440 a day), and the resume once."""
    root = project(tmp_path, '[schedules.often]\nselect = "a"\ncron = "* * * * *"\n')
    d = daemon(root, store_spec)
    assert d.step(T0) == []
    d.ticks.set_paused("schedule:often", True, T0)
    said = [o for minute in range(1, 31) for o in d.step(T0 + timedelta(minutes=minute, seconds=1))]
    assert [(o.source, o.status) for o in said] == [("schedule:often", "paused")]
    recorded = TickStore(d.store).ticks("schedule:often", limit=100)
    assert [t.status for t in recorded] == ["skipped"] * 30  # recorded, each
    d.ticks.set_paused("schedule:often", False, T0)
    later = T0 + timedelta(minutes=31, seconds=1)
    assert [(o.status, o.tick_at) for o in d.step(later)] == [
        ("resumed", later),
        ("requested", datetime(2026, 3, 2, 3, 30)),
    ]
    assert d.step(later + timedelta(seconds=30)) == []  # said once
    d.store.close()


TWO_SENSORS = (
    SENSOR
    + """
[sensors.other]
files = "other/*.csv"
select = "orders+"
"""
)


def test_a_sensor_that_fails_unexpectedly_is_a_failed_tick_and_the_others_go_on(
    tmp_path, store_spec
):
    root = project(tmp_path, TWO_SENSORS)
    (root / "landing").mkdir()
    (root / "other").mkdir()
    # a name that is not UTF-8: the sensor's cursor cannot be stored (it stopped the daemon)
    (root / "landing" / os.fsdecode(b"orders_2026-03-01_\xff.csv")).write_text("a\n")
    (root / "other" / "o.csv").write_text("b\n")
    d = daemon(root, store_spec)
    found = d.step(T0)
    by_source = {o.source: o for o in found}
    assert by_source["sensor:landing"].status == "failed"
    assert "evaluation failed: UnicodeEncodeError" in (by_source["sensor:landing"].message or "")
    assert by_source["sensor:other"].status == "requested"
    # the same failure again is not recorded again
    again = d.step(T0 + timedelta(seconds=20))
    assert [o for o in again if o.source == "sensor:landing"] == []
    ticks = TickStore(d.store).ticks("sensor:landing", limit=10)
    assert [t.status for t in ticks] == ["failed"]
    d.store.close()
