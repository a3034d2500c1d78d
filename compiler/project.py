"""Load a project: discover model files, render, parse, resolve lineage, build the DAG.

``load_project`` is pure with respect to the warehouse: it reads files (and imports the
project's Python model files, which only records metadata) and returns a frozen
:class:`Project`. Independent problems are collected and raised together.
"""

from __future__ import annotations

import difflib
import gc
import inspect
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teal.compiler.assets import AssetDef
from teal.compiler.config import ProjectConfig, load_config, merge_config, validate_model_config
from teal.compiler.errors import (
    LineageError,
    ProjectError,
    TealError,
    did_you_mean,
    raise_all,
)
from teal.compiler.graph import Dag
from teal.compiler.sources import Source, SourceTable, parse_source
from teal.compiler.strategy import LoadStrategy
from teal.compiler.templating import (
    REF_MARKER,
    SOURCE_MARKER_PREFIX,
    render_sql,
    uses_is_incremental,
    uses_partition_vars,
)
from teal.compiler.yamlfile import MODEL_PROPERTY_KEYS, read_yaml


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
    # incremental models: the is_incremental() variant of compiled_sql (None: same SQL)
    incremental_sql: str | None = None
    strategy: str | None = None  # append | merge | delete+insert (incremental models)
    unique_key: tuple[str, ...] = ()
    partitions: Any = None  # compiler.partitions definition, for partitioned models
    partition_column: Any = None  # str, or {dimension: column}
    pushdowns: tuple[Any, ...] = ()  # compiler.partition_sql.Pushdown per filtered upstream
    partition_filter: str | None = None  # predicate selecting one partition (placeholders)
    checks: tuple[str, ...] = ()  # names of this model's checks (Project.checks)
    # SQL models: lower-case output column names, None when unknown without running the
    # query (``SELECT *``) and for Python models
    columns: tuple[str, ...] | None = None

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

    def checks_of(self, model: str) -> list[Any]:
        return [self.checks[c] for c in self.models[model].checks]

    @property
    def root(self) -> Path:
        return self.config.root

    def model(self, name: str) -> Model:
        try:
            return self.models[name]
        except KeyError:
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


def project_from_assets(config: ProjectConfig, assets: list[AssetDef]) -> Project:
    """A project made of the given Python assets only (for ``teal.materialize``)."""
    return _Loader(config, strategy=LoadStrategy()).load(assets=list(assets))


def load_project(
    project_dir: str | Path | None = None,
    *,
    config: ProjectConfig | None = None,
    strategy: LoadStrategy | None = None,
    **overrides: Any,
) -> Project:
    """Read the project at ``project_dir`` (or ``config``) into a compiled Project.

    ``strategy`` says which speed tricks the load may use in this process (none by default:
    see compiler/strategy.py)."""
    from teal.compiler import snapshot

    strategy = strategy or LoadStrategy()
    cfg = config or load_config(project_dir, **overrides)
    strategy.wait()  # a previous load with this strategy may still be storing its results
    contents: dict[str, bytes] = {}
    snapshot_key = snapshot.key(cfg, contents)
    loader = None
    with _collector_paused(strategy):
        project = snapshot.load(cfg, snapshot_key)
        if project is None:  # something the load reads changed since the last one
            loader = _Loader(cfg, contents, strategy=strategy)
            project = loader.load()
    if loader is not None:
        cache, helpers = loader.cache, loader.helpers
        # freed before the fork: freeing it after would copy every page it touches
        del loader, contents

        def store() -> None:
            cache.save()
            snapshot.save(cfg, snapshot_key, project, helpers)

        strategy.write_behind(store)
    return project


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


