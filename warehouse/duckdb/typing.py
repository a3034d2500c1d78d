"""Output column types of queries, from DuckDB's binder, without data.

Each model's compiled SQL is bound in an in-memory database where every upstream is a
zero-row stand-in table of its known columns and types, in build order: binding a query
(``con.sql``) runs nothing, and its result's types are what the model would have. A
query that reads something with unknown types, or that DuckDB cannot bind, gets None
(name binding reports mistakes of names, compiler/column_binding.py). File sources are
read as the compiled SQL reads them (a Parquet footer, a CSV sniff), once per query.
SQL that DuckDB's parser refuses (sqlglot, which parsed it first, is more lenient: a
``GROUP BY`` with nothing after it) is kept with DuckDB's message (``syntax_errors``),
so that the build stops before anything runs.

A build's binding also asks for names alone (``Binder.names``): a query reading a model
whose names are known but not its types (downstream of a Python asset never built) is
bound against a stand-in of those names with DuckDB's NULL type, which every operator
and most functions accept; its output names are taken, never its types.

Binding a query is the binder's one cost and DuckDB releases the GIL while it binds, so a
binder given several ``workers`` binds the queries of one depth (none reading another)
side by side on cursors of the same database, and ``names_ahead`` binds a build's names
the same way before they are asked for (``names`` then answers from what it found when
asked with the same stand-ins). Stand-ins are made in order on the first cursor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, NamedTuple

from teal.compiler.graph import depth_levels
from teal.warehouse.duckdb.sql import qualified, quote

if TYPE_CHECKING:
    import duckdb

    from teal.compiler.checks import CheckDef
    from teal.warehouse.duckdb.errors import BindFailure

# column name -> DuckDB type name, in output order
Typed = tuple[tuple[str, str], ...]
# the names of the stand-ins a query was bound against, by what it reads, when untyped
StandIns = dict[str, tuple[str, ...]]


class TypedQuery(NamedTuple):
    """One model to type: its relation, and its SQL or (a Python asset) its stand-in."""

    name: str
    schema: str
    alias: str
    sql: str | None  # None: ``stand_in`` gives its columns
    stand_in: Typed | None  # a Python asset's declared columns and types, or None: unknown
    reads: tuple[str, ...]  # the model names it reads as tables (not inlined ephemerals)
    table: bool = True  # False: an ephemeral model (inlined where it is read): no stand-in


class Binder:
    """An in-memory DuckDB database of zero-row stand-ins, made as the queries bound need
    them, opened on first use; ``workers``: how many queries it binds at once."""

    def __init__(
        self, queries: Sequence[TypedQuery], known: Mapping[str, Typed], workers: int = 1
    ) -> None:
        self.queries = list(queries)
        self.by_name = {q.name: q for q in self.queries}
        self.known = known
        self.found: dict[str, Typed] = {}
        self._con: duckdb.DuckDBPyConnection | None = None
        self._made: set[str] = set()  # typed stand-in tables
        self._views: StandIns = {}  # untyped stand-in views, with the names they have
        self._schemas: set[str] = set()
        self._workers = max(1, workers)
        self._pool: ThreadPoolExecutor | None = None
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        # names bound ahead: model -> (the untyped stand-ins it read, its output names)
        self._ahead: dict[str, tuple[StandIns, tuple[str, ...] | None]] = {}
        # SQL DuckDB's parser refused (sqlglot, more lenient, took it) -> DuckDB's message
        self._unparsable: dict[str, str] = {}

    def types(self) -> dict[str, Typed]:
        """The output types of each query (given upstreams first) that DuckDB could bind;
        ``known``: types found earlier (a cache; ``()``: could not be bound), taken without
        binding. Stand-ins are made only for what a query to bind reads, so an all-known
        project opens no database."""
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
        # what a query reads is typed before it is bound
        for depth in depth_levels(to_bind, lambda q: q.name, lambda q: q.reads):
            ready = [q for q in depth if all([self._typed_stand_in(r) for r in q.reads])]
            for query, typed in zip(ready, self._bind_all([q.sql or "" for q in ready])):
                if typed:
                    found[query.name] = typed
        return dict(found)

    def syntax_errors(self) -> dict[str, str]:
        """The queries bound so far that DuckDB's parser refused: model -> its message."""
        if not self._unparsable:
            return {}
        return {
            q.name: self._unparsable[q.sql]
            for q in self.queries
            if q.sql is not None and q.sql in self._unparsable
        }

    def check_error(self, check: CheckDef) -> BindFailure | None:
        """What DuckDB said when ``check``'s query does not bind against typed stand-ins
        of its model and what else it reads; None: it binds, or that cannot be told
        (something it reads has no typed stand-in; an error of another kind)."""
        import duckdb

        from teal.compiler.checks import TARGET
        from teal.warehouse.duckdb.checks import QUERIES
        from teal.warehouse.duckdb.errors import bind_failure

        query = self.by_name.get(check.asset)
        sql = QUERIES.failures(check)
        if query is None or not query.table or sql is None:
            return None
        if not all([self._typed_stand_in(r) for r in (check.asset, *check.reads)]):
            return None
        try:
            self._connection().sql(sql.replace(TARGET, qualified(query.schema, query.alias)))
        except (duckdb.BinderException, duckdb.ParserException) as exc:
            return bind_failure(str(exc))
        except duckdb.Error:
            return None
        return None

    def untyped(self) -> bool:
        """Whether a query was left untyped by :meth:`types` (names may be asked)."""
        return any(q.sql is not None and not self.found.get(q.name) for q in self.queries)

    def names(self, name: str, untyped: Mapping[str, tuple[str, ...]]) -> tuple[str, ...] | None:
        """The output names of the query ``name`` bound against stand-ins of what it reads:
        typed ones where the types are known, else of the names in ``untyped`` with
        DuckDB's NULL type, which every operator and most functions accept. Every column
        the query references then exists; the types it gives are not kept (they are not
        the real ones). None: something it reads has no stand-in, or it does not bind."""
        query = self.by_name.get(name)
        if query is None or query.sql is None:
            return None
        read = self._stand_ins(query, untyped)
        if read is None:
            return None
        ahead = self._ahead.get(name)
        if ahead is not None and ahead[0] == read:  # bound ahead against the same stand-ins
            return ahead[1]
        typed = self._bind(query.sql, self._connection())
        return None if typed is None else tuple(c for c, _ in typed)

    def names_ahead(self, asked: Sequence[tuple[str, Mapping[str, tuple[str, ...]]]]) -> None:
        """Bind, side by side, the names :meth:`names` is expected to be asked next, as
        ``(model, untyped)``: none of them reads another."""
        todo: list[tuple[str, StandIns, str]] = []
        for name, untyped in asked:
            query = self.by_name.get(name)
            read = None if query is None or query.sql is None else self._stand_ins(query, untyped)
            if query is not None and query.sql is not None and read is not None:
                todo.append((name, read, query.sql))
        bound = self._bind_all([sql for _, _, sql in todo])
        for (name, read, _), typed in zip(todo, bound):
            self._ahead[name] = (read, None if typed is None else tuple(c for c, _ in typed))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        for cursor in self._cursors:
            cursor.close()
        self._cursors = []
        if self._con is not None:
            self._con.close()
            self._con = None

    def _stand_ins(
        self, query: TypedQuery, untyped: Mapping[str, tuple[str, ...]]
    ) -> StandIns | None:
        """Make the stand-ins of what ``query`` reads; the names of the untyped ones, or
        None: something it reads has none."""
        read: StandIns = {}
        for table in query.reads:
            if self._typed_stand_in(table):
                continue
            names = untyped.get(table)
            if not names or not self._untyped_stand_in(table, names):
                return None
            read[table] = names
        return read

    def _bind_all(self, sqls: Sequence[str]) -> list[Typed | None]:
        """Each query's output types, bound on the workers' cursors side by side."""
        if self._workers == 1 or len(sqls) < 2:
            return [self._bind(sql, self._connection()) for sql in sqls]
        pool, cursors = self._started()
        shares = [list(sqls[i :: len(cursors)]) for i in range(len(cursors))]
        others = [pool.submit(self._bind_each, s, c) for s, c in zip(shares[1:], cursors[1:])]
        results = [self._bind_each(shares[0], cursors[0]), *(f.result() for f in others)]
        out: list[Typed | None] = [None] * len(sqls)
        for i, share in enumerate(results):
            out[i :: len(cursors)] = share
        return out

    def _bind_each(self, sqls: list[str], con: duckdb.DuckDBPyConnection) -> list[Typed | None]:
        return [self._bind(sql, con) for sql in sqls]

    def _started(self) -> tuple[ThreadPoolExecutor, list[duckdb.DuckDBPyConnection]]:
        con = self._connection()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers - 1, thread_name_prefix="teal-bind")
            self._cursors = [con.cursor() for _ in range(self._workers - 1)]
        return self._pool, [con, *self._cursors]

    def _bind(self, sql: str, con: duckdb.DuckDBPyConnection) -> Typed | None:
        import duckdb

        try:
            rel = con.sql(sql)
        except duckdb.ParserException as exc:  # not the stand-ins: the SQL itself
            self._unparsable[sql] = str(exc)
            return None
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

    def _untyped_stand_in(self, name: str, names: tuple[str, ...]) -> bool:
        """Make the zero-row view of ``names`` for ``name``, each of the NULL type (made
        again when asked with other names)."""
        import duckdb

        query = self.by_name.get(name)
        if query is None or not query.table:
            return False
        if self._views.get(name) == names:
            return True
        self._schema(query)
        columns = ", ".join(f"null as {quote(c)}" for c in names)
        try:
            self._connection().execute(
                f"create or replace view {qualified(query.schema, query.alias)} as "
                f"select {columns} where false"
            )
        except duckdb.Error:
            self._views.pop(name, None)
            return False
        self._views[name] = names
        return True
