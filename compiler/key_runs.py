"""Partition keys in a few words, never claiming a key left out.

``teal plan``'s reasons and the automation verdicts name the keys a step builds: a few
listed, more as runs of keys that follow each other in their definition's order, with how
many there are: ``2026-01-01..2026-01-31 (31)``, or, a day left out (built and up to
date), ``2026-01-01..2026-01-02, 2026-01-04..2026-01-05 (4)``. A span ``A..B`` holds every
key from A to B: the label of keys with a gap must not read as one span. Many runs are
cut short: the first ones and ``+N more`` (the keys not shown). ``--json`` lists every key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

SHOWN_KEYS = 3  # up to this many keys are listed one by one
SHOWN_RUNS = 3  # of more runs than this, the first ones and how many keys are left


class KeyOrder:
    """The keys of one partition definition in their order: which keys follow each other.
    Where a key stands is looked up once per definition (a plan shares one between the
    models of a definition)."""

    __slots__ = ("_positions", "keys")

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = tuple(keys)
        self._positions: dict[str, int] | None = None

    def runs(self, keys: Sequence[str]) -> list[tuple[int, int]]:
        """``keys`` cut into runs of keys that follow each other in this order, as (index
        in ``keys`` of the run's first key, how many), in the order of ``keys``; a key the
        order does not hold is a run of its own.

        >>> KeyOrder("abcdef").runs("abdef"), KeyOrder("abc").runs("cx")
        ([(0, 2), (2, 3)], [(0, 1), (1, 1)])
        """
        if not keys:
            return []
        positions = self._positions
        if positions is None:
            positions = self._positions = {k: i for i, k in enumerate(self.keys)}
        first = positions.get(keys[0])
        if first is not None and self.keys[first : first + len(keys)] == tuple(keys):
            return [(0, len(keys))]  # the common case, compared in C: one run
        runs = []
        start, previous = 0, None
        for i, key in enumerate(keys):
            at = positions.get(key)
            if i and (at is None or previous is None or at != previous + 1):
                runs.append((start, i - start))
                start = i
            previous = at
        runs.append((start, len(keys) - start))
        return runs


def describe_keys(keys: Sequence[str], order: KeyOrder) -> str:
    """``keys`` (of the definition ``order`` holds the keys of) in a few words: listed when
    few, else their runs (``first..last``, or a key alone) and how many keys there are.

    >>> days = KeyOrder(f"2026-01-0{d}" for d in range(1, 10))
    >>> describe_keys(["2026-01-01"], days), describe_keys(["2026-01-01", "2026-01-03"], days)
    ('2026-01-01', '2026-01-01, 2026-01-03')
    >>> describe_keys([f"2026-01-0{d}" for d in range(1, 6)], days)
    '2026-01-01..2026-01-05 (5)'
    >>> describe_keys([f"2026-01-0{d}" for d in (1, 2, 4, 5)], days)
    '2026-01-01..2026-01-02, 2026-01-04..2026-01-05 (4)'
    >>> describe_keys([f"2026-01-0{d}" for d in (1, 3, 5, 6, 8, 9)], days)
    '2026-01-01, 2026-01-03, 2026-01-05..2026-01-06, +2 more (6)'
    """
    if len(keys) <= SHOWN_KEYS:
        return ", ".join(keys)
    runs = order.runs(keys)
    shown = [
        keys[start] if n == 1 else f"{keys[start]}..{keys[start + n - 1]}"
        for start, n in runs[:SHOWN_RUNS]
    ]
    if len(runs) > SHOWN_RUNS:
        start, n = runs[SHOWN_RUNS - 1]
        shown.append(f"+{len(keys) - (start + n)} more")
    return f"{', '.join(shown)} ({len(keys)})"
