"""The queries that run checks, built from their definitions for one SQL dialect.

A check's definition (``teal.compiler.checks.CheckDef``) says what it checks: its kind,
column, parameters, scope (``where``), and for row-level checks the predicate a failing
row matches. The queries are written here, once for every engine: the failing rows of a
built-in check, the failure-count aggregate it contributes to its model's fused scan, the
exact recount, a count and a sample. Singular and custom generic checks bring their own
failing-rows query, written by the user.

Every query reads the placeholder relation ``__teal_check_target__``; the engine puts the
relation being audited in its place. Like ``teal.warehouse.statements``, each shape is
rendered once per dialect and its markers are filled by text, so a build parses nothing.

>>> from teal.compiler.checks import builtin_check
>>> q = CheckQueries("duckdb")
>>> unique = builtin_check("unique", asset="o", column="id", params={}, options={})
>>> print(q.failing_rows(unique))
SELECT "id" AS value, count(*) AS n FROM __teal_check_target__ WHERE NOT "id" IS NULL GROUP BY "id" HAVING count(*) > 1
>>> rows = builtin_check("row_count", asset="o", column=None, params={"min": 1}, options={})
>>> q.failure_count(rows)
'CASE WHEN count(*) < 1 THEN 1 ELSE 0 END'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from teal.compiler.checks import TARGET  # the relation a check reads
from teal.warehouse.statements import (
    COLUMNS,
    SOURCE,
    WHERE,
    Statements,
    marker,
    quote,
    render,
    string_literal,
)

if TYPE_CHECKING:
    from teal.compiler.checks import CheckDef

COL = "__teal_col__"  # a quoted column
PARENT_COL = "__teal_pcol__"  # relationships: the parent's quoted column
PARENT = "__teal_parent__"  # relationships: the parent relation
AGE = "__teal_age__"  # freshness: the interval's text, inside its quotes
LOW = "__teal_low__"  # row_count: bounds
HIGH = "__teal_high__"
EXPR = "__teal_expr__"  # an aggregate, spliced in as text
COUNT = "__teal_count__"  # row_count: the counted rows (count(*) or count_if(scope))


def _star_count() -> exp.Count:
    return exp.Count(this=exp.Star())


def _scoped(predicate: exp.Expr | None, scoped: bool) -> exp.Expr | None:
    """``predicate AND <where>`` (the marker stands for the parenthesized scope)."""
    if not scoped:
        return predicate
    scope = exp.column(WHERE)
    return scope if predicate is None else exp.and_(predicate, scope)


@cache
def _rows_where(dialect: str) -> str:
    return render(exp.select("*").from_(TARGET).where(exp.column(WHERE)), dialect)


@cache
def _duplicates(dialect: str, scoped: bool) -> str:
    """unique (one column) and unique_combination (COLUMNS: several)."""
    cols = exp.column(COLUMNS)
    query = exp.select(cols, exp.alias_(_star_count(), "n")).from_(TARGET)
    where = _scoped(None, scoped)
    if where is not None:
        query = query.where(where)
    return render(query.group_by(cols).having(_star_count() > 1), dialect)


@cache
def _unique(dialect: str, scoped: bool) -> str:
    col = exp.column(COL)
    query = (
        exp.select(exp.alias_(col, "value"), exp.alias_(_star_count(), "n"))
        .from_(TARGET)
        .where(_scoped(col.is_(exp.null()).not_(), scoped))
    )
    return render(query.group_by(col).having(_star_count() > 1), dialect)


def _bounds(value: exp.Expr, low: bool, high: bool) -> exp.Expr:
    parts: list[exp.Expr] = []
    if low:
        parts.append(value.copy() < exp.column(LOW))
    if high:
        parts.append(value.copy() > exp.column(HIGH))
    return exp.or_(*parts)


@cache
def _row_count_rows(dialect: str, scoped: bool, low: bool, high: bool) -> str:
    counted = exp.select(exp.alias_(_star_count(), "n")).from_(TARGET)
    if scoped:
        counted = counted.where(exp.column(WHERE))
    query = exp.select("n").from_(counted.subquery()).where(_bounds(exp.column("n"), low, high))
    return render(query, dialect)


@cache
def _row_count_failures(dialect: str, low: bool, high: bool) -> str:
    failing = _bounds(exp.column(COUNT), low, high)
    return render(
        exp.Case(ifs=[exp.If(this=failing, true=exp.Literal.number(1))]).else_(0), dialect
    )


def _stale() -> exp.Expr:
    latest = exp.Max(this=exp.column(COL))
    now = exp.cast(exp.CurrentTimestamp(), "TIMESTAMP")
    oldest = exp.Sub(this=now, expression=exp.Interval(this=exp.Literal.string(AGE)))
    return exp.or_(latest.is_(exp.null()), latest.copy() < oldest)


@cache
def _stale_rows(dialect: str, scoped: bool) -> str:
    query = exp.select(exp.alias_(exp.Max(this=exp.column(COL)), "latest")).from_(TARGET)
    if scoped:
        query = query.where(exp.column(WHERE))
    return render(query.having(_stale()), dialect)


@cache
def _stale_failures(dialect: str) -> str:
    return render(
        exp.Case(ifs=[exp.If(this=_stale(), true=exp.Literal.number(1))]).else_(0), dialect
    )


@cache
def _orphans(dialect: str, scoped: bool) -> str:
    child = exp.column(COL, table="child")
    parent = exp.column(PARENT_COL, table="parent")
    query = (
        exp.select(exp.alias_(child, "value"))
        .from_(exp.alias_(marker(TARGET), "child", table=True))
        .join(
            exp.alias_(marker(PARENT), "parent", table=True),
            on=child.copy().eq(parent.copy()),
            join_type="left",
        )
        .where(_scoped(exp.and_(child.is_(exp.null()).not_(), parent.is_(exp.null())), scoped))
    )
    return render(query, dialect)


@cache
def _count_if(dialect: str) -> str:
    return render(exp.CountIf(this=exp.column(WHERE)), dialect)


@cache
def _missing(dialect: str) -> str:
    """not_null, unscoped: nulls counted from validity, not by testing every value."""
    return render(exp.Sub(this=_star_count(), expression=exp.Count(this=exp.column(COL))), dialect)


@cache
def _in_range(dialect: str, low: str | None, high: str | None) -> str:
    """accepted_range, unscoped: 0 when min and max are inside the range (or nothing is
    there to check), NULL otherwise (the engine then counts the rows)."""
    col = exp.column(COL)
    inside: list[exp.Expr] = []
    if low is not None:
        inside.append(
            (exp.GTE if low == ">=" else exp.GT)(
                this=exp.Min(this=col.copy()), expression=exp.column(LOW)
            )
        )
    if high is not None:
        inside.append(
            (exp.LTE if high == "<=" else exp.LT)(
                this=exp.Max(this=col.copy()), expression=exp.column(HIGH)
            )
        )
    settled = exp.or_(exp.Count(this=col.copy()).eq(0), exp.paren(exp.and_(*inside)))
    return render(exp.Case(ifs=[exp.If(this=settled, true=exp.Literal.number(0))]), dialect)


@cache
def _columns(dialect: str, count: int) -> str:
    """``SELECT e0 AS "c0", ... FROM target``: one scan, one column per check."""
    items = [exp.alias_(exp.column(f"{EXPR}{i}__"), f"c{i}", quoted=True) for i in range(count)]
    return render(exp.select(*items).from_(TARGET), dialect)


@cache
def _sample(dialect: str, limit: int) -> str:
    return render(exp.select("*").from_(SOURCE).limit(limit), dialect)


def literal(value: Any) -> str:
    """A parameter of a check as a SQL literal.

    >>> literal(True), literal(2.5), literal("it's")
    ('true', '2.5', "'it''s'")
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return string_literal(str(value))


