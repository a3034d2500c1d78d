"""Type checking of the selected models before anything runs (issue 20).

Each model's output types come from DuckDB's binder on zero-row stand-ins of what it
reads (warehouse/duckdb/typing.py), in build order: SQL models by their compiled SQL,
Python assets by their declared columns and types (``columns=`` or an enforced contract
with ``data_type``s). With those types, compiler/column_type_checks.py finds join
conditions and UNIONs that mix kinds of values, and declared contract types a query does
not produce, each a located error.

Results are cached in ``.teal/cache/types.pickle`` per model, under a key chained from
its compiled SQL (or declared columns) and its upstreams' keys, so an unchanged project
binds nothing and an edit binds the edited model and what reads it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from teal.compiler.cache import CompileCache, content_key
from teal.compiler.column_binding import with_upstreams
from teal.compiler.column_lineage import _cache_path, _tracer_version
from teal.compiler.declared import contract_enforced
from teal.compiler.table_keys import TableKeys

if TYPE_CHECKING:
    from teal.compiler.column_lineage import EngineBinding
    from teal.compiler.column_type_checks import MismatchRow
    from teal.compiler.columns import Qualified
    from teal.compiler.errors import TealError
    from teal.compiler.project import Model, Project
    from teal.compiler.sources import SourceTable
    from teal.compiler.strategy import LoadStrategy
    from teal.warehouse.duckdb.typing import Binder, Typed, TypedQuery

VERSION = "1"
_JOIN_OR_UNION = re.compile(r"\b(join|union)\b", re.IGNORECASE)


class TypeErrors:
    """The type errors of a selection, computed beside its lineage (model_trace.TypeCheck:
    pass :attr:`trace` to the column graph). DuckDB types the models first, in the
    trace's child where it forks one; the join and UNION checks run on each tree the
    trace qualifies, so a compile qualifies each model once; :meth:`result` checks what
    the trace did not (a model whose lineage was cached) by parsing it here."""

    def __init__(
        self, project: Project, prep: PreparedTypes, strategy: LoadStrategy | None
    ) -> None:
        from teal.compiler.model_trace import TypedTrace

        self.project, self.prep = project, prep
        self.types: dict[str, Typed] | None = None  # bound here or adopted from a child
        self._binder: Binder | None = None
        self.trace = TypedTrace(self, strategy)

    @classmethod
    def start(
        cls,
        project: Project,
        names: list[str],
        strategy: LoadStrategy | None,
        recorded: Mapping[str, Typed],
    ) -> TypeErrors:
        """The type check of ``names`` and what they read (``recorded``: the types of
        Python assets' last materializations, for those that declare none); where
        ``strategy`` allows a fork, the lineage trace given :attr:`trace` types them in
        its child."""
        return cls(project, prepare_types(project, names, True, recorded), strategy)

    def result(self) -> list[TealError]:
        if self.types is None:  # the lineage was cached whole: nothing traced, nothing typed
            self.bind()
        assert self.types is not None
        return _errors(self.project, self.prep, self.types, self.trace.found)

    # -- model_trace.TypeCheck ----------------------------------------------------------
    def bind(self) -> dict[str, Typed]:
        from teal.warehouse.engine import type_binder

        if self.types is None:
            self._binder = type_binder(self.prep.queries, self.prep.known)
            self.types = _typed(self.project, self.prep, self._binder)
        return self.types

    def adopt(self, bound: object) -> None:
        """The types a child bound, put in this process's types cache."""
        if isinstance(bound, dict):
            self.types = bound
            keep_types(self.project, self.prep, bound)
        else:
            self.bind()

    def names(self, name: str, upstreams: Mapping[str, tuple[str, ...]]) -> tuple[str, ...] | None:
        """A model's names from its types, else from DuckDB's binder on stand-ins of its
        upstreams' names (the binder that found the types)."""
        typed = self.bind().get(name)
        if typed:
            return tuple(c.lower() for c, _ in typed)
        found = self._binder.names(name, upstreams) if self._binder is not None else None
        return None if found is None else tuple(c.lower() for c in found)

    def wants(self, model: Model) -> bool:
        return model.rendered_sql is not None and bool(_JOIN_OR_UNION.search(model.rendered_sql))

    def check(
        self, model: Model, schemas: Mapping[str, tuple[str, ...] | None], query: Qualified
    ) -> list[MismatchRow] | None:
        """:func:`_mismatches` on the tree the lineage trace qualified, when the names it was
        qualified with are DuckDB's for every upstream DuckDB typed; else None. (An
        upstream DuckDB could not type has no types to compare; the lineage's names for it
        only let more columns be qualified.)"""
        from teal.compiler.column_type_checks import qualified_mismatches

        sql = model.rendered_sql
        upstream = _upstream_types(model, self.bind())
        if not upstream or sql is None or not self.wants(model):
            return []
        for key, typed in upstream.items():
            names = schemas.get(key)
            traced = None if names is None else tuple(dict.fromkeys(c.lower() for c in names))
            if traced != tuple(typed):
                return None
        try:
            return [
                (m.message, m.hint, m.line, m.col, m.written)
                for m in qualified_mismatches(query, upstream, sql)
            ]
        except Exception:  # noqa: BLE001 - a check that cannot run says nothing
            return []

    def close(self) -> None:
        if self._binder is not None:
            self._binder.close()
            self._binder = None


def typed_contracts(project: Project, names: Iterable[str]) -> list[str]:
    """The models of ``names`` whose enforced contract declares types."""
    return [
        n
        for n in names
        if contract_enforced(project.models[n].config)
        and any(c.data_type for c in project.models[n].declared)
    ]


def type_errors(
    project: Project,
    names: Iterable[str],
    *,
    use_cache: bool = True,
    recorded: Mapping[str, Typed] | None = None,
) -> list[TealError]:
    """Join/UNION type mismatches and contract type errors of ``names``, in build order
    (``recorded``: as :meth:`TypeErrors.start`)."""
    return _finish(project, prepare_types(project, names, use_cache, recorded or {}))


class EngineBinder:
    """DuckDB's binder for a build's binding (compiler/column_binding.py), called with the
    models to bind (upstreams first): the output names of those it bound against zero-row
    stand-ins of what they read, every column they reference existing, so they need no
    trace; then, as the binding goes on, the names of a model whose upstreams' names are
    known but not all their types (downstream of a Python asset never built), bound
    against stand-ins of those names (``Binder.names``), bound ahead depth by depth
    (compiler/column_binding.py ``_bind_ahead``). ``workers`` queries are bound at once.
    The types found first are kept in the types cache, as a type check keeps them. Close
    it after the binding."""

    def __init__(
        self, project: Project, recorded: Mapping[str, Typed], workers: int | None = None
    ) -> None:
        self.project, self.recorded = project, recorded
        # on every core (up to 4): the build waits for its binding
        self.workers = workers or min(4, os.cpu_count() or 1)
        self._binder: Binder | None = None

    def __call__(self, names: Iterable[str]) -> EngineBinding:
        from teal.compiler.column_lineage import EngineBinding

        prep = prepare_types(self.project, names, True, self.recorded)
        binder = self._open(prep)
        types = _typed(self.project, prep, binder)
        prep.cache.save()
        bound = {n: tuple(c for c, _ in types[n]) for n in prep.order if types.get(n)}
        return EngineBinding(bound, binder.names, binder.names_ahead if binder.untyped() else None)

    def close(self) -> None:
        if self._binder is not None:
            self._binder.close()
            self._binder = None

    def _open(self, prep: PreparedTypes) -> Binder:
        from teal.warehouse.engine import type_binder

        if self._binder is None:
            self._binder = type_binder(prep.queries, prep.known, self.workers)
        return self._binder


def remember_types(
    project: Project, names: list[str], recorded: Mapping[str, Typed], built: Mapping[str, Typed]
) -> dict[str, Typed]:
    """Keep in the types cache what a build found: ``built`` holds the output types of
    models just built (DuckDB's types of the tables their SQL made, which are the types its
    binder gives that SQL), put under the keys the next binding computes with ``recorded``
    (the Python assets' types as the run store now knows them). The types of ``names``
    and what they read, as known now (a key the cache misses and ``built`` lacks is left
    to be bound when asked)."""
    prep = prepare_types(project, names, True, recorded)
    types = dict(prep.known)
    for name in prep.order:
        if name not in prep.known and built.get(name):
            types[name] = built[name]
            prep.cache.put("types", prep.keys[name], built[name])
    prep.cache.save()
    return types


def _typed(project: Project, prep: PreparedTypes, binder: Binder | None = None) -> dict[str, Typed]:
    """The types of ``prep``'s queries (by ``binder``, when given), those found now put in
    its cache."""
    from teal.compiler.errors import raise_all
    from teal.warehouse.engine import type_binder

    raise_all(list(prep.missing))
    own = binder is None
    used = type_binder(prep.queries, prep.known) if binder is None else binder
    try:
        types = used.types()
        refused = used.syntax_errors()
        if refused:  # nothing cached: bound again, and refused again, until fixed
            raise_all([_syntax_error(project.models[n], text) for n, text in refused.items()])
    finally:
        if own:
            used.close()
    keep_types(project, prep, types)
    return types


def missing_file(project: Project, key: str) -> TealError | None:
    """The located error of source table ``key`` when it is a local file source whose file
    (or glob) finds nothing, as a build reports it before it runs; None otherwise."""
    from teal.compiler.source_schemas import file_identity

    table = _local_file_source(project, key)
    if table is None or file_identity(table.location) is not None:
        return None
    return _no_file(project, table)


def _local_file_source(project: Project, key: str) -> SourceTable | None:
    """Source table ``key`` if it is a file on this machine (CSV, Parquet, JSON)."""
    from teal.compiler.sources import FILE_KINDS

    try:
        table = project.source_table(key)
    except KeyError:
        return None
    return table if table.kind in FILE_KINDS and "://" not in table.location else None


def _no_file(project: Project, table: SourceTable) -> TealError:
    """The error for a file source whose file (or glob) finds nothing."""
    from teal.compiler.errors import ProjectError

    source = project.sources.get(table.source)
    where = Path(table.location)
    shown = where.relative_to(project.root) if where.is_relative_to(project.root) else where
    pattern = any(ch in table.location for ch in "*?[")
    return ProjectError(
        f"source table {table.key} reads {shown}, which "
        + ("matches no file" if pattern else "does not exist"),
        path=source.declared_in if source is not None and source.declared_in else None,
        line=source.line if source is not None else None,
        hint="create the file, or fix the source's path (docs/projects.md, Sources)",
    )


def _syntax_error(model: Model, message: str) -> TealError:
    """DuckDB's parser refused ``model``'s SQL, which sqlglot took: located in its file."""
    from teal.compiler.errors import ParseError
    from teal.warehouse.duckdb.errors import describe_error

    text, line, col = describe_error(Exception(message), model.raw_sql)
    source = model.raw_sql.splitlines() if model.raw_sql else []
    detail = text.removeprefix("Parser Error: ")
    return ParseError(
        f"SQL {detail}" if detail.startswith("syntax error") else f"SQL syntax error: {detail}",
        path=model.display_path,
        line=line,
        col=col,
        source_line=source[line - 1] if line and 0 < line <= len(source) else None,
        hint="fix the SQL near the marked position (DuckDB's parser refused it)",
    )


def keep_types(project: Project, prep: PreparedTypes, types: Mapping[str, Typed]) -> None:
    """Put the types just found (``types``) in ``prep``'s cache."""
    for name in (*prep.order, *(k for k in prep.keys if k not in project.models)):
        if name not in prep.known:  # the models, then the source tables typed
            prep.cache.put("types", prep.keys[name], types.get(name, ()))


class PreparedTypes(NamedTuple):
    """What the cache knows before any binding: keys, known types, the queries."""

    chosen: list[str]
    order: list[str]
    cache: CompileCache
    keys: dict[str, str]
    known: dict[str, Typed]
    queries: list[TypedQuery]
    # file sources the chosen models read whose files are not there
    missing: tuple[TealError, ...] = ()

    @property
    def misses(self) -> int:
        return len(self.order) - len(self.known)


def prepare_types(
    project: Project, names: Iterable[str], use_cache: bool, recorded: Mapping[str, Typed]
) -> PreparedTypes:
    from teal.warehouse.duckdb.typing import TypedQuery

    chosen = list(names)
    order = with_upstreams(project, chosen)
    path = _cache_path(project, "types.pickle") if use_cache else None
    cache = CompileCache(path, keep_unused=len(order) < len(project.models))
    keys: dict[str, str] = {}
    version = _tracer_version()
    known: dict[str, Typed] = {}
    queries: list[TypedQuery] = []
    for name in order:
        model = project.models[name]
        reads = _tables_read(project, model)
        stand_in = _stand_in(model) or recorded.get(name)
        sql = _typed_sql(project, model)
        code = sql if model.kind == "sql" else repr(stand_in)
        keys[name] = content_key(
            "types", VERSION, version, name, code or "", *(keys[u] for u in reads)
        )
        hit = cache.get("types", keys[name])
        if hit is not None:  # () when it could not be bound: not tried again
            known[name] = tuple((str(c), str(t)) for c, t in hit)
        queries.append(
            TypedQuery(
                name,
                model.schema,
                model.alias,
                sql,
                stand_in,
                reads,
                model.materialized != "ephemeral",
            )
        )
    missing = []
    for key in sorted({k for name in chosen for k in project.models[name].source_tables}):
        absent = _prepare_source(project, key, cache, keys, known, queries)
        if absent is not None:
            missing.append(absent)
    return PreparedTypes(chosen, order, cache, keys, known, queries, tuple(missing))


def _prepare_source(
    project: Project,
    key: str,
    cache: CompileCache,
    keys: dict[str, str],
    known: dict[str, Typed],
    queries: list[TypedQuery],
) -> TealError | None:
    """Type the file source table ``key`` as DuckDB reads it (a Parquet footer, a CSV
    sniff), cached under the identity of its (first) file, so that joins and UNIONs with
    its columns are checked too. Models read the files themselves: no stand-in is made.
    A local file source with no file: the error to report, located at its declaration."""
    from teal.compiler.source_schemas import file_identity
    from teal.compiler.sources import scan_text
    from teal.warehouse.duckdb.typing import TypedQuery

    table = _local_file_source(project, key)
    if table is None:
        return None
    identity = file_identity(table.location)
    if identity is None:
        return _no_file(project, table)
    sql = f"select * from {scan_text(table)}"
    keys[key] = content_key("types", VERSION, "source", key, sql, *identity)
    hit = cache.get("types", keys[key])
    if hit is not None:
        known[key] = tuple((str(c), str(t)) for c, t in hit)
    queries.append(TypedQuery(key, "", key, sql, None, (), False))
    return None


def _finish(project: Project, prep: PreparedTypes) -> list[TealError]:
    return _errors(project, prep, _typed(project, prep), {})


def _errors(
    project: Project,
    prep: PreparedTypes,
    types: dict[str, Typed],
    checked: Mapping[str, list[MismatchRow]],
) -> list[TealError]:
    """The contract type errors and join/UNION mismatches of ``prep``'s chosen models
    (``checked``: the mismatches found on the trees a lineage trace qualified)."""
    chosen, order, cache, keys = prep.chosen, prep.order, prep.cache, prep.keys
    errors: list[TealError] = []
    relations = TableKeys(project)
    wanted = set(chosen)  # once: a set per model made this quadratic in the project's size
    for name in order:
        if name not in wanted:
            continue
        model = project.models[name]
        produced = {c.lower(): t for c, t in types.get(name, ())}
        if produced and contract_enforced(model.config):
            from teal.compiler.column_type_checks import contract_type_errors

            errors += contract_type_errors(model, produced)
        if name in checked:
            cache.put("mismatches", keys[name], checked[name])
        errors += _query_errors(model, relations, types, cache, keys[name])
    cache.save()
    return errors


def _query_errors(
    model: Model,
    relations: TableKeys,
    types: dict[str, Typed],
    cache: CompileCache,
    key: str,
) -> list[TealError]:
    """The join and UNION mismatches of one SQL model (cached under its types key)."""
    sql = model.rendered_sql
    if model.kind != "sql" or sql is None:
        return []
    found = cache.get("mismatches", key)
    if found is None:
        found = _mismatches(model, sql, relations, types)
        cache.put("mismatches", key, found)
    if not found:
        return []
    from teal.compiler.column_type_checks import TypeMismatch, mismatch_error

    return [mismatch_error(model, TypeMismatch(*m)) for m in found]


def _mismatches(
    model: Model, sql: str, relations: TableKeys, types: dict[str, Typed]
) -> list[MismatchRow]:
    """What column_type_checks.type_mismatches finds in ``model``, as plain tuples."""
    upstream = _upstream_types(model, types)
    if not upstream or not _JOIN_OR_UNION.search(sql):
        return []
    from teal.compiler.column_type_checks import type_mismatches
    from teal.compiler.sql import parse_sql

    try:
        query = parse_sql(sql, path=model.display_path, digest=False)
        resolve = lambda t: relations.resolve(t, model)  # noqa: E731
        return [
            (m.message, m.hint, m.line, m.col, m.written)
            for m in type_mismatches(query, resolve, upstream, sql)
        ]
    except Exception:  # noqa: BLE001 - a check that cannot run says nothing
        return []


def _upstream_types(model: Model, types: Mapping[str, Typed]) -> dict[str, dict[str, str]]:
    """The types of the columns of what ``model`` reads (lower-case names), of those
    DuckDB could type (``()``: it could not, so their columns are unknown, not none)."""
    reads = (*model.upstreams, *model.source_tables)
    return {u: {c.lower(): t for c, t in typed} for u in reads if (typed := types.get(u))}


def _typed_sql(project: Project, model: Model) -> str | None:
    """The SQL to bind for ``model``'s types: its compiled SQL, and for a partitioned model
    that SQL filled in for one partition (its placeholders bind to nothing); None for a
    Python asset or a partitioned model whose SQL cannot be filled in."""
    sql = model.compiled_sql if model.kind == "sql" else None
    if sql is None or model.partitions is None:
        return sql
    from teal.compiler.partition_sql import has_placeholders, sample_key

    try:
        filled = project.sql_for_partition(model, sql, sample_key(model.partitions))
    except Exception:  # noqa: BLE001 - a model that cannot be typed is left untyped
        return None
    return None if has_placeholders(filled) else filled


def _tables_read(project: Project, model: Model) -> tuple[str, ...]:
    """The models ``model``'s compiled SQL reads as tables: its upstreams, and through an
    inlined ephemeral upstream, what that reads."""
    out: list[str] = []
    for upstream in model.upstreams:
        found = project.models[upstream]
        if found.materialized == "ephemeral":
            out += [u for u in _tables_read(project, found) if u not in out]
        elif upstream not in out:
            out.append(upstream)
    return tuple(out)


def _stand_in(model: Model) -> Typed | None:
    """A Python asset's declared columns and types, when every column has a type."""
    if model.kind != "python":
        return None
    schema = model.config.get("columns")
    if isinstance(schema, dict) and schema and all(schema.values()):
        return tuple((str(c), str(t)) for c, t in schema.items())
    if contract_enforced(model.config) and model.declared:
        if all(c.data_type for c in model.declared):
            return tuple((c.name, str(c.data_type)) for c in model.declared)
    return None
