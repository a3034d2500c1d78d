"""The last stage of a load: each resolved model compiled into a :class:`Model`.

Models are compiled upstreams first, so that a model's SQL can point at what its
upstreams became (their relations, an ephemeral's compiled SQL). A SQL model gets its
compiled SQL (compiler.compile_sql), that of its ``is_incremental()`` variant when it
differs, and its version: a digest of its tokens, of what each reference points at and
of its config (not of its formatting, comments or description: a reformatted model is
not a changed one). A Python asset gets the ``SELECT`` each upstream parameter reads. A
partitioned model gets the filter that selects one of its partitions.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from teal.compiler.errors import ProjectError

if TYPE_CHECKING:
    from teal.compiler.compile_sql import QueryCompiler
    from teal.compiler.partition_sql import Pushdown
    from teal.compiler.project import Model
    from teal.compiler.resolve import ResolvedModel


def compile_model(r: ResolvedModel, done: dict[str, Model], queries: QueryCompiler) -> Model:
    """Model ``r`` compiled; ``done`` holds its upstreams, compiled."""
    from teal.compiler.project import Model

    m = r.staged
    compiled_sql = None
    ast = None
    sql_hash = m.sql_hash
    incremental_sql = None
    pushdowns: tuple[Pushdown, ...] = ()
    inputs: list[tuple[str, str, str]] = []
    input_keys: list[str] = []
    if m.kind == "sql":
        assert m.full is not None  # a SQL model is parsed
        full = queries.compile(m, m.full, r.references, done)
        compiled_sql, ast, pushdowns = full.sql, full.ast, full.pushdowns
        inc_shape = ""
        if m.incremental is not None:
            variant = queries.compile(m, m.incremental, r.incremental_references, done)
            if variant.sql != compiled_sql:
                incremental_sql, inc_shape = variant.sql, variant.shape
                if variant.pushdowns:
                    raise ProjectError(
                        "is_incremental() is not supported in partitioned models",
                        path=m.display_path,
                        line=m.line,
                        hint="a partitioned model already rebuilds one partition at a time",
                    )
        from teal.compiler.model_config import versioned_config
        from teal.compiler.sql import text_hash

        where = m.external.location if m.external is not None else ""  # the root's target
        sql_hash = text_hash(
            full.shape + "|" + inc_shape + "|" + repr(versioned_config(m.config)) + where
        )
    else:
        from teal.compiler.assets import input_kind

        assert m.asset is not None  # a Python model is an asset
        found = []
        for index, read in enumerate(r.inputs):
            select_sql, pushdown = queries.select(read.kind, read.key, done, m, index)
            if pushdown is not None:
                found.append(pushdown)
            annotation = m.asset.annotations.get(read.param, inspect.Parameter.empty)
            inputs.append((read.param, select_sql, input_kind(annotation) or "arrow"))
            input_keys.append(read.key)
        pushdowns = tuple(found)
    partition_filter = None
    if m.partitions is not None:
        from teal.compiler.partition_sql import own_filter
        from teal.compiler.partitions import TimePartitions

        partition_filter = own_filter(m.partitions, m.partition_column)
        if m.config.get("backfill_policy") == "single_run":
            if not isinstance(m.partitions, TimePartitions):
                raise ProjectError(
                    "backfill_policy='single_run' needs time partitions",
                    path=m.display_path,
                    line=m.line,
                    hint="static and two-dimensional partitions build one partition per run",
                )
            if compiled_sql and "__teal_partition_key__" in compiled_sql:
                raise ProjectError(
                    "backfill_policy='single_run' builds a range of partitions in one query, "
                    "so the model cannot use partition.key",
                    path=m.display_path,
                    line=m.line,
                    hint="filter on partition.start / partition.end instead",
                )
    tags = m.config.get("tags") or []
    return Model(
        name=m.name,
        kind=m.kind,
        path=m.path,
        display_path=m.display_path,
        folder=m.folder,
        schema=m.schema,
        alias=m.alias,
        materialized=m.materialized,
        config=m.config,
        tags=tuple([tags] if isinstance(tags, str) else tags),
        description=str(m.config.get("description") or ""),
        upstreams=r.upstreams,
        source_tables=r.source_tables,
        raw_sql=m.raw_sql,
        rendered_sql=m.full.rendered.sql if m.full is not None else None,
        compiled_sql=compiled_sql,
        sql_hash=sql_hash,
        asset=m.asset,
        line=m.line,
        ast=ast,
        inputs=tuple(inputs),
        input_keys=tuple(input_keys),
        incremental_sql=incremental_sql,
        strategy=m.strategy,
        unique_key=m.unique_key,
        partitions=m.partitions,
        partition_column=m.partition_column,
        pushdowns=pushdowns,
        partition_filter=partition_filter,
        columns=m.full.columns if m.full is not None else None,
        external=m.external,
        io_manager=m.io_manager,
    )
