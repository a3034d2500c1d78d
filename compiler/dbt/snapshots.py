"""Snapshots (type-2 slowly changing dimensions) as teal incremental models.

A snapshot's first build selects every row of its query with the four columns dbt adds
(``dbt_scd_id``, ``dbt_updated_at``, ``dbt_valid_from``, ``dbt_valid_to``). Each later
build computes what dbt's snapshot staging table holds: the current rows whose record
changed (closed: ``dbt_valid_to`` set), the new versions and new keys, and with
``hard_deletes: invalidate`` the current rows whose key disappeared (closed); with
``new_record`` also a current row per disappeared key marked ``dbt_is_deleted = 'True'``
(a ``'False'``/``'True'`` text column, as dbt's), closed again when the key returns. Those rows
are merged into the snapshot on ``dbt_scd_id`` by teal's upsert (delete the matching ids,
insert), in one transaction with the state row, as any incremental model.

``dbt_valid_to_current`` (an SQL expression, dbt 1.9) is the ``dbt_valid_to`` of current
versions instead of null: a current version is one whose ``dbt_valid_to`` is null or that
value, as dbt reads them (rows snapshotted before the setting keep their null).

Strategies: ``timestamp`` (``updated_at``: a row changed when its ``updated_at`` is newer
than the current version's ``dbt_valid_from``) and ``check`` (``check_cols``: a list, or
``all``; versions are stamped with the time of the build).
"""

from __future__ import annotations

from typing import Any

from teal.compiler.errors import ProjectError, did_you_mean

META = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")
HARD_DELETES = ("ignore", "invalidate", "new_record")


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
    if config.get("snapshot_meta_column_names"):
        raise ProjectError(
            "snapshot_meta_column_names is not supported by teal: its snapshots keep dbt's "
            "column names (dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)",
            path=display,
            line=line,
            hint="remove it, or rename the columns in a model that reads the snapshot",
        )
    hard = config.get("hard_deletes")
    if hard is not None and hard not in HARD_DELETES:
        raise ProjectError(
            f"hard_deletes: {hard!r} is not ignore, invalidate or new_record",
            path=display,
            line=line,
            hint=did_you_mean(str(hard), HARD_DELETES) or "hard_deletes: invalidate",
        )


def _hard_deletes(config: dict[str, Any]) -> str:
    if config.get("hard_deletes"):
        return str(config["hard_deletes"])
    return "invalidate" if config.get("invalidate_hard_deletes") else "ignore"


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


def _open(stamp: str, config: dict[str, Any]) -> str:
    """The dbt_valid_to of a current version: null of the stamp's type, or
    ``dbt_valid_to_current`` as dbt writes it."""
    null = f"nullif({stamp}, {stamp})"
    current = config.get("dbt_valid_to_current")
    return f"coalesce({null}, {current})" if current else null


def first_build(query: str, config: dict[str, Any], columns: list[str] | None = None) -> str:
    updated, scd, _ = _strategy(config, columns)
    flag = ",\n    'False' as dbt_is_deleted" if _hard_deletes(config) == "new_record" else ""
    return (
        f"select *,\n    {scd} as dbt_scd_id,\n    {updated} as dbt_updated_at,\n"
        f"    {updated} as dbt_valid_from,\n    {_open(updated, config)} as dbt_valid_to"
        f"{flag}\nfrom (\n{query}\n) as snapshot_query"
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
    hard = _hard_deletes(config)
    new_record = hard == "new_record"
    current = config.get("dbt_valid_to_current")
    is_current = (
        f"(dbt_valid_to is null or dbt_valid_to = {current})"
        if current
        else ("dbt_valid_to is null")
    )
    # new_record: a key whose current row is a deletion marker is new again when it returns
    if new_record:
        changed = f"({changed} or snapshotted_data.dbt_is_deleted = 'True')"
    flag = ",\n        'False' as dbt_is_deleted" if new_record else ""
    meta = ", ".join([*META, *(["dbt_is_deleted"] if new_record else [])])
    deletes = ""
    if hard in ("invalidate", "new_record"):
        live = " and snapshotted_data.dbt_is_deleted is distinct from 'True'" if new_record else ""
        deletes = f"""
union all by name
select snapshotted_data.* replace (now()::timestamp as dbt_valid_to)
from snapshotted_data
left join snapshot_query as source_data on {join}
where {source_key_null}{live}"""
    if new_record:  # and a current row saying the key was deleted, with its last values
        marker = _hash(["snapshotted_data.dbt_scd_id", "now()::timestamp"])
        deletes += f"""
union all by name
select snapshotted_data.* replace (
    now()::timestamp as dbt_valid_from,
    now()::timestamp as dbt_updated_at,
    {marker} as dbt_scd_id,
    'True' as dbt_is_deleted
)
from snapshotted_data
left join snapshot_query as source_data on {join}
where {source_key_null}{live}"""
    return f"""with snapshot_query as (
{query}
),
snapshotted_data as (
    select * from {this} where {is_current}
),
snapshotted_values as (
    select * exclude ({meta})
    from snapshotted_data
),
insertions as (
    select source_data.*,
        {scd} as dbt_scd_id,
        {stamp} as dbt_updated_at,
        {stamp} as dbt_valid_from,
        {_open(stamp, config)} as dbt_valid_to{flag}
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
