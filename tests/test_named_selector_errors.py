"""A mistake inside a named selector is reported where it is written: at its line and
column in the project config (``teal.toml:7:28``), with that line and a caret, whether the
selector is an expression, a list of them, or a table of its own; not at the
``--select selector:NAME`` flag that used it."""

from __future__ import annotations

import pytest

from teal.compiler.errors import SelectionError
from teal.runtime.session import Session
from tests.conftest import run_teal

CONFIG = """\
name = "shop"
models = "models"

[selectors]
nightly = "orders+ tag:"
listed = ["orders", "tag:"]
outer = "selector:nightly"
gone = "nosuch"

[selectors.tabled]
select = "orders"
exclude = "orders+ +"
"""
MODELS = {"models/orders.sql": "select 1 as id", "models/totals.sql": "select * from orders"}


@pytest.mark.parametrize(
    ("name", "line", "col", "text"),
    [
        ("nightly", 5, 20, 'nightly = "orders+ tag:"'),
        ("listed", 6, 22, 'listed = ["orders", "tag:"]'),
        ("outer", 5, 20, 'nightly = "orders+ tag:"'),  # the inner selector's mistake
        ("gone", 8, 9, 'gone = "nosuch"'),
        ("tabled", 12, 20, 'exclude = "orders+ +"'),
    ],
)
def test_the_mistake_is_at_its_line_in_the_config(project, name, line, col, text):
    root = project(MODELS, config=CONFIG)
    with Session.open(root) as session, pytest.raises(SelectionError) as info:
        session.plan(select=[f"selector:{name}"])
    error = info.value
    assert (error.path, error.line, error.col) == ("teal.toml", line, col), str(error)
    assert error.source_line == text
    assert error.message.startswith("in selector '"), error.message


@pytest.mark.slow
def test_the_command_line_says_where_and_exits_2(project):
    root = project(MODELS, config=CONFIG)
    result = run_teal("build", "-s", "selector:nightly", cwd=root)
    assert result.returncode == 2, result.output
    assert result.stderr.startswith(
        "teal.toml:5:20: in selector 'nightly': cannot parse selector 'tag:'"
    ), result.stderr
    assert '    nightly = "orders+ tag:"\n' + " " * 23 + "^\n" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (root / "warehouse.duckdb").exists()  # nothing built
