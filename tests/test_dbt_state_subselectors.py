"""dbt's sub-selectors of ``state:modified`` with ``--state DIR``: ``modified.body``,
``modified.configs``, ``modified.relation``, ``modified.persisted_descriptions``,
``modified.macros`` and ``modified.contract`` (compiler/dbt/state.py).

The expected selections were recorded with dbt-core 1.12.6 and dbt-duckdb 1.11.1
(tests/dbt_projects/record_state_sub.py): ``dbt parse`` of the project below gave the
state (tests/golden/dbt_state_sub.json: its manifest trimmed to what --state compares),
then ``dbt ls -s state:modified.<aspect> --state ...`` on the project as :func:`change`
changes it. teal is compared with the same selections against dbt's manifest and against
its own (``teal parse`` of the unchanged project).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import query, run_teal
from tests.test_dbt_front_end import dbt_project

HERE = Path(__file__).parent
DBT_STATE = HERE / "golden" / "dbt_state_sub.json"
ENV = {"TEAL_RUN_STORE": "none"}

SCHEMA = """
version: 2
models:
  - name: cfg
    config: {materialized: view}
  - name: rel
    config: {alias: rel_v1}
  - name: documented
    description: People, one a row
    config:
      persist_docs: {relation: true, columns: true}
    columns:
      - name: id
        description: The id
  - name: undocumented
    description: Described, not persisted
    columns:
      - name: id
        description: The id
  - name: contracted
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
  - name: contract_on
    config:
      contract: {enforced: false}
    columns:
      - name: id
        data_type: integer
  - name: stg_people
    columns:
      - name: id
        data_tests: [not_null]
