"""Snapshots (type-2 slowly changing dimensions) as teal incremental models.

A snapshot's first build selects every row of its query with the four columns dbt adds
(``dbt_scd_id``, ``dbt_updated_at``, ``dbt_valid_from``, ``dbt_valid_to``). Each later
build computes what dbt's snapshot staging table holds: the current rows whose record
changed (closed: ``dbt_valid_to`` set), the new versions and new keys, and with
``hard_deletes: invalidate`` the current rows whose key disappeared (closed). Those rows
are merged into the snapshot on ``dbt_scd_id`` by teal's upsert (delete the matching ids,
insert), in one transaction with the state row, as any incremental model.

Strategies: ``timestamp`` (``updated_at``: a row changed when its ``updated_at`` is newer
than the current version's ``dbt_valid_from``) and ``check`` (``check_cols``: a list, or
``all``; versions are stamped with the time of the build).
"""

from __future__ import annotations

from typing import Any

from teal.compiler.errors import ProjectError

META = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")


def _keys(config: dict[str, Any]) -> list[str]:
    key = config.get("unique_key")
    return [key] if isinstance(key, str) else [str(k) for k in key or []]


def _hash(args: list[str]) -> str:
    parts = " || '|' || ".join(f"coalesce(cast({a} as varchar ), '')" for a in args)
    return f"md5({parts})"


def check_config(config: dict[str, Any], display: str, line: int | None) -> None:
    strategy = config.get("strategy")
    if not _keys(config):
        raise ProjectError(
            "a snapshot needs a unique_key", path=display, line=line, hint="unique_key: id"
        )
    if strategy not in ("timestamp", "check"):
        raise ProjectError(
            f"snapshot strategy {strategy!r} is not timestamp or check",
            path=display,
            line=line,
            hint="strategy: timestamp (with updated_at) or strategy: check (with check_cols)",
        )
    if strategy == "timestamp" and not config.get("updated_at"):
        raise ProjectError(
            "the timestamp strategy needs updated_at",
            path=display,
            line=line,
            hint="updated_at: updated_at",
        )
    if strategy == "check" and not config.get("check_cols"):
        raise ProjectError(
            "the check strategy needs check_cols",
            path=display,
            line=line,
            hint="check_cols: [status] or check_cols: all",
        )
    if config.get("hard_deletes") == "new_record":
        raise ProjectError(
            "hard_deletes: new_record is not supported by teal yet",
            path=display,
            line=line,
            hint="use hard_deletes: invalidate (or ignore)",
        )


def _strategy(config: dict[str, Any], columns: list[str] | None) -> tuple[str, str, str]:
    """(updated_at expression, scd id expression, row-changed predicate)."""
    keys = _keys(config)
    if config.get("strategy") == "timestamp":
        updated = str(config["updated_at"])
        changed = f"(snapshotted_data.dbt_valid_from < source_data.{updated})"
        return updated, _hash([*keys, updated]), changed
    updated = "now()::timestamp"
    cols = config.get("check_cols")
    if cols == "all":
        if columns is None:  # the whole row, as a struct, against the current version's
            return (
                updated,
                _hash([*keys, updated]),
                "(snapshotted_values is distinct from source_data)",
            )
        cols = [c for c in columns if c.lower() not in {k.lower() for k in keys}]
    changed = (
        " or ".join(
            f"(snapshotted_data.{c} is distinct from source_data.{c})" for c in (cols or [])
        )
        or "false"
    )
    return updated, _hash([*keys, updated]), f"({changed})"


def first_build(query: str, config: dict[str, Any], columns: list[str] | None = None) -> str:
    updated, scd, _ = _strategy(config, columns)
    return (
        f"select *,\n    {scd} as dbt_scd_id,\n    {updated} as dbt_updated_at,\n"
        f"    {updated} as dbt_valid_from,\n    nullif({updated}, {updated}) as dbt_valid_to\n"
        f"from (\n{query}\n) as snapshot_query"
    )


def next_build(
    query: str, this: str, config: dict[str, Any], columns: list[str] | None = None
) -> str:
    """The rows to merge on dbt_scd_id: closed versions, new versions, new keys."""
    updated, _, changed = _strategy(config, columns)
    keys = _keys(config)
    stamp = updated if updated.startswith("now()") else f"source_data.{updated}"
    scd = _hash([*(f"source_data.{k}" for k in keys), stamp])
    join = " and ".join(f"snapshotted_data.{k} = source_data.{k}" for k in keys)
    source_key_null = " and ".join(f"source_data.{k} is null" for k in keys)
    snap_key_null = " and ".join(f"snapshotted_data.{k} is null" for k in keys)
    deletes = ""
    if config.get("hard_deletes") == "invalidate" or config.get("invalidate_hard_deletes"):
        deletes = f"""
union all by name
select snapshotted_data.* replace (now()::timestamp as dbt_valid_to)
from snapshotted_data
left join snapshot_query as source_data on {join}
where {source_key_null}"""
    return f"""with snapshot_query as (
{query}
),
snapshotted_data as (
    select * from {this} where dbt_valid_to is null
),
snapshotted_values as (
    select * exclude (dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)
    from snapshotted_data
),
insertions as (
    select source_data.*,
        {scd} as dbt_scd_id,
        {stamp} as dbt_updated_at,
        {stamp} as dbt_valid_from,
        nullif({stamp}, {stamp}) as dbt_valid_to
    from snapshot_query as source_data
    left join snapshotted_data on {join}
    left join snapshotted_values on {join.replace("snapshotted_data.", "snapshotted_values.")}
    where {snap_key_null} or ({changed})
),
updates as (
    select snapshotted_data.* replace ({stamp} as dbt_valid_to)
    from snapshot_query as source_data
    join snapshotted_data on {join}
    join snapshotted_values on {join.replace("snapshotted_data.", "snapshotted_values.")}
    where {changed}
)
select * from insertions
union all by name
select * from updates{deletes}"""
