"""Column lineage of a whole project: every model's columns, traced in build order.

Computed on demand, never while a project loads or builds: ``teal lineage MODEL.COLUMN``,
``teal compile`` (the manifest), ``teal validate`` and ``column:`` selectors ask for it.
Models are traced upstreams first (compiler/columns.py), so that a ``*`` over an upstream
expands to the columns that upstream was found to have. What each model starts from:

- SQL models: the columns traced for them;
- Python assets: the columns their YAML declares under an enforced contract
  (compiler/declared.py), or what the caller knows (``known``: the runtime passes the
  columns of tables already in the warehouse); their lineage is opaque;
- file sources: the header or footer of the file (compiler/source_schemas.py).

Each model's result is cached in ``.teal/cache/lineage.pickle`` under its rendered SQL,
what it reads and those upstreams' columns, so an unchanged project traces nothing again
and an edit traces the edited model and the models whose upstream columns changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from teal.compiler.cache import CompileCache, content_key
from teal.compiler.column_errors import (
    missing_error,
    partition_column_errors,
    star_duplicate_error,
    unique_key_errors,
)
from teal.compiler.column_types import (
    ColumnLineage,
    ModelColumns,
    ModelTable,
    PlainModel,
    Resolution,
    Use,
    decode,
    encode,
)
from teal.compiler.declared import contract_enforced
from teal.compiler.errors import TealError
from teal.compiler.model_trace import Tracing, TypeCheck, TypedTrace
from teal.compiler.table_keys import TableKeys, query_reads

if TYPE_CHECKING:
    from teal.compiler.project import Model, Project

VERSION = "3"  # of what a cache entry holds (3: plain tuples)


class EngineBinding(NamedTuple):
    """What an engine's binder bound of a binding's models."""

    # model name -> its output column names, for the models it bound against typed
    # stand-ins of what they read
    names: Mapping[str, tuple[str, ...]]
    # (model, names of what it reads whose types are unknown) -> its output names, bound
    # against stand-ins of those names, or None; None: not offered
    untyped: Callable[[str, Mapping[str, tuple[str, ...]]], tuple[str, ...] | None] | None = None
    # binds ahead, side by side, names ``untyped`` is about to be asked: (model, names of
    # what it reads), none reading another; None: not offered
    ahead: Callable[[Sequence[tuple[str, Mapping[str, tuple[str, ...]]]]], None] | None = None


EngineBound = Callable[[], EngineBinding]


class ColumnGraph:
    """Every model's columns with their lineage, and the edges the other way round."""

    def __init__(
        self,
        project: Project,
        models: Mapping[str, ModelColumns],
        sources: dict[str, tuple[str, ...] | None],
    ) -> None:
        self.project = project
        self.models = models
        self.sources = sources
        # models traced by this computation (the others came from the cache)
        self.traced = 0
        # each model's columns as plain tuples, when computed here (what the cache keeps)
        self.plains: dict[str, PlainModel] = {}
        self._uses: dict[tuple[str, str], list[Use]] | None = None

    # -- lookups --------------------------------------------------------------------------
    def columns_of(self, key: str) -> tuple[str, ...] | None:
        """The column names of a model or a "source.table", None when unknown."""
        if key in self.models:
            return self.models[key].names
        return self.sources.get(key)

    def lineage(self, model: str, column: str) -> ColumnLineage | None:
        found = self.models.get(model)
        if found is None or found.columns is None:
            return None
        wanted = column.lower()
        return next((c for c in found.columns if c.name == wanted), None)

    def uses(self, key: str, column: str) -> list[Use]:
        """The model columns that read ``key``'s ``column``, by model and column."""
        if self._uses is None:
            index: dict[tuple[str, str], list[Use]] = {}
            for name, found in self.models.items():
                for col in found.columns or ():
                    for edge in col.edges:
                        index.setdefault((edge.table, edge.column), []).append(
                            Use(name, col.name, edge.kind)
                        )
            self._uses = index
        return sorted(self._uses.get((key, column.lower()), ()))

    def opaque_readers(self, key: str) -> list[str]:
        """Python assets reading ``key``: any of its columns may feed any of theirs."""
        return (
            sorted(
                name
                for name in self.project.dag.downstreams.get(key, ())
                if self.models[name].opaque
            )
            if key in self.project.models
            else sorted(
                name
                for name, m in self.project.models.items()
                if key in m.source_tables and self.models[name].opaque
            )
        )

    # -- impact ---------------------------------------------------------------------------
    def downstream_models(self, key: str, column: str, depth: int | None = None) -> set[str]:
        """Models whose columns read ``key``'s ``column``, directly or through others
        (``depth``: levels of models). A Python asset reading it counts with everything
        downstream of it, since its lineage is not known."""
        seen: set[tuple[str, str]] = set()
        found: set[str] = set()
        frontier = [(key, column.lower())]
        level = 0
        while frontier and (depth is None or level < depth):
            nxt = []
            for table, col in frontier:
                for use in self.uses(table, col):
                    found.add(use.model)
                    if (use.model, use.column) not in seen:
                        seen.add((use.model, use.column))
                        nxt.append((use.model, use.column))
                for asset in self.opaque_readers(table):
                    found.add(asset)
                    found |= self.project.dag.descendants(
                        asset, None if depth is None else depth - level - 1
                    )
            frontier = nxt
            level += 1
        return found

    def upstream_models(self, model: str, column: str, depth: int | None = None) -> set[str]:
        """Models (and "source.table"s) whose columns feed ``model``'s ``column``."""
        found: set[str] = set()
        frontier = [(model, column.lower())]
        seen = set(frontier)
        level = 0
        while frontier and (depth is None or level < depth):
            nxt = []
            for table, col in frontier:
                lineage = self.lineage(table, col)
                for edge in lineage.edges if lineage is not None else ():
                    found.add(edge.table)
                    if (edge.table, edge.column) not in seen:
                        seen.add((edge.table, edge.column))
                        nxt.append((edge.table, edge.column))
            frontier = nxt
            level += 1
        return found

    # -- summaries ------------------------------------------------------------------------
    def plain(self, name: str) -> PlainModel:
        """A model's columns as plain tuples (column_types.PlainModel): what summaries and
        the manifest read, without decoding 50,000 edges into named tuples."""
        if isinstance(self.models, ModelTable):
            return self.models.plain[name]
        return encode(self.models[name])

    def resolution(self, names: Iterable[str] | None = None) -> Resolution:
        resolved = total = opaque = 0
        unknown = []
        for name in sorted(self.models) if names is None else sorted(names):
            _, columns, _, _, is_opaque = self.plain(name)
            if is_opaque:
                opaque += len(columns or ())
            elif columns is None:
                unknown.append(name)
            else:
                total += len(columns)
                resolved += sum(1 for c in columns if c[2])
        return Resolution(resolved, total, opaque, tuple(unknown))

    def _deferred(self, upstream: str) -> str | None:
        """Where ``upstream`` is read from when it is deferred (``read from PATH (not built
        here)``: compiler/deferral.bind_project's stand-in says so), else None."""
        from teal.compiler.deferral import DEFERRED_KEY

        model = self.project.models.get(upstream)
        said = model.config.get(DEFERRED_KEY) if model is not None else None
        return said if isinstance(said, str) and said else None

    def errors(self, names: Iterable[str] | None = None) -> list[TealError]:
        """A located error for every reference to a column that does not exist, and for
        every enforced contract a SQL model's columns break, in build order."""
        from teal.compiler.declared import contract_enforced, contract_errors

        chosen = None if names is None else set(names)
        out: list[TealError] = []
        for name in self.project.dag.order():
            if chosen is not None and name not in chosen:
                continue
            model = self.project.models[name]
            _, columns, missing, _, is_opaque = self.plain(name)
            if columns is not None and not is_opaque:
                produced = tuple(c[0] for c in columns)
                out += partition_column_errors(model, produced)
                out += unique_key_errors(model, produced)
                if model.kind == "sql" and self.project.config.dbt is None:  # dbt-duckdb: x_1
                    twice = star_duplicate_error(model, produced)
                    out += [twice] if twice is not None else []
            if not missing and (is_opaque or not contract_enforced(model.config)):
                continue  # nothing to say: no model decoded
            found = self.models[name]
            said = [missing_error(model, m, self._deferred(m.upstream)) for m in found.missing]
            # once each: a snapshot's SQL reads its updated_at in four places
            out += list({str(e): e for e in said}.values())
            if not is_opaque:
                out += contract_errors(model, found.names)
        return out


