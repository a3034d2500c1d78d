"""The skeletons of teal's statements and check queries, as sqlglot expressions.

Every statement an engine runs is built here once, as an expression whose variable parts
are marker names (``__teal_rel__``, ``__teal_where__``, ...), and rendered for the engine's
dialect. ``teal.warehouse.statements`` and ``teal.warehouse.check_queries`` fill the
markers by text, so a build never parses a model's SQL again.

Importing sqlglot costs more than a no-op build, and a build needs no parser: the
skeletons of the dialects teal ships are rendered ahead into ``rendered_skeletons.py``
(``python -m teal.warehouse.skeletons`` writes it, then ``ruff format`` it;
``tests/engine/test_skeletons.py`` fails when it is stale). Other shapes and dialects are
rendered here on first use.
"""

from __future__ import annotations

import itertools
import pprint
import sys
from collections.abc import Callable
from pathlib import Path

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from teal.compiler.checks import TARGET
from teal.warehouse.check_queries import AGE, COL, COUNT, HIGH, LOW, PARENT, PARENT_COL
from teal.warehouse.statements import (
    COLUMNS,
    EXPR,
    LIMIT,
    NAME,
    OPTIONS,
    PATH,
    READERS,
    REL,
    SELECT,
    SOURCE,
    VALUES,
    WHERE,
)

DIALECTS = ("duckdb",)  # rendered ahead (the engines teal ships)
Args = tuple[object, ...]


def marker(name: str) -> exp.Table:
    """A table-shaped placeholder, rendered as its bare name."""
    return exp.Table(this=exp.to_identifier(name))


def _star_count() -> exp.Count:
    return exp.Count(this=exp.Star())


def _one_if(condition: exp.Expr, then: int, otherwise: int | None) -> exp.Case:
    case = exp.Case(ifs=[exp.If(this=condition, true=exp.Literal.number(then))])
    return case if otherwise is None else case.else_(otherwise)


def _scoped(predicate: exp.Expr | None, scoped: bool) -> exp.Expr | None:
    """``predicate AND <scope>`` (the marker stands for the parenthesized scope)."""
    if not scoped:
        return predicate
    scope = exp.column(WHERE)
    return scope if predicate is None else exp.and_(predicate, scope)


# -- statements --------------------------------------------------------------------------


def _create_as(kind: str, temporary: bool) -> exp.Expr:
    properties = exp.Properties(expressions=[exp.TemporaryProperty()]) if temporary else None
    return exp.Create(
        this=marker(REL),
        kind=kind,
        replace=True,
        properties=properties,
        expression=exp.column(SELECT),
    )


def _create_from() -> exp.Expr:
    return exp.Create(this=marker(REL), kind="TABLE", expression=exp.select("*").from_(SOURCE))


def _create_schema() -> exp.Expr:
    return exp.Create(this=marker(REL), kind="SCHEMA", exists=True)


def _drop(kind: str, if_exists: bool) -> exp.Expr:
    return exp.Drop(tables=[marker(REL)], kind=kind, exists=if_exists)


def _rename() -> exp.Expr:
    return exp.Alter(this=marker(REL), kind="TABLE", actions=[exp.AlterRename(this=marker(NAME))])


def _insert_by_name() -> exp.Expr:
    return exp.Insert(this=marker(REL), by_name=True, expression=exp.select("*").from_(SOURCE))


def _delete(filtered: bool) -> exp.Expr:
    return exp.delete(marker(REL), where=exp.column(WHERE) if filtered else None)


def _delete_matching() -> exp.Expr:
    keys = exp.column(COLUMNS)
    matching = exp.In(
        this=exp.Tuple(expressions=[keys]),
        query=exp.Subquery(this=exp.select(keys).from_(SOURCE)),
    )
    return exp.delete(marker(REL), where=matching)


def _select_all(limited: bool) -> exp.Expr:
    query = exp.select("*").from_(SOURCE)
    return query.limit(exp.column(LIMIT)) if limited else query


def _count_rows() -> exp.Expr:
    return exp.select(_star_count()).from_(SOURCE)


