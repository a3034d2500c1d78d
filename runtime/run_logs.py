"""The output files of launched runs (``.teal/logs/RUN.log``: what ``teal launch RUN``
printed, for the runs the daemon and ``teal ui`` start) are kept as long as run history
is (``run_retention``): without this the folder gains a file per launched run forever (a
sensor launching a run a minute makes half a million files a year).

Pruned by the launcher before it writes a new file, so the folder never holds more than
the newest ``runs`` files and none older than ``days``: one ``scandir`` per launch.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO

DAY_S = 86_400


def prune_run_logs(folder: Path, retention: tuple[int, int], now: float | None = None) -> int:
    """Delete the ``*.log`` files in ``folder`` last written more than ``retention[0]`` days
    before ``now`` (epoch seconds), and all but the newest ``retention[1] - 1`` others (room
    for the file about to be written); how many were deleted."""
    days, runs = retention
    cutoff = (time.time() if now is None else now) - days * DAY_S
    try:
        found = [
            (entry.stat().st_mtime, entry.path)
            for entry in os.scandir(folder)
            if entry.name.endswith(".log") and entry.is_file()
        ]
    except OSError:  # no folder yet, or one we cannot read: nothing to prune
        return 0
    found.sort(reverse=True)  # newest first
    doomed = [path for n, (mtime, path) in enumerate(found) if mtime < cutoff or n >= runs - 1]
    deleted = 0
    for path in doomed:
        try:
            os.unlink(path)
            deleted += 1
        except OSError:  # gone already (another launcher pruned it), or not ours to delete
            continue
    return deleted


def open_run_log(root: Path, run_id: str, retention: tuple[int, int]) -> IO[bytes]:
    """``.teal/logs/RUN.log`` of project ``root``, open for the launched process's output,
    the files past ``retention`` deleted first."""
    folder = root / ".teal" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    prune_run_logs(folder, retention)
    return (folder / f"{run_id}.log").open("wb")
