"""An ad-hoc query of a teal project compiled as a model's SQL is (``teal show --inline``).

The query is written as a model is: DuckDB SQL, Jinja with the project's vars, models
read by name (``stg_orders``) or relation (``staging.stg_orders``), sources as
``source.table``. It goes through a model's stages (render and parse, resolve, compile),
so each name points where a model's would (a model's relation, an ephemeral model inlined,
a file source's reader), and a name that is neither a model nor a source is the error a
model gets, located in ``--inline`` with the closest names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teal.compiler.errors import ProjectError

if TYPE_CHECKING:
    from teal.compiler.project import Project

INLINE = "--inline"  # where the query's errors are located: the flag that gave it
NAME = "inline_query"  # the model it is compiled as (dbt's name for it)


def compile_inline(project: Project, text: str) -> str:
    """``text`` compiled against ``project``'s models and sources, as a model's SQL."""
    from teal.compiler.cache import CompileCache
    from teal.compiler.compile_sql import QueryCompiler
    from teal.compiler.resolve import Resolver
    from teal.compiler.sql import output_columns, parse_sql, table_references
    from teal.compiler.stage import Rendering, StagedModel
    from teal.compiler.templating import render_sql

    if not text.strip():
        raise ProjectError("the inline query is empty", path=INLINE, hint="--inline 'select ...'")
    rendered = render_sql(text, path=INLINE, this_name=NAME, vars=project.config.vars)
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
    return queries.compile(staged, full, resolved.references, models).sql
