"""A notebook edits a Python model, or a helper module beside the models, and builds again
in the same process: the build runs the edited code, as a new process would. (The module a
model file ran as stays in ``sys.modules``; a build must not call that old copy.)"""

from __future__ import annotations

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
def test_an_edited_model_file_runs_its_new_code_after_a_reload(project):
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
