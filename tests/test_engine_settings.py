"""DuckDB settings and extensions per project and per target ([duckdb], [targets.x.duckdb]),
as dbt-duckdb users set them in their profile."""

from __future__ import annotations

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

SETTINGS_MODEL = {
    # a table, so the values are those of the build's connection, not the reader's
    "models/setting.sql": """
        {{ config(materialized='table') }}
        select current_setting('memory_limit') as mem,
               current_setting('preserve_insertion_order') as keeps_order,
               json_extract('{"a": 1}', '$.a')::int as from_json
    """,
}
CONFIG = """
name = "settings"
threads = 1

[duckdb]
memory_limit = "1GB"
preserve_insertion_order = false
extensions = ["json"]

[targets.big]
warehouse = "big.duckdb"

[targets.big.duckdb]
memory_limit = "2GB"
"""


def test_project_and_target_settings_reach_the_build_connection(project):
    root = project(SETTINGS_MODEL, CONFIG)
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert query(root / "warehouse.duckdb", "select * from main.setting") == [
        ("953.6 MiB", False, 1)
    ]
    big = run_teal("build", "--target", "big", cwd=root)
    assert big.returncode == 0, big.output
    # the target's memory_limit wins; the project's other settings stay
    assert query(root / "big.duckdb", "select * from main.setting") == [("1.8 GiB", False, 1)]


def test_an_unknown_setting_or_extension_is_a_clear_error_before_anything_runs(project):
    root = project(SETTINGS_MODEL, CONFIG.replace('memory_limit = "1GB"', 'memory_limt = "1GB"'))
    done = run_teal("build", cwd=root)
    assert done.returncode == 2
    assert "teal.toml:6:1: unknown DuckDB setting 'memory_limt' in [duckdb]" in done.stderr
    assert "did you mean 'memory_limit'?" in done.stderr
    assert "Traceback" not in done.output
    checked = run_teal("validate", cwd=root)  # found without opening the warehouse
    assert checked.returncode == 2, checked.output
    assert "teal.toml:6:1: unknown DuckDB setting 'memory_limt'" in checked.stderr
    assert not (root / "warehouse.duckdb").exists()

    root = project(SETTINGS_MODEL, CONFIG.replace('"json"', '"no_such_extension"'), name="ext")
    done = run_teal("build", cwd=root)
    assert done.returncode == 2
    assert "DuckDB extension 'no_such_extension' could not be loaded" in done.stderr
    assert "Traceback" not in done.output


def test_a_setting_that_is_not_a_value_is_a_located_project_error(project):
    root = project(SETTINGS_MODEL, CONFIG + "\n[duckdb.nested]\nx = 1\n")
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2
    assert "duckdb.nested must be text, a number or true/false" in done.stderr


def test_validate_finds_a_setting_duckdb_refuses_at_its_key(project):
    root = project(SETTINGS_MODEL, CONFIG.replace('memory_limit = "2GB"', 'memory_limit = "lots"'))
    done = run_teal("validate", "--target", "big", cwd=root)
    assert done.returncode == 2, done.output
    assert "teal.toml:14:1: a DuckDB setting in [duckdb] was refused" in done.stderr
    assert 'memory_limit = "lots"' in done.stderr and "Traceback" not in done.output
    assert run_teal("validate", cwd=root).returncode == 0  # only the target sets it
