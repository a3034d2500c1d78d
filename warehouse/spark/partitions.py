"""Partitioned models on Spark: one partition replaced, a group of them, every partition
rebuilt, and many time partitions replaced from one query (``backfill_policy='single_run'``).

Each writes the partitions' new rows to stage tables, refuses rows outside their partition
(counting them, for the message) and audits each partition's new rows. A model whose
partitions have a filter is kept as a table physically partitioned by its partition key
(teal.warehouse.spark.layout): a refresh is one ``INSERT OVERWRITE`` that replaces only the
written partitions' directories, a full refresh a new table swapped in under the view. A
model without a partition filter (each partition is the whole table), and a table built
before partitioned tables existed (until ``--full-refresh`` rebuilds it), are rewritten
whole: their rows outside the replaced partitions plus the new ones, swapped in as a table
is (teal.warehouse.spark.materializations). The partitions' state rows follow the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from teal.warehouse.engine import (
    BuildTarget,
    Built,
    Part,
    PartitionRowsError,
    PartitionWrite,
    Window,
)
from teal.warehouse.spark import io, layout, state
from teal.warehouse.spark.materializations import (
    NEW_SUFFIX,
    STAGE_SUFFIX,
    Check,
    columns,
    create_table,
    duck_relation,
    existing,
    now,
    record_build,
    swap_in,
)
from teal.warehouse.spark.schema_change import align
from teal.warehouse.spark.session import literal, quote

if TYPE_CHECKING:
    from teal.warehouse.spark.session import SparkSQL

KEY_COLUMN = "__teal_key"  # a staged row's partition key, beside the model's columns


def _stage(sql: SparkSQL, target: BuildTarget, name: str, source: Any) -> None:
    """The rows of ``source`` (DuckDB SQL, or Arrow-compatible data) as table ``name``."""
    if isinstance(source, str):
        create_table(sql, target.schema, name, sql.spark(source), count=False)
        return
    with io.staged(sql, source) as scan:
        create_table(sql, target.schema, name, f"SELECT * FROM {scan}", count=False)


def _counted(sql: SparkSQL, relation: str, partition_filter: str) -> tuple[int, int]:
    """How many rows ``relation`` has, and how many of them fail ``partition_filter``."""
    if not partition_filter:
        return int(sql.rows(f"SELECT count(*) FROM {relation}")[0][0]), 0
    predicate = sql.predicate(partition_filter)
    total, outside = sql.rows(
        f"SELECT count(*), count_if(NOT coalesce(({predicate}), false)) FROM {relation}"
    )[0]
    return int(total), int(outside)


def _rewrite(sql: SparkSQL, target: BuildTarget, stage_rel: str, keep_where: str | None) -> None:
    """The table again as its rows matching ``keep_where`` (Spark SQL) plus the stage's,
    staged under the new name (the caller swaps it in)."""
    relation = sql.relation(target.schema, target.name)
    if existing(sql, target) is None:
        create_table(
            sql, target.schema, target.name + NEW_SUFFIX, f"SELECT * FROM {stage_rel}", count=False
        )
        return
    aligned = align(sql, target, stage_rel)
    kept = f"SELECT {aligned.from_table()} FROM {relation}" + (
        f" WHERE {keep_where}" if keep_where else ""
    )
    create_table(
        sql,
        target.schema,
        target.name + NEW_SUFFIX,
        f"{kept} UNION ALL SELECT {aligned.from_stage()} FROM {stage_rel}",
        count=False,
    )


def _cleanup(sql: SparkSQL, target: BuildTarget) -> None:
    for suffix in (STAGE_SUFFIX, NEW_SUFFIX):
        sql.run(f"DROP TABLE IF EXISTS {sql.relation(target.schema, target.name + suffix)}")


def _partitioned(
    sql: SparkSQL,
    target: BuildTarget,
    kind: str | None,
    source: str,
    counts: Sequence[tuple[str, int]],
    keyed: tuple[str, str] | None = None,
) -> bool:
    """Write the rows of ``source`` (a Spark relation with the model's columns) into the
    model's partitioned table: created when there is none, else the partitions ``counts``
    names overwritten (those with no rows dropped). Each row's key is the one key of
    ``counts``, or with ``keyed`` (a relation of the same rows plus a key column, and
    that column) the row's own. False when the relation is a plain table (the caller
    rewrites it)."""
    data = layout.data_table(sql, target, kind)
    if kind is not None and data is None:
        return False
    rows, key = keyed or (source, literal(counts[0][0]))
    if data is None:  # the first partitions of the model: its partitioned table
        data = layout.new_data_name(target)
        cols = columns(sql, source)
        try:
            layout.create_data(sql, target.schema, data, [(rows, key)], cols)
            layout.point_view(sql, target, data, cols, kind)
        except BaseException:
            sql.run(f"DROP TABLE IF EXISTS {sql.relation(target.schema, data)}")
            raise
        return True
    # the model's columns under on_schema_change: new ones added to the data table, a
    # dropped one kept there (written as NULL) and left out of the view
    aligned = align(sql, target, source)
    stored = layout.data_columns(sql, target.schema, data)
    aligned.add_columns(sql, sql.relation(target.schema, data), has=stored)
    known = {c.lower() for c in stored}
    select = aligned.from_stage(stored + [c for c, _ in aligned.added if c.lower() not in known])
    written = any(n for _, n in counts)
    emptied = [k for k, n in counts if not n]
    layout.overwrite(sql, target.schema, data, [(rows, key)] if written else [], select, emptied)
    if aligned.changed:
        layout.point_view(sql, target, data, list(aligned.columns), "table")
    return True


def replace_partition(
    sql: SparkSQL,
    target: BuildTarget,
    key: str,
    source: Any,
    partition_filter: str,
    audit: Check,
) -> Built:
    """Replace one partition: its new rows staged and checked, the table rewritten."""
    started = now()
    stage = target.name + STAGE_SUFFIX
    stage_rel = sql.relation(target.schema, stage)
    try:
        _stage(sql, target, stage, source)
        total, outside = _counted(sql, stage_rel, partition_filter)
        if outside:
            raise PartitionRowsError(
                f"{outside:,} of {total:,} rows do not belong to partition {key} "
                f"(they fail {partition_filter})"
            )
        if audit is not None:  # the partition's new rows, before they are published
            audit(duck_relation(target.schema, stage))
        kind = existing(sql, target)
        if not partition_filter or not _partitioned(sql, target, kind, stage_rel, [(key, total)]):
            # without a filter the partition is the whole table: none of its old rows stays
            keep = (
                f"NOT coalesce(({sql.predicate(partition_filter)}), false)"
                if partition_filter
                else "false"
            )
            _rewrite(sql, target, stage_rel, keep)
            swap_in(sql, target, target.name + NEW_SUFFIX)
    finally:
        _cleanup(sql, target)
    finished = now()
    _record_partitions(sql, target, [(key, total)], started, finished)
    target.committed("table")
    return Built(rows=total, started_at=started, finished_at=finished)


def replace_partition_group(
    sql: SparkSQL,
    target: BuildTarget,
    writes: Sequence[PartitionWrite],
    audits: Sequence[Check],
    covering: str | None = None,
) -> list[int]:
    """Several partitions: each one's rows staged, checked against its filter and audited
    alone, then the table rewritten once (its rows outside every replaced partition plus
    the stages'), where replacing them one by one rewrites it once each. The rows of each
    write, in order; a failure leaves the table as it was."""
    started = now()
    stages: list[str] = []
    counts: list[tuple[str, int | None]] = []
    try:
        for i, (write, audit) in enumerate(zip(writes, audits)):
            name = f"{target.name}{STAGE_SUFFIX}_{i}"
            stages.append(name)
            _stage(sql, target, name, write.sql)
            total, outside = _counted(
                sql, sql.relation(target.schema, name), write.partition_filter
            )
            if outside:
                raise PartitionRowsError(
                    f"{outside:,} of {total:,} rows do not belong to partition {write.key}"
                )
            if audit is not None:  # the partition's new rows, before they are published
                audit(duck_relation(target.schema, name))
            counts.append((write.key, total))

        def union(key: bool) -> str:
            return " UNION ALL ".join(
                f"SELECT *{f', {literal(w.key)} AS {KEY_COLUMN}' if key else ''} "
                f"FROM {sql.relation(target.schema, n)}"
                for n, w in zip(stages, writes)
            )

        kind = existing(sql, target)
        filtered = all(w.partition_filter for w in writes)
        sized = [(k, int(n or 0)) for k, n in counts]
        keyed = (f"({union(True)}) AS __teal_keyed", KEY_COLUMN)
        first = sql.relation(target.schema, stages[0])
        if not filtered or not _partitioned(sql, target, kind, first, sized, keyed):
            replaced = covering or " OR ".join(f"({w.partition_filter})" for w in writes)
            _rewrite(
                sql,
                target,
                f"({union(False)}) AS __teal_group",
                f"NOT coalesce(({sql.predicate(replaced)}), false)",
            )
            swap_in(sql, target, target.name + NEW_SUFFIX)
    finally:
        _cleanup(sql, target)
        for name in stages:
            sql.run(f"DROP TABLE IF EXISTS {sql.relation(target.schema, name)}")
    _record_partitions(sql, target, counts, started, now())
    target.committed("table")
    return [int(n or 0) for _, n in counts]


def rebuild_partitions(
    sql: SparkSQL, target: BuildTarget, parts: list[Part], audit: Check
) -> Built:
    """``--full-refresh``: every partition staged into one new table, audited, and swapped
    in whole (a new partitioned data table under the model's view, or a plain table when
    the partitions have no filter)."""
    started = now()
    partitioned = bool(parts) and all(f for _, _, f in parts)
    staged = layout.new_data_name(target) if partitioned else target.name + NEW_SUFFIX
    staged_rel = sql.relation(target.schema, staged)
    stage = target.name + STAGE_SUFFIX
    stage_rel = sql.relation(target.schema, stage)
    counts: list[tuple[str, int | None]] = []
    cols: list[str] = []
    published = False
    try:
        for i, (key, query, partition_filter) in enumerate(parts):
            source = query() if callable(query) else query
            _stage(sql, target, stage, source)
            rows, outside = _counted(sql, stage_rel, partition_filter)
            if outside:
                raise PartitionRowsError(f"{outside:,} rows do not belong to partition {key}")
            if i == 0:
                cols = columns(sql, stage_rel)
            if partitioned and i == 0:
                layout.create_data(sql, target.schema, staged, [(stage_rel, literal(key))], cols)
            elif partitioned:
                layout.append_data(sql, target.schema, staged, stage_rel, literal(key), cols)
            elif i == 0:
                create_table(sql, target.schema, staged, f"SELECT * FROM {stage_rel}", count=False)
            else:
                listed = ", ".join(quote(c) for c in cols)
                sql.run(f"INSERT INTO {staged_rel} ({listed}) SELECT {listed} FROM {stage_rel}")
            counts.append((key, rows))
        if audit is not None:
            audit(
                layout.audited_rows(target.schema, staged, cols)
                if partitioned
                else duck_relation(target.schema, staged)
            )
        if partitioned:
            layout.point_view(sql, target, staged, cols, existing(sql, target))
        else:
            swap_in(sql, target, staged)
        published = True
    finally:
        _cleanup(sql, target)
        if not published:
            sql.run(f"DROP TABLE IF EXISTS {staged_rel}")
    finished = now()
    _record_partitions(sql, target, counts, started, finished)
    total = sum(n or 0 for _, n in counts)
    record_build(sql, target, total, started)
    target.committed("table")
    return Built(rows=total, started_at=started, finished_at=finished)


def replace_partitions_single_run(
    sql: SparkSQL,
    target: BuildTarget,
    windows: list[Window],
    source: Any,
    column: str,
    audit: Check,
) -> Built:
    """Many time partitions from one query: rows staged, each placed in its window (one
    grouped scan), the windows' old rows replaced by a rewrite, every partition recorded."""
    started = now()
    stage = target.name + STAGE_SUFFIX
    stage_rel = sql.relation(target.schema, stage)
    col = quote(column)

    def ts(value: datetime) -> str:
        return f"TIMESTAMP {literal(value.replace(tzinfo=None).isoformat(sep=' '))}"

    runs: list[list[datetime]] = []  # contiguous runs of windows: the replaced rows
    for _, lo, hi in windows:
        if runs and runs[-1][1] == lo:
            runs[-1][1] = hi
        else:
            runs.append([lo, hi])
    in_windows = " OR ".join(f"({col} >= {ts(lo)} AND {col} < {ts(hi)})" for lo, hi in runs)
    try:
        _stage(sql, target, stage, source)
        placed = _place(sql, stage_rel, windows, col)
        outside = placed.pop(None, 0)
        if outside:
            raise PartitionRowsError(
                f"{outside:,} rows fall outside the {len(windows)} partitions being built "
                f"({windows[0][0]}..{windows[-1][0]})"
            )
        if audit is not None:
            audit(duck_relation(target.schema, stage))
        sized = [(key, placed.get(key, 0)) for key, _, _ in windows]
        keyed = (_keyed(stage_rel, windows, col), KEY_COLUMN)
        if not _partitioned(sql, target, existing(sql, target), stage_rel, sized, keyed):
            _rewrite(sql, target, stage_rel, f"NOT coalesce(({in_windows}), false)")
            swap_in(sql, target, target.name + NEW_SUFFIX)
    finally:
        _cleanup(sql, target)
    finished = now()
    counts: list[tuple[str, int | None]] = [(key, placed.get(key, 0)) for key, _, _ in windows]
    _record_partitions(sql, target, counts, started, finished)
    target.committed("table")
    return Built(rows=sum(placed.values()), started_at=started, finished_at=finished)


def _keyed(stage_rel: str, windows: list[Window], col: str) -> str:
    """The staged rows with the key of the window each falls in (every row falls in one:
    :func:`_place` checked), by joining a small table of the windows: on the truncated time
    for whole hours, days or months (a hash join), else on the range."""
    from teal.warehouse.duckdb.partitions import _calendar_unit as calendar_unit

    def ts(value: datetime) -> str:
        return f"TIMESTAMP {literal(value.replace(tzinfo=None).isoformat(sep=' '))}"

    values = ", ".join(f"({ts(lo)}, {ts(hi)}, {literal(key)})" for key, lo, hi in windows)
    unit = calendar_unit(windows)
    on = (
        f"CAST(date_trunc('{unit}', __teal_s.{col}) AS TIMESTAMP) = __teal_w.lo"
        if unit is not None
        else f"__teal_s.{col} >= __teal_w.lo AND __teal_s.{col} < __teal_w.hi"
    )
    return (
        f"(SELECT __teal_s.*, __teal_w.k AS {KEY_COLUMN} FROM {stage_rel} AS __teal_s "
        f"JOIN (VALUES {values}) AS __teal_w(lo, hi, k) ON {on}) AS __teal_keyed"
    )


def _place(sql: SparkSQL, stage_rel: str, windows: list[Window], col: str) -> dict[str | None, int]:
    """How many staged rows fall in each window, by key (None: in none of them).

    Whole hours, days or months are found by truncating the time and grouping (one
    scan); other windows by a CASE over them (rows x windows comparisons)."""
    from teal.warehouse.duckdb.partitions import _calendar_unit as calendar_unit

    def ts(value: datetime) -> str:
        return f"TIMESTAMP {literal(value.replace(tzinfo=None).isoformat(sep=' '))}"

    unit = calendar_unit(windows)
    if unit is not None:
        key_of = {lo.replace(tzinfo=None): key for key, lo, _ in windows}
        placed: dict[str | None, int] = {}
        for lo, n in sql.rows(
            f"SELECT CAST(date_trunc('{unit}', {col}) AS TIMESTAMP) AS lo, count(*) "
            f"FROM {stage_rel} GROUP BY 1"
        ):
            key = key_of.get(lo) if lo is not None else None
            placed[key] = placed.get(key, 0) + int(n)
        return placed
    place = " ".join(
        f"WHEN {col} >= {ts(lo)} AND {col} < {ts(hi)} THEN {literal(key)}"
        for key, lo, hi in windows
    )
    return {
        k: int(n)
        for k, n in sql.rows(f"SELECT CASE {place} END AS k, count(*) FROM {stage_rel} GROUP BY 1")
    }


def _record_partitions(
    sql: SparkSQL,
    target: BuildTarget,
    counts: list[tuple[str, int | None]],
    started: datetime,
    finished: datetime,
) -> None:
    state.insert(
        sql,
        "partitions",
        state.partition_rows(
            run_id=target.run_id,
            model=target.model,
            counts=counts,
            status="success",
            sql_hash=target.sql_hash,
            started_at=started,
            finished_at=finished,
            versions=target.partition_versions,
        ),
    )


def record_partition_failure(
    sql: SparkSQL, target: BuildTarget, key: str, started: datetime, message: str
) -> None:
    state.insert(
        sql,
        "partitions",
        state.partition_rows(
            run_id=target.run_id,
            model=target.model,
            counts=[(key, None)],
            status="error",
            sql_hash=target.sql_hash,
            started_at=started,
            finished_at=now(),
            # the attempt was not swapped in: readers still read the last success's rows
            versions={key: state.standing_version(sql, target.model, key) or ""},
            message=message[:2000],
        ),
    )
