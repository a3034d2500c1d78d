"""``teal partitions MODEL``: the status of every partition, from the warehouse's state.

- ``materialized``: built successfully, and nothing it reads changed since;
- ``stale``: built, but from code, config, vars or upstream data that changed since (the
  data versions of compiler/versions.py), or reading a view whose code changed since,
  made again or not yet (as ``teal plan`` judges it): ``teal build`` rebuilds it;
- ``failed``: the last attempt failed;
- ``missing``: never built.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from teal.compiler.errors import ProjectError
from teal.compiler.plan import PlanState
from teal.compiler.project import Project


def partition_report(
    project: Project, state: PlanState, name: str, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One row per partition of ``name`` (key, status, rows, built_at, note); ``now`` is
    the clock ``teal build`` plans with, so both list the same keys."""
    from teal.compiler.partition_records import NO_RECORDS
    from teal.compiler.versions import DataVersions
    from teal.compiler.view_partitions import views_as_built

    model = project.model(name)
    if model.partitions is None:
        raise ProjectError(
            f"model '{name}' is not partitioned",
            path=model.display_path,
            hint="teal ls -s partitioned:true lists the partitioned models",
        )
    own = state.partitions.get(model.name, NO_RECORDS)
    keys = model.partitions.keys(now)
    versions = DataVersions(project, state, now)
    views_as_built(versions, model.name)  # an edited view as teal plan judges it
    stale = versions.stale(model.name, keys)  # made together
    rows = []
    for key in keys:
        rec = own.get(key)
        status, note = "missing", None
        if rec is not None and rec["status"] != "success":
            status, note = "failed", (rec.get("message") or "").splitlines()[0][:80] or None
        elif rec is not None:
            status = "materialized"
            why = stale.get(key)
            if why is not None:
                status, note = "stale", why.removeprefix("stale (").removesuffix(")")
        rows.append(
            {
                "key": key,
                "status": status,
                "rows": rec.get("rows") if rec else None,
                "built_at": rec.get("finished_at") if rec else None,
                "run_id": rec.get("run_id") if rec else None,
                "note": note,
            }
        )
    return rows
