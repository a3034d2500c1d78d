"""A cold load parses part of the SQL on a forked child (compiler.offload).

What a user must not notice: the loaded project is the same as one loaded by one process,
errors in any file are reported the same way, and a child that dies costs time, not results.
"""

from __future__ import annotations

import os
import shutil

import pytest

from teal.compiler import offload
from teal.compiler.errors import ErrorGroup, ParseError
from teal.compiler.project import load_project
from teal.compiler.stage import Stager
from teal.compiler.strategy import LoadStrategy
from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

N = offload.MIN_FILES + 50


def _files(n: int = N) -> dict[str, str]:
    files = {"models/base/m0.sql": "select range as id, range % 7 as grp from range(100)"}
    for i in range(1, n):
        up = f"m{(i - 1) // 2}"
        files[f"models/{'base' if i < n // 2 else 'top'}/m{i}.sql"] = (
            f"-- model {i}\n"
            f"with src as (select id, grp from {up})\n"
            f"select id, grp, {i} as level\nfrom src\nwhere id % 2 = {i % 2};\n"
        )
    return files


def _summary(project) -> dict:
    return {
        name: (m.compiled_sql, m.sql_hash, m.upstreams, m.columns, m.line)
        for name, m in project.models.items()
    }


@pytest.fixture
def strategy():
    """Forking on, as the command line has it (the Python API does all in line); the
    collector is left alone in the test process."""
    chosen = LoadStrategy(fork=True)
    yield chosen
    chosen.wait()


@pytest.fixture
def serial_load(strategy):
    """Load with the child turned off, for comparison."""

    def load(root):
        strategy.wait()
        return load_project(root, strategy=LoadStrategy())

    return load


def test_a_cold_load_with_the_child_equals_one_without(
    project, serial_load, monkeypatch, strategy
) -> None:
    root = project(_files())
    started = []
    real_start = offload.ParseAhead.start
    monkeypatch.setattr(
        offload.ParseAhead, "start", lambda *a: started.append(real_start(*a)) or started[-1]
    )
    parallel = load_project(root, strategy=strategy)
    assert started and started[0] is not None  # the child did run
    assert parallel.stats["parsed"] == N  # its parses are counted too
    strategy.wait()
    shutil.rmtree(root / ".teal")
    assert _summary(parallel) == _summary(serial_load(root))


def test_a_child_that_dies_costs_time_not_results(
    project, serial_load, monkeypatch, strategy
) -> None:
    root = project(_files())
    expected = _summary(serial_load(root))
    strategy.wait()
    shutil.rmtree(root / ".teal")
    # the child exits at its first file: the parent parses the child's share itself
    monkeypatch.setattr(Stager, "parse_plain", lambda self, path: os._exit(3))
    assert _summary(load_project(root, strategy=strategy)) == expected


def test_a_syntax_error_in_the_childs_share_is_reported_like_any_other(project, strategy) -> None:
    files = _files()
    last = f"models/top/m{N - 1}.sql"  # the child takes the last files
    files[last] = "select id,\nfrom m0 where\n"
    root = project(files)
    with pytest.raises((ParseError, ErrorGroup)) as info:
        load_project(root, strategy=strategy)
    assert f"{last}:2" in str(info.value)

    done = run_teal("build", cwd=root)
    assert done.returncode == 2, done.output
    assert f"{last}:2" in done.stderr and "Traceback" not in done.output


def test_the_command_line_builds_a_project_loaded_by_two_processes(project) -> None:
    root = project(_files())
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    # m1 and m2 keep the odd and even ids of m0; m3 and m4 the odd and even ids of m1
    counts = query(
        root / "warehouse.duckdb",
        "select (select count(*) from base.m1), "
        "(select count(*) from base.m2), (select count(*) from base.m3), "
        "(select count(*) from base.m4)",
    )
    assert counts == [(50, 50, 50, 0)]
    assert f"{N} built" in done.stdout or f"{N} of {N}" in done.stdout, done.stdout


def test_what_a_load_stores_behind_it_is_there_for_the_next_load(project, strategy) -> None:
    root = project(_files(20))
    first = load_project(root, strategy=strategy)
    assert "snapshot" not in first.stats and first.stats["parsed"] == 20
    again = load_project(
        root, strategy=strategy
    )  # waits for the writer of the first load, then reads its files
    assert again.stats.get("snapshot") == 1
    assert _summary(again) == _summary(first)
    done = run_teal("compile", cwd=root)  # another process finds them too
    assert done.returncode == 0 and "0 SQL parses" in done.stdout, done.output


