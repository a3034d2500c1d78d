"""The Jinja context of a dbt project: macros and everything dbt puts beside them.

One :class:`DbtJinja` per load. Macro files are compiled once; their modules are made
once per phase (``parse``: ``execute`` is false and ``ref`` records; ``compile``:
``execute`` is true and ``ref`` gives relations), with a context whose node-dependent
parts (``this``, ``model``, ``config``, ``ref``...) read the node being rendered, so
1,000 models do not rebuild 1,000 macro namespaces.

Macro resolution is dbt's: unqualified names find the root project's macros, then dbt's
built-ins (compiler/dbt/builtins.py); ``package.name`` finds a package's macro;
``adapter.dispatch(name, namespace)`` tries ``duckdb__name`` then ``default__name`` in
each package of the search order (the project's ``dispatch:`` config, else the root
project then the namespace).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from teal.compiler.errors import TemplateError, did_you_mean

INTERNAL = "dbt"
ADAPTER_PREFIXES = ("duckdb", "default")
_MACRO_DEF = re.compile(r"\{%-?\s*(macro|test|materialization)\s+(\w+)", re.S)
_TEST_OPEN = re.compile(r"\{%(-?)\s*test\s+(\w+)\s*\(")
_TEST_CLOSE = re.compile(r"\{%(-?)\s*endtest\s*(-?)%\}")
_MAT_BLOCK = re.compile(
    r"\{%-?\s*materialization\s+(\w+).*?\{%-?\s*endmaterialization\s*-?%\}", re.S
)
_DOCS_BLOCK = re.compile(r"\{%-?\s*docs\s+(\w+)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}", re.S)


class RenderAtRun(Exception):
    """A query a template runs while the project loads reads what the build creates: the
    node is rendered when the build runs it instead."""


class MacroReturn(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__("return")
        self.value = value


@dataclass
class MacroFile:
    package: str
    display: str
    text: str  # as Jinja reads it: test blocks made macros, materializations removed
    names: list[str]


class Relation:
    """``api.Relation``: what ``ref``, ``source`` and ``this`` return."""

    def __init__(
        self,
        database: str | None = None,
        schema: str | None = None,
        identifier: str | None = None,
        type: str | None = None,
        cte: str | None = None,
    ) -> None:
        self.database, self.schema, self.identifier = database, schema, identifier
        self.type = type
        self._cte = cte

    @classmethod
    def create(
        cls,
        database: str | None = None,
        schema: str | None = None,
        identifier: str | None = None,
        type: str | None = None,
        **_: Any,
    ) -> Relation:
        return cls(database, schema, identifier, type)

    @property
    def name(self) -> str | None:
        return self.identifier

    @property
    def table(self) -> str | None:
        return self.identifier

    @property
    def is_table(self) -> bool:
        return self.type == "table"

    @property
    def is_view(self) -> bool:
        return self.type == "view"

    def include(
        self, database: bool = True, schema: bool = True, identifier: bool = True
    ) -> Relation:
        return Relation(
            self.database if database else None,
            self.schema if schema else None,
            self.identifier if identifier else None,
            self.type,
        )

    def incorporate(
        self, path: Mapping[str, Any] | None = None, type: str | None = None, **_: Any
    ) -> Relation:
        path = path or {}
        return Relation(
            path.get("database", self.database),
            path.get("schema", self.schema),
            path.get("identifier", self.identifier),
            type or self.type,
        )

    def quote(self, *_: Any, **__: Any) -> Relation:
        return self

    def render(self) -> str:
        return str(self)

    def __str__(self) -> str:
        if self._cte is not None:
            return self._cte
        parts = [p for p in (self.schema, self.identifier) if p]
        return ".".join(f'"{p}"' for p in parts)

    def __html__(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<Relation {self}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Relation) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class Column:
    """``api.Column`` and what ``adapter.get_columns_in_relation`` returns."""

    TYPE_LABELS = {
        "STRING": "VARCHAR",
        "TIMESTAMP": "TIMESTAMP",
        "FLOAT": "FLOAT",
        "INTEGER": "INTEGER",
        "BOOLEAN": "BOOLEAN",
    }

    def __init__(self, column: str, dtype: str, **_: Any) -> None:
        self.column, self.name, self.dtype, self.data_type = column, column, dtype, dtype

    @classmethod
    def translate_type(cls, dtype: str) -> str:
        return cls.TYPE_LABELS.get(dtype.upper(), dtype)

    @classmethod
    def create(cls, name: str, label_or_dtype: str) -> Column:
        return cls(name, cls.translate_type(label_or_dtype))

    @property
    def quoted(self) -> str:
        return f'"{self.column}"'

    def is_string(self) -> bool:
        return self.dtype.upper().startswith(("VARCHAR", "TEXT", "STRING"))

    def is_number(self) -> bool:
        return self.is_integer() or self.is_float() or self.is_numeric()

    def is_integer(self) -> bool:
        return self.dtype.upper() in ("INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "INT")

    def is_float(self) -> bool:
        return self.dtype.upper() in ("FLOAT", "DOUBLE", "REAL")

    def is_numeric(self) -> bool:
        return self.dtype.upper().startswith(("DECIMAL", "NUMERIC"))

    def __repr__(self) -> str:
        return f"<Column {self.column} ({self.dtype})>"


class Table:
    """The agate-like table ``run_query`` and ``load_result(...).table`` give."""

    def __init__(self, names: list[str], rows: list[tuple[Any, ...]]) -> None:
        self.column_names = tuple(names)
        self.rows = [Row(names, r) for r in rows]

    @property
    def columns(self) -> _Columns:
        """agate's ``table.columns``: by position or by name, each with ``values()``."""
        return _Columns(
            self.column_names,
            [_ColumnValues([r[i] for r in self.rows]) for i in range(len(self.column_names))],
        )

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def print_table(self, *_: Any, **__: Any) -> None:
        for row in self.rows:
            print(tuple(row))


