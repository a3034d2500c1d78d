"""A line of ``teal logs`` says what the build said: a failed or warning check with how many
rows failed (``email_has_at_sign warn (54 failing rows)``), not only its status; the
lines carry the date they happened on, and ``--model`` shows one model's."""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest

from teal.cli_runs import format_event
from teal.runtime.runstore import Event, EventKind
from tests.conftest import run_teal, spawn_teal

AT = datetime(2026, 3, 2, 3, 0, 1)


def _check(status: str, failing: int) -> Event:
    data = {"check": "email_has_at_sign", "status": status, "failing_rows": failing}
    return Event("r1", 1, AT, EventKind.CHECK_RESULT, "stg_customers", data=data)  # type: ignore[arg-type]


def test_a_check_line_says_how_many_rows_failed():
    assert format_event(_check("warn", 54)).endswith("email_has_at_sign warn (54 failing rows)")
    assert format_event(_check("fail", 1)).endswith("email_has_at_sign fail (1 failing row)")
    assert format_event(_check("pass", 0)).endswith("email_has_at_sign pass")


@pytest.mark.slow
def test_a_failed_sql_step_names_its_file(project):
    root = project(
        {"models/bad.sql": "{{ config(materialized='table') }} select cast('x' as int) as id"}
    )
    assert run_teal("build", cwd=root).returncode == 1
    logs = run_teal("logs", "--model", "bad", cwd=root)
    assert logs.returncode == 0, logs.output
    failure = [line for line in logs.stdout.splitlines() if "step_failure" in line]
    assert len(failure) == 1, logs.stdout
    assert "models/bad.sql: Conversion Error" in failure[0], failure[0]


TWO_MODELS = {
    "models/a.sql": "select 1 as id",
    "models/b.py": (
        "import teal\n\n\n@teal.asset\ndef b(context, a):\n"
        "    context.log.info('b read %d rows', a.num_rows)\n    return a\n"
    ),
}


@pytest.mark.slow
def test_logs_of_one_model_with_the_date_and_a_wrong_name_said(project):
    root = project(TWO_MODELS)
    assert run_teal("build", cwd=root).returncode == 0
    everything = run_teal("logs", cwd=root)
    assert everything.returncode == 0, everything.output
    first = everything.stdout.splitlines()[0]
    assert re.fullmatch(r"-- \d{4}-\d{2}-\d{2} \(UTC\)", first), first
    assert "run_start" in everything.stdout and "step_start      a" in everything.stdout

    only_b = run_teal("logs", "--model", "b", cwd=root)
    assert only_b.returncode == 0, only_b.output
    lines = only_b.stdout.splitlines()[1:]
    assert lines and all(line[30:60].strip() == "b" for line in lines), lines
    assert any(line.endswith("b read 1 rows") for line in lines)

    wrong = run_teal("logs", "-m", "bb", cwd=root)
    assert wrong.returncode == 2
    assert "has no step of model 'bb'" in wrong.stderr
    assert "hint: did you mean 'b'?" in wrong.stderr


GATED = {
    "models/a.py": """
        import pathlib
        import time

        import pyarrow as pa
        import teal


        @teal.asset
        def a() -> pa.Table:
            here = pathlib.Path(__file__).parent.parent
            (here / "started").touch()
            deadline = time.monotonic() + 60
            while not (here / "gate").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            return pa.table({"id": [1]})
    """,
    "models/b.py": TWO_MODELS["models/b.py"],
}


@pytest.mark.slow
def test_logs_of_a_model_the_running_run_has_yet_to_start(project):
    root = project(GATED)
    build = spawn_teal("build", cwd=root)
    try:
        deadline = time.monotonic() + 60
        while not (root / "started").exists():
            assert time.monotonic() < deadline and build.poll() is None, build.stdout
            time.sleep(0.02)
        # b has no step yet: still a model of the run, not an error
        early = run_teal("logs", "-m", "b", "last", cwd=root)
        assert early.returncode == 0, early.output
        wrong = run_teal("logs", "-m", "bb", "last", cwd=root)
        assert wrong.returncode == 2 and "did you mean 'b'?" in wrong.stderr, wrong.output
        (root / "gate").touch()
        followed = run_teal("logs", "-f", "-m", "b", "last", cwd=root)
        assert followed.returncode == 0, followed.output
        assert "b read 1 rows" in followed.stdout
        assert followed.stdout.rstrip().endswith("success")
    finally:
        (root / "gate").touch()
        assert build.wait(60) == 0
