"""DuckDB SQL as Spark SQL, through sqlglot, and what cannot be said in Spark.

A model is written in DuckDB's dialect. :func:`to_spark` turns one statement into Spark
SQL for the Spark engine, with a DuckDB file reader (``read_csv(...)``) replaced by a table
over the file (:class:`FileTable`, created by the engine before the statement runs).
:func:`problems` finds what the translation cannot carry: a function Spark does not have
(an unknown name, or one sqlglot renders under a name Spark lacks), a type Spark has no
equivalent for, or a construct Spark's SQL lacks (``ASOF`` joins, ``* EXCLUDE``,
``ORDER BY ALL``, ``COLUMNS(...)``). Each is reported with its line and column in the SQL
it was found in. Nothing here starts Spark: ``teal validate --target spark`` runs it
before anything else.

>>> to_spark('select "a"::decimal(18, 2) from "marts"."t" group by all').sql
'SELECT CAST(`a` AS DECIMAL(18, 2)) FROM `marts`.`t` GROUP BY ALL'
>>> [p.construct for p in problems("select epoch_ns(ts), x::hugeint from t")]
['epoch_ns', 'HUGEINT']
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from teal.warehouse.spark.functions import FUNCTIONS

READ = "duckdb"
WRITE = "spark"
FILES_SCHEMA = "teal_files"  # the tables over files models read (read_csv(...))

# types Spark has (sqlglot's names); anything else in a cast is a problem
_SPARK_TYPES = {
    exp.DataType.Type.BOOLEAN,
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.FLOAT,
    exp.DataType.Type.DOUBLE,
    exp.DataType.Type.DECIMAL,
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.CHAR,
    exp.DataType.Type.TEXT,
    exp.DataType.Type.DATE,
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPNTZ,
    exp.DataType.Type.TIMESTAMPTZ,
    exp.DataType.Type.BINARY,
    exp.DataType.Type.VARBINARY,
    exp.DataType.Type.BLOB,
    exp.DataType.Type.ARRAY,
    exp.DataType.Type.MAP,
    exp.DataType.Type.STRUCT,
    exp.DataType.Type.INTERVAL,
    exp.DataType.Type.NULL,
    exp.DataType.Type.UNKNOWN,
}
# DuckDB's names of types sqlglot knows by another
_TYPE_NAMES = {
    exp.DataType.Type.INT128: "HUGEINT",
    exp.DataType.Type.UINT128: "UHUGEINT",
    exp.DataType.Type.UINT: "UINTEGER",
    exp.DataType.Type.UBIGINT: "UBIGINT",
    exp.DataType.Type.USMALLINT: "USMALLINT",
    exp.DataType.Type.UTINYINT: "UTINYINT",
}
_CALL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(")


class UntranslatableSQL(Exception):
    """SQL that Spark cannot run as written: what, and where in the SQL."""

    def __init__(self, found: list[Problem]) -> None:
        self.found = found
        first = found[0]
        super().__init__(f"{first.message} (line {first.line}, column {first.col})")


@dataclass(frozen=True)
class Problem:
    """One construct Spark lacks: its name, a message, and its position in the SQL."""

    construct: str
    message: str
    line: int
    col: int


@dataclass(frozen=True)
class FileTable:
    """A table over files that a statement reads instead of DuckDB's reader function."""

    name: str  # unqualified, in FILES_SCHEMA
    path: str
    fmt: str  # csv | parquet | json


@dataclass(frozen=True)
class Translated:
    sql: str
    files: tuple[FileTable, ...] = ()


def to_spark(sql: str) -> Translated:
    """One DuckDB statement (or several, ``;``-separated) as Spark SQL. Raises
    :class:`UntranslatableSQL` for what Spark cannot run."""
    try:
        trees = [t for t in sqlglot.parse(sql, read=READ) if t is not None]
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        raise UntranslatableSQL(
            [
                Problem(
                    "syntax",
                    str(exc).splitlines()[0],
                    int(err.get("line") or 1),
                    int(err.get("col") or 1),
                )
            ]
        ) from None
    found = [p for tree in trees for p in _tree_problems(tree)]
    if found:
        raise UntranslatableSQL(found)
    files: list[FileTable] = []
    out = []
    for tree in trees:
        tree = tree.transform(
            lambda node: _series_table(_double_average(_double_division(_file_table(node, files))))
        )
        try:
            text = tree.sql(WRITE, unsupported_level=ErrorLevel.RAISE)
        except UnsupportedError as exc:
            raise UntranslatableSQL([Problem("unsupported", str(exc), 1, 1)]) from None
        written = _written_problems(text, tree)
        if written:
            raise UntranslatableSQL(written)
        out.append(text)
    return Translated(";\n".join(out), tuple(dict.fromkeys(files)))


