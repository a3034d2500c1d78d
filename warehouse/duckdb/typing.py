"""Output column types of queries, from DuckDB's binder, without data.

Each model's compiled SQL is bound in an in-memory database where every upstream is a
zero-row stand-in table of its known columns and types, in build order: binding a query
(``con.sql``) runs nothing, and its result's types are what the model would have. A
query that reads something with unknown types, or that DuckDB cannot bind, gets None
(name binding reports mistakes of names, compiler/column_binding.py). File sources are
read as the compiled SQL reads them (a Parquet footer, a CSV sniff), once per query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from teal.warehouse.duckdb.sql import qualified, quote

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
    without binding. Stand-ins are
    made only for what a query to bind reads, so an all-known project opens no database."""
    found: dict[str, Typed] = {}
    to_bind = []
    for query in queries:
        if query.name in known:  # found before; () when it could not be bound then
            if known[query.name]:
                found[query.name] = known[query.name]
            continue
        typed = query.stand_in if query.sql is None else None
        if typed:
            found[query.name] = typed
        elif query.sql is not None:
            to_bind.append(query)
    if not to_bind:
        return found
    import duckdb

    by_name = {q.name: q for q in queries}
    con = duckdb.connect(":memory:")
    made: set[str] = set()
    schemas: set[str] = set()

    def stand_in(name: str) -> bool:
        """Create the zero-row table of ``name`` if it is not there; False: unknown."""
        if name in made:
            return True
        query, typed = by_name.get(name), found.get(name)
        if query is None or not typed or not query.table:
            return False
        if query.schema.lower() not in schemas:
            con.execute(f"create schema if not exists {quote(query.schema)}")
            schemas.add(query.schema.lower())
        columns = ", ".join(f"{quote(c)} {t}" for c, t in typed)
        try:
            con.execute(f"create table {qualified(query.schema, query.alias)} ({columns})")
        except duckdb.Error:
            return False  # a type DuckDB prints but does not parse back: unknown downstream
        made.add(name)
        return True

    try:
        for query in to_bind:
            if not all([stand_in(r) for r in query.reads]):
                continue
            try:
                rel = con.sql(query.sql or "")
            except duckdb.Error:
                continue
            typed = tuple((str(c), str(t)) for c, t in zip(rel.columns, rel.types))
            if typed:
                found[query.name] = typed
    finally:
        con.close()
    return found
