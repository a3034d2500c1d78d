"""Located errors about a model's columns, from what binding or a trace found: a
reference to a column that does not exist, and a ``partition_column`` or ``unique_key``
its query does not produce."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from teal.compiler.errors import LineageError, TealError, did_you_mean, line_col

if TYPE_CHECKING:
    from teal.compiler.column_types import MissingColumn
    from teal.compiler.project import Model


def unique_key_errors(model: Model, names: tuple[str, ...]) -> list[TealError]:
    """A located error for each ``unique_key`` column of an incremental ``model`` that its
    query does not produce (the first build would pass and every later one fail)."""
    if model.materialized != "incremental" or not model.unique_key:
        return []
    lowered = tuple(n.lower() for n in names)
    lines = (model.raw_sql or "").splitlines()
    at = next((i for i, text in enumerate(lines, 1) if "unique_key" in text), None)
    return [
        LineageError(
            f"unique_key '{key}' of {model.name} is not a column its query produces (it "
            f"produces: {', '.join(names)})",
            path=model.display_path,
            line=at or model.line or 1,
            col=lines[at - 1].index("unique_key") + 1 if at else None,
            source_line=lines[at - 1] if at else None,
            hint=did_you_mean(key.lower(), lowered) or "name the column that identifies a row",
        )
        for key in model.unique_key
        if re.fullmatch(r"\w+", key) and key.lower() not in lowered  # not an expression
    ]


def partition_column_errors(model: Model, names: tuple[str, ...]) -> list[TealError]:
    """A located error for each partition column ``model`` names that its query does not
    produce (the build would fail on it once per partition)."""
    wanted = model.partition_column
    if wanted is None:
        return []
    columns = list(wanted.values()) if isinstance(wanted, dict) else [wanted]
    lowered = tuple(n.lower() for n in names)
    line, col, text = setting_at(model, "partition_column")
    return [
        LineageError(
            f"partition_column '{column}' of {model.name} is not a column its query "
            f"produces (it produces: {', '.join(names)})",
            path=model.display_path,
            line=line,
            col=col,
            source_line=text,
            hint=did_you_mean(str(column).lower(), lowered)
            or "name the column whose value places a row in a partition",
        )
        for column in columns
        if isinstance(column, str) and column.lower() not in lowered
    ]


def setting_at(model: Model, key: str) -> tuple[int, int | None, str | None]:
    """Where ``model``'s file writes the config ``key`` (``key=``, ``key:``): its line,
    column and that line; the model's line when the file does not (YAML, a folder's
    defaults)."""
    raw = model.raw_sql or ""
    found = re.search(rf"\b{re.escape(key)}\s*[=:]", raw)
    if found is None:
        return model.line or 1, None, None
    line, col = line_col(raw, found.start())
    text = raw.splitlines()[line - 1]
    if model.config.get("resource_type") == "snapshot":  # the body of {% snapshot %}: its
        try:  # first line starts after the tag, on the line of the file that ends with it
            written = Path(model.path).read_text(encoding="utf-8").splitlines()[line - 1]
        except (OSError, ValueError, IndexError):
            return line, None, None
        if not written.endswith(text):
            return line, None, None
        col, text = col + len(written) - len(text), written
    return line, col, text


# what compiler/dbt/snapshots.py names a snapshot's query in the SQL it wraps it in
_SNAPSHOT_QUERY = ("snapshot_query", "source_data")
_SNAPSHOT_COLUMNS = ("unique_key", "updated_at", "check_cols")


def snapshot_setting_error(model: Model, m: MissingColumn) -> LineageError | None:
    """The error of a column a dbt snapshot's ``unique_key``, ``updated_at`` or
    ``check_cols`` names that its query does not produce, at that setting (the tracer
    finds it in the SQL teal wraps the query in); None for any other missing column."""
    if model.config.get("resource_type") != "snapshot" or m.table.lower() not in _SNAPSHOT_QUERY:
        return None
    word = re.compile(rf"(?<![\w.]){re.escape(m.column)}(?!\w)", re.IGNORECASE)
    for key in _SNAPSHOT_COLUMNS:
        value = model.config.get(key)
        written = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        if any(word.search(str(v)) for v in written):
            break
    else:
        return None
    line, col, text = setting_at(model, key)
    shown = ", ".join(m.candidates[:12]) + (", ..." if len(m.candidates) > 12 else "")
    return LineageError(
        f"{key} '{m.column}' of snapshot {model.name} is not a column of the snapshot's "
        f"query, which has: {shown}"
        if m.candidates
        else f"{key} '{m.column}' of snapshot {model.name} is not a column of its query",
        path=model.display_path,
        line=line,
        col=col,
        source_line=text,
        hint=did_you_mean(m.column, m.candidates) or "name a column the snapshot's query selects",
    )


def missing_error(model: Model, m: MissingColumn, deferred: str | None = None) -> LineageError:
    """``'revenu' is not a column of int_orders (o), which has: ...`` at the reference.
    ``deferred``: the upstream is read from another warehouse (``read from PATH (not
    built here)``): said, with the hint to build it here instead of a spelling guess."""
    setting = snapshot_setting_error(model, m)
    if setting is not None:
        return setting
    if m.upstream:
        where = (
            m.upstream
            if m.table.lower() in ("", m.upstream.lower())
            else (f"{m.upstream} (read as {m.table})")
        )
    elif m.table:
        where = f"{m.table} (a CTE or subquery of {model.name})"
    else:
        where = "any table this query reads"
    shown = ", ".join(m.candidates[:12]) + (", ..." if len(m.candidates) > 12 else "")
    lines = (model.raw_sql or "").splitlines()
    source_line = lines[m.line - 1] if m.line and 0 < m.line <= len(lines) else None
    if not m.table and m.column.lower() in (c.lower() for c in m.candidates):
        # not missing: unqualified, and more than one table it reads has it
        return LineageError(
            f"column '{m.column}' is ambiguous: more than one table this query reads has it",
            path=model.display_path,
            line=m.line,
            col=m.col,
            source_line=source_line,
            hint=f"qualify it with the name or alias of the table it comes from "
            f"(o.{m.column} for a table read as o)",
        )
    if deferred is not None:
        return LineageError(
            f"column '{m.column}' does not exist in {where}, which is {deferred}"
            + (f" and has there: {shown}" if m.candidates else ""),
            path=model.display_path,
            line=m.line,
            col=m.col,
            source_line=source_line,
            hint=f"{m.upstream} is deferred: its relation there lacks what its SQL here "
            f"makes; select it too (-s {m.upstream}+, or -s state:modified+ for every "
            "edited model) to build it here, or build it there first",
        )
    return LineageError(
        f"column '{m.column}' does not exist in {where}, which has: {shown}"
        if m.candidates
        else f"column '{m.column}' does not exist in {where}",
        path=model.display_path,
        line=m.line,
        col=m.col,
        source_line=source_line,
        hint=did_you_mean(m.column, m.candidates)
        or "check the spelling, or add the column to the model that should produce it",
    )


_STAR = re.compile(r"(?:\bselect\s+(?:distinct\s+)?|,\s*|\.)(\*)", re.IGNORECASE)


def star_duplicate_error(model: Model, names: tuple[str, ...]) -> TealError | None:
    """The error of a query whose ``*`` gives two columns one name (``select *`` over a
    join on ``a.id = b.id``): DuckDB stores the second as ``id_1`` and readers of ``id``
    get the first. ``names``: the query's output columns as DuckDB bound them. Two
    columns the query names alike itself are refused earlier (compiler/stage.py)."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names, 1):
        low = name.lower()
        if low not in seen:
            seen[low] = i
            continue
        star = _star_at(model)
        line, col, source = star if star is not None else (None, None, None)
        from_star = star is not None or model.rendered_sql is None
        return LineageError(
            f"the query gives two columns the name '{name}' (columns {seen[low]} and {i}"
            f"{', from a *' if from_star else ''}): a table has one column of a name (DuckDB "
            f"would store the second as {name}_1)",
            path=model.display_path,
            line=line or model.line or 1,
            col=col,
            source_line=source,
            hint=f"name the columns, leave one out (b.* exclude ({name})), or join with "
            f"using ({name})"
            if from_star
            else "give one of them another name (... as other_name), or leave one out",
        )
    return None


