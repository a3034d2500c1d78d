"""Lineage is inferred from the SQL (and Python signatures), and compiled SQL keeps results."""

from __future__ import annotations

import re

import duckdb
import pytest

from teal.compiler.errors import ErrorGroup, LineageError
from teal.compiler.project import load_project
from teal.compiler.sql import parse_sql, table_references


def one_line(sql: str) -> str:
    """Compiled SQL is pretty-printed; compare it as one line."""
    flat = " ".join(sql.split())
    return re.sub(r"\( ", "(", re.sub(r" \)", ")", flat))


def refs(sql: str) -> list[str]:
    return [str(r) for r in table_references(parse_sql(sql, path="m.sql"))]


def lineage_error(root) -> LineageError:
    with pytest.raises(LineageError) as info:
        load_project(root)
    return info.value


def run_models(project, con=None) -> duckdb.DuckDBPyConnection:
    """Create every non-ephemeral SQL model as a view in an in-memory DuckDB, in DAG order."""
    con = con or duckdb.connect()
    for name in project.dag.order():
        m = project.models[name]
        if m.kind != "sql" or m.materialized == "ephemeral":
            continue
        con.execute(f'create schema if not exists "{m.schema}"')
        con.execute(f'create view "{m.schema}"."{m.alias}" as {m.compiled_sql}')
    return con


ORDERS = "select * from (values (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'a')) t(id, amount, customer)"


# -- table_references on plain SQL -------------------------------------------------------------


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("select * from orders", ["orders"]),
        ("select * from staging.stg_orders", ["staging.stg_orders"]),
        ('select * from "Stg_Orders"', ["Stg_Orders"]),
        ("select * from a join b on a.id = b.id left join c using (id)", ["a", "b", "c"]),
        ("select * from a, b", ["a", "b"]),
        # CTEs shadow tables of the same name, but only where they are visible
        ("with stg_orders as (select 1 as id) select * from stg_orders", []),
        ("with orders as (select * from orders) select * from orders", ["orders"]),
        ("with a as (select 1 as x) select * from (select * from a) s", []),
        (
            "select * from (with orders as (select 1 as id) select * from orders) x "
            "join orders using (id)",
            ["orders"],
        ),
        ("with a as (select * from b), b as (select 1 as x) select * from a", ["b"]),
        (
            "with recursive r as (select 1 as n union all select n + 1 from r where n < 3) "
            "select * from r",
            [],
        ),
        # CTE names ignore case, as DuckDB's do; a WITH over a union covers both sides; a CTE
        # sees those declared before it, and a nested WITH is seen only inside its query
        ("with Orders as (select 1 as id) select * from orders", []),
        ("with a as (select 1 as x) select * from a union all select * from a", []),
        # WITH RECURSIVE: a CTE sees itself only when its body is a UNION, never a later CTE
        (
            "with recursive orders as (select * from orders where id > 0), walk as ("
            "select id from orders union all select o.id from walk join orders o on o.id = walk.id) "
            "select * from walk",
            ["orders"],
        ),
        ("with recursive a as (select * from b), b as (select 1 as x) select * from a", ["b"]),
        ("with a as (select 1 as x), b as (select * from a) select * from b", []),
        (
            "with a as (with inner_one as (select 1 as x) select * from inner_one) "
            "select * from a join inner_one using (x)",
            ["inner_one"],
        ),
        ("select * from (with a as (select 1 as x) select * from a) s, a", ["a"]),
        # subqueries anywhere
        ("select (select max(x) from b) as m from a", ["a", "b"]),
        (
            "select * from a where id in (select id from b) "
            "and exists (select 1 from c where c.id = a.id)",
            ["a", "b", "c"],
        ),
        ("select * from (select * from (select * from deep) d1) d2", ["deep"]),
        ("select * from a, lateral (select * from b where b.id = a.id) x", ["a", "b"]),
        # set operations
        ("select id from a union all select id from b union select id from c", ["a", "b", "c"]),
        ("select id from a intersect select id from b except select id from c", ["a", "b", "c"]),
        # things that are not tables
        ("select * from read_parquet('x.parquet')", []),
        ("select * from read_csv('data/*.csv', header = true)", []),
        ("select * from 'file.csv'", []),
        ("select * from 'data/events.parquet'", []),
        ("select * from range(10)", []),
        ("select * from generate_series(1, 3) t(x)", []),
        ("select * from information_schema.tables", []),
        ("select * from a join read_parquet('x.parquet') p using (id)", ["a"]),
    ],
)
def test_table_references(sql, expected):
    assert sorted(refs(sql)) == sorted(expected)