def _calc_rows() -> exp.Expr:
    """An aggregate (EXPR, a check's fail_calc) over a query's rows, aliased as dbt does."""
    return exp.select(exp.column(EXPR)).from_(
        exp.alias_(exp.to_table(SOURCE), "dbt_internal_test", table=True)
    )


def _insert_values(replace: bool) -> exp.Expr:
    statement = exp.insert(
        exp.values([(exp.column(VALUES),)]), marker(REL), columns=[exp.to_identifier(COLUMNS)]
    )
    if replace:
        statement.set("alternative", "REPLACE")
    return statement


def _placeholder() -> exp.Expr:
    return exp.Placeholder()


def _probe() -> exp.Expr:
    return exp.select(exp.Literal.number(1))


def _describe() -> exp.Expr:
    """The columns and types of a query, without running it."""
    return exp.Describe(this=exp.column(SOURCE))


# -- files outside the warehouse (external materializations) ----------------------------


def _copy_to() -> exp.Expr:
    """``COPY (query) TO 'path' WITH (options)``: OPTIONS stands for the option list."""
    return exp.Copy(
        this=exp.Subquery(this=exp.column(SELECT)),
        kind=False,
        files=[exp.column(PATH)],
        params=[exp.CopyParameter(this=exp.Var(this=OPTIONS))],
    )


def _select_files(reader: str) -> exp.Expr:
    """The columns of files read by ``reader`` (read_parquet, read_csv, read_json)."""
    scan = exp.Anonymous(this=reader, expressions=[exp.column(PATH), exp.column(OPTIONS)])
    return exp.select(exp.column(COLUMNS)).from_(exp.Table(this=scan))


def _select_nothing() -> exp.Expr:
    """Typed columns and no row (the view over a location with no file yet)."""
    return exp.select(exp.column(COLUMNS)).where(exp.false())


def _count_files() -> exp.Expr:
    return exp.select(_star_count()).from_(
        exp.Table(this=exp.Anonymous(this="glob", expressions=[exp.column(PATH)]))
    )


def _comment_view() -> exp.Expr:
    """``COMMENT ON VIEW rel IS 'text'`` (EXPR stands for the text's literal)."""
    return exp.Comment(this=marker(REL), kind="VIEW", expression=exp.column(EXPR))


def _create_secret() -> exp.Expr:
    """A secret of the connection (object storage credentials): sqlglot has no node for
    DuckDB's ``CREATE SECRET``, so it is a command."""
    return exp.Command(this="CREATE", expression=f"OR REPLACE TEMPORARY SECRET {NAME} ({OPTIONS})")


def _load_extension() -> exp.Expr:
    return exp.Command(this="LOAD", expression=NAME)


def _begin() -> exp.Expr:
    return exp.Transaction()


def _commit() -> exp.Expr:
    return exp.Commit()


def _rollback() -> exp.Expr:
    return exp.Rollback()


# -- check queries -----------------------------------------------------------------------


def _rows_where() -> exp.Expr:
    return exp.select("*").from_(TARGET).where(exp.column(WHERE))


def _duplicates(scoped: bool) -> exp.Expr:
    """unique_combination: COLUMNS stands for the quoted columns."""
    cols = exp.column(COLUMNS)
    query = exp.select(cols, exp.alias_(_star_count(), "n")).from_(TARGET)
    where = _scoped(None, scoped)
    if where is not None:
        query = query.where(where)
    return query.group_by(cols).having(_star_count() > 1)


def _unique(scoped: bool) -> exp.Expr:
    col = exp.column(COL)
    query = (
        exp.select(exp.alias_(col, "value"), exp.alias_(_star_count(), "n"))
        .from_(TARGET)
        .where(_scoped(col.is_(exp.null()).not_(), scoped))
    )
    return query.group_by(col).having(_star_count() > 1)


def _bounds(value: exp.Expr, low: bool, high: bool) -> exp.Expr:
    parts: list[exp.Expr] = []
    if low:
        parts.append(value.copy() < exp.column(LOW))
    if high:
        parts.append(value.copy() > exp.column(HIGH))
    return exp.or_(*parts)


