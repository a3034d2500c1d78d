"""Column lineage: each output column's upstream columns and the kind of each edge.

Projects are loaded in process (no subprocess): tracing is pure compiler code. The edges
are written ``kind:table.column``.
"""

from __future__ import annotations

import pytest

from teal.compiler.column_lineage import column_graph
from teal.compiler.errors import LineageError
from teal.compiler.project import load_project

# two upstream models with known columns, read by the model under test
BASE = {
    "models/orders.sql": """
        select 1 as id, 10 as customer_id, 9.5 as amount, 'done' as status,
               {'city': 'Oslo', 'zip': '0150'} as address
    """,
    "models/customers.sql": "select 10 as id, 'Ann' as name, 'north' as region",
}


def lineage(project, sql: str, name: str = "m", extra: dict | None = None) -> dict[str, list[str]]:
    """The lineage of model ``name`` (written as ``sql``) over BASE, as sorted edge texts."""
    root = project({**BASE, f"models/{name}.sql": sql, **(extra or {})})
    graph = column_graph(load_project(root))
    found = graph.models[name]
    assert found.columns is not None, found.note
    return {
        c.name: sorted(f"{e.kind}:{e.table}.{e.column}" for e in c.edges) for c in found.columns
    }


@pytest.mark.parametrize(
    "sql, expected",
    [
        # a copy, and a rename is still a copy
        (
            "select id, amount as total from orders",
            {"id": ["copy:orders.id"], "total": ["copy:orders.amount"]},
        ),
        # expressions and CASE are transforms of every column they read
        (
            "select amount * 2 as double, case when status = 'done' then amount end as paid "
            "from orders",
            {
                "double": ["transform:orders.amount"],
                "paid": ["transform:orders.amount", "transform:orders.status"],
            },
        ),
        # aggregates; GROUP BY keys decide which groups come out
        (
            "select customer_id, sum(amount) as spent, count(*) as n from orders group by 1",
            {
                "customer_id": ["copy:orders.customer_id"],
                "spent": ["aggregate:orders.amount", "filter:orders.customer_id"],
                "n": ["filter:orders.customer_id"],
            },
        ),
        # a window function aggregates its argument; its PARTITION BY / ORDER BY transform
        (
            "select id, sum(amount) over (partition by customer_id order by id) as running, "
            "rank() over (order by amount desc) as r from orders",
            {
                "id": ["copy:orders.id"],
                "running": [
                    "aggregate:orders.amount",
                    "transform:orders.customer_id",
                    "transform:orders.id",
                ],
                "r": ["transform:orders.amount"],
            },
        ),
        # WHERE filters every column; an aggregate's FILTER filters its own
        (
            "select count(*) filter (where status = 'done') as done from orders where amount > 0",
            {"done": ["filter:orders.amount", "filter:orders.status"]},
        ),
        # joins: the ON columns are join edges of every output
        (
            "select o.id, c.name from orders o join customers c on o.customer_id = c.id",
            {
                "id": ["copy:orders.id", "join:customers.id", "join:orders.customer_id"],
                "name": ["copy:customers.name", "join:customers.id", "join:orders.customer_id"],
            },
        ),
        # USING: the key is a copy of the left side and a join on the right
        (
            "select id, name from orders join customers using (id)",
            {
                "id": ["copy:orders.id", "join:customers.id"],
                "name": ["copy:customers.name", "join:customers.id", "join:orders.id"],
            },
        ),
        # a union reads each branch's column at the same position
        (
            "select id from orders union all select id from customers",
            {"id": ["copy:customers.id", "copy:orders.id"]},
        ),
        # CTE chains compose: a copy of a transform is a transform, of an aggregate an aggregate
        (
            "with a as (select id, amount * 100 as cents from orders where status = 'done'), "
            "b as (select id, sum(cents) as total from a group by id) select id, total from b",
            {
                "id": ["copy:orders.id", "filter:orders.status"],
                "total": ["aggregate:orders.amount", "filter:orders.id", "filter:orders.status"],
            },
        ),
        # subqueries: a derived table, and a scalar subquery
        (
            "select x.id, (select max(amount) from orders) as top from (select id from customers) x",
            {"id": ["copy:customers.id"], "top": ["aggregate:orders.amount"]},
        ),
        # a subquery in WHERE filters with the columns it reads
        (
            "select name from customers where id in (select customer_id from orders "
            "where status = 'done')",
            {
                "name": [
                    "copy:customers.name",
                    "filter:customers.id",
                    "filter:orders.customer_id",
                    "filter:orders.status",
                ]
            },
        ),
        # select * and * exclude are expanded against the upstream's columns
        (
            "select * exclude (address, status) from orders",
            {
                "id": ["copy:orders.id"],
                "customer_id": ["copy:orders.customer_id"],
                "amount": ["copy:orders.amount"],
            },
        ),
        (
            "select c.*, o.amount from customers c join orders o on o.customer_id = c.id",
            {
                "id": ["copy:customers.id", "join:orders.customer_id"],
                "name": ["copy:customers.name", "join:customers.id", "join:orders.customer_id"],
                "region": ["copy:customers.region", "join:customers.id", "join:orders.customer_id"],
                "amount": ["copy:orders.amount", "join:customers.id", "join:orders.customer_id"],
            },
        ),
        # struct access reads the struct column
        (
            "select address.city as city, o.address.zip as zip from orders o",
            {"city": ["transform:orders.address"], "zip": ["transform:orders.address"]},
        ),
        # constants read nothing; a select alias used later in the same select is expanded
        (
            "select 'EUR' as currency, amount * 2 as a2, a2 + 1 as a3 from orders",
            {"currency": [], "a2": ["transform:orders.amount"], "a3": ["transform:orders.amount"]},
        ),
    ],
    ids=[
        "copy-rename",
        "expression-case",
        "aggregate",
        "window",
        "filter",
        "join",
        "using",
        "union",
        "cte-chain",
        "subqueries",
        "where-subquery",
        "star-exclude",
        "qualified-star",
        "struct",
        "constants-alias",
    ],
)
def test_edges_by_kind(project, sql, expected):
    assert lineage(project, sql) == expected


