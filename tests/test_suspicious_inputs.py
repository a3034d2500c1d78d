"""Inputs teal used to ignore or crash on: each now gets a located error, or a warning that
names the file and line (an error under ``--strict``), never silence or a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import query, run_teal

pytestmark = pytest.mark.slow

SCHEMA = """
    version: 2
    models:
      - name: orders
        description: one row per order
        columns:
          - name: id
          - name: amount_eur
            description: not a column of orders
      - name: order
        description: a typo for orders
        tests:
          - not_null: {column_name: id}
"""


def test_a_model_file_that_is_not_utf8_is_a_located_error(project):
    root = project({"models/ok.sql": "select 1 as id"})
    (root / "models" / "bad.sql").write_bytes(b"select 1 as id\n-- caf\xe9 au lait\n")
    done = run_teal("compile", cwd=root)
    assert done.returncode == 2
    assert "Traceback" not in done.output
    assert "models/bad.sql:2:7: the file is not UTF-8: byte 0xe9 at offset 21" in done.stderr
    assert "save it as UTF-8" in done.stderr


def test_a_yaml_file_that_is_not_utf8_is_a_located_error(project):
    root = project({"models/ok.sql": "select 1 as id"})
    (root / "models" / "props.yml").write_bytes(
        b"version: 2\nmodels:\n  - name: ok\n    description: caf\xe9\n"
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 2
    assert "models/props.yml:4:21: the file is not UTF-8" in done.stderr
    assert not (root / "warehouse.duckdb").exists()


def test_yaml_describing_what_does_not_exist_warns_and_fails_under_strict(project):
    root = project({"models/orders.sql": "select 1 as id", "models/schema.yml": SCHEMA})
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert (
        "warning: models/schema.yml:7:7: model 'orders' has no column 'amount_eur': "
        "its YAML entry is ignored" in done.stderr
    )
    assert (
        "warning: models/schema.yml:9:3: YAML describes model 'order', which does not exist: "
        "this entry is ignored and its checks do not run" in done.stderr
    )
    assert "did you mean 'orders'?" in done.stderr
    strict = run_teal("--strict", "compile", cwd=root)
    assert strict.returncode == 2
    assert "models/schema.yml:9:3: YAML describes model 'order'" in strict.stderr
    assert "2 problems found" in strict.stderr
    # the environment variable does the same, for CI jobs
    assert run_teal("compile", cwd=root, env={"TEAL_STRICT": "1"}).returncode == 2


def test_column_checks_of_a_model_that_does_not_exist_are_named_in_the_warning(project):
    schema = "version: 2\nmodels:\n  - name: order\n    columns:\n      - name: id\n"
    schema += "        tests: [not_null]\n"
    root = project({"models/orders.sql": "select 1 as id", "models/schema.yml": schema})
    done = run_teal("compile", cwd=root)
    assert done.returncode == 0, done.output
    assert (
        "warning: models/schema.yml:3:3: YAML describes model 'order', which does not exist: "
        "this entry is ignored and its checks do not run" in done.stderr
    )


def test_a_folder_config_that_matches_no_folder_warns_and_fails_under_strict(project):
    config = (
        'name = "p"\n\n[folders.marts]\nmaterialized = "table"\n\n'
        '[folders.marst]\nmaterialized = "table"\n\n[folders."marts/fin"]\ntags = ["f"]\n'
    )
    root = project(
        {"models/marts/a.sql": "select 1 as id", "models/marts/fin/b.sql": "select 2 as id"},
        config=config,
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output
    assert (
        "warning: teal.toml:6:1: [folders.marst] matches no folder of models under models: "
        "its config is ignored" in done.stderr
    )
    assert "did you mean 'marts'?" in done.stderr
    assert "marts/fin" not in done.stderr  # a nested folder that holds models is fine
    assert query(root / "warehouse.duckdb", "select id from marts.a") == [(1,)]
    for args in (("--strict", "compile"), ("compile", "--strict")):  # either place
        strict = run_teal(*args, cwd=root)
        assert strict.returncode == 2, args
        assert "teal.toml:6:1: [folders.marst]" in strict.stderr


def test_a_disabled_model_described_in_yaml_is_not_a_warning(project):
    root = project(
        {
            "models/orders.sql": "{{ config(enabled=false) }}\nselect 1 as id",
            "models/other.sql": "select 1 as id",
            "models/schema.yml": "version: 2\nmodels:\n  - name: orders\n",
        }
    )
    done = run_teal("compile", cwd=root)
    assert done.returncode == 0, done.output
    assert "warning" not in done.stderr


def test_an_unknown_key_in_a_target_is_a_located_error(project):
    config = 'name = "p"\n\n[targets.prod]\nwarehouse = "prod.duckdb"\nthreds = 3\n'
    root = project({"models/a.sql": "select 1 as id"}, config=config)
    done = run_teal("compile", "--target", "prod", cwd=root)
    assert done.returncode == 2
    assert "teal.toml:5:1: unknown key 'threds' in targets.prod" in done.stderr
    assert "did you mean 'threads'?" in done.stderr


def test_a_target_sets_its_own_threads(project):
    config = 'name = "p"\nthreads = 1\n\n[targets.prod]\nwarehouse = "prod.duckdb"\nthreads = 3\n'
    root = project({"models/a.sql": "select 1 as id"}, config=config)
    done = run_teal("build", "--target", "prod", cwd=root)
    assert done.returncode == 0, done.output
    assert "3 threads" in done.stdout
    assert query(root / "prod.duckdb", "select id from main.a") == [(1,)]


def test_lineage_accepts_a_relation_name(project):
    root = project(
        {
            "models/marts/daily.sql": "select 1 as id",
            "models/marts/top.sql": "select id from daily",
        },
        config='name = "p"\n\n[folders.marts]\nschema = "marts"\n',
    )
    done = run_teal("lineage", "marts.daily", cwd=root)
    assert done.returncode == 0, done.output
    assert "top (view, marts.top)" in done.stdout
    assert run_teal("lineage", "marts.nothing", cwd=root).returncode == 2


def test_an_unknown_key_in_a_yaml_column_entry_is_an_error(project):
    """As for a model's keys: a misspelt ``tests:`` would leave the column's checks unrun."""
    schema = """
        version: 2
        models:
          - name: orders
            columns:
              - name: id
                tsets: [not_null]
                data_type: integer
    """
    root = project({"models/orders.sql": "select 1 as id", "models/schema.yml": schema})
    listed = run_teal("ls", cwd=root)
    assert listed.returncode == 2
    assert (
        "models/schema.yml:6:9: unknown key 'tsets' in column 'id' of model 'orders'"
        in listed.stderr
    )
    assert "hint: known: name, description, tests" in listed.stderr


STATS_PY = """
import pyarrow as pa
import teal


