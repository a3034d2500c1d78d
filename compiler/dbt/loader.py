"""Read a dbt project into teal's :class:`Project`.

The stages, as dbt runs them:

1. files: macros (and generic tests, docs blocks) of the project, its installed packages
   and dbt's built-ins; YAML properties; models, seeds, snapshots, singular tests;
   then the versions of versioned models (compiler/dbt/versions.py);
2. config: each node's config settled in dbt's precedence, and its refs found
   (compiler/dbt/configure.py);
3. relations: ``generate_schema_name`` / ``generate_alias_name`` (the project's own, or
   dbt's default) give each node's relation;
4. compile: each node rendered with ``execute`` true: ``ref`` gives the upstream relation
   (an ephemeral one a CTE injected at the top), ``this`` the node's own; an incremental
   model's ``is_incremental()`` variant too; seeds and snapshots become queries
   (compiler/dbt/seeds.py, snapshots.py); tests become teal checks of the node they test.

The result is a Project like any other: the plan, executor and warehouse do the rest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.checks import CheckDef
from teal.compiler.config import ProjectConfig
from teal.compiler.dbt.attach import source_name_sql
from teal.compiler.dbt.compile import compile_nodes
from teal.compiler.dbt.config_paths import warn_unused_config_paths
from teal.compiler.dbt.configure import configure_nodes
from teal.compiler.dbt.context import AttrDict, DbtJinja, Relation, RenderAtRun
from teal.compiler.dbt.discovery import discover_nodes
from teal.compiler.dbt.microbatch import filter_relation, source_event_time, upstream_event_time
from teal.compiler.dbt.nodes import (
    Node,
    node_dict,
)
from teal.compiler.dbt.properties import read_properties, warn_unmatched
from teal.compiler.dbt.relations import settle_relations
from teal.compiler.dbt.settings import DbtSettings, Package
from teal.compiler.dbt.values import is_audited
from teal.compiler.dbt.versions import Versioned, apply_versions, resolve_version
from teal.compiler.deferral import CATALOG as DEFERRED_CATALOG
from teal.compiler.errors import (
    TealError,
    did_you_mean,
    raise_all,
)

if TYPE_CHECKING:
    from teal.compiler.exposures import DeclaredExposure

# dbt's prefix of secret environment variables: read in profiles.yml and packages.yml only
SECRET_ENV_PREFIX = "DBT_ENV_SECRET_"


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
        self.exposures: list[DeclaredExposure] = []  # exposures:, refs not found yet
        self.versioned: dict[str, Versioned] = {}  # model name -> its versions
        self.var_overrides: dict[str, Any] = {}  # while a unit test renders: its vars
        # (package, file, text) of every macro file, as written (compiler/dbt/macro_state.py)
        self.macro_sources: list[tuple[str, str, str]] = []
        self.errors: list[TealError] = []
        # shown by every command, errors under --strict
        self.warnings: list[TealError] = list(cfg.dbt.warnings)
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
        self.live_query: Any = None  # while a build runs: the query function of its cursor
        # while a deferred build renders a model at run: the models whose ref() reads the
        # attached production warehouse, by name, with their (schema, alias) there
        self.deferred: Mapping[str, tuple[str, str]] | None = None
        # each test's render, by name, again when it runs (compiler/dbt/test_render.py)
        self.test_renders: dict[str, Callable[[], CheckDef]] = {}
        # each generic test's dbt identity (unique_id, name, alias, fqn, test_metadata) by
        # its check's name (compiler/dbt/test_ids.py)
        self.test_ids: dict[str, dict[str, Any]] = {}
        import threading

        self.render_lock = threading.Lock()

    # -- Jinja context callbacks -------------------------------------------------------------
    @property
    def node(self) -> Node | None:
        return self.jinja.state.node

    def var(self, name: str, default: Any = ...) -> Any:
        if name in self.var_overrides:  # a unit test's overrides: vars:
            return self.var_overrides[name]
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
        known = {*self.settings.cli_vars, *root_vars, *(own.vars if own is not None else ())}
        raise self.jinja.error(
            f"var('{name}') is not defined",
            hint=did_you_mean(name, known)
            or f"set it under vars: in dbt_project.yml, pass --vars '{{{name}: ...}}', "
            f"or give a default: var('{name}', ...)",
            pattern=r"var\s*\(\s*['\"]" + re.escape(name),
        )

    def _package_names(self) -> set[str]:
        return {p.name for p in self.settings.packages} | {self.settings.project.name}

    def env_var(self, name: str, default: Any = None) -> Any:
        if name.startswith(SECRET_ENV_PREFIX):  # as dbt: it would land in target/, the
            # manifest, the caches and the warehouse's view definitions
            raise self.jinja.error(
                f"secret environment variable {name} may only be used in profiles.yml or "
                "packages.yml",
                hint="a model, macro or YAML file that reads it would write its value into "
                "compiled SQL: read it in profiles.yml (a password, a DuckDB secret)",
                pattern=r"env_var\s*\(\s*['\"]" + re.escape(name),
            )
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
        name, unknown = resolve_version(self, names[-1], pkg, v if v is not None else version)
        if unknown is not None:
            raise unknown
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
        relation = Relation(target.database, target.schema, target.alias, kind)
        if self.deferred is not None and target.name in self.deferred:
            schema, alias = self.deferred[target.name]  # dbt's ref() of a deferred model
            relation = Relation(DEFERRED_CATALOG, schema, alias, kind)
        event_time = upstream_event_time(self, target)
        if event_time is not None:  # a microbatch model reads one batch of it
            return filter_relation(self._maybe_empty(relation), event_time)
        return self._maybe_empty(relation)

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
        relation = Relation(info["database"], info["schema"], info["identifier"], "table")
        if any(a.alias == info["database"] for a in self.settings.attachments):
            relation = Relation(  # in an attached database: named with it, as dbt-duckdb
                info["database"],
                info["schema"],
                info["identifier"],
                "table",
                source_name_sql(info, self.settings.attachments),
            )
        event_time = source_event_time(self, info)
        if event_time is not None:  # a microbatch model reads one batch of it
            return filter_relation(self._maybe_empty(relation), event_time)
        return self._maybe_empty(relation)

    def _maybe_empty(self, relation: Relation) -> Relation:
        """With --empty, what a model or snapshot reads has no rows (dbt's subquery). No
        alias, as dbt-duckdb renders it (its relations set require_alias false): the
        model's own alias (`from {{ ref('x') }} c`) names the subquery."""
        node = self.node
        if not self.settings.empty or node is None:
            return relation
        if node.resource_type not in ("model", "snapshot"):
            return relation
        limited = f"(select * from {relation} where false limit 0)"
        return Relation(
            relation.database, relation.schema, relation.identifier, relation.type, cte=limited
        )

    def config_call(self, *args: Any, **kwargs: Any) -> str:
        if args and isinstance(args[0], dict):
            kwargs = {**args[0], **kwargs}
        if self._configuring():
            self.jinja.state.config_calls.append(dict(kwargs))
        return ""

    def _configuring(self) -> bool:
        """Whether config() calls now configure the node: while nodes are parsed, and
        while a test renders (a generic test's macro sets its fail_calc so, for one;
        compiler/dbt/test_render.py)."""
        node = self.node
        return self.jinja.phase == "parse" or (node is not None and node.resource_type == "test")

    def config_get(self, key: str, default: Any = None) -> Any:
        node = self.node
        if node is None:
            return default
        if self._configuring():  # what the node says so far, with its own calls
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
        return node_dict(node, self.settings)

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
        if self.live_query is not None:  # rendered while the build runs (render_at_run)
            try:
                names, rows = self.live_query(sql)
                return names, rows
            except Exception as exc:  # noqa: BLE001 - the database's message, located
                raise self.jinja.error(
                    f"a query the template runs failed: {str(exc).splitlines()[0]}"
                ) from None
        conn = self._conn()
        try:
            cur = conn.execute(sql)
            names = [d[0] for d in cur.description or []]
            return names, cur.fetchall() if cur.description else []
        except Exception as exc:  # noqa: BLE001 - the database's message, located at the node
            if self.deferrable():  # it reads what this build makes: rendered when it runs
                raise RenderAtRun(sql) from None
            hint = (
                "teal renders models before the build, against the warehouse as it is then: "
                "a query must not read relations this build creates"
            )
            if self.settings.deferring:  # an ephemeral model's, a hook's: not rendered again
                hint += (
                    f"; {self.settings.deferring} does not reach this query (an ephemeral "
                    "model's Jinja, or a hook's, is rendered when the project loads): it reads "
                    "this warehouse, so build what it reads here, or make the model a view or "
                    "table, whose queries read deferred models there"
                )
            raise self.jinja.error(
                f"a query the template runs at compile time failed: {exc}".split("\n")[0],
                hint=hint,
            ) from None

    def deferrable(self) -> bool:
        """Whether the node being rendered at load may be rendered again when the build runs
        it (a model, snapshot or test: what its queries read may be made by this build). Not
        an ephemeral model: its SQL is inlined into its readers' at load."""
        node = self.jinja.state.node
        return (
            self.live_query is None
            and self.jinja.phase == "compile"
            and node is not None
            and node.resource_type in ("model", "snapshot", "test")
            and node.materialized != "ephemeral"
        )

    def _not_built_yet(self, schema: str, identifier: str) -> None:
        """A relation the warehouse lacks at load but this project builds: the node asking
        is rendered when the build runs it, after its upstreams are published (dbt compiles
        a node just before running it), not with the empty answer of an empty warehouse."""
        if not self.deferrable():
            return
        for nodes in self.by_name.values():
            for node in nodes:
                if (
                    node.enabled
                    and str(node.schema).lower() == schema.lower()
                    and str(node.alias).lower() == identifier.lower()
                ):
                    raise RenderAtRun(f"{schema}.{identifier}")

    def _in_catalog(self, database: object) -> str:
        """While a deferred build renders: the condition keeping an information_schema
        query to the attached production catalog (a deferred ref) or out of it (any other
        relation, which may have a namesake there)."""
        if self.deferred is None:
            return ""
        equal = "=" if database == DEFERRED_CATALOG else "<>"
        return f" and table_catalog {equal} '{DEFERRED_CATALOG}'"

    def relation_kind(self, schema: str, identifier: str, database: object = None) -> str | None:
        rows = self.run_sql(
            "select table_type from information_schema.tables where lower(table_schema) = "
            f"lower('{schema}') and lower(table_name) = lower('{identifier}')"
            + self._in_catalog(database)
        )[1]
        if not rows:
            self._not_built_yet(schema, identifier)
            return None
        return "view" if "VIEW" in str(rows[0][0]).upper() else "table"

    def columns_of(self, relation: Any) -> list[tuple[str, str]]:
        if is_audited(relation):
            return self._audited_columns(relation)
        schema = getattr(relation, "schema", None) or self.settings.target.schema
        name = getattr(relation, "identifier", None) or str(relation)
        found = [
            (str(r[0]), str(r[1]))
            for r in self.run_sql(
                "select column_name, data_type from information_schema.columns where "
                f"lower(table_schema) = lower('{schema}') and lower(table_name) = lower('{name}')"
                f"{self._in_catalog(getattr(relation, 'database', None))} order by ordinal_position"
            )[1]
        ]
        if not found:
            self._not_built_yet(str(schema), str(name))
        return found

    def _audited_columns(self, relation: Relation) -> list[tuple[str, str]]:
        """The columns of the relation a test audits: known when the test runs (the query
        function of the build's cursor names it), so the test is rendered then."""
        if self.live_query is None:
            if self.deferrable():
                raise RenderAtRun("the columns of the relation a test audits")
            return []
        rows = self.run_sql(f"describe select * from {relation}")[1]
        return [(str(r[0]), str(r[1])) for r in rows]

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
        self,
        package: Package,
        folders: tuple[str, ...],
        suffixes: tuple[str, ...],
        skipped: list[Path] | None = None,
    ) -> list[Path]:
        """The files under ``folders`` whose suffix is one of ``suffixes``; those that look
        meant to be read but are not (``Upper.SQL``, compiler.snapshot.near_input) go to
        ``skipped`` when it is given."""
        from teal.compiler.snapshot import near_input

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
                elif skipped is not None and near_input(path.name):
                    skipped.append(path)
        return found

    def _read(self, path: Path) -> str:
        from teal.compiler.discover import decode_utf8

        text = decode_utf8(path.read_bytes(), self._display(path))
        return text.replace("\r\n", "\n")

    def _load(self) -> Any:
        from teal.compiler.dbt.builtins import BUILTIN_MACROS

        self.jinja.add_macro_file("dbt", "<teal's dbt built-ins>", BUILTIN_MACROS)
        self.macro_sources.append(("dbt", "<teal's dbt built-ins>", BUILTIN_MACROS))
        for package in self._packages():
            paths = {*package.macro_paths, *package.test_paths}
            for path in self._files(package, tuple(sorted(paths)), (".sql",)):
                text = self._read(path)
                in_tests = any(self._under(path, package.root / t) for t in package.test_paths)
                if in_tests and not re.search(r"\{%-?\s*(test|macro)\s", text):
                    continue  # a singular test, read below
                self.jinja.add_macro_file(package.name, self._display(path), text)
                self.macro_sources.append((package.name, self._display(path), text))
            doc_folders = package.docs_paths or (
                *package.model_paths,
                *package.macro_paths,
                *package.seed_paths,
                *package.snapshot_paths,
                *package.test_paths,
                "docs",
            )
            for path in self._files(package, tuple(dict.fromkeys(doc_folders)), (".md",)):
                self.jinja.add_macro_file(package.name, self._display(path), self._read(path))
        read_properties(self)
        discover_nodes(self)
        apply_versions(self)
        warn_unmatched(self)
        warn_unused_config_paths(self)
        raise_all(self.errors)
        configure_nodes(self)
        raise_all(self.errors)
        settle_relations(self)
        raise_all(self.errors)
        return compile_nodes(self)

    @staticmethod
    def _under(path: Path, folder: Path) -> bool:
        try:
            path.relative_to(folder)
            return True
        except ValueError:
            return False

    def render_at_run(
        self, name: str, query: Any, deferred: Mapping[str, tuple[str, str]] | None = None
    ) -> tuple[str, str | None]:
        """Model ``name`` rendered again with its queries answered by ``query`` (the build's
        cursor): (compiled SQL, incremental variant); compiler/dbt/compile.py. ``deferred``:
        the models whose ``ref()`` names their relation in the attached production
        warehouse, (schema, alias) there by name (compiler/deferral.py)."""
        from teal.compiler.dbt.compile import render_again

        return render_again(self, name, query, deferred)

    def render_check(
        self, name: str, query: Any, deferred: Mapping[str, tuple[str, str]] | None = None
    ) -> CheckDef:
        """Test ``name`` rendered again with its queries answered by ``query`` (the build's
        cursor, the test's placeholder naming the relation it audits): its check as it
        runs now; compiler/dbt/test_render.py. ``deferred``: as :meth:`render_at_run`."""
        from teal.compiler.dbt.test_render import render_again

        return render_again(self, name, query, deferred)

    def render_run_end(
        self,
        extra: dict[str, Any],
        query: Any,
        deferred: Mapping[str, tuple[str, str]] | None = None,
    ) -> Iterator[tuple[str, tuple[str, ...]]]:
        """The on-run-end hooks rendered after the run with ``extra`` (``schemas``,
        ``database_schemas``, ``results``): (SQL, lines logged) each, rendered as it is
        asked for; compiler/dbt/compile.py. ``deferred``: as :meth:`render_at_run`."""
        from teal.compiler.dbt.compile import render_run_end

        return render_run_end(self, extra, query, deferred)