def test_jinja_models_and_ephemeral_upstreams_are_traced_by_name(project):
    got = lineage(
        project,
        "select e.id, e.amount from {{ ref('eph') }} e",
        extra={
            "models/eph.sql": "{{ config(materialized='ephemeral') }}\n"
            'select id, amount from orders where status = \'{{ var("st", "done") }}\''
        },
    )
    # through the ephemeral model, not into it: it is a model of its own
    assert got == {"id": ["copy:eph.id"], "amount": ["copy:eph.amount"]}


def test_sources_read_their_csv_header(project):
    root = project(
        {
            "data/countries.csv": "Code,Name\nDE,Germany\n",
            "models/sources.yml": """
                sources:
                  - name: ref
                    type: csv
                    path: ../data/{table}.csv
                    tables: [countries]
            """,
            "models/m.sql": "select * from ref.countries",
        }
    )
    graph = column_graph(load_project(root))
    assert graph.sources["ref.countries"] == ("code", "name")
    assert [c.name for c in graph.models["m"].columns or ()] == ["code", "name"]
    assert graph.lineage("m", "name").edges[0] == ("copy", "ref.countries", "name")


def test_python_assets_are_opaque_unless_declared(project):
    root = project(
        {
            "models/raw.py": """
                import teal

                @teal.asset
                def raw(): ...

                @teal.asset
                def declared(): ...
            """,
            "models/schema.yml": """
                models:
                  - name: declared
                    config: {contract: {enforced: true}}
                    columns:
                      - {name: id, data_type: bigint}
                      - {name: amount, data_type: double}
            """,
            "models/from_raw.sql": "select * from raw",
            "models/from_declared.sql": "select * from declared",
            "models/picks.sql": "select id, amount * 2 as a2 from raw",
        }
    )
    graph = column_graph(load_project(root))
    assert graph.models["raw"].opaque and graph.models["raw"].columns is None
    assert graph.models["declared"].names == ("id", "amount")
    assert graph.models["from_raw"].columns is None  # a * over unknown columns
    assert "unknown" in graph.models["from_raw"].note
    assert graph.models["from_declared"].names == ("id", "amount")
    # a single source: unqualified columns are its own, even with its columns unknown
    assert graph.lineage("picks", "a2").edges == (("transform", "raw", "amount"),)
    summary = graph.resolution()
    assert (summary.resolved, summary.total, summary.opaque) == (4, 4, 2)
    assert summary.unknown == ("from_raw",)
    assert str(summary).startswith("lineage resolved for 4 of 4 columns (100.0 %)")


