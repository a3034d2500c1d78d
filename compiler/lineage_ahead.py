"""Tracing lineage on both cores: a cold ``teal compile`` hands half of the models it must
trace to a forked child (compiler/offload.py's ``ForkedCall``).

Tracing a model needs only the names of the columns it reads, and a SQL model's output
names are known from its parse (``Model.columns``) before it is traced; so each model's
trace can start at once, with those names as its upstreams' schemas. The traces go into
the lineage cache under the key the traced names would give. Then the usual pass in build
order (column_lineage._traced) takes each model from the cache when the names it was
traced with were the names its upstreams' traces found (the keys are equal), and traces
it again when they were not (an output the parse could not name, a trace that failed): the
result is the one a single process computes, on two cores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from teal.compiler.cache import CompileCache, content_key
from teal.compiler.column_lineage import _python_columns, _Relations, _trace_safely, _tracer_version
from teal.compiler.column_types import PlainModel, encode

if TYPE_CHECKING:
    from teal.compiler.project import Project
    from teal.compiler.strategy import LoadStrategy

MIN_TRACES = 64  # below this, a fork (and its copy of the parent) costs more than it saves

# one model to trace: its name, its cache key, and the schemas of what it reads
_Job = tuple[str, str, dict[str, tuple[str, ...] | None]]


def trace_ahead(
    project: Project,
    order: list[str],
    cache: CompileCache,
    sources: Mapping[str, tuple[str, ...] | None],
    known: Mapping[str, tuple[str, ...]],
    strategy: LoadStrategy | None,
) -> int:
    """Trace the models of ``order`` the lineage cache does not know, half in a forked
    child, into ``cache``; how many were traced (0: too few to share, or no fork here)."""
    if strategy is None or not strategy.can_fork():
        return 0
    jobs = _jobs(project, order, cache, sources, known)
    if len(jobs) < MIN_TRACES:
        return 0
    from teal.compiler.offload import ForkedCall

    relations = _Relations(project)
    theirs, mine = jobs[1::2], jobs[0::2]  # alternate: both halves span the layers

    def trace(part: list[_Job]) -> list[tuple[str, PlainModel]]:
        return [
            (key, encode(_trace_safely(project.models[name], relations, schemas)))
            for name, key, schemas in part
        ]

    child = ForkedCall.start(lambda: trace(theirs), strategy)
    if child is None:
        return 0
    for key, plain in trace(mine):
        cache.put("columns", key, plain)
    found = child.result()
    if isinstance(found, list):  # else the pass in build order traces them
        for key, plain in found:
            cache.put("columns", key, plain)
    return len(mine) + (len(theirs) if isinstance(found, list) else 0)


def _jobs(
    project: Project,
    order: list[str],
    cache: CompileCache,
    sources: Mapping[str, tuple[str, ...] | None],
    known: Mapping[str, tuple[str, ...]],
) -> list[_Job]:
    """The SQL models of ``order`` the cache misses, each with the schemas it reads as
    the parse names them."""
    named: dict[str, tuple[str, ...] | None] = {}
    jobs: list[_Job] = []
    version = _tracer_version()
    for name in order:
        model = project.models[name]
        if model.kind != "sql" or model.rendered_sql is None:
            named[name] = _python_columns(model, known.get(name)).names
            continue
        named[name] = model.columns
        reads = (*model.upstreams, *model.source_tables)
        schemas = {k: named.get(k) if k in project.models else sources.get(k) for k in reads}
        key = content_key(
            "columns", version, name, model.rendered_sql, repr(sorted(schemas.items()))
        )
        if cache.get("columns", key) is None:
            jobs.append((name, key, schemas))
    return jobs