def problems(sql: str) -> list[Problem]:
    """Everything in ``sql`` (DuckDB) that Spark cannot run, in order of position."""
    try:
        to_spark(sql)
    except UntranslatableSQL as exc:
        return sorted(exc.found, key=lambda p: (p.line, p.col))
    return []


def _written_problems(spark_sql: str, tree: exp.Expr) -> list[Problem]:
    """Calls in the Spark SQL sqlglot wrote that Spark does not have, though the DuckDB
    tree had none: a translation sqlglot gets wrong (it once wrote DuckDB's ``range(1, 4)
    AS t(id)`` as ``EXPLODE(SEQUENCE(1, 3), _u(t))``). Reported at the statement's start:
    the name is not in the author's text."""
    try:
        written = sqlglot.parse_one(spark_sql, read=WRITE)
    except ParseError:
        return []
    out = []
    for node in written.find_all(exp.Anonymous):
        name = node.name
        if name.lower() not in FUNCTIONS and not name.lower().startswith("__teal"):
            line, col = _position(tree)
            message = (
                f"the translation to Spark SQL calls {name}(), which Spark does not have "
                f"(in {node.sql(WRITE)[:80]}): sqlglot cannot translate this construct"
            )
            out.append(Problem(name, message, line, col))
    return out


def _tree_problems(tree: exp.Expr) -> list[Problem]:
    out: list[Problem] = []
    for node in tree.walk():
        problem = _problem(node)
        if problem is not None:
            construct, message = problem
            # a type has no position of its own: its cast's operand has
            at = node.parent if isinstance(node, exp.DataType) and node.parent else node
            line, col = _position(at)
            out.append(Problem(construct, message, line, col))
    return out


def _problem(node: exp.Expr) -> tuple[str, str] | None:
    """(construct, message) when Spark lacks ``node``, else None."""
    if isinstance(node, exp.Anonymous):
        name = node.name
        if name.lower() not in FUNCTIONS and not name.lower().startswith("__teal"):
            return name, f"function {name}() has no Spark equivalent"
        return None
    if isinstance(node, exp.Func) and not isinstance(node, _NOT_CALLS):
        if node.find_ancestor(exp.Anonymous) is not None:
            return None
        try:
            text = node.sql(WRITE, unsupported_level=ErrorLevel.RAISE)
        except UnsupportedError as exc:
            name = node.sql_name().lower()
            return name, f"{name}() cannot be written in Spark SQL: {exc}"
        called = _CALL.match(text)
        if called and called.group(1).lower() not in FUNCTIONS:
            name = _source_name(node)
            return (
                name,
                f"function {name}() becomes {called.group(1)}() in Spark SQL, "
                "which Spark 3.5 does not have",
            )
        return None
    if isinstance(node, exp.DataType) and node.this not in _SPARK_TYPES:
        name = _TYPE_NAMES.get(node.this, node.this.value)
        return name, f"type {name} has no Spark equivalent"
    if isinstance(node, exp.Join) and node.text("method").upper() == "ASOF":
        return "ASOF JOIN", "ASOF joins have no Spark equivalent"
    if isinstance(node, exp.Star) and (node.args.get("except_") or node.args.get("replace")):
        kind = "EXCLUDE" if node.args.get("except_") else "REPLACE"
        return f"* {kind}", f"SELECT * {kind} (...) has no Spark 3.5 equivalent: list the columns"
    if isinstance(node, exp.Order) and any(
        isinstance(o.this, (exp.Column, exp.Var)) and o.this.name.upper() == "ALL"
        for o in node.expressions
        if isinstance(o, exp.Ordered)
    ):
        return "ORDER BY ALL", "ORDER BY ALL has no Spark 3.5 equivalent: list the columns"
    if isinstance(node, (exp.Pivot, exp.SimilarTo)):
        name = "PIVOT" if isinstance(node, exp.Pivot) else "SIMILAR TO"
        return name, f"DuckDB's {name} has no Spark equivalent"
    return None


# function-shaped nodes that are not rendered as name(...) calls or are checked apart
_NOT_CALLS = (
    exp.Cast,
    exp.TryCast,
    exp.Case,
    exp.If,
    exp.Anonymous,
    exp.ReadCSV,
    exp.ReadParquet,
    exp.Explode,
    exp.Struct,
    exp.Array,
    exp.Extract,
    exp.Trim,
)


def _source_name(node: exp.Func) -> str:
    """The function's name as the author wrote it, when the parse kept it."""
    try:
        return node.sql(READ).split("(")[0].lower()
    except Exception:  # noqa: BLE001 - a node DuckDB's generator does not know
        return node.sql_name().lower()


