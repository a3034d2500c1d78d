"""The real daemon, end to end: a file lands and a run builds its partition; killed with
kill -9 and restarted it neither loses nor repeats a run; one daemon per project;
``teal daemon --once`` runs a schedule's tick; ``teal build --job``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import query, run_teal, wait_for

pytestmark = pytest.mark.slow

DAILY = "{'daily': {'start': '2026-01-01', 'end': '2026-04-01'}}"
EVENTS_SQL = f"""
{{{{ config(materialized='incremental', partitioned_by={DAILY}, partition_column='ts') }}}}
select ts, {{{{ var('weight', 1) }}}} as v
from range({{{{ partition.start }}}}, {{{{ partition.end }}}}, INTERVAL 1 HOUR) t(ts)
"""
TOML = """
[jobs.events]
select = "events"
vars = {weight = 2}
partitions = ["2026-01-05"]

[schedules.daily]
select = "events"
cron = "30 0 * * *"
partition = "closed"

[sensors.landing]
files = "landing/*.csv"
select = "events"
partition_from = '(\\d{4}-\\d{2}-\\d{2})'
minimum_interval = "0.2s"
"""


def make(project) -> Path:
    root = project({"models/events.sql": EVENTS_SQL})
    (root / "teal.toml").write_text(TOML)
    (root / "landing").mkdir()
    return root


def runs(root: Path) -> list[dict]:
    done = run_teal("runs", "--json", cwd=root)
    assert done.returncode == 0, done.output
    return list(json.loads(done.stdout))


def finished(root: Path, n: int) -> Callable[[], bool]:
    return lambda: sum(r["status"] in ("success", "failure") for r in runs(root)) >= n


@contextmanager
def running_daemon(root: Path) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "teal.cli", "daemon"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert "teal daemon for" in proc.stdout.readline()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def built_days(root: Path) -> dict[str, int]:
    rows = query(
        root / "warehouse.duckdb", "select strftime(ts, '%Y-%m-%d'), sum(v) from events group by 1"
    )
    return dict(rows)


def test_a_landed_file_builds_its_partition_and_a_restarted_daemon_repeats_nothing(project):
    root = make(project)
    with running_daemon(root) as daemon:
        (root / "landing" / "events_2026-03-01.csv").write_text("final\n")
        wait_for(finished(root, 1), "the sensor's run", 90)
        [run] = runs(root)
        assert run["trigger"] == "sensor" and run["status"] == "success", run
        assert built_days(root) == {"2026-03-01": 24}

        second = run_teal("daemon", cwd=root)  # one daemon per project
        assert second.returncode == 2 and "a daemon is already running" in second.stderr

        daemon.send_signal(signal.SIGKILL)  # killed mid-life
        daemon.wait(timeout=30)
    (root / "landing" / "events_2026-03-02.csv").write_text("final\n")
    with running_daemon(root) as daemon:
        wait_for(finished(root, 2), "the run of the file that landed while it was down", 90)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0
    assert built_days(root) == {"2026-03-01": 24, "2026-03-02": 24}
    assert [r["trigger"] for r in runs(root)] == ["sensor", "sensor"]  # nothing ran twice


def test_daemon_once_runs_a_schedules_tick_and_build_job_runs_a_job(project):
    root = make(project)
    before = run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-10T00:10:00"})
    assert before.returncode == 0 and runs(root) == []  # first seen: nothing yet
    after = run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-10T00:31:00"})
    assert after.returncode == 0, after.output
    assert "schedule:daily 2026-03-10 00:30:00: queued run" in after.stdout
    [run] = runs(root)
    assert run["trigger"] == "schedule" and run["status"] == "success"
    assert built_days(root) == {"2026-03-09": 24}  # the day that had closed at the tick
    preview = run_teal(
        "schedules",
        "preview",
        "daily",
        "--count",
        "2",
        cwd=root,
        env={"TEAL_NOW": "2026-03-10T01:00:00"},
    )
    assert "2026-03-11T00:30:00+00:00" in preview.stdout and "2026-03-10" in preview.stdout

    planned = run_teal("plan", "--job", "events", "--json", cwd=root)
    assert planned.returncode == 0, planned.output
    [step] = json.loads(planned.stdout)["steps"]
    assert (step["model"], step["partitions"]) == ("events", ["2026-01-05"])
    job = run_teal("build", "--job", "events", cwd=root)
    assert job.returncode == 0, job.output
    assert built_days(root)["2026-01-05"] == 48  # the job's vars: weight 2
    both = run_teal("build", "--job", "events", "-s", "events", cwd=root)
    assert both.returncode == 2 and "use --job or --select" in both.stderr
    unknown = run_teal("build", "--job", "evnts", cwd=root)
    assert unknown.returncode == 2 and "did you mean" in unknown.stderr.lower()


def test_schedules_and_sensors_paused_from_the_command_line(project):
    """`teal schedules pause NAME`: the listing says paused, the daemon records the tick as
    skipped and runs nothing; `resume` and the next tick runs. The same for sensors."""
    root = make(project)
    first = {"TEAL_NOW": "2026-03-10T00:10:00"}
    assert run_teal("daemon", "--once", cwd=root, env=first).returncode == 0
    paused = run_teal("schedules", "pause", "daily", cwd=root)
    assert paused.returncode == 0, paused.output
    assert "Schedule daily is paused" in paused.stdout
    listed = run_teal("schedules", cwd=root, env=first)
    assert re.search(r"daily .*\(paused\)", listed.stdout), listed.stdout
    [row] = json.loads(run_teal("schedules", "--json", cwd=root).stdout)
    assert row["paused"] is True
    tick = run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-10T00:31:00"})
    assert tick.returncode == 0, tick.output
    assert runs(root) == []
    assert run_teal("schedules", "resume", "daily", cwd=root).returncode == 0
    again = run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-11T00:31:00"})
    assert "queued run" in again.stdout, again.output
    assert [r["trigger"] for r in runs(root)] == ["schedule"]
    assert run_teal("sensors", "pause", "landing", cwd=root).returncode == 0
    sensors = json.loads(run_teal("sensors", "--json", cwd=root).stdout)
    assert [(s["name"], s["paused"]) for s in sensors] == [("landing", True)]
    typo = run_teal("schedules", "pause", "dialy", cwd=root)
    assert typo.returncode == 2 and "no schedule 'dialy'" in typo.stderr
    assert "did you mean 'daily'" in typo.stderr.lower()


FRESH_TOML = """
[schedules.never]
select = "events"
cron = "0 0 1 1 *"
"""


def test_freshness_from_the_command_line_and_the_daemon(project):
    root = project(
        {
            "models/events.sql": EVENTS_SQL.replace(
                "partition_column='ts'", "partition_column='ts', freshness={'max_lag': '2d'}"
            ),
            "models/totals.sql": "{{ config(materialized='table', freshness={'max_lag': '1h', "
            "'severity': 'warn'}) }} select sum(v) as v from events",
        }
    )
    (root / "teal.toml").write_text(FRESH_TOML)

    def fresh(now: str) -> tuple[int, dict[str, dict]]:
        done = run_teal("check", "--freshness", "--json", cwd=root, env={"TEAL_NOW": now})
        rows = json.loads(done.stdout)["freshness"]
        return done.returncode, {r["model"]: r for r in rows}

    code, rows = fresh("2026-03-03T12:00:00")
    assert code == 1 and rows["events"]["status"] == "fail"
    assert rows["events"]["message"] == "no data: never built"
    assert rows["totals"]["status"] == "warn"  # warn severity: reported, exit stays 0 for it

    built = run_teal("build", "--partition", "2026-03-01", "-s", "events+", cwd=root)
    assert built.returncode == 0, built.output
    code, rows = fresh("2026-03-03T12:00:00")  # data up to 03-02 00:00: 1.5 days old
    assert code == 0 and rows["events"]["status"] == "pass"
    assert rows["events"]["data_time"] == "2026-03-02T00:00:00+00:00"
    code, rows = fresh("2026-03-05T00:00:00")
    assert code == 1 and "3d old, over its max_lag of 2d" in rows["events"]["message"]
    recorded = [r for r in runs(root) if r["command"] == "freshness"]
    assert [r["status"] for r in recorded] == ["failure", "success", "failure"]

    # the daemon records freshness when it changes, not at every evaluation
    for _ in range(2):
        done = run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-05T00:00:00"})
        assert done.returncode == 0, done.output
    by_daemon = [r for r in runs(root) if r["trigger"] == "daemon"]
    assert len(by_daemon) == 1 and by_daemon[0]["status"] == "failure"
    shown = run_teal("runs", "show", by_daemon[0]["run_id"], cwd=root).stdout
    assert re.search(r"^events\s+freshness\s+fail", shown, re.M), shown
    logged = run_teal("logs", by_daemon[0]["run_id"], cwd=root).stdout
    assert "over its max_lag of 2d" in logged


def test_a_sensor_adds_the_dynamic_partition_a_file_names_and_builds_it(project):
    from tests.test_dynamic_partitions import BY_REGION, SALES

    root = project({"models/sales.sql": SALES, "models/by_region.sql": BY_REGION})
    (root / "teal.toml").write_text(
        "[sensors.regions]\n"
        'files = "landing/*.csv"\n'
        'select = "sales+"\n'
        "partition_from = 'region=(\\w+)'\n"
        'add_partition_to = "regions"\n'
    )
    (root / "landing").mkdir()
    (root / "landing" / "region=eu.csv").write_text("x\n")
    (root / "landing" / "region=us.csv").write_text("x\n")
    done = run_teal("daemon", "--once", cwd=root)
    assert done.returncode == 0, done.output
    assert [r["status"] for r in runs(root)] == ["success", "success"]
    rows = query(root / "warehouse.duckdb", "select region, total from by_region order by 1")
    assert rows == [("eu", 10), ("us", 10)]
    listed = run_teal("partitions", "sales", "--json", cwd=root).stdout
    assert json.loads(listed)[0]["key"] == "eu"


SOURCES_YML = """
sources:
  - name: shop
    type: csv
    path: ../data/{table}.csv
    loaded_at_field: loaded_at
    freshness:
      warn_after: {count: 12, period: hour}
      error_after: {count: 1, period: day}
    tables:
      - name: orders
      - name: refunds
        freshness: null
