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
  ``partition.start``/``partition.end`` in WHERE comparisons; or generate its rows with
  ``range(partition.start, partition.end, INTERVAL ...)``, whose rows over a range are
  those of its windows when the step divides each window's length (the runtime checks
  that for the windows it builds: :attr:`Judgement.steps`). A placeholder anywhere else
  may depend on how the range is split;
- be one SELECT (no UNION, INTERSECT, EXCEPT) whose inner SELECTs (CTEs, subqueries in
  FROM) are row by row: no aggregate, window, DISTINCT, GROUP BY, LIMIT or QUALIFY;
- have no subquery outside FROM (``x IN (SELECT ...)`` over a window differs from one
  over the range), no RIGHT or FULL join, no window function, LIMIT or QUALIFY;
- join at most one source filtered by the window in each SELECT (with the others read
  whole): two windowed sources joined over a range pair a row of one partition with the
  rows of every other partition the join matches, where each partition's run pairs it
  with its own partition's rows only;
- group, when it aggregates, by its partition column (so a group never spans two
  partitions); a plain DISTINCT keeps the partition column among its values;
- produce its partition column from a column its window filters bound, as a copy, a cast
  to DATE (daily partitions) or a ``date_trunc`` to the partitions' grain, and, when it
  names its table, of a source the window filters: a row then lies in the window of the
  rows it came from. (One query over a range places each row by its
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
>>> judge(gen, days, "day", ())
Judgement(reason=None, steps=(datetime.timedelta(seconds=3600),))
>>> not_decomposable(gen.replace("range", "generate_series"), days, "day", ())
'it uses partition.start or partition.end outside a WHERE comparison'
>>> monthly = ok.replace("CAST(ts AS DATE)", "date_trunc('month', ts)")
>>> not_decomposable(monthly, days, "day", ("time_window",))
'its partition column day is not a column its window filters bound'
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlglot import exp

from teal.compiler.partitions import Partitions, TimePartitions

# mappings whose pushed-down filter over a range is the union of the partitions' filters
_RANGE_MAPPINGS = ("identity", "time_window")
_OWN = "__teal_partition_"
_ROW_BREAKERS = (exp.AggFunc, exp.Window, exp.Limit, exp.Offset, exp.Qualify, exp.Group)


class Judgement(NamedTuple):
    """Whether a query builds a range of partitions at once."""

    reason: str | None  # why not; None: it does, when each window is a multiple of steps
    steps: tuple[timedelta, ...] = ()  # the steps of its range(...) generators


def not_decomposable(
    sql: str,
    definition: Partitions | None,
    partition_column: object,
    mappings: Sequence[str],
) -> str | None:
    """Why the query ``sql`` (compiled, with placeholders) cannot build a range of
    partitions at once, or None when it can (see the module's rules and :func:`judge`)."""
    return judge(sql, definition, partition_column, mappings).reason


def judge(
    sql: str,
    definition: Partitions | None,
    partition_column: object,
    mappings: Sequence[str],
) -> Judgement:
    """The :class:`Judgement` of ``sql``; ``mappings``: the mapping of each pushed-down
    partitioned upstream."""
    if not isinstance(definition, TimePartitions) or not isinstance(partition_column, str):
        return Judgement("only a model with time partitions on one column builds a range at once")
    if f"{_OWN}key__" in sql or f"{_OWN}dim_" in sql:
        return Judgement("it uses partition.key")
    for mapping in mappings:
        if mapping not in _RANGE_MAPPINGS:
            return Judgement(f"it reads an upstream through the {mapping!r} mapping")
    from teal.compiler.sql import parse_sql

    try:
        tree = parse_sql(sql, path="", digest=False)
    except Exception:  # noqa: BLE001 - what cannot be parsed is not judged decomposable
        return Judgement("its SQL could not be analysed")
    steps: list[timedelta] = []
    reason = _shape(tree, partition_column.lower(), definition.grain, steps)
    return Judgement(reason, tuple(sorted(set(steps))) if reason is None else ())


def _shape(tree: exp.Expr, column: str, grain: str, steps: list[timedelta]) -> str | None:
    if isinstance(tree, exp.SetOperation) or tree.find(exp.SetOperation) is not None:
        return "it combines queries with a set operation"
    if not isinstance(tree, exp.Select):
        return "it is not a single SELECT"
    for join in tree.find_all(exp.Join):
        if join.side.upper() in ("RIGHT", "FULL"):
            return f"it has a {join.side.upper()} JOIN"
    generated: set[str] = set()
    for placeholder in tree.find_all(exp.Column, exp.Identifier, exp.Literal):
        name = str(placeholder.this).lower()
        if not name.startswith(_OWN) or _in_where_comparison(placeholder):
            continue
        series = _generator_bound(placeholder, name)
        if series is None:
            return "it uses partition.start or partition.end outside a WHERE comparison"
        step = _fixed_step(series.args.get("step"))
        if step is None:
            return "it generates rows over its window with a step of no fixed length"
        steps.append(step)
        generated |= _generated_columns(series)
    for query in tree.find_all(exp.Select):
        if query is tree:
            continue
        if not _in_from(query, tree):
            return "it has a subquery outside FROM"
        if any(query.find(kind) is not None for kind in _ROW_BREAKERS) or query.args.get(
            "distinct"
        ):
            return "a subquery or CTE aggregates, groups, limits or de-duplicates rows"
    ctes = {cte.alias_or_name.lower(): cte.this for cte in tree.find_all(exp.CTE)}
    for query in tree.find_all(exp.Select):
        if _windowed_sources(query, ctes) > 1:
            return "it joins two sources filtered by the partition window"
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
    bounded = _window_columns(tree) | generated
    if wanted is None or not _stays_in_window(wanted.unalias(), bounded, grain):
        return f"its partition column {column} is not a column its window filters bound"
    # a column named by its table must come from a windowed source: a dimension's column
    # of the same name as the bounded one is not bounded (its rows lie in any partition)
    table = next((c.table.lower() for c in wanted.find_all(exp.Column) if c.table), "")
    if table and table not in _windowed_aliases(tree, ctes)[0]:
        return f"its partition column {column} comes from {table}, which no window filters"
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


def _generator_bound(node: exp.Expr, name: str) -> exp.GenerateSeries | None:
    """The ``range(...)`` (end exclusive) whose start (``partition.start``) or end
    (``partition.end``) ``node`` is, casts aside; else None."""
    child = node.parent if isinstance(node, exp.Identifier) else node
    if child is None or isinstance(child, exp.Identifier):
        return None
    parent = child.parent
    while isinstance(parent, exp.Cast):
        child, parent = parent, parent.parent
    if not isinstance(parent, exp.GenerateSeries) or not parent.args.get("is_end_exclusive"):
        return None
    role = "start" if name == f"{_OWN}start__" else "end" if name == f"{_OWN}end__" else ""
    return parent if role and parent.args.get(role) is child else None


_UNITS = {
    "MICROSECOND": timedelta(microseconds=1),
    "MILLISECOND": timedelta(milliseconds=1),
    "SECOND": timedelta(seconds=1),
    "MINUTE": timedelta(minutes=1),
    "HOUR": timedelta(hours=1),
    "DAY": timedelta(days=1),
}


def _fixed_step(step: exp.Expr | None) -> timedelta | None:
    """``INTERVAL n unit`` (``INTERVAL '1 hour'``) of a fixed length, else None."""
    if not isinstance(step, exp.Interval):
        return None
    text = str(step.this.this if step.this is not None else "").strip()
    unit = step.args.get("unit")
    parts = text.split()
    if unit is None and len(parts) == 2:
        text, unit_name = parts
    else:
        unit_name = str(unit.this if unit is not None else "")
    size = _UNITS.get(unit_name.upper().rstrip("S"))
    try:
        count = int(text)
    except ValueError:
        return None
    return size * count if size is not None and count > 0 else None


def _generated_columns(series: exp.GenerateSeries) -> set[str]:
    """The names the FROM clause gives the generator's column (``range(...) AS t(ts)``)."""
    table = series.parent
    alias = table.args.get("alias") if isinstance(table, exp.Table) else None
    columns = alias.args.get("columns") if alias is not None else None
    return {c.name.lower() for c in columns or ()} or {"range"}


def divides_windows(
    steps: Sequence[timedelta], windows: Sequence[tuple[datetime, datetime]]
) -> bool:
    """Whether each step divides the length of each window (and they follow each other)."""
    if any(a[1] != b[0] for a, b in zip(windows, windows[1:])):
        return False
    return all((hi - lo) % step == timedelta(0) for step in steps for lo, hi in windows)


def _strip(node: exp.Expr) -> exp.Expr:
    while isinstance(node, (exp.Cast, exp.Paren)):
        node = node.this
    return node


def _windowed_sources(query: exp.Select, ctes: dict[str, exp.Expr]) -> int:
    """How many of the sources ``query`` joins are filtered by the window (see
    :func:`_windowed_aliases`); a bounded column without a table name counts as one more,
    since it may be any source's."""
    if not query.args.get("joins"):
        return 0
    aliases, loose = _windowed_aliases(query, ctes)
    return len(aliases) + loose


def _windowed_aliases(query: exp.Select, ctes: dict[str, exp.Expr]) -> tuple[set[str], bool]:
    """The names (aliases) of the sources of ``query``'s FROM and JOINs that the window
    filters: a source holding a placeholder (a pushed-down scan, a ``range`` over the
    window, a derived table), a CTE that does, or one whose columns the query's WHERE
    bounds by a placeholder; and whether the WHERE bounds a column without a table name."""
    origin = query.args.get("from_")
    if origin is None:
        return set(), False
    bounded: set[str] = set()
    where = query.args.get("where")
    for node in where.find_all(exp.GTE, exp.GT, exp.LT, exp.LTE) if where is not None else ():
        sides = [_strip(node.this), _strip(node.expression)]
        if any(_is_placeholder(side) for side in sides):
            bounded |= {
                s.table.lower()
                for s in sides
                if isinstance(s, exp.Column) and not _is_placeholder(s)
            }
    sources = (origin.this, *(join.this for join in query.args.get("joins") or []))
    aliases = {
        source.alias_or_name.lower()
        for source in sources
        if source.alias_or_name.lower() in bounded or _has_window(source, ctes, set())
    }
    if "" in bounded and len(sources) == 1:  # an unqualified bound of the only source
        aliases.add(sources[0].alias_or_name.lower())
    return aliases, "" in bounded and len(sources) > 1


def _has_window(node: exp.Expr, ctes: dict[str, exp.Expr], seen: set[str]) -> bool:
    """Whether ``node`` reads the window: holds a placeholder, or reads a CTE that does."""
    if any(_is_placeholder(_strip(n)) for n in node.find_all(exp.Column, exp.Literal)):
        return True
    for table in node.find_all(exp.Table):
        name = table.name.lower()
        if name in ctes and name not in seen:
            seen.add(name)
            if _has_window(ctes[name], ctes, seen):
                return True
    return False


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