class _Columns(list):
    def __init__(self, names: tuple[str, ...], values: list[_ColumnValues]) -> None:
        super().__init__(values)
        self._names = list(names)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return list.__getitem__(self, self._names.index(key))
        return list.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


class _ColumnValues(list):
    def values(self) -> list[Any]:
        return list(self)


class Row(tuple):
    def __new__(cls, names: list[str], values: tuple[Any, ...]) -> Row:
        row = super().__new__(cls, values)
        row._names = list(names)  # type: ignore[attr-defined]
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))  # type: ignore[attr-defined]
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)  # type: ignore[attr-defined]

    def values(self) -> list[Any]:
        return list(self)

    def items(self) -> list[tuple[str, Any]]:
        return list(zip(self._names, self))  # type: ignore[attr-defined]


class AttrDict(dict):
    """A dict whose keys read as attributes too (``target.schema``, ``model.name``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class _Namespace:
    """``package.macro`` and ``dbt.macro``."""

    def __init__(self, jinja: DbtJinja, package: str) -> None:
        self._jinja, self._package = jinja, package

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        call = self._jinja.find_macro(name, package=self._package)
        if call is None:
            raise self._jinja.error(
                f"macro '{self._package}.{name}' does not exist",
                hint=did_you_mean(name, self._jinja.macro_names(self._package)),
            )
        return call

    def __contains__(self, name: str) -> bool:
        return self._jinja.find_macro(name, package=self._package) is not None


class NodeState:
    """What the node being rendered contributes to the context; set by the loader."""

    def __init__(self) -> None:
        self.node: Any = None  # loader's Node
        self.incremental = False
        self.refs: list[tuple[str, str | None]] = []  # (name, package) recorded in parse
        self.sources: list[tuple[str, str]] = []
        self.config_calls: list[dict[str, Any]] = []
        self.queried = False  # the node's render ran a query (run_query, statement, ...)


class DbtJinja:
    """Macros, context and rendering for one load."""

    def __init__(self, loader: Any) -> None:
        import jinja2

        self.loader = loader  # compiler/dbt/loader.py's DbtLoader: nodes, relations, vars
        self.settings = loader.settings
        self.env = jinja2.Environment(
            extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
            keep_trailing_newline=True,
            autoescape=False,
        )
        self.state = NodeState()
        self.phase = "parse"
        self.files: list[MacroFile] = []
        # package -> macro name -> file index
        self.macros: dict[str, dict[str, int]] = {}
        self.materializations: dict[str, str] = {}  # name -> display path
        self._templates: dict[int, Any] = {}
        self._modules: dict[tuple[str, int], Any] = {}
        self._contexts: dict[str, dict[str, Any]] = {}
        self._results: dict[str, Any] = {}
        self.invocation_id = str(uuid.uuid4())
        self.run_started_at = _dt.datetime.now(_dt.UTC)
        self.docs: dict[str, str] = {}
        # log() lines of what is rendered now but runs later (hooks): printed when it runs
        self.held_logs: list[str] | None = None
        self.cache: Any = None  # compiler.cache.CompileCache of the load, if any

    # -- macros ----------------------------------------------------------------------------
    def add_macro_file(self, package: str, display: str, text: str) -> None:
        for m in _MAT_BLOCK.finditer(text):
            self.materializations[m.group(1)] = display
        text = _MAT_BLOCK.sub("", text)
        for m in _DOCS_BLOCK.finditer(text):
            self.docs[m.group(1)] = m.group(2).strip()
        text = _DOCS_BLOCK.sub("", text)
        text = _TEST_OPEN.sub(r"{%\1 macro test_\2(", text)
        text = _TEST_CLOSE.sub(r"{%\1 endmacro \2%}", text)
        names = [m.group(2) for m in re.finditer(r"\{%-?\s*(macro)\s+(\w+)", text)]
        index = len(self.files)
        self.files.append(MacroFile(package, display, text, names))
        table = self.macros.setdefault(package, {})
        for name in names:
            table[name] = index

    def macro_names(self, package: str | None = None) -> list[str]:
        if package is not None:
            return list(self.macros.get(package, {}))
        return [n for table in self.macros.values() for n in table]

    def find_macro(self, name: str, package: str | None = None) -> Callable[..., Any] | None:
        """The macro ``name``: in ``package``, or unqualified (root project, then dbt's)."""
        order = [package] if package is not None else [self.settings.project.name, INTERNAL]
        for pkg in order:
            index = self.macros.get(pkg or "", {}).get(name)
            if index is not None:
                return _MacroCall(self, index, name)
        return None

    def dispatch(self, name: str, macro_namespace: str | None = None, packages: Any = None) -> Any:
        if "." in name:
            macro_namespace, name = name.split(".", 1)
        search: list[str | None]
        if packages is not None:
            search = list(packages)
        elif macro_namespace is None:
            search = [None]
        elif macro_namespace in self.settings.dispatch and self.settings.dispatch[macro_namespace]:
            search = list(self.settings.dispatch[macro_namespace])
        elif macro_namespace == INTERNAL:
            search = [self.settings.project.name, INTERNAL]
        else:
            search = [self.settings.project.name, macro_namespace]
        tried = []
        for package in search:
            for prefix in ADAPTER_PREFIXES:
                candidate = f"{prefix}__{name}"
                tried.append(f"{package}.{candidate}" if package else candidate)
                call = self.find_macro(candidate, package)
                if call is not None:
                    return call
        if macro_namespace == INTERNAL or macro_namespace is None:
            call = self.find_macro(name, INTERNAL)
            if call is not None:
                return call
        raise self.error(
            f"adapter.dispatch found no macro for '{name}' (tried {', '.join(tried)})",
            hint="define duckdb__" + name + " or default__" + name,
        )

    # -- rendering -------------------------------------------------------------------------
    def context(self) -> dict[str, Any]:
        """The shared context of the current phase (made once per phase)."""
        ctx = self._contexts.get(self.phase)
        if ctx is None:
            ctx = self._contexts[self.phase] = self._make_context(self.phase == "compile")
        return ctx

    def template(self, text: str, display: str) -> Any:
        """``text`` compiled (its code taken from the load's cache when it was compiled
        before: compiling a template costs about a millisecond, loading its code a tenth)."""
        import marshal

        import jinja2

        cache = self.cache
        key = None
        if cache is not None:
            from teal.compiler.cache import content_key

            key = content_key("dbt-jinja", display, text)
            hit = cache.get("jinja", key)
            if hit is not None:
                code = marshal.loads(hit)
                return self.env.template_class.from_code(
                    self.env, code, self.env.make_globals(None), None
                )
        try:
            code = self.env.compile(text, name=display, filename=display)
            if cache is not None and key is not None:
                cache.put("jinja", key, marshal.dumps(code))
            return self.env.template_class.from_code(
                self.env, code, self.env.make_globals(None), None
            )
        except jinja2.TemplateSyntaxError as exc:
            lines = text.splitlines()
            line = exc.lineno
            raise TemplateError(
                f"Jinja syntax error: {exc.message}",
                path=display,
                line=line,
                source_line=lines[line - 1] if line and 0 < line <= len(lines) else None,
                hint="check the {{ }} and {% %} tags on this line",
            ) from None

    def render(
        self, template: Any, display: str, source: str, extra: dict[str, Any] | None = None
    ) -> str:
        """Render a node's template in the current phase; errors located in its file."""
        import jinja2

        try:
            return str(template.render({**self.context(), **(extra or {})}))
        except MacroReturn as ret:  # a bare {{ return(...) }} in a model
            return str(ret.value)
        except (TemplateError, RenderAtRun):
            raise
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"Jinja syntax error: {exc.message}", path=exc.filename or display, line=exc.lineno
            ) from None
        except Exception as exc:  # noqa: BLE001 - errors raised inside templates and macros
            line = _template_line(exc, display)
            message = str(exc)
            if isinstance(exc, jinja2.UndefinedError):
                name = re.match(r"'(\w+)' is undefined", message)
                hint = None
                col = None
                text = _line(source, line) or ""
                if name:
                    at = re.search(rf"(?<![\w.'\"]){re.escape(name.group(1))}\b", text)
                    col = at.start() + 1 if at else None
                    hint = did_you_mean(name.group(1), self.macro_names()) or (
                        "a macro must be in the project's macro-paths or called as package.macro"
                    )
                raise TemplateError(
                    f"Jinja error: {message}",
                    path=display,
                    line=line,
                    col=col,
                    source_line=_line(source, line),
                    hint=hint,
                ) from None
            raise TemplateError(
                f"error while rendering: {type(exc).__name__}: {message}",
                path=display,
                line=line,
                source_line=_line(source, line),
            ) from None

    def error(
        self, message: str, hint: str | None = None, pattern: str | None = None
    ) -> TemplateError:
        """A located error about the node being rendered."""
        node = self.state.node
        path = getattr(node, "display", None)
        line = col = None
        text = getattr(node, "raw", None) or ""
        if pattern and text:
            found = re.search(pattern, text)
            if found:
                line = text.count("\n", 0, found.start()) + 1
                col = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
        return TemplateError(
            message, path=path, line=line, col=col, source_line=_line(text, line), hint=hint
        )

    def module(self, index: int) -> Any:
        key = (self.phase, index)
        module = self._modules.get(key)
        if module is None:
            template = self._templates.get(index)
            if template is None:
                macro_file = self.files[index]
                template = self._templates[index] = self.template(
                    macro_file.text, macro_file.display
                )
            module = self._modules[key] = template.make_module(vars=self.context())
        return module

    # -- the context -----------------------------------------------------------------------
    def _make_context(self, execute: bool) -> dict[str, Any]:
        settings = self.settings
        tgt = settings.target
        loader = self.loader
        state = self.state
        jinja = self

        target = AttrDict(
            name=tgt.name,
            schema=tgt.schema,
            database=tgt.database,
            type="duckdb",
            threads=tgt.threads,
            profile_name=tgt.profile,
            path=tgt.path,
            target_name=tgt.name,
        )

        def return_(value: Any = None) -> None:
            raise MacroReturn(value)

        def raise_compiler_error(message: str, node: Any = None) -> None:
            raise jinja.error(f"compilation error: {message}")

        def warn(message: str, node: Any = None) -> str:
            if execute:
                print(f"warning: {message}", file=sys.stderr)
            return ""

        exceptions = AttrDict(
            raise_compiler_error=raise_compiler_error,
            warn=warn,
            raise_not_implemented=raise_compiler_error,
            raise_database_error=raise_compiler_error,
            raise_fail_fast_error=raise_compiler_error,
            column_type_missing=lambda *a, **k: raise_compiler_error("column type missing"),
            relation_wrong_type=lambda *a, **k: raise_compiler_error("relation of the wrong type"),
        )

        def log(msg: Any, info: bool = False) -> str:
            if execute and info:
                if jinja.held_logs is not None:
                    jinja.held_logs.append(str(msg))
                else:
                    print(str(msg), file=sys.stderr)
            return ""

        def store_result(name: str, response: Any = None, agate_table: Any = None) -> str:
            jinja._results[name] = AttrDict(
                response=response,
                table=agate_table,
                data=[tuple(r) for r in agate_table.rows] if agate_table is not None else [],
            )
            return ""

        def store_raw_result(
            name: str,
            message: Any = None,
            code: Any = None,
            rows_affected: Any = None,
            agate_table: Any = None,
        ) -> str:
            return store_result(
                name,
                AttrDict(_message=message, code=code, rows_affected=rows_affected),
                agate_table,
            )

        def load_result(name: str) -> Any:
            return jinja._results.get(name)

        def md5(text: str) -> str:
            return hashlib.md5(str(text).encode()).hexdigest()

        def tojson(value: Any, sort_keys: bool = False) -> str:
            return json.dumps(value, sort_keys=sort_keys, default=str)

        def fromjson(text: str, default: Any = None) -> Any:
            try:
                return json.loads(text)
            except (TypeError, ValueError):
                return default

        def toyaml(value: Any, default: Any = None) -> Any:
            import yaml

            return yaml.safe_dump(value, sort_keys=False)

        def fromyaml(text: str, default: Any = None) -> Any:
            import yaml

            try:
                return yaml.safe_load(text)
            except yaml.YAMLError:
                return default

        import itertools

        modules = AttrDict(
            datetime=_dt, re=re, itertools=itertools, pytz=_Pytz(), time=__import__("time")
        )
        flags = AttrDict(
            FULL_REFRESH=bool(loader.full_refresh),
            STORE_FAILURES=False,
            WHICH=loader.command,
            FAIL_FAST=False,
            PARTIAL_PARSE=False,
            EMPTY=False,
        )
        ctx: dict[str, Any] = {
            "execute": execute,
            "target": target,
            "return": return_,
            "exceptions": exceptions,
            "log": log,
            "print": lambda *a: print(*a, file=sys.stderr) or "",
            "store_result": store_result,
            "store_raw_result": store_raw_result,
            "load_result": load_result,
            "local_md5": md5,
            "tojson": tojson,
            "fromjson": fromjson,
            "toyaml": toyaml,
            "fromyaml": fromyaml,
            "zip": lambda *a, default=None: list(zip(*a)),
            "zip_strict": lambda *a: list(zip(*a, strict=True)),
            "set": lambda value=(), default=None: set(value),
            "set_strict": lambda value=(): set(value),
            "try_or_compiler_error": _try_or_error(jinja),
            "modules": modules,
            "flags": flags,
            "invocation_id": self.invocation_id,
            "run_started_at": self.run_started_at,
            "dbt_version": "1.10.0",
            "project_name": settings.project.name,
            "env_var": loader.env_var,
            "var": _VarProxy(loader),
            "ref": loader.ref,
            "source": loader.source,
            "config": _ConfigProxy(loader),
            "is_incremental": lambda: bool(state.incremental and execute),
            "this": _ThisProxy(loader),
            "model": _ModelProxy(loader),
            "graph": loader.graph
            if execute
            else AttrDict(
                nodes={},
                sources={},
                exposures={},
                metrics={},
                groups={},
                semantic_models={},
                saved_queries={},
            ),
            "adapter": _Adapter(jinja, execute),
            "api": AttrDict(Relation=Relation, Column=Column),
            "doc": loader.doc,
            "selected_resources": [],
            "builtins": AttrDict(ref=loader.ref, source=loader.source, config=_ConfigProxy(loader)),
            "context_macro_stack": [],
            "column": None,
            "sql_header": None,
            "database": tgt.database,
            "schema": tgt.schema,
        }
        # macros: dbt's, then the root project's over them; packages by name
        for package, table in self.macros.items():
            if package == INTERNAL:
                for name, index in table.items():
                    ctx.setdefault(name, _MacroCall(self, index, name))
        for name, index in self.macros.get(settings.project.name, {}).items():
            ctx[name] = _MacroCall(self, index, name)
        for package in self.macros:
            if package != settings.project.name or package not in ctx:
                ctx[package] = _Namespace(self, package)
        ctx[settings.project.name] = _Namespace(self, settings.project.name)
        ctx["dbt"] = _Namespace(self, INTERNAL)
        return ctx


