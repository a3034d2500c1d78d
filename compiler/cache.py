"""Compile cache keyed by content hash (never by mtime), stored in ``.teal/cache/``.

Two kinds of entries, both plain data:

- ``parse:<hash of file text, plus vars/env when the file is a template>`` → what rendering
  and parsing found: inline config, the table references (name, db, catalog, line, col) and
  the rendered SQL;
- ``compile:<hash of the parse key and of every resolved reference's target>`` → the
  compiled SQL.

On a warm run with no edits nothing is rendered or parsed. The file is rewritten only when
something new was computed, atomically, keeping just the entries this load used (a
load of part of the project keeps the others too: ``keep_unused``).

>>> cache = CompileCache(None)
>>> cache.get("parse", "k") is None
True
>>> cache.put("parse", "k", {"refs": []}); cache.get("parse", "k")
{'refs': []}
>>> cache.hits, cache.misses
(1, 1)
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

from teal.compiler.replaced_files import replacing

VERSION = "7"  # 7: a missing column on a line Jinja changed is placed by its text; 6: a
# reference its columns qualify (raw.orders.id) is not plain; 5: parse entries carry output
# columns; 4: compiled SQL keeps the author's text


def content_key(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in (VERSION, *parts):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


class CompileCache:
    """A dict persisted as one pickle; not shared between threads.

    Saving keeps the entries this load used or made and drops the rest (what an edit made
    stale), unless ``keep_unused``: a load of part of the project (``teal compile -s``, a
    selected build's binding) keeps what the rest of the project will use again."""

    def __init__(self, path: Path | None, *, keep_unused: bool = False) -> None:
        self.path = path
        self.keep_unused = keep_unused
        self._old: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        self._fresh: dict[str, Any] = {}  # computed by another process of this load
        self._dirty = False
        self.hits = 0
        self.misses = 0
        if path is not None and path.is_file():
            try:
                with path.open("rb") as fh:
                    data = pickle.load(fh)
                if isinstance(data, dict) and data.get("version") == VERSION:
                    self._old = data.get("entries", {})
            except Exception:  # noqa: BLE001 - a corrupt cache is just a cold cache
                self._old = {}

    def get(self, kind: str, key: str) -> Any:
        full = f"{kind}:{key}"
        if full in self._used:
            self.hits += 1
            return self._used[full]
        if full in self._fresh:  # computed for this load, so not a hit
            self.misses += 1
            self._used[full] = self._fresh.pop(full)
            self._dirty = True
            return self._used[full]
        if full in self._old:
            self.hits += 1
            self._used[full] = self._old[full]
            return self._old[full]
        self.misses += 1
        return None

    def peek(self, kind: str, key: str) -> Any:
        """What :meth:`get` would return, without counting or keeping it (a look ahead)."""
        full = f"{kind}:{key}"
        for entries in (self._used, self._fresh, self._old):
            if full in entries:
                return entries[full]
        return None

    def has(self, kind: str, key: str) -> bool:
        full = f"{kind}:{key}"
        return full in self._used or full in self._old

    def keys(self) -> set[str]:
        return set(self._used)

    def entries_since(self, keys: set[str]) -> dict[str, Any]:
        """The entries put or used since :meth:`keys` returned ``keys``."""
        return {k: v for k, v in self._used.items() if k not in keys}

    def adopt(self, entries: dict[str, Any]) -> None:
        """Entries another process computed for this load (compiler.offload)."""
        self._fresh.update(entries)

    def put(self, kind: str, key: str, value: Any) -> None:
        self._used[f"{kind}:{key}"] = value
        self._dirty = True

    def save(self) -> None:
        """Write the entries used by this load (with ``keep_unused``, and the others), if
        anything new was computed."""
        if self.path is None or not (self._dirty or len(self._used) != len(self._old)):
            return
        if self.keep_unused and not self._dirty:
            return  # nothing new, and nothing to drop
        entries = {**self._old, **self._used} if self.keep_unused else self._used
        try:
            with replacing(self.path) as fh:
                pickle.dump(
                    {"version": VERSION, "entries": entries},
                    fh,
                    protocol=pickle.HIGHEST_PROTOCOL,
                )
        except OSError:
            pass  # a read-only project still compiles; it just stays cold
