"""The journal, swap and recovery of ``teal.warehouse.files`` on their own (no warehouse):
a publication stops at every step and recovery puts the old or the new files in place,
as the ``committed`` answer says, whichever way the swap was done."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from teal.warehouse import files


def tree(path: Path) -> dict[str, str]:
    if path.is_file():
        return {path.name: path.read_text()}
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


def publication(tmp_path: Path, keys: list[str] | None = None) -> files.Publication:
    return files.Publication(
        tmp_path / "w.journal", str(tmp_path / "lake" / "t"), model="t", run_id="r", keys=keys
    )


def old_location(tmp_path: Path) -> Path:
    location = tmp_path / "lake" / "t"
    (location / "a").mkdir(parents=True)
    (location / "a" / "data_0.parquet").write_text("old a")
    (location / "b").mkdir()
    (location / "b" / "data_0.parquet").write_text("old b")
    return location


def stage(pub: files.Publication, relative: str, text: str) -> None:
    path = pub.unit(relative)
    path.mkdir(parents=True, exist_ok=True)
    (path / "data_0.parquet").write_text(text)


def test_exchange_swaps_two_folders_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("A")
    (b / "f").write_text("B")
    if not files.exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert (a / "f").read_text() == "B" and (b / "f").read_text() == "A"


@pytest.mark.parametrize("exchange", [True, False])
def test_a_publication_swaps_only_its_units_and_cleans_up(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setenv("TEAL_NO_EXCHANGE", "1")
    location = old_location(tmp_path)
    inode_b = (location / "b").stat().st_ino
    pub = publication(tmp_path, ["a"])
    pub.begin()
    stage(pub, "a", "new a")
    pub.publish(".parquet")
    assert tree(location) == {"a/data_0.parquet": "new a", "b/data_0.parquet": "old b"}
    pub.finish()
    assert (location / "b").stat().st_ino == inode_b
    assert sorted(os.listdir(tmp_path / "lake")) == ["t"]  # no work folder left
    assert not (tmp_path / "w.journal").exists() or not list((tmp_path / "w.journal").iterdir())


def test_undo_puts_the_old_files_back_and_an_empty_stage_empties_the_unit(tmp_path):
    location = old_location(tmp_path)
    pub = publication(tmp_path, ["a", "b"])
    pub.begin()
    stage(pub, "a", "new a")
    pub.unit("b")  # partition b returned no rows: its folder goes
    pub.publish(".parquet")
    assert tree(location) == {"a/data_0.parquet": "new a"}
    pub.undo()
    assert tree(location) == {"a/data_0.parquet": "old a", "b/data_0.parquet": "old b"}


STEPS = ["begun", "staged", "journaled", "half-swapped", "swapped", "finished-half"]


@pytest.mark.parametrize("committed", [False, True])
@pytest.mark.parametrize("step", STEPS)
def test_recovery_after_a_kill_at_any_step(tmp_path, step, committed):
    """Each step of a publication, then the process "dies" (the Publication object is
    dropped with whatever it left): recovery gives old or new, as ``committed`` says."""
    location = old_location(tmp_path)
    old, new = tree(location), {"a/data_0.parquet": "new a", "b/data_0.parquet": "new b"}
    pub = publication(tmp_path)
    pub.begin()
    if step != "begun":
        path = pub.unit("")
        for key in ("a", "b"):
            (path / key).mkdir(parents=True, exist_ok=True)
            (path / key / "data_0.parquet").write_text(f"new {key}")
    if step in ("journaled", "half-swapped", "swapped", "finished-half"):
        unit = pub.units[0]
        unit.old, unit.new = (unit.final.stat().st_ino, unit.stage.stat().st_ino)
        pub.journal.phase, pub.journal.units = "publishing", pub.units
        pub.journal.write()
        if step == "half-swapped":
            unit.backup.parent.mkdir(parents=True, exist_ok=True)
            os.replace(unit.final, unit.backup)
        elif step in ("swapped", "finished-half"):
            unit.swap()
        if step == "finished-half":  # committed, then killed while removing the old files
            committed = True
    done = files.recover(tmp_path / "w.journal", lambda token: committed)
    assert len(done) == 1
    publishing = step not in ("begun", "staged")
    if not publishing:
        assert done[0].outcome == "cleaned" and tree(location) == old
    else:
        assert done[0].outcome == ("kept new" if committed else "restored old")
        assert tree(location) == (new if committed else old)
    assert sorted(os.listdir(tmp_path / "lake")) == ["t"]
    assert not (tmp_path / "w.journal").exists()
    # recovering again finds nothing: it is idempotent
    assert files.recover(tmp_path / "w.journal", lambda token: committed) == []


def test_temporaries_no_journal_knows_are_removed_by_the_next_publication(tmp_path):
    old_location(tmp_path)
    stray = files.work_dir(tmp_path / "lake" / "t") / "stage-deadbeef"
    stray.mkdir(parents=True)
    (stray / "x.parquet").write_text("half")
    pub = publication(tmp_path)
    pub.begin()
    assert not stray.exists()
    pub.undo()
