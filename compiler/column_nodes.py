"""What a node of a qualified query tree is, for the column tracer (compiler/columns.py):
the clause it is under, how a column reaches an output value, a scope's output names,
which names are not columns, and where an identifier starts."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

# placeholders teal renders for partitions (``{{ partition.start }}`` unquoted): not columns
PLACEHOLDER = "__teal_"


def clause_of(node: exp.Expr, select: exp.Expr) -> str | None:
    """The argument of ``select`` that ``node`` is under (``where``, ``joins``, ...)."""
    child = node
    parent = node.parent
    while parent is not None and parent is not select:
        child, parent = parent, parent.parent
    return child.arg_key if parent is select else None


def value_kind(column: exp.Column, top: exp.Expr) -> str:
    """How a column inside a select expression reaches the output value."""
    if column is top:
        return "copy"
    kind = "transform"
    node: exp.Expr | None = column
    while node is not None and node is not top:
        parent = node.parent
        if isinstance(parent, exp.Filter) and node.arg_key == "expression":
            return "filter"  # count(*) FILTER (WHERE x): x decides which rows count
        if isinstance(parent, exp.AggFunc | exp.Window) and not in_window_spec(node, parent):
            kind = "aggregate"
        node = parent
    return kind


def in_window_spec(node: exp.Expr, parent: exp.Expr) -> bool:
    """Whether ``node`` is a window's PARTITION BY / ORDER BY (a transform of the row's
    place, not an aggregated value)."""
    return isinstance(parent, exp.Window) and node.arg_key in ("partition_by", "order")


def select_names(scope: Scope) -> tuple[str, ...] | None:
    """Lower-case output names of a scope's query, None while a ``*`` is unexpanded."""
    expression = scope.expression
    while isinstance(expression, exp.SetOperation):
        expression = expression.this  # a set operation is named by its first query
    if not isinstance(expression, exp.Select):
        return None if not isinstance(expression, exp.Query) else tuple()
    names = []
    for select in expression.selects:
        if isinstance(select, exp.Star) or (
            isinstance(select, exp.Column) and isinstance(select.this, exp.Star)
        ):
            return None
        names.append(select.alias_or_name.lower())
    return tuple(names)


def named_by_author(scope: Scope, index: int) -> bool:
    """Whether output ``index`` has a name the author wrote (or a column's): DuckDB names
    an unnamed expression after its text (``count_star()``), and ``qualify`` calls it
    ``_col_<n>``, so the name downstream models use is not known here."""
    expression = scope.expression
    while isinstance(expression, exp.SetOperation):
        expression = expression.this
    if not isinstance(expression, exp.Query):
        return True
    select = expression.selects[index]
    if not isinstance(select, exp.Alias) or isinstance(select.this, exp.Column | exp.Dot):
        return True
    alias = select.args.get("alias")
    return alias is not None and bool(alias.meta)


def walk_scope(node: exp.Expr) -> Iterator[exp.Expr]:
    """``node`` and its descendants, not entering nested queries (other scopes), but
    yielding each nested query's node itself."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and isinstance(current, exp.Query):
            continue
        stack.extend(current.iter_expressions())


def skip(column: exp.Column, lambdas: bool) -> bool:
    """Names that look like columns but are not: ``*``, lambda parameters (``lambdas``: the
    query has any), placeholders."""
    if isinstance(column.this, exp.Star):
        return True
    name = column.name
    if name.startswith(PLACEHOLDER):
        return True
    if lambdas and not column.table:
        lam = column.find_ancestor(exp.Lambda)
        while lam is not None:
            if any(p.name == name for p in lam.expressions):
                return True
            lam = lam.find_ancestor(exp.Lambda)
    return False


def is_using_key(node: exp.Expr) -> bool:
    """A ``COALESCE`` that ``qualify`` wrote for a ``USING`` key (no position: not the
    author's) over the same column of each side."""
    if not isinstance(node, exp.Coalesce) or node.meta:
        return False
    parts = list(node.iter_expressions())
    return (
        len(parts) > 1
        and all(isinstance(p, exp.Column) and not p.this.meta for p in parts)
        and len({p.name.lower() for p in parts}) == 1
    )


def col_of(identifier: exp.Expr) -> int | None:
    """The 1-based column where an identifier starts (sqlglot records where it ends)."""
    meta = identifier.meta
    end_col = meta.get("col")
    start, end = meta.get("start"), meta.get("end")
    if end_col is None or start is None or end is None:
        return None
    return max(end_col - (end - start), 1)
