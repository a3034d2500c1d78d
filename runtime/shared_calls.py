"""One call of a ``@teal.multi_asset`` function for all the outputs a run builds
(compiler/multi_assets.py).

Each output is a step of its own; the first of them to run calls the function (per
partition, or per range of a single_run) and keeps what the call returned for the
others, which wait for it rather than call again. An output's part is handed over once and
then dropped, so what the call returned is held only until every output the run builds
has taken its part (a retried step calls again). A call that raises is not kept: each
output's step reports the error from a call of its own.

One :class:`SharedCalls` per run (in its ``CallEnv``), never per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence

from teal.compiler.assets import AssetDef


class MissingOutput(Exception):
    """The call returned no value for an output (a message for the step)."""


class SharedCalls:
    """What the run's multi-asset calls returned, by call, until each output took its part."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, threading.Lock] = {}  # one lock per call
        self._parts: dict[Hashable, dict[str, object]] = {}  # parts not taken yet

    def part(self, definition: AssetDef, key: Hashable, call: Callable[[], object]) -> object:
        """Output ``definition.output`` of the call ``key`` (the function and its partitions),
        calling ``call`` if no other output of this run has."""
        assert definition.output is not None
        with self._lock:
            gate = self._calls.setdefault(key, threading.Lock())
        with gate:  # the other outputs of the call wait for it here
            parts = self._parts.get(key)
            if parts is None or definition.output not in parts:
                parts = split(call(), definition)
                self._parts[key] = parts
            value = parts.pop(definition.output)
            if not parts:
                self._parts.pop(key, None)
            return value


def split(value: object, definition: AssetDef) -> dict[str, object]:
    """What one call returned, by output: a mapping by name, or a sequence in order."""
    names = definition.outputs
    if isinstance(value, Mapping):
        missing = [n for n in names if n not in value]
        unknown = sorted(str(k) for k in value if k not in names)
        if missing or unknown:
            raise MissingOutput(
                f"multi_asset '{definition.fn.__name__}' returned "
                + (f"no output {', '.join(repr(n) for n in missing)}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"outputs it does not declare: {', '.join(unknown)}" if unknown else "")
                + f" (its outs: {', '.join(names)})"
            )
        return {n: value[n] for n in names}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        if len(value) != len(names):
            raise MissingOutput(
                f"multi_asset '{definition.fn.__name__}' returned {len(value)} values for "
                f"{len(names)} outputs ({', '.join(names)}): return one per output, in order, "
                "or a mapping by name"
            )
        return dict(zip(names, value, strict=True))
    raise MissingOutput(
        f"multi_asset '{definition.fn.__name__}' returned {type(value).__name__}: return a "
        f"mapping by output name ({', '.join(names)}) or a tuple in that order"
    )


def call_key(definition: AssetDef, key: str | None, keys: Sequence[str] | None) -> Hashable:
    """The call an output's step shares with the other outputs: the function (its file and
    line) and the partitions it builds."""
    return (definition.source_file, definition.source_line, key, tuple(keys or ()))
