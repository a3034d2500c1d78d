"""Calling a Python asset: its inputs loaded in the kind each parameter asks for, its
``context``, and what it returns made scannable; an exception it raises becomes a
:class:`UserCodeError` pointing at its line."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from teal.compiler.assets import Output
from teal.compiler.project import Model, Project
from teal.compiler.resources import Config
from teal.runtime.context import AssetContext, Resources, asset_logger
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
    project, run_id, debug = env.project, env.run_id, env.debug
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
            kwargs[param] = _load_managed(env, cur, model, upstream, kind, select_sql, key, keys)
        else:
            kwargs[param] = cur.load(select_sql, kind)
    for param in definition.resource_params:
        kwargs[param] = env.resources[param]
    config = env.configs.get(model.name)
    if definition.config_param is not None:
        kwargs[definition.config_param] = config
    if definition.wants_context:
        window = None
        if keys:  # single_run: the window spans every partition being built
            window = (
                model.partitions.window(keys[0])[0].replace(tzinfo=None),
                model.partitions.window(keys[-1])[1].replace(tzinfo=None),
            )
        elif key is not None and hasattr(model.partitions, "window"):
            try:
                start, end = model.partitions.window(key)
                window = (start.replace(tzinfo=None), end.replace(tzinfo=None))
            except Exception:  # noqa: BLE001 - static partitions have no time window
                window = None
        kwargs["context"] = AssetContext(
            asset_name=model.name,
            relation=model.relation,
            run_id=run_id,
            log=asset_logger(model.name, env.redact),
            cursor=cur.native,
            vars=dict(project.config.vars),
            partition_key=key,
            partition_keys=tuple(keys or ([key] if key else [])),
            partition_window=window,
            resources=Resources(dict(env.resources)),
            config=config,
        )
    try:
        value = definition.fn(**kwargs)
    except Exception as exc:  # the user's code raised
        line = _user_line(exc, model)
        detail = traceback.format_exc() if debug else ""
        message = f"{type(exc).__name__}: {exc}" + (f"\n{detail}" if detail else "")
        raise UserCodeError(env.redact(message) if env.redact else message, line) from exc
    metadata: dict[str, Any] = {}
    if isinstance(value, Output):
        metadata = _checked_metadata(value.metadata, model)
        value = value.value
    try:
        return AssetOutput(io.scannable(value), metadata)
    except io.UnsupportedOutput as exc:
        raise UserCodeError(
            f"asset '{model.name}' {exc}; return a {io.SUPPORTED_OUTPUTS}", model.line
        ) from None


def _load_managed(
    env: CallEnv,
    cur: EngineCursor,
    model: Model,
    upstream: Model,
    kind: str,
    select_sql: str,
    key: str | None,
    keys: list[str] | None,
) -> Any:
    """An upstream an I/O manager keeps, loaded through it (the partitions this call reads
    asked for, and the same filter applied as a warehouse read)."""
    from teal.runtime.io_managers import load_managed, upstream_keys_for

    wanted: tuple[str, ...] = ()
    for k in keys or ([key] if key is not None else []):
        wanted += tuple(
            x for x in upstream_keys_for(env.project, model, upstream, k) if x not in wanted
        )
    return load_managed(
        env.resources,
        cur,
        env.project,
        upstream,
        kind,
        reader=model.name,
        run_id=env.run_id,
        select_sql=select_sql,
        keys=wanted,
    )


def _checked_metadata(metadata: object, model: Model) -> dict[str, Any]:
    """The metadata of a ``teal.Output``, if it is a mapping of names to JSON values."""
    if not isinstance(metadata, dict) or not all(isinstance(k, str) for k in metadata):
        raise UserCodeError(
            f"asset '{model.name}' returned Output metadata that is not a mapping of names "
            f"to values: {type(metadata).__name__}",
            model.line,
        )
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as exc:
        raise UserCodeError(
            f"asset '{model.name}' returned Output metadata that is not JSON ({exc}); "
            "use text, numbers, booleans, lists and mappings",
            model.line,
        ) from None
    return dict(metadata)


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
