"""File and asset sensors through the real ``teal daemon --once`` on a clock fixed by
``TEAL_NOW``: a landing folder outside the project (an absolute glob), and every file and
materialization run once however often the daemon evaluates at the same moment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_teal, write_project

NOW = {"TEAL_NOW": "2026-01-05T00:45:00"}
EVENTS = """
{{ config(materialized='incremental', partitioned_by={'daily': {'start': '2026-01-01'}},
          partition_column='ts') }}
select ts from range({{ partition.start }}, {{ partition.end }}, INTERVAL 6 HOUR) t(ts)
"""
SUMMARY = "select count(*) as n from {{ ref('events') }}\n"


def sensor_project(root: Path, files: str) -> Path:
    return write_project(
        root,
        {"models/events.sql": EVENTS, "models/summary.sql": SUMMARY},
        f"""
        name = "sensors"

        [sensors.landing]
        files = "{files}"
        select = "events"
        partition_from = '(\\d{{4}}-\\d{{2}}-\\d{{2}})'

        [sensors.after_events]
        asset = "events"
        select = "summary"
        """,
    )


def runs_by(root: Path) -> list[tuple[str, str, list[str]]]:
    """(sensor, status, partitions) of each run, oldest first."""
    done = run_teal("runs", "--json", cwd=root)
    assert done.returncode == 0, done.output
    return [
        (r["config"]["source"], r["status"], r["partitions"])
        for r in reversed(json.loads(done.stdout))
    ]


def once(root: Path) -> None:
    done = run_teal("daemon", "--once", cwd=root, env=NOW)
    assert done.returncode == 0, done.output
    assert "Traceback" not in done.output, done.output


@pytest.mark.slow
def test_a_file_sensor_watches_a_landing_folder_outside_the_project(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    root = sensor_project(tmp_path / "project", f"{landing.as_posix()}/orders_*.csv")
    once(root)  # the sensors are first seen: nothing yet
    (landing / "orders_2026-01-03.csv").write_text("id\n1\n")
    once(root)  # Path.glob refused the absolute pattern: a traceback, exit 1
    assert runs_by(root) == [("sensor:landing", "success", ["2026-01-03"])]
    listed = run_teal("sensors", cwd=root)
    assert listed.returncode == 0 and f"{landing.as_posix()}/orders_*.csv" in listed.stdout


@pytest.mark.slow
def test_each_file_and_materialization_runs_once_on_a_fixed_clock(tmp_path):
    root = sensor_project(tmp_path, "landing/*.csv")
    (root / "landing").mkdir()
    (root / "landing" / "b_2026-01-03.csv").write_text("1\n")
    once(root)
    # the new file sorts first: its tick took the same time as b's, was dropped as already
    # recorded while the cursor moved past it, and the file never ran
    (root / "landing" / "a_2026-01-02.csv").write_text("1\n")
    once(root)
    once(root)  # events materialized again: the asset sensor's second tick was lost too
    assert sorted(runs_by(root)) == [
        ("sensor:after_events", "success", ["2026-01-02"]),
        ("sensor:after_events", "success", ["2026-01-03"]),
        ("sensor:landing", "success", ["2026-01-02"]),
        ("sensor:landing", "success", ["2026-01-03"]),
    ]


SENSOR = """
import teal

@teal.sensor(select="+summary")
def api(context):
    seen = int(context.cursor or 0)
    context.cursor = str(seen + 1)
    if (context.root / "api_down").exists():
        raise ConnectionError("the API is down")
    return teal.RunRequest(run_key=f"after-{seen}", vars={"since": seen})
"""


@pytest.mark.slow
def test_a_python_sensor_that_raises_keeps_its_cursor(tmp_path):
    root = sensor_project(tmp_path, "landing/*.csv")
    (root / "sensors").mkdir()
    (root / "sensors" / "api.py").write_text(SENSOR)
    (root / "api_down").write_text("")
    failed = run_teal("daemon", "--once", cwd=root, env=NOW)
    assert "failed (sensors/api.py:9: ConnectionError: the API is down)" in failed.output
    (root / "api_down").unlink()
    once(root)  # the cursor the failed evaluation moved was kept: it asked for since = 1
    done = run_teal("runs", "--json", cwd=root)
    assert [r["config"]["vars"] for r in json.loads(done.stdout)] == [{"since": 0}]


def test_a_python_sensor_without_a_docstring_is_named_by_its_file_in_the_project(tmp_path):
    """`teal sensors` and the UI named it by its absolute path (/home/.../sensors/x.py:5)."""
    from teal.compiler.config import load_config
    from teal.runtime.automation_rows import sensor_rows

    root = sensor_project(tmp_path, "landing/*.csv")
    (root / "sensors").mkdir()
    (root / "sensors" / "regions.py").write_text(
        "import teal\n\n\n@teal.sensor(select='events')\ndef regions(context):\n    return []\n"
    )
    [row] = [r for r in sensor_rows(load_config(root)) if r["name"] == "regions"]
    assert row["watches"] == "sensors/regions.py:4"


DAGSTER_STYLE = """
import teal

