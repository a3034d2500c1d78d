"""What a Python asset's ``context`` parameter receives."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple


class TimeWindow(NamedTuple):
    """A time partition's [start, end), naive wall-clock time in the partitions' zone: a
    tuple (``start, end = context.partition_window``) with Dagster's ``TimeWindow`` names
    (``.start``, ``.end``)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class AssetContext:
    """The running asset: its name, relation, run id, a logger and the warehouse cursor.

    ``context.log.info(...)`` messages appear in the build output under the asset's name.
    ``context.cursor`` is this worker's DuckDB cursor, for assets that want to run SQL.
    """

    asset_name: str
    relation: str
    run_id: str
    log: logging.Logger | logging.LoggerAdapter[logging.Logger]
    cursor: Any = field(default=None, repr=False)
    vars: dict[str, Any] = field(default_factory=dict)
    partition_key: str | None = None  # the partition being built (partitioned assets)
    partition_window: TimeWindow | None = None  # [start, end) of a time partition
    # every key of this run: one, or several with backfill_policy='single_run'
    partition_keys: tuple[str, ...] = ()
    # the run's resources this asset names (``context.resources.api``) and its run config
    resources: Resources = field(default_factory=lambda: Resources({}))
    config: Any = None

    @property
    def name(self) -> str:
        return self.asset_name

    @property
    def has_partition_key(self) -> bool:
        return self.partition_key is not None

    def __getattr__(self, name: str) -> Any:
        # only for names the context does not have: a Dagster name says what to write here
        instead = DAGSTER_NAMES.get(name)
        if instead is None and not name.startswith("_"):
            from teal.compiler.errors import did_you_mean

            instead = did_you_mean(name, [*self.__dataclass_fields__, "name", "has_partition_key"])
        raise AttributeError(
            f"'AssetContext' object has no attribute '{name}'" + (f": {instead}" if instead else "")
        )


# What Dagster's asset context offers under another name or in another way, and what to
# write in a teal asset instead (said by the AttributeError of the Dagster name).
_WINDOW = "write context.partition_window, a (start, end) tuple with .start and .end"
_KEYS = "write context.partition_keys, every key of this call (several with single_run)"
_METADATA = "return teal.Output(data, metadata={...}) from the asset"
DAGSTER_NAMES: dict[str, str] = {
    "partition_time_window": _WINDOW,
    "asset_partitions_time_window_for_output": _WINDOW,
    "partition_key_range": _KEYS,
    "asset_partition_key_range": _KEYS,
    "asset_partition_key_range_for_output": _KEYS,
    "asset_partition_keys_for_output": _KEYS,
    "asset_partition_key_for_output": "write context.partition_key",
    "asset_key": "write context.asset_name",
    "add_output_metadata": _METADATA,
    "add_asset_metadata": _METADATA,
    "op_config": "annotate a parameter with a teal.Config class (or read context.config)",
    "instance": "teal has no instance: a dynamic set's keys are added by a sensor's "
    "teal.RunRequest(add_partitions=...) or `teal partitions add`, and runs are read with "
    "teal.runs(...)",
}


