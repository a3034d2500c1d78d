"""Column lineage and schema binding of a loaded project, with what the runtime knows.

The compiler traces every model from the files alone (compiler/column_lineage.py); what
only the runtime can add is the columns of Python assets that declare none: the output
schema the run store recorded at their last materialization. The run store is read only
when it exists already, so ``teal compile`` on a fresh project creates nothing.

``binding_errors`` is what ``teal compile``, ``teal validate`` and ``teal build
--validate`` report before anything runs: every reference to a column that does not
exist and every broken enforced contract, located in the model's file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.declared import contract_enforced

if TYPE_CHECKING:
    from datetime import datetime

    from teal.compiler.column_lineage import ColumnGraph
    from teal.compiler.config import ProjectConfig
    from teal.compiler.errors import TealError
    from teal.compiler.model_trace import TypedTrace
    from teal.compiler.partition_records import PartitionRecords
    from teal.compiler.plan import Plan, PlanState
    from teal.compiler.project import Project
    from teal.compiler.strategy import LoadStrategy
    from teal.runtime.run_config import RunConfig
    from teal.runtime.runstore import RunStore
    from teal.warehouse.duckdb.typing import Typed
    from teal.warehouse.engine import Catalog, Engine


def project_columns(
    project: Project,
    store: RunStore | None,
    names: Iterable[str] | None = None,
    typed: TypedTrace | None = None,
) -> ColumnGraph:
    """The column graph of ``project`` (of ``names`` and what they read, when given);
    Python assets without declared columns take the columns of their last
    materialization in ``store`` (when given). ``typed``: column_graph's."""
    from teal.compiler.column_lineage import column_graph

    known = _names(recorded_types(project, store))
    return column_graph(project, known=known, names=names, typed=typed)


def bound_columns(project: Project, store: RunStore | None, names: Iterable[str]) -> ColumnGraph:
    """The column names of ``names`` and what they read, bound (no lineage edges), with
    what ``store`` knows as :func:`project_columns`: what a build checks first."""
    from teal.compiler.column_binding import bound_columns as bind
    from teal.compiler.column_lineage import with_upstreams
    from teal.runtime.type_check import EngineBinder

    names = list(names)
    # only the Python assets the selection reads: one store query each
    recorded = recorded_types(project, store, among=set(with_upstreams(project, names)))
    binder = EngineBinder(project, recorded)
    try:
        return bind(project, names, known=_names(recorded), engine_bound=binder)
    finally:
        binder.close()


def check_schema_changes(
    project: Project, plan: Plan, wh: Engine, graph: ColumnGraph | None
) -> None:
    """Raise, located, for each incremental step whose model's bound columns (``graph``)
    differ from its existing table's when its on_schema_change is 'fail'; the other
    policies are applied as it inserts (compiler/schema_change.py). One query, only when
    the plan adds rows to an existing incremental table."""
    from teal.compiler.errors import raise_all
    from teal.compiler.schema_change import incremental_relations, schema_change_errors

    relations = incremental_relations(project, plan.steps)
    if graph is None or not relations:
        return
    tables = wh.output_schemas(relations)
    raise_all(schema_change_errors(project, plan.steps, graph.columns_of, tables))


def plan_schema_changes(
    config: ProjectConfig,
    project: Project,
    plan: Plan,
    edited: Collection[str],
    graph: ColumnGraph | None,
) -> None:
    """:func:`check_schema_changes` for ``teal plan``: the steps of ``edited`` models only
    (an unedited model's columns did not change), their tables read from the warehouse
    opened read-only, and nothing checked while a build holds it (the build checks) or on
    Spark (a session would be started for it)."""
    from teal.compiler.errors import WarehouseBusy
    from teal.warehouse.engine import open_engine

    chosen = set(edited)
    steps = [s for s in plan.steps if s.model in chosen]
    if (
        graph is None
        or config.engine != "duckdb"
        or not Path(config.warehouse_path).is_file()  # nothing built: no table to compare
        or not any(s.action == "incremental" and not s.full_refresh for s in steps)
    ):
        return
    try:
        with open_engine(config, read_only=True) as wh:
            check_schema_changes(project, plan.with_steps(steps, plan.not_run), wh, graph)
    except WarehouseBusy:
        return


