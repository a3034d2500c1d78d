"""AST rewrites that turn a model's SQL into the SQL the warehouse runs.

``qualify_relations`` points every resolved table reference at its physical relation (or
at a source's file reader); ``inline_ephemerals`` adds each ephemeral upstream as a CTE.
Both keep the name the author used as the table alias, so ``orders.id`` still binds.

>>> import sqlglot
>>> e = sqlglot.parse_one("select orders.id from orders", dialect="duckdb")
>>> t = e.find(sqlglot.exp.Table)
>>> point_at_relation(t, "staging", "stg_orders").sql("duckdb")
'"staging"."stg_orders" AS orders'
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from teal.compiler.sources import FILE_KINDS, SourceTable, scan_expression

EPHEMERAL_PREFIX = "__teal_eph_"


def _keep_alias(table: exp.Table, original_name: str, new_name: str) -> None:
    if not table.alias and original_name.lower() != new_name.lower():
        table.set("alias", exp.TableAlias(this=exp.to_identifier(original_name)))


def point_at_relation(
    table: exp.Table, schema: str, name: str, catalog: str | None = None
) -> exp.Table:
    """Make ``table`` read ``catalog.schema.name`` (quoted), keeping the author's name as alias."""
    original = table.name
    table.set("this", exp.to_identifier(name, quoted=True))
    table.set("db", exp.to_identifier(schema, quoted=True))
    table.set("catalog", exp.to_identifier(catalog, quoted=True) if catalog else None)
    _keep_alias(table, original, name)
    return table


def written_qualifiers(tables: list[exp.Table]) -> set[tuple[str, str]]:
    """(schema, table), lowercased, of each of ``tables`` written with a schema and no
    alias, before they are pointed elsewhere: what :func:`unqualify_columns` takes. A table
    name two of them share is left out (``orders.id`` would not say which)."""
    names: dict[str, set[str]] = {}
    for table in tables:
        names.setdefault(table.name.lower(), set()).add(table.db.lower())
    return {
        (table.db.lower(), table.name.lower())
        for table in tables
        if table.args.get("db") is not None
        and not table.alias
        and len(names[table.name.lower()]) == 1
    }


def unqualify_columns(tree: exp.Expr, written: set[tuple[str, str]]) -> None:
    """Columns written ``schema.table.column`` of a reference in ``written`` (now pointed
    at a file reader, or at a relation in another schema, and read under its table's
    name) become ``table.column``, which binds where the schema no longer does.

    >>> import sqlglot
    >>> e = sqlglot.parse_one("select raw.orders.id from raw.orders", dialect="duckdb")
    >>> unqualify_columns(e, {("raw", "orders")})
    >>> e.sql("duckdb")
    'SELECT orders.id FROM raw.orders'
    """
    if not written:
        return
    for column in tree.find_all(exp.Column):
        if column.args.get("db") is None:
            continue
        if (column.db.lower(), column.table.lower()) in written:
            column.set("db", None)
            column.set("catalog", None)


def point_at_cte(table: exp.Table, cte_name: str) -> exp.Table:
    original = table.name
    table.set("this", exp.to_identifier(cte_name, quoted=True))
    table.set("db", None)
    table.set("catalog", None)
    _keep_alias(table, original, cte_name)
    return table


def point_at_source(table: exp.Table, source: SourceTable) -> exp.Table:
    """Rewrite a reference to a source table into what reads it."""
    if source.kind in FILE_KINDS:
        original = table.name
        table.set("this", scan_expression(source))
        table.set("db", None)
        table.set("catalog", None)
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(original)))
        return table
    parts = source.location.split(".")
    if len(parts) == 3:
        return point_at_relation(table, parts[1], parts[2], catalog=parts[0])
    return point_at_relation(table, parts[0], parts[1])


def inline_ephemerals(query: exp.Query, ctes: list[tuple[str, exp.Query]]) -> exp.Query:
    """Prepend ``WITH name AS (query)`` for each ephemeral, before the query's own CTEs.

    >>> import sqlglot
    >>> q = sqlglot.parse_one("with a as (select * from __teal_eph_e) select * from a")
    >>> inline_ephemerals(q, [("__teal_eph_e", sqlglot.parse_one("select 1 as x"))]).sql()
    'WITH __teal_eph_e AS (SELECT 1 AS x), a AS (SELECT * FROM __teal_eph_e) SELECT * FROM a'
    """
    if not ctes:
        return query
    new = [
        exp.CTE(this=body.copy(), alias=exp.TableAlias(this=exp.to_identifier(name)))
        for name, body in ctes
    ]
    with_ = query.args.get("with_")
    if with_ is None:
        query.set("with_", exp.With(expressions=new))
    else:
        with_.set("expressions", new + list(with_.expressions))
    return query


def ephemeral_cte_name(model_name: str, taken: set[str], prefix: str = EPHEMERAL_PREFIX) -> str:
    """A CTE name for an inlined model that collides with nothing in ``taken``."""
    base = f"{prefix}{model_name}"
    name, i = base, 1
    while name.lower() in taken:
        i += 1
        name = f"{base}_{i}"
    return name


def existing_cte_names(query: Any) -> set[str]:
    return {cte.alias.lower() for cte in query.find_all(exp.CTE)}


def wrap_with_filter(table: exp.Table, predicate: str) -> exp.Expression:
    """Replace a table scan by ``(SELECT * FROM table WHERE predicate) AS <same name>``.

    >>> import sqlglot
    >>> q = sqlglot.parse_one("select o.id from orders as o", dialect="duckdb")
    >>> _ = wrap_with_filter(q.find(exp.Table), "day = 1")
    >>> q.sql("duckdb")
    'SELECT o.id FROM (SELECT * FROM orders WHERE day = 1) AS o'
    """
    alias = table.alias_or_name
    inner = table.copy()
    inner.set("alias", None)
    sub = exp.select("*").from_(inner).where(predicate, dialect="duckdb").subquery(alias)
    table.replace(sub)
    return sub