class DeclaredVars(dict[str, Any]):
    """``context.vars`` of an asset that declares the vars it reads (``vars=[...]``): only
    those are in its version, so reading another one (which could change without making
    its partitions stale) is an error naming the declaration, also through ``.get``.

    >>> v = DeclaredVars("orders", ("days",), {"days": 3})
    >>> v["days"], v.get("days"), v.get("days", 0)
    (3, 3, 3)
    >>> v.get("scale")
    Traceback (most recent call last):
    ...
    KeyError: "var 'scale' is not one asset orders declares (vars=['days']): add it to @teal.asset(vars=[...]), which puts its value in the asset's version"
    """

    def __init__(self, asset: str, declared: tuple[str, ...], values: Mapping[str, Any]) -> None:
        super().__init__({k: values[k] for k in declared if k in values})
        self._asset = asset
        self._declared = declared

    def _undeclared(self, key: object) -> KeyError:
        return KeyError(
            f"var {key!r} is not one asset {self._asset} declares (vars={list(self._declared)}): "
            "add it to @teal.asset(vars=[...]), which puts its value in the asset's version"
        )

    def __missing__(self, key: str) -> Any:
        if key in self._declared:
            raise KeyError(key)  # declared, but the project sets no value
        raise self._undeclared(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self._declared:
            raise self._undeclared(key)
        return super().get(key, default)


def asset_vars(asset: str, declared: object, values: Mapping[str, Any]) -> dict[str, Any]:
    """What ``context.vars`` holds for an asset: every var, or only the ones its ``vars``
    config declares (:class:`DeclaredVars`)."""
    if isinstance(declared, (list, tuple)):
        return DeclaredVars(asset, tuple(map(str, declared)), values)
    return dict(values)


class Resources:
    """The resources of a run by attribute: ``context.resources.api``."""

    def __init__(self, by_name: Mapping[str, Any]) -> None:
        self._by_name = dict(by_name)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise AttributeError(f"no resource '{name}' in this run (resources: {known})") from None

    def __repr__(self) -> str:
        return f"Resources({', '.join(sorted(self._by_name))})"


def asset_logger(
    name: str, redact: Callable[[str], str] | None = None
) -> logging.LoggerAdapter[logging.Logger]:
    """The logger of asset ``name``: each message is formatted here, with the traceback of
    ``exc_info`` (``log.exception``) and the stack of ``stack_info`` written under it, and
    (with ``redact``) the run's secrets hidden from all of it before any handler sees it."""
    return _AssetLog(logging.getLogger(f"teal.asset.{name}"), redact)


class _AssetLog(logging.LoggerAdapter[logging.Logger]):
    """Formats each line itself, so that what the console and the run store receive is the
    same text whether or not the run has secrets to redact: teal's handlers print only the
    message, which would drop a traceback, and a redactor needs the whole text at once."""

    def __init__(self, logger: logging.Logger, redact: Callable[[str], str] | None) -> None:
        super().__init__(logger, {})
        self.redact = redact

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = _formatted(msg, args)
        info = kwargs.pop("exc_info", None)
        if info:
            text += "\n" + "".join(_exception_lines(info)).rstrip()
        if kwargs.pop("stack_info", False):
            stack = traceback.format_stack()[:-1]  # up to the caller, not this method
            text += "\nStack (most recent call last):\n" + "".join(stack).rstrip()
        kwargs.setdefault("stacklevel", 2)
        self.logger.log(level, self.redact(text) if self.redact else text, **kwargs)


def _formatted(msg: object, args: tuple[Any, ...]) -> str:
    """``msg % args`` as logging formats it (one mapping argument is the mapping); a
    mismatch keeps the line with its arguments rather than raising into the asset."""
    if not args:
        return str(msg)
    values: object = args
    if len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
        values = args[0]
    try:
        return str(msg) % values
    except (TypeError, ValueError, KeyError) as exc:
        return f"{msg} {args!r} (the arguments do not fit the message: {exc})"


def _exception_lines(info: object) -> list[str]:
    """The traceback lines of ``exc_info``: an exception, a ``sys.exc_info()`` tuple, or
    true for the exception being handled."""
    if isinstance(info, BaseException):
        return traceback.format_exception(info)
    if isinstance(info, tuple) and len(info) == 3 and info[1] is not None:
        return traceback.format_exception(info[1])
    return [traceback.format_exc()]


def user_frames(exc: BaseException, root: Path) -> str:
    """Where the user's code was when it raised: the frames in the project's files,
    innermost last, one line each with the source line under it (kept with the run, where
    ``--debug``'s full traceback is not)."""
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if not path.is_relative_to(root):
            continue
        lines.append(f"  at {path.relative_to(root).as_posix()}:{frame.lineno} in {frame.name}")
        if frame.line:
            lines.append(f"      {frame.line.strip()}")
    return "\n".join(lines)
