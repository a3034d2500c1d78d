"""``teal init``: a new project that builds as written, and that writes over nothing."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teal.cli_init import FILES, project_name, write_project
from teal.compiler.errors import ProjectError
from tests.conftest import query, run_teal


@pytest.mark.slow
def test_a_new_project_builds_checks_and_validates_as_written(tmp_path: Path) -> None:
    made = run_teal("init", "shop", cwd=tmp_path)
    assert made.returncode == 0, made.output
    assert "Created project 'shop'" in made.stdout
    assert "Next: cd shop && teal build" in made.stdout
    root = tmp_path / "shop"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == sorted(FILES)
    built = run_teal("build", cwd=root)
    assert built.returncode == 0, built.output
    assert "3 built, 0 failed" in built.stdout
    assert "6 run, 6 passed" in built.stdout
    db = root / "warehouse.duckdb"
    assert query(
        db,
        "select order_date::varchar, orders, revenue from marts.daily_revenue order by order_date",
    ) == [
        ("2026-01-05", 2, Decimal("24.90")),
        ("2026-01-06", 1, Decimal("12.75")),
        ("2026-01-07", 2, Decimal("107.24")),
        ("2026-01-08", 1, Decimal("64.00")),
    ]
    # money stays a DECIMAL through the CSV, the SQL and the Python asset
    types = query(
        db,
        "select table_name, data_type from information_schema.columns "
        "where column_name in ('revenue', 'spent', 'amount') order by table_name",
    )
    assert all(t.startswith("DECIMAL") for _, t in types) and len(types) == 3
    assert query(db, "select customer_id from marts.top_customers limit 1") == [(104,)]
    strict = run_teal("--strict", "validate", cwd=root)
    assert strict.returncode == 0, strict.output
    assert "warning" not in strict.stderr.lower()
    schedules = run_teal("schedules", cwd=root)
    assert schedules.returncode == 0 and "daily" in schedules.stdout


@pytest.mark.slow
def test_init_refuses_a_folder_that_holds_a_project_or_any_file_it_would_write(
    tmp_path: Path,
) -> None:
    assert run_teal("init", cwd=tmp_path).returncode == 0
    again = run_teal("init", cwd=tmp_path)
    assert again.returncode == 2
    assert f"{tmp_path / 'teal.toml'}: a teal project is already here" in again.stderr
    assert "hint:" in again.stderr and "Traceback" not in again.stderr

    other = tmp_path / "other"
    (other / "models").mkdir(parents=True)
    (other / "models" / "schema.yml").write_text("models: []\n")
    taken = run_teal("init", "other", cwd=tmp_path)
    assert taken.returncode == 2
    assert f"{other / 'models' / 'schema.yml'}: this file already exists" in taken.stderr
    assert sorted(p.name for p in other.rglob("*")) == ["models", "schema.yml"]  # nothing written
    assert (other / "models" / "schema.yml").read_text() == "models: []\n"

    pyproject = tmp_path / "py"
    pyproject.mkdir()
    (pyproject / "pyproject.toml").write_text('[tool.teal]\nname = "x"\n')
    held = run_teal("init", "py", cwd=tmp_path)
    assert held.returncode == 2 and "pyproject.toml: a teal project is already here" in held.stderr


@pytest.mark.slow
def test_the_name_comes_from_the_folder_or_is_given_as_an_identifier(tmp_path: Path) -> None:
    made = run_teal("init", "My Shop-2", cwd=tmp_path)
    assert made.returncode == 0, made.output
    assert 'name = "my_shop_2"' in (tmp_path / "My Shop-2" / "teal.toml").read_text()
    assert "Next: cd 'My Shop-2' && teal build" in made.stdout  # pastes as one folder
    bad = run_teal("init", "x", "--name", "my shop", cwd=tmp_path)
    assert bad.returncode == 2
    assert "--name: project name 'my shop' is not a plain identifier" in bad.stderr
    assert not (tmp_path / "x").exists()


def test_accented_letters_keep_their_letter() -> None:
    assert project_name(Path("/tmp/café Zürich"), None) == "cafe_zurich"
    assert project_name(Path("/tmp/Ångström"), None) == "angstrom"


@given(st.text(min_size=1, max_size=30).filter(lambda s: "/" not in s and "\0" not in s))
def test_any_folder_name_gives_a_plain_identifier(folder: str) -> None:
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", project_name(Path("/tmp") / folder, None))


@pytest.mark.slow
def test_a_repositorys_own_gitignore_is_kept_and_what_to_add_said(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc\n.teal/\n")
    made = run_teal("init", cwd=tmp_path)
    assert made.returncode == 0, made.output
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n.teal/\n"  # not written over
    assert "teal's files to add to it: warehouse.duckdb*, target/" in made.stdout
    assert (tmp_path / "teal.toml").exists()


@pytest.mark.slow
def test_init_refuses_a_dbt_project_a_parents_models_folder_and_a_file_for_a_folder(
    tmp_path: Path,
) -> None:
    dbt = tmp_path / "dbt"
    dbt.mkdir()
    (dbt / "dbt_project.yml").write_text("name: shop\n")
    refused = run_teal("init", "dbt", cwd=tmp_path)
    assert refused.returncode == 2, refused.output
    assert f"{dbt / 'dbt_project.yml'}: a dbt project is already here" in refused.stderr
    assert sorted(p.name for p in dbt.iterdir()) == ["dbt_project.yml"]  # still a dbt project

    assert run_teal("init", "outer", cwd=tmp_path).returncode == 0
    inner = run_teal("init", "models/inner", cwd=tmp_path / "outer")
    assert inner.returncode == 2, inner.output
    assert "reads every file under" in inner.stderr and "Traceback" not in inner.stderr
    assert not (tmp_path / "outer" / "models" / "inner").exists()
    assert run_teal("ls", cwd=tmp_path / "outer").returncode == 0  # the outer one still loads

    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "data").write_text("a file where teal init puts a folder\n")
    blocked = run_teal("init", "odd", cwd=tmp_path)
    assert blocked.returncode == 2 and "Traceback" not in blocked.stderr, blocked.output
    assert f"{odd / 'data'}: this file already exists" in blocked.stderr
    assert sorted(p.name for p in odd.iterdir()) == ["data"]  # nothing written


def test_a_write_that_fails_leaves_nothing_written(tmp_path: Path, monkeypatch) -> None:
    real = Path.write_text

    def failing(self: Path, *args, **kwargs):  # the disk fills at the third file
        if self.name == "sources.yml":
            raise OSError(28, "No space left on device", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing)
    folder = tmp_path / "new" / "shop"
    with pytest.raises(ProjectError, match="cannot write the project: No space left") as err:
        write_project(folder, "shop")
    assert err.value.path == str(folder / "models" / "sources.yml")
    assert not (tmp_path / "new").exists()