def test_table_reference_positions_point_at_the_first_name_part():
    found = table_references(
        parse_sql(
            'select 1\nfrom\n    staging.stg_orders o\n  join "Stg_Customers" c using (id)',
            path="m.sql",
        )
    )
    assert [(r.db, r.name, r.line, r.col) for r in found] == [
        ("staging", "stg_orders", 3, 5),
        ("", "Stg_Customers", 4, 8),
    ]


def test_references_come_in_the_order_of_the_text():
    found = table_references(
        parse_sql(
            "with x as (select * from c) select * from b join x using (id) "
            "where id in (select id from a)",
            path="m.sql",
        )
    )
    assert [r.name for r in found] == ["c", "b", "a"]


def test_every_occurrence_is_a_reference_so_each_can_be_rewritten():
    found = table_references(parse_sql("select * from a join a as a2 using (id)", path="m.sql"))
    assert [r.name for r in found] == ["a", "a"]
    assert found[0].node is not found[1].node


# -- models: names, schemas, quoting ------------------------------------------------------------


def test_unqualified_qualified_and_quoted_names_resolve_to_the_same_model(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/marts/a.sql": "select * from stg_orders",
            "models/marts/b.sql": "select * from staging.stg_orders",
            "models/marts/c.sql": 'select * from "Stg_Orders"',
            "models/marts/d.sql": 'select * from "staging"."STG_ORDERS"',
        }
    )
    p = load_project(root)
    for name in "abcd":
        m = p.models[name]
        assert m.upstreams == ("stg_orders",), name
        assert m.source_tables == ()
        assert '"staging"."stg_orders"' in one_line(m.compiled_sql), one_line(m.compiled_sql)
    con = run_models(p)
    for name in "abcd":
        assert con.execute(f"select sum(amount) from marts.{name}").fetchone() == (60,)


def test_schema_qualified_name_must_match_the_models_folder(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/marts/a.sql": "select * from marts.stg_orders",
        }
    )
    err = lineage_error(root)
    assert "'marts.stg_orders' is not a model" in err.message
    assert "stg_orders" in err.hint


def test_compiled_sql_keeps_the_authors_name_for_qualified_columns(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/marts/a.sql": "select stg_orders.id, o2.amount "
            "from stg_orders join staging.stg_orders o2 using (id)",
        }
    )
    p = load_project(root)
    assert one_line(p.models["a"].compiled_sql) == (
        'select stg_orders.id, o2.amount from "staging"."stg_orders" '
        'join "staging"."stg_orders" o2 using (id)'
    )
    assert run_models(p).execute("select count(*) from marts.a").fetchone() == (3,)


def test_compiled_sql_is_the_authors_text_with_only_the_references_replaced(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/marts/a.sql": "-- revenue per customer\n"
            "SELECT customer,\n"
            "       sum(amount) AS revenue  -- 'é' before the reference\n"
            "FROM   Stg_Orders\n"
            "GROUP BY customer;  -- a comment after the ';'",
            # a reference with more than a name and an alias is rewritten on the tree
            "models/marts/half.sql": "select count(*) > 0 as some from stg_orders tablesample 100%",
            "models/marts/j.sql": "select {{ 1 + 1 }} as two, o.id from {{ ref('stg_orders') }} as o",
        }
    )
    p = load_project(root)
    assert p.models["a"].compiled_sql == (
        "SELECT customer,\n"
        "       sum(amount) AS revenue  -- 'é' before the reference\n"
        'FROM   "staging"."stg_orders"\n'
        "GROUP BY customer"
    )
    assert p.models["j"].compiled_sql == 'select 2 as two, o.id from "staging"."stg_orders" as o'
    assert '"staging"."stg_orders"' in p.models["half"].compiled_sql
    con = run_models(p)
    assert sorted(con.execute("select * from marts.a").fetchall()) == [("a", 40), ("b", 20)]
    assert con.execute("select * from marts.half").fetchone() == (True,)
    assert con.execute("select count(*) from marts.j").fetchone() == (3,)


