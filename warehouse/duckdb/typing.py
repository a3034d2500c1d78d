"""Output column types of queries, from DuckDB's binder, without data.

Each model's compiled SQL is bound in an in-memory database where every upstream is a
zero-row stand-in table of its known columns and types, in build order: binding a query
(``con.sql``) runs nothing, and its result's types are what the model would have. A
query that reads something with unknown types, or that DuckDB cannot bind, gets None
(name binding reports mistakes of names, compiler/column_binding.py). File sources are
read as the compiled SQL reads them (a Parquet footer, a CSV sniff), once per query.

A build's binding also asks for names alone (``Binder.names``): a query reading a model
whose names are known but not its types (downstream of a Python asset never built) is
bound against a stand-in of those names with DuckDB's NULL type, which every operator
and most functions accept; its output names are taken, never its types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from teal.warehouse.duckdb.sql import qualified, quote

if TYPE_CHECKING:
    import duckdb

# column name -> DuckDB type name, in output order
Typed = tuple[tuple[str, str], ...]


class TypedQuery(NamedTuple):
    """One model to type: its relation, and its SQL or (a Python asset) its stand-in."""

    name: str
    schema: str
    alias: str
    sql: str | None  # None: ``stand_in`` gives its columns
    stand_in: Typed | None  # a Python asset's declared columns and types, or None: unknown
    reads: tuple[str, ...]  # the model names it reads as tables (not inlined ephemerals)
    table: bool = True  # False: an ephemeral model (inlined where it is read): no stand-in


def output_types(queries: Sequence[TypedQuery], known: Mapping[str, Typed]) -> dict[str, Typed]:
    """The output types of each of ``queries`` (given upstreams first) that DuckDB could
    bind; ``known``: types found earlier (a cache; ``()``: could not be bound), taken
    without binding. Stand-ins are made only for what a query to bind reads, so an
    all-known project opens no database."""
    binder = Binder(queries, known)
    try:
        return binder.types()
    finally:
        binder.close()


class Binder:
    """An in-memory DuckDB database of zero-row stand-ins, made as the queries bound need
    them, opened on first use."""

    def __init__(self, queries: Sequence[TypedQuery], known: Mapping[str, Typed]) -> None:
        self.queries = list(queries)
        self.by_name = {q.name: q for q in self.queries}
        self.known = known
        self.found: dict[str, Typed] = {}
        self._con: duckdb.DuckDBPyConnection | None = None
        self._made: set[str] = set()
        self._schemas: set[str] = set()

    def types(self) -> dict[str, Typed]:
        """The output types of every query that can be bound, in order (see
        :func:`output_types`)."""
        found = self.found
        to_bind = []
        for query in self.queries:
            if query.name in self.known:  # found before; () when it could not be bound then
                if self.known[query.name]:
                    found[query.name] = self.known[query.name]
                continue
            typed = query.stand_in if query.sql is None else None
            if typed:
                found[query.name] = typed
            elif query.sql is not None:
                to_bind.append(query)
        for query in to_bind:
            if not all([self._typed_stand_in(r) for r in query.reads]):
                continue
            typed = self._bind(query.sql or "")
            if typed:
                found[query.name] = typed
        return dict(found)

    def names(self, name: str, untyped: Mapping[str, tuple[str, ...]]) -> tuple[str, ...] | None:
        """The output names of the query ``name`` bound against stand-ins of what it reads:
        typed ones where the types are known, else of the names in ``untyped`` with
        DuckDB's NULL type, which every operator and most functions accept. Every column
        the query references then exists; the types it gives are not kept (they are not
        the real ones). None: something it reads has no stand-in, or it does not bind."""
        query = self.by_name.get(name)
        if query is None or query.sql is None:
            return None
        for read in query.reads:
            if not (self._typed_stand_in(read) or self._untyped_stand_in(read, untyped)):
                return None
        typed = self._bind(query.sql)
        return None if typed is None else tuple(c for c, _ in typed)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _bind(self, sql: str) -> Typed | None:
        import duckdb

        try:
            rel = self._connection().sql(sql)
        except duckdb.Error:
            return None
        return tuple((str(c), str(t)) for c, t in zip(rel.columns, rel.types)) or None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            import duckdb

            self._con = duckdb.connect(":memory:")
        return self._con

    def _schema(self, query: TypedQuery) -> None:
        if query.schema.lower() not in self._schemas:
            self._connection().execute(f"create schema if not exists {quote(query.schema)}")
            self._schemas.add(query.schema.lower())

    def _typed_stand_in(self, name: str) -> bool:
        """Create the zero-row table of ``name`` if it is not there; False: unknown."""
        import duckdb

        if name in self._made:
            return True
        query, typed = self.by_name.get(name), self.found.get(name)
        if query is None or not typed or not query.table:
            return False
        self._schema(query)
        columns = ", ".join(f"{quote(c)} {t}" for c, t in typed)
        try:
            self._connection().execute(
                f"create table {qualified(query.schema, query.alias)} ({columns})"
            )
        except duckdb.Error:
            return False  # a type DuckDB prints but does not parse back: unknown downstream
        self._made.add(name)
        return True

    def _untyped_stand_in(self, name: str, untyped: Mapping[str, tuple[str, ...]]) -> bool:
        """Create a zero-row view of ``name``'s known names, each of the NULL type."""
        import duckdb

        query, names = self.by_name.get(name), untyped.get(name)
        if query is None or not names or not query.table:
            return False
        self._schema(query)
        columns = ", ".join(f"null as {quote(c)}" for c in names)
        try:
            self._connection().execute(
                f"create view {qualified(query.schema, query.alias)} as "
                f"select {columns} where false"
            )
        except duckdb.Error:
            return False
        self._made.add(name)
        return True
