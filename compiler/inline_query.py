"""An ad-hoc query of a teal project compiled as a model's SQL is (``teal show --inline``).

The query is written as a model is: DuckDB SQL, Jinja with the project's vars, models
read by name (``stg_orders``) or relation (``staging.stg_orders``), sources as
``source.table``. It goes through a model's stages (render and parse, resolve, compile),
so each name points where a model's would (a model's relation, an ephemeral model inlined,
a file source's reader), and a name that is neither a model nor a source is the error a
model gets, located in ``--inline`` with the closest names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from teal.compiler.errors import ProjectError, line_col

if TYPE_CHECKING:
    from teal.compiler.project import Project

INLINE = "--inline"  # where the query's errors are located: the flag that gave it
NAME = "inline_query"  # the model it is compiled as (dbt's name for it)


class InlineQuery(NamedTuple):
    """An inline query compiled: its SQL, and what it reads as a model's would."""

    sql: str
    upstreams: tuple[str, ...]  # the models it reads
    source_tables: tuple[str, ...]  # the source tables it reads ("source.table")


EMPTY_HINT = "--inline 'select ...'"


def compile_inline(project: Project, text: str) -> InlineQuery:
    """``text`` compiled against ``project``'s models and sources, as a model's SQL."""
    from teal.compiler.cache import CompileCache
    from teal.compiler.compile_sql import QueryCompiler
    from teal.compiler.resolve import Resolver
    from teal.compiler.sql import output_columns, parse_sql, table_references
    from teal.compiler.stage import Rendering, StagedModel
    from teal.compiler.templating import render_sql

    if not text.strip():
        raise ProjectError("the inline query is empty", path=INLINE, hint=EMPTY_HINT)
    rendered = render_sql(text, path=INLINE, this_name=NAME, vars=project.config.vars)
    # a query as a model's: parse_sql refuses the others (PIVOT with its own hint)
    check_one_query(rendered.sql, text, line_of=rendered.line_of, reads=MODEL_READS)
    ast = parse_sql(rendered.sql, path=INLINE, line_of=rendered.line_of, source=text)
    columns = output_columns(ast)
    full = Rendering(
        rendered,
        "",  # no cache key: the query is compiled once, by a compiler of its own
        tuple(table_references(ast)),
        ast.meta["span"],
        ast.meta["digest"],
        None if columns is None else tuple(columns),
        ast,
    )
    staged = StagedModel(
        name=NAME,
        kind="sql",
        path=project.root / INLINE,
        display_path=INLINE,
        folder="",
        config={},
        schema="",
        alias=NAME,
        materialized="view",
        line=None,
        raw_sql=text,
        full=full,
    )
    models = project.models
    resolver = Resolver(project.sources, {name.lower(): name for name in models}, set())
    resolver.by_relation = {
        m.relation.lower(): name for name, m in models.items() if m.materialized != "ephemeral"
    }
    resolved = resolver.resolve(staged)
    queries = QueryCompiler(CompileCache(None), project.sources)
    sql = queries.compile(staged, full, resolved.references, models).sql
    return InlineQuery(sql, resolved.upstreams, resolved.source_tables)


# the statements DuckDB runs as a subquery, which `teal show` wraps: they change nothing
READS = (
    "select",
    "union",
    "intersect",
    "except",
    "values",
    "show",
    "describe",
    "summarize",
    "pivot",
)
MODEL_READS = ("select", "union", "intersect", "except", "pivot")  # a teal project's


def check_one_query(
    sql: str,
    text: str,
    *,
    line_of: Callable[[int], int] | None = None,
    reads: tuple[str, ...] = READS,
) -> None:
    """Raise a located error (exit 2) unless ``sql``, the inline query ``text`` rendered,
    is one statement that reads (``reads``: sqlglot's names of the kinds accepted): `teal
    show` runs a query on the warehouse opened read-only, so a DELETE or a CREATE is a
    mistake to say plainly, not the engine's error. SQL sqlglot cannot parse is left to
    the parser that reports it (the model's, or the engine's).

    >>> check_one_query("with a as (select 1) select * from a", "")
    >>> try:
    ...     check_one_query("delete from orders", "delete from orders")
    ... except ProjectError as exc:
    ...     print(exc.message, exc.line, exc.col, sep=" | ")
    `teal show` runs only queries, and this is a DELETE statement | 1 | 1
    """
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import ParseError as SqlglotParseError
    from sqlglot.errors import TokenError

    from teal.compiler.sql import DIALECT, second_statement_start

    dialect = Dialect.get_or_raise(DIALECT)
    try:
        tokens = dialect.tokenize(sql)
        parsed = dialect.parser().parse(tokens, sql)
    except (SqlglotParseError, TokenError):
        return
    statements = [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]
    if not statements or not tokens:  # nothing, or comments: the wrapper's error otherwise
        raise ProjectError("the inline query is empty", path=INLINE, hint=EMPTY_HINT)
    if len(statements) > 1:
        second = second_statement_start(tokens)
        line, col, source_line = _at(sql, text, second, line_of)
        raise ProjectError(
            f"the inline query is {len(statements)} statements: `teal show` runs one query",
            path=INLINE,
            line=line,
            col=col,
            source_line=source_line,
            hint="remove the ';' and the statements after it",
        )
    first = statements[0]
    if first.key in reads:
        return
    kind = str(first.this).upper() if isinstance(first, exp.Command) else first.key.upper()
    line, col, source_line = _at(sql, text, tokens[0].start, line_of)
    raise ProjectError(
        f"`teal show` runs only queries, and this is {'an' if kind[0] in 'AEIOU' else 'a'} "
        f"{kind} statement",
        path=INLINE,
        line=line,
        col=col,
        source_line=source_line,
        hint="it opens the warehouse read-only and changes nothing: write a SELECT to "
        "preview rows (a model, or in a dbt project `teal run-operation MACRO`, changes "
        "the warehouse)"
        if first.key not in READS
        else "in a teal project the inline query is written as a model is: one SELECT",
    )


def _at(
    sql: str, text: str, offset: int | None, line_of: Callable[[int], int] | None
) -> tuple[int | None, int | None, str | None]:
    """The line, column and text of the line of offset ``offset`` of ``sql`` (rendered)
    in ``text``, the query as written: the same offset where Jinja changed nothing before
    it, else the first place the word there is written (on the line ``line_of`` maps it
    to, when given)."""
    lines = text.splitlines()
    line = col = None
    if offset is not None:
        lead = len(text) - len(text.lstrip())
        if sql == text or sql == text.strip():
            line, col = line_col(text, offset + (0 if sql == text else lead))
        else:
            word = re.match(r"\w+|\S", sql[offset:])
            mapped = line_of(line_col(sql, offset)[0]) if line_of is not None else None
            written = re.compile(rf"(?<!\w){re.escape(word.group() if word else '')}(?!\w)", re.I)
            for i, src in enumerate(lines, 1):
                hit = written.search(src) if word and mapped in (None, i) else None
                if hit:
                    line, col = i, hit.start() + 1
                    break
            else:
                line = mapped
    source_line = lines[line - 1] if line is not None and 0 < line <= len(lines) else None
    return line, col, source_line
