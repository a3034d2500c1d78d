"""``teal partitions MODEL``: the status of every partition, from the warehouse's state.

- ``materialized``: built successfully, and nothing it reads changed since;
- ``stale``: built, but an upstream partition (or an unpartitioned upstream) it reads was
  rebuilt after it;
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
    from teal.compiler.partition_sql import resolve_mapping
    from teal.compiler.partitions import upstream_keys

    model = project.model(name)
    if model.partitions is None:
        raise ProjectError(
            f"model '{name}' is not partitioned",
            path=model.display_path,
            hint="teal ls -s partitioned:true lists the partitioned models",
        )
    own = state.partitions.get(name, {})
    ups = []
    for up in model.upstreams:
        up_model = project.models[up]
        mapping = resolve_mapping(
            (model.config.get("partition_mapping") or {}).get(up),
            model.partitions,
            up_model.partitions,
        )
        ups.append((up, up_model.partitions, mapping))
    rows = []
    for key in model.partitions.keys(now):
        rec = own.get(key)
        status, note = "missing", None
        if rec is not None and rec["status"] != "success":
            status, note = "failed", (rec.get("message") or "").splitlines()[0][:80] or None
        elif rec is not None:
            status = "materialized"
            for up, up_def, mapping in ups:
                if up_def is None:
                    built = state.models.get(up)
                    if built is not None and built.finished_at > rec["finished_at"]:
                        status, note = "stale", f"{up} rebuilt after it"
                        break
                    continue
                up_state = state.partitions.get(up, {})
                newer = [
                    k
                    for k in upstream_keys(mapping, model.partitions, up_def, key, now=now)
                    if k in up_state
                    and up_state[k]["status"] == "success"
                    and up_state[k]["finished_at"] > rec["finished_at"]
                ]
                if newer:
                    status, note = "stale", f"{up} partition {newer[0]} rebuilt after it"
                    break
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
