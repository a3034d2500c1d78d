"""What `--json` prints, for scripts (`teal ... --json | jq`): stdout is the JSON alone,
an error is still `path:line:col: message` on stderr with exit 2 and its JSON form on
stdout, times are ISO-8601 UTC, `teal build --json` has one shape, and `teal logs --json`
prints JSON lines. Each test runs the real command line (teal/cli_json.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.conftest import run_teal

NOISY = """
    import pyarrow as pa
    import teal

    print("noisy module imported")

    @teal.asset
    def noisy(context):
        context.log.info("noisy logs a line")
        print("noisy runs")
        return pa.table({"x": [1]})
"""

DAILY = (
    "{{ config(materialized='incremental', partition_column='day', "
    "partitioned_by={'daily': {'start': '2025-01-01', 'end': '2025-01-03'}}) }}\n"
    "select d::date as day, 1 as n from range(date '2025-01-01', date '2025-01-03', "
    "interval 1 day) t(d) where d >= {{ partition.start }} and d < {{ partition.end }}\n"
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", [("ls", "--json"), ("validate", "--json"), ("plan", "--format", "json")]
)
def test_a_print_when_a_python_model_is_imported_goes_to_stderr_under_json(project, command):
    root = project({"models/noisy.py": NOISY, "models/b.sql": "select x from noisy"})
    done = run_teal(*command, cwd=root)
    assert done.returncode == 0, done.output
    json.loads(done.stdout)  # the JSON alone
    assert "noisy module imported" in done.stderr


@pytest.mark.slow
def test_an_error_under_json_is_located_on_stderr_and_a_json_document_on_stdout(project):
    root = project({"models/a.sql": "select 1 as x"})
    done = run_teal("ls", "--json", "-s", "aa", cwd=root)
    assert done.returncode == 2
    assert done.stderr.startswith("--select: 'aa' matches no model"), done.stderr
    error = json.loads(done.stdout)
    assert error["success"] is False and error["exit_code"] == 2
    [problem] = error["errors"]
    assert problem["path"] == "--select" and "did you mean 'a'" in problem["hint"]
    assert problem["text"].splitlines()[0] == done.stderr.splitlines()[0]

    (root / "models/b.sql").write_text("select * from nope\n")
    done = run_teal("build", "--json", cwd=root)  # a project error: every problem located
    assert done.returncode == 2
    assert done.stderr.startswith("models/b.sql:1:15: 'nope' is not a model"), done.stderr
    [problem] = json.loads(done.stdout)["errors"]
    assert (problem["path"], problem["line"], problem["col"]) == ("models/b.sql", 1, 15)


@pytest.mark.slow
def test_json_times_are_iso_8601_utc_and_logs_json_are_json_lines(project):
    schedule = '[schedules.nightly]\ncron = "0 3 * * *"\ntimezone = "Europe/Berlin"\n'
    root = project({"models/noisy.py": NOISY, "models/daily.sql": DAILY}, config=schedule)
    before = datetime.now().astimezone()
    assert run_teal("build", cwd=root).returncode == 0

    runs = json.loads(run_teal("runs", "--json", cwd=root).stdout)
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    status = json.loads(run_teal("status", "--json", cwd=root).stdout)
    parts = json.loads(run_teal("partitions", "daily", "--json", cwd=root).stdout)
    times = [
        runs[0]["started_at"],
        runs[0]["finished_at"],
        shown["run"]["created_at"],
        *(s["finished_at"] for s in shown["steps"]),
        *(m["at"] for m in shown["materializations"]),
        status["models"]["noisy"]["finished_at"],
        *(p["built_at"] for p in parts),
    ]
    tick = json.loads(
        run_teal("schedules", "preview", "nightly", "--count", "1", "--json", cwd=root).stdout
    )[0]
    assert tick["tick_utc"].endswith("+00:00") and tick["tick"].endswith(("+01:00", "+02:00"))
    assert datetime.fromisoformat(tick["tick_utc"]) == datetime.fromisoformat(tick["tick"])
    for text in times:
        assert "T" in text and text.endswith("+00:00"), text
        # the instant it names is now, whatever this machine's time zone
        assert abs(datetime.fromisoformat(text) - before) < timedelta(minutes=5), text

    done = run_teal("logs", "last", "--json", cwd=root)
    assert done.returncode == 0, done.output
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["kind"] == "run_start" and events[-1]["kind"] == "run_end"
    assert {"kind": "log", "model": "noisy", "message": "noisy logs a line"}.items() <= next(
        e for e in events if e["kind"] == "log"
    ).items()
    assert all(e["at"].endswith("+00:00") for e in events)


@pytest.mark.slow
def test_build_json_has_one_shape_with_or_without_steps(project):
    root = project({"models/a.sql": "select 1 as x", "models/b.sql": "select x from a"})
    first = run_teal("build", "--json", cwd=root)
    assert first.returncode == 0, first.output
    again = run_teal("build", "--json", "--changed-only", cwd=root)
    assert again.returncode == 0, again.output
    built, unchanged = json.loads(first.stdout), json.loads(again.stdout)
    assert set(built) == set(unchanged), (set(built), set(unchanged))
    assert built["not_run"] == {} and unchanged["results"] == []
    assert set(unchanged["not_run"]) == {"a", "b"} and unchanged["counts"]["success"] == 0