def test_a_missing_column_is_located_with_a_suggestion(project):
    root = project(
        {
            **BASE,
            "models/m.sql": """
                -- a comment line
                select
                    o.id,
                    o.amont
                from orders o
            """,
            "models/n.sql": "{{ config(materialized='table') }}\nselect nonexistent_col from orders",
        }
    )
    graph = column_graph(load_project(root))
    errors = {e.path: e for e in graph.errors()}
    err = errors["models/m.sql"]
    assert isinstance(err, LineageError)
    assert (err.line, err.col) == (4, 5)
    assert err.message.startswith("column 'amont' does not exist in orders (read as o)")
    assert err.hint == "did you mean 'amount'?"
    assert "^" in str(err) and "o.amont" in str(err)
    jinja = errors["models/n.sql"]
    assert (jinja.line, jinja.col) == (2, 8)
    # one table read: the message names it
    assert jinja.message.startswith("column 'nonexistent_col' does not exist in orders, which")


def test_a_missing_column_after_jinja_on_its_line_is_placed_in_the_file(project):
    # `{{ 1 + 1 }}` renders as `2`: the column found in the rendered line (23) is moved
    # onto the file's line, where `countryy` is written (33)
    written = "select day, {{ 1 + 1 }} as two, countryy from daily"
    daily = "select current_date as day, 'NL' as country"
    config = "{{ config(materialized='table') }}\n"
    root = project({"models/daily.sql": daily, "models/loc.sql": f"{config}{written}\n"})
    (err,) = column_graph(load_project(root)).errors()
    assert str(err).splitlines() == [
        "models/loc.sql:2:33: column 'countryy' does not exist in daily, which has: day, country",
        f"    {written}",
        "    " + " " * 32 + "^",
        "  hint: did you mean 'country'?",
    ]
    # written by Jinja: no column of the file is its place, so the error names the line only
    made = "select {{ 2 }} as two, {{ 'count' ~ 'ryy' }} from daily"
    (root / "models/loc.sql").write_text(f"{config}{made}\n")
    (err,) = column_graph(load_project(root)).errors()
    assert (err.line, err.col, err.source_line) == (2, None, made)
    assert str(err).startswith("models/loc.sql:2: column 'countryy' does not exist in daily")


def test_missing_columns_in_ctes_and_order_by_are_found(project):
    sql = "with t as (select id from orders) select t.idd from t order by amout"
    root = project({**BASE, "models/m.sql": sql})
    errors = column_graph(load_project(root)).errors()
    assert [(e.line, e.col) for e in errors] == [
        (1, sql.index("t.idd") + 1),
        (1, sql.index("amout") + 1),
    ]
    assert (
        errors[0].message
        == "column 'idd' does not exist in t (a CTE or subquery of m), which has: id"
    )
    assert errors[0].hint == "did you mean 'id'?"


def test_the_cache_traces_only_what_changed(project):
    root = project({**BASE, "models/m.sql": "select id from orders"})
    first = column_graph(load_project(root))
    assert first.traced == 3
    assert column_graph(load_project(root)).traced == 0
    (root / "models/customers.sql").write_text("select 10 as id, 'Ann' as full_name")
    again = column_graph(load_project(root))
    assert again.traced == 1  # customers; m reads orders only, whose columns did not change
    assert again.models["customers"].names == ("id", "full_name")


