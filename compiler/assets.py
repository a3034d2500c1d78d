"""The ``@teal.asset`` decorator: it only records metadata on the function.

>>> @asset(tags=["demo"])
... def numbers(context):
...     return None
>>> numbers.name, numbers.upstream_params, numbers.wants_context
('numbers', (), True)
>>> numbers.__name__
'numbers'
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from teal.compiler.automation_conditions import AutomationCondition, as_config

CONTEXT_PARAM = "context"


class DeclarationError(TypeError):
    """A teal decorator used in a way it cannot declare (written twice on one function):
    reported at ``line`` of the model file when it is known, with ``hint``."""

    def __init__(self, message: str, *, line: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.line = line
        self.hint = hint


def _decorated_twice(made: Any, decorator: str) -> DeclarationError:
    """The error of ``@teal.<decorator>`` applied to ``made``, what a teal decorator already
    made of a function: located at the second of the function's teal decorators."""
    fn = made.fn
    while hasattr(fn, "fn"):
        fn = fn.fn
    name = getattr(fn, "__name__", "?")
    lines = _decorator_lines(fn)
    where = f", on lines {lines[0]} and {lines[1]}" if len(lines) > 1 else ""
    line = lines[1] if len(lines) > 1 else None
    made_by = "multi_asset" if hasattr(made, "assets") else None  # a MultiAssetDef
    if made_by is not None or decorator == "multi_asset":
        made_by = made_by or ("asset" if isinstance(made, AssetDef) else "asset_check")
        if made_by == decorator:
            return DeclarationError(
                f"@teal.multi_asset is written twice on function '{name}'{where}: one "
                "decorator declares all the assets the function makes",
                line=line,
                hint="remove one of them; list every output in one outs=[...]",
            )
        return DeclarationError(
            f"function '{name}' has both @teal.{decorator} and @teal.{made_by}{where}: "
            "@teal.multi_asset declares every asset the function makes",
            line=line,
            hint="remove the other decorator (a check of an asset is a function of its own)",
        )
    if (decorator == "asset") == isinstance(made, AssetDef):
        what = "asset" if decorator == "asset" else "check"
        return DeclarationError(
            f"@teal.{decorator} is written twice on function '{name}'{where}: a function "
            f"declares one {what}",
            line=line,
            hint=f"remove one of them (two {what}s are two functions)",
        )
    return DeclarationError(
        f"function '{name}' has both @teal.asset and @teal.asset_check{where}: a function is "
        "an asset or a check, not both",
        line=line,
        hint="remove one of them (a check of an asset is a function of its own)",
    )


def _not_a_function(fn: object, decorator: str) -> DeclarationError:
    """The error of ``@teal.<decorator>("x")``: what it takes besides the function is
    keyword arguments, so ``"x"`` would be the function."""
    key = "asset" if decorator == "asset_check" else "name"
    return DeclarationError(
        f"@teal.{decorator}() takes keyword arguments only, got {fn!r} in place of the function",
        hint=f"name the argument, such as @teal.{decorator}({key}={fn!r})",
    )


def _decorator_lines(fn: Callable[..., Any]) -> list[int]:
    """The lines of ``fn``'s decorators that name teal's (``asset``, ``asset_check``), as
    the file numbers them; [] when its source cannot be read."""
    import ast
    import textwrap

    try:
        lines, first = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return []
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return []
    return [
        first + d.lineno - 1
        for d in node.decorator_list
        if "asset" in ast.unparse(d.func if isinstance(d, ast.Call) else d)
    ]


@dataclass(frozen=True)
class AssetDef:
    """A Python asset: a function plus the metadata its decorator recorded."""

    fn: Callable[..., Any]
    name: str
    upstream_params: tuple[str, ...]
    annotations: dict[str, Any]
    wants_context: bool
    deps: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    source_file: str | None = None
    source_line: int | None = None
    # parameters annotated with a teal.Resource class: given the resource of that name
    resource_params: tuple[str, ...] = ()
    # the parameter annotated with a teal.Config class: given the run config
    config_param: str | None = None
    # one output of a @teal.multi_asset call (compiler/multi_assets.py): which one, and
    # every output of the call, in order
    output: str | None = None
    outputs: tuple[str, ...] = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    @property
    def __name__(self) -> str:  # so that tools and doctests see a function-like object
        return self.fn.__name__