def _names(recorded: Mapping[str, Typed]) -> dict[str, tuple[str, ...]]:
    """The column names of each of ``recorded``'s assets."""
    return {name: tuple(c for c, _ in typed) for name, typed in recorded.items()}


def remember_built(project: Project, store: RunStore, built: Mapping[str, Typed]) -> None:
    """After a build on DuckDB (``built``: the output types of the tables and views it
    made), keep its binding when a Python asset's recorded types changed with it (its
    first materialization, or new columns). Those types are part of the binding keys of
    everything downstream, so without this the next build would bind all of it again
    with stand-ins; the tables just built have the columns and types that binding finds.
    Incremental, partitioned and external models are left to be bound: their tables may
    keep columns their query no longer makes."""
    try:
        if any(_recorded_changed(project, store, name) for name in built):
            _remember(project, store, built)
    except Exception:  # a cache: the build it follows has committed, whatever happens here
        logging.getLogger("teal").debug("binding of the build not kept", exc_info=True)


def _remember(project: Project, store: RunStore, built: Mapping[str, Typed]) -> None:
    from teal.compiler.column_binding import bound_columns as bind
    from teal.compiler.column_lineage import EngineBinding
    from teal.runtime.type_check import remember_types

    plain = {
        name: typed
        for name, typed in built.items()
        if project.models[name].materialized in ("table", "view")
        and project.models[name].partitions is None
    }
    recorded = recorded_types(project, store)
    names = [n for n in project.dag.order() if n in plain]
    types = remember_types(project, names, recorded, plain)
    bind(
        project,
        names,
        known=_names(recorded),
        engine_bound=lambda order: EngineBinding(
            {n: tuple(c for c, _ in types[n]) for n in order if n in types}
        ),
    )


def _recorded_changed(project: Project, store: RunStore, name: str) -> bool:
    """Whether ``name``, a Python asset typed by its materializations, was just recorded
    with columns other than its materialization before (or for the first time)."""
    model = project.models[name]
    if model.kind != "python" or model.config.get("columns"):
        return False
    if contract_enforced(model.config) and model.declared:
        return False
    last = store.materializations(model=name, limit=2)
    return len(last) < 2 or last[0]["schema"] != last[1]["schema"]


def recorded_types(
    project: Project, store: RunStore | None, among: Collection[str] | None = None
) -> dict[str, Typed]:
    """The columns and types of the last materialization of each Python asset that
    declares none (``columns=`` or an enforced contract), as ``store`` recorded them; of
    the assets in ``among`` only, when given. An asset whose code changed since is left
    out (untyped, as before its first build)."""
    known: dict[str, Typed] = {}
    if store is not None:
        for name, model in project.models.items():
            if among is not None and name not in among:
                continue
            if model.kind != "python" or model.config.get("columns"):
                continue  # a SQL model, or an asset declaring its columns (columns=)
            if contract_enforced(model.config) and model.declared:
                continue
            last = store.materializations(model=name, limit=1)
            schema = last[0]["schema"] if last else None
            version = last[0].get("code_version") if last else None
            if version and version != model.sql_hash:
                continue  # its code changed since: it may make other columns now
            if isinstance(schema, list) and schema:
                known[name] = tuple(
                    (str(c[0]), str(c[1]) if len(c) > 1 else "")
                    for c in schema
                    if isinstance(c, list) and c
                )
    return known


def existing_store_path(root: Path, spec: str | None) -> bool:
    """Whether the run store ``spec`` names can be read without creating it: a server,
    or a local file that exists."""
    from teal.runtime.runstore import DEFAULT_LOCATION, NO_STORE

    if spec == NO_STORE:
        return False
    if not spec:
        return (root / DEFAULT_LOCATION).is_file()
    if spec.startswith(("postgresql://", "postgres://")):
        return True
    path = Path(spec.removeprefix("sqlite:///"))
    return (path if path.is_absolute() else root / path).is_file()


def binding_errors(graph: ColumnGraph, names: Iterable[str] | None = None) -> list[TealError]:
    """Every missing column and broken contract of the models ``names`` (all: None)."""
    return graph.errors(names)


