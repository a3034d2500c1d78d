"""Binding before a build: every selected model's column names, checked, cheaply.

A build binds what it is about to run before any data changes (runtime/session.py): each
reference to a column must exist in what it reads, and an enforced contract must match.
That needs each model's output names and its missing references, not the lineage edges,
so the tracer runs with ``lineage=False`` (compiler/columns.py: about half the cost of a
full trace) over the selected models and their upstreams only.

Results live in ``.teal/cache/binding.pickle``, apart from the lineage cache, so that a
warm build reads a small file (names, no edges): one entry per model under its rendered
SQL and its upstreams' columns, and one for the whole selection. A full trace
(``teal compile``, ``teal validate``) also stores its binding here (:func:`store_bound`),
so the build after a compile binds nothing again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from teal.compiler.cache import CompileCache, content_key
from teal.compiler.column_lineage import (
    ColumnGraph,
    EngineBinding,
    _cache_path,
    _lower,
    _project_digest,
    _python_columns,
    _source_columns,
    _trace_key,
    _traced,
    _tracer_version,
    bound_key,
    with_upstreams,
)
from teal.compiler.column_types import ColumnLineage, ModelColumns, PlainModel, encode
from teal.compiler.graph import depth_levels
from teal.compiler.table_keys import query_reads

if TYPE_CHECKING:
    from teal.compiler.project import Project

CACHE_FILE = "binding.pickle"


def bound_columns(
    project: Project,
    names: Iterable[str] | None = None,
    *,
    known: Mapping[str, tuple[str, ...]] | None = None,
    use_cache: bool = True,
    engine_bound: Callable[[list[str]], EngineBinding] | None = None,
) -> ColumnGraph:
    """The column names and missing references of ``names`` (all models: None) and of
    every model they read, as a :class:`ColumnGraph` whose columns have no edges.

    ``engine_bound``: given the models to bind (upstreams first), what an engine's binder
    bound; those need no trace (column_lineage._traced)."""
    lowered = _lower(known)
    order = with_upstreams(project, names)
    path = _cache_path(project, CACHE_FILE) if use_cache else None
    cache = CompileCache(path, keep_unused=names is not None)
    sources = _source_columns(project, cache, lowered)
    if engine_bound is None:
        return _traced(project, order, cache, sources, lowered, lineage=False)

    def bound() -> EngineBinding:
        binding = engine_bound(order)
        if binding.ahead is not None:
            _bind_ahead(project, order, cache, sources, lowered, binding)
        return binding

    return _traced(project, order, cache, sources, lowered, lineage=False, engine_bound=bound)


def _bind_ahead(
    project: Project,
    order: list[str],
    cache: CompileCache,
    sources: Mapping[str, tuple[str, ...] | None],
    known: Mapping[str, tuple[str, ...]],
    binding: EngineBinding,
) -> None:
    """Have the engine bind, depth by depth and side by side, the names column_lineage's
    pass in build order will ask it for (``EngineBinding.untyped``): the models the cache
    misses that its binder could not type, each with what it reads named as that pass will
    name it. A model whose names cannot be foretold (one to trace) stops the foretelling
    below it; a wrong forecast costs only a binding in line (the binder answers from what
    it bound ahead only when asked with the same stand-ins)."""
    assert binding.ahead is not None
    version = _tracer_version()
    names: dict[str, tuple[str, ...] | None] = {}  # as the pass will have them
    for level in depth_levels(order, lambda n: n, lambda n: project.models[n].upstreams):
        asked: list[tuple[str, dict[str, tuple[str, ...]]]] = []
        for name in level:
            model = project.models[name]
            if model.kind != "sql" or model.rendered_sql is None:
                names[name] = _python_columns(model, known.get(name)).names
                continue
            if any(u not in names for u in model.upstreams):
                continue  # below a model to trace
            upstreams = set(model.upstreams)
            reads = query_reads(project, model)
            schemas = {k: names[k] if k in names else sources.get(k) for k in reads}
            key = _trace_key("bound", version, name, model.rendered_sql, schemas)
            plain = cache.peek("bound", key)
            if plain is not None:
                names[name] = None if plain[1] is None else tuple(c[0] for c in plain[1])
            elif typed := binding.names.get(name):
                names[name] = tuple(c.lower() for c in typed)
            elif all(v is not None for v in schemas.values()):  # as _bound_untyped asks
                asked.append(
                    (name, {u: v for u, v in schemas.items() if u in upstreams and v is not None})
                )
            elif model.columns is not None:  # to trace: its select list names them
                names[name] = model.columns
        binding.ahead(asked)
        for name, read in asked:
            found = binding.untyped(name, read) if binding.untyped else None
            if found:
                names[name] = tuple(c.lower() for c in found)
            elif (columns := project.models[name].columns) is not None:
                names[name] = columns  # to trace: its select list names them


def store_bound(project: Project, graph: ColumnGraph, known: Mapping[str, tuple[str, ...]]) -> None:
    """Store the binding a full trace of every model found (``graph``), unless stored."""
    path = _cache_path(project, CACHE_FILE)
    if path is None:
        return
    cache = CompileCache(path)
    order = project.dag.order()
    digest = _project_digest(project, graph.sources, known, set(order))
    whole = content_key("bound-graph", _tracer_version(), digest)
    if cache.has("bound-graph", whole):
        return
    plains: dict[str, PlainModel] = {}
    for name in order:
        model = project.models[name]
        found = graph.models[name]
        bound = encode(
            ModelColumns(
                name,
                None
                if found.columns is None
                else tuple(ColumnLineage(c.name, (), True) for c in found.columns),
                found.missing,
                found.note,
                found.opaque,
            )
        )
        plains[name] = bound
        if model.kind == "sql" and model.rendered_sql is not None:
            reads = query_reads(project, model)
            schemas = {key: graph.columns_of(key) for key in reads}
            cache.put("bound", bound_key(project, name, model.rendered_sql, schemas), bound)
    cache.put("bound-graph", whole, plains)
    cache.save()
