"""Tracing models' columns: one model in line, or many ahead on both cores.

**One model.** :func:`trace_model` parses a SQL model's rendered SQL (or takes the tree its
cold load left), qualifies it against its upstreams' columns (compiler/columns.py) and
traces every output column. A type check given as ``check`` (runtime/type_check.py) runs
on the same qualified tree: the join and UNION checks need exactly that tree, and
qualifying is most of the cost of a trace, so a compile qualifies each model once.

**Many ahead.** A cold ``teal compile`` traces every model, upstreams first, since a
model's ``*`` expands to what its upstreams were found to have. When DuckDB has bound
every model already (the type check binds first), the names it found stand in for the
traced ones, and the models no longer wait on each other: :func:`trace_ahead` forks a
child that traces the second half of the models the cache does not know while the
parent traces the first half, each model against its upstreams' names as DuckDB bound
them. The lineage pass in build order then takes a result traced ahead only when the
names it was traced against are the names its upstreams were traced to (DuckDB and the
tracer agree on nearly every model; where they do not, the model is traced again in
line), so the graph is the one a serial trace makes. If the child fails, its models are
traced in line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol

from teal.compiler.column_types import ModelColumns, PlainModel, QueryColumns, encode
from teal.compiler.templating import Rendered

if TYPE_CHECKING:
    from sqlglot import exp

    from teal.compiler.column_lineage import _Relations
    from teal.compiler.column_type_checks import MismatchRow
    from teal.compiler.column_types import MissingColumn
    from teal.compiler.columns import Qualified
    from teal.compiler.project import Model
    from teal.compiler.strategy import LoadStrategy

Schemas = Mapping[str, "tuple[str, ...] | None"]
# a type check run on a model's qualified tree: its join and UNION mismatches, or None
# when it cannot judge from this tree (the type check then parses the model itself)
TreeCheck = Callable[["Model", Schemas, "Qualified"], "list[MismatchRow] | None"]


class NameHint(Protocol):
    """A model's output names as DuckDB's binder finds them, to trace it ahead with."""

    def __call__(
        self, name: str, upstreams: Mapping[str, tuple[str, ...]]
    ) -> tuple[str, ...] | None:
        """``name``'s output names (lower case), given the names of what it reads that
        DuckDB has no types for (``upstreams``); None when the binder cannot tell."""

    def close(self) -> None:
        """Called once the trace asks no more."""


@dataclass
class TypedTrace:
    """What a lineage trace is given by a type check that bound the models first."""

    check: TreeCheck  # run on each tree the trace qualifies
    hint: NameHint  # the names to trace ahead against
    strategy: LoadStrategy | None  # where it allows a fork, models are traced ahead
    # model -> what ``check`` found on its tree, for the models traced in this pass
    found: dict[str, list[MismatchRow]] = field(default_factory=dict)


class Ahead(NamedTuple):
    """One model traced ahead of the lineage pass."""

    schemas: dict[str, tuple[str, ...] | None]  # the upstreams' names it was traced against
    plain: PlainModel  # what the trace found (column_types.encode)
    checked: list[MismatchRow] | None  # what the tree check found


def trace_safely(
    model: Model,
    relations: _Relations,
    schemas: Schemas,
    lineage: bool = True,
    check: TreeCheck | None = None,
) -> tuple[ModelColumns, list[MismatchRow] | None]:
    """:func:`trace_model`, or unknown columns with the reason when the tracer fails on a
    query DuckDB may well run (a shape sqlglot cannot qualify): lineage is an addition,
    never a reason for a compile to fail."""
    try:
        return trace_model(model, relations, schemas, lineage, check)
    except Exception as exc:  # noqa: BLE001 - any tracer failure is reported, not raised
        return ModelColumns(model.name, None, (), f"not traced: {type(exc).__name__}", False), None


def trace_model(
    model: Model,
    relations: _Relations,
    schemas: Schemas,
    lineage: bool = True,
    check: TreeCheck | None = None,
) -> tuple[ModelColumns, list[MismatchRow] | None]:
    """The columns of SQL ``model`` against its upstreams' ``schemas``, and what
    ``check`` found on the qualified tree (None without one)."""
    # the tracer and the parser are imported only when something must be traced
    from teal.compiler.columns import qualify, trace_qualified
    from teal.compiler.sql import parse_sql

    assert model.rendered_sql is not None
    query = _parse_tree(model) or parse_sql(
        model.rendered_sql, path=model.display_path, digest=False
    )
    qualified = qualify(query, lambda t: relations.resolve(t, model), schemas)
    found: QueryColumns = trace_qualified(qualified, lineage=lineage)
    rendered = Rendered(sql=model.rendered_sql, source=model.raw_sql or model.rendered_sql)
    missing = tuple(_in_source(m, rendered) for m in found.missing)
    checked = check(model, schemas, qualified) if check is not None else None
    return ModelColumns(model.name, found.columns, missing, found.note, False), checked


def trace_ahead(
    models: Mapping[str, Model],
    todo: Sequence[tuple[str, dict[str, tuple[str, ...] | None]]],
    relations: _Relations,
    typed: TypedTrace,
) -> dict[str, Ahead]:
    """``todo`` (model names with their upstreams' names as DuckDB bound them) traced,
    the second half by a forked child while this process traces the first; {} where
    forking is not allowed or not worth it (the lineage pass traces them in line)."""
    from teal.compiler.offload import MIN_FILES, ForkedCall

    strategy = typed.strategy
    if strategy is None or len(todo) < MIN_FILES or not strategy.can_fork():
        return {}
    half = len(todo) // 2

    def trace(part: Sequence[tuple[str, dict[str, tuple[str, ...] | None]]]) -> dict[str, Ahead]:
        out = {}
        for name, schemas in part:
            found, checked = trace_safely(models[name], relations, schemas, True, typed.check)
            out[name] = Ahead(schemas, encode(found), checked)
        return out

    child = ForkedCall.start(lambda: trace(todo[half:]), strategy)
    try:
        mine = trace(todo[:half])
    except BaseException:
        if child is not None:
            child.abandon()
        raise
    theirs = child.result() if child is not None else None
    if isinstance(theirs, dict):  # else the child failed: its half is traced in line
        mine.update(theirs)
    return mine


def _parse_tree(model: Model) -> exp.Query | None:
    """The parse tree a cold load left on the model, if it is still the parse of its
    rendered SQL, else None (parse again). A compile that rewrote the tree (an inlined
    ephemeral, a pushed-down filter, a file source's reader) replaced table names with
    new nodes, which carry no position; so does tracing, which qualifies the tree in
    place: nothing reads a model's tree after its load, and a second trace parses anew."""
    from sqlglot import exp

    ast = model.ast
    if ast is None or not isinstance(ast, exp.Query):
        return None
    for table in ast.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or table.this.meta.get("start") is None:
            return None
    return ast


def _in_source(missing: MissingColumn, rendered: Rendered) -> MissingColumn:
    """A missing column's position moved from the rendered SQL to the model's file."""
    if missing.line is None:
        return missing
    line = rendered.line_of(missing.line)
    out_lines, src_lines = rendered.sql.splitlines(), rendered.source.splitlines()
    out_text = out_lines[missing.line - 1] if missing.line <= len(out_lines) else None
    src_text = src_lines[line - 1] if 0 < line <= len(src_lines) else None
    col = missing.col
    if src_text is not None and out_text != src_text:
        written = f"{missing.table}.{missing.column}" if missing.table else missing.column
        hit = re.search(rf"(?<![\w.]){re.escape(written)}(?!\w)", src_text, re.IGNORECASE)
        col = hit.start() + 1 if hit else None
    return missing._replace(line=line, col=col)