class _Loader:
    def __init__(
        self,
        cfg: ProjectConfig,
        contents: dict[str, bytes] | None = None,
        *,
        strategy: LoadStrategy,
    ) -> None:
        self.cfg = cfg
        self.strategy = strategy
        self.contents = contents or {}  # path -> bytes of the files the snapshot key read
        self.errors: list[TealError] = []
        self.sources: dict[str, Source] = {}
        self.properties: dict[str, tuple[dict[str, Any], str]] = {}  # model -> (props, file)
        self.files: dict[str, tuple[str, int | None]] = {}  # model name -> (display path, line)
        self.disabled: set[str] = set()
        self._claimed: dict[str, str] = {}  # lower-case name -> name, to find duplicates
        self.python_checks: list[tuple[Any, str]] = []  # (AssetCheckDef, display path)
        from teal.compiler.cache import CompileCache

        synthetic = cfg.config_path.name.startswith("<")
        self.cache = CompileCache(
            None if synthetic else cfg.root / ".teal" / "cache" / "compile.pickle"
        )
        self.parsed = 0  # SQL parses done by this load (0 on a warm, unchanged project)
        self.helpers: dict[str, str | None] = {}  # project-local modules model files imported
        self._texts: dict[Path, str] = {}  # SQL files read ahead of staging
        self._ahead: Any = None  # compiler.offload.ParseAhead parsing some files, or None

    def display(self, path: Path) -> str:
        try:
            return path.relative_to(self.cfg.root).as_posix()
        except ValueError:
            return str(path)

    # -- discovery -------------------------------------------------------------------
    def load(self, assets: list[AssetDef] | None = None) -> Project:
        try:
            return self._load(assets)
        finally:
            if self._ahead is not None:  # a load that failed before taking its results
                self._ahead.abandon()

    def _load(self, assets: list[AssetDef] | None) -> Project:
        if assets is not None:
            sql_files, py_files, yml_files = [], [], []
        else:
            sql_files, py_files, yml_files = self._discover()
            self._ahead = self._parse_ahead(sql_files)  # meanwhile, on another core
        for name, spec in self.cfg.sources.items():
            if not isinstance(spec, dict):
                raise ProjectError(
                    f"sources.{name} must be a table", path=self.display(self.cfg.config_path)
                )
            self._add_source(
                parse_source(
                    name, spec, root=self.cfg.root, declared_in=self.display(self.cfg.config_path)
                )
            )
        for yml in yml_files:
            self._read_properties(yml)

        pending: list[tuple[str, Any]] = []
        for definition in assets or []:
            path = Path(definition.source_file or "<asset>")
            self._claim(definition.name, self.display(path), definition.source_line)
            pending.append(("python", (path, definition, None)))
        from teal.compiler.pyfiles import PythonFiles, module_name

        python_files = PythonFiles(
            [(p, module_name(self.cfg.models_dir, p), self.display(p)) for p in py_files],
            self.cache,
            self.cfg.root,
        )
        declarations = python_files.load()
        self.helpers = python_files.helpers
        for declared in declarations:
            for definition, source_text in declared.assets:
                self._claim(definition.name, declared.display, definition.source_line)
                pending.append(("python", (declared.path, definition, source_text)))
            self.python_checks += [(check, declared.display) for check in declared.checks]
        for path in sql_files:
            self._claim(path.stem, self.display(path), 1)  # a SQL file is named by its file
            pending.append(("sql", path))
        raise_all(self.errors)

        model_names = {name.lower(): name for name in self.files}
        staged: dict[str, dict[str, Any]] = {}
        ahead = self._ahead
        results: list[Any] = [None] * len(pending)

        def theirs(i: int) -> bool:  # parsed by the forked child: staged last, once it is done
            return ahead is not None and pending[i][0] == "sql" and pending[i][1] in ahead.paths

        for i in sorted(range(len(pending)), key=theirs):
            kind, item = pending[i]
            if theirs(i):
                self.parsed += ahead.collect(self.cache)
            try:
                results[i] = self._stage_sql(item) if kind == "sql" else self._stage_python(*item)
            except TealError as exc:
                results[i] = exc
        for result in results:  # in file order, as a load without the child would have them
            if isinstance(result, TealError):
                self.errors.append(result)
            else:
                staged[result["name"]] = result
        raise_all(self.errors)
        self.disabled = {n for n, m in staged.items() if m["config"].get("enabled") is False}
        for name in self.disabled:
            del staged[name]
            model_names.pop(name.lower(), None)

        by_relation: dict[str, str] = {}
        for m in staged.values():
            rel = f"{m['schema']}.{m['alias']}".lower()
            if rel in by_relation and m["materialized"] != "ephemeral":
                other = staged[by_relation[rel]]
                self.errors.append(
                    ProjectError(
                        f"models '{other['name']}' ({other['display_path']}) and '{m['name']}' both "
                        f"build relation {rel}",
                        path=m["display_path"],
                        hint="give one of them another schema or alias",
                    )
                )
            by_relation[rel] = m["name"]
        raise_all(self.errors)

        for m in staged.values():
            try:
                self._resolve(m, staged, model_names, by_relation)
                self._check_partition_mapping(m)
            except TealError as exc:
                self.errors.append(exc)
        raise_all(self.errors)

        dag = Dag({name: m["upstreams"] for name, m in staged.items()})
        cycle = dag.find_cycle()
        if cycle:
            chain = " -> ".join(f"{n} ({staged[n]['display_path']})" for n in cycle)
            first = staged[cycle[0]]
            line, col, text = self._reference_position(first, cycle[1])
            raise LineageError(
                f"models form a cycle: {chain}",
                path=first["display_path"],
                line=line,
                col=col,
                source_line=text,
                hint="each arrow means 'reads'; break the cycle by removing one of "
                "these references",
            )

        models: dict[str, Model] = {}
        for name in dag.order():
            models[name] = self._compile(staged[name], staged, models)
        models, checks = self._checks(models)
        return Project(
            config=self.cfg,
            models=models,
            sources=self.sources,
            dag=dag,
            checks=checks,
            stats={
                "parsed": self.parsed,
                "cache_hits": self.cache.hits,
                "cache_misses": self.cache.misses,
            },
        )

    def _checks(self, models: dict[str, Model]) -> tuple[dict[str, Model], dict[str, Any]]:
        """Collect checks and attach their names to the models they check."""
        import dataclasses

        from teal.compiler.check_loader import collect_checks

        checks = collect_checks(
            root=self.cfg.root,
            models=models,
            properties=self.properties,
            python_checks=self.python_checks,
            check_dirs=[self.cfg.root / p for p in self.cfg.check_paths],
            vars=self.cfg.vars,
            display=lambda p: self.display(Path(p)),
        )
        by_asset: dict[str, list[str]] = {}
        for name, check in checks.items():
            by_asset.setdefault(check.asset, []).append(name)
        for asset, names in by_asset.items():
            models[asset] = dataclasses.replace(models[asset], checks=tuple(sorted(names)))
        return models, checks

    def _discover(self) -> tuple[list[Path], list[Path], list[Path]]:
        """SQL, Python and YAML files under the models folder, outside hidden and ``_``
        folders, in path order. Taken from the files the snapshot key read when it read
        them (the same walk: regular files and links to them, no linked folders)."""
        top = str(self.cfg.models_dir) + os.sep
        paths = self.contents or (str(p) for p in self.cfg.models_dir.rglob("*") if p.is_file())
        found: list[tuple[list[str], str]] = []
        for path in paths:
            if not path.startswith(top):
                continue
            parts = path[len(top) :].split(os.sep)
            if any(p.startswith((".", "_")) for p in parts[:-1]) or parts[-1].startswith("."):
                continue
            found.append((parts, path))
        sql, py, yml = [], [], []
        for parts, path in sorted(found):  # part by part, as Paths sort
            suffix = os.path.splitext(parts[-1])[1]
            if suffix == ".sql":
                sql.append(Path(path))
            elif suffix == ".py" and not parts[-1].startswith("_"):
                py.append(Path(path))
            elif suffix in (".yml", ".yaml"):
                yml.append(Path(path))
        return sql, py, yml

    def _text(self, path: Path) -> str:
        """A SQL file's text, as ``read_text`` gives it (UTF-8, universal newlines)."""
        data = self.contents.get(str(path))
        if data is None:
            return path.read_text(encoding="utf-8")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return path.read_text(encoding="utf-8")  # raises the error a read would
        return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text

    def _reference_position(
        self, m: dict[str, Any], upstream: str
    ) -> tuple[int | None, int | None, str | None]:
        """Where model ``m`` reads ``upstream``: (line, col, source line) in its own file."""
        for ref, kind, key in m.get("resolved", ()):
            if kind == "model" and key == upstream and ref.line:
                rendered, lines = m["rendered"], m["raw_sql"].splitlines()
                line = rendered.line_of(ref.line)
                text = lines[line - 1] if 0 < line <= len(lines) else None
                col = ref.col
                if text is not None and rendered.sql != rendered.source:
                    found = text.find(ref.name)
                    col = found + 1 if found >= 0 else col
                return line, col, text
        return m.get("line"), None, None

    def _claim(self, name: str, display: str, line: int | None) -> None:
        existing = self._claimed.get(name.lower())
        if existing is not None:
            other, other_line = self.files[existing]
            where = f"{other}:{other_line}" if other_line else other
            self.errors.append(
                ProjectError(
                    f"model name '{name}' is defined twice: in {where} and in {display}",
                    path=display,
                    line=line,
                    hint="model names are unique across the project; rename one of them",
                )
            )
            return
        self._claimed[name.lower()] = name
        self.files[name] = (display, line)

    def _add_source(self, source: Source) -> None:
        if source.name in self.sources:
            other = self.sources[source.name]
            raise ProjectError(
                f"source '{source.name}' is declared twice: in {other.declared_in} and in "
                f"{source.declared_in}",
                path=source.declared_in,
                line=source.line,
                hint="declare each source once",
            )
        self.sources[source.name] = source

    def _read_properties(self, path: Path) -> None:
        display = self.display(path)
        data = read_yaml(path, display, self.cache)
        for spec in data.get("sources") or []:
            if not isinstance(spec, dict) or "name" not in spec:
                raise ProjectError(
                    "every source needs a name", path=display, line=getattr(spec, "line", None)
                )
            spec = dict(spec)
            name = spec.pop("name")
            self._add_source(
                parse_source(
                    name,
                    spec,
                    root=path.parent,
                    declared_in=display,
                    line=getattr(spec, "line", None) or None,
                )
            )
        for spec in data.get("models") or []:
            line = getattr(spec, "line", None)
            if not isinstance(spec, dict) or "name" not in spec:
                raise ProjectError(
                    "every entry under models: needs a name", path=display, line=line
                )
            for key in spec:
                if key not in MODEL_PROPERTY_KEYS:
                    key_line, key_col = getattr(spec, "keys_at", {}).get(str(key), (line, None))
                    raise ProjectError(
                        f"unknown key '{key}' for model '{spec['name']}'",
                        path=display,
                        line=key_line,
                        col=key_col,
                        hint=did_you_mean(key, MODEL_PROPERTY_KEYS),
                    )
            conf = spec.get("config") or {}
            if not isinstance(conf, dict):
                raise ProjectError(
                    f"config of model '{spec['name']}' must be a mapping", path=display, line=line
                )
            for key, value in conf.items():  # one by one, so that errors point at the key
                key_line, key_col = getattr(conf, "keys_at", {}).get(
                    str(key), (getattr(conf, "line", line), None)
                )
                validate_model_config({key: value}, path=display, line=key_line, col=key_col)
            if str(spec["name"]) in self.properties:
                other = self.properties[str(spec["name"])][1]
                raise ProjectError(
                    f"model '{spec['name']}' is described twice: in {other} and in {display}",
                    path=display,
                    line=line,
                    hint="keep one entry per model across YAML files",
                )
            self.properties[str(spec["name"])] = (spec, display)

    # -- Python models ----------------------------------------------------------------
    def _stage_python(
        self, path: Path, definition: AssetDef, source_text: str | None
    ) -> dict[str, Any]:
        display = self.display(path)
        try:
            folder = path.parent.relative_to(self.cfg.models_dir).as_posix()
        except ValueError:  # teal.materialize() of assets defined anywhere
            folder = "."
        folder = "" if folder == "." else folder
        conf = self.cfg.folder_config(folder)
        conf.setdefault("materialized", "table")
        if conf["materialized"] != "table":
            conf["materialized"] = "table"  # Python assets are always stored as tables
        self._merge_properties(definition.name, conf)
        validate_model_config(dict(definition.config), path=display, line=definition.source_line)
        merge_config(conf, definition.config)
        if conf.get("partitioned_by") is not None and conf.get("materialized") == "table":
            conf["materialized"] = "incremental"
        if conf.get("materialized") not in ("table", "incremental") or (
            conf.get("materialized") == "incremental" and conf.get("partitioned_by") is None
        ):
            raise ProjectError(
                f"Python asset '{definition.name}' must be materialized as a table",
                path=display,
                line=definition.source_line,
            )
        from teal.compiler.assets import SUPPORTED_INPUTS, input_kind

        for param in definition.upstream_params:
            annotation = definition.annotations.get(param, inspect.Parameter.empty)
            if input_kind(annotation) is None:
                shown = getattr(annotation, "__qualname__", None) or repr(annotation)
                raise ProjectError(
                    f"parameter '{param}' of asset '{definition.name}' is annotated {shown}, "
                    "which teal cannot pass",
                    path=display,
                    line=definition.source_line,
                    hint=f"annotate it as {SUPPORTED_INPUTS} (no annotation means pyarrow.Table)",
                )
        if source_text is None:
            try:
                source_text = inspect.getsource(definition.fn)
            except (OSError, TypeError):
                source_text = definition.name
        from teal.compiler.sql import text_hash

        return self._staged(
            name=definition.name,
            kind="python",
            path=path,
            display_path=display,
            folder=folder,
            conf=conf,
            line=definition.source_line,
            asset=definition,
            # vars reach Python assets through context.vars, so they are part of the version
            sql_hash=text_hash(
                source_text
                + repr(sorted(conf.items(), key=str))
                + repr(sorted(self.cfg.vars.items(), key=str))
            ),
        )

    # -- SQL models ---------------------------------------------------------------------
    def _parse_ahead(self, paths: list[Path]) -> Any:
        """Start parsing half of the SQL files the cache does not know on another core
        (compiler.offload), or None. Only plain SQL files are counted: a template's
        cache key needs its config, and a project of templates is staged here alone."""
        from teal.compiler.offload import MIN_FILES, ParseAhead

        if len(paths) < MIN_FILES or not self.strategy.can_fork():
            return None
        from teal.compiler.templating import is_template

        unknown = []
        for path in paths:
            try:
                text = self._texts[path] = self._text(path)
            except (OSError, UnicodeError):
                continue  # staging reports it
            if not is_template(text) and not self.cache.has("parse", self._parse_key(text, None)):
                unknown.append(path)
        return ParseAhead.start(
            unknown, self.cache, self._parse_plain, lambda: self.parsed, self.strategy
        )

    def _parse_key(self, text: str, template_conf: dict[str, Any] | None) -> str:
        """The compile-cache key of a SQL file's render and parse: its text, plus for a
        template (``template_conf`` given) the vars, its config ({{ this }}) and the
        environment when it reads it."""
        from teal.compiler.cache import content_key

        if template_conf is None:
            return content_key(text, "", "", "")
        return content_key(
            text,
            repr(sorted(self.cfg.vars.items(), key=str)),
            repr(sorted(template_conf.items(), key=str)),
            _environment_digest() if "env_var" in text else "",
        )

    def _parse_plain(self, path: Path) -> None:
        """Parse a SQL file that is not a template into the cache, as staging it would: its
        cache entry depends on nothing but its text (so not on YAML read later)."""
        text = self._texts[path]
        folder = path.parent.relative_to(self.cfg.models_dir).as_posix()
        self._render_and_parse(
            text,
            self.display(path),
            path.stem,
            "" if folder == "." else folder,
            {},
            self._parse_key(text, None),
        )

    def _stage_sql(self, path: Path) -> dict[str, Any]:
        from teal.compiler.templating import is_template

        display = self.display(path)
        name = path.stem
        folder = path.parent.relative_to(self.cfg.models_dir).as_posix()
        folder = "" if folder == "." else folder
        text = self._texts.pop(path, None)
        if text is None:
            text = self._text(path)
        conf = self.cfg.folder_config(folder)
        self._merge_properties(name, conf)
        template = is_template(text)
        key = self._parse_key(text, conf if template else None)
        rendered, ast, refs, (span, digest, columns) = self._render_and_parse(
            text, display, name, folder, conf, key
        )
        if rendered.config:
            line = rendered.config_line
            src = text.splitlines()[line - 1] if line else None
            validate_model_config(
                dict(rendered.config), path=display, line=line, source_line=src, source_text=text
            )
            merge_config(conf, rendered.config)
        staged = self._staged(
            name=name,
            kind="sql",
            path=path,
            display_path=display,
            folder=folder,
            conf=conf,
            line=rendered.config_line,
            asset=None,
            sql_hash="",
        )
        staged.update(
            raw_sql=text,
            rendered=rendered,
            ast=ast,
            refs=refs,
            parse_key=key,
            span=span,
            digest=digest,
            columns=columns,
        )
        if staged["materialized"] == "incremental" and template and uses_is_incremental(text):
            staged["inc"] = self._stage_variant(text, display, name, folder, conf, key)
        return staged

    def _stage_variant(
        self, text: str, display: str, name: str, folder: str, conf: dict[str, Any], full_key: str
    ) -> dict[str, Any]:
        """The ``is_incremental()`` rendering of an incremental model."""
        from teal.compiler.cache import content_key

        key = content_key(full_key, "incremental")
        rendered, ast, refs, (span, digest, _) = self._render_and_parse(
            text, display, name, folder, conf, key, incremental=True
        )
        return {
            "rendered": rendered,
            "ast": ast,
            "refs": refs,
            "parse_key": key,
            "span": span,
            "digest": digest,
            "raw_sql": text,
            "resolved": [],
        }

    def _render_and_parse(
        self,
        text: str,
        display: str,
        name: str,
        folder: str,
        conf: dict[str, Any],
        key: str,
        incremental: bool = False,
    ) -> tuple[Any, Any, list[Any], tuple[tuple[int, int], str, Any]]:
        """Render and parse one SQL file, or take what it gave last time from the cache.

        Returns (rendered, ast or None when cached, table references, (the statement's
        [start, end) in the rendered SQL, its token digest, its output columns))."""
        from teal.compiler.sql import TableRef, output_columns, parse_sql, table_references
        from teal.compiler.templating import Rendered

        cached = self.cache.get("parse", key)
        if cached is not None:
            rendered = Rendered(
                sql=cached["sql"] if cached["sql"] is not None else text,
                source=text,
                config=dict(cached["config"]),
                config_line=cached["config_line"],
            )
            refs = [
                TableRef(
                    name=n,
                    db=d,
                    catalog=c,
                    line=ln,
                    col=cl,
                    node=None,
                    start=st,
                    end=en,
                    aliased=al,
                    plain=pl,
                )
                for n, d, c, ln, cl, st, en, al, pl in cached["refs"]
            ]
            return rendered, None, refs, (cached["span"], cached["digest"], cached["columns"])
        rendered = render_sql(
            text,
            path=display,
            this_name=name,
            vars=self.cfg.vars,
            make_this=lambda inline: _ThisRelation(name, [conf, inline], folder),
            incremental=incremental,
        )
        ast = parse_sql(rendered.sql, path=display, line_of=rendered.line_of, source=text)
        refs = table_references(ast)
        columns = output_columns(ast)
        self.parsed += 1
        self.cache.put(
            "parse",
            key,
            {
                "sql": rendered.sql if rendered.sql != text else None,
                "config": dict(rendered.config),
                "config_line": rendered.config_line,
                "span": ast.meta["span"],
                "digest": ast.meta["digest"],
                "columns": columns,
                "refs": [
                    (r.name, r.db, r.catalog, r.line, r.col, r.start, r.end, r.aliased, r.plain)
                    for r in refs
                ],
            },
        )
        return rendered, ast, refs, (ast.meta["span"], ast.meta["digest"], columns)

    def _merge_properties(self, name: str, conf: dict[str, Any]) -> None:
        props = self.properties.get(name)
        if props is None:
            return
        spec, _ = props
        merge_config(conf, dict(spec.get("config") or {}))
        if spec.get("description"):
            conf.setdefault("description", str(spec["description"]))
        if spec.get("tags"):
            merge_config(conf, {"tags": spec["tags"]})

    def _staged(
        self,
        *,
        name: str,
        kind: str,
        path: Path,
        display_path: str,
        folder: str,
        conf: dict[str, Any],
        line: int | None,
        asset: AssetDef | None,
        sql_hash: str,
    ) -> dict[str, Any]:
        default_schema = folder.split("/")[0] if folder else "main"
        partitions = None
        if conf.get("partitioned_by") is not None:
            from teal.compiler.partition_sql import check_partition_column, parse_partitions

            partitions = parse_partitions(conf["partitioned_by"], path=display_path, line=line)
            check_partition_column(
                partitions, conf.get("partition_column"), path=display_path, line=line
            )
            if conf.get("materialized", "table") not in ("table", "incremental"):
                raise ProjectError(
                    f"a partitioned model is built partition by partition, so it cannot be "
                    f"materialized={conf['materialized']!r}",
                    path=display_path,
                    line=line,
                    hint="use materialized='incremental' (or 'table')",
                )
            conf["materialized"] = "incremental"
        materialized = conf.get("materialized", "view")
        unique_key = conf.get("unique_key") or ()
        unique_key = (unique_key,) if isinstance(unique_key, str) else tuple(unique_key)
        strategy = None
        if materialized == "incremental":
            strategy = conf.get("incremental_strategy") or (
                "delete+insert" if partitions is not None else ("merge" if unique_key else "append")
            )
            if partitions is None and strategy in ("merge", "delete+insert") and not unique_key:
                raise ProjectError(
                    f"incremental_strategy='{strategy}' needs a unique_key",
                    path=display_path,
                    line=line,
                    hint="add unique_key='id' (or a list of columns), or use 'append'",
                )
        return {
            "name": name,
            "kind": kind,
            "path": path,
            "display_path": display_path,
            "folder": folder,
            "config": conf,
            "schema": conf.get("schema") or default_schema,
            "alias": conf.get("alias") or name,
            "materialized": materialized,
            "line": line,
            "asset": asset,
            "sql_hash": sql_hash,
            "upstreams": [],
            "source_tables": [],
            "resolved": [],
            "partitions": partitions,
            "strategy": strategy,
            "unique_key": unique_key,
            "partition_column": conf.get("partition_column"),
        }

    # -- lineage --------------------------------------------------------------------------
    def _check_partition_mapping(self, m: dict[str, Any]) -> None:
        """Every partition_mapping entry names something the model reads, with a known mapping
        (checked even where it has no effect yet, so that a typo does not go unnoticed)."""
        from teal.compiler.partitions import parse_mapping

        reads = {
            *m["upstreams"],
            *m["source_tables"],
            *(k.split(".", 1)[1] for k in m["source_tables"]),
        }
        for name, spec in (m["config"].get("partition_mapping") or {}).items():
            parse_mapping(spec, path=m["display_path"], line=m["line"])
            if name not in reads:
                raise ProjectError(
                    f"partition_mapping names '{name}', which model '{m['name']}' does not read",
                    path=m["display_path"],
                    line=m["line"],
                    hint=did_you_mean(str(name), reads)
                    or "its keys are the upstream models or sources the model reads: "
                    + (", ".join(sorted(reads)) or "none"),
                )

    def _resolve(
        self,
        m: dict[str, Any],
        staged: dict[str, dict[str, Any]],
        model_names: dict[str, str],
        by_relation: dict[str, str],
    ) -> None:
        if m["kind"] == "python":
            self._resolve_python(m, model_names)
            return
        if "inc" in m:  # the is_incremental() variant may read other tables (often `this`)
            variant = {
                **m,
                **m["inc"],
                "upstreams": m["upstreams"],
                "source_tables": m["source_tables"],
                "resolved": m["inc"]["resolved"],
            }
            self._resolve_refs(variant, model_names, by_relation)
        self._resolve_refs(m, model_names, by_relation)

    def _resolve_refs(
        self, m: dict[str, Any], model_names: dict[str, str], by_relation: dict[str, str]
    ) -> None:
        rendered = m["rendered"]
        text_lines = m["raw_sql"].splitlines()
        for ref in m["refs"]:
            target = self._resolve_ref(ref, model_names, by_relation)
            if target is None:
                src_line = rendered.line_of(ref.line) if ref.line else None
                col = ref.col
                source_line = (
                    text_lines[src_line - 1] if src_line and src_line <= len(text_lines) else None
                )
                if source_line is not None and ref.name and rendered.sql != rendered.source:
                    out_lines = rendered.sql.splitlines()
                    out_line = out_lines[ref.line - 1] if ref.line <= len(out_lines) else None
                    col = _source_col(source_line, out_line, col, ref.name)
                raise LineageError(
                    f"'{self._display_ref(ref)}' is not a model or a declared source",
                    path=m["display_path"],
                    line=src_line,
                    col=col,
                    source_line=source_line,
                    hint=self._ref_hint(ref, model_names),
                )
            kind, key = target
            if kind == "model":
                if key != m["name"]:
                    m["upstreams"].append(key)
            else:
                m["source_tables"].append(key)
            m["resolved"].append((ref, kind, key))

    @staticmethod
    def _display_ref(ref: Any) -> str:
        if ref.db == REF_MARKER:
            return f"ref('{ref.name}')"
        if ref.db.startswith(SOURCE_MARKER_PREFIX):
            return f"source('{ref.db[len(SOURCE_MARKER_PREFIX) :]}', '{ref.name}')"
        return str(ref)

    def _ref_hint(self, ref: Any, model_names: dict[str, str]) -> str:
        if ref.name in self.disabled:
            return f"model '{ref.name}' is disabled (enabled=false); enable it or stop reading it"
        candidates = list(model_names.values())
        for src in self.sources.values():
            candidates += [t.key for t in src.tables.values()]
        name = ref.name if ref.db in ("", REF_MARKER) else f"{ref.db}.{ref.name}"
        if ref.db.startswith(SOURCE_MARKER_PREFIX):
            name = f"{ref.db[len(SOURCE_MARKER_PREFIX) :]}.{ref.name}"
        return (
            did_you_mean(name, candidates)
            or did_you_mean(ref.name, candidates)
            or (
                "declare it as a source (sources: in a YAML file beside the models) "
                "or add a model with that name"
            )
        )

    def _resolve_ref(
        self, ref: Any, model_names: dict[str, str], by_relation: dict[str, str]
    ) -> tuple[str, str] | None:
        name, db, catalog = ref.name, ref.db, ref.catalog
        lname = name.lower()
        if db == REF_MARKER:
            model = model_names.get(lname)
            return ("model", model) if model else None
        if db.startswith(SOURCE_MARKER_PREFIX):
            return self._source_key(db[len(SOURCE_MARKER_PREFIX) :], lname)
        if catalog:
            src = self.sources.get(catalog)
            if src is not None and src.kind == "duckdb":
                return self._source_key(catalog, lname)
            return None
        if db:
            hit = self._source_key(db, lname)
            if hit:
                return hit
            model = by_relation.get(f"{db}.{name}".lower())
            return ("model", model) if model else None
        model = model_names.get(lname)
        if model:
            return ("model", model)
        matches = [
            t.key
            for s in self.sources.values()
            for t in s.tables.values()
            if t.name.lower() == lname
        ]
        if len(matches) == 1:
            return ("source", matches[0])
        return None

    def _source_key(self, source: str, table: str) -> tuple[str, str] | None:
        src = self.sources.get(source)
        if src is None or table not in src.tables:
            return None
        return ("source", src.tables[table].key)

    def _resolve_python(self, m: dict[str, Any], model_names: dict[str, str]) -> None:
        definition: AssetDef = m["asset"]
        source_by_name: dict[str, list[str]] = {}
        for src in self.sources.values():
            for t in src.tables.values():
                source_by_name.setdefault(t.name.lower(), []).append(t.key)
                source_by_name.setdefault(f"{src.name}__{t.name}".lower(), []).append(t.key)
        m["params"] = []
        for param in (*definition.upstream_params, *definition.deps):
            key = param.lower()
            is_param = param in definition.upstream_params
            if key in model_names and model_names[key] != m["name"]:
                m["upstreams"].append(model_names[key])
                if is_param:
                    m["params"].append((param, "model", model_names[key]))
            elif len(source_by_name.get(key, [])) == 1:
                m["source_tables"].append(source_by_name[key][0])
                if is_param:
                    m["params"].append((param, "source", source_by_name[key][0]))
            else:
                what = "parameter" if param in definition.upstream_params else "deps entry"
                raise LineageError(
                    f"{what} '{param}' of asset '{definition.name}' is not a model or a "
                    f"declared source",
                    path=m["display_path"],
                    line=m["line"],
                    hint=did_you_mean(param, list(model_names.values()))
                    or "parameters name upstream models (or `context`); rename it or add the model",
                )

    # -- compile -------------------------------------------------------------------------
    def _compile(
        self, m: dict[str, Any], staged: dict[str, dict[str, Any]], done: dict[str, Model]
    ) -> Model:
        compiled_sql = None
        ast = None
        sql_hash = m["sql_hash"]
        incremental_sql = None
        pushdowns: tuple[Any, ...] = ()
        if m["kind"] == "sql":
            compiled_sql, ast, pushdowns, shape = self._compile_sql(m, done)
            inc_shape = ""
            if "inc" in m:
                incremental_sql, _, inc_pushdowns, inc_shape = self._compile_sql(
                    {**m, **m["inc"]}, done
                )
                incremental_sql = incremental_sql if incremental_sql != compiled_sql else None
                inc_shape = inc_shape if incremental_sql is not None else ""
                if incremental_sql is not None and inc_pushdowns:
                    raise ProjectError(
                        "is_incremental() is not supported in partitioned models",
                        path=m["display_path"],
                        line=m["line"],
                        hint="a partitioned model already rebuilds one partition at a time",
                    )
            from teal.compiler.sql import text_hash

            # The version of the model: what it reads and its tokens, not its formatting or
            # comments (a reformatted model is not a changed one).
            versioned = {k: v for k, v in m["config"].items() if k != "description"}
            sql_hash = text_hash(
                shape + "|" + inc_shape + "|" + repr(sorted(versioned.items(), key=str))
            )
        inputs: list[tuple[str, str, str]] = []
        if m["kind"] == "python":
            from teal.compiler.assets import input_kind

            found = []
            for index, (param, kind, key) in enumerate(m["params"]):
                select_sql, pushdown = self._select_sql(kind, key, done, m, index)
                if pushdown is not None:
                    found.append(pushdown)
                inputs.append(
                    (
                        param,
                        select_sql,
                        input_kind(m["asset"].annotations.get(param, inspect.Parameter.empty))
                        or "arrow",
                    )
                )
            pushdowns = tuple(found)
        partition_filter = None
        if m.get("partitions") is not None:
            from teal.compiler.partition_sql import own_filter
            from teal.compiler.partitions import TimePartitions

            partition_filter = own_filter(m["partitions"], m["partition_column"])
            if m["config"].get("backfill_policy") == "single_run":
                if not isinstance(m["partitions"], TimePartitions):
                    raise ProjectError(
                        "backfill_policy='single_run' needs time partitions",
                        path=m["display_path"],
                        line=m["line"],
                        hint="static and two-dimensional partitions build one partition per run",
                    )
                if compiled_sql and "__teal_partition_key__" in compiled_sql:
                    raise ProjectError(
                        "backfill_policy='single_run' builds a range of partitions in one query, "
                        "so the model cannot use partition.key",
                        path=m["display_path"],
                        line=m["line"],
                        hint="filter on partition.start / partition.end instead",
                    )
        conf = m["config"]
        tags = conf.get("tags") or []
        return Model(
            name=m["name"],
            kind=m["kind"],
            path=m["path"],
            display_path=m["display_path"],
            folder=m["folder"],
            schema=m["schema"],
            alias=m["alias"],
            materialized=m["materialized"],
            config=conf,
            tags=tuple([tags] if isinstance(tags, str) else tags),
            description=str(conf.get("description") or ""),
            upstreams=tuple(sorted(set(m["upstreams"]))),
            source_tables=tuple(sorted(set(m["source_tables"]))),
            raw_sql=m.get("raw_sql"),
            rendered_sql=m["rendered"].sql if m.get("rendered") else None,
            compiled_sql=compiled_sql,
            sql_hash=sql_hash,
            asset=m["asset"],
            line=m["line"],
            ast=ast,
            inputs=tuple(inputs),
            incremental_sql=incremental_sql,
            strategy=m.get("strategy"),
            unique_key=tuple(m.get("unique_key") or ()),
            partitions=m.get("partitions"),
            partition_column=m.get("partition_column"),
            pushdowns=pushdowns,
            partition_filter=partition_filter,
            columns=None if m.get("columns") is None else tuple(m["columns"]),
        )

    def _upstream_partitions(self, kind: str, key: str, done: dict[str, Model]) -> tuple[Any, Any]:
        """(definition, partition column) of an upstream model or source table, or (None, None)."""
        if kind == "source":
            table = self.source_table(key)
            return table.partitions, table.partition_column
        up = done.get(key)
        if up is None or up.partitions is None:
            return None, None
        return up.partitions, up.partition_column

    def _pushdown(
        self, m: dict[str, Any], kind: str, key: str, done: dict[str, Model], index: int
    ) -> tuple[str | None, Any]:
        """The partition filter for one upstream scan of a partitioned model, if any."""
        from teal.compiler.partition_sql import Pushdown, pushdown_filter, resolve_mapping

        if m.get("partitions") is None or uses_partition_vars(m.get("raw_sql") or ""):
            return None, None
        up_def, up_cols = self._upstream_partitions(kind, key, done)
        if up_def is None:
            return None, None
        name = key if kind == "model" else key
        spec = (m["config"].get("partition_mapping") or {}).get(name)
        if spec is None and kind == "source":
            spec = (m["config"].get("partition_mapping") or {}).get(key.split(".")[1])
        mapping = resolve_mapping(
            spec, m["partitions"], up_def, path=m["display_path"], line=m["line"]
        )
        predicate = pushdown_filter(index, up_def, up_cols, mapping)
        if predicate is None:
            return None, None
        return predicate, Pushdown(index=index, upstream=key, mapping=str(mapping))

    def _compile_sql(
        self, m: dict[str, Any], done: dict[str, Model]
    ) -> tuple[str, Any, tuple[Any, ...], str]:
        """The SQL the warehouse runs for model ``m``: every reference pointed at its physical
        relation, source reader or inlined ephemeral CTE, and partition filters pushed into
        partitioned upstreams. Cached by content.

        Returns (compiled SQL, the tree or None, pushdowns, a digest of its tokens and of
        what each reference points at)."""
        from teal.compiler.cache import content_key
        from teal.compiler.partition_sql import Pushdown

        targets = []
        for index, (_, kind, key) in enumerate(m["resolved"]):
            if kind == "source":
                table = self.source_table(key)
                targets.append(f"source:{table.kind}:{table.location}")
            elif key == m["name"] or key not in done:
                targets.append(f"self:{m['schema']}.{m['alias']}")
            elif done[key].materialized == "ephemeral":
                targets.append(f"ephemeral:{key}:{done[key].sql_hash}")
            else:
                targets.append(f"relation:{done[key].schema}.{done[key].alias}")
            if m.get("partitions") is not None and key != m["name"]:
                predicate, _ = self._pushdown(m, kind, key, done, index)
                targets.append(f"pushdown:{predicate}")
        if m.get("partitions") is not None:
            targets.append(f"partitions:{m['partitions'].describe()}")
        key = content_key(m["parse_key"], *targets)
        from teal.compiler.sql import text_hash

        # not content_key: a model's version must not change with the cache's format
        shape = text_hash("\x1f".join([m["digest"], *targets]))
        cached = self.cache.get("compile", key)
        if cached is not None:
            return cached["sql"], m["ast"], tuple(Pushdown(*p) for p in cached["pushdowns"]), shape

        compiled_sql = self._rewrite_text(m, done)
        if compiled_sql is not None:
            self.cache.put("compile", key, {"sql": compiled_sql, "pushdowns": []})
            return compiled_sql, m["ast"], (), shape

        # only a cache miss needs sqlglot (importing it alone costs a warm start ~60 ms)
        from teal.compiler.rewrite import (
            ephemeral_cte_name,
            existing_cte_names,
            inline_ephemerals,
            point_at_cte,
            point_at_relation,
            point_at_source,
            wrap_with_filter,
        )
        from teal.compiler.sql import DIALECT, parse_sql, table_references

        ast = m["ast"]
        resolved = m["resolved"]
        if ast is None:  # parse result came from the cache; the rewrite needs the tree
            rendered = m["rendered"]
            ast = parse_sql(
                rendered.sql, path=m["display_path"], line_of=rendered.line_of, source=m["raw_sql"]
            )
            self.parsed += 1
            nodes = table_references(ast)
            resolved = [(node, kind, k) for node, (_, kind, k) in zip(nodes, resolved)]
        taken: set[str] | None = None  # CTE names in the query: walked for ephemerals only
        ctes: dict[str, str] = {}
        pushdowns = []
        for index, (ref, kind, up_key) in enumerate(resolved):
            if kind == "source":
                point_at_source(ref.node, self.source_table(up_key))
            else:
                target = done.get(up_key) if up_key != m["name"] else None
                if target is None:  # self reference (`this`)
                    point_at_relation(ref.node, m["schema"], m["alias"])
                    continue
                if target.materialized == "ephemeral":
                    if up_key not in ctes:
                        taken = existing_cte_names(ast) if taken is None else taken
                        ctes[up_key] = ephemeral_cte_name(up_key, taken)
                        taken.add(ctes[up_key].lower())
                    point_at_cte(ref.node, ctes[up_key])
                    continue
                point_at_relation(ref.node, target.schema, target.alias)
            predicate, pushdown = self._pushdown(m, kind, up_key, done, index)
            if predicate is not None:
                wrap_with_filter(ref.node, predicate)
                pushdowns.append(pushdown)
        if ctes:
            inline_ephemerals(
                ast,
                [
                    (cte, parse_sql(done[k].compiled_sql or "", path=done[k].display_path))
                    for k, cte in ctes.items()
                ],
            )
        # Printed once, pretty, for both the warehouse and target/compiled. copy=False: the
        # tree is this model's own, and sqlglot's defensive deep copy cost more than parsing.
        compiled_sql = ast.sql(dialect=DIALECT, comments=False, copy=False, pretty=True)
        self.cache.put(
            "compile",
            key,
            {
                "sql": compiled_sql,
                "pushdowns": [(p.index, p.upstream, p.mapping) for p in pushdowns],
            },
        )
        return compiled_sql, ast, tuple(pushdowns), shape

    def _rewrite_text(self, m: dict[str, Any], done: dict[str, Model]) -> str | None:
        """The compiled SQL made by replacing the text of each reference in the rendered SQL,
        which keeps the author's formatting and needs no tree. None when a rewrite needs the
        tree: an inlined ephemeral, a pushed-down partition filter, or a reference written
        with more than a name and an alias (a sample, a pivot, ...).

        Like the tree rewrite, the name the author used stays as the alias, so that
        ``orders.id`` still binds."""
        from teal.compiler.sources import READERS, scan_text
        from teal.compiler.sql import quote_identifier, splice

        if m.get("span") is None:
            return None
        edits = []
        for index, (ref, kind, up_key) in enumerate(m["resolved"]):
            if not ref.plain or ref.start is None or ref.end is None:
                return None
            target = None
            if kind == "source":
                table = self.source_table(up_key)
                if table.kind in READERS:
                    text, new_name = scan_text(table), ""
                else:
                    parts = table.location.split(".")
                    text, new_name = ".".join(quote_identifier(p) for p in parts), parts[-1]
            else:
                target = done.get(up_key) if up_key != m["name"] else None
                if target is not None and target.materialized == "ephemeral":
                    return None
                schema, alias = (
                    (m["schema"], m["alias"]) if target is None else (target.schema, target.alias)
                )
                text, new_name = f"{quote_identifier(schema)}.{quote_identifier(alias)}", alias
            if (kind == "source" or target is not None) and self._pushdown(
                m, kind, up_key, done, index
            )[0]:
                return None
            if not ref.aliased and ref.name.lower() != new_name.lower():
                text += f" AS {quote_identifier(ref.name)}"
            edits.append((ref.start, ref.end, text))
        return splice(m["rendered"].sql, m["span"], edits)

    def _select_sql(
        self,
        kind: str,
        key: str,
        done: dict[str, Model],
        m: dict[str, Any] | None = None,
        index: int = 0,
    ) -> tuple[str, Any]:
        """``SELECT *`` over an upstream, as a Python asset reads it (partition-filtered when
        the asset and the upstream are partitioned). Cached: building it needs sqlglot, which
        a warm load does not otherwise import."""
        from teal.compiler.cache import content_key

        if kind == "model" and done[key].materialized == "ephemeral":
            return done[key].compiled_sql or "", None
        predicate, pushdown = (
            (None, None) if m is None else self._pushdown(m, kind, key, done, index)
        )
        if kind == "model":
            target = f"relation:{done[key].schema}.{done[key].alias}"
        else:
            table = self.source_table(key)
            target = f"source:{key}:{table.kind}:{table.location}"
        cache_key = content_key("select", target, str(predicate))
        cached = self.cache.get("select", cache_key)
        if cached is not None:
            return cached, pushdown

        from sqlglot import exp

        from teal.compiler.rewrite import point_at_relation, point_at_source
        from teal.compiler.sql import DIALECT

        if kind == "model":
            up = done[key]
            table = point_at_relation(exp.to_table(up.alias), up.schema, up.alias)
        else:
            table = point_at_source(exp.to_table(key.split(".")[1]), self.source_table(key))
        query = exp.select("*").from_(table)
        if predicate is not None:
            query = query.where(predicate, dialect=DIALECT)
        sql = query.sql(dialect=DIALECT)
        self.cache.put("select", cache_key, sql)
        return sql, pushdown

    def source_table(self, key: str) -> SourceTable:
        return find_source_table(self.sources, key)


