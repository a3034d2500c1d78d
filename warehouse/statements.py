"""The DDL and DML teal runs, built as sqlglot expressions and rendered for one dialect.

Every engine speaks through a :class:`Statements` of its dialect (DuckDB's is
``Statements("duckdb")``), so an engine with another dialect reuses the same builders.

Each statement is a skeleton whose variable parts are marker names (``__teal_rel__``,
``__teal_select__``, ...), rendered once per dialect and shape and kept (a pure memo: the
same arguments always give the same text). A build fills the markers by text: a model's
compiled SELECT is spliced in as it is, never parsed again, and a relation as its quoted
name. So the statements a build runs, and their number, are what they were when they were
written as text; only their source is one builder each.

>>> sql = Statements("duckdb")
>>> sql.create_as(sql.qualified("marts", "orders"), "SELECT 1 AS x")
'CREATE OR REPLACE TABLE "marts"."orders" AS \\nSELECT 1 AS x'
>>> sql.drop('"a"."b"', "VIEW")
'DROP VIEW "a"."b"'
>>> sql.insert_by_name('"a"."b"', '"stage"')
'INSERT INTO "a"."b" BY NAME SELECT * FROM "stage"'
>>> sql.delete('"a"."b"', "day = 1")
'DELETE FROM "a"."b" WHERE day = 1'
>>> sql.delete_matching('"a"."b"', ['"id"', '"day"'], '"stage"')
'DELETE FROM "a"."b" WHERE ("id", "day") IN (SELECT "id", "day" FROM "stage")'
>>> sql.insert_values("teal.runs", ("run_id", "status"), replace=True)
'INSERT OR REPLACE INTO teal.runs (run_id, status) VALUES (?, ?)'
>>> sql.select_all('"a"."b"', limit=0)
'SELECT * FROM "a"."b" LIMIT 0'
>>> Statements("spark").qualified("marts", "or`ders")
'`marts`.`or``ders`'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

REL = "__teal_rel__"  # the relation the statement writes
SELECT = "__teal_select__"  # a query, spliced in as text
SOURCE = "__teal_src__"  # a relation or parenthesized query read from
NAME = "__teal_name__"  # an unqualified new name
WHERE = "__teal_where__"  # a predicate, spliced in as text
COLUMNS = "__teal_cols__"  # a list of quoted columns, spliced in as text


def marker(name: str) -> exp.Table:
    """A table-shaped placeholder, rendered as its bare name."""
    return exp.Table(this=exp.to_identifier(name))


def render(expression: exp.Expr, dialect: str) -> str:
    """``expression`` in ``dialect``, functions in lower case (as people write them)."""
    return expression.sql(dialect, normalize_functions="lower")


@cache
def _quotes(dialect: str) -> tuple[str, str]:
    quoting = Dialect.get_or_raise(dialect)
    return quoting.IDENTIFIER_START, quoting.IDENTIFIER_END


def quote(name: str, dialect: str) -> str:
    """``name`` as a quoted identifier of ``dialect``.

    >>> quote('we"ird', "duckdb")
    '"we""ird"'
    """
    start, end = _quotes(dialect)
    return start + name.replace(end, end + end) + end


def string_literal(text: str) -> str:
    """A SQL string literal (the same in every dialect teal speaks).

    >>> string_literal("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


@cache
def _create_as(dialect: str, kind: str, temporary: bool) -> str:
    properties = exp.Properties(expressions=[exp.TemporaryProperty()]) if temporary else None
    return render(
        exp.Create(
            this=marker(REL),
            kind=kind,
            replace=True,
            properties=properties,
            expression=exp.column(SELECT),
        ),
        dialect,
    )


@cache
def _create_new_as(dialect: str) -> str:
    return render(
        exp.Create(this=marker(REL), kind="TABLE", expression=exp.select("*").from_(SOURCE)),
        dialect,
    )


@cache
def _create_schema(dialect: str) -> str:
    return render(exp.Create(this=marker(REL), kind="SCHEMA", exists=True), dialect)


@cache
def _drop(dialect: str, kind: str, if_exists: bool) -> str:
    return render(exp.Drop(tables=[marker(REL)], kind=kind, exists=if_exists), dialect)


@cache
def _rename(dialect: str) -> str:
    return render(
        exp.Alter(this=marker(REL), kind="TABLE", actions=[exp.AlterRename(this=marker(NAME))]),
        dialect,
    )


@cache
def _insert_by_name(dialect: str) -> str:
    return render(
        exp.Insert(this=marker(REL), by_name=True, expression=exp.select("*").from_(SOURCE)),
        dialect,
    )


@cache
def _delete(dialect: str, filtered: bool) -> str:
    return render(exp.delete(marker(REL), where=exp.column(WHERE) if filtered else None), dialect)


@cache
def _delete_matching(dialect: str) -> str:
    keys = exp.column(COLUMNS)
    matching = exp.In(
        this=exp.Tuple(expressions=[keys]),
        query=exp.Subquery(this=exp.select(keys).from_(SOURCE)),
    )
    return render(exp.delete(marker(REL), where=matching), dialect)


@cache
def _select_all(dialect: str, limit: int | None) -> str:
    query = exp.select("*").from_(SOURCE)
    return render(query if limit is None else query.limit(limit), dialect)


@cache
def _count_rows(dialect: str) -> str:
    return render(exp.select(exp.Count(this=exp.Star())).from_(SOURCE), dialect)


@cache
def _insert_values(
    dialect: str, table: str, columns: tuple[str, ...], rows: int, replace: bool
) -> str:
    values = exp.values([tuple(exp.Placeholder() for _ in columns) for _ in range(rows)])
    statement = exp.insert(values, exp.to_table(table), columns=list(columns))
    if replace:
        statement.set("alternative", "REPLACE")
    return render(statement, dialect)


@cache
def _probe(dialect: str) -> str:
    return render(exp.select(exp.Literal.number(1)), dialect)


@cache
def _transaction(dialect: str) -> tuple[str, str, str]:
    begin = render(exp.Transaction(), dialect)
    return begin, render(exp.Commit(), dialect), render(exp.Rollback(), dialect)


@dataclass(frozen=True)
class Statements:
    """teal's statements in one SQL dialect. Relations are passed quoted (see
    :meth:`qualified`); queries and predicates are spliced in as they are."""

    dialect: str

    def quote(self, name: str) -> str:
        return quote(name, self.dialect)

    def qualified(self, schema: str, name: str) -> str:
        return f"{self.quote(schema)}.{self.quote(name)}"

    @property
    def probe(self) -> str:
        """``SELECT 1``: whether a connection can still run a statement."""
        return _probe(self.dialect)

    @property
    def begin(self) -> str:
        return _transaction(self.dialect)[0]

    @property
    def commit(self) -> str:
        return _transaction(self.dialect)[1]

    @property
    def rollback(self) -> str:
        return _transaction(self.dialect)[2]

    def create_as(self, relation: str, select_sql: str, *, kind: str = "TABLE") -> str:
        """``CREATE OR REPLACE <kind> relation AS <select_sql>``; kind ``TABLE``, ``VIEW``
        or ``TEMP TABLE``."""
        temporary = kind.startswith("TEMP")
        skeleton = _create_as(self.dialect, "TABLE" if temporary else kind, temporary)
        return skeleton.replace(REL, relation, 1).replace(SELECT, "\n" + select_sql, 1)

    def create_from(self, relation: str, source: str) -> str:
        """``CREATE TABLE relation AS SELECT * FROM source`` (a new table, not a replace)."""
        return _create_new_as(self.dialect).replace(REL, relation, 1).replace(SOURCE, source, 1)

    def create_schema(self, schema: str) -> str:
        """``CREATE SCHEMA IF NOT EXISTS schema`` (``schema`` quoted)."""
        return _create_schema(self.dialect).replace(REL, schema, 1)

    def drop(self, relation: str, kind: str = "TABLE", *, if_exists: bool = False) -> str:
        return _drop(self.dialect, kind, if_exists).replace(REL, relation, 1)

    def rename(self, relation: str, new_name: str) -> str:
        """``ALTER TABLE relation RENAME TO new_name`` (``new_name`` quoted)."""
        return _rename(self.dialect).replace(REL, relation, 1).replace(NAME, new_name, 1)

    def insert_by_name(self, relation: str, source: str) -> str:
        return _insert_by_name(self.dialect).replace(REL, relation, 1).replace(SOURCE, source, 1)

    def delete(self, relation: str, where: str = "") -> str:
        skeleton = _delete(self.dialect, bool(where))
        return skeleton.replace(REL, relation, 1).replace(WHERE, where, 1)

    def delete_matching(self, relation: str, keys: list[str], source: str) -> str:
        """Delete the rows of ``relation`` whose ``keys`` (quoted columns) match a row of
        ``source``."""
        listed = ", ".join(keys)
        return (
            _delete_matching(self.dialect)
            .replace(REL, relation, 1)
            .replace(COLUMNS, listed)
            .replace(SOURCE, source, 1)
        )

    def select_all(self, source: str, *, limit: int | None = None) -> str:
        """``SELECT * FROM source [LIMIT n]``."""
        return _select_all(self.dialect, limit).replace(SOURCE, source, 1)

    def count_rows(self, source: str) -> str:
        """``SELECT count(*) FROM source``."""
        return _count_rows(self.dialect).replace(SOURCE, source, 1)

    def insert_values(
        self, table: str, columns: tuple[str, ...], rows: int = 1, replace: bool = False
    ) -> str:
        """``INSERT [OR REPLACE] INTO table (columns) VALUES (?, ...)``, ``rows`` groups of
        parameters (state records: one statement however many rows)."""
        return _insert_values(self.dialect, table, columns, rows, replace)
