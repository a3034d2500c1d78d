"""The snapshot key's digest of the project's files is kept with each file's size, times,
inode and device (compiler/snapshot.py ``_files_digest``): while none of those moved, no
file is read. What a user must not notice: any edit still changes the key, however it
keeps the file's size and modification time, and an edit in the same clock tick as the
last look is never missed. The clock is moved forward by hand, never slept on."""

from __future__ import annotations

import os
import time

import pytest

from teal.compiler import snapshot
from teal.compiler.config import load_config
from teal.compiler.project import load_project

FILES = {
    "models/a.sql": "select 1 as x\n",
    "models/b.sql": "select x + 1 as y from a\n",
    "models/schema.yml": "models:\n  - name: b\n    description: one more\n",
}


@pytest.fixture
def later(monkeypatch):
    """The clock 10 s ahead: the files written by the test are no longer 'just changed'."""
    real = time.time_ns
    monkeypatch.setattr(snapshot.time, "time_ns", lambda: real() + 10_000_000_000)


def _key(root) -> tuple[str | None, dict[str, bytes]]:
    contents: dict[str, bytes] = {}
    found = snapshot.key(load_config(root), contents)
    return found, contents


def test_the_kept_digest_is_taken_while_no_file_moved(project, later) -> None:
    root = project(FILES)
    first, read = _key(root)
    assert len(read) == 3  # read once, and the index kept
    again, read_again = _key(root)
    assert again == first and read_again == {}  # nothing read


def test_an_edit_that_keeps_size_and_modification_time_changes_the_key(project, later) -> None:
    root = project(FILES)
    first, _ = _key(root)
    path = root / "models/a.sql"
    before = path.stat()
    path.write_text("select 2 as x\n")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same modification time
    assert path.stat().st_size == before.st_size
    edited, read = _key(root)
    assert edited != first and len(read) == 3
    (root / ".teal/cache/inputs.pickle").unlink()
    assert _key(root)[0] == edited  # the same key as one computed from the text alone


def test_a_file_changed_just_now_is_read_every_time(project) -> None:
    root = project(FILES)  # written a moment ago: within the racy window
    first, read = _key(root)
    assert len(read) == 3
    assert not (root / ".teal/cache/inputs.pickle").exists()
    again, read_again = _key(root)
    assert again == first and len(read_again) == 3


def test_new_and_removed_files_change_the_key(project, later) -> None:
    root = project(FILES)
    first, _ = _key(root)
    (root / "models/c.sql").write_text("select y from b\n")
    added, read = _key(root)
    assert added != first and len(read) == 4
    (root / "models/c.sql").unlink()
    assert _key(root)[0] == first


def test_the_environment_still_counts_for_files_that_read_it(project, later, monkeypatch) -> None:
    root = project({**FILES, "models/e.sql": "select '{{ env_var(\"TEAL_T_REGION\") }}' as r\n"})
    monkeypatch.setenv("TEAL_T_REGION", "eu")
    eu, _ = _key(root)
    monkeypatch.setenv("TEAL_T_REGION", "us")
    us, read = _key(root)
    assert us != eu and read == {}  # the digest of the files was kept; the environment moved


def test_a_load_after_an_indexed_key_reads_what_it_needs(project, later) -> None:
    root = project(FILES)
    _key(root)  # the index is kept, and no project is stored
    loaded = load_project(root)
    assert sorted(loaded.models) == ["a", "b"] and "snapshot" not in loaded.stats
    assert loaded.models["b"].upstreams == ("a",)
    assert load_project(root).stats.get("snapshot") == 1  # stored under the same key
    (root / "models/b.sql").write_text("select x + 2 as y from a\n")
    edited = load_project(root)
    assert "snapshot" not in edited.stats and "x + 2" in edited.models["b"].compiled_sql
