"""Column lineage of one SQL query: where each output column's value comes from.

For every output column, the upstream columns it depends on, each with the kind of edge:

- ``copy``: the same value (``select o.amount``, through CTEs, subqueries and aliases);
- ``transform``: an expression of it (arithmetic, ``CASE``, casts, struct access, a
  window function's argument or ordering);
- ``aggregate``: it passes through an aggregate function (``sum(amount)``, also over a
  window);
- ``join``: it is in a join condition (``ON`` or ``USING``) on the column's way;
- ``filter``: it decides which rows or groups come out (``WHERE``, ``HAVING``,
  ``QUALIFY``, ``GROUP BY``, an aggregate's ``FILTER``, a subquery in one of those).

The query is first qualified by sqlglot's ``qualify`` (it expands ``*`` and ``* exclude``
against the upstream schemas it is given, expands ``USING`` and references to select
aliases, and qualifies columns), then walked scope by scope (sqlglot's ``build_scope``):
each column is traced to the table or the CTE/subquery it reads, and through a CTE or
subquery to what that reads, until a physical table (an upstream model or source).

Upstreams whose columns are unknown (a Python asset without a declared schema, a
warehouse source) are given to ``qualify`` as table functions, which it treats as "columns
unknown": an unqualified column then belongs to the one such table of its scope. A ``*``
over one of them stays unexpanded, and the query's columns are unknown. A column that a
known schema does not have is reported as a :class:`MissingColumn` with its position.

>>> from teal.compiler.sql import parse_sql
>>> q = parse_sql("select o.id, sum(o.amount) as total from o where o.ok group by o.id",
...               path="m.sql")
>>> found = trace_columns(q, lambda t: t.name, {"o": ("id", "amount", "ok")})
>>> [(c.name, [f"{e.kind}:{e.column}" for e in c.edges]) for c in found.columns]
[('id', ['copy:id', 'filter:ok']), ('total', ['aggregate:amount', 'filter:id', 'filter:ok'])]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

# This module is imported only when lineage is asked for (compiler/column_lineage.py), never
# while a project loads or builds, so it may import sqlglot at the top.
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify_columns import qualify_columns
from sqlglot.optimizer.scope import Scope, build_scope

from teal.compiler.column_nodes import (
    clause_of,
    col_of,
    is_using_key,
    named_by_author,
    select_names,
    skip,
    value_kind,
    walk_scope,
)
from teal.compiler.column_types import (
    KINDS,
    ROW_KINDS,
    ColumnLineage,
    Edge,
    MissingColumn,
    QueryColumns,
    Schemas,
)

_RANK = {kind: i for i, kind in enumerate(KINDS)}
# names of upstream tables inside the qualified tree: the index into ``_Tables.keys``
_UPSTREAM = "__teal_up_"


def trace_columns(
    query: exp.Query,
    resolve_table: Callable[[exp.Table], str | None],
    schemas: Schemas,
    *,
    lineage: bool = True,
) -> QueryColumns:
    """The lineage of each output column of ``query``, which is qualified in place (parse
    it for this call).

    ``resolve_table`` names the upstream a table node reads (a model name or
    "source.table"), or None; ``schemas`` gives each upstream's columns, None when unknown.
    ``lineage=False`` only binds: the output names and every missing column, with no
    edges (what a build checks; tracing the edges is about half the cost).
    """
    return trace_qualified(qualify(query, resolve_table, schemas), lineage=lineage)


class Qualified(NamedTuple):
    """A query qualified for tracing: its upstreams renamed, its columns qualified."""

    tables: _Tables
    root: Scope | None  # None: not a query teal can trace
    lambdas: bool  # it has a lambda, whose parameters are not columns
    note: str  # why sqlglot could not qualify it ("": it could)


def qualify(
    query: exp.Query, resolve_table: Callable[[exp.Table], str | None], schemas: Schemas
) -> Qualified:
    """``query`` qualified in place, as :func:`trace_columns` and the type checks of
    compiler/column_type_checks.py read it; qualify once for both."""
    tables = _Tables(query, resolve_table, schemas)
    # qualify's steps minus qualify_tables (_Tables aliased every upstream) and quoting
    normalize_identifiers(query, dialect="duckdb")
    try:
        qualified = qualify_columns(
            query, tables.schema, allow_partial_qualification=True, dialect="duckdb"
        )
        note = ""
    except OptimizeError as exc:  # traced as far as it got: some stars stay unexpanded
        qualified = query
        note = f"sqlglot could not qualify the query ({exc})"
    root = build_scope(qualified)
    return Qualified(tables, root, qualified.find(exp.Lambda) is not None, note)


def trace_qualified(query: Qualified, *, lineage: bool = True) -> QueryColumns:
    """:func:`trace_columns` of a query :func:`qualify` qualified (reads the tree only)."""
    root, note = query.root, query.note
    if root is None:
        return QueryColumns(None, (), "not a query teal can trace")
    tracer = _Tracer(query.tables, query.lambdas, lineage)
    columns = tracer.outputs(root)
    tracer.check_all(root)
    missing = tuple(sorted(tracer.missing.values(), key=lambda m: (m.line or 0, m.col or 0)))
    if columns is None:
        note = note or tracer.star_note
    elif not note and any(not c.resolved for c in columns):
        note = "some columns could not be traced to one table"
    return QueryColumns(columns, missing, note)


class _Tables:
    """The upstream tables of a query, renamed ``__teal_up_<i>`` in the tree, and the
    schema ``qualify`` reads (known upstreams only; unknown ones become table functions)."""

    def __init__(
        self, tree: exp.Expr, resolve_table: Callable[[exp.Table], str | None], schemas: Schemas
    ) -> None:
        self.keys: list[str] = []
        self.columns: list[tuple[str, ...] | None] = []
        self.schema: dict[str, object] = {}  # qualify's shape: {table: {column: type}}
        derived = 0
        for table in list(tree.find_all(exp.Table, exp.Subquery)):
            if isinstance(table, exp.Subquery):
                if not table.alias and isinstance(table.parent, exp.From | exp.Join):
                    derived += 1  # named as qualify_tables would: columns need a table
                    table.set("alias", exp.TableAlias(this=exp.to_identifier(f"_q_{derived}")))
                continue
            if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
                continue  # a table function: read_parquet(...), range(10)
            key = resolve_table(table)
            if key is None:
                continue  # a CTE, or something teal does not resolve
            index = len(self.keys)
            known = schemas.get(key)
            self.keys.append(key)
            self.columns.append(None if known is None else tuple(c.lower() for c in known))
            name = f"{_UPSTREAM}{index}"
            alias = table.alias or table.name
            node: exp.Expr = exp.to_identifier(name)
            if known is None:
                node = exp.Anonymous(this=name)
            else:
                self.schema[name] = {c.lower(): "UNKNOWN" for c in known}
            table.set("this", node)
            table.set("db", None)
            table.set("catalog", None)
            table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))

    def upstream(self, table: exp.Table) -> int | None:
        """The index of the upstream a (renamed) table node reads, or None."""
        name = table.this.name if table.this is not None else ""
        if name.lower().startswith(_UPSTREAM):
            return int(name[len(_UPSTREAM) :])
        return None


def _function_key(function: exp.Expr) -> str:
    """How lineage names a table function: a file reader by its file alone
    (``read_csv('seeds/orders.csv')``, not its options), anything else as written."""
    if not isinstance(function, exp.Func):
        return function.sql("duckdb")
    name = function.name if isinstance(function, exp.Anonymous) else function.sql_name()
    if name.lower().startswith("read_"):
        path = next((a for a in function.find_all(exp.Literal) if a.is_string), None)
        if path is not None:
            return f"{name.lower()}({path.sql('duckdb')})"
    return function.sql("duckdb")


class _Trace(NamedTuple):
    edges: dict[tuple[str, str], str]  # (table, column) -> kind
    resolved: bool


class _Tracer:
    """Traces columns through the scopes of one qualified query, memoized per scope."""

    def __init__(self, tables: _Tables, lambdas: bool, lineage: bool) -> None:
        self.tables = tables
        self.lambdas = lambdas
        self.lineage = lineage  # False: bind names only, trace no edges
        self.missing: dict[int, MissingColumn] = {}  # by id of the column node
        self.star_note = ""
        self._memo: dict[tuple[int, int], _Trace] = {}
        self._rows: dict[int, _Trace] = {}
        self._names: dict[int, tuple[str, ...] | None] = {}

    def skip(self, column: exp.Column) -> bool:
        return skip(column, self.lambdas)

    def names(self, scope: Scope) -> tuple[str, ...] | None:
        """The output names of a scope (memoized: asked for every column it is read by)."""
        key = id(scope)
        if key not in self._names:
            self._names[key] = select_names(scope)
        return self._names[key]

    # -- the query's outputs --------------------------------------------------------------
    def outputs(self, root: Scope) -> tuple[ColumnLineage, ...] | None:
        names = self.names(root)
        if names is None:
            self.star_note = "a '*' reads a table whose columns are unknown"
            return None
        if not self.lineage:
            return tuple(ColumnLineage(name, (), True) for name in names)
        out = []
        for index, name in enumerate(names):
            trace = self.output(root, index)
            edges = tuple(
                Edge(kind, table, column) for (table, column), kind in sorted(trace.edges.items())
            )
            named = named_by_author(root, index)
            out.append(ColumnLineage(name, edges, trace.resolved and named))
        return tuple(out)

    def output(self, scope: Scope, index: int) -> _Trace:
        """The trace of output ``index`` of ``scope``: its value and the rows around it."""
        key = (id(scope), index)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = _Trace({}, True)  # a recursive CTE reaching itself adds nothing
        if scope.set_operation_scopes:
            edges: dict[tuple[str, str], str] = {}
            resolved = True
            names = self.names(scope) or ()
            by_name = bool(scope.expression.args.get("by_name"))
            for branch in scope.set_operation_scopes:
                at: int | None = index
                if by_name:  # UNION BY NAME: each branch's column of the same name
                    own = self.names(branch) or ()
                    wanted = names[index] if index < len(names) else ""
                    at = own.index(wanted) if wanted in own else None
                if at is None:
                    continue
                part = self.output(branch, at)
                _merge(edges, part.edges)
                resolved = resolved and part.resolved
            trace = _Trace(edges, resolved)
        else:
            selects = scope.expression.selects if isinstance(scope.expression, exp.Query) else []
            if index >= len(selects):
                trace = _Trace({}, False)
            else:
                value = self.expression(scope, selects[index])
                rows = self.rows(scope)
                edges = dict(value.edges)
                _merge(edges, rows.edges)
                trace = _Trace(edges, value.resolved and rows.resolved)
        self._memo[key] = trace
        return trace

    def rows(self, scope: Scope) -> _Trace:
        """What decides which rows of ``scope`` come out: its joins, filters and groups."""
        if id(scope) in self._rows:
            return self._rows[id(scope)]
        edges: dict[tuple[str, str], str] = {}
        resolved = True
        for column, clause in self._columns_by_clause(scope):
            kind = _ROW_CLAUSES.get(clause)
            if kind is None:
                continue
            part = self.column(scope, column)
            _merge(edges, {k: kind for k in part.edges})
            resolved = resolved and part.resolved
        group = scope.expression.args.get("group")
        if isinstance(group, exp.Group) and group.args.get("all"):
            # GROUP BY ALL: the keys are the selects that aggregate nothing
            assert isinstance(scope.expression, exp.Select)  # only a SELECT has a GROUP BY
            for select in scope.expression.selects:
                if select.find(exp.AggFunc) is None:
                    part = self.expression(scope, select)
                    _merge(edges, {k: "filter" for k in part.edges})
                    resolved = resolved and part.resolved
        for sub in scope.subquery_scopes:
            kind = _ROW_CLAUSES.get(clause_of(sub.expression, scope.expression) or "")
            if kind is None:
                continue
            part = self.whole(sub)
            _merge(edges, {k: kind for k in part.edges})
            resolved = resolved and part.resolved
        trace = _Trace(edges, resolved)
        self._rows[id(scope)] = trace
        return trace

    def whole(self, scope: Scope) -> _Trace:
        """Every output of a subquery scope together (``x in (select ...)``, scalars)."""
        edges: dict[tuple[str, str], str] = {}
        resolved = True
        names = self.names(scope)
        for index in range(len(names) if names is not None else 0):
            part = self.output(scope, index)
            _merge(edges, part.edges)
            resolved = resolved and part.resolved
        return _Trace(edges, resolved and names is not None)

    # -- one select expression ------------------------------------------------------------
    def expression(self, scope: Scope, select: exp.Expr) -> _Trace:
        edges: dict[tuple[str, str], str] = {}
        resolved = True
        body = select.unalias()
        if is_using_key(body):  # USING (id) expanded by qualify: COALESCE(a.id, b.id)
            for i, column in enumerate(body.iter_expressions()):
                assert isinstance(column, exp.Column)
                part = self.column(scope, column)
                _merge(edges, _compose("copy" if i == 0 else "join", part.edges))
                resolved = resolved and part.resolved
            return _Trace(edges, resolved)
        subqueries = {id(s.expression): s for s in scope.subquery_scopes}
        for node in walk_scope(select):
            if isinstance(node, exp.Column):
                if self.skip(node):
                    continue
                kind = value_kind(node, body)
                part = self.column(scope, node)
                _merge(edges, _compose(kind, part.edges))
                resolved = resolved and part.resolved
            elif id(node.unnest()) in subqueries:  # a scalar subquery
                part = self.whole(subqueries[id(node.unnest())])
                _merge(edges, _compose("transform", part.edges))
                resolved = resolved and part.resolved
        return _Trace(edges, resolved)

    # -- one column reference -------------------------------------------------------------
    def column(self, scope: Scope, column: exp.Column) -> _Trace:
        """Where the column reference ``column`` of ``scope`` reads its value."""
        name = column.name.lower()
        found = self._source(scope, column)
        if found is None:
            return _Trace({}, False)
        alias, source = found
        if isinstance(source, Scope):
            names = self.names(source)
            if names is None:
                return _Trace({}, False)
            if name not in names:
                self._missing(column, alias, "", names)
                return _Trace({}, False)
            if not self.lineage:
                return _Trace({}, True)
            return self.output(source, names.index(name))
        if isinstance(source, exp.Table):
            index = self.tables.upstream(source)
            if index is None:  # a table function: read_csv(...), range(...)
                return _Trace({(_function_key(source.this), name): "copy"}, True)
            known = self.tables.columns[index]
            key = self.tables.keys[index]
            if known is not None and name not in known:
                self._missing(column, alias, key, known)
                return _Trace({}, False)
            return _Trace({(key, name): "copy"}, True)
        return _Trace({}, True)  # VALUES, UNNEST, ...: constants of the query itself

    def _source(self, scope: Scope, column: exp.Column) -> tuple[str, object] | None:
        """(alias, source) a column reads: its table's, or the one that can have it."""
        table = column.table.lower()
        walk: Scope | None = scope
        while walk is not None:
            if table:
                if table in walk.sources:
                    return table, walk.sources[table]
                for alias, source in walk.sources.items():
                    if alias.lower() == table:  # a quoted alias keeps its case
                        return alias, source
            else:
                hit = self._unqualified(walk, column)
                if hit is not None:
                    return hit
            walk = walk.parent if walk.can_be_correlated else None
        if table:
            return None
        # an unqualified name no source of a fully known scope has
        sources = scope.selected_sources
        known = [self._source_names(source) for _, source in sources.values()]
        if sources and all(n is not None for n in known):
            pool = sorted({c for names in known for c in names or ()})
            alias, key = "", ""
            if len(sources) == 1:  # say which table: the only one it reads
                alias, (_, only) = next(iter(sources.items()))
                index = self.tables.upstream(only) if isinstance(only, exp.Table) else None
                key = "" if index is None else self.tables.keys[index]
                pool = list(known[0] or ())
            self._missing(column, alias, key, tuple(pool))
        return None

    def _unqualified(self, scope: Scope, column: exp.Column) -> tuple[str, object] | None:
        name = column.name.lower()
        sources = scope.selected_sources
        having: list[tuple[str, object]] = []
        unknown: list[tuple[str, object]] = []
        for alias, (_, source) in sources.items():
            names = self._source_names(source)
            if names is None:
                unknown.append((alias, source))
            elif name in names:
                having.append((alias, source))
        if len(having) == 1:
            return having[0]
        if not having and len(unknown) == 1:
            return unknown[0]
        return None

    def _source_names(self, source: object) -> tuple[str, ...] | None:
        """The column names a source has, None when unknown."""
        if isinstance(source, Scope):
            return self.names(source)
        if isinstance(source, exp.Table):
            index = self.tables.upstream(source)
            return None if index is None else self.tables.columns[index]
        return None

    def _missing(
        self, column: exp.Column, alias: str, key: str, names: tuple[str, ...] | list[str]
    ) -> None:
        first = column.args.get("table") or column.this
        meta = first.meta
        self.missing[id(column)] = MissingColumn(
            column=column.name,
            table=alias,
            upstream=key,
            line=meta.get("line"),
            col=None if meta.get("start") is None else col_of(first),
            candidates=tuple(names),
        )

    # -- checking every reference ---------------------------------------------------------
    def check_all(self, root: Scope) -> None:
        """Resolve every column reference of every scope, so that a missing column is
        reported even where no output column reads it (an ORDER BY, an unused CTE)."""
        for scope in root.traverse():
            for column in scope.columns:
                if not self.skip(column) and id(column) not in self.missing:
                    self.column(scope, column)

    def _columns_by_clause(self, scope: Scope) -> Iterator[tuple[exp.Column, str]]:
        for column in scope.columns:
            if self.skip(column):
                continue
            clause = clause_of(column, scope.expression)
            if clause is not None:
                yield column, clause


# which clause of a SELECT decides rows, and the kind of edge its columns get
_ROW_CLAUSES = {
    "where": "filter",
    "having": "filter",
    "qualify": "filter",
    "group": "filter",
    "joins": "join",
}


def _compose(outer: str, inner: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """The edges of a column read as ``outer`` from a column whose own edges are ``inner``."""
    out = {}
    for key, kind in inner.items():
        if outer in ROW_KINDS:
            out[key] = outer
        elif kind in ROW_KINDS or outer == "copy":
            out[key] = kind
        elif "aggregate" in (outer, kind):
            out[key] = "aggregate"
        else:
            out[key] = "transform"
    return out


def _merge(into: dict[tuple[str, str], str], edges: Mapping[tuple[str, str], str]) -> None:
    for key, kind in edges.items():
        have = into.get(key)
        if have is None or _RANK[kind] < _RANK[have]:
            into[key] = kind
