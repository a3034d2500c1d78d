"""The second stage of a load: each model file rendered, parsed and configured, into a
:class:`StagedModel`.

A SQL file is rendered (Jinja, when it has any) and parsed once, or taken from the compile
cache by its text; an incremental template that calls ``is_incremental()`` is rendered a
second time for its incremental runs. A Python asset is staged from what its file
declares. Either way its configuration is settled here, most general first: project
defaults and folder config, YAML properties, then the model's own ``config(...)`` or
decorator arguments; from it follow the schema, alias, materialization, partitions and
incremental strategy. References are still names: compiler.resolve resolves them.

A cold load may hand part of the parsing to a forked child (compiler.offload): the child
runs :meth:`Stager.parse_plain` on the files it takes and sends back the cache entries,
and the parent stages those files last, as cache hits.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.assets import AssetDef
from teal.compiler.cache import CompileCache, content_key
from teal.compiler.config import ProjectConfig
from teal.compiler.discover import display_path, read_sql_text
from teal.compiler.errors import ProjectError, TealError, did_you_mean
from teal.compiler.external import ExternalSpec
from teal.compiler.model_config import merge_config, validate_model_config, versioned_config
from teal.compiler.model_settings import model_settings
from teal.compiler.properties import Properties
from teal.compiler.sql import TableRef
from teal.compiler.strategy import LoadStrategy
from teal.compiler.templating import (
    Rendered,
    config_written_twice,
    is_template,
    render_sql,
    uses_is_incremental,
)

if TYPE_CHECKING:
    from sqlglot import exp

    from teal.compiler.offload import ParseAhead
    from teal.compiler.partitions import Partitions


@dataclass(frozen=True, eq=False)
class Rendering:
    """One rendering of a SQL model, parsed: the full build's, or the ``is_incremental()``
    variant's."""

    rendered: Rendered
    parse_key: str  # the compile-cache key of this render and parse
    refs: tuple[TableRef, ...]  # the tables it reads, in the order they are written
    span: tuple[int, int]  # the statement's [start, end) in the rendered SQL
    digest: str  # its tokens' digest: blind to layout and comments
    columns: tuple[str, ...] | None  # output column names (None: unknown without running)
    # the parse tree; None when the compile cache knew the file (a rewrite then parses again)
    ast: exp.Query | None = field(default=None, repr=False)


