"""A notebook edits a Python model, or a helper module beside the models, and builds again
in the same process: the build runs the edited code, as a new process would. (The module a
model file ran as stays in ``sys.modules``; a build must not call that old copy.)"""

from __future__ import annotations

import os
import sys

import pytest

from teal.runtime.session import Session
from tests.conftest import query

NUMBERS = """
import pyarrow as pa
import teal

@teal.asset
def numbers():
    return pa.table({"n": list(range(%d))})
"""

SCALED = """
import pyarrow as pa
import teal
from helpers import FACTOR

@teal.asset
def scaled():
    return pa.table({"n": [FACTOR * i for i in range(3)]})
"""


@pytest.mark.slow
def test_an_edited_model_file_runs_its_new_code_after_a_reload(project, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # .pyc files, as most users have
    root = project({"models/numbers.py": NUMBERS % 3}, name="edited_model")
    session = Session.open(root)
    assert session.build()["numbers"].rows == 3
    (root / "models" / "numbers.py").write_text(NUMBERS % 5)
    session.reload()
    assert session.build()["numbers"].rows == 5
    with Session.open(root) as other:  # a second session of the process: the same
        (root / "models" / "numbers.py").write_text(NUMBERS % 7)
        assert other.build()["numbers"].rows == 7
    session.close()


@pytest.mark.slow
def test_an_edited_helper_module_is_imported_again(project):
    root = project({"models/scaled.py": SCALED, "helpers.py": "FACTOR = 1\n"}, name="edited_helper")
    with Session.open(root) as session:
        assert session.build().success
        (root / "helpers.py").write_text("FACTOR = 10\n")
        session.reload()
        assert session.build().success
    assert query(root / "warehouse.duckdb", "select list(n order by n) from main.scaled") == [
        ([0, 10, 20],)
    ]


@pytest.mark.slow
def test_an_edit_of_the_same_size_within_the_second_is_not_taken_from_a_stale_pyc(
    project, monkeypatch
):
    # Python takes a .pyc for current while its source keeps its size and modification
    # second: these edits keep both
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    # a helper name of its own: the other tests' projects put their folders on sys.path
    scaled = SCALED.replace("from helpers", "from same_size_helpers")
    root = project(
        {"models/scaled.py": scaled, "same_size_helpers.py": "FACTOR = 1\n"}, name="same_size"
    )
    helper = root / "same_size_helpers.py"
    with Session.open(root) as session:
        assert session.build().success
        assert list((root / "__pycache__").glob("same_size_helpers.*.pyc"))  # cached
        before = helper.stat().st_mtime_ns
        helper.write_text("FACTOR = 2\n")
        os.utime(helper, ns=(before, before))
        session.reload()
        assert session.build().success
        assert query(root / "warehouse.duckdb", "select list(n order by n) from main.scaled") == [
            ([0, 2, 4],)
        ]
        model = root / "models" / "scaled.py"
        before = model.stat().st_mtime_ns
        model.write_text(scaled.replace("range(3)", "range(4)"))
        os.utime(model, ns=(before, before))
        session.reload()
        assert session.build().success
    assert query(root / "warehouse.duckdb", "select list(n order by n) from main.scaled") == [
        ([0, 2, 4, 6],)
    ]


@pytest.mark.slow
def test_two_projects_in_one_process_each_import_their_own_helper_module(project):
    # both name it the same; the folder opened last came first on sys.path, and the helper
    # module of the first project to import it stayed in sys.modules for both
    scaled = SCALED.replace("from helpers", "from two_projects_helpers")
    roots = [
        project(
            {"models/scaled.py": scaled, "two_projects_helpers.py": f"FACTOR = {factor}\n"},
            name=name,
        )
        for name, factor in (("first", 1), ("second", 100))
    ]
    sessions = [Session.open(root) for root in roots]
    try:
        for _ in range(2):  # and back again: each build finds its own project's module
            for session, factor in zip(sessions, (1, 100)):
                assert session.build().success
                assert query(
                    session.config.warehouse_path, "select list(n order by n) from main.scaled"
                ) == [([0, factor, 2 * factor],)]
    finally:
        for session in sessions:
            session.close()