def test_reformatting_a_model_keeps_its_version_and_a_real_edit_changes_it(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/marts/a.sql": "select id from stg_orders where amount > 10",
        }
    )
    before = load_project(root).models["a"].sql_hash
    (root / "models/marts/a.sql").write_text(
        "-- big orders\nSELECT id\n  FROM stg_orders /* only big */\n WHERE amount > 10;\n"
    )
    assert load_project(root).models["a"].sql_hash == before
    # other case is part of what DuckDB keeps: a name it prints, any kind of string
    for edit in (
        "select id as ID from stg_orders where amount > 10",
        "select id as Id from stg_orders where amount > 10",
        "select id from stg_orders where amount > 10 and $$a$$ = $$A$$",
    ):
        (root / "models/marts/a.sql").write_text(edit)
        assert load_project(root).models["a"].sql_hash != before, edit
    (root / "models/marts/a.sql").write_text("select id from stg_orders where amount > 20")
    assert load_project(root).models["a"].sql_hash != before
    (root / "models/marts/a.sql").write_text("select id from stg_orders where amount > 10")
    (root / "models/staging/stg_orders.sql").write_text(
        "{{ config(alias='orders_v2') }}\n" + ORDERS
    )
    assert load_project(root).models["a"].sql_hash != before  # it reads another relation now


def test_model_with_schema_and_alias_config_is_read_at_its_relation(project):
    root = project(
        {
            "models/staging/stg_orders.sql": "{{ config(schema='core', alias='orders') }}\n"
            + ORDERS,
            "models/marts/a.sql": "select stg_orders.amount from stg_orders",
            "models/marts/b.sql": "select * from core.orders",
        }
    )
    p = load_project(root)
    assert one_line(p.models["a"].compiled_sql) == (
        'select stg_orders.amount from "core"."orders" AS "stg_orders"'
    )
    assert p.models["b"].upstreams == ("stg_orders",)
    con = run_models(p)
    assert con.execute("select sum(amount) from marts.a").fetchone() == (60,)


def test_top_level_models_live_in_main(project):
    root = project(
        {"models/base.sql": "select 1 as x", "models/marts/a.sql": "select * from main.base"}
    )
    p = load_project(root)
    assert p.models["base"].relation == "main.base"
    assert p.models["a"].upstreams == ("base",)


# -- CTEs, subqueries, unions in models -------------------------------------------------------


def test_cte_named_like_a_model_reads_the_model_inside_its_own_body(project):
    root = project(
        {
            "models/staging/orders.sql": ORDERS,
            "models/marts/big_orders.sql": """
            with orders as (select * from orders where amount > 15)
            select count(*) as n from orders
        """,
        }
    )
    p = load_project(root)
    m = p.models["big_orders"]
    assert m.upstreams == ("orders",)
    assert one_line(m.compiled_sql) == (
        'with orders as (select * from "staging"."orders" where amount > 15) '
        "select count(*) as n from orders"
    )
    assert run_models(p).execute("select n from marts.big_orders").fetchone() == (2,)


def test_cte_shadowing_a_name_that_is_not_a_model_is_fine(project):
    root = project({"models/a.sql": "with nowhere as (select 1 as x) select * from nowhere"})
    assert load_project(root).models["a"].upstreams == ()


