"""Files replaced whole: written beside their place, then renamed over it.

Every file teal keeps for the next command (``.teal/cache/``) or writes for other tools
(``target/``) is replaced this way, so a reader sees the old file or the new one, never
half of one. The file written first has a name of its own process and thread: two commands
run at once (a build and ``teal compile``, the UI planning on several threads) never write
into one another's file. A writer killed before its rename leaves that file behind; the next
write of the same file removes the ones older than ``ORPHANED_AFTER``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

# a file being written is renamed within seconds: one this old was left by a killed writer
ORPHANED_AFTER = 3600.0
SUFFIX = ".tmp"


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A file to write ``path``'s new content to; it replaces ``path`` when the block ends
    without an exception (and is removed when it raises). Its folder is made if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writing = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}{SUFFIX}")
    try:
        with writing.open("wb") as fh:
            yield fh
        os.replace(writing, path)
    except BaseException:
        with contextlib.suppress(OSError):
            writing.unlink()
        raise
    remove_orphans(path)


def replace_with(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8)."""
    with replacing(path) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


def remove_orphans(path: Path, now: float | None = None) -> list[Path]:
    """Remove the files that writers of ``path`` left unfinished more than
    ``ORPHANED_AFTER`` seconds ago; the ones removed."""
    prefix = f"{path.name}."
    cutoff = (time.time() if now is None else now) - ORPHANED_AFTER
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(SUFFIX)):
            continue
        with contextlib.suppress(OSError):
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
