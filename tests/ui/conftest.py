"""UI fixtures: a real `teal ui` process over a built copy of the example project, and
Chromium from Debian's package driven by Playwright (a test is skipped, saying why, only
where that browser or Playwright is missing on a developer's machine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_teal
from tests.test_example_project import copy_example


@dataclass
class UIServer:
    url: str
    root: Path
    process: subprocess.Popen[str]


def start_ui(root: Path, *args: str) -> UIServer:
    """`teal ui --port 0` in ``root``; returns once it printed the URL it serves."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPATH", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "teal.cli", "ui", "--port", "0", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    if " at http" not in first:
        process.kill()
        raise AssertionError(f"teal ui did not start: {first}{process.stdout.read()}")
    return UIServer(first.rsplit(" at ", 1)[1].strip(), root, process)


def stop_ui(server: UIServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


def built_example_ui(folder: Path, config: str = "") -> Iterator[UIServer]:
    """A module fixture's body: a copy of the example project in ``folder`` (``config``
    added to its pyproject.toml), built, served by `teal ui` until the module is done."""
    root = copy_example(folder)
    if config:
        with (root / "pyproject.toml").open("a") as written:
            written.write(config)
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    server = start_ui(root)
    try:
        yield server
    finally:
        stop_ui(server)


@pytest.fixture(scope="module")
def shop_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    yield from built_example_ui(tmp_path_factory.mktemp("ui") / "shop")


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    binary = chromium_path()
    if binary is None:
        pytest.skip("Chromium is not installed (bash scripts/test.sh installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"the page raised: {errors}"