@dataclass(frozen=True, eq=False)
class StagedModel:
    """One model as its file and configuration define it, its references not resolved yet."""

    name: str
    kind: str  # "sql" | "python"
    path: Path
    display_path: str
    folder: str  # posix folder relative to the models dir ("" at top level)
    config: dict[str, Any]  # settled: folders, YAML properties, then the model's own
    schema: str
    alias: str
    materialized: str
    line: int | None  # of its config(...) call, or of its Python function
    partitions: Partitions | None = None
    partition_column: str | dict[str, str] | None = None
    strategy: str | None = None  # incremental models: append | merge | delete+insert
    unique_key: tuple[str, ...] = ()
    asset: AssetDef | None = None  # Python models
    sql_hash: str = ""  # Python models: their version (SQL models get theirs compiled)
    raw_sql: str | None = None  # SQL models: the file's text
    full: Rendering | None = None  # SQL models
    incremental: Rendering | None = None  # incremental templates calling is_incremental()
    external: ExternalSpec | None = None  # materialized='external': where its files go
    io_manager: str | None = None  # Python assets saved by an I/O manager resource
    # what its file holds that is suspicious but not wrong (config() called twice)
    warnings: tuple[TealError, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.config.get("enabled") is not False


@dataclass(frozen=True)
class PendingAsset:
    """A Python asset to stage: where it is defined, and its function's source if known."""

    path: Path
    definition: AssetDef
    source_text: str | None


class Stager:
    """Stages the model files of one load, with its compile cache."""

    def __init__(
        self,
        cfg: ProjectConfig,
        cache: CompileCache,
        properties: Properties,
        contents: Mapping[str, bytes],
    ) -> None:
        self.cfg = cfg
        self.cache = cache
        self.properties = properties
        self.contents = contents  # path -> bytes of the files the snapshot key read
        self.parsed = 0  # SQL parses done (0 on a warm, unchanged project)
        self._texts: dict[Path, str] = {}  # SQL files read ahead of staging

    def stage_all(
        self, pending: Sequence[Path | PendingAsset], ahead: ParseAhead | None
    ) -> list[StagedModel | TealError]:
        """Each pending SQL file (a path) or Python asset staged, or the error it raised, in
        the order given. Files the parse-ahead child took are staged last, once it is done."""

        def theirs(i: int) -> bool:
            item = pending[i]
            return ahead is not None and isinstance(item, Path) and item in ahead.paths

        results: list[StagedModel | TealError | None] = [None] * len(pending)
        for i in sorted(range(len(pending)), key=theirs):
            item = pending[i]
            if ahead is not None and theirs(i):
                self.parsed += ahead.collect(self.cache)
            try:
                results[i] = (
                    self.stage_sql(item)
                    if isinstance(item, Path)
                    else self.stage_python(item.path, item.definition, item.source_text)
                )
            except TealError as exc:
                results[i] = exc
        return [r for r in results if r is not None]

    # -- SQL models -----------------------------------------------------------------------
    def stage_sql(self, path: Path) -> StagedModel:
        display = display_path(self.cfg.root, path)
        name = path.stem
        folder = _folder(self.cfg.models_dir, path)
        text = self._texts.pop(path, None)
        if text is None:
            text = read_sql_text(path, self.contents, display)
        conf = self.cfg.folder_config(folder)
        self.properties.merge_into(name, conf)
        template = is_template(text)
        full = self._render_and_parse(
            text, display, name, folder, conf, self._parse_key(text, conf if template else None)
        )
        rendered = full.rendered
        if full.columns is not None and len(set(full.columns)) < len(full.columns):
            raise _column_named_twice(full, text, display)
        twice = config_written_twice(text, display) if rendered.config else None
        if rendered.config:
            line = rendered.config_line
            src = text.splitlines()[line - 1] if line else None
            validate_model_config(
                dict(rendered.config), path=display, line=line, source_line=src, source_text=text
            )
            if "io_manager" in rendered.config:
                raise ProjectError(
                    "io_manager is for Python assets; a SQL model writes files with "
                    "materialized='external'",
                    path=display,
                    line=line,
                    hint="config(materialized='external', format='parquet')",
                )
            merge_config(conf, rendered.config)
        conf.pop("io_manager", None)  # folder defaults for Python assets
        settings = model_settings(
            name,
            display,
            folder,
            conf,
            rendered.config_line,
            self.cfg,
            source_text=text if rendered.config else None,
        )
        if settings.external is not None:
            from teal.compiler.external import check_partition_by

            check_partition_by(settings.external, full.columns, display, rendered.config_line)
        incremental = None
        if settings.materialized == "incremental" and template and uses_is_incremental(text):
            incremental = self._render_and_parse(
                text,
                display,
                name,
                folder,
                conf,
                content_key(full.parse_key, "incremental"),
                incremental=True,
            )
        return StagedModel(
            name=name,
            kind="sql",
            path=path,
            display_path=display,
            folder=folder,
            config=conf,
            line=rendered.config_line,
            raw_sql=text,
            full=full,
            incremental=incremental,
            schema=settings.schema,
            alias=settings.alias,
            materialized=settings.materialized,
            partitions=settings.partitions,
            partition_column=settings.partition_column,
            strategy=settings.strategy,
            unique_key=settings.unique_key,
            external=settings.external,
            warnings=((twice,) if twice is not None else ())
            + _between_end(settings.partitions, text, display)
            + settings.warnings,
        )

    def parse_ahead(self, paths: Sequence[Path], strategy: LoadStrategy) -> ParseAhead | None:
        """Start parsing part of the SQL files the cache does not know on another core
        (compiler.offload), or None. Only plain SQL files are counted: a template's cache
        key needs its config, and a project of templates is staged here alone."""
        from teal.compiler.offload import MIN_FILES, ParseAhead

        if len(paths) < MIN_FILES or not strategy.can_fork():
            return None
        unknown = []
        for path in paths:
            try:
                text = self._texts[path] = read_sql_text(path, self.contents)
            except (OSError, TealError):
                continue  # staging reports it
            if not is_template(text) and not self.cache.has("parse", self._parse_key(text, None)):
                unknown.append(path)
        return ParseAhead.start(
            unknown, self.cache, self.parse_plain, lambda: self.parsed, strategy
        )

    def parse_plain(self, path: Path) -> None:
        """Parse a SQL file that is not a template into the cache, as staging it would: its
        cache entry depends on nothing but its text (so not on YAML read later)."""
        text = self._texts[path]
        self._render_and_parse(
            text,
            display_path(self.cfg.root, path),
            path.stem,
            _folder(self.cfg.models_dir, path),
            {},
            self._parse_key(text, None),
        )

    def _parse_key(self, text: str, template_conf: dict[str, Any] | None) -> str:
        """The compile-cache key of a SQL file's render and parse: its text, plus for a
        template (``template_conf`` given) the vars, its config ({{ this }}) and the
        environment when it reads it."""
        if template_conf is None:
            return content_key(text, "", "", "")
        return content_key(
            text,
            repr(sorted(self.cfg.vars.items(), key=str)),
            repr(sorted(template_conf.items(), key=str)),
            _environment_digest() if "env_var" in text else "",
        )

    def _render_and_parse(
        self,
        text: str,
        display: str,
        name: str,
        folder: str,
        conf: dict[str, Any],
        key: str,
        incremental: bool = False,
    ) -> Rendering:
        """Render and parse one SQL file, or take what it gave last time from the cache."""
        cached = self.cache.get("parse", key)
        if cached is not None:
            rendered = Rendered(
                sql=cached["sql"] if cached["sql"] is not None else text,
                source=text,
                config=dict(cached["config"]),
                config_line=cached["config_line"],
            )
            refs = tuple(
                [
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
            )
            columns = cached["columns"]
            return Rendering(
                rendered,
                key,
                refs,
                cached["span"],
                cached["digest"],
                None if columns is None else tuple(columns),
            )
        from teal.compiler.sql import output_columns, parse_sql, table_references

        rendered = render_sql(
            text,
            path=display,
            this_name=name,
            vars=self.cfg.vars,
            make_this=lambda inline: _ThisRelation(name, [conf, inline], folder),
            incremental=incremental,
        )
        ast = parse_sql(rendered.sql, path=display, line_of=rendered.line_of, source=text)
        found = table_references(ast)
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
                    for r in found
                ],
            },
        )
        return Rendering(
            rendered,
            key,
            tuple(found),
            ast.meta["span"],
            ast.meta["digest"],
            None if columns is None else tuple(columns),
            ast,
        )

    # -- Python models --------------------------------------------------------------------
    def stage_python(
        self, path: Path, definition: AssetDef, source_text: str | None
    ) -> StagedModel:
        display = display_path(self.cfg.root, path)
        try:
            folder = path.parent.relative_to(self.cfg.models_dir).as_posix()
        except ValueError:  # teal.materialize() of assets defined anywhere
            folder = "."
        folder = "" if folder == "." else folder
        conf = self.cfg.folder_config(folder)
        conf.setdefault("materialized", "table")
        if conf["materialized"] not in ("table", "external"):
            conf["materialized"] = "table"  # Python assets are stored as tables or files
        self.properties.merge_into(definition.name, conf)
        validate_model_config(dict(definition.config), path=display, line=definition.source_line)
        merge_config(conf, definition.config)
        io_manager = self._io_manager(definition, conf, display)
        if conf.get("partitioned_by") is not None and conf.get("materialized") == "table":
            conf["materialized"] = "incremental"
        if conf.get("materialized") not in ("table", "incremental", "external") or (
            conf.get("materialized") == "incremental" and conf.get("partitioned_by") is None
        ):
            raise ProjectError(
                f"Python asset '{definition.name}' must be materialized as a table "
                "(or as external files)",
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

        settings = model_settings(
            definition.name, display, folder, conf, definition.source_line, self.cfg
        )
        # vars reach Python assets through context.vars, so they are part of the version:
        # the ones it declares (vars=[...]), or else every one
        declared = conf.get("vars")
        used = (
            [(k, self.cfg.vars.get(k)) for k in sorted(map(str, declared))]
            if isinstance(declared, (list, tuple))
            else sorted(self.cfg.vars.items(), key=str)
        )
        version = text_hash(
            source_text
            + repr(versioned_config(conf))
            + repr(used)
            + (settings.external.location if settings.external is not None else "")
        )
        return StagedModel(
            name=definition.name,
            kind="python",
            path=path,
            display_path=display,
            folder=folder,
            config=conf,
            line=definition.source_line,
            asset=definition,
            sql_hash=version,
            schema=settings.schema,
            alias=settings.alias,
            materialized=settings.materialized,
            partitions=settings.partitions,
            partition_column=settings.partition_column,
            strategy=settings.strategy,
            unique_key=settings.unique_key,
            external=settings.external,
            io_manager=io_manager,
            warnings=settings.warnings,
        )

    def _io_manager(self, definition: AssetDef, conf: dict[str, Any], display: str) -> str | None:
        """Settle a Python asset's I/O manager into ``conf``: ``parquet``, ``csv`` and
        ``json`` make it external files of that format, ``warehouse`` a table; another name
        is a declared resource (returned) that saves and loads the asset's data."""
        from teal.compiler.external import BUILTIN_IO_MANAGERS

        chosen = conf.get("io_manager")
        if chosen is None and conf.get("materialized") != "external":
            chosen = self.cfg.io_manager  # the project's or the target's default
        if chosen is None:
            return None
        conf["io_manager"] = chosen
        if chosen == "warehouse":
            if conf.get("materialized") == "external":
                conf["materialized"] = "table"
            return None
        if chosen in BUILTIN_IO_MANAGERS:
            if conf.get("format") not in (None, chosen):
                raise ProjectError(
                    f"asset '{definition.name}' says io_manager={chosen!r} and "
                    f"format={conf['format']!r}",
                    path=display,
                    line=definition.source_line,
                    hint="keep one of them",
                )
            conf["materialized"], conf["format"] = "external", chosen
            return None
        if chosen not in self.cfg.resources:
            raise ProjectError(
                f"asset '{definition.name}' names io_manager {chosen!r}, which is neither a "
                "built-in I/O manager nor a declared resource",
                path=display,
                line=definition.source_line,
                hint=did_you_mean(chosen, [*BUILTIN_IO_MANAGERS, *self.cfg.resources])
                or "use warehouse, parquet, csv or json, or declare "
                f"[tool.teal.resources.{chosen}] with a teal.IOManager class",
            )
        if conf.get("materialized") == "external":
            conf["materialized"] = "table"
        return chosen


def _column_named_twice(full: Rendering, text: str, display: str) -> ProjectError:
    """The error of a query that names two of its columns alike (DuckDB would store the
    second renamed, ``x_1``, and readers of ``x`` would get the first), at the second."""
    from teal.compiler.sql import parse_sql, repeated_column, repeated_column_error

    sql, line_of = full.rendered.sql, full.rendered.line_of
    found = repeated_column(full.ast or parse_sql(sql, path=display, line_of=line_of, source=text))
    name = found[0] if found is not None else "?"
    return repeated_column_error(
        found,
        sql,
        text,
        line_of,
        display,
        f"a table has one column of a name (DuckDB would store the second as {name}_1)",
    )


def _folder(models_dir: Path, path: Path) -> str:
    folder = path.parent.relative_to(models_dir).as_posix()
    return "" if folder == "." else folder


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


def _environment_digest() -> str:
    """A digest of the environment, for templates that call env_var()."""
    return hashlib.sha256(repr(sorted(os.environ.items())).encode()).hexdigest()


def _between_end(partitions: Partitions | None, text: str, path: str) -> tuple[TealError, ...]:
    """A partitioned template comparing ``BETWEEN ... AND {{ partition.end }}`` (end is
    exclusive): a warning (compiler/partition_between.py)."""
    if partitions is None or "partition.end" not in text:
        return ()
    from teal.compiler.partition_between import between_partition_end

    found = between_partition_end(text, path)
    return (found,) if found is not None else ()