@dataclass(frozen=True)
class CheckQueries:
    """Check queries in one SQL dialect, read over ``__teal_check_target__``."""

    dialect: str

    def _q(self, name: str) -> str:
        return quote(name, self.dialect)

    def _scope(self, check: CheckDef) -> str:
        return f"({check.where})"

    def failing_rows(self, check: CheckDef) -> str | None:
        """The query whose rows are the check's failures (None: a Python check)."""
        if check.sql is not None or check.kind == "python":
            return check.sql  # singular and custom generic checks: the user's query
        d, where = self.dialect, bool(check.where)
        if check.condition is not None:  # row-level: the scope is in the predicate
            return _rows_where(d).replace(WHERE, check.condition, 1)
        col = self._q(check.column) if check.column else ""
        if check.kind == "unique":
            text = _unique(d, where).replace(COL, col)
        elif check.kind == "unique_combination":
            text = _duplicates(d, where).replace(COLUMNS, self._listed(check))
        elif check.kind == "row_count":
            low, high = self._count_bounds(check)
            text = _row_count_rows(d, where, low is not None, high is not None)
            text = text.replace(LOW, str(low)).replace(HIGH, str(high))
        elif check.kind == "freshness":
            text = _stale_rows(d, where).replace(COL, self._fresh_column(check))
            text = text.replace(AGE, self._age(check))
        elif check.kind == "relationships":
            text = _orphans(d, where).replace(COL, col).replace(PARENT, str(check.to_relation))
            text = text.replace(PARENT_COL, self._q(str(check.params.get("field"))))
        else:
            raise ValueError(f"check {check.name}: no query for kind {check.kind!r}")
        return text.replace(WHERE, self._scope(check), 1) if where else text

    def failure_count(self, check: CheckDef) -> str:
        """The aggregate giving ``check``'s failure count in its model's shared scan
        (``check.fusable``). NULL means "not settled here": the engine recounts it with
        :meth:`recount`."""
        d = self.dialect
        if check.kind == "row_count":
            low, high = self._count_bounds(check)
            counted = _count_if(d).replace(WHERE, check.where, 1) if check.where else "count(*)"
            text = _row_count_failures(d, low is not None, high is not None)
            return text.replace(COUNT, counted).replace(LOW, str(low)).replace(HIGH, str(high))
        if check.kind == "freshness":
            text = _stale_failures(d).replace(COL, self._fresh_column(check))
            return text.replace(AGE, self._age(check))
        if check.condition is None:
            raise ValueError(f"check {check.name} does not share a scan")
        cheap = self._cheap_count(check)
        return cheap if cheap is not None else self.recount_expression(check)

    def recount_expression(self, check: CheckDef) -> str:
        """A row-level check's failing rows counted by its predicate."""
        return _count_if(self.dialect).replace(WHERE, str(check.condition), 1)

    def _cheap_count(self, check: CheckDef) -> str | None:
        """Row-level checks answered without testing every row: ``not_null`` from the
        validity masks, ``accepted_range`` from ``min``/``max`` when they are inside it."""
        if check.where or not check.column:
            return None
        col = self._q(check.column)
        if check.kind == "not_null":
            return _missing(self.dialect).replace(COL, col)
        if check.kind == "accepted_range":
            low, high = check.params.get("min_value"), check.params.get("max_value")
            inclusive = check.params.get("inclusive", True)
            text = _in_range(
                self.dialect,
                None if low is None else (">=" if inclusive else ">"),
                None if high is None else ("<=" if inclusive else "<"),
            )
            text = text.replace(COL, col)
            if low is not None:
                text = text.replace(LOW, literal(low))
            return text.replace(HIGH, literal(high)) if high is not None else text
        return None

    def scan(self, expressions: list[str]) -> str:
        """One query computing every expression over the target, as columns c0, c1, ..."""
        text = _columns(self.dialect, len(expressions))
        for i, expression in enumerate(expressions):
            text = text.replace(f"{EXPR}{i}__", expression, 1)
        return text

    def count(self, query: str) -> str:
        """How many rows ``query`` returns."""
        return Statements(self.dialect).count_rows(f"({query})")

    def sample(self, query: str, limit: int) -> str:
        """The first ``limit`` rows of ``query``."""
        return _sample(self.dialect, int(limit)).replace(SOURCE, f"({query})", 1)

    def _listed(self, check: CheckDef) -> str:
        columns = check.params.get("columns") or check.params.get("combination_of_columns")
        return ", ".join(self._q(str(c)) for c in columns or [])

    def _count_bounds(self, check: CheckDef) -> tuple[int | None, int | None]:
        low = check.params.get("min", check.params.get("min_value"))
        high = check.params.get("max", check.params.get("max_value"))
        return (None if low is None else int(low)), (None if high is None else int(high))

    def _fresh_column(self, check: CheckDef) -> str:
        name = check.column or check.params.get("column") or check.params.get("field")
        return self._q(str(name))

    def _age(self, check: CheckDef) -> str:
        age = check.params.get("max_age") or check.params.get("interval")
        return str(age).replace("'", "''")  # inside the interval's quotes
