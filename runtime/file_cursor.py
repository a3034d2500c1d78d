"""A file sensor's cursor: which files it has run, bounded by a horizon.

A file *landed* at the later of its modification time and its status-change time
(``st_ctime``): creating, writing, renaming or linking a file into a folder sets the
status-change time to the moment it happened, even when a copy keeps an old modification
time (``cp -p``, ``rsync -t``, ``shutil.copy2``). The cursor keeps

- ``mark``: the latest landing time among the files the sensor has run, never past the
  evaluation's "now" (a file dated in the future must not hide the files after it);
- ``files``: name -> (mtime, size, landed) of the files that landed within ``horizon`` of
  the mark; older ones are forgotten.

A file whose name and version (mtime, size) are not in ``files`` is new, unless it landed
more than ``horizon`` before the mark: such a file was there before the sensor forgot it
(on a local file system a file that appears later has a later status-change time).
Evaluating files in the order they landed keeps this true when a daemon is killed
between two files: the mark written with one file's tick is never past a file not yet
evaluated. So the cursor holds about ``horizon`` worth of files, however many land.

>>> c = FileCursor.parse(None)
>>> c.is_new("a.csv", 5, 1, 100), c.advanced("a.csv", 5, 1, 100, now=1_000, horizon=10).dump()
(True, '{"files": {"a.csv": [5, 1, 100]}, "mark": 100}')
>>> c = FileCursor.parse('{"files": {"a.csv": [5, 1, 100]}, "mark": 100}')
>>> c.is_new("a.csv", 5, 1, 100), c.is_new("old.csv", 3, 1, 80, horizon=10)
(False, False)
>>> c.advanced("b.csv", 7, 2, 200, now=1_000, horizon=10).dump()
'{"files": {"b.csv": [7, 2, 200]}, "mark": 200}'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

Version = tuple[int, int, int]  # mtime ns, size, landed ns


@dataclass(frozen=True)
class FileCursor:
    files: dict[str, Version] = field(default_factory=dict)
    mark: int | None = None  # None: nothing run yet (every file is new)

    @classmethod
    def parse(cls, text: str | None, now: int = 0) -> FileCursor:
        """The stored cursor; one written before the horizon existed (a flat mapping of
        name -> [mtime, size], every file ever seen) is read with each file landed ``now``
        and no mark, so nothing in it runs again and no file is skipped as old until a
        new file moves the mark on."""
        data = json.loads(text) if text else {}
        if isinstance(data.get("files"), dict):
            files = {str(k): (int(v[0]), int(v[1]), int(v[2])) for k, v in data["files"].items()}
            mark = data.get("mark")
            return cls(files, int(mark) if mark is not None else None)
        return cls({str(k): (int(v[0]), int(v[1]), now) for k, v in data.items()}, None)

    def is_new(
        self, name: str, mtime: int, size: int, landed: int, *, horizon: int | None = None
    ) -> bool:
        """Whether the file at this version was never run (a file that landed more than
        ``horizon`` before the mark was run, or there before the sensor, and forgotten)."""
        known = self.files.get(name)
        if known is not None and known[:2] == (mtime, size):
            return False
        return not (horizon is not None and self.mark is not None and landed < self.mark - horizon)

    def advanced(
        self, name: str, mtime: int, size: int, landed: int, *, now: int, horizon: int
    ) -> FileCursor:
        """The cursor once this file's run is asked for: the mark moved to its landing
        (at most ``now``), and the files that landed before the new horizon forgotten."""
        mark = max(self.mark or 0, min(landed, now))
        files = {**self.files, name: (mtime, size, landed)}
        return FileCursor({k: v for k, v in files.items() if v[2] >= mark - horizon}, mark)

    def dump(self) -> str:
        return json.dumps({"files": self.files, "mark": self.mark}, sort_keys=True)
