"""``teal show``: the first rows a model's query returns now, or an ad-hoc query's, without
building anything (dbt's ``dbt show``).

As dbt does, a model's compiled SQL is run, not its relation read: an edited model shows
what its next build would hold, upstreams as they are built now. The query is wrapped
(``select * from (<sql>) limit N``), so the limit keeps the query's meaning and the
warehouse computes only those rows. The warehouse is opened read-only and closed after:
nothing is written, and a build holding it is a clear error (``WarehouseBusy``, exit 2),
as DuckDB lets no other process open a file a build writes. With no warehouse file yet, the
query runs on an empty in-memory database (a model reading files only can be shown), and no
file is created.

What a model's query is, where it has variants:

- an incremental model: its ``is_incremental()`` SQL once its table exists (dbt renders
  ``is_incremental()`` true when the relation exists), else its full build's;
- a partitioned model: one partition's SQL, its placeholders filled for ``partition`` or
  the latest partition up to now, in the partitions' time zone, as a build runs it;
- an ephemeral model: its own query (dbt shows it too);
- a dbt model whose Jinja queries the warehouse: rendered now, its queries answered by
  this read-only connection, as a build renders it just before its step;
- a Python model: refused, as dbt refuses it (running it would import the user's file and
  call it with its inputs loaded, with whatever side effects it has).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from teal.compiler.errors import (
    ExecutionError,
    LineageError,
    ProjectError,
    SelectionError,
    TealError,
    did_you_mean,
)
from teal.warehouse.engine import open_engine

if TYPE_CHECKING:
    import pyarrow as pa

    from teal.compiler.project import Model, Project
    from teal.compiler.sources import Source
    from teal.runtime.session import Session
    from teal.warehouse.engine import Engine, EngineCursor

DEFAULT_LIMIT = 5  # rows shown, as dbt show
INLINE = "--inline"  # where an inline query's errors are located


class Shown(NamedTuple):
    """What ``teal show`` prints: the model (None for an inline query), the rows, and
    what was chosen to run (the partition, an incremental variant)."""

    model: str | None
    rows: pa.Table
    notes: tuple[str, ...]


def limited(sql: str, limit: int | None) -> str:
    """``sql`` returning at most ``limit`` rows (None or negative: all, as dbt's ``--limit
    -1``), wrapped so that the query's own ORDER BY, LIMIT and CTEs keep their meaning.

    >>> print(limited("select 1 as x;  -- one", 5))
    select * from (
    select 1 as x
    ) as teal_show limit 5
    """
    body = _without_closing_semicolon(sql)
    if limit is None or limit < 0:
        return body
    return f"select * from (\n{body}\n) as teal_show limit {limit}"


def check_limit(limit: int) -> int | None:
    """``--limit`` as :func:`limited` takes it: N rows (1 or more), or None for ``-1``
    (all of them, as dbt-core's ``--limit -1``). ``0`` and other negative numbers are
    located errors: dbt-core runs ``limit 0`` (no rows, whatever the query) where dbt
    Fusion shows every row, so a user's ``--limit 0`` means one or the other, and
    ``-2`` means nothing.

    >>> check_limit(3), check_limit(-1)
    (3, None)
    """
    if limit > 0:
        return limit
    if limit == -1:
        return None
    raise SelectionError(
        "0 would fetch no rows" if limit == 0 else f"{limit} is not a number of rows",
        path="--limit",
        hint="--limit N fetches N rows (5 by default) and --limit -1 all of them, as in "
        "dbt-core (dbt Fusion's --limit 0 for all rows is --limit -1 here)",
    )


def _without_closing_semicolon(sql: str) -> str:
    """``sql`` without a ``;`` that ends it (and a comment after it on its last line): a
    subquery cannot hold one.

    >>> _without_closing_semicolon("select ';--' as x"), _without_closing_semicolon("select 1 ; -- x")
    ("select ';--' as x", 'select 1')
    """
    return _CLOSING.sub("", sql.rstrip()).rstrip()


_CLOSING = re.compile(r";\s*(--[^\n']*)?$")


def show_model(
    session: Session, name: str, *, limit: int | None, partition: str | None = None
) -> Shown:
    """The first ``limit`` rows model ``name``'s query returns now."""
    model = session.project.models[name]
    if model.kind == "python":
        raise ProjectError(
            f"`teal show` runs a model's SQL, and '{name}' is a Python model",
            path=model.display_path,
            line=model.line,
            hint=f"as dbt show, it does not run Python models; once built, read its rows with "
            f"`teal show --inline 'select * from {name}'`",
        )
    notes: list[str] = []
    _check_files(session.project, model.source_tables, model.upstreams)
    key = _partition(session, model, partition, notes)
    model = session.project.models[name]  # the state read bound its dynamic partitions
    project = session.project
    attached: dict[str, Source] = {}
    if session.defer is not None:  # --defer-to: its unbuilt upstreams read from there
        from teal.runtime.deferring import defer_one

        project, attached, said = defer_one(session, name)
        model = project.models[name]
        notes += [said] if said else []
    with read_only_warehouse(session, attached) as wh:
        cur = wh.cursor()
        sql, incremental = model.compiled_sql or "", model.incremental_sql
        if model.config.get("render_at_run") and project.render_at_run is not None:
            sql, incremental = project.render_at_run(name, cur.query)
        if model.config.get("resource_type") == "snapshot":  # its variant: change detection
            incremental = None
        if incremental is not None and wh.catalog().kind(model.schema, model.alias) is not None:
            sql = incremental
            notes.append(f"its is_incremental() SQL: {model.relation} exists")
        zone = None
        if key is not None:
            from teal.compiler.partitions import time_partitions

            sql = project.sql_for_partition(model, sql, key)
            windows = time_partitions(model.partitions)
            zone = windows.timezone if windows is not None else None
        with cur.time_zone(zone) if zone is not None else nullcontext():
            rows = _run(cur, limited(sql, limit), model, session)
    return Shown(name, rows, tuple(notes))


def show_inline(session: Session, text: str, *, limit: int | None) -> Shown:
    """The first ``limit`` rows of ``text``, a query written as a model is (models and
    sources by name; in a dbt project ``{{ ref('x') }}`` and the project's macros)."""
    from teal.compiler.inline_query import check_one_query

    project = session.project
    operations = project.dbt_operations
    sql = None
    if session.defer is not None:
        raise ProjectError(
            "--defer-to previews a model (-s MODEL), not an inline query",
            path=INLINE,
            hint="preview a model that reads them: teal show -s MODEL --defer-to PATH",
        )
    if operations is None:
        from teal.compiler.inline_query import compile_inline

        compiled = compile_inline(project, text)  # mistakes found before the warehouse opens
        _check_files(project, compiled.source_tables, compiled.upstreams)
        sql = compiled.sql
    with read_only_warehouse(session) as wh:
        cur = wh.cursor()
        if operations is not None:  # its Jinja may query the warehouse: this connection
            sql = operations.inline_sql(text, cur.query)
            check_one_query(sql, text)
        assert sql is not None
        try:
            rows = cur.load(limited(sql, limit), "arrow")
        except Exception as exc:  # noqa: BLE001 - the engine's error, located in the query
            raise _inline_error(cur, exc, text) from None
    return Shown(None, rows, ())


def _inline_error(cur: EngineCursor, exc: BaseException, text: str) -> TealError:
    """The engine's error of the inline query ``text``, located in it; a column the query
    names and no table it reads has is the user's mistake (exit 2), with the closest."""
    message, line, col = cur.describe_error(exc, text)
    missing = cur.missing_column(exc)
    if missing is None:
        return ExecutionError(message, path=INLINE, line=line, col=col)
    name, candidates = missing
    lines = text.splitlines()
    written = re.compile(rf"(?<![\w\"]){re.escape(name)}(?![\w\"])", re.IGNORECASE)
    at = next(
        ((i, m.start() + 1) for i, t in enumerate(lines, 1) if (m := written.search(t))), None
    )
    line, col = at or (line, col)
    listed = " or ".join(f"'{c}'" for c in candidates[:3])
    return LineageError(
        f"column '{name}' does not exist in the tables the query reads",
        path=INLINE,
        line=line,
        col=col,
        source_line=lines[line - 1] if line is not None and 0 < line <= len(lines) else None,
        hint=did_you_mean(name, candidates)
        or (f"the engine suggests {listed}" if candidates else None)
        or "check the spelling against the columns of the tables it reads",
    )


def _check_files(project: Project, source_tables: Iterable[str], upstreams: Iterable[str]) -> None:
    """Raise the build's located error (exit 2) for each file source a query reads, itself
    or through the views and ephemeral models it reads (which read their files when it
    runs), whose file is not there: DuckDB's own error names no source."""
    from teal.compiler.errors import raise_all
    from teal.runtime.type_check import missing_file

    keys = set(source_tables)
    seen: set[str] = set()
    todo = list(upstreams)
    while todo:
        name = todo.pop()
        model = project.models.get(name)
        if name in seen or model is None or model.materialized not in ("view", "ephemeral"):
            continue
        seen.add(name)
        keys.update(model.source_tables)
        todo.extend(model.upstreams)
    raise_all([e for e in (missing_file(project, key) for key in sorted(keys)) if e is not None])


def _partition(session: Session, model: Model, asked: str | None, notes: list[str]) -> str | None:
    """The partition key to fill ``model``'s SQL with: ``asked``, or its latest up to now;
    None for a model without partitions (and ``asked`` then is a mistake)."""
    if model.partitions is None:
        if asked is not None:
            raise SelectionError(
                f"model '{model.name}' is not partitioned",
                path="--partition",
                hint="leave out --partition: `teal show` runs its whole query",
            )
        return None
    from teal.compiler.partitions.dynamic import dynamic_sets

    if dynamic_sets(session.project):  # their keys are those the warehouse holds
        session.state()  # which binds them
    bound = session.project.models[model.name]
    keys = bound.partitions.keys(session.now)
    if asked is not None:
        from teal.compiler.partitions import PartitionKeyError

        try:  # the build's message: the range, and the key nearest to the one asked
            bound.partitions.validate(asked, now=session.now)
        except PartitionKeyError as exc:
            raise SelectionError(
                f"{exc.message} (model {model.name}: {bound.partitions.describe()})",
                path="--partition",
                hint=exc.hint,
            ) from None
        if asked not in keys:
            raise SelectionError(
                f"'{asked}' is not a partition of {model.name}",
                path="--partition",
                hint=did_you_mean(asked, keys)
                or (f"its partitions are {keys[0]} .. {keys[-1]}" if keys else None),
            )
        notes.append(f"partition {asked}")
        return asked
    if not keys:
        raise SelectionError(
            f"model '{model.name}' has no partitions yet",
            path=model.display_path,
            hint="`teal partitions` lists them; --partition KEY picks one",
        )
    notes.append(f"partition {keys[-1]}, the latest (--partition KEY shows another)")
    return keys[-1]


@contextmanager
def read_only_warehouse(
    session: Session, attached: dict[str, Source] | None = None
) -> Iterator[Engine]:
    """The warehouse opened read-only, closed after; with no warehouse file yet, an empty
    in-memory database (no file is created). ``attached``: more sources to attach (the
    deferred warehouse)."""
    config = session.config
    path = config.warehouse_path
    missing = config.engine == "duckdb" and (str(path) == ":memory:" or not Path(path).exists())
    with open_engine(
        config,
        read_only=not missing,  # DuckDB opens no in-memory database read-only
        sources={**session.project.sources, **(attached or {})},
        path=":memory:" if missing else None,
    ) as wh:
        yield wh


def _run(cur: EngineCursor, sql: str, model: Model, session: Session) -> pa.Table:
    """The rows of ``sql`` (``model``'s), or the engine's error located in the model's
    file as a build locates it."""
    try:
        rows: pa.Table = cur.load(sql, "arrow")
        return rows
    except Exception as exc:  # noqa: BLE001 - the engine's error, located in the model
        from teal.runtime.view_errors import ViewProbe, with_view_context

        message, line, col = cur.describe_error(exc, model.raw_sql)
        message = with_view_context(
            session.project, model, message, line is not None, ViewProbe(cur, exc)
        )
        missing = "does not exist" in message
        raise ExecutionError(
            message,
            path=model.display_path,
            line=line,
            col=col,
            hint=f"`teal show` runs the query on the warehouse as it is: build what it reads "
            f"first (`teal build -s +{model.name}`)"
            if missing
            else None,
        ) from None
