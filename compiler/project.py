"""Load a project: discover its files, stage, resolve and compile each model, build the DAG.

``load_project`` is pure with respect to the warehouse: it reads files (and imports the
project's Python model files, which only records metadata) and returns a frozen
:class:`Project`. The stages, each a module of its own:

1. compiler.discover: the model files, and the model name each claims;
2. compiler.properties: sources and model properties (project config, YAML files);
3. compiler.stage: each file rendered, parsed and configured (a ``StagedModel``);
4. compiler.resolve: each reference resolved to a model or a source table;
5. compiler.compile: each model compiled, upstreams first (its SQL: compiler.compile_sql).

Independent problems of a stage are collected and raised together. When nothing a load
reads has changed, the previous result is taken whole instead (compiler.snapshot).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.assets import AssetCheckDef, AssetDef
from teal.compiler.config import ProjectConfig, load_config
from teal.compiler.declared import DeclaredColumn
from teal.compiler.errors import (
    LineageError,
    ProjectError,
    TealError,
    did_you_mean,
    raise_all,
)
from teal.compiler.exposures import resolve_exposures
from teal.compiler.external import ExternalSpec
from teal.compiler.graph import Dag
from teal.compiler.resources import with_named_resources
from teal.compiler.sources import Source, SourceTable
from teal.compiler.strategy import LoadStrategy

if TYPE_CHECKING:
    from teal.compiler.cache import CompileCache
    from teal.compiler.checks import CheckDef
    from teal.compiler.dbt.operations import DbtOperations
    from teal.compiler.exposures import Exposure
    from teal.compiler.properties import Properties


@dataclass(frozen=True, eq=False)
class Model:
    """One model: a SQL file or a Python asset, resolved and compiled."""

    name: str
    kind: str  # "sql" | "python"
    path: Path
    display_path: str  # relative to the project root, for messages
    folder: str  # posix folder relative to the models dir ("" at top level)
    schema: str
    alias: str
    materialized: str
    config: dict[str, Any]
    tags: tuple[str, ...]
    description: str
    upstreams: tuple[str, ...]  # model names this model reads (or depends on, for deps=)
    source_tables: tuple[str, ...]  # "source.table" keys
    raw_sql: str | None = None
    rendered_sql: str | None = None
    compiled_sql: str | None = None
    sql_hash: str = ""
    asset: AssetDef | None = None
    line: int | None = None
    ast: Any = field(default=None, repr=False)
    # Python assets: (parameter, SQL selecting the upstream, input kind) per upstream parameter
    inputs: tuple[tuple[str, str, str], ...] = ()
    # and what each of them reads: a model's name, or "source.table"
    input_keys: tuple[str, ...] = ()
    # incremental models: the is_incremental() variant of compiled_sql (None: same SQL)
    incremental_sql: str | None = None
    strategy: str | None = None  # append | merge | delete+insert (incremental models)
    unique_key: tuple[str, ...] = ()
    # dbt's incremental_predicates: SQL conditions on DBT_INTERNAL_DEST (the table) that
    # limit which existing rows a merge or delete+insert replaces
    incremental_predicates: tuple[str, ...] = ()
    partitions: Any = None  # compiler.partitions definition, for partitioned models
    partition_column: Any = None  # str, or {dimension: column}
    pushdowns: tuple[Any, ...] = ()  # compiler.partition_sql.Pushdown per filtered upstream
    partition_filter: str | None = None  # predicate selecting one partition (placeholders)
    checks: tuple[str, ...] = ()  # names of this model's checks (Project.checks)
    # SQL models: lower-case output column names, None when unknown without running the
    # query (``SELECT *``) and for Python models
    columns: tuple[str, ...] | None = None
    # the columns its YAML entry lists (compiler/declared.py), in order
    declared: tuple[DeclaredColumn, ...] = ()
    # materialized='external': where and how its files are written (compiler/external.py)
    external: ExternalSpec | None = None
    # a Python asset whose data an I/O manager resource of this name saves and loads
    io_manager: str | None = None
    # statements run on the step's cursor just before its build and just after it commits
    # (a dbt model's pre-hooks and post-hooks; runtime/model_hooks.py)
    pre_hooks: tuple[str, ...] = ()
    post_hooks: tuple[str, ...] = ()

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.alias}"

    @property
    def selector_path(self) -> str:
        """``marts/finance/x`` — the path selectors match against."""
        return f"{self.folder}/{self.name}" if self.folder else self.name


@dataclass(frozen=True)
class Project:
    config: ProjectConfig
    models: dict[str, Model]
    sources: dict[str, Source]
    dag: Dag
    stats: dict[str, int] = field(default_factory=dict)  # parses done, cache hits and misses
    checks: dict[str, Any] = field(default_factory=dict)  # check name -> compiler.checks.CheckDef
    # what the load found suspicious but not wrong (YAML describing a model that does not
    # exist, ...): located, shown by every command, errors under --strict
    warnings: tuple[TealError, ...] = ()
    # what reads the models from outside (YAML exposures:), by name (compiler/exposures.py)
    exposures: dict[str, Exposure] = field(default_factory=dict)
    # dbt projects: on-run-start as ("start", SQL, lines it logs), run before every build
    hooks: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    # dbt projects: each node's manifest entry by name (runtime/dbt_artifacts.py)
    dbt_nodes: dict[str, Any] = field(default_factory=dict)
    # dbt projects: each generic test's dbt identity (unique_id, name, alias, fqn,
    # test_metadata) by check name (compiler/dbt/test_ids.py)
    dbt_tests: dict[str, Any] = field(default_factory=dict)
    # dbt projects: what each source table's YAML says (description, columns, meta, tags)
    # by its unique id, for the manifest (compiler/dbt/described.py)
    dbt_sources: dict[str, Any] = field(default_factory=dict)
    # dbt projects: the macros' manifest records by unique id (compiler/dbt/macro_state.py)
    dbt_macros: dict[str, Any] = field(default_factory=dict)
    # dbt projects built with --state DIR: each model's state against DIR/manifest.json
    # ("new" | "modified" | "unmodified"), which state: selectors use instead of the
    # warehouse's (compiler/dbt/state.py)
    compared_state: dict[str, str] | None = None
    # and what differs, the sub-selectors that select each (``state:modified.body``:
    # "body" ..., compiler/dbt/state.ASPECTS; a new node has every one but "macros")
    compared_changes: dict[str, frozenset[str]] | None = None
    # the same for each test, by check name: a new or changed test is selected itself
    # (compiler/dbt/test_state.py, compiler/test_selection.py)
    compared_tests: dict[str, str] | None = None
    compared_test_changes: dict[str, frozenset[str]] | None = None
    # dbt projects: renders a model again while the build runs, its queries answered by
    # the given function (sql -> (column names, rows)): (compiled SQL, incremental variant);
    # a deferred build's passes a third argument, the models ref() reads from production
    # (compiler/deferral.DeferredRender)
    render_at_run: Callable[..., tuple[str, str | None]] | None = field(default=None, repr=False)
    # dbt projects: renders a test again when it runs (CheckDef.render_at_run), its queries
    # answered by the given function, the check's placeholder naming the relation audited
    # (compiler/dbt/test_render.py): the check as it runs now; a deferred build's is bound
    # to the models ref() reads from production (compiler/deferral.defer_project)
    render_check: Callable[..., CheckDef] | None = field(default=None, repr=False)
    # dbt projects: renders the on-run-end hooks after a build, given dbt's extra names
    # (schemas, database_schemas, results) and the query function of the build's cursor:
    # (SQL, lines it logs) each, rendered as asked for (runtime/hooks.py runs each before
    # the next is rendered); a deferred build's is bound as render_check is
    render_run_end: Callable[..., Iterator[tuple[str, tuple[str, ...]]]] | None = field(
        default=None, repr=False
    )
    # dbt projects: what the project's Jinja does after the load (compiler/dbt/operations.py):
    # `teal run-operation` calls a macro, `teal show --inline` renders an ad-hoc query
    dbt_operations: DbtOperations | None = field(default=None, repr=False)
    # every Python file under the models folder, as the load found them (None: not loaded
    # from a folder), for `teal compile` to import without walking the folder again
    python_files: tuple[Path, ...] | None = None
    # the key of the load that made it (compiler/snapshot.py; None: not loaded from files
    # with a key, such as a dbt project), which runtime/compile_stamp.py builds on
    load_key: str | None = None
    # the project-local modules its Python model files imported, with their digests
    # (compiler/pyfiles.py): a project kept in memory is current only while its load key
    # and these are (runtime/daemon_load.py; None: not known)
    helpers: dict[str, str | None] | None = None

    def checks_of(self, model: str) -> list[Any]:
        return [self.checks[c] for c in self.models[model].checks]

    @property
    def root(self) -> Path:
        return self.config.root

    def model(self, name: str) -> Model:
        """The model called ``name``, or whose relation is ``name`` (``marts.daily_revenue``),
        as selection accepts both."""
        try:
            return self.models[name]
        except KeyError:
            wanted = name.lower().replace('"', "")
            for model in self.models.values():
                if model.relation.lower().replace('"', "") == wanted:
                    return model
            raise LineageError(
                f"no model named '{name}'",
                hint=did_you_mean(name, self.models) or "run `teal ls` to list models",
            ) from None

    def source_table(self, key: str) -> SourceTable:
        return find_source_table(self.sources, key)

    def upstream_partitions(self, key: str) -> Any:
        """The partition definition of an upstream model or "source.table"."""
        if key in self.models:
            return self.models[key].partitions
        return self.source_table(key).partitions

    def sql_for_partition(self, model: Model, sql: str, key: str) -> str:
        """``sql`` (the model's SQL, or an input's SELECT) with the placeholders of partition
        ``key`` filled in: its own bounds and every pushed-down upstream filter."""
        from teal.compiler.partition_sql import fill, own_values, pushdown_values
        from teal.compiler.partitions import parse_mapping

        values = own_values(model.partitions, key)
        for pushdown in model.pushdowns:
            values.update(
                pushdown_values(
                    pushdown.index,
                    parse_mapping(pushdown.mapping),
                    model.partitions,
                    self.upstream_partitions(pushdown.upstream),
                    key,
                )
            )
        return fill(sql, values)

    def sql_for_range(self, model: Model, sql: str, keys: list[str] | tuple[str, ...]) -> str:
        """``sql`` filled for several time partitions at once (``backfill_policy='single_run'``):
        the bounds span from the first key's start to the last key's end."""
        from teal.compiler.partition_sql import fill, own_values, pushdown_values
        from teal.compiler.partitions import parse_mapping

        first, last = own_values(model.partitions, keys[0]), own_values(model.partitions, keys[-1])
        values = dict(first)
        values["__teal_partition_end__"] = last["__teal_partition_end__"]
        for pushdown in model.pushdowns:
            mapping = parse_mapping(pushdown.mapping)
            up = self.upstream_partitions(pushdown.upstream)
            lo = pushdown_values(pushdown.index, mapping, model.partitions, up, keys[0])
            hi = pushdown_values(pushdown.index, mapping, model.partitions, up, keys[-1])
            values.update(lo)
            end = f"__teal_pw{pushdown.index}_end__"
            if end in hi:
                values[end] = hi[end]
        return fill(sql, values)


def find_source_table(sources: dict[str, Source], key: str) -> SourceTable:
    """The source table named ``"source.table"``."""
    src, _, table = key.partition(".")
    return sources[src].tables[table.lower()]


def project_from_assets(config: ProjectConfig, assets: list[AssetDef | AssetCheckDef]) -> Project:
    """A project made of the given Python assets and checks only (``teal.materialize``)."""
    project, _, _ = _load(config, {}, LoadStrategy(), assets=list(assets))
    return project


def load_project(
    project_dir: str | Path | None = None,
    *,
    config: ProjectConfig | None = None,
    strategy: LoadStrategy | None = None,
    when_stored: Callable[[], None] | None = None,
    **overrides: Any,
) -> Project:
    """Read the project at ``project_dir`` (or ``config``) into a compiled Project.

    ``strategy`` says which speed tricks the load may use in this process (none by default:
    see compiler/strategy.py). ``when_stored`` is called when the project stored by an
    earlier load is current, before it is read (compiler/snapshot.py ``load``)."""
    from teal.compiler import snapshot

    strategy = strategy or LoadStrategy()
    cfg = config or load_config(project_dir, **overrides)
    if cfg.dbt is not None:  # the dbt front end (compiler/dbt/)
        from teal.compiler.dbt.loader import DbtLoader

        return DbtLoader(cfg).load()
    strategy.wait()  # a previous load with this strategy may still be storing its results
    contents: dict[str, bytes] = {}
    snapshot_key = snapshot.key(cfg, contents)
    stored: tuple[CompileCache, dict[str, str | None]] | None = None
    with _collector_paused(strategy):
        project = snapshot.load(cfg, snapshot_key, when_stored)
        if project is None:  # something the load reads changed since the last one
            project, cache, helpers = _load(cfg, contents, strategy)
            stored = cache, helpers
            project = replace(project, helpers=helpers)
    if stored is not None:
        cache, helpers = stored
        # freed before the fork: freeing it after would copy every page it touches
        del contents

        def store() -> None:
            cache.save()
            snapshot.save(cfg, snapshot_key, project, helpers)

        strategy.write_behind(store)
    return project if snapshot_key is None else replace(project, load_key=snapshot_key)


@contextmanager
def _collector_paused(strategy: LoadStrategy) -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a project loads, if the strategy says
    so (the command line's does).

    A load allocates hundreds of thousands of parse-tree nodes that stay alive, and the
    collector walks them over and over: for 1,000 models it cost about 40 % of a cold
    ``teal plan``. The cycles it would have freed (parse trees point at their parents) are
    left for the first collection after the load. A process that loads one project and
    exits also freezes what it loaded (never examined by the collector again); a
    long-lived process must not, so that a dropped project is freed.
    """
    if not strategy.pause_collector:
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if strategy.freeze_after_load:
            gc.freeze()
        if was_enabled:
            gc.enable()


