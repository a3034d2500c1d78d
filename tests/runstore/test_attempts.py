"""Retries: a failed model runs again up to its retries, with a doubling, jittered pause;
every attempt is recorded; failed checks are not retried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teal.runtime.attempts import MAX_WAIT_S, backoff
from tests.conftest import query, run_teal, spawn_teal

FLAKY = '''
from pathlib import Path

import polars as pl

import teal


@teal.asset(retries=RETRIES, retry_delay=0)
def flaky(context: teal.AssetContext) -> pl.DataFrame:
    """Fails until its counter file says it has failed twice."""
    counter = Path(context.vars["counter"])
    seen = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(seen + 1))
    if seen < 2:
        raise ConnectionError(f"the API timed out (call {seen + 1})")
    return pl.DataFrame({"calls": [seen + 1]})
'''


def make(project, retries: int) -> Path:
    root = project(
        {
            "models/flaky.py": FLAKY.replace("RETRIES", str(retries)),
            "models/after.sql": "{{ config(materialized='table') }} select calls from flaky",
        }
    )
    return root


def attempts(root: Path) -> list[tuple[str, int, str]]:
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    return [
        (s["model"], s["attempt"], s["status"]) for s in shown["steps"] if s["model"] == "flaky"
    ]


@pytest.mark.slow
def test_a_flaky_model_succeeds_on_its_third_attempt_and_each_attempt_is_recorded(project):
    root = make(project, retries=2)
    counter = root / "counter.txt"
    done = run_teal("build", "--vars", f"{{counter: '{counter}'}}", cwd=root)
    assert done.returncode == 0, done.output
    assert "flaky failed on attempt 1 of 3, retrying in 0.0 s: " in done.stdout
    assert "ConnectionError: the API timed out (call 2)" in done.stdout
    assert attempts(root) == [
        ("flaky", 1, "failure"),
        ("flaky", 2, "failure"),
        ("flaky", 3, "success"),
    ]
    assert query(root / "warehouse.duckdb", "select calls from after") == [(3,)]
    result = json.loads(
        run_teal(
            "build", "-s", "flaky", "--json", "--vars", f"{{counter: '{counter}'}}", cwd=root
        ).stdout
    )
    assert result["results"][0]["attempts"] == 1  # the counter is past 2: it works at once


@pytest.mark.slow
def test_a_model_that_exhausts_its_retries_fails_with_every_attempt_recorded(project):
    root = make(project, retries=1)
    counter = root / "counter.txt"
    done = run_teal("build", "--vars", f"{{counter: '{counter}'}}", cwd=root)
    assert done.returncode == 1
    assert attempts(root) == [("flaky", 1, "failure"), ("flaky", 2, "failure")]
    skipped = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)["steps"]
    assert [s["status"] for s in skipped if s["model"] == "after"] == ["skipped"]


@pytest.mark.slow
def test_a_failed_check_is_not_retried(project):
    root = project(
        {
            "models/a.sql": "{{ config(materialized='table', retries=3) }} select 5 as v",
            "models/schema.yml": "models:\n  - name: a\n    columns:\n      - name: v\n"
            "        tests: [{accepted_values: {values: [1, 2]}}]\n",
        }
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 1 and "retrying" not in done.stdout
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    assert [(s["attempt"], s["status"]) for s in shown["steps"]] == [(1, "failure")]


@pytest.mark.slow
def test_bad_retry_settings_are_located_errors(project):
    root = project({"models/a.sql": "{{ config(retries=-1) }} select 1 as v"})
    done = run_teal("ls", cwd=root)
    assert (
        done.returncode == 2
        and "models/a.sql:1" in done.stderr
        and "retries must be" in done.stderr
    )
    root = project({"models/b.sql": "{{ config(retry_delay='soon') }} select 1 as v"})
    done = run_teal("ls", cwd=root)
    assert done.returncode == 2 and "retry_delay 'soon' is not a duration" in done.stderr


@given(
    delay=st.floats(min_value=0.0, max_value=1000.0),
    attempt=st.integers(min_value=1, max_value=40),
    rand=st.floats(min_value=0.0, max_value=0.999999),
)
def test_backoff_doubles_within_its_jitter_and_never_exceeds_the_cap(delay, attempt, rand):
    wait = backoff(delay, attempt, rand)
    nominal = min(delay * 2 ** (attempt - 1), MAX_WAIT_S)
    assert 0.0 <= wait <= MAX_WAIT_S
    assert nominal * 0.75 - 1e-9 <= wait <= nominal * 1.25 + 1e-9
    assert backoff(delay, attempt, 0.5) <= backoff(delay, attempt + 1, 0.5) + 1e-9  # monotone


def test_the_pauses_between_attempts_double(tmp_path):
    from teal.compiler.plan import Step
    from teal.compiler.project import load_project
    from teal.runtime.attempts import run_with_retries
    from teal.runtime.results import ERROR, ModelResult

    (tmp_path / "models").mkdir()
    (tmp_path / "teal.toml").write_text("")
    (tmp_path / "models" / "a.sql").write_text(
        "{{ config(retries=3, retry_delay='2s') }} select 1 as v"
    )
    model = load_project(tmp_path).models["a"]
    step = Step("a", "view", "main.a", (), "selected", "", "models/a.sql")
    slept: list[float] = []
    told: list[tuple[int, float]] = []
    order: list[tuple[str, float]] = []  # each attempt starts after its pause, not before

    def sleep(pause: float) -> None:
        slept.append(pause)
        order.append(("pause", pause))

    result = run_with_retries(
        step,
        model,
        lambda s: ModelResult("a", ERROR, message=f"timeout on attempt {s.attempt}"),
        on_retry=lambda s, failed, allowed, pause: told.append((s.attempt, pause)),
        sleep=sleep,
        rand=lambda: 0.5,
        on_attempt=lambda s, allowed: order.append(("start", s.attempt)),
    )
    assert slept == [2.0, 4.0, 8.0] and told == [(1, 2.0), (2, 4.0), (3, 8.0)]
    assert order == [("pause", 2.0), ("start", 2), ("pause", 4.0), ("start", 3)] + [
        ("pause", 8.0),
        ("start", 4),
    ]
    assert result.attempts == 4 and result.message == "timeout on attempt 4"


def test_a_cancel_during_the_pause_before_a_retry_ends_the_attempts(tmp_path):
    """The pause ends with the cancel (the executor's pause is the cancel event's wait),
    and no further attempt starts."""
    import threading

    from teal.compiler.plan import Step
    from teal.compiler.project import load_project
    from teal.runtime.attempts import run_with_retries
    from teal.runtime.results import ERROR, ModelResult

    (tmp_path / "models").mkdir()
    (tmp_path / "teal.toml").write_text("")
    (tmp_path / "models" / "a.sql").write_text(
        "{{ config(retries=3, retry_delay='10m') }} select 1 as v"
    )
    model = load_project(tmp_path).models["a"]
    step = Step("a", "view", "main.a", (), "selected", "", "models/a.sql")
    canceled = threading.Event()
    ran: list[int] = []

    def once(s: Step) -> ModelResult:
        ran.append(s.attempt)
        canceled.set()  # Ctrl-C while the first attempt runs
        return ModelResult("a", ERROR, message="interrupted")

    result = run_with_retries(
        step,
        model,
        once,
        on_retry=None,
        sleep=canceled.wait,
        rand=lambda: 0.5,
        stop=canceled.is_set,
    )
    assert ran == [1] and result.attempts == 1 and result.message == "interrupted"
    pauses: list[float] = []

    def pause(seconds: float) -> None:  # the cancel comes during the pause
        pauses.append(seconds)
        canceled.set()

    canceled.clear()
    ran.clear()
    result = run_with_retries(
        step,
        model,
        lambda s: ran.append(s.attempt) or ModelResult("a", ERROR, message="timeout"),
        on_retry=None,
        sleep=pause,
        rand=lambda: 0.5,
        stop=canceled.is_set,
    )
    assert ran == [1] and pauses == [600.0] and result.attempts == 1


@pytest.mark.slow
def test_cancel_interrupts_the_query_in_flight(project):
    import time

    slow = (
        "{{ config(materialized='table') }} "
        "select count(*) as n from range(100000000000) t(i) where (i * i) % 7 = 3"
    )
    root = project(
        {
            "models/quick.sql": "{{ config(materialized='table') }} select 1 as x",
            "models/slow.sql": slow,
            "models/after_slow.sql": "select n from slow",
        }
    )
    build = spawn_teal("build", "--threads", "1", cwd=root)
    try:
        deadline = time.monotonic() + 120
        while True:  # until the slow step has started (polling the store, not a fixed wait)
            shown = run_teal("runs", "show", "last", "--json", cwd=root)
            if shown.returncode == 0:
                steps = json.loads(shown.stdout)["steps"]
                if any(s["model"] == "slow" and s["status"] == "started" for s in steps):
                    break
            assert time.monotonic() < deadline and build.poll() is None, (
                "the slow step never started"
            )
            time.sleep(0.1)
        asked = run_teal("cancel", "last", cwd=root)
        assert asked.returncode == 0, asked.output
        out, _ = build.communicate(timeout=120)  # minutes of work, stopped at once
    finally:
        build.kill()
    assert build.returncode == 1, out
    assert "canceled while running: its work was rolled back" in out and "Traceback" not in out
    assert "upstream slow was canceled" in out  # not "failed": what is downstream says why
    shown = json.loads(run_teal("runs", "show", "last", "--json", cwd=root).stdout)
    assert shown["run"]["status"] == "canceled"
    assert {s["model"]: s["status"] for s in shown["steps"]}["slow"] == "canceled"
    found = query(
        root / "warehouse.duckdb",
        "select count(*) from information_schema.tables where table_name = 'slow'",
    )
    assert found == [(0,)]  # nothing of it was published
