"""Data versions: what a model's data, or one partition's, was computed from.

A model's data version is a hash of its own version (``sql_hash``: its SQL or function
source, its config and, for Python assets, the project's vars) and the data versions of
everything it reads: an unpartitioned upstream as a whole, a partitioned upstream through
the partitions its partition mapping reads (also through views: compiler/view_partitions.py).
Every successful build records the version it computed beside the data, in the same
transaction (``teal.builds`` / ``teal.partitions``).

A partition is *stale* when the version it would be built with now differs from the one
recorded with it: its code, config or vars changed, or an upstream it reads now holds
different data (rebuilt from changed code or inputs, or rebuilt partitions that map onto
it). ``teal build`` rebuilds stale partitions; ``teal partitions`` reports them. Like
Dagster's logical versions, this assumes a model computes the same data from the same code
and inputs: an upstream rebuilt unchanged does not make its readers stale. Local file
sources are inputs too, versioned by their files' stats (compiler/source_versions.py).
Other data that changes outside teal (a warehouse table, files on object storage, an API
a Python asset calls, or what a Python asset makes of its run config) is not seen: rebuild
such partitions, and what reads them, by asking for them (``-s model+ --partition``,
``teal backfill``).

Records written before teal recorded versions have none: such a partition is taken as up to
date (nothing says otherwise), and an upstream without one stands for its build time.

A failed attempt at a partition rolls back, leaving the rows of its last success in place;
its record carries that success's version, which is what its readers see: a failure does
not make them stale (a failed partition never built has none, and reads as missing).
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import repeat
from typing import TYPE_CHECKING

from teal.compiler.planned_versions import PlannedVersions
from teal.compiler.source_versions import SourceVersions
from teal.compiler.stale_reasons import stale_reasons
from teal.compiler.view_partitions import ThroughViews

if TYPE_CHECKING:
    from teal.compiler.partition_records import PartitionRecords
    from teal.compiler.partitions import Partitions
    from teal.compiler.plan import PlanState
    from teal.compiler.project import Project
    from teal.compiler.stale_reasons import Evidence
    from teal.compiler.verified_versions import VerifiedVersions

MISSING = "missing"
# a partition mapping that reads the same key upstream (the same definition, no mapping)
SAME_KEY = object()


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


class DataVersions:
    """Data versions of one project against one warehouse state, as a plan goes: what a
    step will build is registered with :meth:`building` / :meth:`building_partitions`, so
    its readers see the versions the plan will leave, not the ones recorded before it.

    The versions of the partitions a step builds are computed when first read (a plan of
    everything that is missing lists hundreds of thousands, and ``teal plan`` prints only
    their counts): by :class:`~teal.compiler.planned_versions.PlannedVersions`, or by a reader's version or staleness.
    Steps register in build order, so a model's upstreams are registered before anything
    reads it, and a version computed later is the one computed at registration."""

    def __init__(
        self,
        project: Project,
        state: PlanState,
        now: datetime | None = None,
        verified: VerifiedVersions | None = None,
    ) -> None:
        self.project = project
        self.state = state
        self.now = now
        self.verified = verified  # models found up to date by earlier plans, by digest
        self._built: dict[str, str] = {}  # unpartitioned models this plan builds
        # partitioned models this plan builds: the keys registered, as a set once looked
        # up, and (once computed) the version of each
        self._planned_keys: dict[str, tuple[str, ...]] = {}
        self._planned_sets: dict[str, frozenset[str]] = {}
        self._built_parts: dict[str, dict[str, str]] = {}
        # models whose versions, and everything they read, are computed (see _force)
        self._settled: set[str] = set()
        self._lock = threading.RLock()  # an executor's threads may read versions at once
        self._whole: dict[str, str] = {}  # partitioned models' whole versions, as known
        # partitioned models' key -> version as readers see it, made once per model read
        self._seen: dict[str, dict[str, str]] = {}
        self._seen_digests: dict[str, str] = {}  # a digest of each _seen, made once
        self._mappings: dict[tuple[str, str], object] = {}
        # model -> its upstreams, sorted, each with whether it is partitioned
        self._upstreams: dict[str, tuple[tuple[str, bool], ...]] = {}
        self._position: dict[str, int] | None = None  # model -> place in build order
        self._views: dict[str, str] = {}  # views not built by this plan: their versions
        self.sources = SourceVersions(project)  # the file sources' versions, listed once
        self.through = ThroughViews(self)  # partitioned models read through views
        self._standing: DataVersions | None = None  # as_it_stands(), once asked for

    # what a plan will build -------------------------------------------------------------

    def building(self, name: str, version: str) -> None:
        self._built[name] = version
        self._views.pop(name, None)

    def building_partitions(self, name: str, keys: Sequence[str]) -> PlannedVersions:
        """Register that the plan builds ``keys`` of ``name``: their versions, computed
        when first read, in the order of ``keys``."""
        keys = tuple(keys)
        before = self._planned_keys.get(name)
        self._planned_keys[name] = (
            keys if before is None else tuple(dict.fromkeys((*before, *keys)))
        )
        self._planned_sets.pop(name, None)
        self._built_parts.pop(name, None)
        self._seen.pop(name, None)
        self._seen_digests.pop(name, None)
        self._settled.discard(name)
        self._whole.pop(name, None)
        return PlannedVersions(self, name, keys)

    def is_planned(self, name: str, key: str) -> bool:
        """Whether the plan builds partition ``key`` of ``name``."""
        if name not in self._planned_keys:
            return False
        found = self._planned_sets.get(name)
        if found is None:
            found = self._planned_sets[name] = frozenset(self._planned_keys[name])
        return key in found

    def planned_version(self, name: str, key: str) -> str:
        """The version a planned partition records (``key`` registered for ``name``)."""
        found = self._built_parts.get(name)
        if found is None:
            self._force(name)
            found = self._built_parts[name]
        return found[key]

    def _force(self, name: str) -> None:
        """Compute the versions of every planned partition of ``name``, and first of every
        planned model it reads, directly or not, in build order: each one then finds what
        it reads computed (no recursion through a long chain of models)."""
        with self._lock:
            if name in self._built_parts:
                return
            models = self.project.models
            seen: set[str] = set()
            stack = [name]
            while stack:
                current = stack.pop()
                if current in seen or current in self._settled:
                    continue
                seen.add(current)
                stack.extend(models[current].upstreams)
            if self._position is None:
                self._position = {m: i for i, m in enumerate(self.project.dag.order())}
            position = self._position
            for model in sorted(
                (m for m in seen if m in self._planned_keys and m not in self._built_parts),
                key=lambda m: position.get(m, -1),
            ):
                keys = self._planned_keys[model]
                self._built_parts[model] = dict(zip(keys, self.expected_partitions(model, keys)))
            self._settled.update(seen)

    # versions as they stand after what is registered -------------------------------------

    def current(self, name: str) -> str:
        """The version of ``name``'s data as a whole, as its readers will see it."""
        model = self.project.models[name]
        if model.materialized == "ephemeral":  # inlined: computed wherever it is read
            return self.expected(name)
        if model.partitions is not None:
            found = self._whole.get(name)
            if found is None:
                keys = model.partitions.keys(self.now)
                found = _digest([f"{k}={self.partition(name, k)}" for k in keys])
                self._whole[name] = found
            return found
        if name in self._built:
            return self._built[name]
        rec = self.state.models.get(name)
        if rec is None:
            return MISSING
        if model.materialized == "view" and rec.data_version:
            return self._view_version(name)
        return rec.data_version or f"built at {rec.finished_at}"

    def _view_version(self, name: str) -> str:
        """A view holds no data: its readers see its code over what its upstreams hold now,
        so a table rebuilt under it changes what they read. Its version is computed as a
        build of it would compute it (the same value when nothing under it changed), with
        the code it was built with when that is not its code now.

        Kept once computed: registration runs in build order, so nothing registered later
        is upstream of a view already read. Computed upstreams first, without recursion (a
        chain of views is as long as the project is deep)."""
        found = self._views.get(name)
        if found is not None:
            return found
        models, state = self.project.models, self.state.models
        stack = [name]
        while stack:
            current = stack[-1]
            model = models[current]
            waiting = [
                up
                for up in model.upstreams
                if up not in self._views
                and up not in self._built
                and models[up].materialized == "view"
                and models[up].partitions is None
                and (rec := state.get(up)) is not None
                and rec.data_version
            ]
            if waiting:
                stack.extend(waiting)
                continue
            stack.pop()
            if current in self._views:
                continue
            rec = state[current]
            code = model.sql_hash if rec.sql_hash == model.sql_hash else rec.sql_hash
            parts = [code, *(f"{up}={self.current(up)}" for up in sorted(model.upstreams))]
            self._views[current] = _digest([*parts, *self.sources.parts(current)])
        return self._views[name]

    def partition(self, name: str, key: str) -> str:
        """The version of one partition of ``name``, as its readers will see it."""
        if self.is_planned(name, key):
            return self.planned_version(name, key)
        return self._recorded(name, key)

    def _recorded(self, name: str, key: str) -> str:
        """The version of partition ``key`` of ``name`` as recorded (before this plan)."""
        rec = self._records(name).get(key)
        if rec is None:
            return MISSING
        if rec.get("status") != "success":  # the rows a failed attempt left (or none)
            return str(rec.get("data_version") or MISSING)
        return str(rec.get("data_version") or f"built at {rec.get('finished_at')}")

    def _seen_versions(self, name: str) -> dict[str, str]:
        """Key -> :meth:`partition` of every partition of ``name`` that has a version (the
        others are MISSING), made once: many readers share one upstream."""
        found = self._seen.get(name)
        if found is None:
            records = self._records(name)
            found = {
                key: version or f"built at {records[key]['finished_at']}"
                for key, status, version in records.columns("status", "data_version")
                if status == "success" or version  # a failed attempt: the rows it left
            }
            if name in self._planned_keys:
                self._force(name)
                found.update(self._built_parts[name])
            self._seen[name] = found
        return found

    # what a build now would record --------------------------------------------------------

    def expected(self, name: str) -> str:
        """The version an (unpartitioned) build of ``name`` now computes."""
        model = self.project.models[name]
        parts = [model.sql_hash]
        parts.extend(f"{up}={self.current(up)}" for up in sorted(model.upstreams))
        return _digest([*parts, *self.sources.parts(name)])

    def _sorted_upstreams(self, name: str) -> tuple[tuple[str, bool], ...]:
        ups = self._upstreams.get(name)
        if ups is None:
            models = self.project.models
            ups = self._upstreams[name] = tuple(
                (up, models[up].partitions is not None) for up in sorted(models[name].upstreams)
            )
        return ups

    def expected_partitions(self, name: str, keys: Sequence[str]) -> list[str]:
        """:meth:`expected_partition` of each of ``keys``, made together: what does not
        depend on the key once, each upstream's versions read from one dict."""
        columns: list[Iterable[str]] = [keys]  # per key: the key, then a part per upstream
        views = self.through.views.read_by(name)
        for up, partitioned in self._sorted_upstreams(name):
            if not partitioned:  # read whole, or through views (compiler/view_partitions.py)
                reach = views.get(up)
                columns.append(
                    self.through.parts(name, reach, keys)
                    if reach
                    else repeat(f"{up}={self.current(up)}")
                )
                continue
            seen = self._seen_versions(up).get
            if self._mapping(name, up) is SAME_KEY:
                columns.append([f"{up}={k}:{seen(k, MISSING)}" for k in keys])
                continue
            columns.append(
                [
                    up
                    + "="
                    + ",".join(f"{k}:{seen(k, MISSING)}" for k in self.upstream_keys(name, up, key))
                    for key in keys
                ]
            )
        columns.extend(map(repeat, self.sources.parts(name)))
        # _digest of each key's parts, with the loops in C but for hexdigest (the
        # upstreams' repeat() is endless: zip stops with the keys)
        texts = map("\x1f".join, zip(repeat(self.project.models[name].sql_hash), *columns))
        return [h.hexdigest()[:16] for h in map(hashlib.sha256, map(str.encode, texts))]

    def expected_partition(self, name: str, key: str) -> str:
        """The version a build of partition ``key`` of ``name`` now computes."""
        return self.expected_partitions(name, [key])[0]

    def upstream_keys(self, name: str, up: str, key: str) -> list[str]:
        """The partitions of partitioned upstream ``up`` that partition ``key`` reads."""
        mapping = self._mapping(name, up)
        if mapping is SAME_KEY:
            return [key]
        from teal.compiler.partitions import upstream_keys

        definition: Partitions = self.project.models[name].partitions
        up_def: Partitions = self.project.models[up].partitions
        return upstream_keys(mapping, definition, up_def, key, now=self.now)  # type: ignore[arg-type]

    def _mapping(self, name: str, up: str) -> object:
        """How ``name`` reads partitioned upstream ``up``: SAME_KEY, or a resolved mapping."""
        mapping = self._mappings.get((name, up))
        if mapping is not None:
            return mapping
        from teal.compiler.partition_sql import resolve_mapping

        model = self.project.models[name]
        definition: Partitions = model.partitions
        up_def: Partitions = self.project.models[up].partitions
        spec = (model.config.get("partition_mapping") or {}).get(up)
        # the same definition and no mapping: each key reads the same key upstream
        if spec is None and up_def == definition:
            mapping = SAME_KEY
        else:
            mapping = resolve_mapping(spec, definition, up_def)
        self._mappings[(name, up)] = mapping
        return mapping

    def stale(self, name: str, keys: Iterable[str] | None = None) -> dict[str, str]:
        """:meth:`why_stale` of each of ``keys`` (default: every recorded key) that is
        stale, their versions computed together (:meth:`expected_partitions`); up-to-date
        keys are left out."""
        recorded = {
            key: version
            for key, status, version in self._records(name).columns("status", "data_version")
            if status == "success" and version
        }
        if keys is not None:
            recorded = {key: recorded[key] for key in keys if key in recorded}
        return self.stale_among(name, recorded)

    def stale_among(self, name: str, recorded: Mapping[str, str]) -> dict[str, str]:
        """:meth:`stale` of built partitions given as key -> the version recorded with it.
        A model an earlier plan found wholly up to date under the same inputs
        (:meth:`inputs_digest`) is not computed again."""
        opened = self._open_when_built(name, recorded)
        verified = self.verified
        digest = self.inputs_digest(name, recorded) if verified is not None and recorded else None
        if digest is not None and verified is not None and verified.known(name, digest):
            return opened
        now = {
            key: version
            for (key, before), version in zip(
                recorded.items(), self.expected_partitions(name, list(recorded)), strict=True
            )
            if before != version
        }
        stale = stale_reasons(self, name, list(now), now)
        if digest is not None and verified is not None and not stale:
            verified.add(name, digest)
        return {**stale, **opened}

    def _open_when_built(self, name: str, keys: Iterable[str]) -> dict[str, str]:
        """The keys of ``keys`` built before their window closed (see _built_while_open);
        nothing to look at unless the model builds its current window (``end_offset``)."""
        if not self._builds_open_windows(name):
            return {}
        records = self._records(name)
        finished = {
            key: when for key, when in records.columns("finished_at") if isinstance(when, datetime)
        }
        ordered = sorted(k for k in keys if k in finished)  # time keys sort by their start
        if not ordered:
            return {}
        earliest = _naive_utc(min(finished[k] for k in ordered))
        definition = self.project.models[name].partitions
        assert definition is not None
        # only a window that ended after the earliest build can have been built open:
        # found by bisection, not by computing every recorded key's window
        first = bisect.bisect_left(
            ordered, True, key=lambda k: _naive_utc(definition.window(k)[1]) > earliest
        )
        return {
            key: "stale (built before its window closed)"
            for key in ordered[first:]
            if self._built_while_open(name, key, finished[key])
        }

    def _builds_open_windows(self, name: str) -> bool:
        from teal.compiler.partitions import time_partitions

        time = time_partitions(self.project.models[name].partitions)
        return time is not None and bool(time.end_offset)

    def inputs_digest(self, name: str, recorded: Mapping[str, str]) -> bytes | None:
        """A digest of everything :meth:`expected_partitions` of ``recorded``'s keys reads,
        and of the recorded versions: equal digests, equal answers. None when an input is
        not settled by content: an upstream this plan rebuilds partitions of, or a mapping
        whose keys may depend on the clock (``all``, or one between other than two time
        definitions)."""
        from teal.compiler.verified_versions import described_mapping

        models = self.project.models
        parts = [models[name].sql_hash, str(len(recorded)), "\x1e".join(recorded)]
        parts.append("\x1e".join(recorded.values()))
        views = self.through.views.read_by(name)
        for up, partitioned in self._sorted_upstreams(name):
            if not partitioned:  # read whole, or through views (compiler/view_partitions.py)
                part = self.through.inputs(name, views[up]) if up in views else None
                if up in views and part is None:
                    return None
                parts.append(part or f"{up}={self.current(up)}")
                continue
            if up in self._planned_keys:
                return None
            mapping = self._mapping(name, up)
            how = described_mapping(
                None if mapping is SAME_KEY else mapping,  # type: ignore[arg-type]
                models[name].partitions,
                models[up].partitions,
            )
            if how is None:
                return None
            parts.append(f"{up} {how} {self._seen_digest(up)}")
        parts.extend(self.sources.parts(name))
        return hashlib.sha256("\x1f".join(parts).encode()).digest()[:16]

    def _seen_digest(self, name: str) -> str:
        """A digest of :meth:`_seen_versions` of ``name``, made once."""
        seen = self._seen_digests.get(name)
        if seen is None:
            versions = self._seen_versions(name)
            text = (
                f"{len(versions)}\x1d"
                + "\x1e".join(versions)
                + "\x1d"
                + "\x1e".join(versions.values())
            )
            seen = self._seen_digests[name] = hashlib.sha256(text.encode()).hexdigest()
        return seen

    def _records(self, name: str) -> PartitionRecords:
        from teal.compiler.partition_records import NO_RECORDS

        found: PartitionRecords = self.state.partitions.get(name, NO_RECORDS)
        return found

    def why_stale(self, name: str, key: str) -> str | None:
        """Why built partition ``key`` of ``name`` must be rebuilt, or None when it is up to
        date (or was recorded before versions were)."""
        rec = self._records(name).get(key)
        if rec is None or rec.get("status") != "success" or not rec.get("data_version"):
            return None
        if self._built_while_open(name, key, rec.get("finished_at")):
            return "stale (built before its window closed)"
        now = self.expected_partition(name, key)
        if rec["data_version"] == now:
            return None
        return stale_reasons(self, name, [key], {key: now})[key]

    def _built_while_open(self, name: str, key: str, finished_at: object) -> bool:
        """Whether time partition ``key`` (of a model whose ``end_offset`` builds the
        current window) was built before its window ended, which it now has: it holds
        part of its data only."""
        definition = self.project.models[name].partitions
        if not self._builds_open_windows(name) or definition is None:
            return False
        if self.now is None or not isinstance(finished_at, datetime):
            return False
        end = _naive_utc(definition.window(key)[1])
        return _naive_utc(finished_at) < end <= _naive_utc(self.now)

    def _changed_after(self, name: str, when: object, evidence: Evidence = "all") -> bool:
        """Whether unpartitioned ``name`` is rebuilt by this plan with other data, or (by
        ``evidence``, compiler/stale_reasons.py) was after ``when``; for a view or an
        ephemeral model, also anything it reads through them, or partitions of what it
        reads (a view shows its upstreams' data as it is now)."""
        models = self.project.models
        stack, seen = [name], set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if models[current].partitions is not None:
                if self.rebuilds_anew(current) or (
                    evidence != "plan"
                    and any(
                        when is not None and at is not None and at > when
                        for _, at in self._records(current).columns("finished_at")
                    )
                ):
                    return True
                continue
            looked_through = models[current].materialized in ("view", "ephemeral")
            if self._builds_anew(current):
                return True
            # a view made again since is only data written since in "all"
            since = evidence == "all" or (evidence == "data" and not looked_through)
            if since and self._rebuilt_after(current, None, when):
                return True
            if looked_through:
                if evidence != "plan" and self.sources.changed_after(current, when) is not None:
                    return True
                stack.extend(models[current].upstreams)
        return False

    def rebuilds_anew(self, name: str, key: str | None = None) -> bool:
        """Whether this plan builds partition ``key`` (None: any partition) of partitioned
        ``name`` with another version than the one its readers see now."""
        if name not in self._planned_keys or (key is not None and not self.is_planned(name, key)):
            return False
        self._force(name)
        planned = self._built_parts[name]
        return any(
            planned[k] != self._recorded(name, k) for k in ([key] if key is not None else planned)
        )

    def registered_under(self, name: str) -> bool:
        """Whether the plan has registered (so far) something it builds that ``name``
        reads, directly or not."""
        if not self._built and not self._planned_keys:
            return False
        ancestors = self.project.dag.ancestors(name)
        return any(m in ancestors for m in (*self._built, *self._planned_keys))

    def as_it_stands(self) -> DataVersions:
        """These versions with nothing registered: what a build computes from the warehouse
        as it stands (views by the code they were made with), for the stale reasons."""
        with self._lock:
            if self._standing is None:
                self._standing = DataVersions(self.project, self.state, self.now)
                self._standing.sources = self.sources  # listed once per plan
            return self._standing

    def _builds_anew(self, name: str) -> bool:
        """Whether this plan builds unpartitioned ``name`` with another version than the
        one recorded with it: an upstream the plan rebuilds unchanged (a view made again
        over the same data) is not why a reader is stale."""
        version = self._built.get(name)
        if version is None:
            return False
        rec = self.state.models.get(name)
        return rec is None or rec.data_version != version

    def _rebuilt_after(self, name: str, key: str | None, when: object) -> bool:
        if key is None:
            rec = self.state.models.get(name)
            return rec is not None and when is not None and rec.finished_at > when  # type: ignore[operator]
        part = self._records(name).get(key)
        return bool(part and when is not None and part.get("finished_at") > when)


def _naive_utc(value: datetime) -> datetime:
    """``value`` as naive UTC (the run store's times are naive UTC already)."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
