"""Stage 4 of a dbt load (compiler/dbt/loader.py): each enabled node rendered with
``execute`` true into its SQL (and an incremental model's ``is_incremental()`` variant),
seeds and snapshots made queries, ephemeral CTEs injected, on-run-start hooks rendered;
a model whose Jinja queries the warehouse rendered again while the build runs it, and the
on-run-end hooks rendered after the run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.assemble import assemble_project
from teal.compiler.dbt.context import AttrDict, RenderAtRun
from teal.compiler.dbt.model_hooks import render_model_hooks
from teal.compiler.dbt.nodes import Node, all_text, node_dict, with_ctes
from teal.compiler.dbt.output_names import named_twice
from teal.compiler.dbt.python_models import compile_python_model
from teal.compiler.dbt.statements import check_one_statement
from teal.compiler.errors import TealError, raise_all

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader


def compile_nodes(loader: DbtLoader) -> Any:
    from teal.compiler.dbt.seeds import seed_sql
    from teal.compiler.dbt.snapshots import first_build, next_build

    loader.jinja.phase = "compile"
    fill_graph(loader)
    enabled = [
        n
        for n in loader.nodes.values()
        if n.enabled and n.resource_type in ("model", "seed", "snapshot")
    ]
    for node in enabled:
        try:
            if node.resource_type == "seed":
                node.compiled, node.columns, node.digest = seed_sql(
                    node.path, node.display, node.config, loader.cache
                )
                continue
            if node.language == "python":
                compile_python_model(loader, node)
                if node.config.get("pre-hook") or node.config.get("post-hook"):
                    node.pre_hooks, node.post_hooks = render_model_hooks(loader, node)
                continue
            if node.config.get("pre-hook") or node.config.get("post-hook"):
                node.pre_hooks, node.post_hooks = render_model_hooks(loader, node)
            loader.jinja.state.queried = False
            try:
                sql = compile_render(loader, node, incremental=False)
            except RenderAtRun:
                _render_at_run(node)
                continue
            except TealError as exc:
                state = loader.jinja.state
                state.node = node
                deferrable = loader.deferrable()
                state.node = None
                if not (state.queried and deferrable):
                    raise
                # it failed after asking the warehouse as it is before this build (stale,
                # or emptied by --empty): the build renders it again after its upstreams,
                # and reports the error then if it stays
                _render_at_run(node, exc)
                continue
            node.render_at_run = loader.jinja.state.queried
            check_one_statement(node, sql)
            if node.resource_type == "snapshot":
                this = f'"{node.schema}"."{node.alias}"'
                node.compiled = first_build(sql, node.config)
                node.incremental_sql = next_build(sql, this, node.config)
                continue
            node.compiled = sql
            twice = named_twice(node, sql)
            if twice is not None:
                loader.warnings.append(twice)
            if node.materialized == "incremental" and "is_incremental" in node.raw:
                variant = compile_render(loader, node, incremental=True)
                node.render_at_run = node.render_at_run or loader.jinja.state.queried
                check_one_statement(node, variant)
                if variant != sql:
                    node.incremental_sql = variant
        except TealError as exc:
            loader.errors.append(exc)
    raise_all(loader.errors)
    inject_ephemerals(loader, enabled)
    render_hooks(loader)
    return assemble_project(loader, enabled)


def _render_at_run(node: Node, failed: TealError | None = None) -> None:
    """The node's SQL is rendered when the build runs it; until then a placeholder that
    says so (and why the load's render failed, for ``teal compile``)."""
    node.render_at_run = True
    reason = ""
    if failed is not None:
        reason = "\n-- rendering it with the warehouse as it is now failed: " + " ".join(
            str(failed).split()
        )
    node.compiled = (
        f"-- {node.name} queries the warehouse while it is compiled "
        "(run_query, statement, adapter):\n-- its SQL is rendered when the "
        f"build runs it{reason}\nselect 1 as rendered_at_run"
    )


def compile_render(loader: DbtLoader, node: Node, incremental: bool) -> str:
    state = loader.jinja.state
    state.node, state.incremental = node, incremental
    state.refs, state.sources = [], []
    try:
        return loader.jinja.render(node.template, node.display, node.raw).strip()
    finally:
        state.node, state.incremental = None, False


def fill_graph(loader: DbtLoader) -> None:
    for node in loader.nodes.values():
        if node.enabled:
            loader.graph["nodes"][node.unique_id] = AttrDict(node_dict(node, loader.settings))
    for (source, table), info in loader.sources.items():
        loader.graph["sources"][f"source.{info['package']}.{source}.{table}"] = AttrDict(
            name=table,
            source_name=source,
            schema=info["schema"],
            identifier=info["identifier"],
            resource_type="source",
            package_name=info["package"],
        )


def inject_ephemerals(loader: DbtLoader, nodes: list[Node]) -> None:
    """``__dbt__cte__x`` references get their CTEs, as dbt injects them: the ephemeral
    upstreams, deepest first, before the node's own SQL."""
    by_name = {n.name: n for n in nodes}

    def ephemeral_deps(node: Node, into: list[Node]) -> None:
        for name, _ in node.refs:
            up = by_name.get(name)
            if up is not None and up.materialized == "ephemeral" and up not in into:
                ephemeral_deps(up, into)
                if up not in into:
                    into.append(up)

    own = {n.name: n.compiled for n in nodes}
    for node in nodes:
        if node.materialized == "ephemeral":
            continue
        deps: list[Node] = []
        ephemeral_deps(node, deps)
        deps = [d for d in deps if f"__dbt__cte__{d.name}" in all_text(node, deps, own)]
        if not deps:
            continue
        ctes = ",\n".join(f"__dbt__cte__{d.name} as (\n{own[d.name]}\n)" for d in deps)
        node.ctes = ctes
        node.compiled = with_ctes(node.compiled, ctes)
        if node.incremental_sql:
            node.incremental_sql = with_ctes(node.incremental_sql, ctes)


def render_hooks(loader: DbtLoader) -> None:
    """on-run-start rendered now (what they log() is printed when they run); on-run-end
    only compiled, so a syntax error is found at load: dbt renders them after the run,
    with its ``schemas``, ``database_schemas`` and ``results`` (:func:`render_run_end`)."""
    loader.hooks.extend(run_start_hooks(loader))
    for text in loader.settings.on_run_end:
        loader.jinja.template(text, "dbt_project.yml")


def run_start_hooks(loader: DbtLoader) -> list[tuple[str, str, tuple[str, ...]]]:
    """The on-run-start hooks rendered: ("start", SQL, lines they log) each that says or
    logs anything. A deferred build renders them again with ``loader.deferred`` set
    (``ref()`` of a deferred model names it in production: compiler/dbt/operations.py)."""
    state = loader.jinja.state
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for i, text in enumerate(loader.settings.on_run_start):
        state.node = hook_node(loader, "start", i, text)
        loader.jinja.held_logs = []
        try:
            sql = loader.jinja.render(
                loader.jinja.template(text, "dbt_project.yml"), "dbt_project.yml", text
            ).strip()
            logs = tuple(loader.jinja.held_logs)
        finally:
            state.node = None
            loader.jinja.held_logs = None
        if sql or logs:
            out.append(("start", sql, logs))
    return out


def render_run_end(
    loader: DbtLoader,
    extra: dict[str, Any],
    query: Any,
    deferred: Mapping[str, tuple[str, str]] | None = None,
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The on-run-end hooks rendered after the run, as dbt renders them: ``extra`` holds
    ``schemas``, ``database_schemas`` and ``results`` (macros they call see them too),
    ``query`` answers run_query with the build's cursor. (SQL, lines it logged) each,
    rendered when asked for, so a hook's queries see what the hooks before it did.
    ``deferred``: the models whose ``ref()`` names them in the attached production
    warehouse (a deferred build), as :func:`render_again` takes them."""
    jinja = loader.jinja
    for i, text in enumerate(loader.settings.on_run_end):
        with loader.render_lock, jinja.phase_with("run_end", extra):
            loader.live_query, loader.deferred = query, deferred
            jinja.state.node = hook_node(loader, "end", i, text)
            jinja.held_logs = []
            try:
                sql = jinja.render(
                    jinja.template(text, "dbt_project.yml"), "dbt_project.yml", text
                ).strip()
                logs = tuple(jinja.held_logs)
            finally:
                jinja.state.node = None
                jinja.held_logs = None
                loader.live_query, loader.deferred = None, None
        yield sql, logs


def hook_node(loader: DbtLoader, kind: str, i: int, text: str) -> Node:
    """The node an on-run-``kind`` hook is rendered for (dbt's operation node)."""
    return Node(
        "operation",
        loader.settings.project.name,
        f"on-run-{kind}-{i}",
        loader.cfg.config_path,
        "dbt_project.yml",
        [],
        raw=text,
    )


def render_again(
    loader: DbtLoader, name: str, query: Any, deferred: Mapping[str, tuple[str, str]] | None = None
) -> tuple[str, str | None]:
    """Model ``name`` rendered again with its queries answered by ``query`` (the build's
    cursor): (compiled SQL, incremental variant). Renders one at a time. ``deferred``:
    the models ``ref()`` names in the attached production warehouse (a deferred build),
    in the SQL and in the queries the render runs alike, as dbt's ``--defer`` resolves
    them."""
    from teal.compiler.dbt.snapshots import first_build, next_build

    node = next(n for n in loader.by_name[name] if n.enabled)
    with loader.render_lock:
        loader.live_query, loader.deferred = query, deferred
        loader.jinja.phase = "compile"
        try:
            sql = compile_render(loader, node, incremental=False)
            check_one_statement(node, sql)
            incremental = None
            if node.resource_type == "snapshot":
                this = f'"{node.schema}"."{node.alias}"'
                return first_build(sql, node.config), next_build(sql, this, node.config)
            if node.materialized == "incremental" and "is_incremental" in node.raw:
                variant = compile_render(loader, node, incremental=True)
                check_one_statement(node, variant)
                incremental = variant if variant != sql else None
        finally:
            loader.live_query, loader.deferred = None, None
    if node.ctes:
        sql = with_ctes(sql, node.ctes)
        incremental = with_ctes(incremental, node.ctes) if incremental else None
    return sql, incremental