class _MacroCall:
    """A macro as a callable: its value is what it renders, or what it ``return()``s."""

    __slots__ = ("_jinja", "_index", "name")

    def __init__(self, jinja: DbtJinja, index: int, name: str) -> None:
        self._jinja, self._index, self.name = jinja, index, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module = self._jinja.module(self._index)
        macro = getattr(module, self.name)
        try:
            return macro(*args, **kwargs)
        except MacroReturn as ret:
            return ret.value


class _VarProxy:
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __call__(self, name: str, default: Any = ...) -> Any:
        return self._loader.var(name, default)

    def has_var(self, name: str) -> bool:
        return self._loader.var(name, None) is not None


class _ConfigProxy:
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        return self._loader.config_call(*args, **kwargs)

    def get(self, key: str, default: Any = None, validator: Any = None) -> Any:
        return self._loader.config_get(key, default)

    def require(self, key: str, validator: Any = None) -> Any:
        value = self._loader.config_get(key, None)
        if value is None:
            raise self._loader.jinja.error(f"config '{key}' is required")
        return value

    def set(self, key: str, value: Any) -> str:
        return self._loader.config_call(**{key: value})

    def persist_relation_docs(self) -> bool:
        return False

    def persist_column_docs(self) -> bool:
        return False


class _ThisProxy:
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def _rel(self) -> Relation:
        return self._loader.this()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._rel(), name)

    def __str__(self) -> str:
        return str(self._rel())

    def __html__(self) -> str:
        return str(self)