def _row_count_rows(scoped: bool, low: bool, high: bool) -> exp.Expr:
    counted = exp.select(exp.alias_(_star_count(), "n")).from_(TARGET)
    if scoped:
        counted = counted.where(exp.column(WHERE))
    return exp.select("n").from_(counted.subquery()).where(_bounds(exp.column("n"), low, high))


def _row_count_failures(low: bool, high: bool) -> exp.Expr:
    return _one_if(_bounds(exp.column(COUNT), low, high), 1, 0)


def _stale() -> exp.Expr:
    latest = exp.Max(this=exp.column(COL))
    now = exp.cast(exp.CurrentTimestamp(), "TIMESTAMP")
    oldest = exp.Sub(this=now, expression=exp.Interval(this=exp.Literal.string(AGE)))
    return exp.or_(latest.is_(exp.null()), latest.copy() < oldest)


def _stale_rows(scoped: bool) -> exp.Expr:
    query = exp.select(exp.alias_(exp.Max(this=exp.column(COL)), "latest")).from_(TARGET)
    if scoped:
        query = query.where(exp.column(WHERE))
    return query.having(_stale())


def _stale_failures() -> exp.Expr:
    return _one_if(_stale(), 1, 0)


def _orphans(scoped: bool) -> exp.Expr:
    child = exp.column(COL, table="child")
    parent = exp.column(PARENT_COL, table="parent")
    return (
        exp.select(exp.alias_(child, "value"))
        .from_(exp.alias_(marker(TARGET), "child", table=True))
        .join(
            exp.alias_(marker(PARENT), "parent", table=True),
            on=child.copy().eq(parent.copy()),
            join_type="left",
        )
        .where(_scoped(exp.and_(child.is_(exp.null()).not_(), parent.is_(exp.null())), scoped))
    )


def _count_if() -> exp.Expr:
    return exp.CountIf(this=exp.column(WHERE))


def _missing() -> exp.Expr:
    """not_null, unscoped: nulls counted from validity, not by testing every value."""
    return exp.Sub(this=_star_count(), expression=exp.Count(this=exp.column(COL)))


def _in_range(low: str | None, high: str | None) -> exp.Expr:
    """accepted_range, unscoped: 0 when min and max are inside the range (or nothing is
    there to check), NULL otherwise (the engine then counts the rows)."""
    col = exp.column(COL)
    inside: list[exp.Expr] = []
    if low is not None:
        above = exp.GTE if low == ">=" else exp.GT
        inside.append(above(this=exp.Min(this=col.copy()), expression=exp.column(LOW)))
    if high is not None:
        below = exp.LTE if high == "<=" else exp.LT
        inside.append(below(this=exp.Max(this=col.copy()), expression=exp.column(HIGH)))
    settled = exp.or_(exp.Count(this=col.copy()).eq(0), exp.paren(exp.and_(*inside)))
    return _one_if(settled, 0, None)


def _scan() -> exp.Expr:
    """One scan computing expressions over the target (SELECT stands for their list)."""
    return exp.select(exp.column(SELECT)).from_(TARGET)


def _aliased() -> exp.Expr:
    return exp.alias_(exp.column(EXPR), exp.to_identifier(NAME))


BUILDERS: dict[str, Callable[..., exp.Expr]] = {
    "create_as": _create_as,
    "create_from": _create_from,
    "create_schema": _create_schema,
    "drop": _drop,
    "rename": _rename,
    "insert_by_name": _insert_by_name,
    "delete": _delete,
    "delete_matching": _delete_matching,
    "select_all": _select_all,
    "count_rows": _count_rows,
    "calc_rows": _calc_rows,
    "insert_values": _insert_values,
    "placeholder": _placeholder,
    "probe": _probe,
    "begin": _begin,
    "describe": _describe,
    "copy_to": _copy_to,
    "select_files": _select_files,
    "select_nothing": _select_nothing,
    "count_files": _count_files,
    "create_secret": _create_secret,
    "comment_view": _comment_view,
    "load_extension": _load_extension,
    "commit": _commit,
    "rollback": _rollback,
    "rows_where": _rows_where,
    "duplicates": _duplicates,
    "unique": _unique,
    "row_count_rows": _row_count_rows,
    "row_count_failures": _row_count_failures,
    "stale_rows": _stale_rows,
    "stale_failures": _stale_failures,
    "orphans": _orphans,
    "count_if": _count_if,
    "missing": _missing,
    "in_range": _in_range,
    "scan": _scan,
    "aliased": _aliased,
}

