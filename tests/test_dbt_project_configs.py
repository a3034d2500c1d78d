"""Folder configs of dbt_project.yml as dbt applies them: the section's own top level
(`models: +tags: [x]`, `data_tests: +severity: warn`) sets every node's, and a path that
names no node is a located warning, as dbt's "unused configuration paths"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import query, run_teal
from tests.test_dbt_front_end import PROJECT, dbt_project

ENV = {"TEAL_RUN_STORE": "none"}
DUPLICATED = {
    "models/dup.sql": "select 1 as id union all select 1\n",
    "models/dup.yml": "version: 2\nmodels:\n  - name: dup\n    columns:\n      - name: id\n"
    "        data_tests: [unique]\n",
}


@pytest.mark.slow
def test_top_level_configs_of_a_section_apply_to_every_node(tmp_path: Path) -> None:
    project = PROJECT.replace("models:\n", "models:\n  +tags: [everything]\n")
    project += "data_tests:\n  +severity: warn\n"
    root = dbt_project(tmp_path / "p", DUPLICATED, project=project)
    listed = run_teal("ls", "-s", "tag:everything", cwd=root, env=ENV)
    assert listed.returncode == 0, listed.output
    assert "dup " in listed.output and "stg_people" in listed.output
    done = run_teal("build", cwd=root, env=ENV)
    assert done.returncode == 0, done.output  # the duplicate is a warning, as in dbt
    assert "WARN  check unique_dup_id" in done.output
    assert query(root / "shop.duckdb", "select count(*) from main.dup") == [(2,)]


@pytest.mark.slow
def test_a_config_path_that_names_no_node_is_a_located_warning(tmp_path: Path) -> None:
    project = PROJECT.replace(
        "    legacy:\n",
        "    mrts:\n      +materialized: table\n    staging:\n      materialised: table\n"
        "    legacy:\n",
    )
    project += "sources:\n  shop:\n    +enabled: false\n"
    root = dbt_project(tmp_path / "p", {}, project=project)
    done = run_teal("parse", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert (
        "warning: dbt_project.yml:12:5: config path models.shop.mrts in dbt_project.yml "
        "applies to no node: its configs are ignored" in done.output
    ), done.output
    assert "hint: did you mean 'marts'?" in done.output
    assert (
        "dbt_project.yml:15:7: 'materialised' under models.shop.staging is not a config teal "
        "knows" in done.output
    )
    assert "hint: did you mean 'materialized'?" in done.output
    assert "dbt_project.yml:21:1: sources: configs in dbt_project.yml are read but not" in (
        done.output
    )
    # the disabled folder (legacy) is a path in use, as in dbt
    assert "models.shop.legacy" not in done.output
    strict = run_teal("--strict", "parse", cwd=root, env=ENV)
    assert strict.returncode == 2, strict.output
    assert "Traceback" not in strict.output


def test_unknown_project_keys_are_located_warnings_and_docs_paths_is_read(
    tmp_path: Path,
) -> None:
    project = PROJECT + 'model-path: ["models"]\ndata-paths: ["data"]\ndocs-paths: ["notes"]\n'
    root = dbt_project(
        tmp_path / "p",
        {
            "notes/people.md": "{% docs people_doc %}\nOne row per person.\n{% enddocs %}\n",
            "models/staging/stg.yml": "version: 2\nmodels:\n  - name: stg_people\n"
            "    description: '{{ doc(\"people_doc\") }}'\n",
        },
        project=project,
    )
    done = run_teal("parse", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    assert (
        "warning: dbt_project.yml:17:1: unknown key 'model-path' in dbt_project.yml: it is "
        "ignored\n    model-path: [\"models\"]\n    ^\n  hint: did you mean 'model-paths'?"
        in done.output
    ), done.output
    assert "dbt_project.yml:18:1: 'data-paths' in dbt_project.yml is ignored: dbt 1.0 renamed" in (
        done.output
    )
    manifest = (root / "target" / "manifest.json").read_text()
    assert "One row per person." in manifest


MERGE_MODEL = (
    "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge'"
    "SETTING) }}\nselect id, name from {{ ref('people') }}\n"
)


@pytest.mark.parametrize(
    ("setting", "yaml", "where"),
    [
        (", merge_update_columns=['name']", "", "models/merged.sql:1:86: merge_update_columns"),
        (
            "",
            "version: 2\nmodels:\n  - name: merged\n    config:\n"
            "      merge_exclude_columns: [name]\n",
            "models/merged.yml:5:7: merge_exclude_columns",
        ),
    ],
)
def test_a_dbt_duckdb_merge_option_is_a_located_error(
    tmp_path: Path, setting: str, yaml: str, where: str
) -> None:
    files = {"models/merged.sql": MERGE_MODEL.replace("SETTING", setting)}
    if yaml:
        files["models/merged.yml"] = yaml
    root = dbt_project(tmp_path / "p", files)
    done = run_teal("compile", cwd=root, env=ENV)
    assert done.returncode == 2, done.output
    assert f"{where} (model 'merged') is not supported by teal" in done.output, done.output
    assert "Traceback" not in done.output