def column_graph(
    project: Project,
    *,
    known: Mapping[str, tuple[str, ...]] | None = None,
    use_cache: bool = True,
    names: Iterable[str] | None = None,
    typed: TypedTrace | None = None,
) -> ColumnGraph:
    """The column lineage of every model of ``project``, or of ``names`` and what they
    read (``teal compile -s``: the cost follows the selection).

    ``known``: columns the caller knows of models or sources teal cannot read here (a
    Python asset's last materialization, a warehouse source's table). ``typed``: a type
    check to run on each tree traced, with DuckDB's names to trace ahead on both cores
    (compiler/model_trace.py)."""
    known = _lower(known)
    path = _cache_path(project, "lineage.pickle") if use_cache else None
    cache = CompileCache(path, keep_unused=names is not None)
    sources = _source_columns(project, cache, known)
    order = with_upstreams(project, names)
    given: dict[str, ModelColumns] = {}
    if names is not None and len(order) > len(chosen := set(names)):
        # what the selection reads is needed by name only: bound (a build after this
        # binds the same, so it is usually cached), not traced for lineage edges
        from teal.compiler.column_binding import bound_columns

        upstream = [n for n in order if n not in chosen]
        bound = bound_columns(project, upstream, known=known, use_cache=use_cache)
        given = {n: bound.models[n] for n in upstream}
    graph = _traced(project, order, cache, sources, known, lineage=True, given=given, typed=typed)
    if use_cache and names is None:  # a build after this compile binds nothing (column_binding)
        from teal.compiler.column_binding import store_bound

        store_bound(project, graph, known)
    return graph


