"""The DDL and DML teal runs, built once as sqlglot expressions for the engine's dialect.

Each statement is a skeleton whose variable parts are marker names (``__teal_rel__``,
``__teal_select__``, ...), rendered once per process and kept (a pure memo). A build fills
the markers by text: a model's compiled SELECT is spliced in as it is, never parsed again,
and a relation as its quoted name. So the statements a build runs, and their number, are
what they were when they were written as text; only their source is one builder each.
"""

from __future__ import annotations

from functools import cache

from sqlglot import exp

from teal.warehouse.duckdb.sql import DIALECT, qualified

REL = "__teal_rel__"  # the relation the statement writes
SELECT = "__teal_select__"  # a query, spliced in as text
SOURCE = "__teal_src__"  # a relation or parenthesized query read from
NAME = "__teal_name__"  # an unqualified new name
WHERE = "__teal_where__"  # a predicate, spliced in as text


def _marker(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name))


def _render(expression: exp.Expression) -> str:
    return expression.sql(DIALECT)


@cache
def _create_as(kind: str, temporary: bool) -> str:
    properties = exp.Properties(expressions=[exp.TemporaryProperty()]) if temporary else None
    return _render(
        exp.Create(
            this=_marker(REL),
            kind=kind,
            replace=True,
            properties=properties,
            expression=exp.column(SELECT),
        )
    )


@cache
def _create_new_as() -> str:
    return _render(
        exp.Create(this=_marker(REL), kind="TABLE", expression=exp.select("*").from_(SOURCE))
    )


@cache
def _drop(kind: str, if_exists: bool) -> str:
    return _render(exp.Drop(tables=[_marker(REL)], kind=kind, exists=if_exists))


@cache
def _rename() -> str:
    return _render(
        exp.Alter(this=_marker(REL), kind="TABLE", actions=[exp.AlterRename(this=_marker(NAME))])
    )


@cache
def _insert_by_name() -> str:
    return _render(
        exp.Insert(this=_marker(REL), by_name=True, expression=exp.select("*").from_(SOURCE))
    )


@cache
def _delete(filtered: bool) -> str:
    return _render(exp.delete(_marker(REL), where=exp.column(WHERE) if filtered else None))


def create_as(schema: str, name: str, select_sql: str, *, kind: str = "TABLE") -> str:
    """``CREATE OR REPLACE <kind> schema.name AS <select_sql>``.

    >>> create_as("marts", "orders", "SELECT 1 AS x")
    'CREATE OR REPLACE TABLE "marts"."orders" AS \\nSELECT 1 AS x'
    """
    return create_as_rel(qualified(schema, name), select_sql, kind=kind)


def create_as_rel(relation: str, select_sql: str, *, kind: str = "TABLE") -> str:
    """:func:`create_as` for a relation already quoted (a stage); kind ``TEMP TABLE`` too."""
    temporary = kind.startswith("TEMP")
    skeleton = _create_as("TABLE" if temporary else kind, temporary)
    return skeleton.replace(REL, relation, 1).replace(SELECT, "\n" + select_sql, 1)


def create_from(relation: str, source: str) -> str:
    """``CREATE TABLE relation AS SELECT * FROM source`` (a new table, not a replace)."""
    return _create_new_as().replace(REL, relation, 1).replace(SOURCE, source, 1)


def drop(relation: str, kind: str = "TABLE", *, if_exists: bool = False) -> str:
    """
    >>> drop('"a"."b"', "VIEW")
    'DROP VIEW "a"."b"'
    """
    return _drop(kind, if_exists).replace(REL, relation, 1)


def rename(relation: str, new_name: str) -> str:
    """``ALTER TABLE relation RENAME TO new_name`` (``new_name`` quoted)."""
    return _rename().replace(REL, relation, 1).replace(NAME, new_name, 1)


def insert_by_name(relation: str, source: str) -> str:
    """
    >>> insert_by_name('"a"."b"', '"stage"')
    'INSERT INTO "a"."b" BY NAME SELECT * FROM "stage"'
    """
    return _insert_by_name().replace(REL, relation, 1).replace(SOURCE, source, 1)


def delete(relation: str, where: str = "") -> str:
    """
    >>> delete('"a"."b"', "day = 1")
    'DELETE FROM "a"."b" WHERE day = 1'
    """
    return _delete(bool(where)).replace(REL, relation, 1).replace(WHERE, where, 1)


@cache
def insert_values(
    table: str, columns: tuple[str, ...], rows: int = 1, replace: bool = False
) -> str:
    """``INSERT [OR REPLACE] INTO table (columns) VALUES (?, ...)``, ``rows`` groups of
    parameters (state records: one statement however many rows).

    >>> insert_values("teal.runs", ("run_id", "status"), replace=True)
    'INSERT OR REPLACE INTO teal.runs (run_id, status) VALUES (?, ?)'
    """
    values = exp.values([tuple(exp.Placeholder() for _ in columns) for _ in range(rows)])
    statement = exp.insert(values, exp.to_table(table), columns=list(columns))
    if replace:
        statement.set("alternative", "REPLACE")
    return _render(statement)


BEGIN = "BEGIN TRANSACTION"
COMMIT = _render(exp.Commit())
ROLLBACK = _render(exp.Rollback())
