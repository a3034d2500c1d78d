"""dbt's ``-s a b --exclude c d``: the words after a selection flag are each one of its
values (click alone failed with "Got unexpected extra argument (b)")."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import teal.cli_spread
from teal.cli_spread import spread_option_values
from tests.conftest import run_teal
from tests.test_dbt_front_end import dbt_project


def test_the_module_examples_pass() -> None:
    assert doctest.testmod(teal.cli_spread).failed == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-s", "a", "b"], ["-s", "a", "-s", "b"]),
        (["--exclude", "a", "b", "-s", "c"], ["--exclude", "a", "--exclude", "b", "-s", "c"]),
        (["--select=a", "b"], ["--select=a", "--select", "b"]),
        # an option that is not spread keeps its one value; a stray word stays stray
        (["-s", "a", "--target", "ci", "b"], ["-s", "a", "--target", "ci", "b"]),
        (["-s", "a", "--", "b"], ["-s", "a", "--", "b"]),
    ],
)
def test_words_after_a_selection_flag_are_its_values(args: list[str], expected: list[str]) -> None:
    import click

    @click.command()
    @click.option("-s", "--select", multiple=True)
    @click.option("--exclude", multiple=True)
    @click.option("--target")
    @click.argument("rest", nargs=-1)
    def command(**_: object) -> None: ...

    assert spread_option_values(command, args) == expected


@pytest.mark.slow
def test_dbt_style_select_and_exclude_words_on_the_command_line(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "p", {})
    done = run_teal(
        "ls", "-o", "name", "-s", "people", "stg_people", "people_count",
        "--exclude", "people", "--vars", "{cutoff: 2}", cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.output
    assert done.stdout.split() == ["stg_people", "people_count"]
    done = run_teal("ls", "-o", "name", "--resource-type", "seed", "model", cwd=root)
    assert done.returncode == 0, done.output
    assert sorted(done.stdout.split()) == ["people", "people_count", "stg_people"]