def with_upstreams(project: Project, names: Iterable[str] | None) -> list[str]:
    """``names`` (all models: None) and every model they read, in build order."""
    if names is None:
        return project.dag.order()
    closure = set(names)  # one walk for them all
    frontier = list(closure)
    while frontier:
        for upstream in project.models[frontier.pop()].upstreams:
            if upstream not in closure:
                closure.add(upstream)
                frontier.append(upstream)
    return [n for n in project.dag.order() if n in closure]


def _traced(
    project: Project,
    order: list[str],
    cache: CompileCache,
    sources: dict[str, tuple[str, ...] | None],
    known: Mapping[str, tuple[str, ...]],
    *,
    lineage: bool,
    engine_bound: EngineBound | None = None,
    given: Mapping[str, ModelColumns] | None = None,
    typed: TypedTrace | None = None,
) -> ColumnGraph:
    """The models ``order`` (upstreams first, closed under upstreams) traced, or with
    ``lineage=False`` bound only, each looked up in ``cache`` first: per model, and all
    of them under one key (an unchanged project costs one lookup, not one per model).

    ``engine_bound`` (binding only): called once, at the first model not in the cache, for
    the output columns of the models the engine's binder bound against stand-ins of what
    they read; those are taken as bound (every column they reference exists) without
    tracing, and the tracer runs for the rest (a binder error to locate, or an upstream
    of unknown types).

    ``given``: models of ``order`` whose columns the caller found (bound names, no
    edges), taken as they are; the whole graph is then not cached under one key.

    ``typed`` (lineage only): :func:`column_graph`'s; what its check finds goes in its
    ``found``."""
    kind = "columns" if lineage else "bound"
    chosen = set(order)
    given = given or {}
    digest = _project_digest(project, sources, known, chosen)
    version = _tracer_version()
    whole = content_key(f"{kind}-graph", version, digest, *sorted(given))
    stored = cache.get(f"{kind}-graph", whole)
    if isinstance(stored, dict):
        return ColumnGraph(project, ModelTable(stored), sources)
    relations = TableKeys(project)
    todo = [
        n
        for n in order
        if n not in given
        and project.models[n].kind == "sql"
        and project.models[n].rendered_sql is not None
    ]

    def predict(check: TypeCheck) -> dict[str, dict[str, tuple[str, ...] | None]]:
        return _predicted(project, order, cache, version, sources, known, given, check)

    tracing = Tracing(project.models, relations, lineage, typed, todo, predict)
    try:
        graph = _trace_all(
            project, order, cache, version, sources, known, kind, given, engine_bound, tracing
        )
        tracing.finish()
    except BaseException:
        tracing.abandon()
        raise
    cache.put(f"{kind}-graph", whole, graph.plains)
    cache.save()
    return graph


