"""Read a dbt project into teal's :class:`Project`.

The stages, as dbt runs them:

1. files: macros (and generic tests, docs blocks) of the project, its installed packages
   and dbt's built-ins; YAML properties; models, seeds, snapshots, singular tests;
2. config: each node's config settled, most general first: the package's own
   dbt_project.yml, the root project's (folder by folder, ``+key`` or a known key), YAML
   ``config:``, then the node's own ``config(...)`` (found by rendering it once with
   ``execute`` false, as dbt's parse does, which also records its ``ref``/``source`` calls;
   an incremental model is rendered a second time with ``is_incremental()`` true so that
   refs in either branch are found);
3. relations: ``generate_schema_name`` / ``generate_alias_name`` (the project's own, or
   dbt's default) give each node's relation;
4. compile: each node rendered with ``execute`` true: ``ref`` gives the upstream relation
   (an ephemeral one a CTE injected at the top), ``this`` the node's own; an incremental
   model's ``is_incremental()`` variant too; seeds and snapshots become queries
   (compiler/dbt/seeds.py, snapshots.py); tests become teal checks of the node they test.

The result is a Project like any other: the plan, executor and warehouse do the rest.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teal.compiler.config import ProjectConfig, merge_config
from teal.compiler.dbt.context import AttrDict, DbtJinja, Relation, RenderAtRun
from teal.compiler.dbt.settings import DbtSettings, Package, native
from teal.compiler.errors import (
    LineageError,
    ProjectError,
    TealError,
    TemplateError,
    did_you_mean,
    raise_all,
)

SUPPORTED_MATERIALIZATIONS = ("view", "table", "incremental", "ephemeral")
STRATEGIES = ("append", "delete+insert", "merge")
# config names dbt_project.yml may set without the + prefix
CONFIG_KEYS = {
    "materialized",
    "enabled",
    "schema",
    "alias",
    "database",
    "tags",
    "meta",
    "docs",
    "persist_docs",
    "post-hook",
    "pre-hook",
    "full_refresh",
    "unique_key",
    "incremental_strategy",
    "on_schema_change",
    "column_types",
    "quote_columns",
    "delimiter",
    "severity",
    "where",
    "warn_if",
    "error_if",
    "store_failures",
    "limit",
    "strategy",
    "updated_at",
    "check_cols",
    "target_schema",
    "target_database",
    "hard_deletes",
    "invalidate_hard_deletes",
    "contract",
    "grants",
    "group",
    "access",
    "sql_header",
    "event_time",
    "batch_size",
    "begin",
    "lookback",
    "incremental_predicates",
    "packages",
    "snapshot_meta_column_names",
    "dbt_valid_to_current",
    "store_failures_as",
    "fail_calc",
    "unique_id",
    "labels",
    "quoting",
    "transient",
    "copy_grants",
    "on_configuration_change",
}
DICT_CONFIGS = {"meta", "column_types", "docs", "persist_docs", "grants", "quoting", "contract"}
IGNORED_YAML = ("semantic_models", "metrics", "saved_queries", "exposures", "groups", "version")
YAML_KEYS = (
    "models",
    "seeds",
    "snapshots",
    "sources",
    "macros",
    "analyses",
    "unit_tests",
    "data_tests",
    "tests",
    "functions",
    *IGNORED_YAML,
)
TEST_MARKER = "__teal_check_target__"
_COMMENTS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)
_SNAPSHOT = re.compile(r"\{%-?\s*snapshot\s+(\w+)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}", re.S)


@dataclass
class Node:
    resource_type: str  # model | seed | snapshot | test | analysis
    package: str
    name: str
    path: Path
    display: str  # relative to the project root
    fqn: list[str]
    raw: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    yaml: Any = None  # its YAML properties entry
    yaml_display: str = ""
    template: Any = None
    refs: list[tuple[str, str | None]] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    schema: str = ""
    alias: str = ""
    database: str = ""
    compiled: str = ""
    incremental_sql: str | None = None
    columns: tuple[str, ...] | None = None
    digest: str = ""
    description: str = ""
    render_at_run: bool = False  # its Jinja queries the warehouse: rendered again at run
    ctes: str = ""  # the ephemeral CTEs injected into its SQL

    @property
    def unique_id(self) -> str:
        return f"{self.resource_type}.{self.package}.{self.name}"

    @property
    def materialized(self) -> str:
        if self.resource_type == "seed":
            return "seed"
        if self.resource_type == "snapshot":
            return "snapshot"
        return str(self.config.get("materialized") or "view")

    @property
    def enabled(self) -> bool:
        return self.config.get("enabled", True) is not False


class DbtLoader:
    """Reads one dbt project (``cfg.dbt``) into a Project."""

    def __init__(
        self, cfg: ProjectConfig, *, command: str = "build", full_refresh: bool = False
    ) -> None:
        assert cfg.dbt is not None
        self.cfg = cfg
        self.settings: DbtSettings = cfg.dbt
        self.command = command
        self.full_refresh = full_refresh
        self.jinja = DbtJinja(self)
        from teal.compiler.cache import CompileCache

        # compiled templates and seed types by content (compiler/cache.py)
        self.cache = CompileCache(cfg.root / ".teal" / "cache" / "dbt.pickle")
        self.jinja.cache = self.cache
        self.nodes: dict[str, Node] = {}  # unique_id -> node
        self.by_name: dict[str, list[Node]] = {}  # model/seed/snapshot name -> nodes
        self.sources: dict[tuple[str, str], dict[str, Any]] = {}  # (source, table) -> info
        self.source_entries: dict[str, tuple[Any, str, str]] = {}  # source name -> entry
        self.properties: dict[tuple[str, str], tuple[Any, str]] = {}  # (type, name) -> entry
        self.unit_tests: list[tuple[Any, str]] = []
        self.errors: list[TealError] = []
        self.graph = AttrDict(
            nodes={},
            sources={},
            exposures={},
            metrics={},
            groups={},
            semantic_models={},
            saved_queries={},
        )
        self._connection: Any = None
        self.hooks: list[tuple[str, str, tuple[str, ...]]] = []
        self._live: Any = None  # while a build runs: the query function of its cursor
        import threading

        self._lock = threading.Lock()

    # -- Jinja context callbacks -------------------------------------------------------------
    @property
    def node(self) -> Node | None:
        return self.jinja.state.node

    def var(self, name: str, default: Any = ...) -> Any:
        if name in self.settings.cli_vars:
            return self.settings.cli_vars[name]
        node = self.node
        package = node.package if node is not None else self.settings.project.name
        root_vars = self.settings.project.vars
        scoped = root_vars.get(package)
        if isinstance(scoped, dict) and name in scoped and package != self.settings.project.name:
            return scoped[name]
        if name in root_vars and not (
            isinstance(root_vars[name], dict) and name in self._package_names()
        ):
            return root_vars[name]
        own = self.settings.package(package)
        if own is not None and own is not self.settings.project and name in own.vars:
            return own.vars[name]
        if default is not ...:
            return default
        raise self.jinja.error(
            f"var('{name}') is not defined",
            hint=f"set it under vars: in dbt_project.yml, pass --vars '{{{name}: ...}}', "
            f"or give a default: var('{name}', ...)",
            pattern=r"var\s*\(\s*['\"]" + re.escape(name),
        )

    def _package_names(self) -> set[str]:
        return {p.name for p in self.settings.packages} | {self.settings.project.name}

    def env_var(self, name: str, default: Any = None) -> Any:
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise self.jinja.error(
            f"environment variable {name} is not set",
            hint=f"export {name}=... or give a default: env_var('{name}', '...')",
            pattern=r"env_var\s*\(\s*['\"]" + re.escape(name),
        )

    def ref(self, *args: Any, version: Any = None, v: Any = None, package: Any = None) -> Any:
        names = [str(a) for a in args]
        if not names or len(names) > 2:
            raise self.jinja.error(
                "ref() takes a model name, or a package and a model name", pattern=r"ref\s*\("
            )
        pkg = names[0] if len(names) == 2 else package
        name = names[-1]
        state = self.jinja.state
        if self.jinja.phase == "parse":
            state.refs.append((name, pkg))
            marker = f"__teal_dbt_ref_{len(state.refs) - 1}__"
            return Relation(
                self.settings.target.database, self.settings.target.schema, name, cte=marker
            )
        target = self._find(name, pkg)
        if target is None:
            raise self._unknown_ref(name, pkg)
        state.refs.append((target.name, target.package))
        if target.materialized == "ephemeral":
            return Relation(None, None, target.alias, "cte", cte=f"__dbt__cte__{target.name}")
        kind = (
            "table"
            if target.materialized in ("table", "incremental", "seed", "snapshot")
            else "view"
        )
        return Relation(target.database, target.schema, target.alias, kind)

    def _find(self, name: str, package: str | None) -> Node | None:
        found = [n for n in self.by_name.get(name, []) if n.enabled and n.resource_type != "test"]
        if package is not None:
            found = [n for n in found if n.package == package]
        if not found:
            return None
        node = self.node
        for candidate in found:  # a node's own package first, then the root project
            if node is not None and candidate.package == node.package:
                return candidate
        for candidate in found:
            if candidate.package == self.settings.project.name:
                return candidate
        return found[0]

    def _unknown_ref(self, name: str, package: str | None) -> TealError:
        disabled = [n for n in self.by_name.get(name, []) if not n.enabled]
        if disabled:
            hint = f"'{name}' is disabled ({disabled[0].display}); enable it or stop referencing it"
        else:
            candidates = [n for n, nodes in self.by_name.items() if any(x.enabled for x in nodes)]
            hint = did_you_mean(name, candidates) or "no model, seed or snapshot has that name"
        shown = f"'{package}', '{name}'" if package else f"'{name}'"
        return self.jinja.error(
            f"ref({shown}) is not a model, seed or snapshot",
            hint=hint,
            pattern=r"ref\s*\(\s*(['\"]\w+['\"]\s*,\s*)?['\"]" + re.escape(name) + "['\"]",
        )

    def source(self, source_name: str, table_name: str) -> Any:
        info = self.sources.get((source_name, table_name))
        pattern = r"source\s*\(\s*['\"]" + re.escape(source_name)
        if info is None:
            known = [f"{s}.{t}" for s, t in self.sources]
            raise self.jinja.error(
                f"source('{source_name}', '{table_name}') is not declared",
                hint=did_you_mean(f"{source_name}.{table_name}", known)
                or "declare it under sources: in a YAML file in the model paths",
                pattern=pattern,
            )
        self.jinja.state.sources.append((source_name, table_name))
        return Relation(info["database"], info["schema"], info["identifier"], "table")

    def config_call(self, *args: Any, **kwargs: Any) -> str:
        if args and isinstance(args[0], dict):
            kwargs = {**args[0], **kwargs}
        if self.jinja.phase == "parse":
            self.jinja.state.config_calls.append(dict(kwargs))
        return ""

    def config_get(self, key: str, default: Any = None) -> Any:
        node = self.node
        if node is None:
            return default
        if self.jinja.phase == "parse":  # what the node says so far, with its own calls
            merged = dict(node.config)
            for call in self.jinja.state.config_calls:
                merged.update(call)
            value = merged.get(key)
        else:
            value = node.config.get(key)
        return default if value is None else value

    def this(self) -> Relation:
        node = self.node
        if node is None:
            return Relation()
        kind = "table" if node.materialized != "view" else "view"
        return Relation(
            node.database or self.settings.target.database,
            node.schema or self.settings.target.schema,
            node.alias or node.name,
            kind,
        )

    def model_dict(self) -> dict[str, Any]:
        node = self.node
        if node is None:
            return {}
        return _node_dict(node, self.settings)

    def doc(self, name: str, package: str | None = None) -> str:
        key = package and f"{package}.{name}"
        text = (
            self.jinja.docs.get(name)
            if key is None or key not in self.jinja.docs
            else self.jinja.docs[key]
        )
        if text is None:
            raise self.jinja.error(
                f"doc('{name}') names no docs block",
                hint=did_you_mean(name, self.jinja.docs)
                or "define {% docs " + name + " %}...{% enddocs %} in a .md file",
            )
        return text

    # -- the warehouse, for run_query / statement / adapter introspection at compile time ----
    def _conn(self) -> Any:
        if self._connection is None:
            import duckdb

            path = self.cfg.warehouse_path
            if str(path) != ":memory:" and Path(path).exists():
                try:
                    self._connection = duckdb.connect(str(path), read_only=True)
                except duckdb.Error:
                    self._connection = duckdb.connect()
            else:
                self._connection = duckdb.connect()
        return self._connection

    def run_sql(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        state = self.jinja.state
        state.queried = True
        if self._live is not None:  # rendered while the build runs (render_at_run)
            try:
                names, rows = self._live(sql)
                return names, rows
            except Exception as exc:  # noqa: BLE001 - the database's message, located
                raise self.jinja.error(
                    f"a query the template runs failed: {str(exc).splitlines()[0]}"
                ) from None
        node = state.node
        deferrable = (
            self.jinja.phase == "compile"
            and node is not None
            and node.resource_type in ("model", "snapshot")
        )
        conn = self._conn()
        try:
            cur = conn.execute(sql)
            names = [d[0] for d in cur.description or []]
            return names, cur.fetchall() if cur.description else []
        except Exception as exc:  # noqa: BLE001 - the database's message, located at the node
            if deferrable:  # it reads what this build makes: rendered when it runs
                from teal.compiler.dbt.context import RenderAtRun

                raise RenderAtRun(sql) from None
            raise self.jinja.error(
                f"a query the template runs at compile time failed: {exc}".split("\n")[0],
                hint="teal renders models before the build, against the warehouse as it is then: "
                "a query must not read relations this build creates",
            ) from None

    def relation_kind(self, schema: str, identifier: str) -> str | None:
        rows = self.run_sql(
            "select table_type from information_schema.tables where lower(table_schema) = "
            f"lower('{schema}') and lower(table_name) = lower('{identifier}')"
        )[1]
        if not rows:
            return None
        return "view" if "VIEW" in str(rows[0][0]).upper() else "table"

    def columns_of(self, relation: Any) -> list[tuple[str, str]]:
        schema = getattr(relation, "schema", None) or self.settings.target.schema
        name = getattr(relation, "identifier", None) or str(relation)
        return [
            (str(r[0]), str(r[1]))
            for r in self.run_sql(
                "select column_name, data_type from information_schema.columns where "
                f"lower(table_schema) = lower('{schema}') and lower(table_name) = lower('{name}') "
                "order by ordinal_position"
            )[1]
        ]

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- the load --------------------------------------------------------------------------
    def load(self) -> Any:
        try:
            project = self._load()
        finally:
            self.close()
        self.cache.save()
        return project

    def _packages(self) -> list[Package]:
        return [self.settings.project, *self.settings.packages]

    def _display(self, path: Path) -> str:
        try:
            return path.relative_to(self.cfg.root).as_posix()
        except ValueError:
            return str(path)

    def _files(
        self, package: Package, folders: tuple[str, ...], suffixes: tuple[str, ...]
    ) -> list[Path]:
        found: list[Path] = []
        for folder in folders:
            base = package.root / folder
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*")):
                rel = path.relative_to(base).parts
                if any(p.startswith(".") for p in rel) or not path.is_file():
                    continue
                if (
                    package is self.settings.project
                    and "dbt_packages" in path.relative_to(package.root).parts
                ):
                    continue
                if path.suffix in suffixes:
                    found.append(path)
        return found

    def _read(self, path: Path) -> str:
        from teal.compiler.discover import decode_utf8

        text = decode_utf8(path.read_bytes(), self._display(path))
        return text.replace("\r\n", "\n")

    def _load(self) -> Any:
        from teal.compiler.dbt.builtins import BUILTIN_MACROS

        self.jinja.add_macro_file("dbt", "<teal's dbt built-ins>", BUILTIN_MACROS)
        for package in self._packages():
            paths = {*package.macro_paths, *package.test_paths}
            for path in self._files(package, tuple(sorted(paths)), (".sql",)):
                text = self._read(path)
                in_tests = any(self._under(path, package.root / t) for t in package.test_paths)
                if in_tests and not re.search(r"\{%-?\s*(test|macro)\s", text):
                    continue  # a singular test, read below
                self.jinja.add_macro_file(package.name, self._display(path), text)
            doc_folders = (
                *package.model_paths,
                *package.macro_paths,
                *package.seed_paths,
                *package.snapshot_paths,
                *package.test_paths,
                "docs",
            )
            for path in self._files(package, tuple(dict.fromkeys(doc_folders)), (".md",)):
                self.jinja.add_macro_file(package.name, self._display(path), self._read(path))
        self._read_yaml()
        self._discover()
        raise_all(self.errors)
        self._configure()
        raise_all(self.errors)
        self._relations()
        raise_all(self.errors)
        return self._compile()

    @staticmethod
    def _under(path: Path, folder: Path) -> bool:
        try:
            path.relative_to(folder)
            return True
        except ValueError:
            return False

    # -- YAML ------------------------------------------------------------------------------
    def _read_yaml(self) -> None:
        from teal.compiler.yamlfile import parse_yaml

        for package in self._packages():
            folders = (
                *package.model_paths,
                *package.seed_paths,
                *package.snapshot_paths,
                *package.macro_paths,
                *package.analysis_paths,
                *package.test_paths,
            )
            for path in self._files(package, tuple(dict.fromkeys(folders)), (".yml", ".yaml")):
                display = self._display(path)
                try:
                    data = parse_yaml(self._read(path), display)
                except TealError as exc:
                    self.errors.append(exc)
                    continue
                if data is None:
                    continue
                if not isinstance(data, dict):
                    self.errors.append(
                        ProjectError(
                            "a YAML properties file must be a mapping", path=display, line=1
                        )
                    )
                    continue
                for key, value in data.items():
                    line, col = getattr(data, "keys_at", {}).get(str(key), (None, None))
                    if key in IGNORED_YAML:
                        continue  # semantic layer and exposures: read by dbt Cloud tools, not rendered
                    if key not in YAML_KEYS:
                        self.errors.append(
                            ProjectError(
                                f"unknown top-level key '{key}'",
                                path=display,
                                line=line,
                                col=col,
                                hint=did_you_mean(str(key), YAML_KEYS)
                                or "dbt properties files hold models:, sources:, seeds:, ...",
                            )
                        )
                        continue
                    if value is None:
                        continue
                    if not isinstance(value, list):
                        self.errors.append(
                            ProjectError(f"{key}: must be a list", path=display, line=line, col=col)
                        )
                        continue
                    for entry in value:
                        self._yaml_entry(str(key), entry, display, package)

    def _yaml_entry(self, key: str, entry: Any, display: str, package: Package) -> None:
        line = getattr(entry, "line", None)
        if not isinstance(entry, dict) or not entry.get("name"):
            self.errors.append(
                ProjectError(f"every entry under {key}: needs a name", path=display, line=line)
            )
            return
        name = str(entry["name"])
        if key == "sources":
            self._add_source(entry, display, package)
        elif key == "unit_tests":
            self.unit_tests.append((entry, display))
        elif key in ("models", "seeds", "snapshots", "analyses"):
            kind = key[:-1] if key != "analyses" else "analysis"
            if (kind, name) in self.properties and self.properties[(kind, name)][1] != display:
                other = self.properties[(kind, name)][1]
                self.errors.append(
                    ProjectError(
                        f"{kind} '{name}' is described twice: in {other} and in {display}",
                        path=display,
                        line=line,
                        hint="keep one entry per node across YAML files",
                    )
                )
                return
            self.properties[(kind, name)] = (entry, display)
            if kind == "snapshot" and entry.get("relation"):
                self._yaml_snapshot(entry, display, package)

    def _add_source(self, entry: Any, display: str, package: Package) -> None:
        name = str(entry["name"])
        if name in self.source_entries:
            other = self.source_entries[name][1]
            self.errors.append(
                ProjectError(
                    f"source '{name}' is declared twice: in {other} and in {display}",
                    path=display,
                    line=getattr(entry, "line", None),
                    hint="declare each source once",
                )
            )
            return
        self.source_entries[name] = (entry, display, package.name)
        for table in entry.get("tables") or []:
            if not isinstance(table, dict) or not table.get("name"):
                self.errors.append(
                    ProjectError(
                        "every source table needs a name",
                        path=display,
                        line=getattr(table, "line", None),
                    )
                )
                continue
            self.sources[(name, str(table["name"]))] = {
                "entry": table,
                "source_entry": entry,
                "display": display,
                "package": package.name,
                "raw_schema": entry.get("schema") or name,
                "identifier": str(table.get("identifier") or table["name"]),
                "database": entry.get("database"),
                "schema": None,
            }

    def _yaml_snapshot(self, entry: Any, display: str, package: Package) -> None:
        name = str(entry["name"])
        relation = str(entry["relation"]).strip()
        raw = "select * from {{ " + relation + " }}"
        node = Node(
            "snapshot",
            package.name,
            name,
            package.root / display,
            display,
            [package.name, "snapshots", name],
            raw=raw,
        )
        node.yaml, node.yaml_display = entry, display
        self._add_node(node)

    # -- nodes -----------------------------------------------------------------------------
    def _add_node(self, node: Node) -> None:
        uid = node.unique_id
        if uid in self.nodes:
            other = self.nodes[uid]
            self.errors.append(
                ProjectError(
                    f"{node.resource_type} '{node.name}' is defined twice: in {other.display} and in {node.display}",
                    path=node.display,
                    line=1,
                    hint="names are unique in a project; rename one of them",
                )
            )
            return
        self.nodes[uid] = node
        if node.resource_type != "test":
            self.by_name.setdefault(node.name, []).append(node)

    def _fqn(self, package: Package, base: Path, path: Path, name: str) -> list[str]:
        parts = list(path.relative_to(base).parts[:-1])
        return [package.name, *parts, name]

    def _discover(self) -> None:
        for package in self._packages():
            for folder in package.model_paths:
                base = package.root / folder
                for path in self._files(package, (folder,), (".sql", ".py")):
                    display = self._display(path)
                    if path.suffix == ".py":
                        self.errors.append(
                            ProjectError(
                                "dbt Python models (def model(dbt, session)) are not supported by teal yet",
                                path=display,
                                line=1,
                                hint="write the model as a teal Python asset, or as SQL",
                            )
                        )
                        continue
                    node = Node(
                        "model",
                        package.name,
                        path.stem,
                        path,
                        display,
                        self._fqn(package, base, path, path.stem),
                        raw=self._read(path),
                    )
                    self._add_node(node)
            for folder in package.seed_paths:
                base = package.root / folder
                for path in self._files(package, (folder,), (".csv",)):
                    node = Node(
                        "seed",
                        package.name,
                        path.stem,
                        path,
                        self._display(path),
                        self._fqn(package, base, path, path.stem),
                    )
                    self._add_node(node)
            for folder in package.snapshot_paths:
                base = package.root / folder
                for path in self._files(package, (folder,), (".sql",)):
                    text = self._read(path)
                    blocks = list(_SNAPSHOT.finditer(text))
                    if not blocks and text.strip():
                        self.errors.append(
                            ProjectError(
                                "a snapshot file holds {% snapshot name %} ... {% endsnapshot %}",
                                path=self._display(path),
                                line=1,
                            )
                        )
                    for m in blocks:
                        # keep the lines above the body, so errors point at the file's lines
                        body = "\n" * text.count("\n", 0, m.start(2)) + m.group(2)
                        node = Node(
                            "snapshot",
                            package.name,
                            m.group(1),
                            path,
                            self._display(path),
                            self._fqn(package, base, path, m.group(1)),
                            raw=body,
                        )
                        self._add_node(node)
            if package is not self.settings.project:
                continue  # a package's tests are not run by the project's build
            for folder in package.test_paths:
                base = package.root / folder
                for path in self._files(package, (folder,), (".sql",)):
                    rel = path.relative_to(base).parts
                    text = self._read(path)
                    if "generic" in rel[:-1] or re.search(r"\{%-?\s*(test|macro)\s", text):
                        continue
                    node = Node(
                        "test",
                        package.name,
                        path.stem,
                        path,
                        self._display(path),
                        self._fqn(package, base, path, path.stem),
                        raw=text,
                    )
                    self._add_node(node)

    # -- config ----------------------------------------------------------------------------
    def _tree_config(self, node: Node) -> dict[str, Any]:
        kind = {
            "model": "models",
            "seed": "seeds",
            "snapshot": "snapshots",
            "test": "data_tests",
            "analysis": "analyses",
        }[node.resource_type]
        merged: dict[str, Any] = {}
        owners = [self.settings.package(node.package)]
        if node.package != self.settings.project.name:
            owners.append(self.settings.project)
        for owner in owners:
            if owner is None:
                continue
            tree = owner.configs.get(kind)
            if not isinstance(tree, dict):
                continue
            level: Any = tree.get(node.fqn[0])
            depth = 1
            while isinstance(level, dict):
                for key, value in level.items():
                    key = str(key)
                    if key.startswith("+"):
                        merge_config(
                            merged, {key[1:]: self._render_config(value, owner, level, key)}
                        )
                    elif key in CONFIG_KEYS and (
                        not isinstance(value, dict) or key in DICT_CONFIGS
                    ):
                        merge_config(merged, {key: self._render_config(value, owner, level, key)})
                if depth >= len(node.fqn):
                    break
                level = level.get(node.fqn[depth])
                depth += 1
        return merged

    def _render_config(self, value: Any, owner: Package, level: Any, key: str) -> Any:
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            from teal.compiler.dbt.settings import render_text

            try:
                return native(
                    render_text(
                        value,
                        {**self.settings.project.vars, **self.settings.cli_vars},
                        dict(self.jinja.context()["target"]),
                    )
                )
            except Exception as exc:  # noqa: BLE001 - undefined vars and Jinja errors, located
                line, col = getattr(level, "keys_at", {}).get(key, (None, None))
                raise ProjectError(
                    f"cannot render {key}: {getattr(exc, 'message', exc)}",
                    path=owner.display,
                    line=line,
                    col=col,
                    hint=getattr(exc, "hint", None),
                ) from None
        return value

    def _configure(self) -> None:
        self.jinja.phase = "parse"
        for node in list(self.nodes.values()):
            conf = self._tree_config(node)
            props = (
                self.properties.get((node.resource_type, node.name))
                if node.yaml is None
                else (node.yaml, node.yaml_display)
            )
            if props is not None:
                entry, display = props
                node.yaml, node.yaml_display = entry, display
                yconf = entry.get("config") or {}
                if not isinstance(yconf, dict):
                    self.errors.append(
                        ProjectError(
                            f"config of '{node.name}' must be a mapping",
                            path=display,
                            line=getattr(entry, "line", None),
                        )
                    )
                    continue
                merge_config(conf, {k: v for k, v in yconf.items()})
                for key in ("tags", "meta", "docs"):
                    if entry.get(key) is not None:
                        merge_config(conf, {key: entry[key]})
            node.config = conf
            if node.resource_type in ("model", "snapshot", "test") and node.enabled:
                try:
                    self._parse_render(node)
                except TealError as exc:
                    self.errors.append(exc)
                    continue
            if node.resource_type == "seed" and node.enabled:
                node.raw = ""
            if node.resource_type == "model" and node.enabled:
                self._check_model_config(node)
            if node.resource_type == "snapshot" and node.enabled:
                from teal.compiler.dbt.snapshots import check_config

                try:
                    check_config(node.config, node.display, 1)
                except TealError as exc:
                    self.errors.append(exc)
        for info in self.sources.values():
            schema = info["raw_schema"]
            if isinstance(schema, str) and "{{" in schema:
                from teal.compiler.dbt.settings import render_text

                schema = render_text(
                    schema,
                    {**self.settings.project.vars, **self.settings.cli_vars},
                    dict(self.jinja.context()["target"]),
                )
            info["schema"] = str(schema)
            ident = info["identifier"]
            if "{{" in ident:
                from teal.compiler.dbt.settings import render_text

                info["identifier"] = render_text(ident, self.settings.cli_vars)

    def _parse_render(self, node: Node) -> None:
        state = self.jinja.state
        state.node = node
        try:
            node.template = self.jinja.template(node.raw, node.display)
            refs: list[tuple[str, str | None]] = []
            sources: list[tuple[str, str]] = []
            variants = [False]
            if "is_incremental" in node.raw:
                variants.append(True)
            for incremental in variants:
                state.refs, state.sources, state.config_calls = [], [], []
                state.incremental = incremental
                sql = self.jinja.render(node.template, node.display, node.raw)
                for call in state.config_calls:
                    merge_config(node.config, call)
                live = _live_markers(sql)
                for i, ref in enumerate(state.refs):
                    if (i in live or f"__teal_dbt_ref_{i}__" not in sql) and ref not in refs:
                        refs.append(ref)
                sources += [s for s in state.sources if s not in sources]
            node.refs, node.sources = refs, sources
        finally:
            state.node, state.incremental = None, False

    def _check_model_config(self, node: Node) -> None:
        for hook in ("pre-hook", "post-hook", "pre_hook", "post_hook"):
            if node.config.get(hook):
                line, col = _pos(node.raw, re.escape(hook).replace("\\-", "[-_]")) or (None, None)
                self.errors.append(
                    ProjectError(
                        f"{hook} is not supported by teal yet (model '{node.name}')",
                        path=node.display if line else (node.yaml_display or node.display),
                        line=line,
                        col=col,
                        hint="move the statement into on-run-start/on-run-end, or into the model's SQL",
                    )
                )
                return
        mat = node.materialized
        line, col = (
            _pos(node.raw, r"(?<=materialized=['\"])\w+")
            or _pos(node.raw, r"materialized")
            or (None, None)
        )
        if mat not in SUPPORTED_MATERIALIZATIONS:
            defined = self.jinja.materializations.get(mat)
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
            self.errors.append(
                ProjectError(
                    message,
                    path=where,
                    line=line,
                    col=col,
                    hint=hint,
                    source_line=_source(node.raw, line) if where == node.display else None,
                )
            )
            return
        if mat == "incremental":
            strategy = node.config.get("incremental_strategy") or (
                "delete+insert" if node.config.get("unique_key") else "append"
            )
            if strategy == "microbatch":
                self.errors.append(
                    ProjectError(
                        "incremental_strategy='microbatch' is not supported by teal yet",
                        path=node.display,
                        line=_line_of(node.raw, r"incremental_strategy"),
                        hint="use teal's partitioned models (docs/partitions.md), or delete+insert with a lookback filter",
                    )
                )
            elif strategy not in STRATEGIES:
                self.errors.append(
                    ProjectError(
                        f"incremental_strategy='{strategy}' is not supported on DuckDB",
                        path=node.display,
                        line=_line_of(node.raw, r"incremental_strategy"),
                        hint=did_you_mean(str(strategy), STRATEGIES)
                        or "use append, delete+insert or merge",
                    )
                )
            elif strategy != "append" and not node.config.get("unique_key"):
                self.errors.append(
                    ProjectError(
                        f"incremental_strategy='{strategy}' needs a unique_key",
                        path=node.display,
                        line=_line_of(node.raw, r"incremental_strategy"),
                        hint="add unique_key='id'",
                    )
                )
            node.config["incremental_strategy"] = strategy
            change = node.config.get("on_schema_change")
            allowed = ("ignore", "fail", "append_new_columns", "sync_all_columns")
            if change is not None and change not in allowed:
                line, col = _pos(node.raw, r"on_schema_change") or (None, None)
                self.errors.append(
                    ProjectError(
                        f"on_schema_change={change!r} is not one of {', '.join(allowed)}",
                        path=node.display,
                        line=line,
                        col=col,
                        hint=did_you_mean(str(change), allowed),
                    )
                )

    # -- relations -------------------------------------------------------------------------
    def _relations(self) -> None:
        self.jinja.phase = "parse"
        own = self.jinja.macros.get(self.settings.project.name, {})
        # dbt's defaults computed here unless the project overrides them (a macro call costs
        # about a millisecond, three per node)
        gen_schema: Any = _default_schema
        gen_alias: Any = _default_alias
        gen_db: Any = _default_database
        if "generate_schema_name" in own:
            gen_schema = self.jinja.find_macro("generate_schema_name")
        if "generate_alias_name" in own:
            gen_alias = self.jinja.find_macro("generate_alias_name")
        if "generate_database_name" in own:
            gen_db = self.jinja.find_macro("generate_database_name")
        seen: dict[str, Node] = {}
        for node in self.nodes.values():
            if not node.enabled or node.resource_type in ("test", "analysis"):
                continue
            self.jinja.state.node = node
            try:
                ndict = _node_dict(node, self.settings)
                if node.resource_type == "snapshot" and node.config.get("target_schema"):
                    schema = str(node.config["target_schema"])
                else:
                    schema = str(gen_schema(node.config.get("schema"), ndict)).strip()
                alias = str(gen_alias(node.config.get("alias"), ndict)).strip()
                database = str(gen_db(node.config.get("database"), ndict)).strip()
            except TealError as exc:
                self.errors.append(exc)
                continue
            finally:
                self.jinja.state.node = None
            node.schema, node.alias, node.database = schema, alias, database
            if database and database != self.settings.target.database:
                self.errors.append(
                    ProjectError(
                        f"'{node.name}' is configured for database '{database}', but teal builds into "
                        f"the target's one DuckDB file ({self.settings.target.database})",
                        path=node.display,
                        line=1,
                        hint="remove the database config",
                    )
                )
            rel = f"{schema}.{alias}".lower()
            if node.materialized != "ephemeral":
                if rel in seen:
                    other = seen[rel]
                    self.errors.append(
                        ProjectError(
                            f"'{other.name}' ({other.display}) and '{node.name}' both build relation {rel}",
                            path=node.display,
                            line=1,
                            hint="give one of them another schema or alias",
                        )
                    )
                seen[rel] = node
        self._check_names()

    def _check_names(self) -> None:
        """Two enabled resources with one name: ref() could not tell them apart."""
        for name, nodes in self.by_name.items():
            live = [n for n in nodes if n.enabled and n.package == self.settings.project.name]
            if len(live) > 1:
                self.errors.append(
                    ProjectError(
                        f"two resources are named '{name}': {live[0].display} and {live[1].display}",
                        path=live[1].display,
                        line=1,
                        hint="rename one of them",
                    )
                )

    # -- compile ---------------------------------------------------------------------------
    def _compile(self) -> Any:
        from teal.compiler.dbt.seeds import seed_sql
        from teal.compiler.dbt.snapshots import first_build, next_build

        self.jinja.phase = "compile"
        self._fill_graph()
        enabled = [
            n
            for n in self.nodes.values()
            if n.enabled and n.resource_type in ("model", "seed", "snapshot")
        ]
        for node in enabled:
            try:
                if node.resource_type == "seed":
                    node.compiled, node.columns, node.digest = seed_sql(
                        node.path, node.display, node.config, self.cache
                    )
                    continue
                self.jinja.state.queried = False
                try:
                    sql = self._compile_render(node, incremental=False)
                except RenderAtRun:
                    node.render_at_run = True
                    node.compiled = (
                        f"-- {node.name} queries the warehouse while it is compiled "
                        "(run_query, statement, adapter):\n-- its SQL is rendered when the "
                        "build runs it\nselect 1 as rendered_at_run"
                    )
                    continue
                node.render_at_run = self.jinja.state.queried
                if node.resource_type == "snapshot":
                    this = f'"{node.schema}"."{node.alias}"'
                    node.compiled = first_build(sql, node.config)
                    node.incremental_sql = next_build(sql, this, node.config)
                    continue
                node.compiled = sql
                if node.materialized == "incremental" and "is_incremental" in node.raw:
                    variant = self._compile_render(node, incremental=True)
                    node.render_at_run = node.render_at_run or self.jinja.state.queried
                    if variant != sql:
                        node.incremental_sql = variant
            except TealError as exc:
                self.errors.append(exc)
        raise_all(self.errors)
        self._inject_ephemerals(enabled)
        self._render_hooks()
        return self._project(enabled)

    def _compile_render(self, node: Node, incremental: bool) -> str:
        state = self.jinja.state
        state.node, state.incremental = node, incremental
        state.refs, state.sources = [], []
        try:
            return self.jinja.render(node.template, node.display, node.raw).strip()
        finally:
            state.node, state.incremental = None, False

    def _fill_graph(self) -> None:
        for node in self.nodes.values():
            if node.enabled:
                self.graph["nodes"][node.unique_id] = AttrDict(_node_dict(node, self.settings))
        for (source, table), info in self.sources.items():
            self.graph["sources"][f"source.{info['package']}.{source}.{table}"] = AttrDict(
                name=table,
                source_name=source,
                schema=info["schema"],
                identifier=info["identifier"],
                resource_type="source",
                package_name=info["package"],
            )

    def _inject_ephemerals(self, nodes: list[Node]) -> None:
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
            deps = [d for d in deps if f"__dbt__cte__{d.name}" in _all_text(node, deps, own)]
            if not deps:
                continue
            ctes = ",\n".join(f"__dbt__cte__{d.name} as (\n{own[d.name]}\n)" for d in deps)
            node.ctes = ctes
            node.compiled = _with_ctes(node.compiled, ctes)
            if node.incremental_sql:
                node.incremental_sql = _with_ctes(node.incremental_sql, ctes)

    def _render_hooks(self) -> None:
        """on-run-start/end rendered now; what they log() is printed when they run."""
        state = self.jinja.state
        for kind, hooks in (
            ("start", self.settings.on_run_start),
            ("end", self.settings.on_run_end),
        ):
            for i, text in enumerate(hooks):
                hook = Node(
                    "operation",
                    self.settings.project.name,
                    f"on-run-{kind}-{i}",
                    self.cfg.config_path,
                    "dbt_project.yml",
                    [],
                    raw=text,
                )
                state.node = hook
                self.jinja.held_logs = []
                try:
                    sql = self.jinja.render(
                        self.jinja.template(text, "dbt_project.yml"), "dbt_project.yml", text
                    ).strip()
                    logs = tuple(self.jinja.held_logs)
                finally:
                    state.node = None
                    self.jinja.held_logs = None
                if sql or logs:
                    self.hooks.append((kind, sql, logs))

    def render_at_run(self, name: str, query: Any) -> tuple[str, str | None]:
        """Model ``name`` rendered again with its queries answered by ``query`` (the build's
        cursor): (compiled SQL, incremental variant). Renders one at a time."""
        from teal.compiler.dbt.snapshots import first_build, next_build

        node = next(n for n in self.by_name[name] if n.enabled)
        with self._lock:
            self._live = query
            self.jinja.phase = "compile"
            try:
                sql = self._compile_render(node, incremental=False)
                incremental = None
                if node.resource_type == "snapshot":
                    this = f'"{node.schema}"."{node.alias}"'
                    return first_build(sql, node.config), next_build(sql, this, node.config)
                if node.materialized == "incremental" and "is_incremental" in node.raw:
                    variant = self._compile_render(node, incremental=True)
                    incremental = variant if variant != sql else None
            finally:
                self._live = None
        if node.ctes:
            sql = _with_ctes(sql, node.ctes)
            incremental = _with_ctes(incremental, node.ctes) if incremental else None
        return sql, incremental

    # -- the Project -----------------------------------------------------------------------
    def _project(self, nodes: list[Node]) -> Any:
        from teal.compiler.graph import Dag
        from teal.compiler.project import Model, Project
        from teal.compiler.sources import Source, SourceTable
        from teal.compiler.sql import text_hash

        names = {n.name for n in nodes}
        sources: dict[str, Source] = {}
        for (source, table), info in self.sources.items():
            src = sources.get(source)
            tables = dict(src.tables) if src else {}
            tables[table.lower()] = SourceTable(
                source=source,
                name=table,
                kind="warehouse",
                location=f"{info['schema']}.{info['identifier']}",
                description=str(info["entry"].get("description") or ""),
            )
            sources[source] = Source(
                name=source,
                kind="warehouse",
                path=None,
                tables=tables,
                declared_in=info["display"],
                line=getattr(info["source_entry"], "line", None),
            )
        models: dict[str, Model] = {}
        upstreams: dict[str, tuple[str, ...]] = {}
        for node in nodes:
            ups = tuple(
                sorted({name for name, _ in node.refs if name in names and name != node.name})
            )
            upstreams[node.name] = ups
            mat = node.materialized
            strategy = None
            unique_key: tuple[str, ...] = ()
            if mat in ("seed",):
                mat = "table"
            elif mat == "snapshot":
                mat, strategy, unique_key = "incremental", "merge", ("dbt_scd_id",)
                node.config.setdefault("on_schema_change", "append_new_columns")
            elif mat == "incremental":
                node.config.setdefault("on_schema_change", "ignore")  # dbt's default
                strategy = str(node.config.get("incremental_strategy"))
                key = node.config.get("unique_key") or ()
                unique_key = (key,) if isinstance(key, str) else tuple(key)
                if strategy == "merge" and not unique_key:
                    strategy = "append"
            description = self._description(node)
            config = {k: v for k, v in node.config.items()}
            if node.render_at_run:
                config["render_at_run"] = True
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
            folder = "/".join(node.fqn[1:-1])
            models[node.name] = Model(
                name=node.name,
                kind="sql",
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
                raw_sql=node.raw or None,
                rendered_sql=node.compiled,
                compiled_sql=node.compiled,
                sql_hash=version,
                line=1,
                incremental_sql=node.incremental_sql,
                strategy=strategy,
                unique_key=unique_key,
                columns=node.columns,
            )
        dag = Dag(upstreams)
        cycle = dag.find_cycle()
        if cycle:
            first = models[cycle[0]]
            raise LineageError(
                "models form a cycle: " + " -> ".join(cycle),
                path=first.display_path,
                line=_line_of(first.raw_sql or "", r"ref\s*\(\s*['\"]" + re.escape(cycle[1])),
                hint="each arrow means 'refs'; break the cycle by removing one of these refs",
            )
        from teal.compiler.dbt.tests import collect_tests

        checks = collect_tests(self, models, nodes, {name: i for i, name in enumerate(dag.order())})
        import dataclasses

        by_asset: dict[str, list[str]] = {}
        for name, check in checks.items():
            by_asset.setdefault(check.asset, []).append(name)
        for asset, check_names in by_asset.items():
            models[asset] = dataclasses.replace(models[asset], checks=tuple(sorted(check_names)))
        return Project(
            config=self.cfg,
            models=models,
            sources=sources,
            dag=dag,
            checks=checks,
            stats={"parsed": 0, "cache_hits": 0, "cache_misses": 0},
            hooks=tuple(self.hooks),
            dbt_nodes={n.name: _manifest_node(n, self.settings) for n in self.nodes.values()},
            render_at_run=self.render_at_run if any(n.render_at_run for n in nodes) else None,
        )

    def _description(self, node: Node) -> str:
        entry = node.yaml
        text = str((entry or {}).get("description") or node.config.get("description") or "")
        if "{{" in text:
            state = self.jinja.state
            state.node = node
            try:
                text = self.jinja.render(
                    self.jinja.template(text, node.yaml_display), node.yaml_display, text
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


def _default_schema(custom: Any, node: Any) -> str:
    target = node["_target"]
    return str(target.schema) if custom is None else f"{target.schema}_{str(custom).strip()}"


def _default_alias(custom: Any, node: Any) -> str:
    return str(custom).strip() if custom else str(node["name"])


def _default_database(custom: Any, node: Any) -> str:
    return str(node["_target"].database) if custom is None else str(custom).strip()


def _node_dict(node: Node, settings: DbtSettings) -> dict[str, Any]:
    return AttrDict(
        name=node.name,
        alias=node.alias or node.name,
        schema=node.schema or settings.target.schema,
        database=node.database or settings.target.database,
        resource_type=node.resource_type,
        package_name=node.package,
        unique_id=node.unique_id,
        fqn=list(node.fqn),
        path=node.display,
        original_file_path=node.display,
        config=AttrDict(node.config),
        tags=list(node.config.get("tags") or []),
        refs=[{"name": n, "package": p, "version": None} for n, p in node.refs],
        sources=[list(s) for s in node.sources],
        depends_on=AttrDict(nodes=[], macros=[]),
        raw_code=node.raw,
        raw_sql=node.raw,
        compiled_code=node.compiled,
        description=str((node.yaml or {}).get("description") or ""),
        meta=dict(node.config.get("meta") or {}),
        columns={},
        version=None,
        language="sql",
        identifier=node.alias or node.name,
        _target=settings.target,
    )


def _manifest_node(node: Node, settings: DbtSettings) -> dict[str, Any]:
    """What target/manifest.json says of a node (runtime/dbt_artifacts.py writes it)."""
    return {
        "unique_id": node.unique_id,
        "resource_type": node.resource_type,
        "package_name": node.package,
        "name": node.name,
        "path": node.display,
        "original_file_path": node.display,
        "fqn": list(node.fqn),
        "schema": node.schema,
        "alias": node.alias,
        "database": node.database or settings.target.database,
        "enabled": node.enabled,
        "config": {k: v for k, v in node.config.items() if _plain(v)},
        "tags": list(node.config.get("tags") or []),
        "refs": [{"name": n, "package": p, "version": None} for n, p in node.refs],
        "sources": [list(s) for s in node.sources],
        "raw_code": node.raw,
        "compiled_code": node.compiled,
        "checksum": {
            "name": "sha256",
            "checksum": hashlib.sha256((node.raw or node.digest).encode()).hexdigest(),
        },
    }


def _plain(value: Any) -> bool:
    """Whether ``value`` is JSON data (config values are, unless a template made objects)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _live_markers(sql: str) -> set[int]:
    """Indexes of the ref markers outside SQL comments (a ref in a comment is no edge,
    unless the comment is dbt's ``-- depends_on: {{ ref('x') }}``)."""
    live: set[int] = set()
    pos = 0
    for m in _COMMENTS.finditer(sql):
        chunk = sql[pos : m.start()]
        live |= {int(i) for i in re.findall(r"__teal_dbt_ref_(\d+)__", chunk)}
        text = m.group(0)
        if text.startswith("'") or "depends_on" in text:
            live |= {int(i) for i in re.findall(r"__teal_dbt_ref_(\d+)__", text)}
        pos = m.end()
    live |= {int(i) for i in re.findall(r"__teal_dbt_ref_(\d+)__", sql[pos:])}
    return live


