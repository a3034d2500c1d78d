"""Tracing models' columns: one model in line, or a project's on both cores.

**One model.** :func:`trace_model` parses a SQL model's rendered SQL (or takes the tree its
cold load left), qualifies it against its upstreams' columns (compiler/columns.py) and
traces every output column. A type check given as ``check`` (runtime/type_check.py) runs
on the same qualified tree: the join and UNION checks need exactly that tree, and
qualifying is most of the cost of a trace, so a compile qualifies each model once.

**A project on both cores.** A cold ``teal compile`` types every model with DuckDB and
traces every model, upstreams first, since a model's ``*`` expands to what its upstreams
were found to have. :class:`Tracing` forks a child that types the models and then traces
from the last model backwards, each against its upstreams' names as DuckDB bound them
(or as its select list names them), while the parent traces from the first model
forwards, exactly, as a serial trace does. The two meet where they meet (typing costs
more or less depending on what the run store knows). The parent then takes the child's
results in build order, each only if the names it was traced against are the names its
upstreams were traced to (DuckDB and the tracer agree on nearly every model; where they
do not, the model is traced again), so the lineage is always the serial one. If the
child fails, the parent types and traces its part in line.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol

from teal.compiler.column_types import ModelColumns, PlainModel, QueryColumns, decode, encode
from teal.compiler.errors import source_col
from teal.compiler.templating import Rendered

if TYPE_CHECKING:
    from sqlglot import exp

    from teal.compiler.column_type_checks import MismatchRow
    from teal.compiler.column_types import MissingColumn
    from teal.compiler.columns import Qualified
    from teal.compiler.offload import ForkedCall
    from teal.compiler.project import Model
    from teal.compiler.strategy import LoadStrategy
    from teal.compiler.table_keys import TableKeys

Schemas = Mapping[str, "tuple[str, ...] | None"]
Predicted = dict[str, dict[str, "tuple[str, ...] | None"]]  # model -> its upstreams' names
# a check run on a model's qualified tree: its join and UNION mismatches, or None
TreeCheck = Callable[["Model", Schemas, "Qualified"], "list[MismatchRow] | None"]


class TypeCheck(Protocol):
    """A type check a lineage trace runs beside it (runtime/type_check.TypeErrors): it
    types the models with DuckDB first, in the trace's child where there is one."""

    def bind(self) -> object:
        """Type the models here and now; what to send to a parent process (picklable)."""

    def adopt(self, bound: object) -> None:
        """Take what :meth:`bind` returned in a child instead of binding here."""

    def names(self, name: str, upstreams: Mapping[str, tuple[str, ...]]) -> tuple[str, ...] | None:
        """``name``'s output names (lower case) as DuckDB bound them, given the names of
        what it reads that has no types (``upstreams``); None: unknown. After a bind."""

    def wants(self, model: Model) -> bool:
        """Whether :meth:`check` may find anything in ``model`` (before a bind: a tree it
        does not want is not kept until the types come)."""

    def check(self, model: Model, schemas: Schemas, query: Qualified) -> list[MismatchRow] | None:
        """The join and UNION mismatches on the tree the trace qualified against
        ``schemas``, or None when it cannot judge from this tree. After a bind."""

    def close(self) -> None:
        """Release what :meth:`bind` opened."""


@dataclass
class TypedTrace:
    """What a lineage trace is given by a type check, and what it finds with it."""

    check: TypeCheck
    strategy: LoadStrategy | None  # where it allows a fork, the trace uses both cores
    # model -> what the check found on its tree, for the models traced in this pass
    found: dict[str, list[MismatchRow]] = field(default_factory=dict)


class Ahead(NamedTuple):
    """One model traced ahead of the lineage pass."""

    schemas: dict[str, tuple[str, ...] | None]  # the upstreams' names it was traced against
    plain: PlainModel  # what the trace found (column_types.encode)
    checked: list[MismatchRow] | None  # what the tree check found


