"""Calling a Python asset: its inputs loaded in the kind each parameter asks for, its
``context``, and what it returns made scannable; an exception it raises becomes a
:class:`UserCodeError` pointing at its line."""

from __future__ import annotations

import traceback
from typing import Any

from teal.compiler.project import Model, Project
from teal.runtime.context import AssetContext, asset_logger
from teal.warehouse import io
from teal.warehouse.engine import EngineCursor


def call_asset(
    project: Project,
    cur: EngineCursor,
    model: Model,
    run_id: str,
    debug: bool,
    *,
    key: str | None = None,
    keys: list[str] | None = None,
) -> Any:
    """Call a Python asset with its inputs (one partition ``key``, the ``keys`` of a
    single_run, or none) and return what it returned, scannable by the engine."""
    definition = model.asset
    assert definition is not None
    kwargs: dict[str, Any] = {}
    for param, select_sql, kind in model.inputs:
        if keys:
            select_sql = project.sql_for_range(model, select_sql, keys)
        elif key is not None:
            select_sql = project.sql_for_partition(model, select_sql, key)
        kwargs[param] = cur.load(select_sql, kind)
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
            log=asset_logger(model.name),
            cursor=cur.native,
            vars=dict(project.config.vars),
            partition_key=key,
            partition_keys=tuple(keys or ([key] if key else [])),
            partition_window=window,
        )
    try:
        value = definition.fn(**kwargs)
    except Exception as exc:  # the user's code raised
        line = _user_line(exc, model)
        detail = traceback.format_exc() if debug else ""
        raise UserCodeError(
            f"{type(exc).__name__}: {exc}" + (f"\n{detail}" if detail else ""), line
        ) from exc
    try:
        return io.scannable(value)
    except io.UnsupportedOutput as exc:
        raise UserCodeError(
            f"asset '{model.name}' {exc}; return a {io.SUPPORTED_OUTPUTS}", model.line
        ) from None


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