def _all_text(node: Node, deps: list[Node], own: dict[str, str]) -> str:
    return "\n".join([node.compiled, node.incremental_sql or "", *(own[d.name] for d in deps)])


def _with_ctes(sql: str, ctes: str) -> str:
    """``sql`` with ``ctes`` first: into its WITH clause if it has one, else a new one."""
    stripped = _COMMENTS.sub(
        lambda m: m.group(0) if m.group(0).startswith("'") else " " * len(m.group(0)), sql
    )
    m = re.match(r"\s*with\s+(recursive\s+)?", stripped, re.I)
    if m:
        return sql[: m.end()] + ctes + ",\n" + sql[m.end() :]
    return f"with {ctes}\n{sql}"


def _pos(text: str, pattern: str) -> tuple[int, int] | None:
    """(line, column), both 1-based, of the first match of ``pattern`` in ``text``."""
    m = re.search(pattern, text)
    if not m:
        return None
    return text.count("\n", 0, m.start()) + 1, m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1


def _source(text: str, line: int | None) -> str | None:
    lines = text.splitlines()
    return lines[line - 1] if line and 0 < line <= len(lines) else None


def _line_of(text: str, pattern: str) -> int | None:
    m = re.search(pattern, text)
    return text.count("\n", 0, m.start()) + 1 if m else None


__all__ = ["DbtLoader", "Node", "TemplateError"]
