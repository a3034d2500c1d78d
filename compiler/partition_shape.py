"""Whether a partitioned model's query gives the same rows for a range of partitions as
for each partition alone: then a backfill may build the range with one query.

A daily model's default backfill (``multi_run``) runs its query once per partition. When
the query is *decomposable* — running it once over the whole range gives exactly the
union of its per-partition results — the runtime builds a backfill with one query, as
``backfill_policy='single_run'`` does, but on its own judgement (runtime/partition_steps.py).
That is decided here, conservatively, from the compiled SQL: a query passes only when
each of its rows comes from the rows of one partition's window and no row depends on rows
of another partition. It must:

- be time-partitioned by one column, with no ``partition.key`` in its SQL;
- read its partitioned upstreams through filters that move with the window: pushed-down
  filters with an ``identity`` or ``time_window`` mapping, or its own
  ``partition.start``/``partition.end`` in WHERE comparisons (a placeholder elsewhere,
  such as ``range(partition.start, ...)``, may depend on how the range is split);
- be one SELECT (no UNION, INTERSECT, EXCEPT) whose inner SELECTs (CTEs, subqueries in
  FROM) are row by row: no aggregate, window, DISTINCT, GROUP BY, LIMIT or QUALIFY;
- have no subquery outside FROM (``x IN (SELECT ...)`` over a window differs from one
  over the range), no RIGHT or FULL join, no window function, LIMIT or QUALIFY;
- group, when it aggregates, by its partition column (so a group never spans two
  partitions); a plain DISTINCT keeps the partition column among its values;
- produce its partition column from a column its window filters bound, as a copy, a cast
  to DATE (daily partitions) or a ``date_trunc`` to the partitions' grain: a row then lies
  in the window of the rows it came from. (One query over a range places each row by its
  value, where one partition's run would refuse a row outside its window: a model that
  moves rows across partitions must not be built at once.)

>>> from teal.compiler.partitions import parse_partitions
>>> days = parse_partitions({"daily": "2026-01-01"})
>>> ok = ("SELECT CAST(ts AS DATE) AS day, count(*) AS n FROM (SELECT * FROM e "
...       "WHERE ts >= __teal_pw0_start__ AND ts < __teal_pw0_end__) AS e GROUP BY 1")
>>> not_decomposable(ok, days, "day", ("time_window",))
>>> not_decomposable(ok.replace("GROUP BY 1", ""), days, "day", ("time_window",))
'it aggregates without grouping by its partition column day'
>>> not_decomposable(ok, days, "day", ("lookback(3)",))
"it reads an upstream through the 'lookback(3)' mapping"
>>> gen = ("SELECT ts AS day FROM range(CAST('__teal_partition_start__' AS TIMESTAMP), "
...        "__teal_partition_end__, INTERVAL 1 HOUR) AS t(ts)")
>>> not_decomposable(gen, days, "day", ())
'it uses partition.start or partition.end outside a WHERE comparison'
>>> monthly = ok.replace("CAST(ts AS DATE)", "date_trunc('month', ts)")
>>> not_decomposable(monthly, days, "day", ("time_window",))
'its partition column day is not a column its window filters bound'
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from teal.compiler.partitions import Partitions, TimePartitions

# mappings whose pushed-down filter over a range is the union of the partitions' filters
_RANGE_MAPPINGS = ("identity", "time_window")
_OWN = "__teal_partition_"
_ROW_BREAKERS = (exp.AggFunc, exp.Window, exp.Limit, exp.Offset, exp.Qualify, exp.Group)


def not_decomposable(
    sql: str,
    definition: Partitions | None,
    partition_column: object,
    mappings: Sequence[str],
) -> str | None:
    """Why the query ``sql`` (compiled, with placeholders) cannot build a range of
    partitions at once, or None when it can (see the module's rules). ``mappings``: the
    mapping of each pushed-down partitioned upstream."""
    if not isinstance(definition, TimePartitions) or not isinstance(partition_column, str):
        return "only a model with time partitions on one column builds a range at once"
    if f"{_OWN}key__" in sql or f"{_OWN}dim_" in sql:
        return "it uses partition.key"
    for mapping in mappings:
        if mapping not in _RANGE_MAPPINGS:
            return f"it reads an upstream through the {mapping!r} mapping"
    from teal.compiler.sql import parse_sql

    try:
        tree = parse_sql(sql, path="", digest=False)
    except Exception:  # noqa: BLE001 - what cannot be parsed is not judged decomposable
        return "its SQL could not be analysed"
    return _shape(tree, partition_column.lower(), definition.grain)


def _shape(tree: exp.Expr, column: str, grain: str) -> str | None:
    if isinstance(tree, exp.SetOperation) or tree.find(exp.SetOperation) is not None:
        return "it combines queries with a set operation"
    if not isinstance(tree, exp.Select):
        return "it is not a single SELECT"
    for join in tree.find_all(exp.Join):
        if join.side.upper() in ("RIGHT", "FULL"):
            return f"it has a {join.side.upper()} JOIN"
    for placeholder in tree.find_all(exp.Column, exp.Identifier, exp.Literal):
        name = str(placeholder.this).lower()
        if name.startswith(_OWN) and not _in_where_comparison(placeholder):
            return "it uses partition.start or partition.end outside a WHERE comparison"
    for query in tree.find_all(exp.Select):
        if query is tree:
            continue
        if not _in_from(query, tree):
            return "it has a subquery outside FROM"
        if any(query.find(kind) is not None for kind in _ROW_BREAKERS) or query.args.get(
            "distinct"
        ):
            return "a subquery or CTE aggregates, groups, limits or de-duplicates rows"
    for kind in (exp.Window, exp.Limit, exp.Offset, exp.Qualify):
        if _own(tree, kind):
            return "it uses a window function, LIMIT, OFFSET or QUALIFY"
    groups = tree.args.get("group")
    aggregates = _own(tree, exp.AggFunc)
    if (aggregates or groups is not None) and not _groups_by(tree, groups, column):
        return f"it aggregates without grouping by its partition column {column}"
    if tree.args.get("distinct") is not None and tree.args["distinct"].args.get("on"):
        return "it uses DISTINCT ON"
    wanted = next((e for e in tree.selects if e.alias_or_name.lower() == column), None)
    if wanted is None or not _stays_in_window(wanted.unalias(), _window_columns(tree), grain):
        return f"its partition column {column} is not a column its window filters bound"
    return None


# the date_trunc unit that keeps a value in the window of each grain
_TRUNC = {"hourly": "hour", "daily": "day", "monthly": "month", "weekly": ""}


def _window_columns(tree: exp.Expr) -> set[str]:
    """Names of the columns bounded by a partition placeholder in a WHERE comparison."""
    found: set[str] = set()
    for node in tree.find_all(exp.GTE, exp.GT, exp.LT, exp.LTE):
        sides = [_strip(node.this), _strip(node.expression)]
        if any(_is_placeholder(side) for side in sides):
            found |= {side.name.lower() for side in sides if isinstance(side, exp.Column)}
    return found


def _strip(node: exp.Expr) -> exp.Expr:
    while isinstance(node, (exp.Cast, exp.Paren)):
        node = node.this
    return node


def _is_placeholder(node: exp.Expr) -> bool:
    return isinstance(node, (exp.Column, exp.Literal)) and str(node.this).lower().startswith(
        "__teal_p"
    )


def _stays_in_window(expression: exp.Expr, columns: set[str], grain: str) -> bool:
    """Whether ``expression`` keeps the value of a bounded column within its window."""
    if isinstance(expression, exp.Column):
        return expression.name.lower() in columns
    if isinstance(expression, exp.Cast) and isinstance(expression.this, exp.Column):
        target = expression.to.this
        keeps = target == exp.DataType.Type.DATE and grain == "daily"
        return keeps and expression.this.name.lower() in columns
    if isinstance(expression, (exp.DateTrunc, exp.TimestampTrunc)):
        unit = str(expression.args.get("unit") or "").strip("'").lower()
        inner = expression.this
        return (
            bool(_TRUNC.get(grain))
            and unit == _TRUNC[grain]
            and isinstance(inner, exp.Column)
            and inner.name.lower() in columns
        )
    return False


def _own(tree: exp.Select, kind: type[exp.Expr]) -> bool:
    """Whether ``tree`` itself (not a subquery of it) has a node of ``kind``."""
    return any(node.parent_select is tree for node in tree.find_all(kind))


def _in_from(query: exp.Select, top: exp.Select) -> bool:
    """Whether ``query`` is a CTE or sits in a FROM or JOIN (a derived table)."""
    node: exp.Expr | None = query.parent
    while node is not None and node is not top:
        if isinstance(node, (exp.From, exp.Join, exp.CTE)):
            return True
        if isinstance(node, exp.Select):
            return _in_from(node, top)
        node = node.parent
    return False


def _in_where_comparison(node: exp.Expr) -> bool:
    """A placeholder bounding a column in a WHERE: ``col >= start`` (casts allowed)."""
    parent = node.parent
    while isinstance(parent, (exp.Cast, exp.Column, exp.Paren)):
        parent = parent.parent
    if not isinstance(parent, (exp.GTE, exp.GT, exp.LT, exp.LTE)):
        return False
    while parent is not None and not isinstance(parent, exp.Where):
        if not isinstance(parent, (exp.GTE, exp.GT, exp.LT, exp.LTE, exp.And, exp.Paren)):
            return False
        parent = parent.parent
    return parent is not None


def _groups_by(tree: exp.Select, group: exp.Group | None, column: str) -> bool:
    """Whether the GROUP BY of ``tree`` holds its output ``column`` (by position, by its
    alias, or as the same expression)."""
    if group is None:
        return False
    if group.args.get("all"):
        return True  # GROUP BY ALL groups by every select that aggregates nothing
    selects = tree.selects
    wanted = next((s for s in selects if s.alias_or_name.lower() == column), None)
    if wanted is None or wanted.find(exp.AggFunc) is not None:
        return False
    for key in group.expressions:
        if isinstance(key, exp.Literal) and key.is_int:
            index = int(key.this) - 1
            if 0 <= index < len(selects) and selects[index] is wanted:
                return True
        elif isinstance(key, exp.Column) and not key.table and key.name.lower() == column:
            return True
        elif key == wanted.unalias():
            return True
    return False