def asset(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    deps: Sequence[str | AssetDef] = (),
    schema: str | None = None,
    materialized: str | None = None,
    tags: Sequence[str] = (),
    description: str | None = None,
    group: str | None = None,
    meta: dict[str, Any] | None = None,
    partitioned_by: Any = None,
    partition_column: str | dict[str, str] | None = None,
    partition_mapping: dict[str, str] | None = None,
    backfill_policy: str | None = None,
    rebuild_stale: bool | None = None,
    retries: int | None = None,
    retry_delay: float | str | None = None,
    columns: Mapping[str, str | None] | Sequence[str] | None = None,
    io_manager: str | None = None,
    location: str | None = None,
    format: str | None = None,
    compression: str | None = None,
    partition_by: str | Sequence[str] | None = None,
    vars: Sequence[str] | None = None,
    automation_condition: AutomationCondition | str | Mapping[str, str] | None = None,
) -> Any:
    """Declare a Python asset. Parameters name upstream models or sources.

    ``automation_condition`` says when the daemon builds it by itself:
    ``teal.AutomationCondition.eager()``, ``.on_missing()``, ``.on_cron("0 6 * * *")``
    (or the text, ``"eager"``); docs/automation.md.

    ``vars`` names the project vars it reads through ``context.vars``: only their values
    go into its version (without it, every var does, so changing any var makes its
    partitions stale), and ``context.vars`` holds only them.

    ``columns`` declares its output schema, ``{"id": "bigint", ...}`` (or a list of
    names): SQL models reading it are bound against it before anything runs, and what it
    returns must have exactly these columns.

    ``context`` is special: it receives an :class:`runtime.context.AssetContext`.
    ``partitioned_by`` (with ``partition_column``) makes it a partitioned asset: it runs once
    per partition, receives only that partition's upstream rows and returns its rows.
    Each upstream is passed as the type its annotation asks for (``pyarrow.Table`` by
    default). ``deps`` lists order-only upstreams that are not passed in.
    ``io_manager`` says who stores what it returns: ``warehouse`` (a table, the default),
    ``parquet``, ``csv`` or ``json`` (external files; ``location``, ``compression`` and
    ``partition_by`` as for ``materialized='external'``), or the name of a declared
    ``teal.IOManager`` resource.
    """

    def wrap(func: Callable[..., Any]) -> AssetDef:
        if isinstance(func, AssetDef | AssetCheckDef) or hasattr(func, "assets"):
            raise _decorated_twice(func, "asset")
        sig = inspect.signature(func)
        try:
            hints = inspect.get_annotations(func, eval_str=True)
        except Exception:  # noqa: BLE001 - unresolvable string annotations: use the raw ones
            hints = dict(getattr(func, "__annotations__", {}))
        params = [
            p
            for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        upstream, resource_params, config_param = split_params([p.name for p in params], hints)
        config: dict[str, Any] = {}
        if schema is not None:
            config["schema"] = schema
        if materialized is not None:
            config["materialized"] = materialized
        if tags:
            # a mapping (Dagster's key-value tags) is kept whole, for the config check to refuse
            config["tags"] = dict(tags) if isinstance(tags, Mapping) else list(tags)
        doc = description or inspect.getdoc(func)
        if doc:
            config["description"] = doc
        if group is not None:
            config["group"] = group
        if meta:
            config["meta"] = dict(meta)
        if partitioned_by is not None:
            config["partitioned_by"] = partitioned_by
            if partition_column is not None:  # missing: said where the config is settled
                config["partition_column"] = partition_column
        if partition_mapping:
            config["partition_mapping"] = dict(partition_mapping)
        if backfill_policy is not None:
            config["backfill_policy"] = backfill_policy
        if rebuild_stale is not None:
            config["rebuild_stale"] = rebuild_stale
        if retries is not None:
            config["retries"] = retries
        if retry_delay is not None:
            config["retry_delay"] = retry_delay
        annotated = annotated_columns(hints.get("return"))
        if columns is not None and annotated is not None:
            raise TypeError(
                f"{func.__name__} declares its columns twice (columns= and its return "
                "annotation): keep one"
            )
        if columns is not None or annotated is not None:
            config["columns"] = declared_schema(columns if columns is not None else annotated)
        if io_manager is not None:
            config["io_manager"] = io_manager
        if location is not None:
            config["location"] = location
        if format is not None:
            config["format"] = format
        if compression is not None:
            config["compression"] = compression
        if partition_by is not None:
            config["partition_by"] = (
                partition_by if isinstance(partition_by, str) else list(partition_by)
            )
        if vars is not None:
            config["vars"] = [vars] if isinstance(vars, str) else list(vars)
        if automation_condition is not None:  # checked, located, where configs are settled
            config["automation_condition"] = as_config(automation_condition)
        try:
            src_file = inspect.getsourcefile(func)
            src_line = inspect.getsourcelines(func)[1]
        except (OSError, TypeError):
            src_file, src_line = None, None
        definition = AssetDef(
            fn=func,
            name=name or func.__name__,
            upstream_params=upstream,
            annotations={k: v for k, v in hints.items() if k != "return"},
            wants_context=CONTEXT_PARAM in sig.parameters,
            deps=tuple(d.name if isinstance(d, AssetDef) else str(d) for d in deps),
            config=config,
            source_file=src_file,
            source_line=src_line,
            resource_params=resource_params,
            config_param=config_param,
        )
        return definition

    if fn is not None and not callable(fn):
        raise _not_a_function(fn, "asset")
    if fn is not None:
        return wrap(fn)
    return wrap


def annotated_columns(annotation: object) -> object | None:
    """The columns a return annotation declares: the mapping (or list of names) in
    ``Annotated[<frame type>, {"id": "bigint", ...}]``, else None.

    >>> from typing import Annotated
    >>> annotated_columns(Annotated[list, {"id": "bigint"}])
    {'id': 'bigint'}
    >>> annotated_columns(list) is None
    True
    """
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    for extra in getattr(annotation, "__metadata__", ()):
        if isinstance(extra, Mapping | list | tuple):
            return extra
    return None


def declared_schema(columns: object) -> dict[str, str | None]:
    """A Python asset's declared ``columns``: name -> upper-case type (None: any type).

    >>> declared_schema({"id": "bigint", "amount": "decimal(18, 2)"})
    {'id': 'BIGINT', 'amount': 'DECIMAL(18, 2)'}
    >>> declared_schema(["id", "name"])
    {'id': None, 'name': None}
    """
    if isinstance(columns, Mapping):
        items = list(columns.items())
    elif isinstance(columns, list | tuple):
        items = [(c, None) for c in columns]
    else:
        raise TypeError("columns= takes a mapping {column: type} or a list of column names")
    out: dict[str, str | None] = {}
    for name, kind in items:
        if not isinstance(name, str) or not (kind is None or isinstance(kind, str)):
            raise TypeError("columns= takes column names (text) and types (text)")
        out[name] = None if kind is None else " ".join(kind.upper().split())
    return out


def split_params(
    params: list[str], hints: dict[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """(upstream, resource, config) parameters: a parameter annotated with a
    ``teal.Resource`` class receives that resource, one annotated with a ``teal.Config``
    class the run config, ``context`` the context; the others name upstream data."""
    from teal.compiler.resources import Config, Resource

    upstream, resources, config = [], [], None
    for param in params:
        hint = hints.get(param)
        if param == CONTEXT_PARAM:
            continue
        if isinstance(hint, type) and issubclass(hint, Resource):
            resources.append(param)
        elif isinstance(hint, type) and issubclass(hint, Config):
            if config is not None:
                raise TypeError(
                    f"parameters '{config}' and '{param}' both take run config: "
                    "give the function one teal.Config parameter"
                )
            config = param
        else:
            upstream.append(param)
    return tuple(upstream), tuple(resources), config


# Input kinds a parameter annotation can ask for, keyed by the type's module root and name.
INPUT_KINDS = {
    ("pyarrow", "Table"): "arrow",
    ("pyarrow", "RecordBatchReader"): "arrow_reader",
    ("polars", "DataFrame"): "polars",
    ("polars", "LazyFrame"): "polars_lazy",
    ("pandas", "DataFrame"): "pandas",
    ("duckdb", "DuckDBPyRelation"): "duckdb",
    # the Spark engine's own frame, not collected (a classic or a Spark Connect session)
    ("pyspark", "DataFrame"): "spark",
}
SUPPORTED_INPUTS = (
    "pyarrow.Table, pyarrow.RecordBatchReader, polars.DataFrame, "
    "polars.LazyFrame, pandas.DataFrame, duckdb.DuckDBPyRelation or pyspark.sql.DataFrame"
)


def input_kind(annotation: Any) -> str | None:
    """How to pass an upstream to a parameter with this annotation (None: unsupported).

    No annotation means a ``pyarrow.Table``.

    >>> input_kind(inspect.Parameter.empty), input_kind(int)
    ('arrow', None)
    """
    if annotation in (inspect.Parameter.empty, None, Any):
        return "arrow"
    if isinstance(annotation, str):
        tail = annotation.replace(" ", "").split(".")
        alias = {"pa": "pyarrow", "pl": "polars", "pd": "pandas"}
        root = alias.get(tail[0], tail[0]) if len(tail) > 1 else ""
        key = (root, tail[-1])
        return INPUT_KINDS.get(key)
    module = getattr(annotation, "__module__", "") or ""
    name = getattr(annotation, "__qualname__", "") or ""
    return INPUT_KINDS.get((module.split(".")[0].lstrip("_"), name))


@dataclass(frozen=True)
class Output:
    """What a Python asset may return instead of bare data: the data plus metadata recorded
    with this materialization (JSON values: text, numbers, booleans, lists, mappings; NumPy
    numbers, dates, decimals and paths are converted, runtime/metadata.py).

    >>> Output([1, 2], metadata={"source": "api"}).metadata
    {'source': 'api'}
    """

    value: Any
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # where the asset made it (file, line), so what is wrong with its metadata is
        # reported at the asset's `return teal.Output(...)`, not at its decorator
        try:
            caller = sys._getframe(2)  # past the dataclass __init__
        except (AttributeError, ValueError):  # no frames (not CPython)
            return
        object.__setattr__(self, "made_at", (caller.f_code.co_filename, caller.f_lineno))


@dataclass(frozen=True)
class CheckResult:
    """What a Python check returns (Dagster's shape)."""

    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)
    # "error" blocks what is downstream when it fails; "warn" reports. None: the severity
    # given to @asset_check (default "error")
    severity: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class AssetCheckDef:
    """A Python check: a function of upstream data that returns a CheckResult (or a bool)."""

    fn: Callable[..., Any]
    name: str
    asset: str
    upstream_params: tuple[str, ...]
    annotations: dict[str, Any]
    wants_context: bool
    severity: str = "error"
    description: str = ""
    source_file: str | None = None
    source_line: int | None = None
    resource_params: tuple[str, ...] = ()  # as AssetDef's

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


def asset_check(
    fn: Callable[..., Any] | None = None,
    *,
    asset: str | AssetDef,
    name: str | None = None,
    severity: str = "error",
    description: str | None = None,
) -> Any:
    """Declare a Python check of ``asset``. Parameters name upstream models (the checked asset
    among them) and receive their data like an asset's parameters do.

    >>> @asset_check(asset="orders")
    ... def orders_not_empty(orders):
    ...     return CheckResult(passed=orders.num_rows > 0)
    >>> orders_not_empty.asset, orders_not_empty.upstream_params
    ('orders', ('orders',))
    """

    def wrap(func: Callable[..., Any]) -> AssetCheckDef:
        if isinstance(func, AssetDef | AssetCheckDef) or hasattr(func, "assets"):
            raise _decorated_twice(func, "asset_check")
        sig = inspect.signature(func)
        try:
            hints = inspect.get_annotations(func, eval_str=True)
        except Exception:  # noqa: BLE001 - unresolvable string annotations: use the raw ones
            hints = dict(getattr(func, "__annotations__", {}))
        names = [
            p.name
            for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        params, resource_params, config_param = split_params(names, hints)
        if config_param is not None:
            raise TypeError(
                f"check '{name or func.__name__}' cannot take run config ({config_param})"
            )
        try:
            src_file = inspect.getsourcefile(func)
            src_line = inspect.getsourcelines(func)[1]
        except (OSError, TypeError):
            src_file, src_line = None, None
        return AssetCheckDef(
            fn=func,
            name=name or func.__name__,
            asset=asset.name if isinstance(asset, AssetDef) else str(asset),
            upstream_params=tuple(params),
            annotations={k: v for k, v in hints.items() if k != "return"},
            wants_context=CONTEXT_PARAM in sig.parameters,
            severity=severity,
            description=description or inspect.getdoc(func) or "",
            source_file=src_file,
            source_line=src_line,
            resource_params=resource_params,
        )

    if fn is not None and not callable(fn):
        raise _not_a_function(fn, "asset_check")
    if fn is not None:
        return wrap(fn)
    return wrap
