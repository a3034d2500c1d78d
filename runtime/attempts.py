"""Retries: a model whose build failed runs again, up to its ``retries``, after a pause that
doubles each time (``retry_delay``, then twice that, ...) with jitter so that retries of
many models do not hit a flaky service at the same instant.

Each attempt is its own transaction, so a failed attempt leaves nothing behind. What is
not retried: a failed error check (the data is wrong: a rerun computes the same), a model
published before its Python check failed, and a canceled run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from teal.compiler.automation import parse_duration
from teal.compiler.plan import Step
from teal.compiler.project import Model
from teal.runtime.results import ERROR, ModelResult

MAX_WAIT_S = 600.0  # no single pause is longer, however many attempts
JITTER = 0.25  # each pause is its nominal length times a factor in [1 - JITTER, 1 + JITTER]
_CHECK_FAILED = re.compile(r"\bcheck \S+ failed\b")


def backoff(delay: float, attempt: int, rand: float) -> float:
    """The pause after failed attempt ``attempt`` (1-based); ``rand`` in [0, 1).

    >>> [backoff(2.0, n, 0.5) for n in (1, 2, 3)]
    [2.0, 4.0, 8.0]
    >>> backoff(2.0, 1, 0.0), backoff(2.0, 1, 0.999) < 2.5, backoff(100.0, 20, 0.5)
    (1.5, True, 600.0)
    """
    nominal = min(delay * 2 ** (attempt - 1), MAX_WAIT_S)
    return min(nominal * (1 - JITTER + 2 * JITTER * rand), MAX_WAIT_S)


def retry_settings(model: Model) -> tuple[int, float]:
    """(retries, first delay in seconds) from the model's config."""
    retries = model.config.get("retries") or 0
    delay = parse_duration(model.config.get("retry_delay", 0)) or 0.0
    return int(retries), float(delay)


def retriable(result: ModelResult) -> bool:
    """Whether running the step again could succeed."""
    if result.status != ERROR or result.published:
        return False
    return not _CHECK_FAILED.search(result.message or "")


def run_with_retries(
    step: Step,
    model: Model,
    run_once: Callable[[Step], ModelResult],
    *,
    on_retry: Callable[[Step, ModelResult, int, float], None] | None,
    sleep: Callable[[float], object],
    rand: Callable[[], float],
    on_attempt: Callable[[Step, int], None] | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> ModelResult:
    """Run ``step`` until it succeeds, fails in a way a rerun cannot fix, or has used its
    retries; ``on_retry(step, failed, attempts allowed, pause)``, when given, is told of each retry,
    and ``on_attempt(step, attempts allowed)`` of each attempt after the first as it
    starts, after the pause (its time is the attempt's, not the pause's). ``stop()`` true
    (the run was canceled): no further attempt, the failed one is the result."""
    retries, delay = retry_settings(model)
    attempt = 1
    while True:
        result = run_once(replace(step, attempt=attempt) if attempt > 1 else step)
        if attempt > retries or not retriable(result) or stop():
            return replace(result, attempts=attempt)
        pause = backoff(delay, attempt, rand()) if delay else 0.0
        if on_retry is not None:
            on_retry(replace(step, attempt=attempt), result, retries + 1, pause)
        if pause:
            sleep(pause)
        if stop():
            return replace(result, attempts=attempt)
        attempt += 1
        if on_attempt is not None:
            on_attempt(replace(step, attempt=attempt), retries + 1)
