"""The output files of launched runs (``.teal/logs/RUN.log``: what ``teal launch RUN``
printed, for the runs the daemon and ``teal ui`` start) are kept as long as run history
is (``run_retention``): without this the folder gains a file per launched run forever (a
sensor launching a run a minute makes half a million files a year).

Pruned by the launcher before it writes a new file, so the folder never holds more than
the newest ``runs`` files and none older than ``days``: one ``scandir`` per launch. The
log of a run still in progress is never deleted (another launcher's run may be writing
it, and a run that fails later points at it), as the run store never deletes such a run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from teal.runtime.runstore import RunStore

DAY_S = 86_400


def prune_run_logs(
    folder: Path,
    retention: tuple[int, int],
    now: float | None = None,
    keep: Collection[str] = (),
) -> int:
    """Delete the ``*.log`` files in ``folder`` last written more than ``retention[0]`` days
    before ``now`` (epoch seconds), and all but the newest ``retention[1] - 1`` others (room
    for the file about to be written), except the logs of the runs ``keep`` (in progress);
    how many were deleted."""
    days, runs = retention
    cutoff = (time.time() if now is None else now) - days * DAY_S
    try:
        found = [
            (entry.stat().st_mtime, entry.path)
            for entry in os.scandir(folder)
            if entry.name.endswith(".log") and entry.is_file() and entry.name[:-4] not in keep
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


def open_run_log(
    root: Path, run_id: str, retention: tuple[int, int], store: RunStore | None = None
) -> IO[bytes]:
    """``.teal/logs/RUN.log`` of project ``root``, open for the launched process's output,
    the files past ``retention`` deleted first (but those of ``store``'s runs in progress)."""
    folder = root / ".teal" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    prune_run_logs(folder, retention, keep=in_progress(store) if store is not None else ())
    return (folder / f"{run_id}.log").open("wb")


def in_progress(store: RunStore) -> set[str]:
    """The runs of ``store`` not finished: queued, started or being canceled."""
    from teal.runtime.runstore import RunStatus

    unfinished = [s for s in RunStatus if not s.finished]
    return {run.run_id for run in store.runs(status=unfinished, limit=100_000)}
