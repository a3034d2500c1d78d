"""What a Python asset writes through ``context.log`` (and an I/O manager through its
context's ``log``) reaches the build output and the run store the same way whether the run
has EnvVar secrets to hide or not: ``log.exception`` keeps its traceback, a mapping
argument formats as logging formats it, and a message whose arguments do not fit it is
kept rather than failing the asset. An I/O manager's log lines and load errors hide the
run's secrets, as an asset's do.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_teal, write_project

pytestmark = pytest.mark.slow

SECRET = "tok-51c7e2a90b"

LOGGING = """
import pyarrow as pa
import teal


@teal.asset
def logs_things(context{extra}) -> pa.Table:
    try:
        {{}}["missing"]
    except KeyError:
        context.log.exception("lookup failed")
    context.log.info("region %(region)s", {{"region": "eu"}})
    context.log.info("rows %d", "many")
    return pa.table({{"x": [1]}})
"""

RESOURCES_PY = """
import teal


class Api(teal.Resource):
    token: str


resources = {"api": Api(token=teal.EnvVar("API_TOKEN"))}
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "API_TOKEN")}
    env["API_TOKEN"] = SECRET
    return env


@pytest.mark.parametrize("with_secret", [False, True], ids=["no-secrets", "secrets"])
def test_log_lines_are_the_same_with_and_without_secrets(tmp_path: Path, with_secret: bool):
    files = {"models/m.py": LOGGING.format(extra=", api" if with_secret else "")}
    if with_secret:
        files["resources.py"] = RESOURCES_PY
    root = write_project(tmp_path / "proj", files)
    built = run_teal("build", cwd=root, env=_env())
    # a log call never fails the asset (with secrets it raised TypeError into it)
    assert built.returncode == 0, built.output
    assert "Logging error" not in built.output
    logs = run_teal("logs", "last", cwd=root, env=_env())
    for text in (built.stdout, logs.stdout):
        assert "lookup failed\nTraceback (most recent call last):" in text, text
        assert "KeyError: 'missing'" in text  # log.exception keeps its traceback
        assert "region eu" in text
        assert "rows %d ('many',)" in text


MANAGER = """
import pyarrow as pa
import teal


class Store(teal.IOManager):
    token: str

    def save(self, context: teal.IOContext, data: pa.Table) -> None:
        context.log.info("saving with token %s", self.token)

    def load(self, context: teal.IOContext) -> pa.Table:
        context.log.info("loading with token %s", self.token)
        raise PermissionError(f"401 for token {self.token}")
"""

MANAGED = """
import pyarrow as pa
import teal


@teal.asset(io_manager="store")
def kept() -> pa.Table:
    return pa.table({"x": [1]})


@teal.asset
def reader(kept: pa.Table) -> pa.Table:
    return kept
"""


def test_an_io_managers_log_lines_and_load_errors_hide_its_secret(tmp_path: Path):
    config = (
        'name = "managed"\nthreads = 1\n'
        '[resources.store]\nclass = "io_managers.py:Store"\ntoken = { env = "API_TOKEN" }\n'
    )
    root = write_project(
        tmp_path / "proj", {"io_managers.py": MANAGER, "models/m.py": MANAGED}, config
    )
    built = run_teal("build", cwd=root, env=_env())
    assert built.returncode == 1, built.output
    assert "saving with token EnvVar('API_TOKEN')" in built.stdout
    assert "load of 'kept' raised PermissionError: 401 for token EnvVar('API_TOKEN')" in (
        built.output
    )
    shown = run_teal("runs", "show", "last", cwd=root, env=_env())
    logs = run_teal("logs", "last", cwd=root, env=_env())
    assert "loading with token EnvVar('API_TOKEN')" in logs.stdout
    for text in (built.output, shown.output, logs.output):
        assert SECRET not in text