def trace_safely(
    model: Model,
    relations: TableKeys,
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
    relations: TableKeys,
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


class Tracing:
    """The traces of one lineage pass in build order (column_lineage._traced), on both
    cores where ``typed`` allows a fork.

    The child types the models (``typed.check.bind``), then traces models the lineage
    cache does not know from the last in build order backwards, each against its
    upstreams' names as DuckDB or the select list predict them (``predict``), with the
    type check on each tree. The parent traces from the first forwards, in line and
    exactly (a model only reads models before it), and keeps each tree for the check
    until the types come back. Each model is claimed once, by whichever side gets to
    it first (:class:`_Ends`); when the parent reaches the child's, it takes the child's
    results, each only if traced against the names its upstreams were traced to."""

    def __init__(
        self,
        models: Mapping[str, Model],
        relations: TableKeys,
        lineage: bool,
        typed: TypedTrace | None,
        todo: Sequence[str],
        predict: Callable[[TypeCheck], Predicted],
    ) -> None:
        self.models, self.relations, self.lineage, self.typed = models, relations, lineage, typed
        self.ahead: dict[str, Ahead] = {}
        # the models the parent traced after reaching the child's (the names the child
        # traced them against were not their upstreams', or the child failed)
        self.again: list[str] = []
        self._pending: list[tuple[Model, Schemas, Qualified]] = []
        self._index = {name: i for i, name in enumerate(todo)}
        self._child: ForkedCall | None = None
        self._ends: _Ends | None = None
        self._forked = False
        if typed is None:
            return
        self._start_child(typed, todo, predict)
        self._forked = self._child is not None
        if self._child is None:
            typed.check.bind()

    def _start_child(
        self, typed: TypedTrace, todo: Sequence[str], predict: Callable[[TypeCheck], Predicted]
    ) -> None:
        """Fork the child that types and traces backwards, where it pays and is allowed."""
        from teal.compiler.offload import MIN_FILES, ForkedCall

        strategy = typed.strategy
        if strategy is None or len(todo) < MIN_FILES or not strategy.can_fork():
            return
        try:
            ends = _Ends(len(todo))
        except OSError:  # no shared semaphore here (a container without /dev/shm): in line
            return
        models, relations, check = self.models, self.relations, typed.check

        def backwards() -> tuple[object, dict[str, Ahead]]:
            bound = check.bind()
            predicted = predict(check)
            out: dict[str, Ahead] = {}
            while (at := ends.claim_back()) is not None:
                name = todo[at]
                if name in predicted:
                    schemas = predicted[name]
                    found, rows = trace_safely(models[name], relations, schemas, True, check.check)
                    out[name] = Ahead(schemas, encode(found), rows)
            return bound, out

        self._child = ForkedCall.start(backwards, strategy)
        self._ends = ends if self._child is not None else None

    def trace(self, model: Model, schemas: Schemas) -> tuple[ModelColumns, PlainModel]:
        """``model`` traced against its upstreams' ``schemas`` (as a serial trace would)."""
        typed = self.typed
        at = self._index.get(model.name)
        if self._ends is not None and at is not None and self._ends.claim_front(at):
            found, _ = trace_safely(model, self.relations, schemas, self.lineage, self._keep)
            return found, encode(found)
        self._collect()
        early = self.ahead.get(model.name)
        if early is not None and early.schemas == schemas:
            checked, found, plain = early.checked, decode(early.plain), early.plain
        else:
            check = typed.check.check if typed is not None else None
            found, checked = trace_safely(model, self.relations, schemas, self.lineage, check)
            plain = encode(found)
            if self._forked:
                self.again.append(model.name)
        if typed is not None and checked is not None:
            typed.found[model.name] = checked
        return found, plain

    def finish(self) -> None:
        """Wait for the child (its types), then check the trees kept meanwhile."""
        self._collect()
        if self.typed is None:
            return
        for model, schemas, query in self._pending:
            checked = self.typed.check.check(model, schemas, query)
            if checked is not None:
                self.typed.found[model.name] = checked
        self._pending.clear()

    def abandon(self) -> None:
        if self._child is not None:
            self._child.abandon()
            self._child = None

    def _keep(self, model: Model, schemas: Schemas, query: Qualified) -> None:
        """The parent's tree check, put off until the types come back."""
        if self.typed is not None and self.typed.check.wants(model):
            self._pending.append((model, schemas, query))

    def _collect(self) -> None:
        """Take the child's types and what it traced (typing here if it failed)."""
        if self._child is None or self.typed is None:
            return
        found = self._child.result()
        self._child, self._ends = None, None
        if isinstance(found, tuple) and len(found) == 2:
            bound, ahead = found
            self.typed.check.adopt(bound)
            self.ahead = ahead
        else:  # the child failed: its models are traced here, in line
            self.typed.check.bind()


class _Ends:
    """Two processes taking items of one list, one from each end, each item once: the
    positions both have reached, in memory shared across the fork, under a lock."""

    def __init__(self, count: int) -> None:
        import mmap
        import multiprocessing

        self._memory = mmap.mmap(-1, 16)  # anonymous and shared: a forked child sees it
        self._lock = multiprocessing.Lock()
        self._memory[:] = struct.pack("qq", 0, count - 1)
        self.patience = 10.0  # seconds to wait for the lock before judging its holder dead

    def claim_front(self, at: int) -> bool:
        """Take item ``at`` (increasing from call to call) unless the other end has. The
        lock is held for microseconds: not getting it in seconds means the other process
        died holding it, and the caller then waits for (and gives up on) that process."""
        if not self._lock.acquire(timeout=self.patience):
            return False
        try:
            _, back = struct.unpack("qq", self._memory[:])
            if at > back:
                return False
            self._memory[:] = struct.pack("qq", at + 1, back)
            return True
        finally:
            self._lock.release()

    def claim_back(self) -> int | None:
        """The last item neither end has taken, now taken; None when they have met."""
        with self._lock:
            front, back = struct.unpack("qq", self._memory[:])
            if back < front:
                return None
            self._memory[:] = struct.pack("qq", front, back - 1)
            return back


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
    written = missing.column
    at = out_text[missing.col - 1 :] if out_text is not None and missing.col else ""
    if missing.table and at.lower().startswith(f"{missing.table}.".lower()):
        written = f"{at[: len(missing.table)]}.{missing.column}"  # written qualified
    return missing._replace(line=line, col=source_col(out_text, src_text, missing.col, written))
