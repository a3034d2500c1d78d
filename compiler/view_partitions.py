"""Partitioned upstreams read through views: versions that look through them.

The standard dbt layout puts a view between a partitioned table and what reads it: a daily
``events`` table, a staging view ``stg_events`` (``select ... from events``) and a daily
mart reading ``stg_events`` and filtering itself with ``partition.start``/``end``. A view
is unpartitioned, and its version as a whole (``DataVersions.current``) digests every
partition of ``events``: read as a whole, one new or rebuilt day of ``events`` would make
every partition of the mart stale, and a plain build would rebuild a year for a day.

A view (or an ephemeral model) holds no data, so a partitioned model reading one reads what
is under it. Here the version of its partition ``k`` includes, for each view it reads that
shows partitioned models (directly or through more views and ephemeral models), the
versions of the partitions of those models that ``k`` maps onto, as if it read them
directly, beside the code of the views passed and the versions of the unpartitioned models
under them (read whole, as before). The mapping is the one the reader would get for the
partitioned model: its ``partition_mapping`` entry naming the view it reads (which applies
to every partitioned model under it), else one naming the model itself, else the default
between the two definitions. A view reaching no partitioned model, and every unpartitioned
reader, keep the whole-view version: their versions are computed as before.

:class:`ViewPartitions` finds once per plan which views a model reads that way (almost
always none: a model without one does no new work per partition); :class:`ThroughViews`
computes the versions' parts, the inputs of the verified-versions digest, the keys read and
why a partition is stale, for :class:`~teal.compiler.versions.DataVersions`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teal.compiler.partitions import PartitionMapping
    from teal.compiler.project import Project
    from teal.compiler.stale_reasons import Evidence
    from teal.compiler.versions import DataVersions

# the materializations that hold no data of their own: their readers read what they read
LOOKED_THROUGH = frozenset({"view", "ephemeral"})
_NOWHERE: Mapping[str, ViewReach] = {}


@dataclass(frozen=True)
class ViewReach:
    """What a view, or an ephemeral model, shows its readers, looked through."""

    view: str  # the view (or ephemeral model) the reader names
    through: tuple[str, ...]  # it and the views and ephemeral models under it, sorted
    partitioned: tuple[str, ...]  # the partitioned models they read, sorted (never empty)
    whole: tuple[str, ...]  # the other models they read, read whole, sorted


class ViewPartitions:
    """Which views each model reads partitioned models through, found once per plan from
    the project's graph alone."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._reach: dict[str, ViewReach | None] = {}
        self._read_by: dict[str, Mapping[str, ViewReach]] = {}

    def read_by(self, reader: str) -> Mapping[str, ViewReach]:
        """View -> :class:`ViewReach` of each view (or ephemeral model) partitioned model
        ``reader`` reads that shows partitioned models; empty for an unpartitioned reader
        and for most others."""
        found = self._read_by.get(reader)
        if found is None:
            model = self.project.models[reader]
            found = _NOWHERE
            if model.partitions is not None:
                reaches = {up: self.reach(up) for up in sorted(model.upstreams)}
                found = {up: r for up, r in reaches.items() if r is not None} or _NOWHERE
            self._read_by[reader] = found
        return found

    def reach(self, view: str) -> ViewReach | None:
        """What ``view`` shows, looked through; None when it is not an unpartitioned view
        or ephemeral model, or no partitioned model is under it."""
        if view in self._reach:
            return self._reach[view]
        models = self.project.models
        found = None
        if _looked_through(self.project, view):
            through, partitioned, whole = {view}, set(), set()
            stack = [view]
            while stack:
                for up in models[stack.pop()].upstreams:
                    if up in through:
                        continue
                    if models[up].partitions is not None:
                        partitioned.add(up)
                    elif _looked_through(self.project, up):
                        through.add(up)
                        stack.append(up)
                    else:
                        whole.add(up)
            if partitioned:
                found = ViewReach(
                    view, tuple(sorted(through)), tuple(sorted(partitioned)), tuple(sorted(whole))
                )
        self._reach[view] = found
        return found

    def reads_through(self, reader: str, up: str) -> tuple[ViewReach, ...]:
        """The views through which ``reader`` reads partitioned model ``up``."""
        return tuple(r for r in self.read_by(reader).values() if up in r.partitioned)


