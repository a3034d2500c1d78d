"""Selectors that read the warehouse's state (state:, result:) and named selectors."""

from __future__ import annotations

import pytest

from tests.conftest import run_teal

pytestmark = pytest.mark.slow

CONFIG = """
name = "state"
threads = 1

[selectors]
nightly = "marts+"
no_b = { select = "staging", exclude = "b" }
loop_a = "selector:loop_b"
loop_b = "selector:loop_a"
"""

FILES = {
    "models/staging/a.sql": "select range as id from range(3)\n",
    "models/staging/b.sql": "select id from a\n",
    "models/marts/c.sql": "{{ config(materialized='table') }}\nselect * from b\n",
    "models/marts/d.sql": "select 1 as one\n",
}


def _names(out: str) -> set[str]:
    return set(out.split())


def test_state_and_result_selectors_follow_the_warehouse(project) -> None:
    root = project(FILES, CONFIG)
    # nothing built yet: everything is new, and state:modified includes new models
    assert _names(run_teal("ls", "-o", "name", "-s", "state:new", cwd=root).stdout) == {
        "a",
        "b",
        "c",
        "d",
    }
    assert run_teal("build", cwd=root).returncode == 0
    assert run_teal("ls", "-o", "name", "-s", "state:modified", cwd=root).stdout.strip() == ""

    # a comment and new formatting are not a modification; a real change is
    (root / "models/staging/b.sql").write_text("-- ids\nSELECT id\nFROM a\n")
    assert run_teal("ls", "-o", "name", "-s", "state:modified", cwd=root).stdout.strip() == ""
    (root / "models/staging/b.sql").write_text("select id + 1 as id from a\n")
    assert _names(run_teal("ls", "-o", "name", "-s", "state:modified+", cwd=root).stdout) == {
        "b",
        "c",
    }

    # break b: binding stops the build before it runs (exit 2); without binding the
    # build fails, c is skipped; result: selects them from the last run
    (root / "models/staging/b.sql").write_text("select no_such_column from a\n")
    assert run_teal("build", cwd=root).returncode == 2
    assert run_teal("build", "--no-validate", cwd=root).returncode == 1
    assert _names(run_teal("ls", "-o", "name", "-s", "result:error", cwd=root).stdout) == {"b"}
    assert _names(run_teal("ls", "-o", "name", "-s", "result:skipped", cwd=root).stdout) == {"c"}

    # fix it and retry exactly what failed and what it blocked
    (root / "models/staging/b.sql").write_text("select id from a\n")
    retry = run_teal("build", "-s", "result:error+", cwd=root)
    assert retry.returncode == 0, retry.output
    assert (
        "staging.b" in retry.stdout
        and "marts.c" in retry.stdout
        and "staging.a" not in retry.stdout
    )

    bad = run_teal("ls", "-s", "state:changed", cwd=root)
    assert bad.returncode == 2 and "did you mean 'unmodified'" not in bad.stderr
    assert "unknown state 'changed'" in bad.stderr


def test_named_selectors_from_the_project_config(project) -> None:
    root = project(FILES, CONFIG)
    assert _names(run_teal("ls", "-o", "name", "-s", "selector:nightly", cwd=root).stdout) == {
        "c",
        "d",
    }
    assert _names(run_teal("ls", "-o", "name", "-s", "selector:no_b", cwd=root).stdout) == {"a"}
    plan = run_teal("plan", "-s", "selector:nightly,kind:sql", cwd=root)
    assert plan.returncode == 0 and "c" in plan.stdout
    unknown = run_teal("ls", "-s", "selector:nightyl", cwd=root)
    assert unknown.returncode == 2
    assert "did you mean 'nightly'" in unknown.stderr
    loop = run_teal("ls", "-s", "selector:loop_a", cwd=root)
    assert loop.returncode == 2 and "refers to itself" in loop.stderr
    assert "Traceback" not in loop.output


def test_an_ephemeral_model_is_modified_only_when_it_changed(project) -> None:
    """Ephemeral models are never built, so never recorded: unchanged, they are not
    state:modified (they used to be, on every run); changed, they are, with their consumers."""
    files = {
        "models/lines.sql": "{{ config(materialized='ephemeral') }}\nselect 1 as id\n",
        "models/x.sql": "select id from lines\n",
        "models/y.sql": "select id * 2 as id from lines\n",
    }
    root = project(files, CONFIG)
    assert _names(run_teal("ls", "-o", "name", "-s", "state:new", cwd=root).stdout) == {
        "lines",
        "x",
        "y",
    }
    assert run_teal("build", cwd=root).returncode == 0
    assert run_teal("ls", "-o", "name", "-s", "state:modified", cwd=root).stdout.strip() == ""
    # one consumer changes on its own: the ephemeral model did not
    (root / "models/x.sql").write_text("select id + 1 as id from lines\n")
    assert _names(run_teal("ls", "-o", "name", "-s", "state:modified", cwd=root).stdout) == {"x"}
    (root / "models/lines.sql").write_text(
        "{{ config(materialized='ephemeral') }}\nselect 2 as id\n"
    )
    assert _names(run_teal("ls", "-o", "name", "-s", "state:modified", cwd=root).stdout) == {
        "lines",
        "x",
        "y",
    }


def test_without_a_manifest_only_the_relation_sub_selector_is_answered(project) -> None:
    """dbt's ``state:modified.relation`` compares with the relation the warehouse last built
    the model as (a new model counts, as dbt's sub-selectors count new nodes); the other
    sub-selectors need a manifest (``--state DIR``): the warehouse records a model's SQL
    and configs hashed as one, so they are errors, never an empty selection."""
    root = project(FILES, CONFIG)
    assert run_teal("build", cwd=root).returncode == 0
    relation = ("ls", "-o", "name", "-s", "state:modified.relation")
    assert run_teal(*relation, cwd=root).stdout.strip() == ""
    (root / "models/marts/d.sql").write_text("{{ config(alias='d_renamed') }}\nselect 1 as one\n")
    (root / "models/marts/c.sql").write_text(
        "{{ config(materialized='table') }}\nselect id * 2 as id from b\n"
    )  # modified, but built as the same relation
    (root / "models/marts/e.sql").write_text("select 2 as two\n")  # new
    assert _names(run_teal(*relation, cwd=root).stdout) == {"d", "e"}
    assert _names(run_teal("ls", "-o", "name", "-s", "state:modified", cwd=root).stdout) == {
        "c",
        "d",
        "e",
    }
    for value in ("body", "configs", "macros", "contract", "persisted_descriptions"):
        done = run_teal("ls", "-s", f"marts,state:modified.{value}", cwd=root)
        assert done.returncode == 2, done.output
        assert (
            f"state:modified.{value} compares with a previous manifest: it needs --state DIR"
            " (at position 7)" in done.stderr
        )
        assert "use state:modified (or state:modified.relation)" in done.stderr
        assert "Traceback" not in done.output
    typo = run_teal("ls", "-s", "state:modified.relations", cwd=root)
    assert typo.returncode == 2 and "did you mean 'modified.relation'?" in typo.stderr
