"""Copies of frozen dataclasses with some fields changed.

``dataclasses.replace`` runs ``__init__`` again: every field is read into keyword
arguments and set through ``object.__setattr__``, and ``__post_init__`` runs. A load copies
each model (its checks, its declared columns) and the plan passes copy each step several
times, so at 1,000 models and more that was a visible share of a load and a plan.
:func:`evolve` copies the instance's dictionary instead; what ``__post_init__`` checks
was checked when the original was made, and the changed fields are the caller's to get
right.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def evolve(obj: T, **changes: object) -> T:
    """``dataclasses.replace(obj, **changes)`` without running ``__init__`` again. The
    changed names must be fields of ``obj``'s dataclass (a dataclass without slots)."""
    known = type(obj).__dataclass_fields__  # type: ignore[attr-defined]
    unknown = [name for name in changes if name not in known]
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {', '.join(sorted(unknown))}")
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__, **changes)
    return new