def validate_selection(
    project: Project,
    names: list[str],
    columns: Callable[[TypedTrace], ColumnGraph],
    strategy: LoadStrategy | None,
    store: RunStore | None,
) -> None:
    """What ``teal validate`` checks of ``names``: every declared resource builds, the
    Python files behind them import, their references to columns and enforced contracts (against the lineage ``columns(typed)`` computes), then the types
    of joins, unions and contracts. DuckDB binds the models first; the join and UNION
    checks run on the trees the lineage trace qualifies, on both cores where the strategy
    allows a child (runtime/type_check.py). Python assets that declare no types are typed
    as ``store`` last recorded them."""
    from teal.compiler.errors import raise_all
    from teal.runtime.check_binding import unbound_checks
    from teal.runtime.python_imports import import_python
    from teal.runtime.resources import check_resources
    from teal.runtime.type_check import TypeErrors

    check_resources(project.config)  # every declared resource builds (not set up)
    # the Python files a build would import (a build fails the models of one that does
    # not import, and builds the rest)
    import_python(project, [n for n in names if project.models[n].kind == "python"])
    typing = TypeErrors.start(project, names, strategy, recorded_types(project, store))
    try:
        graph = columns(typing.trace)
        raise_all(binding_errors(graph, names) + python_check_columns(project, names, graph))
        raise_all(typing.result())
        raise_all(
            unbound_checks(project, names, lambda among: recorded_types(project, store, among))
        )
    finally:
        typing.close()


def bind_selection(
    project: Project,
    names: list[str],
    lineage: ColumnGraph | None,
    store: Callable[[], RunStore | None],
) -> ColumnGraph | None:
    """What a build checks before any data changes: each of ``names``' references to
    columns and its enforced contract, bound against what it reads (names only, no lineage
    edges; cached, so an unchanged project costs one small file read), and the types of
    typed contracts. Raises the located errors; returns the binding it computed (None when
    ``lineage``, computed already, had it)."""
    from teal.compiler.errors import raise_all
    from teal.runtime.check_binding import unbound_checks
    from teal.runtime.type_check import type_errors, typed_contracts

    bound = None
    if lineage is not None:
        raise_all(lineage.errors(names))
    else:
        bound = bound_columns(project, store(), names)
        raise_all(bound.errors(names))
    raise_all(python_check_columns(project, names, lineage or bound))
    raise_all(unbound_checks(project, names, lambda among: recorded_types(project, store(), among)))
    contracted = typed_contracts(project, names)
    if contracted:  # a build that would change a contracted column's type
        raise_all(type_errors(project, contracted))
    return bound


def python_check_columns(
    project: Project, names: list[str], graph: ColumnGraph | None
) -> list[TealError]:
    """A located error for each YAML check of a Python asset's column that the asset's
    last build did not produce: SQL models' are found at load, but a Python asset's
    columns are known only from the run store (its checks could not run)."""
    from teal.compiler.errors import ProjectError, did_you_mean

    if graph is None:
        return []
    chosen = set(names)
    out: list[TealError] = []
    for check in project.checks.values():
        model = project.models.get(check.asset)
        if check.column is None or check.asset not in chosen or model is None:
            continue
        if model.kind != "python" or check.python is not None:
            continue
        columns = graph.plain(check.asset)[1] if check.asset in graph.models else None
        produced = tuple(c[0] for c in columns or ())
        if not produced or check.column.lower() in {p.lower() for p in produced}:
            continue
        out.append(
            ProjectError(
                f"model '{check.asset}' has no column '{check.column}' (its last build "
                f"produced: {', '.join(produced)}), so its check {check.name} cannot run",
                path=check.path,
                line=check.line,
                hint=did_you_mean(check.column.lower(), [p.lower() for p in produced])
                or "fix the column's name in the YAML",
            )
        )
    return out


