"""A build from a notebook or a script leaves the caller's process as it found it: its
logging configuration, signal handlers, working folder, environment and threads."""

from __future__ import annotations

import logging
import os
import signal
import threading

import pytest

from teal.runtime.session import Session

LOGS = """
import pyarrow as pa
import teal

@teal.asset
def logged(context: teal.AssetContext):
    context.log.info("logged says hello")
    return pa.table({"n": [1]})
"""


def _logging_state() -> dict[str, tuple[int, int]]:
    """The level and handler count of the root logger, teal's loggers (made now if need
    be, as a process that never built has them) and those of assets' log lines."""
    names = ["", "teal", "teal.asset", "teal.asset.logged"]
    return {n: (logging.getLogger(n).level, len(logging.getLogger(n).handlers)) for n in names}


@pytest.mark.slow
def test_a_build_leaves_logging_signals_cwd_environment_and_threads_as_they_were(project):
    root = project({"models/logged.py": LOGS})
    before = (
        _logging_state(),
        signal.getsignal(signal.SIGINT),
        signal.getsignal(signal.SIGTERM),
        os.getcwd(),
        dict(os.environ),
        threading.active_count(),
    )
    with Session.open(root) as session:
        result = session.build()
        assert result.success
        logs = session.run_store().events(result.run_id)  # the line was still recorded
        assert any("logged says hello" in (e.message or "") for e in logs)
    after = (
        _logging_state(),
        signal.getsignal(signal.SIGINT),
        signal.getsignal(signal.SIGTERM),
        os.getcwd(),
        dict(os.environ),
        threading.active_count(),
    )
    assert after == before
