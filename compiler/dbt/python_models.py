"""dbt Python models (``models/*.py`` defining ``def model(dbt, session)``) as teal Python
assets.

At load, as dbt's parser does, the file is read, not run: its ``dbt.ref(...)``,
``dbt.source(...)`` and ``dbt.config(...)`` calls (literal arguments only) give the model's
lineage and config. When the model compiles, each ref and source becomes the relation it
names. The model is then a Python asset whose function imports the file and calls
``model(dbt, session)`` with dbt-duckdb's objects: ``session`` the build's DuckDB
connection, ``dbt.ref``/``dbt.source`` DuckDB relations over those relations,
``dbt.config.get``, ``dbt.this`` and ``dbt.is_incremental``. What it returns (a DuckDB
relation, pandas, Polars or Arrow) is written as teal writes any Python asset's rows (one
transaction with its state row, tests audited before publishing).
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import ProjectError
from teal.compiler.pyfiles import syntax_hint

if TYPE_CHECKING:
    from teal.compiler.assets import AssetDef
    from teal.compiler.dbt.loader import DbtLoader
    from teal.compiler.dbt.nodes import Node

RefKey = tuple[tuple[str, ...], str | None]  # (ref's positional arguments, version)


@dataclass
class PythonCalls:
    """What a Python model's source says to dbt: refs (with versions), sources, config, and
    the line of its ``def model``."""

    refs: list[RefKey] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    line: int = 1


def read_python_model(node: Node) -> PythonCalls:
    """The dbt calls of a Python model's source, read without running it."""
    try:
        tree = ast.parse(node.raw, filename=node.display)
    except SyntaxError as exc:
        raise ProjectError(
            f"Python model '{node.name}' does not parse: {exc.msg}",
            path=node.display,
            line=exc.lineno,
            col=exc.offset,
            hint=syntax_hint(node.display),
        ) from None
    found = PythonCalls()
    defs = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef) and n.name == "model" and len(n.args.args) == 2
    ]
    if not defs:
        raise ProjectError(
            f"Python model '{node.name}' defines no model(dbt, session) function",
            path=node.display,
            line=1,
            hint="a dbt Python model is a file with `def model(dbt, session):` returning a frame",
        )
    found.line = defs[0].lineno
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            continue
        owner = call.func.value
        if not (isinstance(owner, ast.Name) and owner.id == "dbt"):
            continue
        what = call.func.attr
        if what not in ("ref", "source", "config"):
            continue
        try:
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
        except ValueError:
            raise ProjectError(
                f"dbt.{what}() in Python model '{node.name}' takes literal arguments only",
                path=node.display,
                line=call.lineno,
                col=call.col_offset + 1,
                hint="dbt reads these calls without running the file: write the names as strings",
            ) from None
        if what == "config":
            found.config.update(kwargs)
        elif what == "source" and len(args) == 2:
            found.sources.append((str(args[0]), str(args[1])))
        elif what == "ref" and 1 <= len(args) <= 2:
            version = kwargs.get("v", kwargs.get("version"))
            key = (tuple(str(a) for a in args), None if version is None else str(version))
            if key not in found.refs:
                found.refs.append(key)
        else:
            raise ProjectError(
                f"dbt.{what}() in Python model '{node.name}' has the wrong arguments",
                path=node.display,
                line=call.lineno,
                col=call.col_offset + 1,
                hint="dbt.ref('model'), dbt.ref('package', 'model'), dbt.source('source', 'table')",
            )
    return found


def parse_python_model(loader: DbtLoader, node: Node) -> None:
    """Stage 2 of the load for a Python model: its config and lineage from its calls."""
    from teal.compiler.dbt.model_hooks import merge_dbt_config

    calls = read_python_model(node)
    merge_dbt_config(node.config, calls.config)
    node.config.setdefault("materialized", "table")
    refs: list[tuple[str, str | None]] = []
    state = loader.jinja.state
    state.node = node
    try:
        for args, version in calls.refs:
            name, unknown = loader_version(loader, args, version)
            if unknown is not None:
                raise unknown
            ref = (name, args[0] if len(args) == 2 else None)
            if ref not in refs:
                refs.append(ref)
    finally:
        state.node = None
    node.refs, node.sources = refs, list(dict.fromkeys(calls.sources))
    node.python = calls


def loader_version(
    loader: DbtLoader, args: tuple[str, ...], version: str | None
) -> tuple[str, Any]:
    from teal.compiler.dbt.versions import resolve_version

    return resolve_version(loader, args[-1], args[0] if len(args) == 2 else None, version)


