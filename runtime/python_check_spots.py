"""Where a Python check's outcome is located: in the check's own file, not its asset's.

A Python ``@asset_check`` runs after its asset is published; when one of error severity
does not pass, the asset's step fails ("published, then check x failed: ..."), and that
failure is said at the check's code, where there is something to fix or read: the line of
the check's file that raised (the innermost one in that file, when it raised in a function
it called), else the check's ``def`` line (it returned False, or no verdict at all).

>>> def spot_me():
...     return None
>>> def_line(spot_me) == spot_me.__code__.co_firstlineno
True
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from teal.runtime.results import ERROR, ModelResult

if TYPE_CHECKING:
    from teal.runtime.checking import CheckOutcome


def code_line(
    fn: Callable[..., Any], source_file: str | None, exc: BaseException | None
) -> int | None:
    """The line a Python check's outcome is located at: where ``exc`` was raised in
    ``source_file`` (the check's file), else the check function's ``def`` line."""
    if exc is not None and source_file is not None:
        here = os.path.realpath(source_file)
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if os.path.realpath(f.filename) == here
        ]
        if frames:
            return frames[-1].lineno
    return def_line(fn)


def def_line(fn: Callable[..., Any]) -> int | None:
    """The line of ``fn``'s ``def`` (its decorators stand above it), or None when its
    source cannot be read. A function a loaded project has not imported yet (a cached
    load's ``compiler.pyfiles.Deferred``) is its imported function here."""
    resolve = getattr(fn, "resolve", None)
    if callable(resolve):
        fn = resolve()
    try:
        lines, first = inspect.getsourcelines(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return getattr(getattr(fn, "__code__", None), "co_firstlineno", None)
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return first
    return first + node.lineno - 1


def failed_after_publish(result: ModelResult, outcomes: Sequence[CheckOutcome]) -> ModelResult:
    """``result`` of a published step whose Python checks gave ``outcomes``: failed when
    one of error severity did not pass, located where the first of those is."""
    blocking = [o for o in outcomes if o.blocks]
    if not blocking:
        return result
    from teal.runtime.checking import describe_failure

    first = blocking[0]
    return replace(
        result,
        status=ERROR,
        message="published, then " + describe_failure(blocking),
        path=first.path or result.path,
        line=first.line if first.path else None,
        col=None,
        published=True,
    )
