"""Shared helpers: write small projects into tmp folders and run the real CLI on them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_teal(
    *args: str, cwd: Path | str, env: dict[str, str] | None = None, timeout: float = 300
) -> Completed:
    """Run ``python -m teal.cli <args>`` in a subprocess (the installed console script's code)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [sys.executable, "-m", "teal.cli", *args],
        cwd=str(cwd),
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds (a condition, not a fixed wait); the test fails
    naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def spawn_teal(*args: str, cwd: Path | str, **popen: Any) -> subprocess.Popen[str]:
    """``python -m teal.cli <args>`` started in a process of its own, stdout and stderr
    one text pipe, with neither PYTHONPATH nor the caller's TEAL_RUN_STORE (a build a test
    stops, kills or watches while it runs); ``popen``: more ``subprocess.Popen`` options."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TEAL_RUN_STORE")}
    return subprocess.Popen(
        [sys.executable, "-m", "teal.cli", *args],
        cwd=str(cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        **popen,
    )


def write_project(root: Path, files: dict[str, str], config: str | None = None) -> Path:
    """Create a project: ``teal.toml`` (``config`` or a default) plus ``files`` (dedented)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "teal.toml").write_text(
        textwrap.dedent(config) if config is not None else 'name = "fixture"\nthreads = 2\n',
        encoding="utf-8",
    )
    (root / "models").mkdir(exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def query(db: Path | str, sql: str) -> list[tuple]:
    """Read from a warehouse file (read-only) after a build has finished."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


UPDATE_GOLDEN = "--update-golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        UPDATE_GOLDEN,
        action="store_true",
        default=False,
        help="rewrite golden files (tests/golden/*/expected.txt, expected SQL in "
        "tests/fixtures/*.sql) from what the code produces now; review the diff before committing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite expected files (``--update-golden``)."""
    return bool(request.config.getoption(UPDATE_GOLDEN))


def missing_golden(what: str, test_file: str) -> str:
    """The failure message for an expected file or statement that does not exist yet."""
    return (
        f"{what} is missing. If the output is right, write it with "
        f"`python -m pytest {test_file} {UPDATE_GOLDEN}` and review the diff before committing."
    )


def assert_golden(expected_file: Path, got: str, *, update: bool, test_file: str) -> None:
    """``got`` equals the text of ``expected_file``; with ``--update-golden``, write it first.

    A missing file fails (it is never written silently), so deleting an expected file
    cannot make a golden test pass."""
    if update:
        expected_file.write_text(got, encoding="utf-8")
    rel = expected_file.relative_to(REPO)
    if not expected_file.exists():
        pytest.fail(missing_golden(str(rel), test_file), pytrace=False)
    assert got == expected_file.read_text(encoding="utf-8"), (
        f"{rel} differs from what the code produces now; if the change is intended, rewrite "
        f"it with `python -m pytest {test_file} {UPDATE_GOLDEN}` and review the diff"
    )


@pytest.fixture
def project(tmp_path: Path):
    """``project(files, config=None)`` -> project root in a fresh tmp folder."""

    def make(files: dict[str, str], config: str | None = None, name: str = "proj") -> Path:
        return write_project(tmp_path / name, files, config)

    return make


# Property tests assert behaviour, never speed: no per-example deadline (a loaded CI machine
# must not turn a slow example into a failure).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("teal", deadline=None)
_hypothesis_settings.load_profile("teal")


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One local Spark session (2 cores) for every Spark test of the run: the JVM starts
    once. Its metastore lives in a tmp folder; engines put their databases elsewhere."""
    from tests.spark_support import start_test_session

    session = start_test_session(tmp_path_factory.mktemp("spark-session"))
    yield session
    session.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Spark tests run last. A local Spark session leaves its JVM gateway's threads in
    the test process for the rest of the run, and teal forks (the parse-ahead, writes
    behind) only when it is the process's one thread, so the tests of forking must run
    before the session starts."""
    items.sort(key=lambda item: item.get_closest_marker("spark") is not None)
