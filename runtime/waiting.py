"""Waiting for the warehouse: DuckDB lets one process open a file for writing, so a build
that finds it held may wait for it (``teal build --wait``, and always while this project's
daemon runs, whose queued runs wait the same way) instead of failing at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.config import ProjectConfig
from teal.compiler.errors import WarehouseBusy
from teal.compiler.sources import Source
from teal.warehouse.engine import Engine, open_engine

if TYPE_CHECKING:
    from teal.warehouse.duckdb.preopen import Preopened

DAEMON_WAIT_S = 600.0  # how long a build waits when this project's daemon runs
_FIRST_RETRY_S = 0.05
_MAX_RETRY_S = 1.0


def open_when_free(
    config: ProjectConfig,
    sources: dict[str, Source],
    wait: float | None,
    holder: Callable[[], str | None] = lambda: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    ahead: Preopened | None = None,
) -> Engine:
    """The warehouse, opened for writing; while another process holds it, retried (with a
    growing pause) for up to ``wait`` seconds, saying once what it waits for (``holder()``
    names the run holding it, when the run store knows). ``ahead``: the connection
    ``open_ahead`` started, taken by the first try when it opened."""
    if wait is None and daemon_running(config.root):
        wait = DAEMON_WAIT_S
    deadline = clock() + (wait or 0.0)
    pause = _FIRST_RETRY_S
    told = False
    while True:
        try:
            return open_engine(config, sources=sources, ahead=ahead)
        except WarehouseBusy as busy:
            if wait is None:
                raise WarehouseBusy(
                    busy.message,
                    path=busy.path,
                    hint="the same command with --wait waits for it (`teal runs` shows what runs)",
                ) from None
            left = deadline - clock()
            if left <= 0:
                raise WarehouseBusy(
                    f"{busy.message}: still held after waiting {wait:g} s",
                    path=busy.path,
                    hint="wait longer with --wait SECONDS, or see `teal runs` for what holds it",
                ) from None
            if not told:
                held_by = holder()
                logging.getLogger("teal").warning(
                    "waiting for the warehouse (up to %g s): %s",
                    wait,
                    f"run {held_by} holds it (teal runs show {held_by})"
                    if held_by
                    else busy.message,
                )
                told = True
            sleep(min(pause, left))
            pause = min(pause * 2, _MAX_RETRY_S)


def daemon_running(root: Path) -> bool:
    """Whether a ``teal daemon`` holds this project's daemon lock."""
    import fcntl

    path = root / ".teal" / "daemon.lock"
    if not path.exists():
        return False
    with path.open("r") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False
