"""Type checks of one model before it runs: join conditions, UNION branches, contracts.

Given the output types of the models a query reads (DuckDB's binder on zero-row
stand-ins: warehouse/duckdb/typing.py, run by runtime/type_check.py), a join condition
``a.x = b.y`` whose sides are of different kinds (a number against text, a date against a
number, ...) is an error at the condition, and so is a ``UNION`` whose branches give one
column values of different kinds: DuckDB would cast them silently (``1 = '1'`` is true,
a number unioned with text becomes text) and fail, or succeed wrongly, on the data. Only
columns whose type is known are compared: a column read from an upstream (through CTEs
and subqueries, as a copy or a cast), a cast, a literal. An enforced contract's declared
``data_type`` must be the type the query produces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from teal.compiler.column_nodes import col_of
from teal.compiler.columns import Qualified, _Tables, qualify
from teal.compiler.declared import canonical_type
from teal.compiler.errors import LineageError, TealError
from teal.compiler.templating import Rendered

if TYPE_CHECKING:
    from teal.compiler.project import Model

# upstream key -> column (lower case) -> DuckDB type
Types = Mapping[str, Mapping[str, str]]

_KINDS = (
    ("number", re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*)$")),
    ("text", re.compile(r"^(VARCHAR.*|TEXT|STRING)$")),
    ("date or time", re.compile(r"^(DATE|TIME.*|TIMESTAMP.*|INTERVAL)$")),
    ("boolean", re.compile(r"^BOOL(EAN)?$")),
)


# a TypeMismatch as plain values, as caches and forked children pass it
MismatchRow = tuple[str, str, int | None, int | None, str]  # message, hint, line, col, written


class TypeMismatch(NamedTuple):
    """A comparison or a UNION mixing kinds of values, at a position of the rendered SQL."""

    message: str
    hint: str
    line: int | None
    col: int | None
    written: str  # the text at the position, to find it again in the model's file


def kind_of(type_name: str | None) -> str | None:
    """``BIGINT`` -> ``number``; None for types not compared (lists, structs, unknown)."""
    if not type_name:
        return None
    text = canonical_type(type_name)
    return next((kind for kind, pattern in _KINDS if pattern.match(text)), None)


def type_mismatches(
    query: exp.Query,
    resolve_table: Callable[[exp.Table], str | None],
    types: Types,
    sql: str | None = None,
) -> list[TypeMismatch]:
    """Join conditions and UNIONs of ``query`` (parsed from ``sql`` for this call) that
    mix kinds."""
    schemas = {key: tuple(cols) for key, cols in types.items()}
    return qualified_mismatches(qualify(query, resolve_table, schemas), types, sql)


def qualified_mismatches(
    query: Qualified, types: Types, sql: str | None = None
) -> list[TypeMismatch]:
    """:func:`type_mismatches` of a query columns.qualify qualified against ``types``'
    column names (a lineage trace qualifies it so when its upstreams' names are those)."""
    if query.note or query.root is None:  # sqlglot could not qualify it: nothing to say
        return []
    checker = _Checker(query.tables, types, query.root, sql)
    return checker.joins() + checker.unions()


class _Checker:
    def __init__(self, tables: _Tables, types: Types, root: Scope, sql: str | None) -> None:
        self.sql = sql  # the text parsed, for positions
        self.tables = tables
        self.types = types
        self.root = root
        self.scopes = {id(s.expression): s for s in root.traverse()}

    def type_of(self, scope: Scope, node: exp.Expr, depth: int = 0) -> str | None:
        if depth > 20:
            return None
        node = node.unalias()
        if isinstance(node, exp.Cast):
            return node.to.sql("duckdb").upper()
        if isinstance(node, exp.Literal):
            return _literal_type(node)
        if not isinstance(node, exp.Column) or not node.table:
            return None
        source = scope.sources.get(node.table) or scope.sources.get(node.table.lower())
        name = node.name.lower()
        if isinstance(source, exp.Table):
            index = self.tables.upstream(source)
            if index is None:
                return None
            return self.types.get(self.tables.keys[index], {}).get(name)
        if isinstance(source, Scope):
            select = source.expression
            while isinstance(select, exp.SetOperation):
                select = select.this
            if not isinstance(select, exp.Select):
                return None
            inner = self.scopes.get(id(select), source)
            for item in select.selects:
                if item.alias_or_name.lower() == name:
                    return self.type_of(inner, item, depth + 1)
        return None

    def joins(self) -> list[TypeMismatch]:
        out = []
        for scope in self.root.traverse():
            for join in scope.expression.args.get("joins") or ():
                on = join.args.get("on")
                if on is None:
                    continue
                for eq in on.find_all(exp.EQ):
                    left, right = eq.this, eq.expression
                    if not isinstance(left, exp.Column) or not isinstance(right, exp.Column):
                        continue
                    lt, rt = self.type_of(scope, left), self.type_of(scope, right)
                    lk, rk = kind_of(lt), kind_of(rt)
                    if lk is None or rk is None or lk == rk:
                        continue
                    out.append(
                        _at(
                            left,
                            f"join condition compares {left.sql('duckdb')} ({lt}, a {lk}) "
                            f"with {right.sql('duckdb')} ({rt}, a {rk})",
                            f"cast one side ({right.sql('duckdb')}::{lt}), or join on the "
                            "column that holds the same values",
                            self.sql,
                        )
                    )
        return out

    def unions(self) -> list[TypeMismatch]:
        out = []
        for scope in self.root.traverse():
            node = scope.expression
            if not isinstance(node, exp.SetOperation) or node.args.get("by_name"):
                continue
            if isinstance(node.parent, exp.SetOperation):
                continue  # checked with the outermost set operation
            branches = _branches(node)
            first = branches[0]
            first_scope = self.scopes.get(id(first), scope)
            for index, item in enumerate(first.selects):
                want = self.type_of(first_scope, item)
                want_kind = kind_of(want)
                if want_kind is None:
                    continue
                for branch in branches[1:]:
                    if index >= len(branch.selects):
                        continue
                    other = branch.selects[index]
                    got = self.type_of(self.scopes.get(id(branch), scope), other)
                    got_kind = kind_of(got)
                    if got_kind is None or got_kind == want_kind:
                        continue
                    name = item.alias_or_name
                    out.append(
                        _at(
                            other,
                            f"UNION branches disagree on column {index + 1} ({name}): "
                            f"{want} (a {want_kind}) in the first branch, {got} "
                            f"(a {got_kind}) here",
                            f"cast it so that every branch gives the same type "
                            f"({other.unalias().sql('duckdb')}::{want})",
                            self.sql,
                        )
                    )
        return out


def _literal_type(node: exp.Literal) -> str:
    """DuckDB's type of a literal: ``'a'`` VARCHAR, ``1`` INTEGER, ``1.5`` DECIMAL."""
    if node.is_string:
        return "VARCHAR"
    if node.is_int:
        return "INTEGER" if abs(int(node.this)) < 2**31 else "BIGINT"
    return "DECIMAL"


def _branches(node: exp.Expr) -> list[exp.Select]:
    if isinstance(node, exp.SetOperation):
        return _branches(node.this) + _branches(node.expression)
    if isinstance(node, exp.Subquery):
        return _branches(node.this)
    return [node] if isinstance(node, exp.Select) else []


def _at(node: exp.Expr, message: str, hint: str, sql: str | None) -> TypeMismatch:
    # the first name in it, else its first literal (a branch's `'a'` or `0`)
    first: exp.Identifier | exp.Literal | None = next(
        (n for n in node.walk() if isinstance(n, exp.Identifier) and n.meta), None
    )
    if first is None:
        first = next((n for n in node.walk() if isinstance(n, exp.Literal) and n.meta), None)
    meta = first.meta if first is not None else {}
    col = col_of(first) if first is not None and meta.get("start") is not None else None
    if isinstance(first, exp.Literal):
        written = first.sql("duckdb")
    else:
        written = first.name if first else ""
    table = node.args.get("table") if isinstance(node, exp.Column) else None
    start = meta.get("start")
    if col is not None and table is not None and start is not None and sql is not None:
        prefix = f"{table.name}."  # written qualified: point at the qualifier
        begin = start - len(prefix)
        if begin >= 0 and sql[begin:start].lower() == prefix.lower():
            col, written = col - len(prefix), prefix + written
    return TypeMismatch(message, hint, meta.get("line"), col, written)


def mismatch_error(model: Model, mismatch: TypeMismatch) -> LineageError:
    """The located error of a mismatch, moved from the rendered SQL to the model's file."""
    line, col = mismatch.line, mismatch.col
    source = model.raw_sql or model.rendered_sql or ""
    if line is not None and model.rendered_sql is not None:
        rendered = Rendered(sql=model.rendered_sql, source=source)
        out_lines = model.rendered_sql.splitlines()
        src_lines = source.splitlines()
        new_line = rendered.line_of(line)
        if out_lines[line - 1 : line] != src_lines[new_line - 1 : new_line]:
            text = src_lines[new_line - 1] if 0 < new_line <= len(src_lines) else ""
            hit = re.search(rf"(?<!\w){re.escape(mismatch.written)}(?!\w)", text, re.IGNORECASE)
            col = hit.start() + 1 if hit else None
        line = new_line
    lines = source.splitlines()
    return LineageError(
        mismatch.message,
        path=model.display_path,
        line=line,
        col=col,
        source_line=lines[line - 1] if line and 0 < line <= len(lines) else None,
        hint=mismatch.hint,
    )


def contract_type_errors(model: Model, produced: Mapping[str, str]) -> list[TealError]:
    """Declared ``data_type``s of an enforced contract that the query does not produce
    (``produced``: column, lower case -> DuckDB type), at the YAML line."""
    out: list[TealError] = []
    for column in model.declared:
        got = produced.get(column.name.lower())
        if column.data_type is None or got is None:
            continue
        if canonical_type(got) == canonical_type(column.data_type):
            continue
        out.append(
            LineageError(
                f"{model.name}.{column.name} is {got}, but its enforced contract declares "
                f"{column.data_type}",
                path=column.path,
                line=column.line,
                hint=f"cast it in the query ({column.name}::{column.data_type}), or change "
                "data_type in the YAML",
            )
        )
    return out
