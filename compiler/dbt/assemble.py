"""The last step of a dbt load: the compiled nodes as teal's :class:`Project` (models, sources,
the DAG, checks, hooks, the manifest's node entries), and the config checks of a model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.nodes import (
    STRATEGIES,
    SUPPORTED_MATERIALIZATIONS,
    Node,
    line_of,
    manifest_node,
    position,
    source_line,
)
from teal.compiler.errors import LineageError, ProjectError, TealError, did_you_mean
from teal.compiler.exposures import resolve_exposures

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader


def check_model_config(loader: DbtLoader, node: Node) -> None:
    mat = node.materialized
    line, col = (
        position(node.raw, r"(?<=materialized=['\"])\w+")
        or position(node.raw, r"materialized")
        or (None, None)
    )
    if mat not in SUPPORTED_MATERIALIZATIONS:
        defined = loader.jinja.materializations.get(mat)
        if defined:
            message = f"model uses the custom materialization '{mat}' ({defined}), which teal does not support"
            hint = "teal builds view, table, incremental and ephemeral models through its own warehouse layer"
        elif mat == "materialized_view":
            message, hint = (
                "materialized='materialized_view' is not supported on DuckDB",
                "use table",
            )
        else:
            message = f"materialized='{mat}' is not a materialization"
            hint = (
                did_you_mean(mat, SUPPORTED_MATERIALIZATIONS)
                or "use view, table, incremental or ephemeral"
            )
        if line is None and node.yaml is not None:  # set in YAML or dbt_project.yml
            where, line, col = node.yaml_display, getattr(node.yaml, "line", None), None
        else:
            where = node.display
        loader.errors.append(
            ProjectError(
                message,
                path=where,
                line=line,
                col=col,
                hint=hint,
                source_line=source_line(node.raw, line) if where == node.display else None,
            )
        )
        return
    if mat == "incremental":
        strategy = node.config.get("incremental_strategy") or (
            "delete+insert" if node.config.get("unique_key") else "append"
        )
        if strategy == "microbatch":
            from teal.compiler.dbt.microbatch import check_microbatch

            check_microbatch(loader, node)
        elif strategy not in STRATEGIES:
            loader.errors.append(
                ProjectError(
                    f"incremental_strategy='{strategy}' is not supported on DuckDB",
                    path=node.display,
                    line=line_of(node.raw, r"incremental_strategy"),
                    hint=did_you_mean(str(strategy), STRATEGIES)
                    or "use append, delete+insert or merge",
                )
            )
        elif strategy == "merge" and not node.config.get("unique_key"):
            # delete+insert without one appends, as dbt-duckdb's (assemble_project)
            loader.errors.append(
                ProjectError(
                    f"incremental_strategy='{strategy}' needs a unique_key",
                    path=node.display,
                    line=line_of(node.raw, r"incremental_strategy"),
                    hint="add unique_key='<column>' (or a list of columns) naming what "
                    "identifies a row, or use 'append'",
                )
            )
        node.config["incremental_strategy"] = strategy
        change = node.config.get("on_schema_change")
        allowed = ("ignore", "fail", "append_new_columns", "sync_all_columns")
        if change is not None and change not in allowed:
            line, col = position(node.raw, r"on_schema_change") or (None, None)
            loader.errors.append(
                ProjectError(
                    f"on_schema_change={change!r} is not one of {', '.join(allowed)}",
                    path=node.display,
                    line=line,
                    col=col,
                    hint=did_you_mean(str(change), allowed),
                )
            )


def assemble_project(loader: DbtLoader, nodes: list[Node]) -> Any:
    from teal.compiler.dbt.source_freshness import source_freshness
    from teal.compiler.graph import Dag
    from teal.compiler.project import Model, Project
    from teal.compiler.sources import Source, SourceTable
    from teal.compiler.sql import text_hash

    names = {n.name for n in nodes}
    sources: dict[str, Source] = {}
    attached = {a.alias for a in loader.settings.attachments}
    for (source, table), info in loader.sources.items():
        src = sources.get(source)
        tables = dict(src.tables) if src else {}
        database = f"{info['database']}." if info["database"] in attached else ""
        freshness, loaded_at = source_freshness(info, loader.warnings)
        tables[table.lower()] = SourceTable(
            source=source,
            name=table,
            kind="warehouse",
            location=f"{database}{info['schema']}.{info['identifier']}",
            description=str(info["entry"].get("description") or ""),
            freshness=freshness,
            loaded_at_field=loaded_at,
        )
        sources[source] = Source(
            name=source,
            kind="warehouse",
            path=None,
            tables=tables,
            declared_in=info["display"],
            line=getattr(info["source_entry"], "line", None),
        )
    if loader.settings.attachments:  # the profile's attach: entries, attached on open
        from teal.compiler.dbt.attach import attached_sources

        sources.update(
            attached_sources(
                loader.settings.attachments, set(sources), loader.settings.target.profiles_path
            )
        )
    models: dict[str, Model] = {}
    upstreams: dict[str, tuple[str, ...]] = {}
    for node in nodes:
        ups = tuple(sorted({name for name, _ in node.refs if name in names and name != node.name}))
        upstreams[node.name] = ups
        mat = node.materialized
        strategy = None
        unique_key: tuple[str, ...] = ()
        predicates: tuple[str, ...] = ()
        partitions = partition_column = partition_filter = None
        if mat in ("seed",):
            mat = "table"
        elif mat == "snapshot":
            mat, strategy, unique_key = "incremental", "merge", ("dbt_scd_id",)
            node.config.setdefault("on_schema_change", "append_new_columns")
        elif mat == "incremental":
            node.config.setdefault("on_schema_change", "ignore")  # dbt's default
            strategy = str(node.config.get("incremental_strategy"))
            if strategy == "microbatch":
                partitions, partition_column, partition_filter = _batches(node)
                strategy = "delete+insert"
            key = node.config.get("unique_key") or ()
            unique_key = (key,) if isinstance(key, str) else tuple(key)
            if strategy == "delete+insert" and not unique_key and partitions is None:
                # dbt-duckdb's delete+insert deletes by the key, then inserts: with no key
                # it only inserts
                strategy = "append"
            found = node.config.get("incremental_predicates") or ()
            predicates = (found,) if isinstance(found, str) else tuple(str(p) for p in found)
        description = node_description(loader, node)
        config = {k: v for k, v in node.config.items()}
        if node.materialized == "snapshot":
            # dbt's snapshot materialization never asks should_full_refresh(): --full-refresh
            # (and a full_refresh config) keep a snapshot's history
            config["full_refresh"] = False
        if node.render_at_run:
            config["render_at_run"] = True
        if node.version is not None:  # `-s name` selects every version (compiler/selection.py)
            config.update(version_of=node.base_name.lower(), version=node.version)
        config.update(
            resource_type=node.resource_type,
            unique_id=node.unique_id,
            package=node.package,
            fqn=".".join(node.fqn),
        )
        version = text_hash(
            node.compiled
            + "|"
            + (node.incremental_sql or "")
            + "|"
            + node.digest
            + "|"
            + repr(sorted(((k, v) for k, v in config.items() if k != "description"), key=str))
        )
        tags = config.get("tags") or []
        # a version's fqn ends in its name and version, a SQL snapshot's in its file's
        # name and its own (dbt's)
        sql_snapshot = node.resource_type == "snapshot" and node.path.suffix == ".sql"
        folder = "/".join(node.fqn[1 : -2 if node.version is not None or sql_snapshot else -1])
        asset = None
        if node.language == "python":
            from teal.compiler.dbt.python_models import python_asset

            relation = f'"{node.schema}"."{node.alias}"'
            asset = python_asset(node, relation, node.schema, node.alias)
        models[node.name] = Model(
            name=node.name,
            kind=node.language,
            asset=asset,
            path=node.path,
            display_path=node.display,
            folder=folder,
            schema=node.schema,
            alias=node.alias,
            materialized=mat,
            config=config,
            tags=tuple([tags] if isinstance(tags, str) else tags),
            description=description,
            upstreams=ups,
            source_tables=tuple(sorted({f"{s}.{t}" for s, t in node.sources})),
            raw_sql=(node.raw or None) if asset is None else None,
            rendered_sql=node.compiled if asset is None else None,
            compiled_sql=node.compiled if asset is None else None,
            sql_hash=version,
            line=node.python.line if asset is not None else 1,
            incremental_sql=node.incremental_sql,
            strategy=strategy,
            unique_key=unique_key,
            incremental_predicates=predicates if strategy != "append" else (),
            columns=node.columns,
            partitions=partitions,
            partition_column=partition_column,
            partition_filter=partition_filter,
            pre_hooks=node.pre_hooks,
            post_hooks=node.post_hooks,
        )
    dag = Dag(upstreams)
    cycle = dag.find_cycle()
    if cycle:
        first = models[cycle[0]]
        raise LineageError(
            "models form a cycle: " + " -> ".join(cycle),
            path=first.display_path,
            line=line_of(first.raw_sql or "", r"ref\s*\(\s*['\"]" + re.escape(cycle[1])),
            hint="each arrow means 'refs'; break the cycle by removing one of these refs",
        )
    from teal.compiler.dbt.tests import collect_tests

    checks = collect_tests(loader, models, nodes, {name: i for i, name in enumerate(dag.order())})
    import dataclasses

    by_asset: dict[str, list[str]] = {}
    for name, check in checks.items():
        by_asset.setdefault(check.asset, []).append(name)
    for tested, check_names in by_asset.items():
        models[tested] = dataclasses.replace(models[tested], checks=tuple(sorted(check_names)))
    entries = {n.name: manifest_node(n, loader.settings) for n in loader.nodes.values()}
    from teal.compiler.dbt.described import node_properties, source_properties

    for node in nodes:  # description and columns, as dbt's docs site reads them
        entries[node.name].update(node_properties(loader, node, models[node.name].description))
    described_sources = {  # keyed as compiler/dbt/manifest.py names sources
        f"source.{loader.cfg.name}.{source}.{table}": source_properties(loader, info)
        for (source, table), info in loader.sources.items()
    }
    from teal.compiler.dbt.macro_state import macro_blocks, node_macros
    from teal.compiler.dbt.operations import DbtOperations

    macros = macro_blocks(loader)
    for node in loader.nodes.values():  # what each node calls (dbt's depends_on.macros)
        entries[node.name]["depends_on"] = {
            "macros": node_macros(loader, node.raw, node.package) if node.raw else []
        }
    compared = changes = None
    old_manifest: dict[str, Any] = {}
    if loader.settings.state_dir is not None:  # --state DIR
        from teal.compiler.dbt.state import compare_nodes, read_manifest

        old_manifest = read_manifest(loader.settings.state_dir)
        compared, changes = compare_nodes(
            entries, old_manifest["nodes"], macros, old_manifest["macros"]
        )
    exposures, exposed = resolve_exposures(
        loader.exposures, lambda name, version: _model_of(loader, models, name, version), models
    )
    project = Project(
        config=loader.cfg,
        models=models,
        sources=sources,
        dag=dag,
        checks=checks,
        stats={"parsed": 0, "cache_hits": 0, "cache_misses": 0},
        hooks=tuple(loader.hooks),
        warnings=(*loader.warnings, *exposed),
        exposures=exposures,
        dbt_nodes=entries,
        dbt_tests={name: loader.test_ids[name] for name in checks if name in loader.test_ids},
        dbt_sources=described_sources,
        dbt_macros=macros,
        compared_state=compared,
        compared_changes=changes,
        render_at_run=loader.render_at_run if any(n.render_at_run for n in nodes) else None,
        render_check=(
            loader.render_check if any(c.render_at_run for c in checks.values()) else None
        ),
        render_run_end=loader.render_run_end if loader.settings.on_run_end else None,
        dbt_operations=DbtOperations(loader),
    )
    if not old_manifest:
        return project
    from teal.compiler.dbt.test_state import compared_tests

    states, changes = compared_tests(project, old_manifest)
    return dataclasses.replace(project, compared_tests=states, compared_test_changes=changes)


def _model_of(
    loader: DbtLoader, models: Mapping[str, Any], name: str, version: str | None
) -> str | None:
    """The model ``ref(name)`` (``v=version``) names: a versioned model's latest version
    unless one is given."""
    versioned = loader.versioned.get(name)
    if versioned is not None:
        return versioned.names.get(str(version or versioned.latest))
    return name if name in models else None


def _batches(node: Node) -> tuple[Any, str, str]:
    """A microbatch model's partitions, partition column and filter; its SQL and its
    is_incremental() variant keep only a batch's rows."""
    from teal.compiler.dbt.microbatch import microbatch_partitions, wrap_sql
    from teal.compiler.partition_sql import own_filter

    event_time = str(node.config["event_time"])
    partitions = microbatch_partitions(node)
    node.compiled = wrap_sql(node.compiled, event_time)
    if node.incremental_sql:  # run for the batches of a table that exists, as dbt does
        node.incremental_sql = wrap_sql(node.incremental_sql, event_time)
    node.config["microbatch_lookback"] = int(node.config.get("lookback", 1))
    return partitions, event_time, own_filter(partitions, event_time)


def node_description(loader: DbtLoader, node: Node) -> str:
    entry = node.yaml
    text = str((entry or {}).get("description") or node.config.get("description") or "")
    if "{{" in text:
        state = loader.jinja.state
        state.node = node
        try:
            text = loader.jinja.render(
                loader.jinja.template(text, node.yaml_display), node.yaml_display, text
            )
        except TealError as exc:
            raise ProjectError(
                exc.message,
                path=node.yaml_display,
                line=getattr(entry, "line", None),
                hint=exc.hint,
            ) from None
        finally:
            state.node = None
    return text
