"""Why a built partition is stale: the reason a plan (and ``teal partitions``) gives.

A partition is stale when the version it would be built with now (``DataVersions``, with
what the plan builds registered) differs from the one recorded with it. Its reason names
what differs, in this order: its own code (config, vars), a file source it reads, then an
upstream. Which upstream is decided by a second version, the one a build would compute
from the warehouse as it stands (``DataVersions.as_it_stands``: nothing registered):

- It equals the recorded one: the partition is up to date with what it reads now, and is
  stale only because this plan builds an upstream first with other data. The reason names
  that upstream (``upstream events rebuilt first`` for a partitioned one, ``stale
  (upstream events changed)`` for an unpartitioned one made anew, or a view that shows
  one); an upstream only made again since, unchanged (a view every build makes again, a
  table rebuilt from the same inputs), is not named. A plan of the model alone (``-s
  daily_amount``) then finds it up to date, and says which upstream it does not rebuild
  first (compiler/unselected_upstreams.py): the two plans agree.
- It differs: something the partition reads changed in the warehouse since it was built.
  The state keeps the latest build of each upstream, not the version each had then, so
  the upstream is found by time: data written after the partition (a partition it maps
  onto, a table, a file source, what a view shows) first, then a view only made again
  after it (perhaps with other code), then an upstream this plan rebuilds first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from teal.compiler.versions import DataVersions

# what counts as an upstream's change: only what this plan builds anew ("plan"), also
# data written since ("data"), also views made again since ("all")
Evidence = Literal["plan", "data", "all"]


def stale_reasons(
    versions: DataVersions, name: str, keys: Sequence[str], now: Mapping[str, str]
) -> dict[str, str]:
    """Key -> why built partition ``key`` of ``name`` is stale, for each of ``keys`` (built
    successfully with a version that differs from ``now[key]``, the one a build now
    computes); the versions as the warehouse stands are computed together, for the keys
    that need them (they are ``now``'s while the plan has registered nothing under ``name``)."""
    from teal.compiler.deferral import built_deferring

    if not keys:  # nothing stale (a model never built has no records at all)
        return {}
    records = versions.state.partitions[name]
    model = versions.project.models[name]
    out: dict[str, str] = {}
    upstream: list[str] = []  # keys whose code and file sources are as they were
    for key in keys:
        rec = records[key]
        if rec.get("sql_hash") != model.sql_hash:
            deferring = built_deferring(rec.get("sql_hash"), model.sql_hash)
            out[key] = f"stale ({deferring or 'its code, config or vars changed'})"
            continue
        source = versions.sources.changed_after(name, rec.get("finished_at"))
        if source is not None:
            out[key] = f"stale (source {source} changed)"
            continue
        out[key] = ""  # in key order, said below
        upstream.append(key)
    if upstream:
        standing = (
            versions.as_it_stands().expected_partitions(name, upstream)
            if versions.registered_under(name)
            else [now[key] for key in upstream]
        )
        for key, version in zip(upstream, standing, strict=True):
            rec = records[key]
            when = rec.get("finished_at")
            if version == rec.get("data_version"):  # up to date with the warehouse now
                why, first = _upstream_reason(versions, name, key, when, "plan")
            else:
                why, first = _upstream_reason(versions, name, key, when, "data")
                why = why or _upstream_reason(versions, name, key, when, "all")[0]
            out[key] = why or (
                f"upstream {first} rebuilt first" if first else "stale (what it reads changed)"
            )
    return out


def _upstream_reason(
    versions: DataVersions, name: str, key: str, when: object, evidence: Evidence
) -> tuple[str | None, str | None]:
    """(the reason naming the first upstream, sorted, that changed by ``evidence`` under
    partition ``key`` of ``name`` built at ``when``, or None; a partitioned upstream this
    plan rebuilds a partition of, with another version, that ``key`` reads, or None)."""
    model = versions.project.models[name]
    rebuilt_first = None  # an upstream partition this plan rebuilds: not stale yet
    views = versions.through.views.read_by(name)
    for up in sorted(model.upstreams):
        if up in views:
            why, planned = versions.through.why_stale(name, key, views[up], when, evidence)
            if why is not None:
                return why, None
            rebuilt_first = rebuilt_first or planned
            continue
        if versions.project.models[up].partitions is None:
            if versions._changed_after(up, when, evidence):
                source = None if evidence == "plan" else source_under_view(versions, up, when)
                if source is not None:
                    return f"stale (source {source} changed, read through {up})", None
                return f"stale (upstream {up} changed)", None
            continue
        for k in versions.upstream_keys(name, up, key):
            if evidence != "plan" and versions._rebuilt_after(up, k, when):
                return f"stale (upstream {up} changed)", None
            if rebuilt_first is None and versions.rebuilds_anew(up, k):
                rebuilt_first = up
    return None, rebuilt_first


def source_under_view(versions: DataVersions, view: str, when: object) -> str | None:
    """A file source that view ``view`` shows (itself, or through views under it) with a
    file modified after ``when``, or None (also when ``view`` is no view)."""
    models, stack, seen = versions.project.models, [view], set()
    while stack:
        current = stack.pop()
        if current in seen or models[current].materialized != "view":
            continue
        seen.add(current)
        source = versions.sources.changed_after(current, when)
        if source is not None:
            return source
        stack.extend(models[current].upstreams)
    return None
