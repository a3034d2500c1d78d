"""The build of an unpartitioned incremental model: which engine call makes it.

The first build (or one with ``--full-refresh``, or of a model that was a view before) is
a full table build; later ones append or upsert the rows of the model's
``is_incremental()`` variant, by its strategy and ``unique_key``. A partitioned model's
partitions are built by runtime/partition_steps.py instead.
"""

from __future__ import annotations

from teal.compiler.plan import Step
from teal.compiler.project import Model
from teal.warehouse.engine import Audit, BuildTarget, Built, EngineCursor


def build_incremental(
    cur: EngineCursor,
    step: Step,
    model: Model,
    target: BuildTarget,
    audit: Audit | None = None,
) -> Built:
    """Build ``model``'s step on ``cur``, in the transaction the caller holds."""
    if step.full_refresh or cur.relation_kind(target) != "table":
        return cur.build_table(target, step.sql or "", audit=audit)
    sql = model.incremental_sql or step.sql or ""
    if model.strategy == "append":
        return cur.incremental_append(target, sql, audit=audit)
    return cur.incremental_upsert(
        target,
        sql,
        model.unique_key,
        audit=audit,
        predicates=model.incremental_predicates,
        one_row_per_key=model.strategy == "merge",
    )