def test_cte_does_not_shadow_outside_its_scope(project):
    root = project(
        {
            "models/staging/orders.sql": ORDERS,
            "models/marts/m.sql": """
            select o.id, x.one
            from (with orders as (select 1 as one) select * from orders) x
            cross join orders o
        """,
        }
    )
    p = load_project(root)
    assert p.models["m"].upstreams == ("orders",)
    assert run_models(p).execute("select count(*), min(one) from marts.m").fetchone() == (3, 1)


def test_subqueries_joins_and_unions_all_become_upstreams(project):
    root = project(
        {
            "models/staging/a.sql": "select 1 as id",
            "models/staging/b.sql": "select 2 as id",
            "models/staging/c.sql": "select 3 as id",
            "models/staging/d.sql": "select 1 as id",
            "models/staging/e.sql": "select 1 as id",
            "models/marts/m.sql": """
            select id from a
            where id in (select id from d)
              and exists (select 1 from e where e.id = a.id)
            union all
            select b.id from b join (select * from c) cc on true
        """,
        }
    )
    p = load_project(root)
    assert p.models["m"].upstreams == ("a", "b", "c", "d", "e")
    assert p.dag.order()[-1] == "m"
    assert sorted(run_models(p).execute("select id from marts.m").fetchall()) == [(1,), (2,)]


def test_files_and_table_functions_are_not_dependencies(project, tmp_path):
    root = project(
        {
            "models/m.sql": """
        select count(*) as n from range(10)
        union all select count(*) from generate_series(1, 3)
        union all select count(*) from read_csv('data/x.csv')
        union all select count(*) from 'data/x.csv'
    """
        }
    )
    (root / "data").mkdir()
    (root / "data" / "x.csv").write_text("a\n1\n2\n")
    p = load_project(root)
    m = p.models["m"]
    assert (m.upstreams, m.source_tables) == ((), ())
    con = duckdb.connect()
    con.execute(f"set file_search_path = '{root}'")
    assert sorted(con.execute(m.compiled_sql).fetchall()) == [(2,), (2,), (3,), (10,)]


def test_self_reference_through_this_is_not_an_upstream(project):
    root = project(
        {
            "models/marts/events.sql": """
            {{ config(materialized='table') }}
            select 1 as id
            where not exists (select 1 from {{ this }} where id = 1)
        """,
        }
    )
    m = load_project(root).models["events"]
    assert m.upstreams == ()
    assert '"marts"."events"' in one_line(m.compiled_sql)


# -- Jinja ref / source --------------------------------------------------------------------------