"""
MACROS = """
{% macro shout(x) %}upper({{ inner(x) }}){% endmacro %}
{% macro inner(x) %}{{ x }}{% endmacro %}
"""
IDS = "select cast(id as integer) as id from {{ ref('people') }}\n"
FILES = {
    "macros/text.sql": MACROS,
    "models/staging/schema.yml": SCHEMA,
    "models/staging/by_macro.sql": "select id, {{ shout('name') }} as name "
    "from {{ ref('people') }}\n",
    "models/staging/body_only.sql": IDS,
    "models/staging/cfg.sql": IDS,
    "models/staging/rel.sql": IDS,
    "models/staging/documented.sql": IDS,
    "models/staging/undocumented.sql": IDS,
    "models/staging/contracted.sql": IDS,
    "models/staging/contract_on.sql": IDS,
    "tests/assert_people.sql": "select * from {{ ref('stg_people') }} where id < 0\n",
}

# what `dbt ls -s state:<value> --state <the unchanged project's target>` listed on the
# changed project (models, seeds and tests by name)
NEW = ["brand_new"]
DBT = {
    "modified": [
        "assert_people",
        "body_only",
        "brand_new",
        "by_macro",
        "cfg",
        "contract_on",
        "contracted",
        "documented",
        "not_null_stg_people_id",
        "rel",
    ],
    "modified.body": ["assert_people", "body_only", "brand_new", "not_null_stg_people_id"],
    "modified.configs": ["brand_new", "cfg", "contract_on", "not_null_stg_people_id"],
    "modified.relation": ["brand_new", "rel"],
    "modified.persisted_descriptions": ["brand_new", "documented"],
    "modified.macros": ["by_macro"],
    "modified.contract": ["brand_new", "contract_on", "contracted"],
}
# where teal selects otherwise, and why: dbt writes a generic test's own YAML config into
# its raw_code, so a changed severity changes its body too (teal: its configs only); dbt's
# modified.configs counts every config but tags, group and the relation's, teal's the
# configs that change what is built, and a contract turned on does not (it is
# modified.contract in both)
TEAL = {
    **DBT,
    "modified.body": ["assert_people", "body_only", "brand_new"],
    "modified.configs": ["brand_new", "cfg", "not_null_stg_people_id"],
}


def _sub(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def change(root: Path) -> None:
    """One change per sub-selector, each to its own model (or test)."""
    schema = root / "models/staging/schema.yml"
    _sub(root / "models/staging/body_only.sql", "cast(id as integer)", "cast(id as bigint)")
    _sub(schema, "config: {materialized: view}", "config: {materialized: table}")
    _sub(schema, "config: {alias: rel_v1}", "config: {alias: rel_v2}")
    # documented's column (the first one described so)
    _sub(schema, "description: The id", "description: The person's id")
    _sub(schema, "description: Described, not persisted", "description: Described again")
    _sub(
        schema,
        "      contract: {enforced: true}\n    columns:\n      - name: id\n"
        "        data_type: integer\n",
        "      contract: {enforced: true}\n    columns:\n      - name: id\n"
        "        data_type: bigint\n",
    )
    _sub(schema, "contract: {enforced: false}", "contract: {enforced: true}")
    _sub(
        schema,
        "data_tests: [not_null]",
        "data_tests:\n          - not_null:\n              config:\n                severity: warn",
    )
    _sub(root / "macros/text.sql", "{{ x }}", "trim({{ x }})")
    _sub(root / "tests/assert_people.sql", "where id < 0", "where id < 0 or id is null")
    (root / "models/marts/brand_new.sql").write_text("select 1 as x\n")


def _listed(done: object) -> list[str]:
    return sorted(line for line in done.stdout.splitlines() if line.strip())  # type: ignore[attr-defined]


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = dbt_project(tmp_path / "p", FILES)
    return root, {**ENV, "SHOP_DB": str(tmp_path / "shop.duckdb")}


@pytest.mark.slow
def test_each_sub_selector_selects_what_dbts_does(tmp_path: Path) -> None:
    root, env = _project(tmp_path)
    assert run_teal("parse", cwd=root, env=env).returncode == 0
    (root / "target").rename(tmp_path / "teal_state")  # teal's own manifest, before
    (tmp_path / "dbt_state").mkdir()  # dbt's, of the same project
    shutil.copy(DBT_STATE, tmp_path / "dbt_state" / "manifest.json")
    for state in ("teal_state", "dbt_state"):  # nothing changed yet: no sub-selector selects
        flag = ("--state", str(tmp_path / state))
        every = " ".join(f"state:{value}" for value in DBT)
        done = run_teal("ls", "-s", every, *flag, "--resource-type", "all", cwd=root, env=env)
        assert done.returncode == 0 and "\n0 resources" in done.stdout, (state, done.output)
    change(root)
    for state in ("teal_state", "dbt_state"):
        flag = ("--state", str(tmp_path / state))
        for value, expected in TEAL.items():
            done = run_teal(
                "ls",
                "-s",
                f"state:{value}",
                *flag,
                "--resource-type",
                "all",
                "-o",
                "name",
                cwd=root,
                env=env,
            )
            assert done.returncode == 0, (state, value, done.output)
            assert _listed(done) == expected, (state, value, done.output)
        done = run_teal("ls", "-s", "state:new", *flag, "-o", "name", cwd=root, env=env)
        assert _listed(done) == NEW, (state, done.output)


@pytest.mark.slow
def test_build_runs_what_a_sub_selector_selects(tmp_path: Path) -> None:
    """``teal build -s state:modified.macros`` rebuilds the model whose macro changed and
    nothing else, though other models changed too; ``+`` adds what reads it."""
    root, env = _project(tmp_path)
    db = tmp_path / "shop.duckdb"
    assert run_teal("build", cwd=root, env=env).returncode == 0
    shutil.copytree(root / "target", tmp_path / "prod")
    builds = query(db, "select count(*) from teal.builds")[0][0]
    change(root)
    flag = ("--state", str(tmp_path / "prod"))
    done = run_teal("build", "-s", "state:modified.macros", *flag, cwd=root, env=env)
    assert done.returncode == 0, done.output
    rebuilt = query(db, f"select model from teal.builds order by finished_at offset {builds}")
    assert [m for (m,) in rebuilt] == ["by_macro"], done.output
    assert query(db, "select name from main.by_macro order by id") == [("ANN",), ("BO",), ("CY",)]
    done = run_teal("build", "-s", "state:modified.relation", *flag, cwd=root, env=env)
    assert done.returncode == 0, done.output
    assert query(db, "select count(*) from main.rel_v2") == [(3,)]


@pytest.mark.slow
def test_a_sub_selector_needs_a_manifest_and_a_known_name(tmp_path: Path) -> None:
    root, env = _project(tmp_path)
    done = run_teal("ls", "-s", "state:modified.body", cwd=root, env=env)
    assert done.returncode == 2, done.output
    assert (
        "--select: state:modified.body compares with a previous manifest: it needs --state DIR"
        " (at position 1)" in done.stderr
    )
    assert "hint: without --state, teal compares each model with what the warehouse" in (
        done.stderr
    )
    assert "Traceback" not in done.output
    assert run_teal("parse", cwd=root, env=env).returncode == 0
    flag = ("--state", str(root / "target"))
    done = run_teal("ls", "-s", "tag:daily state:modified.bodyy", *flag, cwd=root, env=env)
    assert done.returncode == 2, done.output
    assert "unknown state 'modified.bodyy' (at position 11)" in done.stderr
    assert "did you mean 'modified.body'?" in done.stderr
    done = run_teal("ls", "-s", "state:modified.contract", *flag, cwd=root, env=env)
    assert done.returncode == 0 and "\n0 of " in done.stdout, done.output


@pytest.mark.slow
def test_a_changed_hook_makes_its_model_modified_configs(tmp_path: Path) -> None:
    """dbt's modified.configs counts a model's hooks: a post-hook edited in YAML (the
    model's file unchanged) makes it modified, so slim CI rebuilds it."""
    schema = 'version: 2\nmodels:\n  - name: hooked\n    config:\n      post_hook: ["select 1"]\n'
    root = dbt_project(
        tmp_path / "p",
        {"models/staging/schema.yml": schema, "models/staging/hooked.sql": IDS},
    )
    env = {**ENV, "SHOP_DB": str(tmp_path / "shop.duckdb")}
    assert run_teal("parse", cwd=root, env=env).returncode == 0
    (root / "target").rename(tmp_path / "state")
    flag = ("--state", str(tmp_path / "state"), "-o", "name")
    done = run_teal("ls", "-s", "state:modified", *flag, cwd=root, env=env)
    assert done.returncode == 0 and "hooked" not in _listed(done), done.output
    _sub(root / "models/staging/schema.yml", '["select 1"]', '["select 2"]')
    for value, listed in (("modified", True), ("modified.configs", True), ("modified.body", False)):
        done = run_teal("ls", "-s", f"state:{value}", *flag, cwd=root, env=env)
        assert done.returncode == 0, done.output
        assert ("hooked" in _listed(done)) is listed, (value, done.output)