def _position(node: exp.Expr) -> tuple[int, int]:
    """Where ``node`` starts in the parsed SQL (1-based), from the tokens the parse kept."""
    for candidate in node.walk():
        meta = candidate.meta if hasattr(candidate, "meta") else {}
        if meta.get("line"):
            start, end = meta.get("start"), meta.get("end")
            col = int(meta.get("col") or 1)
            if start is not None and end is not None:
                col = max(col - (int(end) - int(start)), 1)
            return int(meta["line"]), col
    return 1, 1


def _double_division(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``/`` divides in DOUBLE whatever the operands (a DECIMAL divided is a
    DOUBLE), Spark's keeps DECIMAL: the dividend is cast, so that the quotient has DuckDB's
    type and value (4426.15 / 10 is 442.61499999999995 on both). Rounding a DOUBLE still
    differs at a tie (docs/spark.md): keep money exact with integer arithmetic.

    >>> to_spark("select a / b from t").sql
    'SELECT CAST(a AS DOUBLE) / b FROM t'
    """
    if isinstance(node, exp.Div) and not (
        isinstance(node.this, exp.Cast) and node.this.to.this == exp.DataType.Type.DOUBLE
    ):
        node.set("this", exp.cast(node.this, exp.DataType.Type.DOUBLE))
    return node


def _double_average(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``avg`` is a DOUBLE whatever it averages, Spark's of a DECIMAL a DECIMAL
    (rounded to its scale): the argument is cast, so the mean has DuckDB's type and value.

    >>> to_spark("select avg(amount) from t").sql
    'SELECT AVG(CAST(amount AS DOUBLE)) FROM t'
    """
    if not isinstance(node, exp.Avg):
        return node
    target = node.this
    if isinstance(target, exp.Distinct):  # avg(distinct x): cast what is distinct
        target.set("expressions", [_as_double(e) for e in target.expressions])
    else:
        node.set("this", _as_double(target))
    return node


def _as_double(value: exp.Expr) -> exp.Expr:
    if isinstance(value, exp.Cast) and value.to.this == exp.DataType.Type.DOUBLE:
        return value
    return exp.cast(value, exp.DataType.Type.DOUBLE)


def _series_table(node: exp.Expr) -> exp.Expr:
    """DuckDB's table functions ``range(...)`` and ``generate_series(...)`` in a FROM
    clause as a subquery exploding Spark's ``sequence``. sqlglot writes them as
    ``EXPLODE(SEQUENCE(..), _u(t))``, which Spark cannot run, and loses their column's
    name: DuckDB names the column (and the table) ``range`` or ``generate_series``
    unless the alias names it (``range(1, 4) AS t(id)``).

    >>> to_spark("select id from range(1, 4) as t(id)").sql
    'SELECT id FROM (SELECT EXPLODE(SEQUENCE(1, 3)) AS `id`) AS `t`'
    >>> to_spark("select range from range(3)").sql
    'SELECT range FROM (SELECT EXPLODE(SEQUENCE(0, 2)) AS `range`) AS `range`'
    """
    if not (isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries)):
        return node
    series = node.this
    default = "range" if series.args.get("is_end_exclusive") else "generate_series"
    alias = node.args.get("alias")
    table = alias.name if alias is not None and alias.name else default
    named = alias.columns if alias is not None else []
    column = named[0].name if named else default
    select = exp.select(
        exp.alias_(exp.Explode(this=series.copy()), exp.to_identifier(column, quoted=True))
    )
    return exp.Subquery(
        this=select, alias=exp.TableAlias(this=exp.to_identifier(table, quoted=True))
    )


def _file_table(node: exp.Expr, files: list[FileTable]) -> exp.Expr:
    """``read_csv('path', ...)`` as a table in FILES_SCHEMA over that file (Spark's
    ``csv.`path``` would not read the header)."""
    readers = {exp.ReadCSV: "csv", exp.ReadParquet: "parquet"}
    for kind, fmt in readers.items():
        if isinstance(node, kind):
            # sqlglot keeps read_csv's path in ``this``, read_parquet's in ``expressions``
            first = node.this if node.this is not None else next(iter(node.expressions), None)
            if first is None:
                return node
            path = first.name if isinstance(first, exp.Literal) else first.sql()
            digest = hashlib.sha256(f"{fmt}:{path}".encode()).hexdigest()[:16]
            files.append(FileTable(f"{fmt}_{digest}", path, fmt))
            return exp.Table(
                this=exp.to_identifier(f"{fmt}_{digest}"), db=exp.to_identifier(FILES_SCHEMA)
            )
    return node