class _ModelProxy(Mapping):
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def _d(self) -> Mapping[str, Any]:
        return self._loader.model_dict()

    def __getitem__(self, key: str) -> Any:
        return self._d()[key]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._d()[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._d())

    def __len__(self) -> int:
        return len(self._d())


class _Adapter:
    """``adapter``: dispatch, quoting and (when executing) the warehouse."""

    def __init__(self, jinja: DbtJinja, execute: bool) -> None:
        self._jinja, self._execute = jinja, execute
        self.type = lambda: "duckdb"
        self.behavior = _Behavior()

    def dispatch(
        self, macro_name: str, macro_namespace: str | None = None, packages: Any = None
    ) -> Any:
        return self._jinja.dispatch(macro_name, macro_namespace, packages)

    def quote(self, identifier: str) -> str:
        return '"' + str(identifier).replace('"', '""') + '"'

    def quote_as_configured(self, identifier: str, quote_key: str) -> str:
        return str(identifier)

    def quote_seed_column(self, column: str, quote_config: Any = None) -> str:
        return self.quote(column) if quote_config is not False else str(column)

    def execute(
        self, sql: str, auto_begin: bool = False, fetch: bool = False, limit: Any = None
    ) -> tuple[Any, Any]:
        if not self._execute:
            return AttrDict(_message="", code="", rows_affected=0), Table([], [])
        names, rows = self._jinja.loader.run_sql(str(sql))
        response = AttrDict(_message="OK", code="OK", rows_affected=len(rows))
        return response, Table(names, rows if fetch else [])

    def get_relation(self, database: Any = None, schema: Any = None, identifier: Any = None) -> Any:
        if not self._execute:
            return None
        kind = self._jinja.loader.relation_kind(str(schema), str(identifier))
        return Relation(database, schema, identifier, kind) if kind else None

    def get_columns_in_relation(self, relation: Any) -> list[Column]:
        if not self._execute:
            return []
        return [Column(n, t) for n, t in self._jinja.loader.columns_of(relation)]

    def get_missing_columns(self, from_relation: Any, to_relation: Any) -> list[Column]:
        have = {c.name.lower() for c in self.get_columns_in_relation(to_relation)}
        return [
            c for c in self.get_columns_in_relation(from_relation) if c.name.lower() not in have
        ]

    def check_schema_exists(self, database: Any, schema: str) -> bool:
        return True

    def already_exists(self, schema: str, identifier: str) -> bool:
        return self.get_relation(None, schema, identifier) is not None

    def list_relations(self, database: Any = None, schema: Any = None) -> list[Relation]:
        return []

    def create_schema(self, relation: Any) -> str:
        return ""

    def drop_relation(self, relation: Any) -> str:
        return ""

    def commit(self) -> str:
        return ""


class _Behavior:
    def __getattr__(self, name: str) -> Any:
        return AttrDict(no_warn=False, setting=False)


class _Pytz:
    utc = _dt.UTC

    def timezone(self, name: str) -> Any:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)


def _try_or_error(jinja: DbtJinja) -> Callable[..., Any]:
    def call(message: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception:  # noqa: BLE001 - dbt's helper turns any failure into its message
            raise jinja.error(message) from None

    return call


def _template_line(exc: BaseException, display: str) -> int | None:
    """The line of the innermost frame of the template ``display`` (its call of a macro
    whose own code failed, when it was a macro)."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == display:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _line(text: str, line: int | None) -> str | None:
    if not line:
        return None
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


@dataclass
class Rendered:
    sql: str
    refs: list[tuple[str, str | None]] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)


def environment_digest(text: str) -> str:
    """A digest of the environment when ``text`` reads env_var (for caches)."""
    if "env_var" not in text:
        return ""
    return hashlib.sha256(repr(sorted(os.environ.items())).encode()).hexdigest()