_FLAGS = (False, True)
# every (shape, arguments) teal renders, for rendering ahead
SHAPES: list[tuple[str, Args]] = [
    ("create_as", ("TABLE", False)),
    ("create_as", ("TABLE", True)),
    ("create_as", ("VIEW", False)),
    *(("drop", (kind, exists)) for kind in ("TABLE", "VIEW") for exists in _FLAGS),
    *((name, ()) for name in ("create_from", "create_schema", "rename", "insert_by_name")),
    *(("delete", (filtered,)) for filtered in _FLAGS),
    ("delete_matching", ()),
    *(("select_all", (limited,)) for limited in _FLAGS),
    ("count_rows", ()),
    ("calc_rows", ()),
    *(("insert_values", (replace,)) for replace in _FLAGS),
    *((name, ()) for name in ("placeholder", "probe", "begin", "commit", "rollback")),
    *(
        (name, ())
        for name in (
            "describe",
            "copy_to",
            "select_nothing",
            "count_files",
            "create_secret",
            "comment_view",
            "load_extension",
        )
    ),
    *(("select_files", (reader,)) for reader in READERS.values()),
    ("rows_where", ()),
    *(
        (name, (scoped,))
        for name in ("duplicates", "unique", "stale_rows", "orphans")
        for scoped in _FLAGS
    ),
    *(
        ("row_count_rows", (scoped, low, high))
        for scoped, low, high in itertools.product(_FLAGS, _FLAGS, _FLAGS)
        if low or high
    ),
    *(
        ("row_count_failures", (low, high))
        for low, high in itertools.product(_FLAGS, _FLAGS)
        if low or high
    ),
    *((name, ()) for name in ("stale_failures", "count_if", "missing", "scan", "aliased")),
    *(
        ("in_range", (low, high))
        for low, high in itertools.product((None, ">=", ">"), (None, "<=", "<"))
        if low or high
    ),
]


def render_shape(dialect: str, shape: str, args: Args) -> str:
    """``shape`` built with ``args`` and rendered in ``dialect`` (functions in lower case,
    as people write them)."""
    return BUILDERS[shape](*args).sql(dialect, normalize_functions="lower")


def identifier_quotes(dialect: str) -> tuple[str, str]:
    quoting = Dialect.get_or_raise(dialect)
    return quoting.IDENTIFIER_START, quoting.IDENTIFIER_END


def rendered() -> tuple[dict[tuple[str, str, Args], str], dict[str, tuple[str, str]]]:
    """Every shape of every shipped dialect, rendered; and the dialects' identifier quotes."""
    skeletons = {
        (dialect, shape, args): render_shape(dialect, shape, args)
        for dialect in DIALECTS
        for shape, args in SHAPES
    }
    return skeletons, {dialect: identifier_quotes(dialect) for dialect in DIALECTS}


def write(path: Path) -> None:
    skeletons, quotes = rendered()
    path.write_text(
        '"""teal\'s statement and check-query skeletons, rendered ahead for the dialects\n'
        "teal ships. Generated by `python -m teal.warehouse.skeletons`: do not edit.\n"
        'tests/engine/test_skeletons.py fails when this is stale."""\n\n'
        f"RENDERED: dict[tuple[str, str, tuple[object, ...]], str] = {pprint.pformat(skeletons, width=88)}\n\n"
        f"QUOTES: dict[str, tuple[str, str]] = {pprint.pformat(quotes, width=88)}\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    target = Path(__file__).with_name("rendered_skeletons.py")
    write(target)
    print(f"wrote {target}", file=sys.stderr)
