"""``state_retention`` in the project file: how long the warehouse keeps state history.

    state_retention = { days = 90 }     # the default
    state_retention = "forever"         # keep every row (the tables grow with every build)

The rows a plan reads (the latest build of each model, partition and check) are kept
whatever their age (warehouse/duckdb/state_history.py).
"""

from __future__ import annotations

from pathlib import Path

from teal.compiler.errors import ProjectError
from teal.compiler.toml_lines import key_line

DEFAULT_DAYS = 90
FOREVER = "forever"
KEY = "state_retention"


def parse_state_retention(value: object, config_path: Path) -> int | None:
    """Days of state history kept (None: forever) from the project file's value.

    >>> parse_state_retention(None, Path("teal.toml")), parse_state_retention("forever", Path("x"))
    (90, None)
    >>> parse_state_retention({"days": 30}, Path("teal.toml"))
    30
    """
    if value is None:
        return DEFAULT_DAYS
    if value == FOREVER:
        return None
    days = value.get("days") if isinstance(value, dict) else None
    if isinstance(value, dict) and set(value) == {"days"} and type(days) is int and days > 0:
        return days
    unknown = sorted(set(value) - {"days"}) if isinstance(value, dict) else []
    raise ProjectError(
        f'{KEY} takes a positive whole number of days, or "forever"'
        + (f" (unknown: {', '.join(unknown)})" if unknown else f", got {value!r}"),
        path=config_path.name,
        line=key_line(config_path, KEY),
        hint=f'{KEY} = {{ days = {DEFAULT_DAYS} }}, or {KEY} = "{FOREVER}"',
    )