def _star_at(model: Model) -> tuple[int, int | None, str | None] | None:
    """Where the ``*`` of the query's own select list is in ``model``'s file (line,
    column, that line): the first ``*`` among the outermost SELECT's columns (a CTE's
    ``select *`` gives no output column). None when the select list has no ``*``; the
    first ``*`` of the text when the query does not parse here."""
    import sqlglot
    from sqlglot import exp

    raw = model.raw_sql or ""
    try:
        query = sqlglot.parse_one(model.rendered_sql or raw, read="duckdb")
    except sqlglot.errors.SqlglotError:
        match = _STAR.search(raw)
        if match is None:
            return None
        line, col = line_col(raw, match.start(1))
        return line, col, raw.splitlines()[line - 1]
    while isinstance(query, (exp.SetOperation, exp.Subquery)):  # the first branch names
        query = query.this  # the columns
    stars = [
        p.this if isinstance(p, exp.Column) else p
        for p in getattr(query, "expressions", [])
        if isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
    ]
    if not stars:
        return None
    start = stars[0].meta.get("start")
    text = model.rendered_sql or raw
    if start is None:
        return model.line or 1, None, None
    at, col = line_col(text, start)
    written = text.splitlines()[at - 1]
    lines = raw.splitlines()
    if 0 < at <= len(lines) and lines[at - 1] == written:  # no template before it on the line
        return at, col, written
    if written in lines:  # the line moved (a multi-line config() above it)
        return lines.index(written) + 1, col, written
    return model.line or 1, None, None
