"""What a partition's type error is about: DuckDB reports the partition column compared
with the partition's time window without naming either."""

from __future__ import annotations

import re

from teal.compiler.project import Model

_COMPARE = re.compile(r"Cannot compare values of type (\w+) and type (\w+)", re.IGNORECASE)
_TIME_TYPES = {"TIMESTAMP", "DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}


def with_partition_context(model: Model, message: str) -> str:
    """``message``, and when it is a type mismatch of a comparison in a time-partitioned
    model, which column it came from and what to do about it."""
    found = _COMPARE.search(message)
    column = model.partition_column
    if found is None or model.partitions is None or not column:
        return message
    keys = model.partitions.keys()
    try:
        if keys:
            model.partitions.window(keys[0])
    except Exception:  # noqa: BLE001 - no time dimension: not the window's comparison
        return message
    if isinstance(column, dict):
        column = next(iter(column.values()))
    kinds = [k.upper() for k in found.groups()]
    other = next((k for k in kinds if k not in _TIME_TYPES), kinds[0])
    return (
        f"{message} (the partition column '{column}' is {other}, and each partition is a "
        f"time window: cast '{column}' to DATE or TIMESTAMP in the model)"
    )
