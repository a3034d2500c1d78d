"""What a dbt user writes that teal read but did not act on (or did not read at all): each
is now applied or a located warning. Config keys nothing knows (a misspelt
``materialized`` in SQL, YAML or dbt_project.yml), test configs and built-in test
arguments that are no such thing, a test's ``limit``, source freshness, disabled nodes in
manifest.json, and dbt's ``--selector`` flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teal.compiler.dbt.manifest import write_manifest
from teal.compiler.project import load_project
from tests.conftest import run_teal
from tests.test_dbt_front_end import dbt_project

ENV = {"TEAL_RUN_STORE": "none"}


def _warnings(root: Path) -> list[str]:
    return [str(w) for w in load_project(root).warnings]


def test_a_config_key_nothing_knows_is_a_warning_where_it_is_written(tmp_path: Path) -> None:
    project = (
        "name: shop\nprofile: shop\nvars:\n  cutoff: 2\nmodels:\n  shop:\n    staging:\n"
        "      +materalized: table\n      +owner: data-team\n    legacy:\n      +enabled: false\n"
    )
    root = dbt_project(
        tmp_path / "p",
        {
            "models/marts/people_count.sql": "{{ config(materalized='table') }}\n"
            "select count(*) as n from {{ ref('stg_people') }}\n",
            "models/marts/props.yml": "version: 2\nmodels:\n  - name: people_count\n"
            "    config:\n      sort_by: n\n",
            # a custom config a macro reads is applied by that macro: no warning
            "macros/owner.sql": "{% macro owner() %}{{ config.get('owner') }}{% endmacro %}\n",
        },
        project=project,
    )
    found = _warnings(root)
    sql = [w for w in found if w.startswith("models/marts/people_count.sql:1:11:")]
    assert sql and "config 'materalized'" in sql[0] and "did you mean 'materialized'" in sql[0]
    yml = [w for w in found if w.startswith("models/marts/props.yml:5:7:")]
    assert yml and "config 'sort_by'" in yml[0] and "meta:" in yml[0]
    project_file = [w for w in found if w.startswith("dbt_project.yml:8:")]
    assert len(project_file) == 1 and "'materalized'" in project_file[0]  # once per place
    assert not [w for w in found if "'owner'" in w]


def test_unknown_test_configs_and_builtin_test_arguments_are_warnings(tmp_path: Path) -> None:
    props = """
    version: 2
    models:
      - name: stg_people
        columns:
          - name: id
            data_tests:
              - unique:
                  config:
                    severty: warn
              - not_null:
                  serverity: warn
    """
    found = _warnings(dbt_project(tmp_path / "p", {"models/staging/props.yml": props}))
    config = [w for w in found if w.startswith("models/staging/props.yml:9:")]
    assert config and "config 'severty' is not a test config" in config[0]
    assert "did you mean 'severity'" in config[0]
    argument = [w for w in found if w.startswith("models/staging/props.yml:11:")]
    assert argument and "argument 'serverity' is not one not_null takes" in argument[0]


def test_source_freshness_is_read_into_the_sources_and_the_manifest(tmp_path: Path) -> None:
    sources = """
    version: 2
    sources:
      - name: raw
        schema: main_raw
        loaded_at_field: joined
        freshness:
          warn_after: {count: 12, period: hour}
          error_after: {count: 1, period: day}
        tables:
          - name: people
          - name: visits
            config:
              freshness: {warn_after: {count: 2, period: day}}
              loaded_at_field: "cast(at as timestamp)"
          - name: codes
            freshness: null
    """
    root = dbt_project(tmp_path / "p", {"models/staging/sources.yml": sources})
    project = load_project(root)
    tables = project.sources["raw"].tables
    assert tables["people"].freshness == (("warn", 12, "hour"), ("error", 1, "day"))
    assert tables["people"].loaded_at_field == "joined"
    assert tables["visits"].freshness == (("warn", 2, "day"),)  # the table's replaces
    assert tables["visits"].loaded_at_field == "cast(at as timestamp)"
    assert tables["codes"].freshness == ()
    write_manifest(project)
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    people = manifest["sources"]["source.shop.raw.people"]
    assert people["loaded_at_field"] == "joined"
    assert people["freshness"]["error_after"] == {"count": 1, "period": "day"}
    assert manifest["sources"]["source.shop.raw.codes"]["freshness"] is None


def test_a_disabled_node_is_under_disabled_in_the_manifest(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "p", {})  # models/legacy/old.sql is disabled
    write_manifest(load_project(root))
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    assert "model.shop.old" not in manifest["nodes"]
    assert "model.shop.old" not in manifest["parent_map"]
    assert [n["name"] for n in manifest["disabled"]["model.shop.old"]] == ["old"]


@pytest.mark.slow
def test_a_test_limit_caps_its_failures_and_selector_is_dbt_s_flag(tmp_path: Path) -> None:
    # three failing rows, limit 2: dbt counts 2 failures, under error_if '>2': a warning
    props = """
    version: 2
    models:
      - name: stg_people
        columns:
          - name: id
            data_tests:
              - accepted_values:
                  arguments: {values: [0]}
                  config: {limit: 2, warn_if: ">0", error_if: ">2"}
              - not_null:
                  config: {limit: 0}
    """
    selectors = "selectors:\n  - name: staging\n    definition: 'stg_people'\n"
    files = {"models/staging/props.yml": props, "selectors.yml": selectors}
    root = dbt_project(tmp_path / "p", files)
    (root / "models" / "staging" / "stg_people.sql").write_text(
        "select id, name from {{ ref('people') }}\n"
    )
    assert run_teal("seed", cwd=root, env=ENV).returncode == 0
    done = run_teal("build", "--selector", "staging", cwd=root, env=ENV)
    assert done.returncode == 0, done.output
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    by_id = {r["unique_id"].split(".")[2]: r for r in results}
    assert [k for k in by_id if not k.startswith(("accepted", "not_null"))] == ["stg_people"]
    accepted = next(r for k, r in by_id.items() if k.startswith("accepted_values"))
    assert (accepted["status"], accepted["failures"]) == ("warn", 2)
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    limits = {
        n["name"]: n["config"]["limit"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
    }
    assert sorted(limits.values(), key=str) == [0, 2]


@pytest.mark.slow
def test_ls_resource_type_lists_what_dbt_ls_lists(tmp_path: Path) -> None:
    props = """
    version: 2
    sources:
      - name: raw
        tables:
          - name: visits
    models:
      - name: stg_people
        columns:
          - name: id
            data_tests: [unique, not_null]
    exposures:
      - name: weekly_report
        type: dashboard
        owner: {name: Ann}
        depends_on: [ref('people_count')]
    """
    root = dbt_project(tmp_path / "p", {"models/staging/props.yml": props})

    def names(*args: str) -> list[str]:
        done = run_teal("ls", *args, "-o", "name", cwd=root, env=ENV)
        assert done.returncode == 0, done.output
        return done.stdout.split()

    assert names("--resource-type", "model") == ["stg_people", "people_count"]
    assert names("--resource-type", "seed") == ["people"]
    assert names("--resource-type", "test") == [
        "not_null_stg_people_id",
        "unique_stg_people_id",
    ]
    assert names("--resource-type", "test", "-s", "people_count") == []
    assert names("--resource-type", "source") == ["raw.visits"]
    assert names("--resource-type", "exposure", "-s", "stg_people") == []
    assert names("--resource-type", "exposure", "-s", "people_count") == ["weekly_report"]
    listed = json.loads(
        run_teal("ls", "--resource-type", "all", "--json", cwd=root, env=ENV).stdout
    )
    assert {r["resource_type"] for r in listed} == {"model", "seed", "test", "source", "exposure"}
    assert names() == ["people", "stg_people", "people_count"]  # as before, without the flag


@pytest.mark.slow
def test_seed_and_snapshot_run_no_tests_as_in_dbt(tmp_path: Path) -> None:
    props = """
    version: 2
    seeds:
      - name: people
        columns:
          - name: score
            data_tests: [not_null]
    """
    root = dbt_project(tmp_path / "p", {"seeds/props.yml": props})
    seeded = run_teal("seed", cwd=root, env=ENV)
    assert seeded.returncode == 0, seeded.output  # the failing test did not run
    assert "not_null_people_score" not in seeded.output
    results = json.loads((root / "target" / "run_results.json").read_text())
    assert results["args"]["which"] == "seed"
    assert [r["unique_id"].split(".")[0] for r in results["results"]] == ["seed"]
    built = run_teal("build", "-s", "people", cwd=root, env=ENV)
    assert built.returncode == 1 and "not_null_people_score" in built.output


def test_a_secret_env_var_in_a_model_is_refused_as_dbt_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from teal.compiler.errors import TealError

    monkeypatch.setenv("DBT_ENV_SECRET_TOKEN", "s3cr3t-value")
    model = "select '{{ env_var(\"DBT_ENV_SECRET_TOKEN\") }}' as token\n"
    root = dbt_project(tmp_path / "p", {"models/marts/leak.sql": model})
    with pytest.raises(TealError) as raised:
        load_project(root)
    text = str(raised.value)
    assert text.startswith("models/marts/leak.sql:1:")
    assert "may only be used in profiles.yml or packages.yml" in text
    assert "s3cr3t-value" not in text
    # in profiles.yml it is what it is for
    profiles = (root / "profiles.yml").read_text()
    (root / "profiles.yml").write_text(
        profiles.replace(
            "schema: main\n",
            "schema: \"{{ 'main' if env_var('DBT_ENV_SECRET_TOKEN') else 'x' }}\"\n",
            1,
        )
    )
    (root / "models" / "marts" / "leak.sql").unlink()
    assert load_project(root).models["stg_people"].relation == "main.stg_people"
