"""The SQL the warehouse runs for a model: its references pointed at what they read.

The one compile step of a SQL rendering (:meth:`QueryCompiler.compile`) first decides,
once, where each resolved reference points (a :class:`Target`): an upstream's physical
relation, a source's relation or file reader, an ephemeral upstream inlined as a CTE, or
the model's own relation (``{{ this }}``); in a partitioned model a partitioned upstream
is also filtered to the partitions it maps to (a pushdown). Then it writes the SQL one of
two ways:

- **the text splice**, the fast path: each reference's written name (at the offsets the
  parse recorded) is replaced by its target's text in the rendered SQL. It keeps the
  author's layout and needs no parse tree, so a load whose parses came from the cache
  does not parse again. It applies when every reference is plain (a name and
  maybe an alias, nothing else) and none is inlined or filtered;
- **the tree rewrite** otherwise: the parse tree (parsed again if the parse was cached)
  is rewritten with compiler.rewrite and printed.

Both keep the author's name as the alias, so ``orders.id`` still binds, and must mean the
same: with ``check_splice`` (``LoadStrategy(check_splice=True)``; the tests turn it on)
each splice is compared with the tree rewrite of the same targets, and a difference is an
error. The result is cached by content: the parse key and every target's description,
which also make the model's version (its ``shape``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from teal.compiler.cache import CompileCache, content_key
from teal.compiler.model_config import unbounded
from teal.compiler.sources import Source, SourceTable
from teal.compiler.sql import text_hash
from teal.compiler.templating import uses_partition_vars

if TYPE_CHECKING:
    from sqlglot import exp

    from teal.compiler.partition_sql import Pushdown
    from teal.compiler.partitions import Partitions
    from teal.compiler.project import Model
    from teal.compiler.resolve import Reference
    from teal.compiler.stage import Rendering, StagedModel


class Target(NamedTuple):
    """Where one reference of a model points once compiled. (An immutable tuple rather than
    a frozen dataclass: one is made for every reference on every load, cache hits included,
    and a tuple is much cheaper to make.)"""

    kind: str  # "relation" | "source" | "ephemeral" | "self"
    key: str  # the upstream model's name, or "source.table"
    schema: str = ""  # relation and self: the relation's schema and name
    alias: str = ""
    source: SourceTable | None = None  # source
    ephemeral: Model | None = None  # ephemeral: the upstream inlined
    predicate: str | None = None  # the pushed-down partition filter, if any
    pushdown: Pushdown | None = None

    def describe(self) -> str:
        """What the compiled SQL depends on: part of the cache key and the model version."""
        if self.source is not None:
            return f"source:{self.source.kind}:{self.source.location}"
        if self.ephemeral is not None:
            return f"ephemeral:{self.key}:{self.ephemeral.sql_hash}"
        return f"{self.kind}:{self.schema}.{self.alias}"

    def text(self) -> tuple[str, str]:
        """(SQL text reading the target, the name that text ends with: "" for a reader)."""
        from teal.compiler.sources import READERS, scan_text
        from teal.compiler.sql import quote_identifier

        if self.source is not None:
            if self.source.kind in READERS:  # a file: read by a table function
                return scan_text(self.source), ""
            parts = self.source.location.split(".")
            return ".".join(quote_identifier(p) for p in parts), parts[-1]
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.alias)}", self.alias


class CompiledQuery(NamedTuple):
    """The SQL of one rendering of a model."""

    sql: str
    ast: exp.Query | None  # the rewritten tree, or the parse tree a splice left alone
    pushdowns: tuple[Pushdown, ...]
    shape: str  # a digest of its tokens and targets: the model's version is made from it


class QueryCompiler:
    """Compiles the SQL of one load's models, with its compile cache."""

    def __init__(
        self, cache: CompileCache, sources: dict[str, Source], *, check_splice: bool = False
    ) -> None:
        self.cache = cache
        self.sources = sources
        self.check_splice = check_splice
        self.parsed = 0  # parses redone for a tree rewrite of a cached parse

    def source_table(self, key: str) -> SourceTable:
        src, _, table = key.partition(".")
        return self.sources[src].tables[table.lower()]

    def compile(
        self,
        model: StagedModel,
        rendering: Rendering,
        references: tuple[Reference, ...],
        done: dict[str, Model],
    ) -> CompiledQuery:
        """The SQL of ``rendering`` of ``model``, whose upstreams are compiled in ``done``."""
        targets = [
            self._target(model, found, index, done) for index, found in enumerate(references)
        ]
        parts = []
        for found, target in zip(references, targets):
            parts.append(target.describe())
            if model.partitions is not None and found.key != model.name:
                parts.append(f"pushdown:{target.predicate}")
        versioned = list(parts)
        if model.partitions is not None:
            parts.append(f"partitions:{model.partitions.describe()}")
            # the version leaves out the bounds: a later `end` makes no built partition stale
            versioned.append(f"partitions:{unbounded(model.partitions.to_spec())!r}")
        key = content_key(rendering.parse_key, *parts)
        # not content_key: a model's version must not change with the cache's format
        shape = text_hash("\x1f".join([rendering.digest, *versioned]))
        cached = self.cache.get("compile", key)
        if cached is not None:
            pushdowns: tuple[Pushdown, ...] = ()
            if cached["pushdowns"]:  # partition code is imported by projects that use it
                from teal.compiler.partition_sql import Pushdown

                pushdowns = tuple(Pushdown(*p) for p in cached["pushdowns"])
            return CompiledQuery(cached["sql"], rendering.ast, pushdowns, shape)

        spliced = _splice(rendering, references, targets)
        if spliced is not None:
            if self.check_splice:
                self._check(model, rendering, references, targets, spliced, done)
            self.cache.put("compile", key, {"sql": spliced, "pushdowns": []})
            return CompiledQuery(spliced, rendering.ast, (), shape)

        from teal.compiler.sql import DIALECT

        ast, found_pushdowns = self._rewrite_tree(model, rendering, references, targets, done)
        # Printed once, pretty, for both the warehouse and target/compiled. copy=False: the
        # tree is this model's own, and sqlglot's defensive deep copy cost more than parsing.
        sql = ast.sql(dialect=DIALECT, comments=False, copy=False, pretty=True)
        self.cache.put(
            "compile",
            key,
            {"sql": sql, "pushdowns": [(p.index, p.upstream, p.mapping) for p in found_pushdowns]},
        )
        return CompiledQuery(sql, ast, found_pushdowns, shape)

    def pushdown(
        self, model: StagedModel, kind: str, key: str, done: dict[str, Model], index: int
    ) -> tuple[str | None, Pushdown | None]:
        """The partition filter (predicate with placeholders) for upstream scan ``index`` of
        a partitioned model, if its upstream is partitioned too. A model whose query uses
        partition values filters its upstreams itself, except those its ``partition_mapping``
        names: what a partition reads is then what staleness says it reads."""
        if model.partitions is None:
            return None, None
        mappings = model.config.get("partition_mapping") or {}
        spec = mappings.get(key)
        if spec is None and kind == "source":
            spec = mappings.get(key.split(".")[1])
        if spec is None and uses_partition_vars(model.raw_sql or ""):
            return None, None
        from teal.compiler.partition_sql import Pushdown, pushdown_filter, resolve_mapping

        up_def, up_cols = self._upstream_partitions(kind, key, done)
        if up_def is None:
            return None, None
        mapping = resolve_mapping(
            spec, model.partitions, up_def, path=model.display_path, line=model.line
        )
        predicate = pushdown_filter(index, up_def, up_cols, mapping)
        if predicate is None:
            return None, None
        return predicate, Pushdown(index=index, upstream=key, mapping=str(mapping))

    def select(
        self,
        kind: str,
        key: str,
        done: dict[str, Model],
        model: StagedModel | None = None,
        index: int = 0,
    ) -> tuple[str, Pushdown | None]:
        """``SELECT *`` over an upstream, as a Python asset reads it (partition-filtered when
        the asset and the upstream are partitioned). Cached: building it needs sqlglot, which
        a warm load does not otherwise import."""
        if kind == "model" and done[key].materialized == "ephemeral":
            return done[key].compiled_sql or "", None
        predicate, pushdown = (
            (None, None) if model is None else self.pushdown(model, kind, key, done, index)
        )
        if kind == "model":
            target = f"relation:{done[key].schema}.{done[key].alias}"
        else:
            source = self.source_table(key)
            target = f"source:{key}:{source.kind}:{source.location}"
        cache_key = content_key("select", target, str(predicate))
        cached = self.cache.get("select", cache_key)
        if cached is not None:
            return cached, pushdown

        from sqlglot import exp

        from teal.compiler.rewrite import point_at_relation, point_at_source
        from teal.compiler.sql import DIALECT

        if kind == "model":
            up = done[key]
            table = point_at_relation(exp.to_table(up.alias), up.schema, up.alias)
        else:
            table = point_at_source(exp.to_table(key.split(".")[1]), self.source_table(key))
        query = exp.select("*").from_(table)
        if predicate is not None:
            query = query.where(predicate, dialect=DIALECT)
        sql = query.sql(dialect=DIALECT)
        self.cache.put("select", cache_key, sql)
        return sql, pushdown

    # -- the steps ------------------------------------------------------------------------
    def _target(
        self, model: StagedModel, found: Reference, index: int, done: dict[str, Model]
    ) -> Target:
        predicate, pushdown = (
            self.pushdown(model, found.kind, found.key, done, index)
            if model.partitions is not None and found.key != model.name
            else (None, None)
        )
        if found.kind == "source":
            return Target(
                "source",
                found.key,
                source=self.source_table(found.key),
                predicate=predicate,
                pushdown=pushdown,
            )
        up = done.get(found.key) if found.key != model.name else None
        if up is None:  # the model's own relation (`this`)
            return Target("self", found.key, model.schema, model.alias)
        if up.materialized == "ephemeral":
            return Target("ephemeral", found.key, ephemeral=up, predicate=predicate)
        return Target(
            "relation", found.key, up.schema, up.alias, predicate=predicate, pushdown=pushdown
        )

    def _upstream_partitions(
        self, kind: str, key: str, done: dict[str, Model]
    ) -> tuple[Partitions | None, str | dict[str, str] | None]:
        """(definition, partition column) of an upstream model or source table."""
        if kind == "source":
            table = self.source_table(key)
            return table.partitions, table.partition_column
        up = done.get(key)
        if up is None or up.partitions is None:
            return None, None
        return up.partitions, up.partition_column

    def _rewrite_tree(
        self,
        model: StagedModel,
        rendering: Rendering,
        references: tuple[Reference, ...],
        targets: list[Target],
        done: dict[str, Model],
        *,
        fresh: bool = False,
    ) -> tuple[exp.Query, tuple[Pushdown, ...]]:
        """The parse tree with every reference pointed at its target (``fresh``: on a new
        parse, leaving the rendering's own tree alone)."""
        from teal.compiler.rewrite import (
            ephemeral_cte_name,
            existing_cte_names,
            inline_ephemerals,
            point_at_cte,
            point_at_relation,
            point_at_source,
            unqualify_columns,
            wrap_with_filter,
            written_qualifiers,
        )
        from teal.compiler.sql import parse_sql, table_references

        ast = None if fresh else rendering.ast
        nodes = [found.ref.node for found in references]
        if ast is None:  # the parse came from the cache (or must stay as it is): parse again
            rendered = rendering.rendered
            ast = parse_sql(
                rendered.sql,
                path=model.display_path,
                line_of=rendered.line_of,
                source=model.raw_sql,
            )
            if not fresh:
                self.parsed += 1
            nodes = [ref.node for ref in table_references(ast)]
        written = written_qualifiers(nodes)  # before the pointing changes them
        taken: set[str] | None = None  # CTE names in the query: walked for ephemerals only
        ctes: dict[str, tuple[str, Model]] = {}  # upstream -> (CTE name, the upstream)
        pushdowns = []
        for node, target in zip(nodes, targets):
            if target.source is not None:
                point_at_source(node, target.source)
            elif target.ephemeral is not None:
                if target.key not in ctes:
                    taken = existing_cte_names(ast) if taken is None else taken
                    name = ephemeral_cte_name(target.key, taken)
                    ctes[target.key] = (name, target.ephemeral)
                    taken.add(name.lower())
                point_at_cte(node, ctes[target.key][0])
                continue
            else:
                point_at_relation(node, target.schema, target.alias)
                if target.kind == "self":
                    continue
            if target.predicate is not None and target.pushdown is not None:
                wrap_with_filter(node, target.predicate)
                pushdowns.append(target.pushdown)
        unqualify_columns(ast, written)
        if ctes:
            inline_ephemerals(
                ast,
                [
                    (name, parse_sql(up.compiled_sql or "", path=up.display_path))
                    for name, up in ctes.values()
                ],
            )
        return ast, tuple(pushdowns)

    def _check(
        self,
        model: StagedModel,
        rendering: Rendering,
        references: tuple[Reference, ...],
        targets: list[Target],
        spliced: str,
        done: dict[str, Model],
    ) -> None:
        """The splice means what the tree rewrite means, or an error naming both."""
        from teal.compiler.sql import DIALECT, parse_sql

        def same(tree: exp.Expr) -> str:
            return tree.sql(dialect=DIALECT, comments=False, identify=True)

        by_tree, _ = self._rewrite_tree(model, rendering, references, targets, done, fresh=True)
        by_text = parse_sql(spliced, path=model.display_path)
        if same(by_text) != same(by_tree):
            raise RuntimeError(
                f"{model.display_path}: the text splice and the tree rewrite disagree "
                f"(a bug in teal):\n  splice: {same(by_text)}\n  tree:   {same(by_tree)}"
            )


def _splice(
    rendering: Rendering, references: tuple[Reference, ...], targets: list[Target]
) -> str | None:
    """The compiled SQL made by replacing the text of each reference in the rendered SQL,
    or None when a reference needs the tree: it is inlined (an ephemeral), filtered (a
    pushdown), or written with more than a name and an alias (a sample, a pivot, ...)."""
    from teal.compiler.sql import quote_identifier, splice

    edits = []
    for found, target in zip(references, targets):
        ref = found.ref
        if not ref.plain or ref.start is None or ref.end is None:
            return None
        if target.ephemeral is not None or target.predicate:
            return None
        text, new_name = target.text()
        if not ref.aliased and ref.name.lower() != new_name.lower():
            text += f" AS {quote_identifier(ref.name)}"
        edits.append((ref.start, ref.end, text))
    return splice(rendering.rendered.sql, rendering.span, edits)
