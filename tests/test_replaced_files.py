"""Files teal keeps or writes for other tools are replaced whole, by writers that never share
a temporary file, and what a killed writer left is cleaned up later."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from teal.compiler.replaced_files import ORPHANED_AFTER, remove_orphans, replace_with, replacing


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_beside_it(tmp_path):
    path = tmp_path / "manifest.json"
    replace_with(path, '{"old": true}')
    with pytest.raises(RuntimeError), replacing(path) as fh:
        fh.write(b'{"new": ')
        raise RuntimeError("the writer failed half way")
    assert json.loads(path.read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_writers_on_several_threads_each_leave_a_whole_file(tmp_path):
    # the same fixed temporary name for all of them interleaved their bytes or failed the rename
    path = tmp_path / "target" / "run_results.json"
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(30):
                replace_with(path, json.dumps({"writer": n, "rows": list(range(2000))}))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads(path.read_text())["rows"][-1] == 1999
    assert sorted(p.name for p in path.parent.iterdir()) == ["run_results.json"]


def test_files_a_killed_writer_left_are_removed_once_old(tmp_path):
    path = tmp_path / "project.pickle"
    killed = tmp_path / "project.pickle.4242.1.tmp"  # a writer killed before its rename
    killed.write_bytes(b"half")
    recent = tmp_path / "project.pickle.4343.1.tmp"  # maybe a writer at work right now
    recent.write_bytes(b"half")
    other = tmp_path / "compile.pickle.4242.1.tmp"  # another file's: not this writer's business
    other.write_bytes(b"half")
    long_ago = time.time() - ORPHANED_AFTER - 60
    os.utime(killed, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    replace_with(path, b"whole")
    assert path.read_bytes() == b"whole"
    assert not killed.exists()
    assert recent.exists() and other.exists()
    assert remove_orphans(tmp_path / "compile.pickle") == [other]
