"""A network store's connection lost under a call, and the calls made once more then."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from teal.compiler.errors import WarehouseError


class StoreLost(WarehouseError):
    """The connection to a network store broke under a call (a restart, a failover); the
    next call connects again."""


_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S")


def again_if_lost(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """An idempotent store call made once more when its connection broke under it: the
    backend connects again (waiting a while for a restarting server), and writing what may
    have committed already changes nothing (events are inserted once, by run and number)."""

    @functools.wraps(method)
    def again(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except StoreLost:
            return method(self, *args, **kwargs)

    return again
