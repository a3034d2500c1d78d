"""A Python file under the models folder that fails to import is a located error from
`teal compile` too, and also when the file declares no asset."""

from __future__ import annotations

import pytest

from tests.conftest import run_teal

pytestmark = pytest.mark.slow

ASSET_WITH_BAD_IMPORT = """import teal
import nonexistent_module_for_teal_tests


@teal.asset
def b():
    return None
"""


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            ASSET_WITH_BAD_IMPORT,
            2,
            "ModuleNotFoundError: No module named 'nonexistent_module_for_teal_tests'",
        ),
        ("import teal\n\nRATE = 1 / 0\n", 3, "ZeroDivisionError: division by zero"),  # no asset
        ("import teal\n\ndef broken(:\n    pass\n", 3, "Python syntax error"),
    ],
)
def test_compile_imports_every_python_file(project, text, line, message):
    root = project({"models/a.sql": "select 1 as x", "models/b.py": text})
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2, done.output
    assert f"models/b.py:{line}" in done.stderr and message in done.stderr, done.stderr
    assert "Traceback" not in done.output
    (root / "models" / "b.py").write_text("import teal\n\nRATE = 1\n")
    fixed = run_teal("compile", cwd=root)
    assert fixed.returncode == 0, fixed.output
