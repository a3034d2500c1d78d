"""DuckDB's threads shared among the steps a build runs at once (DuckDBEngine.steps_running):
fewer per query while several steps run, all of them for a step running alone, and none
of this where the project sets ``threads`` itself."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from teal.compiler.engine_settings import DuckDBSettings
from teal.warehouse.duckdb import DuckDBEngine
from tests.conftest import query, run_teal


def _threads(engine: DuckDBEngine) -> int:
    """The setting once the engine's thread has set what was asked last."""
    if engine._shared_threads is not None:
        engine._shared_threads.settled()
    row = engine.conn.execute("select current_setting('threads')").fetchone()
    assert row is not None
    return int(row[0])


def _cores() -> int:
    """The threads DuckDB gives a connection on this machine when nothing says otherwise."""
    with duckdb.connect() as con:
        row = con.execute("select current_setting('threads')").fetchone()
    assert row is not None
    return int(row[0])


def test_steps_running_side_by_side_share_the_cores(tmp_path: Path) -> None:
    cores = _cores()
    with DuckDBEngine(tmp_path / "warehouse.duckdb") as engine:
        # DuckDB counts each querying connection's own thread and `threads - 1` workers
        engine.steps_running(2)
        assert _threads(engine) == max(1, cores - 1)
        engine.steps_running(cores + 3)  # more steps than cores: no worker, not none
        assert _threads(engine) == 1
        engine.steps_running(1)  # a step running alone gets every core again
        assert _threads(engine) == cores
        engine.steps_running(2)
        engine.steps_running(0)  # the run is over: as the warehouse was opened
        assert _threads(engine) == cores
        # and the thread that set it is gone (teal forks only when it has no other thread)
        assert not [t for t in threading.enumerate() if t.name == "teal-threads"]
        engine.steps_running(2)  # a second run on the same engine shares them again
        assert _threads(engine) == max(1, cores - 1)
        engine.steps_running(0)
        assert _threads(engine) == cores


@pytest.mark.parametrize("key", ["threads", "worker_threads"])
def test_a_project_that_sets_threads_keeps_them(tmp_path: Path, key: str) -> None:
    settings = DuckDBSettings(settings={key: 3})
    with DuckDBEngine(tmp_path / "warehouse.duckdb", settings=settings) as engine:
        engine.steps_running(2)
        assert _threads(engine) == 3
        engine.steps_running(1)
        assert _threads(engine) == 3


@pytest.mark.slow
def test_a_model_built_alone_runs_on_every_core(project) -> None:
    root = project(
        {
            "models/upstream.sql": "select 1 as id",
            "models/alone.sql": (
                "select current_setting('threads')::int as threads, id from upstream"
            ),
        },
        'name = "shared"\nthreads = 2\n\n[defaults]\nmaterialized = "table"\n',
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    # `alone` waits for `upstream`, so nothing else runs while it does
    assert query(root / "warehouse.duckdb", "select threads from main.alone") == [(_cores(),)]


def test_sharing_never_fails_a_run_that_lost_its_connection(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "warehouse.duckdb")
    engine.steps_running(2)
    _threads(engine)
    engine.conn.close()  # as a run whose connection broke; its own error is what it reports
    engine.steps_running(0)
    engine.close()
    fresh = DuckDBEngine(tmp_path / "warehouse.duckdb")
    fresh.conn.close()  # broken before the first step: the setting cannot even be read
    fresh.steps_running(2)
    fresh.close()


@pytest.mark.slow
def test_a_build_says_how_many_steps_will_run_before_they_start(project, monkeypatch):
    """The engine hears how many steps will run before they start (Python assets too: they
    read and write through it, and their Python takes a core), and 0 at the end, also after
    a failure."""
    import teal

    heard: list[int] = []
    workers_at_first: list[str] = []
    real = DuckDBEngine.steps_running

    def listening(self: DuckDBEngine, count: int) -> None:
        if not heard:  # the pool makes its worker threads as steps are handed to it
            workers_at_first.extend(
                t.name for t in threading.enumerate() if t.name.startswith("teal_")
            )
        heard.append(count)
        real(self, count)

    monkeypatch.setattr(DuckDBEngine, "steps_running", listening)
    root = project(
        {
            "models/one.sql": "select 1 as id",
            "models/two.sql": "select 2 as id",
            "models/broken.sql": "select error('this model fails as it runs') as id",
            "models/from_python.py": (
                "import pyarrow as pa\n\nimport teal\n\n\n@teal.asset\n"
                "def from_python() -> pa.Table:\n    return pa.table({'id': [3]})\n"
            ),
        },
        'name = "shared"\n\n[defaults]\nmaterialized = "table"\n',
    )
    result = teal.build(root, threads=4)
    assert [r.model for r in result.failed] == ["broken"]
    # the four are ready at once and start together, after the engine heard of them
    assert heard[0] == 4
    assert workers_at_first == []
    assert heard[-1] == 0