def test_ref_and_source_make_lineage(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/staging/sources.yml": """
            sources:
              - name: shop
                tables: [payments]
        """,
            "models/marts/m.sql": """
            select * from {{ ref('stg_orders') }} o
            join {{ source('shop', 'payments') }} p using (id)
        """,
        }
    )
    m = load_project(root).models["m"]
    assert m.upstreams == ("stg_orders",)
    assert m.source_tables == ("shop.payments",)
    assert one_line(m.compiled_sql) == (
        'select * from "staging"."stg_orders" o join "shop"."payments" p using (id)'
    )


def test_ref_is_case_insensitive_like_plain_names(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/m.sql": "select * from {{ ref('STG_Orders') }}",
        }
    )
    assert load_project(root).models["m"].upstreams == ("stg_orders",)


def test_unknown_ref_is_a_lineage_error_at_the_ref(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/m.sql": "select *\nfrom {{ ref('stg_ordrs') }}",
        }
    )
    err = lineage_error(root)
    assert (err.path, err.line) == ("models/m.sql", 2)
    assert "ref('stg_ordrs')" in err.message
    assert err.hint == "did you mean 'stg_orders'?"


def test_unknown_source_table_is_a_lineage_error(project):
    root = project(
        {
            "models/sources.yml": "sources:\n  - name: shop\n    tables: [payments]\n",
            "models/m.sql": "select * from {{ source('shop', 'paymnts') }}",
        }
    )
    err = lineage_error(root)
    assert "source('shop', 'paymnts')" in err.message
    assert "shop.payments" in err.hint


# -- declared sources -------------------------------------------------------------------------------


def test_yaml_file_sources_compile_to_readers_relative_to_the_yaml(project):
    root = project(
        {
            "models/staging/sources.yml": """
            sources:
              - name: files
                type: csv
                path: ../../data/{table}.csv
                tables: [people]
              - name: lake
                type: parquet
                path: ../../data/events.parquet
                tables: [events]
        """,
            "models/staging/people.sql": "select people.id, name from files.people",
            "models/staging/joined.sql": """
            select p.name, count(*) as n
            from {{ source('files', 'people') }} p join events e on e.person = p.id
            group by all
        """,
        }
    )
    data = root / "data"
    data.mkdir()
    (data / "people.csv").write_text("id,name\n1,ann\n2,bob\n")
    duckdb.connect().execute(
        f"copy (select * from (values (1), (1), (2)) t(person)) to '{data / 'events.parquet'}'"
    )
    p = load_project(root)
    people, joined = p.models["people"], p.models["joined"]
    assert people.source_tables == ("files.people",) and people.upstreams == ()
    assert joined.source_tables == ("files.people", "lake.events")
    csv_path = str((data / "people.csv").resolve())
    assert f"read_csv('{csv_path}') AS \"people\"" in one_line(people.compiled_sql)
    assert "read_parquet(" in one_line(joined.compiled_sql)
    con = run_models(p)
    assert sorted(con.execute("select * from staging.people").fetchall()) == [
        (1, "ann"),
        (2, "bob"),
    ]
    assert sorted(con.execute("select * from staging.joined").fetchall()) == [
        ("ann", 2),
        ("bob", 1),
    ]


def test_project_config_sources_are_warehouse_tables(project):
    root = project(
        {"models/m.sql": "select * from erp.invoices join {{ source('erp', 'lines') }} using (id)"},
        config="""
                       name = "x"
                       [sources.erp]
                       schema = "erp_raw"
                       tables = ["invoices", "lines"]
                   """,
    )
    m = load_project(root).models["m"]
    assert m.source_tables == ("erp.invoices", "erp.lines")
    assert one_line(m.compiled_sql) == (
        'select * from "erp_raw"."invoices" join "erp_raw"."lines" using (id)'
    )


def test_project_config_file_source_paths_are_relative_to_the_project(project):
    root = project(
        {"models/staging/m.sql": "select sum(x) as s from lake.points"},
        config="""
                       name = "x"
                       [sources.lake]
                       type = "parquet"
                       path = "data/{table}.parquet"
                       tables = ["points"]
                   """,
    )
    (root / "data").mkdir()
    duckdb.connect().execute(
        f"copy (select * from range(5) t(x)) to '{root / 'data' / 'points.parquet'}'"
    )
    p = load_project(root)
    m = p.models["m"]
    assert m.source_tables == ("lake.points",)
    points = (root / "data" / "points.parquet").resolve()
    assert f"read_parquet('{points}') AS \"points\"" in one_line(m.compiled_sql)
    assert run_models(p).execute("select s from staging.m").fetchone() == (10,)


def test_bare_source_table_name_resolves_when_it_is_unambiguous(project):
    root = project(
        {
            "models/sources.yml": """
            sources:
              - name: erp
                tables: [invoices, customers]
              - name: crm
                tables: [customers]
        """,
            "models/a.sql": "select * from invoices",
            "models/b.sql": "select * from customers",
        }
    )
    err = lineage_error(root)  # customers is in two sources: the user must say which
    assert err.path == "models/b.sql"
    assert "'customers' is not a model or a declared source" in err.message
    (root / "models" / "b.sql").write_text("select * from crm.customers")
    p = load_project(root)
    assert p.models["a"].source_tables == ("erp.invoices",)
    assert p.models["b"].source_tables == ("crm.customers",)


def test_model_wins_over_a_source_table_with_the_same_name(project):
    root = project(
        {
            "models/sources.yml": "sources:\n  - name: erp\n    tables: [orders]\n",
            "models/staging/orders.sql": "select * from erp.orders",
            "models/m.sql": "select * from orders",
        }
    )
    p = load_project(root)
    assert p.models["m"].upstreams == ("orders",)
    assert p.models["orders"].source_tables == ("erp.orders",)


# -- unknown tables: pointed errors -----------------------------------------------------------------


def test_unknown_table_error_names_file_line_column_and_closest_model(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/marts/m.sql": "select *\nfrom stg_orders o\n  join stg_ordrs p using (id)\n",
        }
    )
    err = lineage_error(root)
    assert str(err).splitlines()[0] == (
        "models/marts/m.sql:3:8: 'stg_ordrs' is not a model or a declared source"
    )
    assert "  join stg_ordrs p using (id)" in str(err)
    assert "\n" + " " * 4 + " " * 7 + "^" in str(err)
    assert err.hint == "did you mean 'stg_orders'?"


def test_unknown_quoted_table_hint_ignores_case(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/m.sql": 'select * from "STG_ORDRS"',
        }
    )
    err = lineage_error(root)
    assert (err.line, err.col) == (1, 15)
    assert "stg_orders" in err.hint


def test_unknown_table_without_a_close_name_says_how_to_declare_it(project):
    root = project({"models/m.sql": "select * from zzz_unrelated"})
    err = lineage_error(root)
    assert "sources:" in err.hint


def test_error_position_survives_jinja_config_lines(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/marts/m.sql": """
            {{ config(
                materialized='table',
                tags=['finance'],
            ) }}
            {% set threshold = 10 %}
            select name, amount
            from stg_ordrs
            where amount > {{ threshold }}
        """,
        }
    )
    err = lineage_error(root)
    assert (err.path, err.line, err.col) == ("models/marts/m.sql", 7, 6)
    assert str(err).startswith("models/marts/m.sql:7:6: 'stg_ordrs' is not a model")
    assert "from stg_ordrs" in str(err)
    assert err.hint == "did you mean 'stg_orders'?"


def test_error_column_points_at_the_table_not_an_earlier_word_containing_it(project):
    # the rendered SQL differs from the file (config line); the caret must still land on `a`
    root = project(
        {"models/m.sql": "{{ config(materialized='table') }}\nselect name, amount from a\n"}
    )
    err = lineage_error(root)
    assert (err.line, err.col) == (2, 26)


def test_error_column_on_a_line_that_jinja_changed(project):
    root = project(
        {
            "models/staging/stg_orders.sql": ORDERS,
            "models/m.sql": "{{ config(materialized='table') }}\n"
            "select stg_x.id from {{ ref('stg_orders') }} stg_x join stg_x using (id)\n",
        }
    )
    err = lineage_error(root)
    assert (err.line, err.col) == (2, 57)


@pytest.mark.parametrize(
    "text, line, col",
    [
        ("{{ config(materialized='table') }} select * from nope", 1, 50),
        ("select *\nfrom nope -- {{ var('x', 1) }}", 2, 6),
        ("select {{ var('x', 1) }} as x,\n  y\nfrom {{ ref('base') }} join nope using (x)", 3, 29),
        ("{% set t = 'base' %}\n\n\nselect * from {{ t }}, nope", 4, 24),
        ('{{ config(alias="m2") }}\nselect * from "Nope"', 2, 15),
    ],
)
def test_error_position_maps_back_through_jinja(project, text, line, col):
    root = project({"models/base.sql": "select 1 as x", "models/m.sql": text})
    err = lineage_error(root)
    assert (err.line, err.col) == (line, col)
    source_line = text.splitlines()[line - 1]
    assert source_line[col - 1 :].lstrip('"').lower().startswith("nope"), source_line


def test_unknown_tables_in_several_models_are_reported_together(project):
    root = project({"models/a.sql": "select * from nope_a", "models/b.sql": "select * from nope_b"})
    with pytest.raises(ErrorGroup) as info:
        load_project(root)
    assert sorted(e.path for e in info.value.errors) == ["models/a.sql", "models/b.sql"]
    assert all(isinstance(e, LineageError) for e in info.value.errors)


def test_cycle_is_reported_in_reading_order(project):
    root = project(
        {
            "models/a.sql": "select * from c",
            "models/b.sql": "select * from a",
            "models/c.sql": "select * from b",
        }
    )
    err = lineage_error(root)
    # the hint says each arrow means 'reads': a reads c, c reads b, b reads a
    assert (
        "a (models/a.sql) -> c (models/c.sql) -> b (models/b.sql) -> a (models/a.sql)"
        in err.message
    )
    assert "reads" in err.hint


# -- Python assets ----------------------------------------------------------------------------------

PY_PROJECT = {
    "models/raw/numbers.py": """
        import pyarrow as pa
        import polars as pl
        import teal

        @teal.asset
        def numbers():
            return pa.table({"n": [1, 2, 3]})

        @teal.asset
        def setup():
            return pa.table({"x": [1]})

        @teal.asset(deps=["setup", "evens"])
        def doubled(context, numbers: pl.DataFrame):
            return numbers
    """,
    "models/marts/evens.sql": "select n from numbers where n % 2 = 0",
}


def test_python_parameters_are_upstreams_and_deps_are_order_only(project):
    p = load_project(project(PY_PROJECT))
    doubled = p.models["doubled"]
    assert doubled.kind == "python"
    assert doubled.upstreams == ("evens", "numbers", "setup")  # context is not an upstream
    assert doubled.inputs == (("numbers", 'SELECT * FROM "raw"."numbers"', "polars"),)
    assert p.models["evens"].upstreams == ("numbers",)
    order = p.dag.order()
    assert order.index("setup") < order.index("doubled")
    assert order.index("evens") < order.index("doubled")


def test_python_parameter_can_read_a_source(project):
    root = project(
        {
            "models/sources.yml": "sources:\n  - name: erp\n    tables: [invoices]\n",
            "models/m.py": """
            import teal

            @teal.asset
            def totals(invoices):
                return invoices
        """,
        }
    )
    m = load_project(root).models["totals"]
    assert (m.upstreams, m.source_tables) == ((), ("erp.invoices",))
    assert m.inputs == (("invoices", 'SELECT * FROM "erp"."invoices"', "arrow"),)


def test_python_parameter_can_name_source_and_table_with_a_double_underscore(project):
    root = project(
        {
            "models/sources.yml": "sources:\n  - name: erp\n    tables: [invoices]\n"
            "  - name: crm\n    tables: [invoices]\n",
            "models/m.py": """
            import teal

            @teal.asset
            def totals(crm__invoices):
                return crm__invoices
        """,
        }
    )
    assert load_project(root).models["totals"].source_tables == ("crm.invoices",)


def test_unknown_python_parameter_is_a_lineage_error_with_hint(project):
    files = dict(PY_PROJECT)
    files["models/marts/report.py"] = """
        import teal


        @teal.asset
        def report(numbrs):
            return numbrs
    """
    err = lineage_error(project(files))
    assert err.path == "models/marts/report.py"
    assert (err.line, err.col) == (5, 12)  # the parameter itself, in its def line
    assert "parameter 'numbrs' of asset 'report'" in err.message
    assert err.hint == "did you mean 'numbers'?"


def test_unknown_deps_entry_is_a_lineage_error_with_hint(project):
    files = dict(PY_PROJECT)
    files["models/marts/report.py"] = """
        import teal

        @teal.asset(deps=["setp"])
        def report():
            return None
    """
    err = lineage_error(project(files))
    assert "deps entry 'setp'" in err.message
    assert err.hint == "did you mean 'setup'?"


# -- ephemerals ---------------------------------------------------------------------------------------

EPHEMERAL_PROJECT = {
    "models/staging/stg_orders.sql": ORDERS,
    "models/staging/eph_big.sql": """
        {{ config(materialized='ephemeral') }}
        select id, amount, customer from stg_orders where amount > 15
    """,
    "models/staging/eph_double.sql": """
        {{ config(materialized='ephemeral') }}
        select id, amount * 2 as amount2 from eph_big
    """,
}


def test_ephemeral_is_inlined_as_a_prefixed_cte(project):
    files = {
        **EPHEMERAL_PROJECT,
        "models/marts/m.sql": "select eph_big.customer, sum(amount) as total "
        "from eph_big group by 1",
    }
    p = load_project(project(files))
    m = p.models["m"]
    assert m.upstreams == ("eph_big",)
    assert one_line(m.compiled_sql) == (
        'WITH __teal_eph_eph_big AS (SELECT id, amount, customer FROM "staging"."stg_orders" '
        "WHERE amount > 15) SELECT eph_big.customer, SUM(amount) AS total "
        'FROM "__teal_eph_eph_big" AS eph_big GROUP BY 1'
    )
    rows = run_models(p).execute("select * from marts.m order by 1").fetchall()
    assert rows == [("a", 30), ("b", 20)]


def test_ephemeral_cte_goes_before_the_consumers_own_ctes(project):
    files = {
        **EPHEMERAL_PROJECT,
        "models/marts/m.sql": """
                 with big as (select * from eph_big),
                      eph_big as (select * from eph_big where customer = 'a')
                 select (select count(*) from big) as n_big, (select count(*) from eph_big) as n_a
             """,
    }
    p = load_project(project(files))
    sql = one_line(p.models["m"].compiled_sql)
    assert sql.startswith("WITH __teal_eph_eph_big AS (")
    assert sql.count("__teal_eph_eph_big AS (") == 1  # inlined once, however often it is read
    assert run_models(p).execute("select * from marts.m").fetchone() == (2, 1)


def test_ephemeral_of_ephemeral_is_inlined_recursively(project):
    files = {**EPHEMERAL_PROJECT, "models/marts/m.sql": "select sum(amount2) as s from eph_double"}
    p = load_project(project(files))
    m = p.models["m"]
    assert m.upstreams == ("eph_double",)
    assert p.dag.ancestors("m") == {"eph_double", "eph_big", "stg_orders"}
    assert "__teal_eph_eph_double AS (WITH __teal_eph_eph_big AS (" in one_line(m.compiled_sql)
    assert run_models(p).execute("select s from marts.m").fetchone() == (100,)


def test_consumer_reading_an_ephemeral_and_its_ephemeral_upstream(project):
    files = {
        **EPHEMERAL_PROJECT,
        "models/marts/m.sql": "select sum(d.amount2) - sum(b.amount) as diff "
        "from eph_double d join eph_big b using (id)",
    }
    p = load_project(project(files))
    assert p.models["m"].upstreams == ("eph_big", "eph_double")
    assert run_models(p).execute("select diff from marts.m").fetchone() == (50,)


def test_ephemeral_cte_name_does_not_collide_with_a_user_cte(project):
    files = {
        **EPHEMERAL_PROJECT,
        "models/marts/m.sql": """
                 with __teal_eph_eph_big as (select 1000 as amount)
                 select (select sum(amount) from eph_big) as real_total,
                        (select sum(amount) from __teal_eph_eph_big) as user_total
             """,
    }
    p = load_project(project(files))
    assert "__teal_eph_eph_big_2" in one_line(p.models["m"].compiled_sql)
    assert run_models(p).execute("select * from marts.m").fetchone() == (50, 1000)


def test_python_asset_reading_an_ephemeral_gets_its_sql(project):
    files = {
        **EPHEMERAL_PROJECT,
        "models/marts/py.py": """
                 import teal

                 @teal.asset
                 def py(eph_big):
                     return eph_big
             """,
    }
    p = load_project(project(files))
    ((param, sql, kind),) = p.models["py"].inputs
    assert (param, kind) == ("eph_big", "arrow")
    con = run_models(p)
    assert sorted(con.execute(sql).fetchall()) == [(2, 20, "b"), (3, 30, "a")]