@teal.sensor(select="scaled")
def orders(context):
    seen = int(context.cursor or 0)
    context.update_cursor(str(seen + 1))
    return teal.RunRequest(
        run_key=f"orders-{seen}", partition_key="2026-01-03", run_config={"scaled": {"factor": 3}}
    )
"""
SCALED = """
import pyarrow as pa
import teal


class Scale(teal.Config):
    factor: int = 1


@teal.asset(partitioned_by={"daily": {"start": "2026-01-01"}}, partition_column="day")
def scaled(context, config: Scale) -> pa.Table:
    return pa.table({"day": [context.partition_window.start.date()], "n": [config.factor]})
"""


@pytest.mark.slow
def test_a_python_sensor_asks_in_dagsters_words(tmp_path):
    """RunRequest(partition_key=..., run_config=...) and context.update_cursor(...), as a
    Dagster sensor writes them: the run builds that partition with that run config (were
    a TypeError and an AttributeError, failed ticks)."""
    from tests.conftest import query

    root = sensor_project(tmp_path, "landing/*.csv")
    (root / "models" / "scaled.py").write_text(SCALED)
    (root / "sensors").mkdir()
    (root / "sensors" / "orders.py").write_text(DAGSTER_STYLE)
    once(root)
    [run] = [r for r in json.loads(run_teal("runs", "--json", cwd=root).stdout)]
    assert (run["status"], run["partitions"]) == ("success", ["2026-01-03"]), run
    assert run["config"]["run_config"] == {"scaled": {"factor": 3}}
    assert query(root / "warehouse.duckdb", "select day::varchar, n from scaled") == [
        ("2026-01-03", 3)
    ]


WRONG_SHAPES = """
import teal

@teal.sensor(select="scaled")
def {name}(context):
    return teal.RunRequest(run_key="{name}", {request})
"""


@pytest.mark.slow
def test_a_run_request_of_the_wrong_shape_says_so(tmp_path):
    """A run_config that is not {model: {field: value}}, or a partition_key that is not a
    string, fails the tick saying what RunRequest takes (were a ValueError about a
    'dictionary update sequence', and a queued run failing on 'argument of type int is not
    iterable'); Dagster's {'ops': ...} fails its run with the hint of teal's shape."""
    root = sensor_project(tmp_path, "landing/*.csv")
    (root / "models" / "scaled.py").write_text(SCALED)
    (root / "sensors").mkdir()
    shapes = {
        "text": 'run_config="factor=3"',
        "flat": 'run_config={"scaled": 3}',
        "number": "partition_key=3",
        "dagster": 'run_config={"ops": {"scaled": {"config": {"factor": 3}}}}',
    }
    for name, request in shapes.items():
        (root / "sensors" / f"{name}.py").write_text(
            WRONG_SHAPES.format(name=name, request=request)
        )
    done = run_teal("daemon", "--once", cwd=root, env=NOW)
    assert "Traceback" not in done.output, done.output
    takes = "RunRequest(run_config=...) takes {model: {field: value}}"
    assert (
        "sensor:text" in done.output
        and f"{takes}, as teal build --config-json takes it; not str 'factor=3'" in done.output
    ), done.output
    assert "its entry 'scaled': 3 is not a model's fields" in done.output, done.output
    assert "RunRequest(partition_key=...) takes one partition key, a string; not int 3" in (
        done.output
    )
    [run] = json.loads(run_teal("runs", "--json", cwd=root).stdout)
    shown = run_teal("runs", "show", run["run_id"], cwd=root)
    assert "Dagster's {'ops': {NAME: {'config': {...}}}} is written {NAME: {...}}" in (
        shown.stdout
    ), shown.output
