"""A network store's connection lost under a call, and the calls made once more then."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from teal.compiler.errors import WarehouseError


class StoreLost(WarehouseError):
    """The connection to a network store broke under a call (a restart, a failover); the
    next call connects again."""

    def to_daemon(self) -> str:
        """What ``teal daemon`` says of it: its hint is a build's (which run to retry),
        and the daemon was running no build of its own but evaluating ticks."""
        said = copy.copy(self)
        said.hint = DAEMON_HINT
        return f"{said}\n  the daemon goes on and tries again"


DAEMON_HINT = (
    "until the store answers, the daemon records no tick and launches no run; it connects "
    "again at each step and says `the run store is back`, then evaluates the ticks due "
    "meanwhile as each schedule's catchup says"
)


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
