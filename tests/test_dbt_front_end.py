"""The dbt front end (compiler/dbt/) on small dbt projects written here: what it reads,
the relations it gives, and that every mistake a dbt user can make is located with a hint.
The full comparison with real dbt is tests/test_dbt_projects.py."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from teal.compiler.column_lineage import column_graph
from teal.compiler.errors import TealError
from teal.compiler.project import load_project
from tests.conftest import query, run_teal

PROJECT = """
name: shop
profile: shop
vars:
  cutoff: 2
models:
  shop:
    +materialized: view
    marts:
      +materialized: table
      +schema: mart
      +tags: [daily]
    legacy:
      +enabled: "{{ var('with_off', false) }}"
seeds:
  shop:
    +schema: raw
"""
PROFILES = """
shop:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('SHOP_DB', 'shop.duckdb') }}"
      schema: main
      threads: 2
    prod:
      type: duckdb
      path: prod.duckdb
      schema: analytics
"""


def dbt_project(
    root: Path, files: dict[str, str], project: str = PROJECT, profiles: str | None = PROFILES
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(textwrap.dedent(project).lstrip())
    if profiles is not None:
        (root / "profiles.yml").write_text(textwrap.dedent(profiles).lstrip())
    base = {
        "seeds/people.csv": "id,name,joined,score,active\n1,Ann,2024-01-02,1.5,true\n2,Bo,,2,False\n3,Cy,2024-03-04,,\n",
        "models/staging/stg_people.sql": "select id, name, joined from {{ ref('people') }}\nwhere id <= {{ var('cutoff') }}\n",
        "models/marts/people_count.sql": "-- {{ ref('people') }} is in a comment\nselect count(*) as n from {{ ref('stg_people') }}\n",
        "models/legacy/old.sql": "select * from {{ ref('missing_model') }}\n",
    }
    for rel, text in {**base, **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def test_a_dbt_project_loads_with_dbt_schemas_and_configs(tmp_path: Path) -> None:
    project = load_project(dbt_project(tmp_path / "p", {}))
    assert project.config.dbt is not None
    models = project.models
    assert sorted(models) == ["people", "people_count", "stg_people"]  # old.sql is disabled
    assert models["people"].relation == "main_raw.people"  # dbt's generate_schema_name
    assert models["stg_people"].relation == "main.stg_people"
    assert models["stg_people"].materialized == "view"
    assert models["people_count"].relation == "main_mart.people_count"
    assert models["people_count"].materialized == "table"
    assert "daily" in models["people_count"].tags
    # a ref inside a SQL comment is no edge
    assert models["people_count"].upstreams == ("stg_people",)
    assert project.config.warehouse_path.name == "shop.duckdb"
    assert project.config.threads == 2


def test_target_and_profiles_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = dbt_project(tmp_path / "p", {}, profiles=None)
    elsewhere = tmp_path / "profiles"
    elsewhere.mkdir()
    (elsewhere / "profiles.yml").write_text(textwrap.dedent(PROFILES))
    project = load_project(root, profiles_dir=elsewhere, target="prod")
    assert project.models["stg_people"].relation == "analytics.stg_people"
    assert project.config.warehouse_path.name == "prod.duckdb"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(elsewhere))
    monkeypatch.setenv("SHOP_DB", "from_env.duckdb")
    assert load_project(root).config.warehouse_path.name == "from_env.duckdb"


def test_generate_schema_name_override(tmp_path: Path) -> None:
    macro = """
    {% macro generate_schema_name(custom_schema_name, node) -%}
        {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
    {%- endmacro %}
    """
    project = load_project(dbt_project(tmp_path / "p", {"macros/schemas.sql": macro}))
    assert project.models["people_count"].relation == "mart.people_count"
    assert project.models["people"].relation == "raw.people"
    root = tmp_path / "p"
    # +enabled from a var: enabled, the legacy model's broken ref is an error
    assert "ref('missing_model')" in _error(root, vars={"with_off": True})


def _error(root: Path, **kwargs: object) -> str:
    with pytest.raises(TealError) as info:
        load_project(root, **kwargs)  # type: ignore[arg-type]
    assert info.value.exit_code == 2
    return str(info.value)


def test_unknown_ref_is_located_with_a_suggestion(tmp_path: Path) -> None:
    text = _error(
        dbt_project(tmp_path / "p", {"models/bad.sql": "select * from {{ ref('stg_peple') }}\n"})
    )
    assert text.startswith("models/bad.sql:1:18: ref('stg_peple') is not a model, seed or snapshot")
    assert "did you mean 'stg_people'?" in text


def test_a_misspelt_var_is_located_with_a_suggestion(tmp_path: Path) -> None:
    text = _error(
        dbt_project(tmp_path / "p", {"models/bad.sql": "select {{ var('cutof') }} as n\n"})
    )
    assert text.startswith("models/bad.sql:1:11: var('cutof') is not defined"), text
    assert "hint: did you mean 'cutoff'?" in text


def test_a_missing_column_under_a_config_line_is_located_on_its_own_line(tmp_path: Path) -> None:
    # dbt's rendering drops the config line and the macro call changes the next one: the
    # error was placed on the config line (1:1)
    written = (
        "select p.id, sum(p.scor) as total, {{ to_cents('1') }} as c "
        "from {{ ref('people') }} p group by 1"
    )
    macro = "{% macro to_cents(x) -%}\n    ({{ x }} * 100)\n{%- endmacro %}\n"
    files = {
        "macros/cents.sql": macro,
        "models/marts/rev3.sql": "{{ config(materialized='table') }}\n" + written + "\n",
    }
    project = load_project(dbt_project(tmp_path / "p", files))
    (err,) = column_graph(project).errors()
    assert str(err).splitlines()[:3] == [
        "models/marts/rev3.sql:2:18: column 'scor' does not exist in people (read as p), "
        "which has: id, name, joined, score, active",
        f"    {written}",
        "    " + " " * 17 + "^",
    ]


def test_bad_yaml_is_located(tmp_path: Path) -> None:
    text = _error(
        dbt_project(
            tmp_path / "p", {"models/schema.yml": "models:\n  - name: x\n    columns: [a\n"}
        )
    )
    assert text.startswith("models/schema.yml:4:1: invalid YAML")


def test_tests_written_as_a_text_are_one_located_error(tmp_path: Path) -> None:
    # they were read letter by letter: "unknown test 'n'", 'o', 't', ...
    schema = (
        "models:\n  - name: stg_people\n    columns:\n      - name: id\n        tests: not_null\n"
    )
    text = _error(dbt_project(tmp_path / "p", {"models/schema.yml": schema}))
    assert text.startswith(
        "models/schema.yml:5:9: tests of column 'id' of model 'stg_people' must be a list of "
        "checks, got the text 'not_null'"
    )
    assert "hint: write a list: 'tests: [not_null]'" in text
    assert "unknown test" not in text


def test_missing_profile_target_and_package(tmp_path: Path) -> None:
    root = dbt_project(
        tmp_path / "p", {}, project=PROJECT.replace("profile: shop", "profile: shopp")
    )
    text = _error(root)
    assert (
        text.startswith("dbt_project.yml:2:1: profile 'shopp' is not in")
        and "did you mean 'shop'?" in text
    )
    root = dbt_project(tmp_path / "q", {})
    text = _error(root, target="staging")
    assert (
        "target 'staging' is not an output of profile 'shop'" in text
        and "outputs: dev, prod" in text
    )
    (root / "packages.yml").write_text(
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n"
    )
    text = _error(root)
    assert text.startswith(
        "packages.yml:2: package 'dbt_utils' is listed in packages.yml but not installed"
    )
    assert "dbt deps" in text
    root = dbt_project(tmp_path / "r", {}, profiles=None)
    assert "no profiles.yml found" in _error(root, profiles_dir=tmp_path / "nowhere")


def test_unsupported_features_say_so(tmp_path: Path) -> None:
    mat = "{% materialization fancy, default %}{% endmaterialization %}"
    root = dbt_project(
        tmp_path / "p",
        {
            "macros/fancy.sql": mat,
            "models/m.sql": "{{ config(materialized='fancy') }}\nselect 1 as x\n",
        },
    )
    text = _error(root)
    assert "custom materialization 'fancy' (macros/fancy.sql), which teal does not support" in text
    # a Python model under the project's +materialized: view (dbt fails it when it runs)
    root = dbt_project(
        tmp_path / "q", {"models/py_model.py": "def model(dbt, session):\n    return None\n"}
    )
    assert _error(root).startswith(
        "models/py_model.py:1: Python model 'py_model' is materialized='view'"
    )


def test_semantic_layer_yaml_is_not_rendered(tmp_path: Path) -> None:
    yml = """
    semantic_models:
      - name: people
        model: ref('people_count')
    metrics:
      - name: n
        type: simple
        filter: "{{ Dimension('people__id') }} > 0"
    """
    project = load_project(dbt_project(tmp_path / "p", {"models/semantic.yml": yml}))
    assert "people_count" in project.models


@pytest.mark.slow
def test_build_seed_and_test_commands(tmp_path: Path) -> None:
    tests_yml = """
    models:
      - name: stg_people
        columns:
          - name: id
            data_tests: [unique, not_null]
          - name: name
            data_tests:
              - accepted_values:
                  arguments:
                    values: [Ann, Bo]
    """
    root = dbt_project(tmp_path / "p", {"models/staging/schema.yml": tests_yml})
    done = run_teal("seed", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 0, done.output
    assert query(
        root / "shop.duckdb",
        "select data_type from information_schema.columns where table_name = 'people' order by ordinal_position",
    ) == [("INTEGER",), ("VARCHAR",), ("DATE",), ("DOUBLE",), ("BOOLEAN",)]
    assert query(
        root / "shop.duckdb",
        "select count(*) from information_schema.tables where table_name = 'stg_people'",
    ) == [(0,)]
    done = run_teal("build", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 0, done.output
    assert query(root / "shop.duckdb", "select n from main_mart.people_count") == [(2,)]
    done = run_teal("test", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 0, done.output
    assert "Checks: 3 run, 3 passed" in done.output
    import json

    def test_results() -> dict[str, tuple[str, int | None]]:
        results = json.loads((root / "target" / "run_results.json").read_text())
        assert results["metadata"]["dbt_schema_version"].endswith("run-results/v6.json")
        assert results["args"]["which"] == "test"
        return {  # as dbt test writes it: the tests alone, each with its status and failures
            r["unique_id"].rsplit(".", 1)[0]: (r["status"], r["failures"])
            for r in results["results"]
        }

    assert test_results() == {
        "test.shop.unique_stg_people_id": ("pass", 0),
        "test.shop.not_null_stg_people_id": ("pass", 0),
        "test.shop.accepted_values_stg_people_name__Ann__Bo": ("pass", 0),
    }
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    assert manifest["parent_map"]["model.shop.people_count"] == ["model.shop.stg_people"]
    # a duplicate id under the view: dbt test fails, and run_results.json says which test
    import duckdb

    with duckdb.connect(str(root / "shop.duckdb")) as con:
        con.execute("insert into main_raw.people values (1, 'Ann', null, null, null)")
    done = run_teal("test", "-s", "stg_people", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 1, done.output
    assert test_results()["test.shop.unique_stg_people_id"] == ("fail", 1)


def test_selectors_yml_are_named_selectors(tmp_path: Path) -> None:
    from teal.compiler.selection import model_index, select

    selectors = """
    selectors:
      - name: marts_and_parents
        definition:
          method: tag
          value: daily
          parents: true
      - name: views_not_people
        definition:
          union:
            - method: config.materialized
              value: view
            - exclude:
                - method: resource_type
                  value: seed
    """
    root = dbt_project(tmp_path / "p", {"selectors.yml": selectors})
    project = load_project(root)
    idx = model_index(project)
    chosen = select(
        project.dag, ["selector:marts_and_parents"], models=idx, selectors=project.config.selectors
    )
    assert sorted(chosen) == ["people", "people_count", "stg_people"]
    chosen = select(
        project.dag, ["selector:views_not_people"], models=idx, selectors=project.config.selectors
    )
    assert sorted(chosen) == ["stg_people"]
    assert sorted(select(project.dag, ["resource_type:seed"], models=idx)) == ["people"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "exit_code", "columns"),
    [
        ("ignore", 0, ["id"]),
        ("append_new_columns", 0, ["id", "extra"]),
        ("sync_all_columns", 0, ["id", "extra"]),
        ("fail", 2, ["id"]),  # found when the build binds: located, nothing built
    ],
)
def test_on_schema_change(tmp_path: Path, mode: str, exit_code: int, columns: list[str]) -> None:
    model = (
        f"{{{{ config(materialized='incremental', on_schema_change='{mode}') }}}}\n"
        "select range as id{% if var('extra', false) %}, 'x' as extra{% endif %} from range(3)\n"
        "{% if is_incremental() %}where range > (select max(id) from {{ this }}) - 1{% endif %}\n"
    )
    root = dbt_project(tmp_path / "p", {"models/inc.sql": model})
    env = {"TEAL_RUN_STORE": "none"}
    assert run_teal("run", "-s", "inc", cwd=root, env=env).returncode == 0
    done = run_teal("run", "-s", "inc", "--vars", "{extra: true}", cwd=root, env=env)
    assert done.returncode == exit_code, done.output
    found = query(
        root / "shop.duckdb",
        "select column_name from information_schema.columns where table_name = 'inc' order by ordinal_position",
    )
    assert [c for (c,) in found] == columns
    assert query(root / "shop.duckdb", "select count(*) from main.inc") == [
        (4 if exit_code == 0 else 3,)
    ]


def test_empty_reads_each_relation_through_a_subquery_without_an_alias(tmp_path: Path) -> None:
    import dataclasses

    from teal.compiler.config import load_config

    aliased = (
        "select c.id from {{ ref('stg_people') }} c join {{ ref('people') }} as p using (id)\n"
    )
    cfg = load_config(dbt_project(tmp_path / "p", {"models/aliased.sql": aliased}))
    assert cfg.dbt is not None
    empty = dataclasses.replace(cfg, dbt=dataclasses.replace(cfg.dbt, empty=True))
    sql = load_project(config=empty).models["aliased"].compiled_sql
    # as dbt-duckdb renders it (require_alias false): the model's own aliases name them
    assert sql == (
        'select c.id from (select * from "main"."stg_people" where false limit 0) c join '
        '(select * from "main_raw"."people" where false limit 0) as p using (id)'
    )


@pytest.mark.slow
def test_empty_builds_every_relation_without_rows(tmp_path: Path) -> None:
    aliased = (
        "select c.id from {{ ref('stg_people') }} c join {{ ref('people') }} as p using (id)\n"
    )
    root = dbt_project(tmp_path / "p", {"models/aliased.sql": aliased})
    done = run_teal("build", "--empty", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 0, done.output
    assert query(root / "shop.duckdb", "select count(*) from main.aliased") == [(0,)]
    assert query(root / "shop.duckdb", "select count(*) from main_mart.people_count") == [(1,)]
    assert query(root / "shop.duckdb", "select n from main_mart.people_count") == [(0,)]
    assert query(root / "shop.duckdb", "select count(*) from main.stg_people") == [(0,)]
    assert query(root / "shop.duckdb", "select count(*) from main_raw.people") == [(3,)]
    teal_project = tmp_path / "t"
    (teal_project / "models").mkdir(parents=True)
    (teal_project / "teal.toml").write_text('name = "t"\n')
    done = run_teal("build", "--empty", cwd=teal_project, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 2 and "--empty is for dbt projects" in done.output


def test_a_misspelt_yaml_key_is_a_located_warning(tmp_path: Path) -> None:
    yml = "models:\n  - name: stg_people\n    descripton: people\n"
    project = load_project(dbt_project(tmp_path / "p", {"models/staging/schema.yml": yml}))
    (warning,) = project.warnings
    assert str(warning).startswith(
        "models/staging/schema.yml:3:5: unknown key 'descripton' for model 'stg_people'"
    )
    assert "did you mean 'description'?" in str(warning)


@pytest.mark.slow
def test_settings_teal_does_not_apply_are_located_warnings(tmp_path: Path) -> None:
    project_yml = PROJECT.replace(
        "      +tags: [daily]\n",
        "      +tags: [daily]\n      +grants:\n        select: [reporter]\n",
    )
    yml = """
    models:
      - name: stg_people
        config:
          persist_docs: {relation: true}
        latest_version: 1
        versions:
          - v: 1
    """
    incremental = """
    {{ config(materialized='incremental', unique_key='id',
              incremental_predicates=["DBT_INTERNAL_DEST.id > 0"]) }}
    select id from {{ ref('stg_people', v=1) }}
    """
    root = dbt_project(
        tmp_path / "p",
        {"models/staging/schema.yml": yml, "models/marts/inc.sql": incremental},
        project=project_yml,
    )
    project = load_project(root)
    found = sorted(str(w).splitlines()[0] for w in project.warnings)
    assert [w.split(": ", 1)[0] for w in found] == [
        "dbt_project.yml:12:7",  # +grants, inherited by both marts models: said once
        "models/staging/schema.yml:4:7",
    ]
    text = "\n".join(found)
    assert "grants (model 'inc') is read but not applied by teal: DuckDB has no grants" in text
    assert "incremental_predicates" not in text  # applied (the test below)
    assert "persist_docs (model 'stg_people_v1')" in text
    # versions are applied (compiler/dbt/versions.py): the latest may live in stg_people.sql
    assert project.models["stg_people_v1"].relation == "main.stg_people_v1"
    assert project.models["inc"].upstreams == ("stg_people_v1",)
    # the project still builds; --strict makes each warning an error (exit 2, located)
    env = {"TEAL_RUN_STORE": "none"}
    done = run_teal("compile", cwd=root, env=env)
    assert done.returncode == 0, done.output
    assert "dbt_project.yml:12:7: grants" in done.output
    strict = run_teal("compile", "--strict", cwd=root, env=env)
    assert strict.returncode == 2 and "Traceback" not in strict.output


def _listed(done: Any) -> list[str]:
    lines = done.stdout.splitlines()
    return sorted(line.split()[0] for line in lines[2:] if line.strip() and " of " not in line)


@pytest.mark.slow
def test_state_modified_compares_with_a_previous_manifest(tmp_path: Path) -> None:
    root = dbt_project(tmp_path / "p", {})
    env = {"TEAL_RUN_STORE": "none"}
    assert run_teal("parse", cwd=root, env=env).returncode == 0
    (root / "target").rename(tmp_path / "prod")  # the artifacts of the production run
    state = ("--state", str(tmp_path / "prod"))
    done = run_teal("ls", "-s", "state:modified", *state, cwd=root, env=env)
    assert done.returncode == 0 and _listed(done) == [], done.output
    (root / "models/marts/new_one.sql").write_text("select 1 as x\n")  # new
    with (root / "models/staging/stg_people.sql").open("a") as f:
        f.write("-- a changed body\n")  # modified body
    project = (root / "dbt_project.yml").read_text()
    (root / "dbt_project.yml").write_text(  # a changed config: people_count becomes a view
        project.replace("      +materialized: table\n", "      +materialized: view\n")
    )
    done = run_teal("ls", "-s", "state:modified", *state, cwd=root, env=env)
    assert _listed(done) == ["new_one", "people_count", "stg_people"], done.output
    done = run_teal("ls", "-s", "state:new", *state, cwd=root, env=env)
    assert _listed(done) == ["new_one"], done.output
    # the seed and the untouched file are unmodified, as dbt says
    done = run_teal("ls", "-s", "state:unmodified", *state, cwd=root, env=env)
    assert _listed(done) == ["people"], done.output
    missing = run_teal(
        "ls", "-s", "state:modified", "--state", str(tmp_path / "nowhere"), cwd=root, env=env
    )
    assert missing.returncode == 2 and "there is no manifest.json in it" in missing.output
    assert "Traceback" not in missing.output
    teal_project = tmp_path / "t"
    (teal_project / "models").mkdir(parents=True)
    (teal_project / "teal.toml").write_text('name = "t"\n')
    done = run_teal("ls", *state, cwd=teal_project, env=env)
    assert done.returncode == 2 and "--state is for dbt projects" in done.output


@pytest.mark.slow
def test_docs_generate_writes_dbt_catalog_and_manifest(tmp_path: Path) -> None:
    import json

    root = dbt_project(tmp_path / "p", {})
    env = {"TEAL_RUN_STORE": "none"}
    done = run_teal("docs", "generate", cwd=root, env=env)  # nothing built yet: no relations
    assert done.returncode == 0 and "(0 relations)" in done.output, done.output
    assert run_teal("build", cwd=root, env=env).returncode == 0
    done = run_teal("docs", "generate", cwd=root, env=env)
    assert done.returncode == 0 and "(3 relations)" in done.output, done.output
    catalog = json.loads((root / "target" / "catalog.json").read_text())
    assert catalog["metadata"]["dbt_schema_version"].endswith("/catalog/v1.json")
    assert sorted(catalog["nodes"]) == [
        "model.shop.people_count",
        "model.shop.stg_people",
        "seed.shop.people",
    ]
    view = catalog["nodes"]["model.shop.stg_people"]
    assert view["metadata"]["type"] == "VIEW" and view["metadata"]["schema"] == "main"
    assert [(c["name"], c["type"], c["index"]) for c in view["columns"].values()] == [
        ("id", "INTEGER", 1),
        ("name", "VARCHAR", 2),
        ("joined", "DATE", 3),
    ]
    assert catalog["nodes"]["seed.shop.people"]["metadata"]["schema"] == "main_raw"
    assert (
        "model.shop.stg_people" in json.loads((root / "target/manifest.json").read_text())["nodes"]
    )


@pytest.mark.slow
def test_incremental_predicates_limit_the_rows_replaced(tmp_path: Path) -> None:
    model = """
    {{ config(materialized='incremental', unique_key='id',
              incremental_predicates=["DBT_INTERNAL_DEST.id > 1"]) }}
    select id, {{ var('round', 1) }} as round from {{ ref('people') }}
    """
    root = dbt_project(tmp_path / "p", {"models/staging/inc.sql": model})
    env = {"TEAL_RUN_STORE": "none"}
    assert run_teal("build", cwd=root, env=env).returncode == 0
    done = run_teal("build", "-s", "inc", "--vars", "{round: 2}", cwd=root, env=env)
    assert done.returncode == 0, done.output
    # dbt's delete+insert: only existing rows with id > 1 are replaced; id 1 is kept and
    # its new row inserted beside it
    rows = query(root / "shop.duckdb", "select id, round from main.inc order by id, round")
    assert rows == [(1, 1), (1, 2), (2, 2), (3, 2)]


@pytest.mark.slow
def test_delete_insert_without_a_unique_key_appends_as_dbt_duckdb(tmp_path: Path) -> None:
    model = """
    {{ config(materialized='incremental', incremental_strategy='delete+insert') }}
    select id, {{ var('round', 1) }} as round from {{ ref('people') }}
    """
    root = dbt_project(tmp_path / "p", {"models/staging/inc.sql": model})
    assert load_project(root).models["inc"].strategy == "append"
    env = {"TEAL_RUN_STORE": "none"}
    assert run_teal("build", cwd=root, env=env).returncode == 0
    done = run_teal("build", "-s", "inc", "--vars", "{round: 2}", cwd=root, env=env)
    assert done.returncode == 0, done.output
    # no key to delete by: the new rows are inserted beside the old ones
    rows = query(root / "shop.duckdb", "select round, count(*) from main.inc group by 1 order by 1")
    assert rows == [(1, 3), (2, 3)]
    # merge has no meaning without a key: a located error whose hint names no column
    merge = textwrap.dedent(model.replace("delete+insert", "merge")).lstrip()
    (root / "models/staging/inc.sql").write_text(merge)
    text = _error(root)
    assert text.startswith(
        "models/staging/inc.sql:1: incremental_strategy='merge' needs a unique_key"
    ), text
    assert "hint: add unique_key='<column>' (or a list of columns)" in text


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (
            '{% if x > 1 %}\n    {{ exceptions.raise_compiler_error("x is too big: " ~ x) }}\n'
            "  {% endif %}",
            3,
            "compilation error: x is too big: 2",
        ),
        ("{{ undefined_thing.attr }}", 2, "Jinja error: 'undefined_thing' is undefined"),
        ("{{ x / 0 }}", 2, "ZeroDivisionError"),
    ],
)
def test_an_error_raised_inside_a_macro_is_located_in_the_macro(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    macro = "{% macro checked(x) %}\n  " + body + "\n  {{ x }}\n{% endmacro %}\n"
    root = dbt_project(
        tmp_path / "p",
        {
            "macros/checked.sql": macro,
            "models/marts/uses.sql": "select 1 as a,\n  {{ checked(2) }} as b\n",
        },
    )
    done = run_teal("parse", cwd=root, env={"TEAL_RUN_STORE": "none"})
    assert done.returncode == 2, done.output
    assert "Traceback" not in done.output
    # the line, then the column where the line's text starts
    assert re.match(rf"macros/checked.sql:{line}:\d+: ", done.stderr), done.stderr
    assert message in done.stderr
    assert "hint: in a macro that models/marts/uses.sql:2 calls: {{ checked(2) }} as b" in (
        done.stderr
    )


@pytest.mark.slow
def test_compile_shows_an_incremental_model_as_its_next_build_runs_it(tmp_path: Path) -> None:
    """As dbt compile: is_incremental() is true once the table exists, so the compiled SQL
    holds the filter the next build runs (it showed the first build's SQL, always)."""
    model = (
        "{{ config(materialized='incremental') }}\n"
        "select range as id from range(3)\n"
        "{% if is_incremental() %}where range > (select max(id) from {{ this }}){% endif %}\n"
    )
    root = dbt_project(tmp_path / "p", {"models/inc.sql": model})
    env = {"TEAL_RUN_STORE": "none"}
    compiled = root / "target" / "compiled" / "shop" / "models" / "inc.sql"
    assert run_teal("compile", "-s", "inc", cwd=root, env=env).returncode == 0
    assert "max(" not in compiled.read_text().lower()  # no table yet: the first build's
    assert run_teal("run", "-s", "inc", cwd=root, env=env).returncode == 0
    done = run_teal("compile", "-s", "inc", cwd=root, env=env)
    assert done.returncode == 0, done.output
    assert "max(" in compiled.read_text().lower(), compiled.read_text()