def unbuilt_upstreams(project: Project, plan: Plan, catalog: Catalog) -> list[TealError]:
    """A located error for each model of ``plan`` that reads a model this run does not
    build and that is not in the warehouse (``catalog``): it would fail with the
    warehouse's "does not exist" after others were built. Upstreams kept by an I/O
    manager outside the warehouse, or read from a deferred one (``plan.deferred``), are
    not looked for."""
    from teal.compiler.errors import SelectionError
    from teal.compiler.plan import step_upstreams

    built = {s.model for s in plan.steps}
    everything = frozenset(project.models)
    if len(built) == len(everything):  # a whole-project build reads nothing else
        return []
    out: list[TealError] = []
    for step in plan.steps:
        missing = sorted(
            up
            for up in step_upstreams(project, step.model, everything)
            if up not in built
            and up not in plan.deferred
            and project.models[up].io_manager is None
            and catalog.kind(project.models[up].schema, project.models[up].alias) is None
        )
        if missing:
            model = project.models[step.model]
            names = ", ".join(missing)
            out.append(
                SelectionError(
                    f"{model.name} reads {names}, which {'is' if len(missing) == 1 else 'are'} "
                    "not built yet and not selected",
                    path=model.display_path,
                    hint=f"build {'it' if len(missing) == 1 else 'them'} too: "
                    f"`teal build -s +{model.name}`",
                )
            )
    return out


def plan_warnings(
    project: Project,
    plan: Plan,
    state: PlanState,
    now: datetime | None,
    config: RunConfig | None,
    deferred: Mapping[str, PartitionRecords] | None = None,
) -> tuple[TealError, ...]:
    """What a build warns of once it is planned: partitions it builds from upstream
    partitions that are not built, and run config for models it does not build (run
    config a run would refuse is raised, also when nothing needs building).
    ``deferred``: the partitions of the deferred upstreams (``plan.deferred``) as the
    deferred warehouse records them."""
    found: list[TealError] = []
    if config is not None and config.values:
        from teal.runtime.run_config import unused_run_config

        found += unused_run_config(project, {s.model for s in plan.steps}, config)
    if not plan.steps:
        return ()
    if any(s.partitions for s in plan.steps):
        found[:0] = unbuilt_upstream_partitions(project, plan, state, now, deferred)
    return tuple(found)


def unbuilt_upstream_partitions(
    project: Project,
    plan: Plan,
    state: PlanState,
    now: datetime | None,
    deferred: Mapping[str, PartitionRecords] | None = None,
) -> list[TealError]:
    """A warning for each step whose partitions read partitions of an upstream this run
    does not build and that are not built (or failed): those partitions are built from
    what is there, without the missing rows. An upstream read from the deferred
    warehouse (``plan.deferred``) is judged by its records there (``deferred``), not
    by this warehouse's; one without records there is not judged."""
    from teal.compiler.errors import SelectionError
    from teal.compiler.partition_records import NO_RECORDS
    from teal.compiler.versions import DataVersions

    planned = {s.model for s in plan.steps}
    versions: DataVersions | None = None
    out: list[TealError] = []
    for step in plan.steps:
        model = project.models[step.model]
        if model.partitions is None or not step.partitions:
            continue
        for up in model.upstreams:
            upstream = project.models[up]
            if up in planned or upstream.partitions is None:
                continue
            there = up in plan.deferred
            if there and up not in (deferred or {}):
                continue
            versions = versions or DataVersions(project, state, now)
            records = (deferred or {})[up] if there else state.partitions.get(up, NO_RECORDS)
            built = {key for key, status in records.columns("status") if status == "success"}
            missing = sorted(
                {
                    k
                    for key in step.partitions
                    for k in versions.upstream_keys(model.name, up, key)
                    if k not in built
                }
            )
            if missing:
                shown = ", ".join(missing[:3]) + (
                    f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                )
                what = "the deferred warehouse has not built" if there else "are not built"
                hint = f"build them first: `teal build -s {up}+` with the same partitions"
                if there:
                    hint = f"{up} is {plan.deferred[up]}: {hint} there, or here without deferring"
                out.append(
                    SelectionError(
                        f"{model.name} reads partitions of {up} that {what} ({shown}): "
                        "its partitions are built without their rows",
                        path=model.display_path,
                        hint=hint,
                    )
                )
    return out


def edited_since_built(project: Project, state: PlanState, names: list[str]) -> list[str]:
    """Of ``names`` (in build order), those whose code is not what the warehouse last built
    (or that were never built), and those reading one of them."""
    edited: set[str] = set()
    for name in names:
        built = state.models.get(name)
        model = project.models[name]
        if built is None or built.sql_hash != model.sql_hash:
            edited.add(name)
        elif any(u in edited for u in model.upstreams):  # names are upstreams first
            edited.add(name)
    return [n for n in names if n in edited]