@teal.asset
def stats():
    return pa.table({"tier": ["a", "b"], "spend": [1.5, 2.5]})
"""


def test_a_check_of_a_column_a_python_asset_does_not_produce_is_located_once_known(project):
    schema = "version: 2\nmodels:\n  - name: stats\n    columns:\n      - name: spnd\n"
    schema += "        tests: [not_null]\n"
    root = project({"models/stats.py": STATS_PY})
    first = run_teal("build", cwd=root)
    assert first.returncode == 0, first.output
    # the asset's columns are known from that build: a check of a misspelt column is
    # located before anything runs (before its first build, it fails as it runs)
    (root / "models" / "schema.yml").write_text(schema)
    for command in ("build", "validate"):
        done = run_teal(command, cwd=root)
        assert done.returncode == 2, done.output
        assert (
            "models/schema.yml:6:9: model 'stats' has no column 'spnd' (its last build "
            "produced: tier, spend), so its check not_null_stats_spnd cannot run" in done.stderr
        )
        assert "hint: did you mean 'spend'?" in done.stderr
        assert "Traceback" not in done.output
    # the asset changed to produce that column: its last build no longer says what it has
    (root / "models" / "stats.py").write_text(
        STATS_PY.replace('"spend": [1.5, 2.5]', '"spend": [1.5, 2.5], "spnd": [1, 2]')
    )
    done = run_teal("build", cwd=root)
    assert done.returncode == 0, done.output


def test_a_sources_misspelt_key_is_located_in_toml_and_yaml(project):
    root = project(
        {"models/a.sql": "select 1 as id"},
        config='name = "p"\n\n[sources.lake]\npth = "x.parquet"\ntables = ["a"]\n',
    )
    done = run_teal("ls", cwd=root)
    assert (
        done.returncode == 2 and "teal.toml:4:1: unknown key 'pth' in source 'lake'" in done.stderr
    )
    (root / "teal.toml").write_text('name = "p"\n\n[external]\nformatt = "csv"\n')
    done = run_teal("ls", cwd=root)
    assert "teal.toml:4:1: unknown key 'formatt' in external" in done.stderr
    (root / "teal.toml").write_text('name = "p"\n')
    (root / "models" / "sources.yml").write_text("sources:\n  - name: lake\n    tabels: [a]\n")
    done = run_teal("ls", cwd=root)
    assert "models/sources.yml:3:5: unknown key 'tabels' in source 'lake'" in done.stderr
    assert "did you mean 'tables'?" in done.stderr
