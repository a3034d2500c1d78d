"""``teal build -s a b`` selects a and b, as dbt reads it (``-s a -s b``); it was click's
bare "Got unexpected extra argument (b)" (teal/cli_spread.py; tests/test_cli_spread.py
has a dbt project's). Here: teal's own build command, and a teal project end to end."""

from __future__ import annotations

import json

import pytest

from teal.cli import main
from teal.cli_spread import spread_option_values
from tests.conftest import run_teal


def _command(name: str):
    import click

    ctx = click.Context(main)
    found = main.get_command(ctx, name)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("args", "spread"),
    [
        (["-s", "a", "b"], ["-s", "a", "-s", "b"]),
        (["--select", "a+", "tag:x", "--threads", "2"], ["--select", "a+", "--select", "tag:x", "--threads", "2"]),
        (["--select=a", "b"], ["--select=a", "--select", "b"]),
        (["-s", "a", "--exclude", "b", "c", "-x"], ["-s", "a", "--exclude", "b", "--exclude", "c", "-x"]),
        (["--threads", "4", "-s", "a"], ["--threads", "4", "-s", "a"]),  # other values stay
        (["-s", "a", "--", "b"], ["-s", "a", "--", "b"]),
        (["--selector", "nightly", "weekly"], ["--selector", "nightly", "--selector", "weekly"]),
    ],
)  # fmt: skip
def test_the_words_after_a_selection_are_more_of_it(args, spread):
    assert spread_option_values(_command("build"), args) == spread


@pytest.mark.slow
def test_build_and_ls_take_several_words_after_s(project):
    root = project(
        {
            "models/a.sql": "select 1 as id",
            "models/b.sql": "select 2 as id",
            "models/c.sql": "select * from a",
        }
    )
    listed = run_teal("ls", "-s", "a", "b", "--json", cwd=root)
    assert listed.returncode == 0, listed.output
    assert sorted(m["name"] for m in json.loads(listed.stdout)) == ["a", "b"]
    built = run_teal("build", "-s", "a+", "b", "--exclude", "c", "--json", cwd=root)
    assert built.returncode == 0, built.output
    assert sorted(r["model"] for r in json.loads(built.stdout)["results"]) == ["a", "b"]