def test_downstream_and_upstream_models_of_a_column(project):
    root = project(
        {
            **BASE,
            "models/a.sql": "select id, amount from orders",
            "models/b.sql": "select id, amount * 2 as dbl from a",
            "models/c.sql": "select id from a",  # reads a, but not its amount
            "models/d.sql": "select dbl from b",
        }
    )
    graph = column_graph(load_project(root))
    assert graph.downstream_models("orders", "amount") == {"a", "b", "d"}
    assert graph.downstream_models("orders", "amount", depth=1) == {"a"}
    assert graph.upstream_models("d", "dbl") == {"b", "a", "orders"}
    assert [u.model for u in graph.uses("a", "id")] == ["b", "c"]


@pytest.mark.parametrize(
    "sql, expected",
    [
        # a recursive-looking chain of CTEs renaming a column keeps it a copy
        (
            "with a as (select amount as x from orders), b as (select x as y from a), "
            "c as (select y as z from b) select z from c",
            {"z": ["copy:orders.amount"]},
        ),
        # UNION BY NAME reads each branch's column of the same name
        (
            "select id, name from customers union all by name select name, id from customers",
            {"id": ["copy:customers.id"], "name": ["copy:customers.name"]},
        ),
        # a nested derived table in a join
        (
            "select o.id, t.total from orders o join (select customer_id, sum(amount) as total "
            "from orders group by customer_id) t on t.customer_id = o.customer_id",
            {
                "id": ["copy:orders.id", "join:orders.customer_id"],
                "total": ["aggregate:orders.amount", "join:orders.customer_id"],
            },
        ),
        # QUALIFY keeps rows by a window over other columns
        (
            "select id from orders qualify row_number() over (partition by customer_id "
            "order by amount desc) = 1",
            {"id": ["copy:orders.id", "filter:orders.amount", "filter:orders.customer_id"]},
        ),
        # * replace: the replaced column is a transform, the others copies
        (
            "select * exclude (address) replace (amount * 2 as amount) from orders",
            {
                "id": ["copy:orders.id"],
                "customer_id": ["copy:orders.customer_id"],
                "amount": ["transform:orders.amount"],
                "status": ["copy:orders.status"],
            },
        ),
        # GROUP BY ALL: the keys are the selects that aggregate nothing
        (
            "select status, count(*) as n from orders group by all",
            {"status": ["copy:orders.status"], "n": ["filter:orders.status"]},
        ),
    ],
    ids=["cte-renames", "union-by-name", "derived-join", "qualify", "star-replace", "group-all"],
)
def test_more_shapes(project, sql, expected):
    assert lineage(project, sql) == expected


def test_an_enforced_contract_is_checked_against_the_query(project):
    root = project(
        {
            **BASE,
            "models/m.sql": "select id, amount from orders",
            "models/schema.yml": """
                models:
                  - name: m
                    config: {contract: {enforced: true}}
                    columns:
                      - {name: id, data_type: bigint}
                      - {name: total, data_type: double}
            """,
        }
    )
    errors = column_graph(load_project(root)).errors()
    assert [(e.path, e.line) for e in errors] == [("models/schema.yml", 6), ("models/m.sql", 1)]
    assert errors[0].message.startswith("m declares column 'total' under an enforced contract")
    assert (
        errors[1].message == "m produces column amount that its enforced contract does not declare"
    )


def test_a_declared_python_asset_binds_its_sql_readers(project):
    root = project(
        {
            "models/raw.py": """
                import teal

                @teal.asset
                def raw(): ...
            """,
            "models/schema.yml": """
                models:
                  - name: raw
                    config: {contract: {enforced: true}}
                    columns: [{name: id}, {name: amount}]
            """,
            "models/m.sql": "select id, amont from raw",
        }
    )
    (err,) = column_graph(load_project(root)).errors()
    assert err.location == "models/m.sql:1:12"
    assert err.hint == "did you mean 'amount'?"
