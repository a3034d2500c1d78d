"""Several assets made by one function call (Dagster's ``@multi_asset``): one API call or
one expensive read that yields several tables.

``@teal.multi_asset(outs=["orders", "customers"])`` declares one model per output. Each is
an ordinary Python asset to the rest of teal (its own relation, state, checks, selection,
lineage), made from the same function, parameters and settings; its :class:`AssetDef`
says which output it is (``output``) and the outputs of the call (``outputs``). A build
calls the function once per partition for all the outputs it builds
(``runtime/shared_calls.py``), each output's step taking its part of what it returned: a
mapping by output name, or a tuple in the order of ``outs``, each value data or a
``teal.Output``.

>>> @multi_asset(outs=["evens", "odds"])
... def split(numbers):
...     return {"evens": numbers, "odds": numbers}
>>> [(a.name, a.output, a.upstream_params) for a in split.assets]
[('evens', 'evens', ('numbers',)), ('odds', 'odds', ('numbers',))]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from teal.compiler.assets import AssetCheckDef, AssetDef, _decorated_twice, asset

# the settings one output may have of its own (the rest are the call's, shared)
OUT_SETTINGS = frozenset(
    {"schema", "materialized", "tags", "description", "meta", "columns", "io_manager"}
)


@dataclasses.dataclass(frozen=True)
class MultiAssetDef:
    """A function whose one call makes the assets ``assets`` (one per output, in order)."""

    fn: Callable[..., Any]
    assets: tuple[AssetDef, ...]

    @property
    def source_file(self) -> str | None:  # the module scan finds it in its file by this
        return self.assets[0].source_file

    @property
    def __name__(self) -> str:
        return self.fn.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


def multi_asset(
    fn: Callable[..., Any] | None = None,
    *,
    outs: Sequence[str] | Mapping[str, Mapping[str, Any] | None],
    **settings: Any,
) -> Any:
    """Declare the assets named by ``outs``, all made by one call of the function.

    ``outs`` is a list of names, or a mapping of each name to settings of its own
    (``schema``, ``materialized``, ``tags``, ``description``, ``meta``, ``columns``,
    ``io_manager``). Every other keyword is ``@teal.asset``'s, shared by all the outputs
    (``deps``, ``group``, ``partitioned_by``, ``retries``, ...). The function returns a
    mapping by output name or a tuple in the order of ``outs``."""
    names = list(outs)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise TypeError("multi_asset(outs=...) takes the outputs' names: a list or a mapping")
    if len(set(names)) != len(names):
        raise TypeError(f"multi_asset(outs=...) names an output twice: {names}")
    if "name" in settings:
        raise TypeError("multi_asset takes no name=: each output is named in outs=")
    own = {n: dict(outs[n] or {}) for n in names} if isinstance(outs, Mapping) else {}
    for out, extra in own.items():
        unknown = sorted(set(extra) - OUT_SETTINGS)
        if unknown:
            raise TypeError(
                f"output '{out}' of multi_asset takes {', '.join(sorted(OUT_SETTINGS))}; "
                f"not {', '.join(unknown)} (shared settings go to multi_asset itself)"
            )

    def wrap(func: Callable[..., Any]) -> MultiAssetDef:
        if isinstance(func, AssetDef | AssetCheckDef | MultiAssetDef):
            raise _decorated_twice(func, "multi_asset")
        made = []
        for out in names:
            one: AssetDef = asset(func, name=out, **{**settings, **own.get(out, {})})
            made.append(dataclasses.replace(one, output=out, outputs=tuple(names)))
        return MultiAssetDef(fn=func, assets=tuple(made))

    if fn is not None and not callable(fn):
        from teal.compiler.assets import _not_a_function

        raise _not_a_function(fn, "multi_asset")
    return wrap(fn) if fn is not None else wrap