def _load(
    cfg: ProjectConfig,
    contents: dict[str, bytes],
    strategy: LoadStrategy,
    assets: list[AssetDef | AssetCheckDef] | None = None,
) -> tuple[Project, CompileCache, dict[str, str | None]]:
    """The project read through every stage, with the compile cache it used and the
    project-local modules its Python files imported (both stored for the next load).
    ``assets``: the project is these Python assets only, and no file is read."""
    # the stages are imported here: a load that takes the stored project needs none of them
    from teal.compiler.cache import CompileCache
    from teal.compiler.compile import compile_model
    from teal.compiler.compile_sql import QueryCompiler
    from teal.compiler.discover import (
        ModelNames,
        ProjectFiles,
        discover,
        display_path,
        missing_check_folders,
        skipped_files,
        unmatched_folders,
    )
    from teal.compiler.properties import Properties
    from teal.compiler.pyfiles import PythonFiles, module_name
    from teal.compiler.resolve import ResolvedModel, Resolver
    from teal.compiler.stage import PendingAsset, StagedModel, Stager

    def display(path: Path) -> str:
        return display_path(cfg.root, path)

    synthetic = cfg.config_path.name.startswith("<")
    cache = CompileCache(None if synthetic else cfg.root / ".teal" / "cache" / "compile.pickle")
    properties = Properties()
    stager = Stager(cfg, cache, properties, contents)
    files = ProjectFiles() if assets is not None else discover(cfg.models_dir, contents)
    # meanwhile, on another core, when the strategy allows it
    ahead = None if assets is not None else stager.parse_ahead(files.sql, strategy)
    try:
        errors: list[TealError] = []
        properties.read_config(cfg, display(cfg.config_path))
        for yml in files.yaml:
            properties.read_file(yml, display(yml), cache)

        names = ModelNames()
        pending: list[Path | PendingAsset] = []

        def claim(name: str, where: str, line: int | None) -> None:
            error = names.claim(name, where, line)
            if error is not None:
                errors.append(error)

        python_checks: list[tuple[Any, str]] = []  # (AssetCheckDef, display path)
        for definition in assets or []:
            path = Path(definition.source_file or "<asset>")
            if isinstance(definition, AssetCheckDef):  # teal.materialize([asset, check])
                python_checks.append((definition, display(path)))
                continue
            claim(definition.name, display(path), definition.source_line)
            pending.append(PendingAsset(path, definition, None))
        python_files = PythonFiles(
            [(p, module_name(cfg.models_dir, p), display(p)) for p in files.python],
            cache,
            cfg.root,
        )
        for declared in python_files.load():
            for definition, source_text in declared.assets:
                claim(definition.name, declared.display, definition.source_line)
                pending.append(PendingAsset(declared.path, definition, source_text))
            python_checks += [(check, declared.display) for check in declared.checks]
        for sql_path in files.sql:
            claim(sql_path.stem, display(sql_path), 1)  # a SQL file is named by its file
            pending.append(sql_path)
        raise_all(errors)

        staged: dict[str, StagedModel] = {}
        for result in stager.stage_all(pending, ahead):
            if isinstance(result, TealError):
                errors.append(result)
            else:
                staged[result.name] = result
        raise_all(errors)
        model_names = names.by_lower_name()
        disabled = {name for name, m in staged.items() if not m.enabled}
        for name in disabled:
            del staged[name]
            model_names.pop(name.lower(), None)

        if cfg.resources:  # parameters named like a resource receive it
            errors += _pass_resources(staged, cfg.resources, model_names)
            python_checks = [
                (with_named_resources(d, cfg.resources), path) for d, path in python_checks
            ]
        resolver = Resolver(properties.sources, model_names, disabled, tuple(sorted(cfg.resources)))
        errors += resolver.index_relations(staged)
        errors += _check_locations(staged)
        raise_all(errors)
        resolved: dict[str, ResolvedModel] = {}
        for name, m in staged.items():
            try:
                resolved[name] = resolver.resolve(m)
                resolver.check_partition_mapping(resolved[name])
            except TealError as exc:
                errors.append(exc)
        raise_all(errors)
        dag = Dag({name: r.upstreams for name, r in resolved.items()})
        cycle = dag.find_cycle()
        if cycle:
            raise resolver.cycle_error(cycle, resolved)

        queries = QueryCompiler(cache, properties.sources, check_splice=strategy.check_splice)
        models: dict[str, Model] = {}
        for name in dag.order():
            models[name] = compile_model(resolved[name], models, queries)
        checks = _attach_checks(cfg, models, properties, python_checks)
        _attach_declared(models, properties)
        exposures, exposed = resolve_exposures(
            properties.exposures, lambda name, _: name if name in models else None, models
        )
        warnings = (
            *properties.warnings,
            *(w for m in staged.values() for w in m.warnings),
            *properties.unmatched(models, disabled),
            *exposed,
        )
        if assets is None and not synthetic:
            warnings += tuple(
                unmatched_folders(cfg.folders, cfg.models_dir, files, cfg.config_path, cfg.root)
            )
            warnings += tuple(skipped_files(files, cfg.root))
            if cfg.dbt is None:  # a dbt project's test-paths: compiler/dbt/project_keys.py
                warnings += tuple(missing_check_folders(cfg.check_paths, cfg.config_path, cfg.root))
    finally:
        if ahead is not None:  # a load that failed before taking its results
            ahead.abandon()
    project = Project(
        config=cfg,
        models=models,
        sources=properties.sources,
        dag=dag,
        checks=checks,
        warnings=warnings,
        exposures=exposures,
        python_files=None if assets is not None else tuple(files.python),
        stats={
            "parsed": stager.parsed + queries.parsed,
            "cache_hits": cache.hits,
            "cache_misses": cache.misses,
        },
    )
    return project, cache, python_files.helpers


