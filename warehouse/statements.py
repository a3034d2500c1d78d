"""The DDL and DML teal runs, in one SQL dialect, filled into sqlglot-built skeletons.

Every engine speaks through a :class:`Statements` of its dialect (DuckDB's is
``Statements("duckdb")``), so an engine with another dialect reuses the same statements.
Each statement is a skeleton built as a sqlglot expression (``teal.warehouse.skeletons``)
whose variable parts are marker names (``__teal_rel__``, ``__teal_select__``, ...); it is
rendered for the dialect ahead of time (``rendered_skeletons.py``) or on first use, and
this module fills its markers by text: a model's compiled SELECT is spliced in as it is,
never parsed again, and a relation as its quoted name. So a build imports no parser, and
the statements it runs, and their number, are what they were when they were written as
text; only their source is one builder each.

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
>>> sql.insert_values("teal.runs", ("run_id", "status"), rows=2, replace=True)
'INSERT OR REPLACE INTO teal.runs (run_id, status) VALUES (?, ?), (?, ?)'
>>> sql.select_all('"a"."b"', limit=0)
'SELECT * FROM "a"."b" LIMIT 0'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from teal.warehouse.rendered_skeletons import QUOTES, RENDERED

REL = "__teal_rel__"  # the relation the statement writes
SELECT = "__teal_select__"  # a query (or a list of expressions), spliced in as text
SOURCE = "__teal_src__"  # a relation or parenthesized query read from
NAME = "__teal_name__"  # an unqualified new name
WHERE = "__teal_where__"  # a predicate, spliced in as text
COLUMNS = "__teal_cols__"  # a list of columns, spliced in as text
VALUES = "__teal_values__"  # the parameter groups of an insert
LIMIT = "__teal_limit__"  # a row limit
EXPR = "__teal_expr__"  # an expression, spliced in as text
PATH = "__teal_path__"  # a file path or URL (or a glob of them), as a string literal
OPTIONS = "__teal_opts__"  # an option list (COPY options, reader arguments), as text
# the table function that reads each file format teal writes
READERS = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json"}


def skeleton(dialect: str, shape: str, *args: object) -> str:
    """``shape`` (a builder of ``teal.warehouse.skeletons``) rendered in ``dialect``: from
    the table rendered ahead, else rendered now (once per process)."""
    text = RENDERED.get((dialect, shape, args))
    return text if text is not None else _render(dialect, shape, args)


@cache
def _render(dialect: str, shape: str, args: tuple[object, ...]) -> str:
    from teal.warehouse.skeletons import render_shape

    return render_shape(dialect, shape, args)


@cache
def _quotes(dialect: str) -> tuple[str, str]:
    known = QUOTES.get(dialect)
    if known is not None:
        return known
    from teal.warehouse.skeletons import identifier_quotes

    return identifier_quotes(dialect)


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
        return skeleton(self.dialect, "probe")

    @property
    def begin(self) -> str:
        return skeleton(self.dialect, "begin")

    @property
    def commit(self) -> str:
        return skeleton(self.dialect, "commit")

    @property
    def rollback(self) -> str:
        return skeleton(self.dialect, "rollback")

    def create_as(self, relation: str, select_sql: str, *, kind: str = "TABLE") -> str:
        """``CREATE OR REPLACE <kind> relation AS <select_sql>``; kind ``TABLE``, ``VIEW``
        or ``TEMP TABLE``."""
        temporary = kind.startswith("TEMP")
        text = skeleton(self.dialect, "create_as", "TABLE" if temporary else kind, temporary)
        return text.replace(REL, relation, 1).replace(SELECT, "\n" + select_sql, 1)

    def create_from(self, relation: str, source: str) -> str:
        """``CREATE TABLE relation AS SELECT * FROM source`` (a new table, not a replace)."""
        text = skeleton(self.dialect, "create_from")
        return text.replace(REL, relation, 1).replace(SOURCE, source, 1)

    def create_schema(self, schema: str) -> str:
        """``CREATE SCHEMA IF NOT EXISTS schema`` (``schema`` quoted)."""
        return skeleton(self.dialect, "create_schema").replace(REL, schema, 1)

    def drop(self, relation: str, kind: str = "TABLE", *, if_exists: bool = False) -> str:
        return skeleton(self.dialect, "drop", kind, if_exists).replace(REL, relation, 1)

    def rename(self, relation: str, new_name: str) -> str:
        """``ALTER TABLE relation RENAME TO new_name`` (``new_name`` quoted)."""
        text = skeleton(self.dialect, "rename")
        return text.replace(REL, relation, 1).replace(NAME, new_name, 1)

    def insert_by_name(self, relation: str, source: str) -> str:
        text = skeleton(self.dialect, "insert_by_name")
        return text.replace(REL, relation, 1).replace(SOURCE, source, 1)

    def delete(self, relation: str, where: str = "") -> str:
        text = skeleton(self.dialect, "delete", bool(where))
        return text.replace(REL, relation, 1).replace(WHERE, where, 1)

    def delete_matching(
        self, relation: str, keys: list[str], source: str, predicates: Sequence[str] = ()
    ) -> str:
        """Delete the rows of ``relation`` whose ``keys`` (quoted columns) match a row of
        ``source``; with ``predicates`` (dbt's ``incremental_predicates``) only those rows
        that also satisfy each of them, the relation aliased ``DBT_INTERNAL_DEST`` and the
        source ``DBT_INTERNAL_SOURCE`` as dbt names them."""
        text = skeleton(self.dialect, "delete_matching")
        listed = ", ".join(keys)
        if predicates:
            relation, source = (
                f"{relation} AS DBT_INTERNAL_DEST",
                f"{source} AS DBT_INTERNAL_SOURCE",
            )
        text = text.replace(REL, relation, 1).replace(COLUMNS, listed).replace(SOURCE, source, 1)
        return text + "".join(f" AND ({p})" for p in predicates)

    def select_all(self, source: str, *, limit: int | None = None) -> str:
        """``SELECT * FROM source [LIMIT n]``."""
        text = skeleton(self.dialect, "select_all", limit is not None)
        text = text.replace(SOURCE, source, 1)
        return text if limit is None else text.replace(LIMIT, str(int(limit)), 1)

    def count_rows(self, source: str) -> str:
        """``SELECT count(*) FROM source``."""
        return skeleton(self.dialect, "count_rows").replace(SOURCE, source, 1)

    def describe(self, query: str) -> str:
        """``DESCRIBE (query)``: its columns and types, bound but not run."""
        return skeleton(self.dialect, "describe").replace(SOURCE, f"({query})", 1)

    def copy_to(self, query: str, path: str, options: list[str]) -> str:
        """``COPY (query) TO 'path' WITH (options)`` (options as written: ``FORMAT parquet``).

        >>> Statements("duckdb").copy_to("SELECT 1", "/x/data_0.parquet", ["FORMAT parquet"])
        "COPY (SELECT 1) TO '/x/data_0.parquet' WITH (FORMAT parquet)"
        """
        text = skeleton(self.dialect, "copy_to")
        text = text.replace(SELECT, query, 1).replace(PATH, string_literal(path), 1)
        return text.replace(OPTIONS, ", ".join(options), 1)

    def select_files(self, fmt: str, path: str, columns: list[str], options: list[str]) -> str:
        """``SELECT columns FROM read_<fmt>('path', options)``.

        >>> print(Statements("duckdb").select_files("parquet", "/x/**/*.parquet", ['"a"'],
        ...     ["hive_partitioning = false"]))
        SELECT "a" FROM read_parquet('/x/**/*.parquet', hive_partitioning = false)
        """
        text = skeleton(self.dialect, "select_files", READERS[fmt])
        text = text.replace(COLUMNS, ", ".join(columns), 1).replace(PATH, string_literal(path), 1)
        return text.replace(OPTIONS, ", ".join(options), 1)

    def select_nothing(self, columns: list[str]) -> str:
        """Typed columns, no rows: ``SELECT CAST(NULL AS INT) AS "a" WHERE FALSE``."""
        return skeleton(self.dialect, "select_nothing").replace(COLUMNS, ", ".join(columns), 1)

    def count_files(self, pattern: str) -> str:
        """How many files a glob pattern matches."""
        return skeleton(self.dialect, "count_files").replace(PATH, string_literal(pattern), 1)

    def create_secret(self, name: str, options: list[str]) -> str:
        """``CREATE OR REPLACE TEMPORARY SECRET name (options)``."""
        text = skeleton(self.dialect, "create_secret").replace(NAME, name, 1)
        return text.replace(OPTIONS, ", ".join(options), 1)

    def comment_view(self, relation: str, text: str) -> str:
        """``COMMENT ON VIEW relation IS 'text'``."""
        text_sql = string_literal(text)
        return (
            skeleton(self.dialect, "comment_view")
            .replace(REL, relation, 1)
            .replace(EXPR, text_sql, 1)
        )

    def load_extension(self, name: str) -> str:
        return skeleton(self.dialect, "load_extension").replace(NAME, name, 1)

    def insert_values(
        self, table: str, columns: tuple[str, ...], rows: int = 1, replace: bool = False
    ) -> str:
        """``INSERT [OR REPLACE] INTO table (columns) VALUES (?, ...), ...``: ``rows`` groups
        of parameters (state records: one statement however many rows)."""
        group = ", ".join([skeleton(self.dialect, "placeholder")] * len(columns))
        text = skeleton(self.dialect, "insert_values", replace)
        text = text.replace(REL, table, 1).replace(COLUMNS, ", ".join(columns), 1)
        return text.replace(VALUES, "), (".join([group] * rows), 1)
