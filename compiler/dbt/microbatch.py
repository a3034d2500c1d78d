"""dbt's ``microbatch`` incremental strategy as teal's time-partitioned models.

A microbatch model (``incremental_strategy='microbatch'``, ``event_time``, ``batch_size``,
``begin``, ``lookback``) becomes a model partitioned by its ``batch_size`` (hour -> hourly,
day -> daily, month -> monthly, year -> yearly), starting at ``begin`` truncated to a batch,
up to and including the batch that holds now, with ``event_time`` as its partition column.
Each batch is then one partition: its rows replaced in one transaction, as teal replaces any
partition. What dbt does per batch maps like this:

- ``ref``/``source`` of a relation that declares ``event_time`` reads only the batch's
  window of it (``filter_relation``), with the same bounds dbt uses (``>=`` start, ``<``
  end); relations without ``event_time`` are read whole;
- the model's rows outside the batch are dropped (dbt-duckdb inserts ``where`` the batch
  predicate), so the model's SQL is wrapped in that filter (``wrap_sql``);
- a plain run rebuilds the batch holding now and the ``lookback`` batches before it (the
  ``microbatch_lookback`` config the planner reads, compiler/passes.py) and any batch never
  built; it does not rebuild batches whose inputs changed (dbt does not know about them);
- ``--event-time-start``/``--event-time-end`` pick the batches that overlap the range;
- ``--full-refresh`` rebuilds every batch from ``begin``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.nodes import Node, line_of, position, source_line
from teal.compiler.dbt.values import Relation
from teal.compiler.errors import ProjectError, did_you_mean
from teal.compiler.sql import quote_identifier

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader
    from teal.compiler.partitions import TimePartitions

GRAINS = {"hour": "hourly", "day": "daily", "month": "monthly", "year": "yearly"}
START = "__teal_partition_start__"
END = "__teal_partition_end__"


def is_microbatch(node: Node | None) -> bool:
    return (
        node is not None
        and node.resource_type == "model"
        and node.materialized == "incremental"
        and node.config.get("incremental_strategy") == "microbatch"
    )


def check_microbatch(loader: DbtLoader, node: Node) -> None:
    """Located errors for a microbatch model's config (dbt finds most of them only when
    the model runs; teal finds them when the project loads)."""

    def error(key: str, message: str, hint: str) -> None:
        where = position(node.raw, rf"\b{key}\s*=")
        line, col = where or (line_of(node.raw, "incremental_strategy"), None)
        loader.errors.append(
            ProjectError(
                message,
                path=node.display,
                line=line,
                col=col,
                hint=hint,
                source_line=source_line(node.raw, line),
            )
        )

    conf = node.config
    if not conf.get("event_time"):
        error(
            "event_time",
            f"microbatch model '{node.name}' has no event_time",
            "add event_time='<its timestamp column>' to its config",
        )
    size = str(conf.get("batch_size") or "")
    if size not in GRAINS:
        error(
            "batch_size",
            f"batch_size={conf.get('batch_size')!r} of microbatch model '{node.name}' is not "
            "hour, day, month or year",
            did_you_mean(size, GRAINS) or "set batch_size='day' (or hour, month, year)",
        )
    if not conf.get("begin"):
        error(
            "begin",
            f"microbatch model '{node.name}' has no begin",
            "add begin='2024-01-01': the first batch a full build makes",
        )
    elif _instant(conf.get("begin")) is None:
        error(
            "begin",
            f"begin={conf.get('begin')!r} of microbatch model '{node.name}' is not a date or time",
            "write begin='2024-01-01' (or '2024-01-01 00:00:00')",
        )
    if conf.get("unique_key"):
        error(
            "unique_key",
            f"microbatch model '{node.name}' sets unique_key, which microbatch does not use",
            "microbatch replaces each batch's rows by event_time; remove unique_key, "
            "or use incremental_strategy='merge'",
        )
    lookback = conf.get("lookback", 1)
    if not isinstance(lookback, int) or isinstance(lookback, bool) or lookback < 0:
        error(
            "lookback",
            f"lookback={lookback!r} of microbatch model '{node.name}' is not a whole number",
            "lookback is how many batches before the current one a run rebuilds (default 1)",
        )


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")).replace(
            tzinfo=None
        )
    except ValueError:
        return None


def microbatch_partitions(node: Node) -> TimePartitions:
    """The time partitions of a (checked) microbatch model: one per batch, from ``begin``
    truncated to its batch up to the batch that holds now."""
    from teal.compiler.partitions import TimePartitions

    grain = GRAINS[str(node.config["batch_size"])]
    begin = _instant(node.config["begin"])
    assert begin is not None  # check_microbatch found it readable
    if grain == "hourly":
        begin = begin.replace(minute=0, second=0, microsecond=0)
    else:
        begin = begin.replace(hour=0, minute=0, second=0, microsecond=0)
        if grain in ("monthly", "yearly"):
            begin = begin.replace(day=1)
        if grain == "yearly":
            begin = begin.replace(month=1)
    return TimePartitions(grain, begin.isoformat(sep=" "), end_offset=1)


def filter_relation(relation: Relation, event_time: str) -> Relation:
    """``relation`` as a batch reads it: only the rows of the batch's window (the bounds are
    placeholders teal fills per partition, compiler/partition_sql.py)."""
    column = _column(event_time)
    # no alias, as dbt-duckdb: the model's own `as e` names it
    text = f"(select * from {relation} where {column} >= {START} and {column} < {END})"
    return Relation(relation.database, relation.schema, relation.identifier, relation.type, text)


def wrap_sql(sql: str, event_time: str) -> str:
    """The model's query keeping only the batch's rows, as dbt-duckdb inserts them."""
    column = _column(event_time)
    return (
        f"select * from (\n{sql}\n) as _dbt_microbatch\n"
        f"where {column} >= {START} and {column} < {END}"
    )


def _column(event_time: str) -> str:
    """A column name quoted; anything else (an expression) as it is written."""
    return quote_identifier(event_time) if re.fullmatch(r"\w+", event_time) else event_time


def upstream_event_time(loader: DbtLoader, target: Node) -> str | None:
    """The event_time a ref'd node declares, if the node reading it is a microbatch model
    (only those filter their inputs)."""
    if not is_microbatch(loader.node) or loader.jinja.phase != "compile":
        return None
    found = target.config.get("event_time")
    return str(found) if found else None


def source_event_time(loader: DbtLoader, info: dict[str, Any]) -> str | None:
    """The event_time a source table (or its source) declares in ``config:``."""
    if not is_microbatch(loader.node) or loader.jinja.phase != "compile":
        return None
    for entry in (info["entry"], info["source_entry"]):
        conf = entry.get("config") if isinstance(entry, dict) else None
        if isinstance(conf, dict) and conf.get("event_time"):
            return str(conf["event_time"])
    return None