def views_as_built(versions: DataVersions, reader: str) -> None:
    """Register with ``versions`` each view ``reader`` reads (directly, or through other
    views and ephemeral models) whose code is not the code it was made with, as made again
    with its code now, in build order: as the plan of every model makes it.

    A plan registers what it builds, so its readers' versions see the views it makes
    again; ``teal partitions`` plans nothing, and without this would judge a view edited
    but not yet made again by the code it was made with, calling up to date the partitions
    ``teal plan`` calls stale (and ``teal build`` rebuilds). A view holds no data: its code
    now is what a build shows its readers. Tables are not made again here: their data is
    what their readers read until a build rebuilds them.
    """
    project = versions.project
    models, recorded = project.models, versions.state.models
    changed: list[str] = []
    seen: set[str] = set()
    stack = list(models[reader].upstreams)
    while stack:
        name = stack.pop()
        if name in seen or not _looked_through(project, name):
            continue
        seen.add(name)
        stack.extend(models[name].upstreams)
        rec = recorded.get(name)
        if (
            models[name].materialized == "view"
            and rec is not None
            and rec.data_version  # recorded before versions: taken as up to date
            and rec.sql_hash != models[name].sql_hash
        ):
            changed.append(name)
    if changed:
        position = {m: i for i, m in enumerate(project.dag.order())}
        for name in sorted(changed, key=position.__getitem__):
            versions.building(name, versions.expected(name))


def _looked_through(project: Project, name: str) -> bool:
    model = project.models[name]
    return model.partitions is None and model.materialized in LOOKED_THROUGH


