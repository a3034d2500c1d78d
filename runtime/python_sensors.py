"""Sensors written in Python: ``@teal.sensor`` functions in the project's ``sensors/`` folder.

::

    import teal

    @teal.sensor(job="nightly", minimum_interval="30s")
    def new_orders(context: teal.SensorContext):
        last = int(context.cursor or 0)
        newest = ask_the_api_for_the_newest_order_id()
        if newest == last:
            return teal.SkipReason("no new orders")
        context.cursor = str(newest)
        return teal.RunRequest(run_key=f"orders-{newest}", vars={"since": last})

The function gets a :class:`SensorContext` (its cursor, persisted in the run store with each
tick; the evaluation time; the project root) and returns a :class:`RunRequest`, a list of
them, a :class:`SkipReason`, or None. A run key is never run twice. The daemon imports the
files when it starts and again when they change; an import error is reported with its file
and line and the last good sensors are kept.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from teal.compiler.automation import parse_duration
from teal.compiler.errors import ProjectError
from teal.compiler.pyfiles import syntax_hint

SENSOR_FOLDER = "sensors"


@dataclass
class SensorContext:
    """What a Python sensor is called with; set ``cursor`` to move it."""

    name: str
    cursor: str | None
    now: datetime  # naive UTC
    root: Path

    def update_cursor(self, cursor: str | None) -> None:
        """Move the cursor (Dagster's name for ``context.cursor = ...``)."""
        self.cursor = cursor


@dataclass(frozen=True)
class RunRequest:
    """A run a sensor asks for: a job or a selection, partitions, vars, the run config of
    its Python models (``{model: {field: value}}``, as ``teal build --config``), and a run
    key that makes a repeat a no-op; ``add_partitions`` adds dynamic partition keys before
    it runs. ``partition_key`` is one partition (Dagster's name), added to ``partitions``."""

    run_key: str | None = None
    job: str | None = None
    select: Sequence[str] = ()
    exclude: Sequence[str] = ()
    partitions: Sequence[str] = ()
    vars: dict[str, Any] = field(default_factory=dict)
    add_partitions: dict[str, Sequence[str]] = field(default_factory=dict)
    run_config: dict[str, Any] = field(default_factory=dict)
    partition_key: str | None = None

    def __post_init__(self) -> None:
        # one string is one selection ("marts+ tag:daily": words, as in the config file)
        # or one partition key, never a sequence of characters
        for name in ("select", "exclude"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, tuple(value.split()))
        if isinstance(self.partitions, str):
            object.__setattr__(self, "partitions", (self.partitions,))
        _check_run_config(self.run_config)
        if self.partition_key is not None and not isinstance(self.partition_key, str):
            raise TypeError(
                f"RunRequest(partition_key=...) takes one partition key, a string; not "
                f"{type(self.partition_key).__name__} {self.partition_key!r}"
            )
        if self.partition_key is not None and self.partition_key not in self.partitions:
            object.__setattr__(self, "partitions", (*self.partitions, self.partition_key))
        adds = {k: (v,) if isinstance(v, str) else v for k, v in self.add_partitions.items()}
        object.__setattr__(self, "add_partitions", adds)


def _check_run_config(given: object) -> None:
    """A request's ``run_config`` is ``{model: {field: value}}`` (its values are checked
    against the models' Config classes when the run starts); any other shape is the
    sensor's mistake, said at its tick."""
    shape = "{model: {field: value}}, as teal build --config-json takes it"
    if not isinstance(given, Mapping):
        raise TypeError(
            f"RunRequest(run_config=...) takes {shape}; not {type(given).__name__} {given!r}"
        )
    for model, values in given.items():
        if not isinstance(model, str) or not isinstance(values, Mapping):
            raise TypeError(
                f"RunRequest(run_config=...) takes {shape}; its entry {model!r}: {values!r} "
                "is not a model's fields"
            )


@dataclass(frozen=True)
class SkipReason:
    """Nothing to run this time, and why (recorded as a skipped tick)."""

    reason: str


SensorResult = RunRequest | SkipReason | Sequence[RunRequest] | None


@dataclass(frozen=True)
class SensorDef:
    """A ``@teal.sensor`` function and its settings."""

    fn: Callable[[SensorContext], SensorResult]
    name: str
    job: str | None = None
    select: tuple[str, ...] = ()
    minimum_interval: float = 30.0
    description: str = ""
    source: str = ""  # file:line, for messages

    def __call__(self, context: SensorContext) -> SensorResult:
        return self.fn(context)

    def file(self, root: Path) -> str | None:
        """The sensor's file as messages show it: under ``root``, relative to it."""
        file = self.source.rpartition(":")[0]
        if not file:
            return None
        path = Path(file)
        return (path.relative_to(root) if path.is_relative_to(root) else path).as_posix()

    @property
    def line(self) -> int | None:
        line = self.source.rpartition(":")[2]
        return int(line) if line.isdigit() else None


def sensor(
    fn: Callable[[SensorContext], SensorResult] | None = None,
    *,
    name: str | None = None,
    job: str | None = None,
    select: str | Sequence[str] = (),
    minimum_interval: str | float = "30s",
    description: str | None = None,
) -> Any:
    """Declare a Python sensor (in a file of the project's ``sensors/`` folder). ``job``
    or ``select`` is what its run requests run unless a request names its own."""

    def wrap(func: Callable[[SensorContext], SensorResult]) -> SensorDef:
        interval = parse_duration(minimum_interval)
        if interval is None:
            raise ValueError(f"minimum_interval {minimum_interval!r} is not a duration")
        code = getattr(func, "__code__", None)
        return SensorDef(
            fn=func,
            name=name or func.__name__,
            job=job,
            select=tuple(select.split()) if isinstance(select, str) else tuple(select),
            minimum_interval=interval,
            description=description or (func.__doc__ or "").strip().split("\n")[0],
            source=f"{code.co_filename}:{code.co_firstlineno}" if code is not None else "",
        )

    return wrap(fn) if fn is not None else wrap


def load_sensors(root: Path) -> dict[str, SensorDef]:
    """The ``@teal.sensor`` functions of the files under ``root/sensors``; a file that
    cannot be imported is a located error."""
    from teal.compiler.pyfiles import importable

    importable(root)
    folder = root / SENSOR_FOLDER
    found: dict[str, SensorDef] = {}
    for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
        display = path.relative_to(root).as_posix()
        module_name = "teal_project_sensors." + ".".join(
            path.relative_to(folder).with_suffix("").parts
        )
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            raise ProjectError(
                f"Python syntax error: {exc.msg}",
                path=display,
                line=exc.lineno,
                col=exc.offset,
                hint=syntax_hint(display),
            ) from None
        except Exception as exc:  # noqa: BLE001 - the user's file: report where it failed
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
            raise ProjectError(
                f"importing the sensor file failed: {type(exc).__name__}: {exc}",
                path=display,
                line=frames[-1].lineno if frames else None,
            ) from None
        finally:
            sys.modules.pop(module_name, None)
        for value in vars(module).values():
            if isinstance(value, SensorDef):
                if value.name in found:
                    raise ProjectError(
                        f"two sensors are named '{value.name}'",
                        path=display,
                        hint=f"the other is at {found[value.name].source}",
                    )
                found[value.name] = value
    return found


def requests_of(result: SensorResult, where: str) -> tuple[list[RunRequest], str | None]:
    """The run requests a sensor returned and its skip reason; anything else is an error."""
    if result is None:
        return [], "returned nothing"
    if isinstance(result, SkipReason):
        return [], result.reason
    if isinstance(result, RunRequest):
        return [result], None
    if isinstance(result, (list, tuple)) and all(isinstance(r, RunRequest) for r in result):
        return list(result), None if result else "returned no run requests"
    raise ProjectError(
        f"a sensor returns teal.RunRequest, a list of them, teal.SkipReason or None, "
        f"got {type(result).__name__}",
        path=where,
    )
