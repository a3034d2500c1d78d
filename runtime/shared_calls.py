"""One call of a ``@teal.multi_asset`` function for all the outputs a run builds
(compiler/multi_assets.py).

Each output is a step of its own; the first of them to run calls the function (per
partition, or per range of a single_run) and keeps what the call returned for the
others, which wait for it rather than call again. An output's part is handed over once and
then dropped, so what the call returned is held only until every output the run builds
has taken its part (a retried step calls again). The parts of outputs the run does not
build for those partitions (``-s orders`` of orders and customers; an output up to date)
are dropped at once: the executor says beforehand which steps will ask (:meth:`expect`).
A call that raises is not kept: each output's step reports the error from a call of its
own.

One :class:`SharedCalls` per run (in its ``CallEnv``), never per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

from teal.compiler.assets import AssetDef
from teal.compiler.plan import Step
from teal.compiler.project import Project


class MissingOutput(Exception):
    """The call returned no value for an output (a message for the step)."""


class SharedCalls:
    """What the run's multi-asset calls returned, by call, until each output took its part."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, threading.Lock] = {}  # one lock per call
        self._parts: dict[Hashable, dict[str, object]] = {}  # parts not taken yet
        self._taken: dict[Hashable, set[str]] = {}  # outputs that took their part, by call
        # (output, partition) of the steps of the run that will ask; None: not known, every
        # part is kept until taken
        self._asking: set[tuple[str, str | None]] | None = None

    def expect(self, output: str, partitions: Iterable[str | None]) -> None:
        """A step of the run will ask for ``output``'s parts of calls of ``partitions``
        (``[None]``: an unpartitioned output)."""
        with self._lock:
            if self._asking is None:
                self._asking = set()
            self._asking.update((output, p) for p in partitions)

    def expect_steps(self, project: Project, steps: Iterable[Step]) -> None:
        """The run's ``steps`` that build outputs of multi-assets will ask, each for its
        partitions."""
        for step in steps:
            model = project.models.get(step.model)
            if model is not None and model.asset is not None and model.asset.output is not None:
                self.expect(model.asset.output, step.partitions or [None])

    def part(
        self,
        definition: AssetDef,
        key: Hashable,
        call: Callable[[], object],
        partitions: Sequence[str | None] = (None,),
    ) -> object:
        """Output ``definition.output`` of the call ``key`` (the function and its
        ``partitions``), calling ``call`` if no other output of this run has."""
        output = definition.output
        assert output is not None
        with self._lock:
            gate = self._calls.setdefault(key, threading.Lock())
        with gate:  # the other outputs of the call wait for it here
            parts = self._parts.get(key)
            if parts is None or output not in parts:
                taken = self._taken.get(key, set())
                parts = {
                    o: v
                    for o, v in split(call(), definition).items()
                    if o == output or (o not in taken and self._will_ask(o, partitions))
                }
                self._parts[key] = parts
            value = parts.pop(output)
            self._taken.setdefault(key, set()).add(output)
            if not parts:
                self._parts.pop(key, None)
            return value

    def _will_ask(self, output: str, partitions: Sequence[str | None]) -> bool:
        asking = self._asking
        return asking is None or any((output, p) in asking for p in partitions)


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