class ThroughViews:
    """The parts of :class:`~teal.compiler.versions.DataVersions` that read partitioned
    models through views, for one plan (its caches live as long as the plan's versions).

    The digest of a view's code and of what it reads whole is kept once computed, as
    ``DataVersions`` keeps a view's version: registration runs in build order, so nothing
    registered later is under a view already read."""

    def __init__(self, versions: DataVersions) -> None:
        self.versions = versions
        self.views = ViewPartitions(versions.project)
        self._bases: dict[str, str] = {}
        # (reader, view, partitioned model) -> the mapping, None: the same key
        self._mappings: dict[tuple[str, str, str], PartitionMapping | None] = {}

    def parts(self, reader: str, reach: ViewReach, keys: Sequence[str]) -> list[str]:
        """For each of ``keys`` of ``reader``, the part of its version that stands for
        ``reach.view``: the views' code and what they read whole (one digest), then each
        partitioned model's partitions the key maps onto, with their versions."""
        from teal.compiler.versions import MISSING

        head = f"{reach.view}~{self._base(reach)}"
        columns: list[list[str]] = []
        for up in reach.partitioned:
            seen = self.versions._seen_versions(up).get
            if self._mapping(reader, reach.view, up) is None:
                columns.append([f"|{up}={k}:{seen(k, MISSING)}" for k in keys])
                continue
            columns.append(
                [
                    f"|{up}="
                    + ",".join(f"{k}:{seen(k, MISSING)}" for k in self.keys(reader, reach, up, key))
                    for key in keys
                ]
            )
        return [head + "".join(row) for row in zip(*columns)]

    def inputs(self, reader: str, reach: ViewReach) -> str | None:
        """What :meth:`parts` reads, for ``DataVersions.inputs_digest``: the views' digest
        and, per partitioned model, its mapping, both definitions and a digest of its
        partitions' versions. None when one of those is not settled by content (as for an
        upstream read directly)."""
        from teal.compiler.verified_versions import described_mapping

        models = self.versions.project.models
        parts = [f"{reach.view}~{self._base(reach)}"]
        for up in reach.partitioned:
            if up in self.versions._planned_keys:
                return None
            mapping = self._mapping(reader, reach.view, up)
            how = described_mapping(mapping, models[reader].partitions, models[up].partitions)
            if how is None:
                return None
            parts.append(f"{up} {how} {self.versions._seen_digest(up)}")
        return "\x1e".join(parts)

    def keys(self, reader: str, reach: ViewReach, up: str, key: str) -> list[str]:
        """The partitions of ``up`` (under ``reach.view``) that ``reader``'s ``key`` reads."""
        mapping = self._mapping(reader, reach.view, up)
        if mapping is None:
            return [key]
        from teal.compiler.partitions import upstream_keys

        models = self.versions.project.models
        definition = models[reader].partitions
        assert definition is not None
        return upstream_keys(mapping, definition, models[up].partitions, key, now=self.versions.now)

    def keys_read(self, reader: str, up: str, key: str) -> list[str]:
        """The partitions of partitioned ``up`` that partition ``key`` of ``reader`` reads,
        directly (``DataVersions.upstream_keys``) and through views."""
        versions = self.versions
        found = []
        if up in versions.project.models[reader].upstreams:
            found.extend(versions.upstream_keys(reader, up, key))
        for reach in self.views.reads_through(reader, up):
            found.extend(self.keys(reader, reach, up, key))
        return found

    def why_stale(
        self, reader: str, key: str, reach: ViewReach, when: object, evidence: Evidence = "all"
    ) -> tuple[str | None, str | None]:
        """(why, None) when something under ``reach.view`` that partition ``key`` of
        ``reader`` (built at ``when``) reads changed since, by ``evidence``
        (compiler/stale_reasons.py): the most precise first, a partition it maps onto,
        what the views read whole, a file source, the views' code. Else (None, the
        partitioned model this plan rebuilds a partition of that ``key`` reads, with
        another version, or None)."""
        versions = self.versions
        rebuilt_first = None
        through = f", read through {reach.view}"
        for up in reach.partitioned:
            for k in self.keys(reader, reach, up, key):
                if evidence != "plan" and versions._rebuilt_after(up, k, when):
                    return f"stale (upstream {up} changed{through})", None
                if rebuilt_first is None and versions.rebuilds_anew(up, k):
                    rebuilt_first = up
        for up in reach.whole:
            if versions._changed_after(up, when, evidence):
                return f"stale (upstream {up} changed{through})", None
        for view in reach.through if evidence != "plan" else ():
            source = versions.sources.changed_after(view, when)
            if source is not None:
                return f"stale (source {source} changed)", None
        for view in reach.through:
            if self._code_changed(view, when, evidence):
                via = "" if view == reach.view else through
                return f"stale (upstream {view} changed{via})", None
        return None, rebuilt_first

    def _code_changed(self, view: str, when: object, evidence: Evidence = "all") -> bool:
        """Whether view ``view`` is made again by this plan with other code than it was
        made with, or (``evidence`` "all") was made again after ``when`` (perhaps with
        other code)."""
        versions = self.versions
        rec = versions.state.models.get(view)
        if view in versions._built:
            return rec is None or rec.sql_hash != versions.project.models[view].sql_hash
        return evidence == "all" and versions._rebuilt_after(view, None, when)

    def _base(self, reach: ViewReach) -> str:
        """A digest of the code of the views ``reach`` passes, the file sources they read
        and the versions of the unpartitioned models they read whole."""
        found = self._bases.get(reach.view)
        if found is None:
            versions = self.versions
            parts: list[str] = []
            for view in reach.through:
                parts.append(f"{view}:{self._code(view)}")
                parts.extend(versions.sources.parts(view))
            parts.extend(f"{up}={versions.current(up)}" for up in reach.whole)
            text = "\x1f".join(parts)
            found = self._bases[reach.view] = hashlib.sha256(text.encode()).hexdigest()[:16]
        return found

    def _code(self, view: str) -> str:
        """The code ``view``'s readers see: what this plan makes it with, else what it
        was made with (as ``DataVersions`` computes a view's version)."""
        from teal.compiler.versions import MISSING

        versions = self.versions
        model = versions.project.models[view]
        if model.materialized == "ephemeral" or view in versions._built:
            return model.sql_hash
        rec = versions.state.models.get(view)
        if rec is None:
            return MISSING
        return rec.sql_hash if rec.data_version else f"built at {rec.finished_at}"

    def _mapping(self, reader: str, view: str, up: str) -> PartitionMapping | None:
        """How ``reader`` reads partitioned ``up`` under ``view``: None for the same key,
        else the resolved mapping of the entry naming the view, or ``up``, or the
        default."""
        if (reader, view, up) in self._mappings:
            return self._mappings[(reader, view, up)]
        from teal.compiler.partition_sql import resolve_mapping

        models = self.versions.project.models
        definition, up_def = models[reader].partitions, models[up].partitions
        given = models[reader].config.get("partition_mapping") or {}
        spec = given.get(view, given.get(up))
        mapping = (
            None
            if spec is None and definition == up_def
            else resolve_mapping(spec, definition, up_def)
        )
        self._mappings[(reader, view, up)] = mapping
        return mapping