def _trace_all(
    project: Project,
    order: list[str],
    cache: CompileCache,
    version: str,
    sources: dict[str, tuple[str, ...] | None],
    known: Mapping[str, tuple[str, ...]],
    kind: str,
    given: Mapping[str, ModelColumns],
    engine_bound: EngineBound | None,
    tracing: Tracing,
) -> ColumnGraph:
    """:func:`_traced`'s pass in build order (``version``: the tracer's, in each cache
    key); the graph's ``plains`` hold what to cache."""
    models: dict[str, ModelColumns] = {}
    plains: dict[str, PlainModel] = {}  # the same tuples in both entries: pickled once
    traced = 0
    bound_by_engine: EngineBinding | None = None
    for name in order:
        model = project.models[name]
        if name in given:
            models[name] = given[name]
            plains[name] = encode(given[name])
            continue
        if model.kind != "sql" or model.rendered_sql is None:
            models[name] = _python_columns(model, known.get(name))
            plains[name] = encode(models[name])
            continue
        reads = query_reads(project, model)
        schemas = {key: models[key].names if key in models else sources.get(key) for key in reads}
        key = _trace_key(kind, version, name, model.rendered_sql, schemas)
        plain = cache.get(kind, key)
        if plain is None and engine_bound is not None and bound_by_engine is None:
            bound_by_engine = engine_bound()
        names = bound_by_engine.names.get(name) if bound_by_engine else None
        if plain is None and not names and bound_by_engine and bound_by_engine.untyped:
            names = _bound_untyped(model, schemas, bound_by_engine.untyped)
        if plain is None and names:
            columns = tuple(ColumnLineage(n.lower(), (), True) for n in names)
            models[name] = ModelColumns(name, columns, (), "", False)
            plain = encode(models[name])
            cache.put(kind, key, plain)
        elif plain is None:
            models[name], plain = tracing.trace(model, schemas)
            cache.put(kind, key, plain)
            traced += 1
        else:
            models[name] = decode(plain)
        plains[name] = plain
    graph = ColumnGraph(project, models, sources)
    graph.traced = traced
    graph.plains = plains
    return graph


def _predicted(
    project: Project,
    order: list[str],
    cache: CompileCache,
    version: str,
    sources: Mapping[str, tuple[str, ...] | None],
    known: Mapping[str, tuple[str, ...]],
    given: Mapping[str, ModelColumns],
    check: TypeCheck,
) -> dict[str, dict[str, tuple[str, ...] | None]]:
    """The SQL models of ``order`` the lineage cache will not know, each with its
    upstreams' names as they are predicted to be traced (model_trace.Tracing): the
    cache's, a model's select list (no ``*``), else DuckDB's (``check.names``)."""
    names: dict[str, tuple[str, ...] | None] = {}
    out: dict[str, dict[str, tuple[str, ...] | None]] = {}
    for name in order:
        model = project.models[name]
        if name in given:
            names[name] = given[name].names
            continue
        if model.kind != "sql" or model.rendered_sql is None:
            names[name] = _python_columns(model, known.get(name)).names
            continue
        reads = query_reads(project, model)
        schemas = {key: names[key] if key in names else sources.get(key) for key in reads}
        key = _trace_key("columns", version, name, model.rendered_sql, schemas)
        plain = cache.peek("columns", key)
        if plain is not None:
            names[name] = None if plain[1] is None else tuple(c[0] for c in plain[1])
            continue
        if model.columns is not None:  # its select list names them (no '*')
            names[name] = model.columns
        else:
            upstreams = {u: n for u in model.upstreams if (n := names.get(u)) is not None}
            names[name] = check.names(name, upstreams)
        out[name] = schemas
    return out


def _trace_key(
    kind: str,
    version: str,
    name: str,
    rendered_sql: str,
    schemas: Mapping[str, tuple[str, ...] | None],
) -> str:
    """A model's entry in the lineage (or binding: ``kind``) cache."""
    return content_key(kind, version, name, rendered_sql, repr(sorted(schemas.items())))


