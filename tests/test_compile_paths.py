"""A model's SQL is compiled one of two ways (compiler.compile_sql): by splicing each
reference's target over the name the author wrote (fast, keeps the author's layout), or by
rewriting the parse tree (for ephemerals, pushed-down filters and references written with
more than a name and an alias). Both must mean the same; ``check_splice`` proves it model
by model, and these tests run it over projects with every kind of reference."""

from __future__ import annotations

import shutil

import pytest

from teal.compiler import compile_sql
from teal.compiler.project import load_project
from teal.compiler.strategy import LoadStrategy
from tests.conftest import REPO

CHECKED = LoadStrategy(check_splice=True)

REFERENCES = {
    "models/staging/orders.sql": "select 1 as id, 10 as amount, 'eu' as region",
    "models/staging/Customers.sql": "select 1 as id, 'ann' as name",
    "models/staging/tiny.sql": "{{ config(materialized='ephemeral') }}\nselect 1 as id",
    # a bare name, an alias, a schema-qualified name, ref() and source() markers
    "models/marts/plain.sql": """
        -- kept: the author's comment and layout
        SELECT o.id, orders.amount
        FROM orders AS o
        JOIN staging.orders USING (id)
        JOIN {{ ref('Customers') }} c ON c.id = o.id
        """,
    "models/marts/from_sources.sql": """
        select e.id, f.id as file_id, w.id as wh_id, raw_events.id as again
        from {{ source('files', 'events') }} e
        join files.events f using (id)
        join wh.events w using (id)
        join raw_events using (id)
        """,
    "models/marts/quoted.sql": 'select "Customers".id from "staging"."Customers"',
    # needs the tree: an ephemeral upstream, and a sample clause on a reference
    "models/marts/with_ephemeral.sql": "select t.id from tiny t join orders using (id)",
    "models/marts/sampled.sql": "select * from orders tablesample (10 rows)",
    "models/marts/incremental.sql": """
        {{ config(materialized='incremental', unique_key='id') }}
        select id, amount from orders
        {% if is_incremental() %} where id > (select max(id) from {{ this }}) {% endif %}
        """,
    "models/sources.yml": """
        sources:
          - name: files
            path: data/{table}.csv
            tables: [events]
          - name: wh
            schema: landing
            tables: [events]
          - name: raw
            type: duckdb
            path: data/raw.duckdb
            tables: [raw_events]
        """,
}


def _summary(project) -> dict:
    return {n: (m.compiled_sql, m.incremental_sql, m.sql_hash) for n, m in project.models.items()}


def test_every_kind_of_reference_compiles_the_same_by_text_and_by_tree(project) -> None:
    root = project(REFERENCES)
    unchecked = load_project(root)
    shutil.rmtree(root / ".teal")  # compiled again, not taken from the cache
    checked = load_project(root, strategy=CHECKED)
    assert _summary(checked) == _summary(unchecked)
    plain = checked.models["plain"].compiled_sql or ""
    assert plain.startswith("SELECT o.id, orders.amount\nFROM")  # spliced: layout kept
    assert '"staging"."Customers" AS "c"' not in plain and '"staging"."Customers" c' in plain
    # the tree, printed: an inlined ephemeral, a sampled reference
    assert "__teal_eph_tiny" in (checked.models["with_ephemeral"].compiled_sql or "")
    assert (checked.models["sampled"].compiled_sql or "").startswith("SELECT\n  *\nFROM")


@pytest.mark.parametrize(
    "folder",
    [REPO, *sorted(p for p in (REPO / "tests" / "golden").iterdir() if p.is_dir())],
    ids=lambda p: p.name,
)
def test_the_example_and_golden_projects_compile_the_same_both_ways(folder, tmp_path) -> None:
    root = tmp_path / "p"
    for part in ("models", "checks"):
        if (folder / part).is_dir():
            shutil.copytree(folder / part, root / part)
    config = "teal.toml" if (folder / "teal.toml").exists() else "pyproject.toml"
    shutil.copy(folder / config, root / config)
    assert load_project(root, strategy=CHECKED).models  # raises where the two ways differ


def test_a_splice_that_means_something_else_is_caught(project, monkeypatch) -> None:
    root = project(
        {
            "models/a.sql": "{{ config(alias='a_v2') }}\nselect 1 as id",
            "models/b.sql": "select a.id from a",
        }
    )
    real = compile_sql._splice

    def drops_the_alias(*args):
        text = real(*args)
        return None if text is None else text.replace(' AS "a"', "")

    monkeypatch.setattr(compile_sql, "_splice", drops_the_alias)
    with pytest.raises(RuntimeError, match="b.sql: the text splice and the tree rewrite disagree"):
        load_project(root, strategy=CHECKED)
    monkeypatch.undo()
    shutil.rmtree(root / ".teal", ignore_errors=True)
    spliced = load_project(root, strategy=CHECKED).models["b"].compiled_sql
    assert spliced == 'select a.id from "main"."a_v2" AS "a"'
