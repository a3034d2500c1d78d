"""What a Python asset prints (stdout, stderr, the stdlib logging's last-resort lines) is
kept as log lines of its step, as Dagster keeps a step's compute logs: ``teal logs``,
``teal runs show`` and the UI show it, and the terminal still gets it."""

from __future__ import annotations

import csv
import json
import sys
import threading
from pathlib import Path

import pytest

from teal.runtime import step_output
from tests.conftest import run_teal, write_project

PRINTS = """
import logging
import sys

import pyarrow as pa
import teal

log = logging.getLogger(__name__)


@teal.asset
def chatty() -> pa.Table:
    print("fetched 3 pages")
    print("retrying page 2", file=sys.stderr)
    log.warning("slow response from the API")
    sys.stdout.write("10%\\r50%\\r100%")  # a progress bar: no line end
    return pa.table({"x": [1]})
"""


@pytest.mark.slow
def test_an_assets_print_lines_are_in_the_run_log(tmp_path: Path):
    root = write_project(
        tmp_path / "proj", {"models/chatty.py": PRINTS, "models/a.sql": "select 1 as x"}
    )
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    assert "fetched 3 pages" in built.stdout  # the terminal still gets it
    assert "retrying page 2" in built.stderr
    logs = run_teal("logs", "last", "--json", cwd=root)
    lines = [json.loads(line) for line in logs.stdout.splitlines()]
    printed = [(e["model"], e["level"], e["message"]) for e in lines if e["kind"] == "log"]
    assert printed == [
        ("chatty", "stdout", "fetched 3 pages"),
        ("chatty", "stderr", "retrying page 2"),
        ("chatty", "stderr", "slow response from the API"),
        ("chatty", "stdout", "100%"),  # what the terminal showed last
    ]
    shown = run_teal("runs", "show", "last", cwd=root).stdout
    assert "STDOUT" in shown and "fetched 3 pages" in shown


def test_only_the_asset_threads_lines_are_kept_and_capped():
    kept: list[tuple[str, str, str]] = []
    with step_output.teeing(lambda *line: kept.append(line)):
        print("teal's own progress line")  # not inside an asset: passes through only

        def asset() -> None:
            with step_output.calling("m", lambda text: text.replace("s3cret", "***")):
                for n in range(step_output.MAX_LINES + 5):
                    print(f"line {n} s3cret")

        thread = threading.Thread(target=asset)
        thread.start()
        thread.join()
    assert not isinstance(sys.stdout, step_output._Tee)  # the stream is put back
    assert len(kept) == step_output.MAX_LINES + 1
    assert kept[0] == ("m", "stdout", "line 0 ***")
    assert kept[-1] == ("m", "stderr", "... 5 more lines of output not recorded")


def test_a_line_ended_with_crlf_is_kept():
    kept: list[tuple[str, str, str]] = []
    with step_output.teeing(lambda *line: kept.append(line)):

        def asset() -> None:
            with step_output.calling("m", None):
                csv.writer(sys.stdout).writerow(["id", "name"])  # the csv module ends rows \r\n
                sys.stdout.write("10%\r50%\r100%\r\n")  # a progress bar ended as Windows does

        thread = threading.Thread(target=asset)
        thread.start()
        thread.join()
    assert kept == [("m", "stdout", "id,name"), ("m", "stdout", "100%")]


def test_an_asset_printing_with_no_stdout_does_not_fail(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)  # pythonw, or a process started with fd 1 closed
    kept: list[tuple[str, str, str]] = []
    raised: list[BaseException] = []
    with step_output.teeing(lambda *line: kept.append(line)):
        assert sys.stdout is None  # code that tests for a terminal still finds none

        def asset() -> None:
            with step_output.calling("m", None):
                try:
                    print("nowhere to go")  # a no-op, as without teal
                    print("said", file=sys.stderr)
                except BaseException as exc:  # noqa: BLE001 - the test reports it
                    raised.append(exc)

        thread = threading.Thread(target=asset)
        thread.start()
        thread.join()
    assert raised == []
    assert kept == [("m", "stderr", "said")]
    assert sys.stdout is None
