"""Calling a Python asset: its inputs loaded in the kind each parameter asks for, its
``context``, and what it returns made scannable; an exception it raises becomes a
:class:`UserCodeError` pointing at its line."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from teal.compiler.assets import Output
from teal.compiler.declared import canonical_type
from teal.compiler.project import Model, Project
from teal.compiler.resources import Config
from teal.runtime.context import (
    AssetContext,
    Resources,
    TimeWindow,
    asset_logger,
    asset_vars,
    user_frames,
)
from teal.runtime.shared_calls import MissingOutput, SharedCalls, call_key
from teal.runtime.step_output import calling
from teal.warehouse import io
from teal.warehouse.engine import EngineCursor


class AssetOutput(NamedTuple):
    """What a Python asset returned: its rows, scannable by the engine, and the metadata it
    returned with them (``teal.Output``; empty for bare data)."""

    data: Any
    metadata: dict[str, Any]


@dataclass(frozen=True)
class CallEnv:
    """What every Python asset call of one run shares, besides its inputs."""

    project: Project
    run_id: str
    debug: bool = False
    resources: Mapping[str, Any] = field(default_factory=dict)  # opened, by name
    configs: Mapping[str, Config] = field(default_factory=dict)  # run config, by model
    redact: Callable[[str], str] | None = None  # hides secrets from messages
    now: datetime | None = None  # the plan's clock (TEAL_NOW): which partitions exist
    shared: SharedCalls = field(default_factory=SharedCalls)  # multi-asset calls of the run


def call_asset(
    env: CallEnv,
    cur: EngineCursor,
    model: Model,
    *,
    key: str | None = None,
    keys: list[str] | None = None,
) -> AssetOutput:
    """Call a Python asset with its inputs (one partition ``key``, the ``keys`` of a
    single_run, or none) and return what it returned, scannable by the engine."""
    definition = model.asset
    assert definition is not None
    try:
        with calling(model.name, env.redact):  # its print() lines: runtime/step_output.py
            if definition.output is None:
                value = definition.fn(**_arguments(env, cur, model, key, keys))
            else:  # one output of a multi-asset: one call for every output the run builds
                shared = call_key(definition, key, keys)
                value = env.shared.part(
                    definition,
                    shared,
                    lambda: definition.fn(**_arguments(env, cur, model, key, keys)),
                    keys or [key],
                )
    except MissingOutput as exc:
        raise UserCodeError(str(exc), model.line) from None
    except Exception as exc:  # the user's code raised
        line = _user_line(exc, model)
        detail = traceback.format_exc() if env.debug else user_frames(exc, env.project.root)
        message = f"{type(exc).__name__}: {exc}" + (f"\n{detail}" if detail else "")
        raise UserCodeError(env.redact(message) if env.redact else message, line) from exc
    metadata: dict[str, Any] = {}
    if isinstance(value, Output):
        metadata = _checked_metadata(value, model, env)
        value = value.value
    try:
        data = io.scannable(value)
    except io.UnsupportedOutput as exc:
        raise UserCodeError(
            f"asset '{model.name}' {exc}; return a {io.SUPPORTED_OUTPUTS}", model.line
        ) from None
    _check_declared_columns(model, data)
    return AssetOutput(data, metadata)


def _arguments(
    env: CallEnv, cur: EngineCursor, model: Model, key: str | None, keys: list[str] | None
) -> dict[str, Any]:
    """What the asset function of ``model`` is called with: its inputs loaded, its
    resources, run config and context."""
    project, run_id = env.project, env.run_id
    definition = model.asset
    assert definition is not None
    kwargs: dict[str, Any] = {}
    for index, (param, select_sql, kind) in enumerate(model.inputs):
        if keys:
            select_sql = project.sql_for_range(model, select_sql, keys)
        elif key is not None:
            select_sql = project.sql_for_partition(model, select_sql, key)
        upstream = project.models.get(model.input_keys[index]) if model.input_keys else None
        if upstream is not None and upstream.io_manager:  # kept by an I/O manager
            kwargs[param] = load_managed_input(
                env, cur, model, upstream, kind, select_sql, key, keys
            )
        else:
            kwargs[param] = cur.load(select_sql, kind)
    for param in definition.resource_params:
        kwargs[param] = env.resources[param]
    config = env.configs.get(model.name)
    if definition.config_param is not None:
        kwargs[definition.config_param] = config
    if definition.wants_context:
        window: TimeWindow | None = None
        if keys:  # single_run: the window spans every partition being built
            window = TimeWindow(
                model.partitions.window(keys[0])[0].replace(tzinfo=None),
                model.partitions.window(keys[-1])[1].replace(tzinfo=None),
            )
        elif key is not None and hasattr(model.partitions, "window"):
            try:
                start, end = model.partitions.window(key)
                window = TimeWindow(start.replace(tzinfo=None), end.replace(tzinfo=None))
            except Exception:  # noqa: BLE001 - static partitions have no time window
                window = None
        kwargs["context"] = AssetContext(
            asset_name=model.name,
            relation=model.relation,
            run_id=run_id,
            log=asset_logger(model.name, env.redact),
            cursor=cur.native,
            vars=asset_vars(model.name, model.config.get("vars"), project.config.vars),
            partition_key=key,
            partition_keys=tuple(keys or ([key] if key else [])),
            partition_window=window,
            resources=Resources(dict(env.resources)),
            config=config,
        )
    return kwargs


def _check_declared_columns(model: Model, data: object) -> None:
    """What an asset returned has exactly the columns its ``columns=`` declares (by name,
    in any order): its SQL readers were bound against them before the run."""
    declared = model.config.get("columns")
    if not isinstance(declared, dict) or not declared:
        return
    got = column_names(data)
    if got is None:
        return
    wanted = {str(c).lower(): str(c) for c in declared}
    have = {c.lower(): c for c in got}
    missing = [name for key, name in wanted.items() if key not in have]
    extra = [name for key, name in have.items() if key not in wanted]
    if not missing and not extra:
        mismatched = [
            f"'{have[key]}' is {kind}, declared {declared[name]}"
            for key, name in wanted.items()
            for kind in (_arrow_type(data, have[key]),)
            if kind is not None
            and declared[name] is not None
            and canonical_type(kind) != canonical_type(str(declared[name]))
        ]
        if mismatched:
            raise UserCodeError(
                f"asset '{model.name}' returned a frame whose types differ from its declared "
                f"columns: {'; '.join(mismatched)}; cast them, or change columns= in its "
                "decorator",
                model.line,
            )
        return
    problems = []
    if missing:
        problems.append("lacks declared column" + _plural(missing))
    if extra:
        problems.append("has undeclared column" + _plural(extra))
    raise UserCodeError(
        f"asset '{model.name}' returned a frame that {' and '.join(problems)} "
        f"(declared: {', '.join(wanted.values())}); return the declared columns, or change "
        "columns= in its decorator",
        model.line,
    )


# DuckDB's names of the Arrow types a frame's columns commonly have
_ARROW_TYPES = {
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "string_view": "VARCHAR",
    "bool": "BOOLEAN",
    "date32[day]": "DATE",
}


def _arrow_type(data: object, column: str) -> str | None:
    """DuckDB's name of an Arrow column's type, None when not a plain Arrow type here."""
    schema = getattr(data, "schema", None)
    field = getattr(schema, "field", None)
    if not callable(field):
        return None
    kind = field(column).type
    text = str(kind)
    if text in _ARROW_TYPES:
        return _ARROW_TYPES[text]
    if text.startswith("decimal128("):
        return f"DECIMAL({kind.precision}, {kind.scale})"
    if text.startswith("timestamp["):
        return "TIMESTAMP WITH TIME ZONE" if getattr(kind, "tz", None) else "TIMESTAMP"
    return None


def _plural(names: list[str]) -> str:
    return ("s " if len(names) > 1 else " ") + ", ".join(f"'{n}'" for n in names)


def column_names(data: object) -> list[str] | None:
    """The column names of a frame teal can write (Arrow tables and readers, Polars, pandas,
    DuckDB relations), else None."""
    schema = getattr(data, "schema", None)
    names = getattr(schema, "names", None)
    if isinstance(names, list):
        return [str(n) for n in names]
    collect_schema = getattr(data, "collect_schema", None)
    if callable(collect_schema):
        return [str(n) for n in collect_schema().names()]
    columns = getattr(data, "columns", None)
    if columns is not None and not callable(columns):
        return [str(c) for c in list(columns)]
    return None


def load_managed_input(
    env: CallEnv,
    cur: EngineCursor,
    model: Model,
    upstream: Model,
    kind: str,
    select_sql: str = "",
    key: str | None = None,
    keys: list[str] | None = None,
) -> Any:
    """An upstream an I/O manager keeps, loaded through it for ``model`` (an asset, or one
    of its Python checks): the partitions this call reads asked for, and the same filter
    applied as a warehouse read."""
    from teal.runtime.io_managers import load_managed, upstream_keys_for

    # the upstream keys each partition of this call reads, in order, each once (an
    # unpartitioned reader: every partition of the upstream)
    wanted: dict[str, None] = {}
    each: list[str | None] = list(keys) if keys else [key]
    for k in each:
        wanted.update(dict.fromkeys(upstream_keys_for(env.project, model, upstream, k, env.now)))
    return load_managed(
        env.resources,
        cur,
        env.project,
        upstream,
        kind,
        reader=model.name,
        run_id=env.run_id,
        select_sql=select_sql,
        keys=tuple(wanted),
        redact=env.redact,
    )


def _checked_metadata(output: Output, model: Model, env: CallEnv) -> dict[str, Any]:
    """The metadata of a ``teal.Output`` in its JSON form (:func:`json_metadata`); a value
    that has none is left out with a warning in the asset's log, located at the line that
    made the Output: the data it came with is written all the same."""
    from teal.runtime.metadata import json_metadata

    metadata = output.metadata
    line = output_line(output, model)
    if not isinstance(metadata, dict) or not all(isinstance(k, str) for k in metadata):
        raise UserCodeError(
            f"asset '{model.name}' returned Output metadata that is not a mapping of names "
            f"to values: {type(metadata).__name__}",
            line,
        )
    kept, dropped = json_metadata(metadata)
    if dropped:
        try:
            where = model.path.relative_to(env.project.root).as_posix()
        except ValueError:
            where = str(model.path)
        names = ", ".join(f"'{name}' (a {kind})" for name, kind in dropped.items())
        asset_logger(model.name, env.redact).warning(
            f"{where}:{line}: Output metadata {names} "
            + ("is not recorded: it has" if len(dropped) == 1 else "are not recorded: they have")
            + " no JSON form "
            "(the data is written); give text, a number, a boolean, a date, a list or a "
            "mapping, e.g. str(value)",
            stacklevel=1,
        )
    return kept


def output_line(output: Output, model: Model) -> int | None:
    """The line of ``model``'s file that made ``output`` (its ``return teal.Output(...)``),
    else the asset's decorator line."""
    made_at = getattr(output, "made_at", None)
    if made_at is not None and made_at[0] == str(model.path):
        return int(made_at[1])
    return model.line


class UserCodeError(Exception):
    """The user's code raised, or returned something teal cannot write."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _user_line(exc: BaseException, model: Model) -> int | None:
    line = model.line
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == str(model.path):
            line = frame.lineno
    return line
