"""The README's tour, run as a new user would: its first command builds the example, then
every command of "Commands to try next", in order, exits 0 on a copy of the project."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.conftest import REPO, run_teal
from tests.test_example_project import copy_example

pytestmark = pytest.mark.slow


def tour_commands() -> list[list[str]]:
    """The `teal ...` lines of the README's "Commands to try next" block, comments cut."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Commands to try next", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None, "the README's tour has no bash block"
    commands = []
    for line in block.group(1).splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "teal", line
            commands.append(words[1:])
    return commands


def test_the_readme_tour_runs_in_order(tmp_path):
    root = copy_example(tmp_path / "shop")
    first = run_teal("build", cwd=root)
    assert first.returncode == 0, first.output
    commands = tour_commands()
    assert len(commands) >= 10
    for args in commands:
        done = run_teal(*args, cwd=root)
        assert done.returncode == 0, f"teal {shlex.join(args)}\n{done.output}"
        assert "Traceback" not in done.output, shlex.join(args)
    # then, as the text under the block says, a day's order file lands and the daemon's
    # sensor rebuilds that day: with the tour done, the warehouse agrees with itself
    landing = root / "data" / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "orders_2025-03-01.csv").write_text("order_id\n1\n")
    done = run_teal("daemon", "--once", cwd=root)
    assert done.returncode == 0, done.output
    last = run_teal("runs", "show", "last", cwd=root)
    assert last.returncode == 0 and "orders" in last.output and "2025-03-01" in last.output
