"""The data versions of the partitions a plan step builds, computed when first read.

``teal plan`` of everything that is missing lists hundreds of thousands of partitions and
prints only their counts, so their versions (compiler/versions.py) are computed on first
read: by a build, ``--json``, or a reader's version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from teal.compiler.versions import DataVersions


class PlannedVersions(Sequence[str]):
    """The data versions of the partitions a step builds, in the order of its keys:
    computed on first read (``teal plan`` prints only counts; ``--json`` and a build read
    them). Equal to, and pickled as, the tuple of those versions."""

    __slots__ = ("_keys", "_name", "_values", "_versions")

    def __init__(self, versions: DataVersions, name: str, keys: tuple[str, ...]) -> None:
        self._versions = versions
        self._name = name
        self._keys = keys
        self._values: tuple[str, ...] | None = None

    def values(self) -> tuple[str, ...]:
        """The versions, computed once."""
        if self._values is None:
            version = self._versions.planned_version
            self._values = tuple(version(self._name, k) for k in self._keys)
        return self._values

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self.values()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PlannedVersions):
            other = other.values()
        if isinstance(other, tuple | list):
            return self.values() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.values())

    def __repr__(self) -> str:
        return repr(self.values())

    def __reduce__(self) -> tuple[type[tuple[str, ...]], tuple[tuple[str, ...]]]:
        return (tuple, (self.values(),))  # a copy or pickle is the plain tuple
