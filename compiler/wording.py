"""How counts are worded in messages: one row, two rows."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` (with thousands separators) and ``noun``, in the plural unless ``n`` is 1.

    >>> counted(1, "row"), counted(2_500, "row"), counted(1, "failing row"), counted(0, "run")
    ('1 row', '2,500 rows', '1 failing row', '0 runs')
    >>> counted(3, "model of run", "models of run")
    '3 models of run'
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