def test_a_load_that_fails_first_stops_and_reaps_the_child(project, monkeypatch, strategy) -> None:
    files = _files()
    files["models/schema.yml"] = "models:\n  - name: m1\n   description: bad indent\n"
    root = project(files)
    started = []
    real_start = offload.ParseAhead.start
    monkeypatch.setattr(
        offload.ParseAhead, "start", lambda *a: started.append(real_start(*a)) or started[-1]
    )
    with pytest.raises(Exception) as info:
        load_project(root, strategy=strategy)
    assert "invalid YAML" in str(info.value)
    assert started and started[0] is not None
    with pytest.raises(ProcessLookupError):  # gone, not a zombie
        os.kill(started[0].pid, 0)


def test_a_command_run_with_sigchld_ignored_still_loads(project) -> None:
    """With SIGCHLD ignored children are reaped by the system, and waiting for one fails."""
    import subprocess
    import sys

    root = project(_files())
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); "
            "os.execvp(sys.executable, [sys.executable, '-m', 'teal.cli', 'compile'])",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Compiled {N} of {N} models" in done.stdout and "Traceback" not in done.stderr


def test_a_forked_call_returns_what_the_child_computed_or_none_when_it_dies():
    strategy = LoadStrategy(fork=True)
    if not strategy.can_fork():
        pytest.skip("forking is not possible here")
    call = offload.ForkedCall.start(lambda: {"pid": os.getpid()}, strategy)
    assert call is not None
    found = call.result()
    assert isinstance(found, dict) and found["pid"] != os.getpid()
    dead = offload.ForkedCall.start(lambda: os._exit(3), strategy)
    assert dead is not None and dead.result() is None
    slow = offload.ForkedCall.start(lambda: __import__("time").sleep(60), strategy)
    assert slow is not None
    slow.abandon()  # killed and reaped at once
    assert slow.result() is None


def _started_forked_calls(monkeypatch) -> list:
    started: list = []
    real_start = offload.ForkedCall.start
    monkeypatch.setattr(
        offload.ForkedCall,
        "start",
        lambda *a: started.append(real_start(*a)) or started[-1],
    )
    return started


def test_a_plan_reads_the_warehouse_state_on_a_child_while_it_loads(
    project, monkeypatch, strategy
) -> None:
    """A cold plan of a built warehouse: the state read by a forked child gives the plan an
    in-line read gives (nothing changed, so nothing to build)."""
    from teal.runtime.session import Session

    root = project(_files(20))
    assert run_teal("build", cwd=root).returncode == 0
    shutil.rmtree(root / ".teal")
    started = _started_forked_calls(monkeypatch)
    forked = Session.open(root, strategy=strategy)
    planned = forked.plan(options=forked.options(changed_only=True))
    assert len(started) == 1 and started[0] is not None  # the state was read ahead
    strategy.wait()
    shutil.rmtree(root / ".teal")
    in_line = Session.open(root)
    expected = in_line.plan(options=in_line.options(changed_only=True))
    assert planned.steps == expected.steps == ()
    assert planned.not_run == expected.not_run and len(planned.not_run) == 20

    cli = run_teal("plan", "--changed-only", cwd=root)  # the command line forks the same way
    shutil.rmtree(root / ".teal")
    cold = run_teal("plan", "--changed-only", cwd=root)
    assert cli.returncode == cold.returncode == 0, cold.output
    assert "0 steps, 20 without a step" in cold.stdout and cold.stdout == cli.stdout


def test_a_plan_whose_load_fails_reaps_the_state_reader(project, monkeypatch, strategy) -> None:
    root = project(_files(20))
    assert run_teal("build", cwd=root).returncode == 0
    shutil.rmtree(root / ".teal")
    (root / "models/top/m19.sql").write_text("select id,\nfrom m9 where\n")
    started = _started_forked_calls(monkeypatch)
    from teal.runtime.session import Session

    with pytest.raises((ParseError, ErrorGroup)) as info:
        Session.open(root, strategy=strategy).plan()
    assert "models/top/m19.sql:2" in str(info.value)
    assert started and started[0] is not None
    with pytest.raises(ProcessLookupError):  # gone, not a zombie
        os.kill(started[0].pid, 0)
    assert not list((root / ".teal" / "cache").glob("state.*.tmp"))  # nothing half-written

    done = run_teal("plan", cwd=root)
    assert done.returncode == 2 and "models/top/m19.sql:2" in done.stderr, done.output
    assert "Traceback" not in done.output
