"""``teal compile`` output: compiled SQL per model and ``target/manifest.json``.

With a column graph (compiler/column_lineage.py), each model's entry holds its columns:
``"columns": {"total": ["aggregate:stg_orders.amount", "filter:stg_orders.status"]}``
(each upstream column as ``kind:model.column``; a source's table is ``source.table``),
null when they are unknown, and ``"lineage"`` says how much of it is resolved.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.project import Model, Project
from teal.compiler.replaced_files import replace_with

if TYPE_CHECKING:
    from teal.compiler.column_lineage import ColumnGraph
    from teal.compiler.offload import ForkedCall
    from teal.compiler.strategy import LoadStrategy


def model_entry(project: Project, model: Model) -> dict[str, Any]:
    """The manifest record of one model (also what ``teal ls --json`` prints)."""
    config = {k: v for k, v in model.config.items()}
    entry: dict[str, Any] = {
        "name": model.name,
        "kind": model.kind,
        "path": model.display_path,
        "relation": model.relation if model.materialized != "ephemeral" else None,
        "schema": model.schema,
        "materialized": model.materialized,
        "tags": list(model.tags),
        "description": model.description,
        "upstreams": list(model.upstreams),
        "downstreams": list(project.dag.downstreams.get(model.name, ())),
        "sources": list(model.source_tables),
        "config": config,
        "sql_hash": model.sql_hash,
    }
    if model.external is not None:  # where its files are (compiler/external.py)
        spec = model.external
        entry["external"] = {
            "location": spec.location,
            "format": spec.format,
            "compression": spec.compression,
            "partition_by": list(spec.partition_by),
            "single_file": spec.single_file,
        }
    if model.io_manager is not None:
        entry["io_manager"] = model.io_manager
    return entry


def column_entry(graph: ColumnGraph, name: str) -> dict[str, Any]:
    """A model's columns with their upstream columns, and how much of that is known (read
    from the graph's plain form: no named tuples are made for it)."""
    _, columns, _, note, opaque = graph.plain(name)
    return {
        "columns": None
        if columns is None
        else {c: [f"{k}:{t}.{col}" for k, t, col in edges] for c, edges, _ in columns},
        "lineage": {
            "resolved": 0 if opaque else sum(1 for c in columns or () if c[2]),
            "columns": None if columns is None else len(columns),
            "opaque": opaque,
            "note": note,
        },
    }


def write_compiled(
    project: Project, names: set[str] | None = None, next_builds: frozenset[str] = frozenset()
) -> int:
    """Write ``target/compiled/<path>.sql`` (a dbt project's under its name, as dbt does)
    for the SQL models of ``names`` (all: None), the incremental models of ``next_builds``
    as their next build runs them (``is_incremental()`` true: their table exists),
    leaving a file that holds the same text as it is; how many files were written."""
    compiled_dir = project.root / "target" / "compiled"
    if project.config.dbt is not None:  # dbt's layout: compiled/<project>/models/...
        compiled_dir = compiled_dir / project.config.name
    compiled_dir.mkdir(parents=True, exist_ok=True)
    folders: set[Path] = set()  # made already: one mkdir per folder, not per file
    written = 0
    for name in project.dag.order():
        model = project.models[name]
        if names is not None and name not in names:
            continue
        if model.kind != "sql" or model.compiled_sql is None:
            continue
        out = compiled_dir / model.display_path
        if out.parent not in folders:
            out.parent.mkdir(parents=True, exist_ok=True)
            folders.add(out.parent)
        sql = model.compiled_sql
        if name in next_builds and model.incremental_sql is not None:
            sql = model.incremental_sql
        text = f"-- {model.name}: {model.materialized} {model.relation}\n{sql}\n"
        try:  # an unchanged file is left as it is
            unchanged = out.read_text(encoding="utf-8") == text
        except FileNotFoundError:
            unchanged = False
        if not unchanged:
            out.write_text(text, encoding="utf-8")
            written += 1
    return written


def write_target(
    project: Project, names: set[str] | None = None, graph: ColumnGraph | None = None
) -> Path:
    """Write ``target/manifest.json`` (with each model's column lineage when ``graph`` is
    given) beside the compiled SQL :func:`write_compiled` wrote; ``target/``."""
    target = project.root / "target"
    chosen = [n for n in project.dag.order() if names is None or n in names]
    manifest = {
        "project": project.config.name,
        "warehouse": str(project.config.warehouse_path),
        "models": {
            n: model_entry(project, project.models[n])
            | ({} if graph is None else column_entry(graph, n))
            for n in chosen
        },
        "sources": {
            t.key: {"source": t.source, "table": t.name, "type": t.kind, "location": t.location}
            for s in project.sources.values()
            for t in s.tables.values()
        },
    }
    if project.config.dbt is not None:  # dbt's manifest, which dbt's tools read
        from teal.compiler.dbt.manifest import write_manifest

        return write_manifest(project)
    # compact with column lineage (as dbt writes its manifest): json's indenting encoder is
    # pure Python and took 0.25 s over the 1,000-model benchmark's 50,000 edges
    if graph is None:
        text = json.dumps(manifest, indent=2, default=str)
    else:
        text = json.dumps(manifest, separators=(",", ":"), default=str)
    replace_with(target / "manifest.json", text)
    return target


def write_compiled_ahead(
    project: Project, names: set[str], next_builds: frozenset[str], strategy: LoadStrategy | None
) -> ForkedCall | None:
    """A forked child running :func:`write_compiled`, where ``strategy`` allows one and
    there are files enough to pay for the fork (compiler/offload.py); None: write in line."""
    from teal.compiler.offload import MIN_FILES, ForkedCall

    if strategy is None or len(names) < MIN_FILES:
        return None
    return ForkedCall.start(lambda: write_compiled(project, names, next_builds), strategy)


def built_incrementals(project: Project, built: Collection[str]) -> frozenset[str]:
    """The incremental models of a dbt project among ``built`` (the models the warehouse
    records built): ``teal compile`` shows them as their next build runs them, as ``dbt
    compile`` renders ``is_incremental()`` true for a table that exists. A teal project's
    compiled SQL is its first build's (its compile is kept and reused by key: the
    warehouse is not part of that key)."""
    if project.config.dbt is None:
        return frozenset()
    return frozenset(
        name
        for name in built
        if name in project.models
        and project.models[name].materialized == "incremental"
        and project.models[name].incremental_sql is not None
    )