def _check_locations(staged: dict[str, Any]) -> list[TealError]:
    """External models write locations of their own (compiler/external.py)."""
    from teal.compiler.external import check_locations

    specs = {n: (m.external, m.display_path, m.line) for n, m in staged.items() if m.external}
    try:
        check_locations(specs)
    except TealError as exc:
        return [exc]
    return []


def _pass_resources(
    staged: dict[str, Any], resources: dict[str, Any], model_names: dict[str, str]
) -> list[TealError]:
    """Give each Python model the resources its parameters name (in place); a resource
    named like a model is an error, as a parameter could mean either."""
    import dataclasses

    errors: list[TealError] = []
    for name, m in staged.items():
        if m.asset is None:
            continue
        clash = [p for p in m.asset.upstream_params if p in resources and p.lower() in model_names]
        for param in clash:
            decl = resources[param]
            errors.append(
                ProjectError(
                    f"resource '{param}' has the name of a model, so parameter '{param}' of "
                    f"asset '{m.asset.name}' could mean either",
                    path=decl.path,
                    line=decl.line,
                    hint="rename the resource",
                )
            )
        staged[name] = dataclasses.replace(m, asset=with_named_resources(m.asset, resources))
    return errors


def _attach_declared(models: dict[str, Model], properties: Properties) -> None:
    """Give each model the columns its YAML entry lists."""
    from teal.compiler.declared import declared_columns
    from teal.compiler.frozen import evolve

    for name, (spec, display) in properties.models.items():
        if name in models and spec.get("columns"):
            found = declared_columns(spec, display)
            if found:
                models[name] = evolve(models[name], declared=found)


def _attach_checks(
    cfg: ProjectConfig,
    models: dict[str, Model],
    properties: Properties,
    python_checks: list[tuple[Any, str]],
) -> dict[str, Any]:
    """Collect the project's checks, and give each model the names of its checks."""
    from teal.compiler.check_loader import collect_checks
    from teal.compiler.discover import display_path
    from teal.compiler.frozen import evolve

    checks = collect_checks(
        root=cfg.root,
        models=models,
        properties=properties.models,
        python_checks=python_checks,
        check_dirs=[cfg.root / p for p in cfg.check_paths],
        vars=cfg.vars,
        display=lambda p: display_path(cfg.root, Path(p)),
    )
    by_asset: dict[str, list[str]] = {}
    for name, check in checks.items():
        by_asset.setdefault(check.asset, []).append(name)
    for asset, names in by_asset.items():
        models[asset] = evolve(models[asset], checks=tuple(sorted(names)))
    return checks
