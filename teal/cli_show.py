"""``teal show``: preview the rows a model's query returns now, or an ad-hoc query's, without
building (dbt's ``dbt show``; the work is runtime/show.py).

dbt's flags are taken as dbt spells them (``--select/-s``, ``--inline``, ``--limit``,
``--output json``) beside teal's ``--json``. ``--output json`` prints dbt's shape,
``{"node": NAME, "show": [records]}`` (an inline query: ``{"show": [...]}``).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from teal.cli_json import emit_json
from teal.cli_support import (
    common_options,
    defer_options,
    handle_errors,
    open_session,
    selection_options,
    table,
)

if TYPE_CHECKING:
    from teal.runtime.session import Session

CELL_WIDTH = 60  # a longer value is cut in the table (--json has it whole)


@click.command(name="show")
@selection_options
@common_options
@defer_options
@click.option(
    "--inline", default=None, metavar="SQL", help="Preview this query instead of a model."
)
@click.option(
    "--limit",
    type=int,
    default=5,
    show_default=True,
    help="Rows to fetch, 1 or more (the query is limited in SQL); -1 for all of them.",
)
@click.option(
    "--partition",
    default=None,
    metavar="KEY",
    help="A partitioned model: preview this partition (default: the latest).",
)
@click.option(
    "--output",
    "-o",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="text (a table) or json (dbt's --output json).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON records.")
@handle_errors
def show(
    project_dir: Path | None,
    target: str | None,
    warehouse: str | None,
    vars_: str | None,
    debug: bool,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    inline: str | None,
    limit: int,
    partition: str | None,
    fmt: str,
    as_json: bool,
) -> None:
    """Preview the rows a model's query returns now (-s MODEL), or a query's (--inline
    SQL), without building anything: the warehouse is opened read-only."""
    from teal.runtime.show import check_limit, show_inline, show_model

    rows = check_limit(limit)  # before the project loads: a mistake in the command line
    session = open_session(project_dir, target, warehouse, vars_)
    if inline is not None:
        if select or partition is not None:
            _usage("--inline previews the query alone: leave out -s and --partition")
        shown = show_inline(session, inline, limit=rows)
    else:
        shown = show_model(
            session, _one_model(session, select, exclude), limit=rows, partition=partition
        )
    for note in shown.notes:
        click.echo(f"note: {note}", err=True)
    records = shown.rows.to_pylist()
    if as_json or fmt == "json":
        found = [{k: _json_cell(v) for k, v in r.items()} for r in records]
        emit_json({"show": found} if shown.model is None else {"node": shown.model, "show": found})
        return
    click.echo(f"Previewing {'inline query' if shown.model is None else shown.model}:")
    click.echo(
        table(
            tuple(shown.rows.column_names), [tuple(_cell(v) for v in r.values()) for r in records]
        )
    )
    more = " (--limit N shows more)" if rows is not None and len(records) == rows else ""
    click.echo(f"\n{len(records)} row{'' if len(records) == 1 else 's'}{more}")


def _one_model(session: Session, select: tuple[str, ...], exclude: tuple[str, ...]) -> str:
    """The one model the selection names (dbt's show previews one node)."""
    from teal.compiler.errors import SelectionError

    if not select:
        _usage("name a model (-s MODEL) or give a query (--inline 'select ...')")
    names = session.select(select, exclude)  # an unknown name: an error with the closest
    if len(names) != 1:
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise SelectionError(
            f"`teal show` previews one model, and {' '.join(select)!r} selects "
            + (f"{len(names)}: {listed}" if names else "none"),
            path="--select",
            hint="name one model: -s MODEL",
        )
    return str(names[0])


def _usage(message: str) -> NoReturn:
    from teal.compiler.errors import SelectionError

    raise SelectionError(
        message, path="--select", hint="teal show -s MODEL, or teal show --inline 'select ...'"
    )


def _cell(value: object) -> str:
    """A value as the table shows it: NULL for a null, long text cut."""
    text = "NULL" if value is None else str(_as_text(value))
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 3] + "..."


def _as_text(value: object) -> object:
    """An interval or a blob as DuckDB writes it (``1 day 02:00:00``, ``ab\\x00``); any
    other value as it is."""
    if isinstance(value, bytes):
        return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02X}" for b in value)
    if isinstance(value, tuple) and type(value).__name__ == "MonthDayNano":  # pyarrow's
        months, days, nanoseconds = value
        return _interval(int(months), int(days), int(nanoseconds))
    return value


def _interval(months: int, days: int, nanoseconds: int) -> str:
    years, months = divmod(months, 12)
    parts = [
        f"{n} {unit}{'' if abs(n) == 1 else 's'}"
        for n, unit in ((years, "year"), (months, "month"), (days, "day"))
        if n
    ]
    if nanoseconds or not parts:
        sign = "-" if nanoseconds < 0 else ""
        micros = abs(nanoseconds) // 1000
        seconds, micro = divmod(micros, 1_000_000)
        hours, rest = divmod(seconds, 3600)
        clock = f"{sign}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        parts.append(clock + (f".{micro:06d}" if micro else ""))
    return " ".join(parts)


def _json_cell(value: object) -> object:
    """A value as JSON holds it, as dbt's --output json writes it: times as ISO text (in
    the zone they carry, none when they have none), decimals as numbers, intervals and
    blobs as DuckDB's text, NaN and infinities as null (JSON has no such numbers)."""
    value = _as_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _json_cell(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_cell(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # intervals, UUIDs, bytes: as text


COMMANDS = (show,)