class _ThisRelation:
    """``{{ this }}``: the model's own relation, as configured so far."""

    def __init__(self, name: str, confs: list[dict[str, Any]], folder: str) -> None:
        self._name, self._confs, self._folder = name, confs, folder

    def _get(self, key: str) -> Any:
        value = None
        for conf in self._confs:
            value = conf.get(key) or value
        return value

    @property
    def schema(self) -> str:
        return self._get("schema") or (self._folder.split("/")[0] if self._folder else "main")

    @property
    def identifier(self) -> str:
        return self._get("alias") or self._name

    def __str__(self) -> str:
        return f'"{self.schema}"."{self.identifier}"'


def _source_col(
    source_line: str, rendered_line: str | None, col: int | None, name: str
) -> int | None:
    """The column in the file of a table name found at ``col`` of a line Jinja rendered."""
    if col is None or rendered_line is None or rendered_line == source_line:
        return col
    start = col - 1
    matcher = difflib.SequenceMatcher(None, rendered_line, source_line, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        if a <= start and start + len(name) <= a + size:  # the name is text Jinja left alone
            return b + start - a + 1
    found = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", source_line, re.IGNORECASE)
    return found.start() + 1 if found else col


def _environment_digest() -> str:
    """A digest of the environment, for templates that call env_var()."""
    import hashlib
    import os

    return hashlib.sha256(repr(sorted(os.environ.items())).encode()).hexdigest()
