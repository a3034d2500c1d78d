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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from teal.compiler.dbt.macro_errors import in_macro, source_line, template_line
from teal.compiler.dbt.proxies import (
    Adapter,
    ConfigProxy,
    ModelProxy,
    Pytz,
    ThisProxy,
    VarProxy,
)
from teal.compiler.dbt.values import AttrDict, Column, Relation, Table
from teal.compiler.errors import TemplateError, did_you_mean, line_col

__all__ = ["AttrDict", "Column", "DbtJinja", "Relation", "Table"]

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
        # a macro `teal run-operation` calls: where its log() lines (level "debug" for
        # info=False, "info" for info=True) and print() lines ("info") go, as they come
        self.operation_log: Callable[[str, str], None] | None = None
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

    @contextmanager
    def phase_with(self, phase: str, extra: dict[str, Any]) -> Iterator[None]:
        """Render in ``phase`` (``execute`` true) with the names of ``extra`` in the context
        of the template and of every macro it calls (on-run-end's ``results``...)."""
        before = self.phase
        self._contexts[phase] = {**self._make_context(True), **extra}
        for key in [k for k in self._modules if k[0] == phase]:
            del self._modules[key]
        self.phase = phase
        try:
            yield
        finally:
            self.phase = before

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
        except RenderAtRun:
            raise
        except TemplateError as exc:
            if exc.line is None and exc.path in (None, display):  # raised by a macro's call
                moved = in_macro(exc, self.files, display, source, exc.message)
                if moved is not None:
                    raise moved from None
                if exc.path == display:  # no macro file to point at: at its call
                    exc.line = template_line(exc, display)
                    exc.source_line = source_line(source, exc.line)
            raise
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"Jinja syntax error: {exc.message}", path=exc.filename or display, line=exc.lineno
            ) from None
        except Exception as exc:  # noqa: BLE001 - errors raised inside templates and macros
            line = template_line(exc, display)
            message = str(exc)
            prefix = "Jinja error" if isinstance(exc, jinja2.UndefinedError) else None
            moved = in_macro(
                exc,
                self.files,
                display,
                source,
                f"{prefix}: {message}"
                if prefix
                else f"error while rendering: {type(exc).__name__}: {message}",
            )
            if moved is not None:
                raise moved from None
            if isinstance(exc, jinja2.UndefinedError):
                name = re.match(r"'(\w+)' is undefined", message)
                hint = None
                col = None
                text = source_line(source, line) or ""
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
                    source_line=source_line(source, line),
                    hint=hint,
                ) from None
            raise TemplateError(
                f"error while rendering: {type(exc).__name__}: {message}",
                path=display,
                line=line,
                source_line=source_line(source, line),
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
                line, col = line_col(text, found.start())
        return TemplateError(
            message, path=path, line=line, col=col, source_line=source_line(text, line), hint=hint
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
            module = self._modules[key] = _macro_module(
                template, self.context(), self.files[index].names
            )
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
            if execute and jinja.operation_log is not None:
                jinja.operation_log("info" if info else "debug", str(msg))
            elif execute and info:
                if jinja.held_logs is not None:
                    jinja.held_logs.append(str(msg))
                else:
                    print(str(msg), file=sys.stderr)
            return ""

        def print_(*values: Any) -> str:
            if jinja.operation_log is not None:  # dbt prints to stdout: the operation's output
                jinja.operation_log("info", " ".join(str(v) for v in values))
            else:
                print(*values, file=sys.stderr)
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
            datetime=_dt, re=re, itertools=itertools, pytz=Pytz(), time=__import__("time")
        )
        flags = AttrDict(
            FULL_REFRESH=bool(loader.full_refresh or settings.full_refresh),
            STORE_FAILURES=settings.store_failures,
            WHICH=loader.command,
            FAIL_FAST=False,
            PARTIAL_PARSE=False,
            EMPTY=settings.empty,
        )
        adapter = Adapter(jinja, execute)
        ctx: dict[str, Any] = {
            "execute": execute,
            "target": target,
            "return": return_,
            "exceptions": exceptions,
            "log": log,
            "print": print_,
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
            "var": VarProxy(loader),
            "ref": loader.ref,
            "source": loader.source,
            "config": ConfigProxy(loader),
            "is_incremental": lambda: bool(state.incremental and execute),
            "this": ThisProxy(loader),
            "model": ModelProxy(loader),
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
            "adapter": adapter,
            "load_relation": adapter.load_relation,
            "api": AttrDict(Relation=Relation, Column=Column),
            "doc": loader.doc,
            "selected_resources": [],
            "builtins": AttrDict(ref=loader.ref, source=loader.source, config=ConfigProxy(loader)),
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


def _macro_module(template: Any, context: dict[str, Any], names: list[str]) -> Any:
    """The module of a macro file, holding every macro the file defines. Jinja's own
    module leaves out names that start with ``_`` (they are private to the template), but
    dbt makes every macro callable, and packages call their private helpers across files
    (``dbt_utils._is_relation`` from ``star``)."""
    from jinja2.environment import TemplateModule

    ctx = template.new_context(vars=context)
    module = TemplateModule(template, ctx)
    for name in names:
        if name.startswith("_") and name in ctx.vars:
            setattr(module, name, ctx.vars[name])
    return module


def _try_or_error(jinja: DbtJinja) -> Callable[..., Any]:
    def call(message: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception:  # noqa: BLE001 - dbt's helper turns any failure into its message
            raise jinja.error(message) from None

    return call


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