def compile_python_model(loader: DbtLoader, node: Node) -> None:
    """Each ref and source of a Python model as the relation it reads (stage 4)."""
    calls: PythonCalls = node.python
    state = loader.jinja.state
    state.node = node
    try:
        node.python_refs = {key: str(loader.ref(*key[0], v=key[1])) for key in calls.refs}
        node.python_sources = {s: str(loader.source(*s)) for s in calls.sources}
    finally:
        state.node = None
    node.compiled = ""
    node.digest = node.raw


def check_python_model(loader: DbtLoader, node: Node) -> None:
    """A Python model is built as a table, as teal builds Python assets."""
    mat = node.materialized
    if mat == "table":
        return
    where = node.python.line if node.python is not None else 1
    hint = (
        "teal builds dbt Python models as tables; an incremental one is not supported yet: "
        "use materialized='table', or write it as SQL"
        if mat == "incremental"
        else "dbt Python models are tables (or incremental): use materialized='table'"
    )
    loader.errors.append(
        ProjectError(
            f"Python model '{node.name}' is materialized={mat!r}, which teal does not "
            "build for Python models",
            path=node.display,
            line=where,
            hint=hint,
        )
    )


def python_asset(node: Node, relation: str, schema: str, alias: str) -> AssetDef:
    """The teal Python asset that runs the model's file (imported when the build runs it)."""
    from teal.compiler.assets import AssetDef

    runner = _Runner(
        path=node.path,
        name=node.name,
        refs=dict(node.python_refs),
        sources=dict(node.python_sources),
        config={k: v for k, v in node.config.items()},
        this=(node.database, schema, alias, relation),
    )
    return AssetDef(
        fn=runner,
        name=node.name,
        upstream_params=(),
        annotations={},
        wants_context=True,
        deps=tuple(name for name, _ in node.refs),
        source_file=str(node.path),
        source_line=node.python.line,
    )


@dataclass(frozen=True, eq=False)  # compared and hashed by identity, as a function is
class _Runner:
    """Imports a dbt Python model's file and calls its ``model(dbt, session)``."""

    path: Path
    name: str
    refs: Mapping[RefKey, str]
    sources: Mapping[tuple[str, str], str]
    config: Mapping[str, Any]
    this: tuple[str, str, str, str]  # database, schema, identifier, "schema"."identifier"

    def __call__(self, context: Any) -> Any:
        spec = importlib.util.spec_from_file_location(f"teal_dbt_model_{self.name}", self.path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        session = context.cursor
        return module.model(DbtObject(self, session), session)


class _Config:
    """``dbt.config``: a no-op call (read at load) with ``get`` for the model's config."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get(self, key: str, default: Any = None) -> Any:
        value = self._values.get(key)
        return default if value is None else value

    def meta_get(self, key: str, default: Any = None) -> Any:
        return dict(self._values.get("meta") or {}).get(key, default)


class _This:
    """``dbt.this``: the model's relation (``repr`` gives it quoted, as dbt's does)."""

    def __init__(self, database: str, schema: str, identifier: str, rendered: str) -> None:
        self.database, self.schema, self.identifier = database, schema, identifier
        self._rendered = rendered

    def __repr__(self) -> str:
        return self._rendered

    __str__ = __repr__


class DbtObject:
    """The ``dbt`` argument of a Python model, as dbt-duckdb gives it."""

    def __init__(self, runner: _Runner, session: Any) -> None:
        self._runner, self._session = runner, session
        self.config = _Config(runner.config)
        self.this = _This(*runner.this)
        self.is_incremental = False  # teal builds Python models as tables

    def ref(self, *args: str, v: Any = None, version: Any = None) -> Any:
        wanted = v if v is not None else version
        key = (tuple(str(a) for a in args), None if wanted is None else str(wanted))
        relation = self._runner.refs.get(key)
        if relation is None:
            raise KeyError(
                f"dbt.ref{key[0]!r} was not found when the project loaded: teal reads refs "
                "from the file, so each must be a call with literal arguments"
            )
        return self._session.query(f"select * from {relation}")

    def source(self, source_name: str, table_name: str) -> Any:
        relation = self._runner.sources.get((source_name, table_name))
        if relation is None:
            raise KeyError(f"dbt.source({source_name!r}, {table_name!r}) was not found at load")
        return self._session.query(f"select * from {relation}")