"""


def test_source_freshness_as_dbt_users_write_it(project):
    root = project({"models/sources.yml": SOURCES_YML, "models/o.sql": "select * from shop.orders"})
    (root / "data").mkdir()
    (root / "data" / "orders.csv").write_text(
        "id,loaded_at\n1,2026-03-01 06:00:00\n2,2026-03-02 00:00:00\n"
    )
    (root / "data" / "refunds.csv").write_text("id,loaded_at\n1,2020-01-01 00:00:00\n")

    def fresh(now: str) -> tuple[int, dict[str, dict]]:
        done = run_teal("check", "--freshness", "--json", cwd=root, env={"TEAL_NOW": now})
        assert "Traceback" not in done.output, done.output
        return done.returncode, {r["model"]: r for r in json.loads(done.stdout)["freshness"]}

    code, rows = fresh("2026-03-02T06:00:00")
    assert code == 0 and set(rows) == {"shop.orders"}  # refunds: freshness turned off
    assert rows["shop.orders"]["status"] == "pass"
    code, rows = fresh("2026-03-02T18:00:00")
    assert code == 0 and rows["shop.orders"]["status"] == "warn"
    assert "over its warn_after of 12h" in rows["shop.orders"]["message"]
    code, rows = fresh("2026-03-03T06:00:00")
    assert code == 1 and rows["shop.orders"]["status"] == "fail"

    (root / "models" / "sources.yml").write_text(
        SOURCES_YML.replace("    loaded_at_field: loaded_at\n", "")
    )
    broken = run_teal("check", "--freshness", cwd=root)
    assert broken.returncode == 2 and "has freshness but no loaded_at_field" in broken.stderr


@pytest.mark.slow
def test_teal_source_freshness_as_dbt_source_freshness(project):
    sources = SOURCES_YML.replace(
        "      - name: orders\n", "      - name: orders\n      - name: items\n"
    )
    root = project({"models/sources.yml": sources, "models/o.sql": "select * from shop.orders"})
    (root / "data").mkdir()
    (root / "data" / "orders.csv").write_text("id,loaded_at\n1,2026-03-02 00:00:00\n")
    (root / "data" / "items.csv").write_text("id,loaded_at\n1,2026-02-01 00:00:00\n")
    now = {"TEAL_NOW": "2026-03-02T06:00:00"}
    everything = run_teal("source", "freshness", cwd=root, env=now)
    assert everything.returncode == 1, everything.output  # items is past its error_after
    assert re.search(r"shop\.items\s+FAIL", everything.stdout), everything.stdout
    assert re.search(r"shop\.orders\s+PASS", everything.stdout)
    one = run_teal("source", "freshness", "-s", "source:shop.orders", "--json", cwd=root, env=now)
    assert one.returncode == 0, one.output
    assert [r["model"] for r in json.loads(one.stdout)["freshness"]] == ["shop.orders"]
    wrong = run_teal("source", "freshness", "-s", "source:shop.order", cwd=root, env=now)
    assert wrong.returncode == 2 and wrong.stderr.startswith(
        "--select: 'source:shop.order' names no source or source table\n"
    ), wrong.stderr  # the flag said once
    assert "did you mean 'shop.orders'" in wrong.stderr
    bare = project({"models/a.sql": "select 1"}, name="bare")
    none = run_teal("source", "freshness", "-s", "nope", cwd=bare)
    assert none.returncode == 2
    assert "hint: the project declares no sources" in none.stderr, none.stderr


def test_freshness_with_a_cron_deadline(project):
    from datetime import UTC, datetime, timedelta

    model = (
        "{{ config(materialized='table', freshness={'max_lag': '1h', 'cron': '0 9 * * *'}) }} "
        "select 1 as x"
    )
    root = project({"models/t.sql": model})
    assert run_teal("build", cwd=root).returncode == 0

    def fresh(now: datetime) -> tuple[int, dict]:
        done = run_teal(
            "check", "--freshness", "--json", cwd=root, env={"TEAL_NOW": now.isoformat()}
        )
        return done.returncode, json.loads(done.stdout)["freshness"][0]

    _, row = fresh(datetime.now(UTC).replace(tzinfo=None))
    built = datetime.fromisoformat(row["data_time"])
    code, row = fresh(built + timedelta(minutes=1))  # no deadline passed since: fresh
    assert code == 0 and row["status"] == "pass", row
    later = (built + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    code, row = fresh(later)  # at 09:00 that day the data was over a day old
    assert code == 1 and row["status"] == "fail"
    assert f"at its deadline {later:%Y-%m-%d} 09:00 UTC, over its max_lag of 1h" in row["message"]


@contextmanager
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A webhook receiver on a free loopback port: its URL, and the JSON bodies posted."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    posted: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", posted
    finally:
        server.shutdown()


def test_a_failing_run_fires_the_run_status_webhook(project):
    root = project(
        {
            "models/bad.sql": "{{ config(materialized='table') }} select error('the feed is broken') as x"
        }
    )
    (root / "teal.toml").write_text(
        '[sensors.landing]\nfiles = "landing/*.csv"\nselect = "bad"\n\n'
        '[sensors.alert]\nrun_status = "failure"\nwebhook_env = "ALERT_URL"\n'
    )
    (root / "landing").mkdir()
    with webhook() as (url, posted):
        env = {"ALERT_URL": url}
        assert run_teal("daemon", "--once", cwd=root, env=env).returncode == 0  # first seen
        (root / "landing" / "feed.csv").write_text("x\n")
        launched = run_teal("daemon", "--once", cwd=root, env=env)
        assert launched.returncode == 1 and "ended with exit code 1" in launched.stdout
        alerted = run_teal("daemon", "--once", cwd=root, env=env)
        assert alerted.returncode == 0, alerted.output
        [failed] = [r for r in runs(root) if r["status"] == "failure"]
        assert [p["run_id"] for p in posted] == [failed["run_id"]]
        assert posted[0]["status"] == "failure" and "1 failed" in (posted[0]["message"] or "")
        assert "posted to $ALERT_URL (HTTP 200)" in alerted.stdout
        assert url.split(":")[-1].split("/")[0] not in alerted.stdout  # the URL is never shown


def test_a_job_run_from_the_command_line_is_seen_by_a_run_status_sensor_of_that_job(project):
    bad = "{{ config(materialized='table') }} select error('the feed is broken') as x"
    root = project({"models/bad.sql": bad})
    (root / "teal.toml").write_text(
        '[jobs.feed]\nselect = "bad"\ntags = ["team:data"]\n\n'
        '[sensors.alert]\nrun_status = "failure"\nof_job = "feed"\nwebhook_env = "ALERT_URL"\n'
    )
    with webhook() as (url, posted):
        env = {"ALERT_URL": url}
        assert run_teal("daemon", "--once", cwd=root, env=env).returncode == 0  # first seen
        assert run_teal("build", "--job", "feed", cwd=root).returncode == 1
        shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)["run"]
        assert shown["config"]["job"] == "feed" and shown["config"]["tags"] == ["team:data"]
        alerted = run_teal("daemon", "--once", cwd=root, env=env)
        assert alerted.returncode == 0, alerted.output
        assert [p["run_id"] for p in posted] == [shown["run_id"]]


def test_a_retry_of_a_job_run_is_a_run_of_that_job_seen_by_its_run_status_sensor(project):
    """`teal retry` keeps the run's job and tags (as the UI's Re-execute all does): a
    run-status sensor of the job sees the retry that failed too."""
    bad = "{{ config(materialized='table') }} select error('the feed is broken') as x"
    root = project({"models/bad.sql": bad})
    (root / "teal.toml").write_text(
        '[jobs.api]\nselect = "bad"\ntags = ["team:api"]\n\n'
        '[sensors.alert]\nrun_status = "failure"\nof_job = "api"\nwebhook_env = "ALERT_URL"\n'
    )
    with webhook() as (url, posted):
        env = {"ALERT_URL": url}
        assert run_teal("daemon", "--once", cwd=root, env=env).returncode == 0  # first seen
        assert run_teal("build", "--job", "api", cwd=root).returncode == 1
        retried = run_teal("retry", "last", cwd=root)
        assert retried.returncode == 1, retried.output
        shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)["run"]
        assert shown["trigger"] == "retry"
        assert shown["config"]["job"] == "api" and shown["config"]["tags"] == ["team:api"]
        alerted = run_teal("daemon", "--once", cwd=root, env=env)
        assert alerted.returncode == 0, alerted.output
        assert shown["run_id"] in [p["run_id"] for p in posted]


def test_an_asset_sensor_on_a_partitioned_model_runs_an_unpartitioned_target(project):
    """events is daily; summary, which reads it, is not: the sensor's run builds summary
    (the watched model's keys are not summary's), where it failed on --partition."""
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/summary.sql": "{{ config(materialized='table') }}\n"
            "select count(*) as n from events\n",
        }
    )
    (root / "teal.toml").write_text(
        '[sensors.after_events]\nasset = "events"\nselect = "summary"\nminimum_interval = "0s"\n'
    )
    env = {"TEAL_NOW": "2026-03-10T00:10:00"}
    first = run_teal("build", "-s", "+summary", "--partition", "2026-01-01", cwd=root, env=env)
    assert first.returncode == 0, first.output
    assert run_teal("daemon", "--once", cwd=root, env=env).returncode == 0  # first seen
    built = run_teal("build", "-s", "events", "--partition", "2026-01-02", cwd=root, env=env)
    assert built.returncode == 0, built.output
    done = run_teal("daemon", "--once", cwd=root, env=env)
    assert done.returncode == 0, done.output
    last = runs(root)[0]
    assert last["trigger"] == "sensor" and last["status"] == "success", last
    assert query(root / "warehouse.duckdb", "select n from summary") == [(48,)]


def test_an_asset_sensor_builds_the_overlapping_partitions_of_a_target_partitioned_otherwise(
    project,
):
    """events is daily; by_region is month x region: a new day of events builds that
    month, for every region (the day is not a key of by_region)."""
    root = project(
        {
            "models/events.sql": EVENTS_SQL,
            "models/by_region.sql": """
                {{ config(materialized='incremental', partitioned_by={
                    'month': {'type': 'monthly', 'start': '2026-01-01', 'end': '2026-04-01'},
                    'region': ['east', 'west']},
                    partition_column={'month': 'month', 'region': 'region'}) }}
                select date_trunc('month', ts) as month, '{{ partition.region }}' as region,
                       sum(v) * min(f.k) as v
                from events, read_csv('factor.csv') f group by 1
            """,
        }
    )
    (root / "factor.csv").write_text("k\n1\n")
    (root / "teal.toml").write_text(
        '[sensors.after_events]\nasset = "events"\nselect = "by_region"\nminimum_interval = "0s"\n'
    )
    env = {"TEAL_NOW": "2026-03-10T00:10:00"}
    assert run_teal("daemon", "--once", cwd=root, env=env).returncode == 0  # first seen
    built = run_teal("build", "-s", "events", "--partition", "2026-02-10", cwd=root, env=env)
    assert built.returncode == 0, built.output
    done = run_teal("daemon", "--once", cwd=root, env=env)
    assert done.returncode == 0, done.output
    last = runs(root)[0]
    assert last["trigger"] == "sensor" and last["status"] == "success", last
    rows = query(
        root / "warehouse.duckdb",
        "select partition_key from teal.partitions where model = 'by_region' order by 1",
    )
    assert rows == [("2026-02|east",), ("2026-02|west",)]
    assert query(root / "warehouse.duckdb", "select count(*), sum(v) from by_region") == [(2, 48)]
    # a sensor run that failed is retried with the target's keys, not the watched day
    (root / "factor.csv").rename(root / "gone.csv")
    later = {"TEAL_NOW": "2026-03-10T00:20:00"}
    again = run_teal("build", "-s", "events", "--partition", "2026-02-11", cwd=root, env=later)
    assert again.returncode == 0, again.output
    run_teal("daemon", "--once", cwd=root, env=later)  # its run fails: no factor.csv
    assert [r["status"] for r in runs(root)[:2]] == ["failure", "success"]
    (root / "gone.csv").rename(root / "factor.csv")
    retried = run_teal("retry", "last", cwd=root, env=later)
    assert retried.returncode == 0, retried.output
    assert "2 partitions" in retried.stdout  # February's two regions, not a day of events
    assert query(root / "warehouse.duckdb", "select count(*), sum(v) from by_region") == [(2, 96)]


def test_a_daemon_stops_when_a_newer_teal_migrates_its_store(project):
    # teal upgraded in place: the runs a daemon launches run the new teal, which migrates
    # the store; the daemon's own writes are of the schema it knew, so it stops, saying
    # why, where it went on writing into the migrated store
    import sqlite3

    from teal.runtime.runstore.schema import LATEST

    root = make(project)
    with running_daemon(root) as daemon:
        with sqlite3.connect(root / ".teal" / "runs.sqlite") as store:
            store.execute(
                "INSERT INTO teal_schema_version VALUES (?, 'from a newer teal', '2027-01-01')",
                (LATEST + 1,),
            )
        assert daemon.wait(timeout=30) == 2
        said = daemon.stdout.read() if daemon.stdout is not None else ""
    assert f"was migrated to schema version {LATEST + 1} by a newer teal" in said, said
    assert "start the daemon again with the newer teal" in said, said


def test_daemon_once_says_which_run_in_progress_its_queued_runs_wait_for(project):
    # a run a dead machine left started, recorded by a teal from before heartbeats: nothing
    # ends it, and `--once` exited saying nothing, as if it had run what it queued
    import sqlite3

    root = make(project)
    assert run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-10T00:10:00"})
    with sqlite3.connect(root / ".teal" / "runs.sqlite") as store:
        store.execute(
            "INSERT INTO runs (run_id, command, status, run_trigger, project, host, pid, "
            "created_at, started_at) VALUES ('20261201T000000-aaaaaa', 'build', 'started', "
            "'cli', ?, 'ci-runner-9', 4242, '2026-12-01T00:00:00', '2026-12-01T00:00:00')",
            (root.name,),  # the project's name: its folder's
        )
    after = run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-10T00:31:00"})
    assert after.returncode == 0, after.output
    assert (
        "1 queued run left queued: run 20261201T000000-aaaaaa is started on ci-runner-9"
        in after.stdout
    ), after.stdout
    assert run_teal("cancel", "20261201T000000", cwd=root).returncode == 0
    again = run_teal("daemon", "--once", cwd=root, env={"TEAL_NOW": "2026-03-10T00:32:00"})
    assert "left queued" not in again.stdout, again.stdout
    assert [r["status"] for r in runs(root)] == ["success", "canceled"]


@pytest.mark.slow
def test_a_freshness_check_that_evaluates_nothing_records_no_run(project):
    # it would become the project's `last` run, which `teal retry last` and `teal logs
    # last` then name instead of the build before it
    root = project({"models/a.sql": "select 1 as x"})
    assert run_teal("build", cwd=root).returncode == 0
    done = run_teal("check", "--freshness", "--json", cwd=root)
    assert done.returncode == 0, done.output
    assert json.loads(done.stdout) == {"run_id": None, "success": True, "freshness": []}
    runs = json.loads(run_teal("runs", "--json", cwd=root).stdout)
    assert [r["command"] for r in runs] == ["build"]
