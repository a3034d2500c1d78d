"""Partitioned models found up to date, remembered by the digest of what decided it.

A plan finds a built partition up to date by computing the data version a build would
record now and comparing it with the one recorded (compiler/versions.py): one SHA-256 per
built partition, most of the plan of a project whose partitions are all built. The versions
of a model's partitions are a function of its own version (``sql_hash``), the keys being
judged and, for each upstream, that upstream's version (unpartitioned) or its partitions'
versions and the mapping that reads them. When every recorded partition of a model was
found up to date, a digest of those inputs and of the versions recorded is kept per model
in ``.teal/cache/verified.pickle``; a later plan with the same digest knows the answer.

Like every cache here it is keyed by content, never by time, holds one digest per model,
and deleting it is always safe. Only inputs that do not depend on the clock make a digest
(see :meth:`compiler.versions.DataVersions.inputs_digest`).
"""

from __future__ import annotations

import pickle
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.replaced_files import replace_with
from teal.compiler.snapshot import compiler_fingerprint

if TYPE_CHECKING:
    from teal.compiler.config import ProjectConfig
    from teal.compiler.partitions import PartitionMapping, Partitions

FILE = "verified.pickle"
VERSION = 1


class VerifiedVersions:
    """Model -> the digest under which all its recorded partitions were up to date, as read
    from ``path``; :meth:`save` writes it back when a plan added to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._compiler = compiler_fingerprint()  # read once: checked on load, kept on save
        self._digests: dict[str, bytes] = {}
        self._changed = False
        try:
            with path.open("rb") as fh:
                stored = pickle.load(fh)
            # made by this teal's compiler only: another may compute versions otherwise
            if isinstance(stored, dict) and (stored.get("version"), stored.get("compiler")) == (
                VERSION,
                self._compiler,
            ):
                self._digests = dict(stored["digests"])
        except Exception:  # noqa: BLE001 - none yet, or unreadable: nothing known
            self._digests = {}

    @classmethod
    def of_project(cls, cfg: ProjectConfig) -> VerifiedVersions | None:
        """The file of ``cfg``'s project; None for a project made in memory."""
        if cfg.config_path.name.startswith("<"):
            return None
        return cls(cfg.root / ".teal" / "cache" / FILE)

    def known(self, model: str, digest: bytes) -> bool:
        """Whether ``model``'s partitions were found up to date under ``digest``."""
        return self._digests.get(model) == digest

    def add(self, model: str, digest: bytes) -> None:
        """Remember that ``model``'s partitions were all up to date under ``digest``."""
        if self._digests.get(model) != digest:
            self._digests[model] = digest
            self._changed = True

    def save(self, models: Collection[str]) -> None:
        """Write what this plan added (entries of models no longer in ``models`` dropped),
        atomically; a cache that cannot be written is not an error."""
        if not self._changed:
            return
        kept = {m: d for m, d in self._digests.items() if m in models}
        try:
            replace_with(
                self.path,
                pickle.dumps(
                    {"version": VERSION, "compiler": self._compiler, "digests": kept},
                    pickle.HIGHEST_PROTOCOL,
                ),
            )
            self._changed = False
        except OSError:
            return


def described_mapping(
    mapping: PartitionMapping | None, definition: Partitions | None, up_def: Partitions | None
) -> str | None:
    """How a model reads a partitioned upstream (``mapping``, None: the same key), for an
    inputs digest: None when the keys it maps to may depend on the clock (``all``, or a
    mapping between other than two time definitions)."""
    from teal.compiler.partitions import (
        IdentityMapping,
        LookbackMapping,
        TimePartitions,
        TimeWindowMapping,
    )

    if mapping is None:
        return "same key"
    if isinstance(mapping, (IdentityMapping, LookbackMapping, TimeWindowMapping)) and all(
        isinstance(d, TimePartitions) for d in (definition, up_def)
    ):
        return f"{mapping!r} {definition!r} {up_def!r}"
    return None
