"""The queries that run checks, built from their definitions for one SQL dialect.

A check's definition (``teal.compiler.checks.CheckDef``) says what it checks: its kind,
column, parameters, scope (``where``), and for row-level checks the predicate a failing
row matches. The queries are written here, once for every engine: the failing rows of a
built-in check, the failure-count aggregate it contributes to its model's fused scan, the
exact recount, a check's failures (its failing rows counted, or its ``fail_calc`` over
them) and a sample. Singular and custom generic checks bring their own failing-rows query,
written by the user.

Every query reads the placeholder relation ``__teal_check_target__``; the engine puts the
relation being audited in its place. Like ``teal.warehouse.statements``, each shape is a
sqlglot expression (``teal.warehouse.skeletons``) rendered for the dialect ahead of time,
and its markers are filled by text here, so a build parses nothing.

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

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from teal.compiler.checks import bound_literal
from teal.warehouse.statements import (
    COLUMNS,
    EXPR,
    NAME,
    SELECT,
    SOURCE,
    WHERE,
    Statements,
    quote,
    skeleton,
    string_literal,
)

if TYPE_CHECKING:
    from teal.compiler.checks import CheckDef

COL = "__teal_col__"  # a quoted column
PARENT_COL = "__teal_pcol__"  # relationships: the parent's quoted column
PARENT = "__teal_parent__"  # relationships: the parent relation
AGE = "__teal_age__"  # freshness: the interval's text, inside its quotes
LOW = "__teal_low__"  # row_count and accepted_range: bounds
HIGH = "__teal_high__"
COUNT = "__teal_count__"  # row_count: the counted rows (count(*) or count_if(scope))


def failure_value(value: Any) -> int:
    """What a check's failures query returned, as the whole number its thresholds compare:
    NULL (a ``fail_calc`` sum over no rows) is 0, and a fraction counts as the next
    whole number, so that any part of a failure fails ``!= 0``.

    >>> failure_value(None), failure_value(3), failure_value(2.0), failure_value(0.25)
    (0, 3, 2, 1)
    """
    if value is None:
        return 0
    whole = int(value)
    return whole if whole == value else math.ceil(value)


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
            return skeleton(d, "rows_where").replace(WHERE, check.condition, 1)
        col = self._q(check.column) if check.column else ""
        if check.kind == "unique":
            text = skeleton(d, "unique", where).replace(COL, col)
        elif check.kind == "unique_combination":
            text = skeleton(d, "duplicates", where).replace(COLUMNS, self._listed(check))
        elif check.kind == "row_count":
            low, high = self._count_bounds(check)
            text = skeleton(d, "row_count_rows", where, low is not None, high is not None)
            text = text.replace(LOW, str(low)).replace(HIGH, str(high))
        elif check.kind == "freshness":
            text = skeleton(d, "stale_rows", where).replace(COL, self._fresh_column(check))
            text = text.replace(AGE, self._age(check))
        elif check.kind == "relationships":
            text = (
                skeleton(d, "orphans", where)
                .replace(COL, col)
                .replace(PARENT, str(check.to_relation))
            )
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
            counted = (
                skeleton(d, "count_if").replace(WHERE, check.where, 1)
                if check.where
                else "count(*)"
            )
            text = skeleton(d, "row_count_failures", low is not None, high is not None)
            return text.replace(COUNT, counted).replace(LOW, str(low)).replace(HIGH, str(high))
        if check.kind == "freshness":
            text = skeleton(d, "stale_failures").replace(COL, self._fresh_column(check))
            return text.replace(AGE, self._age(check))
        if check.condition is None:
            raise ValueError(f"check {check.name} does not share a scan")
        cheap = self._cheap_count(check)
        return cheap if cheap is not None else self.recount_expression(check)

    def recount_expression(self, check: CheckDef) -> str:
        """A row-level check's failing rows counted by its predicate."""
        return skeleton(self.dialect, "count_if").replace(WHERE, str(check.condition), 1)

    def _cheap_count(self, check: CheckDef) -> str | None:
        """Row-level checks answered without testing every row: ``not_null`` from the
        validity masks, ``accepted_range`` from ``min``/``max`` when they are inside it."""
        if check.where or not check.column:
            return None
        col = self._q(check.column)
        if check.kind == "not_null":
            return skeleton(self.dialect, "missing").replace(COL, col)
        if check.kind == "accepted_range":
            low, high = check.params.get("min_value"), check.params.get("max_value")
            inclusive = check.params.get("inclusive", True)
            text = skeleton(
                self.dialect,
                "in_range",
                None if low is None else (">=" if inclusive else ">"),
                None if high is None else ("<=" if inclusive else "<"),
            )
            text = text.replace(COL, col)
            if low is not None:
                text = text.replace(LOW, bound_literal(low))
            return text.replace(HIGH, bound_literal(high)) if high is not None else text
        return None

    def scan(self, expressions: list[str]) -> str:
        """One query computing every expression over the target, as columns c0, c1, ..."""
        aliased = skeleton(self.dialect, "aliased")
        listed = ", ".join(
            aliased.replace(EXPR, expression, 1).replace(NAME, self._q(f"c{i}"), 1)
            for i, expression in enumerate(expressions)
        )
        return skeleton(self.dialect, "scan").replace(SELECT, listed, 1)

    def count(self, query: str) -> str:
        """How many rows ``query`` returns."""
        return Statements(self.dialect).count_rows(f"({query})")

    def failures(self, check: CheckDef) -> str | None:
        """The query whose one value is ``check``'s failures, which its thresholds compare:
        its failing rows counted, or its ``fail_calc`` over them as dbt computes it (None:
        a Python check).

        >>> from teal.compiler.checks import CheckDef
        >>> calc = CheckDef("eq", "o", "equal_rowcount", sql="SELECT 2 AS diff_count",
        ...                 fail_calc="sum(diff_count)")
        >>> CheckQueries("duckdb").failures(calc)
        'SELECT sum(diff_count) FROM (SELECT 2 AS diff_count) AS dbt_internal_test'
        """
        rows_sql = self.failing_rows(check)
        if rows_sql is None or check.fail_calc is None:
            return None if rows_sql is None else self.count(rows_sql)
        text = skeleton(self.dialect, "calc_rows").replace(EXPR, check.fail_calc, 1)
        return text.replace(SOURCE, f"({rows_sql})", 1)

    def sample(self, query: str, limit: int) -> str:
        """The first ``limit`` rows of ``query``."""
        return Statements(self.dialect).select_all(f"({query})", limit=limit)

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
