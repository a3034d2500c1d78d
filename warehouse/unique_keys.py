"""A merge's new rows must name each ``unique_key`` once: two new rows with the same key
would both be inserted (the table then holds the key twice), so the step fails instead,
naming the key, before anything changes. ``delete+insert`` takes them all, as dbt does
(its key may be a day whose rows are replaced together)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from teal.compiler.errors import ExecutionError


def check_one_row_per_key(
    fetch: Callable[[str], Any],
    relation: str,
    names: Sequence[str],
    quote: Callable[[str], str],
    model: str,
) -> None:
    """Raise if two rows of ``relation`` (the staged new rows) share the key ``names``;
    ``fetch(sql)`` runs a query and returns its first row or None."""
    keys = ", ".join(quote(n) for n in names)
    known = " AND ".join(f"{quote(n)} IS NOT NULL" for n in names)  # a NULL key matches none
    row = fetch(
        f"SELECT {keys}, COUNT(*) FROM {relation} WHERE {known} GROUP BY {keys} "
        "HAVING COUNT(*) > 1 LIMIT 1"
    )
    if row is None:
        return
    *values, count = row
    shown = ", ".join(
        f"{n} = {v!r}" if isinstance(v, str) else f"{n} = {v}" for n, v in zip(names, values)
    )
    raise ExecutionError(
        f"{count} new rows of {model} have the same unique_key ({shown}): a merge keeps one "
        "row per key; make the query return one row per key, or use "
        "incremental_strategy='delete+insert' to insert them all"
    )