def _bound_untyped(
    model: Model,
    schemas: Mapping[str, tuple[str, ...] | None],
    untyped: Callable[[str, Mapping[str, tuple[str, ...]]], tuple[str, ...] | None],
) -> tuple[str, ...] | None:
    """``model``'s output names from the engine's binder against stand-ins of its
    upstreams' names, when the names of everything it reads are known (else None: traced)."""
    known = {key: names for key, names in schemas.items() if names is not None}
    if len(known) < len(schemas):
        return None
    return untyped(model.name, {u: known[u] for u in model.upstreams if u in known})


def bound_key(
    project: Project,
    name: str,
    rendered_sql: str,
    schemas: Mapping[str, tuple[str, ...] | None],
) -> str:
    """The cache key of one model's binding (column_binding.py stores them too)."""
    return content_key(
        "bound", _tracer_version(), name, rendered_sql, repr(sorted(schemas.items()))
    )


def _cache_path(project: Project, file: str) -> Path | None:
    synthetic = project.config.config_path.name.startswith("<")
    return None if synthetic else project.root / ".teal" / "cache" / file


def _lower(known: Mapping[str, tuple[str, ...]] | None) -> dict[str, tuple[str, ...]]:
    return {k: tuple(c.lower() for c in v) for k, v in (known or {}).items()}


def _tracer_version() -> str:
    """VERSION and the size and modification time of the tracer's modules: an edited
    tracer (a teal upgrade) traces again rather than reuse what the old one found."""
    here = os.path.dirname(os.path.realpath(__file__))
    stats = [VERSION]
    modules = ("columns.py", "column_lineage.py", "column_types.py", "declared.py")
    traced = ("column_binding.py", "column_type_checks.py", "model_trace.py", "table_keys.py")
    for module in (*modules, *traced):
        stat = os.stat(os.path.join(here, module))
        stats.append(f"{module}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(stats)


def _project_digest(
    project: Project,
    sources: Mapping[str, tuple[str, ...] | None],
    known: Mapping[str, tuple[str, ...]],
    names: set[str] | None = None,
) -> str:
    """What the whole graph depends on: each model's text (its rendered SQL, and its
    source when a template made it, as error positions point there; a Python model's
    version), what it reads, its declared columns and contract; the sources' columns;
    ``known``."""
    parts = []
    for name, m in project.models.items():
        if names is not None and name not in names:
            continue
        code = m.sql_hash if m.rendered_sql is None else m.rendered_sql
        if m.raw_sql is not None and m.raw_sql != m.rendered_sql:
            code += "\x1f" + m.raw_sql
        contract = contract_enforced(m.config)
        parts.append(f"{name}|{m.kind}|{code}|{m.upstreams}|{m.source_tables}|{m.declared}")
        parts.append(f"{contract}|{m.config.get('columns')}")
    parts.append(repr(sorted(sources.items())))
    parts.append(repr(sorted(known.items())))
    return "\n".join(parts)


def _source_columns(
    project: Project, cache: CompileCache, known: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...] | None]:
    from teal.compiler.source_schemas import source_columns

    out: dict[str, tuple[str, ...] | None] = {}
    read = {key for m in project.models.values() for key in m.source_tables}
    for source in project.sources.values():
        for table in source.tables.values():
            if table.key in known:
                out[table.key] = known[table.key]
            elif table.key in read:
                out[table.key] = source_columns(table, cache)
            else:
                out[table.key] = None
    return out


def _python_columns(model: Model, known: tuple[str, ...] | None) -> ModelColumns:
    """A Python asset: its declared columns (an enforced contract) or those the caller
    knows; what they are made of is opaque."""
    names = known
    schema = model.config.get("columns")
    if isinstance(schema, dict) and schema:  # teal.asset(columns=...)
        names = tuple(str(c).lower() for c in schema)
    if contract_enforced(model.config) and model.declared:
        names = tuple(c.name.lower() for c in model.declared)
    columns = None if names is None else tuple(ColumnLineage(n, (), False) for n in names)
    note = "" if names is not None else "a Python asset without declared columns"
    return ModelColumns(model.name, columns, (), note, True)
