"""Deferral: the selected models read their unbuilt upstreams from another warehouse.

dbt's ``--defer``: a developer's warehouse holds little or nothing; production's holds
everything. ``teal build -s my_mart --defer-to prod.duckdb`` builds ``my_mart`` here,
reading each upstream model that is neither selected nor built here from the production
file, which the build attaches read-only as the catalog :data:`CATALOG`. With
``favor_state`` every unselected upstream is read from there, built here or not.

Pure: which models are deferred (:func:`deferred_models`), the selected models' SQL
pointed at the attached catalog (:func:`defer_sql`, :func:`defer_project`), and the
project the selection is bound against (:func:`bind_project`: a deferred model stands
for the relation in the other file, with that relation's columns, and nothing below it
is bound). Reading the other file is the warehouse's (warehouse/duckdb/deferral.py);
putting it together is the runtime's (runtime/deferring.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.frozen import evolve

if TYPE_CHECKING:
    from teal.compiler.checks import CheckDef
    from teal.compiler.project import Model, Project

# the name the deferred warehouse is attached under (a build's own connection)
CATALOG = "teal_defer"
# what the plan adds to the reason of a view built as a table (defer_project)
AS_TABLE = "a view reading deferred models, built as a table"

Columns = tuple[tuple[str, str], ...]  # (name, DuckDB type), in order
# the config key of a deferred model's stand-in (bind_project) saying where it is read from
DEFERRED_KEY = "teal_deferred"


@dataclass(frozen=True)
class Deferral:
    """Where unbuilt upstreams are read from. ``relations``: a model's relation in that
    file when it is not the one it has here (a dbt manifest's schema and alias, by model
    name); ``flag``: how the user asked, for messages (``--defer-to``, ``--defer``);
    ``manifest``: dbt's ``--state DIR``, whose manifest gives the relations (and, when
    ``path`` is None, the file) once the project is loaded (compiler/dbt/deferral.py)."""

    path: Path | None
    favor_state: bool = False
    relations: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    flag: str = "--defer-to"
    manifest: Path | None = None
    # dbt's --state DIR the relations were read from (once resolved), for messages; and
    # the models DIR's manifest has a node of (the rest are new there)
    state_dir: Path | None = None
    in_manifest: frozenset[str] = frozenset()

    def relation(self, model: Model) -> tuple[str, str]:
        """(schema, name) of ``model`` in the deferred warehouse."""
        return self.relations.get(model.name, (model.schema, model.alias))


@dataclass(frozen=True)
class DeferredRead:
    """A model read from the deferred warehouse: which file, which relation there, and
    why (``not built here``, ``--favor-state; built here too``); ``by_checks``: only the
    selection's checks read it. ``str()`` is what ``teal plan`` prints.

    >>> r = DeferredRead("/prod.duckdb", "staging.orders", "not built here")
    >>> str(r), r.as_json()["relation"]
    ('read from /prod.duckdb (not built here)', 'staging.orders')
    """

    path: str
    relation: str
    reason: str
    by_checks: bool = False

    def __str__(self) -> str:
        checks = " by checks " if self.by_checks else " "
        return f"read from {self.path}{checks}({self.reason})"

    def as_json(self) -> dict[str, str]:
        """``{"path", "relation", "reason"}``: what ``--json`` outputs give of it."""
        said = f"by checks; {self.reason}" if self.by_checks else self.reason
        return {"path": self.path, "relation": self.relation, "reason": said}


def upstream_candidates(project: Project, selected: Iterable[str]) -> list[str]:
    """The models the selected models' SQL reads that are not selected (through
    ephemeral upstreams, whose SQL is inlined into their readers), sorted: what may be
    deferred."""
    return sorted(_read_through_ephemerals(project, selected)[0])


def inlined_ephemerals(project: Project, selected: Iterable[str]) -> list[str]:
    """The unselected ephemeral models whose SQL the selected models' SQL inlines, in
    build order: bound with the selection when deferring, since what they read is
    deferred too."""
    inlined = _read_through_ephemerals(project, selected)[1]
    return [n for n in project.dag.order() if n in inlined]


def _read_through_ephemerals(
    project: Project, selected: Iterable[str]
) -> tuple[set[str], set[str]]:
    """(the unselected models the selected models' SQL reads, not ephemeral; the
    unselected ephemeral models it inlines, through which it reads them)."""
    chosen = set(selected)
    read: set[str] = set()
    inlined: set[str] = set()
    stack = [u for name in chosen for u in project.models[name].upstreams]
    while stack:
        name = stack.pop()
        if name in chosen or name in read or name in inlined:
            continue
        if project.models[name].materialized == "ephemeral":
            inlined.add(name)
            stack.extend(project.models[name].upstreams)
        else:
            read.add(name)
    return read, inlined


def check_reads(
    project: Project, names: Iterable[str], only: Collection[str] | None = None
) -> list[str]:
    """The models the checks of ``names`` read besides the model they check (a
    ``relationships`` check's parent, what a singular check's SQL reads) that are not
    among ``names`` and are relations (not ephemeral), sorted: what those checks may read
    from the deferred warehouse. ``only``: just these checks (``teal test -s test_name``).

    >>> from types import SimpleNamespace as NS
    >>> checks = {"c": [NS(name="rel", reads=("a",)), NS(name="nn", reads=())], "a": []}
    >>> p = NS(models={"a": NS(materialized="table"), "c": NS(materialized="table")},
    ...        checks_of=checks.__getitem__)
    >>> check_reads(p, ["c"]), check_reads(p, ["c", "a"]), check_reads(p, ["c"], {"nn"})
    (['a'], [], [])
    """
    chosen = set(names)
    return sorted(
        {
            read
            for name in chosen
            for check in project.checks_of(name)
            if only is None or check.name in only
            for read in check.reads
            if read not in chosen
            and read in project.models
            and project.models[read].materialized != "ephemeral"
        }
    )


def deferred_models(
    project: Project, selected: Iterable[str], built: Collection[str], favor_state: bool
) -> list[str]:
    """The unselected upstreams read from the deferred warehouse: those not ``built``
    here (every one with ``favor_state``), sorted.

    >>> from types import SimpleNamespace as NS
    >>> m = lambda up, mat="table": NS(upstreams=up, materialized=mat)
    >>> p = NS(models={"a": m(()), "b": m(("a",)), "e": m(("b",), "ephemeral"), "c": m(("e",))})
    >>> deferred_models(p, ["c"], built={"a"}, favor_state=False)
    ['b']
    >>> deferred_models(p, ["c"], built={"b"}, favor_state=True)
    ['b']
    """
    candidates = upstream_candidates(project, selected)
    return [n for n in candidates if favor_state or n not in built]


def defer_sql(sql: str, relations: Mapping[tuple[str, str], tuple[str, str]], path: str) -> str:
    """``sql`` (a compiled model: every relation it reads written ``schema.name``) with
    each reference to a key of ``relations`` (lower-case schema and name here) pointed at
    its relation in the deferred warehouse, catalog :data:`CATALOG`. Only the references'
    text changes, at the offsets the parse records (the author's layout stays); a
    reference renamed keeps the name it had as its alias.

    >>> defer_sql('select o.id from "shop"."orders" as o join x on true',
    ...           {("shop", "orders"): ("shop", "orders")}, "m.sql")
    'select o.id from "teal_defer"."shop"."orders" as o join x on true'
    >>> defer_sql('select orders.id from "shop"."orders"', {("shop", "orders"): ("prod", "o")},
    ...           "m.sql")
    'select orders.id from "teal_defer"."prod"."o" AS "orders"'
    """
    from teal.compiler.sql import parse_sql, quote_identifier, splice, table_references

    edits: list[tuple[int, int, str]] = []
    tree = parse_sql(sql, path=path, digest=False)
    fallback = False
    for ref in table_references(tree):
        target = relations.get((ref.db.lower(), ref.name.lower())) if not ref.catalog else None
        if target is None:
            continue
        schema, name = target
        text = ".".join(quote_identifier(p) for p in (CATALOG, schema, name))
        if ref.start is None or ref.end is None:
            fallback = True
        elif (schema.lower(), name.lower()) == (ref.db.lower(), ref.name.lower()):
            edits.append((ref.start, ref.start, quote_identifier(CATALOG) + "."))
        elif ref.plain:
            alias = "" if ref.aliased else f" AS {quote_identifier(ref.name)}"
            edits.append((ref.start, ref.end, text + alias))
        else:
            fallback = True
        if fallback:
            break
    if not fallback:
        return splice(sql, (0, len(sql)), edits) if edits else sql
    return _defer_tree(tree, relations)


def _defer_tree(tree: object, relations: Mapping[tuple[str, str], tuple[str, str]]) -> str:
    """:func:`defer_sql` by rewriting the tree and printing it: for a reference the parse
    gave no offsets, or one written with more than a name and an alias."""
    from sqlglot import exp

    from teal.compiler.sql import DIALECT, table_references

    assert isinstance(tree, exp.Expression)
    for ref in table_references(tree):
        target = relations.get((ref.db.lower(), ref.name.lower())) if not ref.catalog else None
        if target is None:
            continue
        node = ref.node
        if not node.alias and target[1].lower() != ref.name.lower():
            node.set("alias", exp.TableAlias(this=exp.to_identifier(ref.name, quoted=True)))
        node.set("catalog", exp.to_identifier(CATALOG, quoted=True))
        node.set("db", exp.to_identifier(target[0], quoted=True))
        node.set("this", exp.to_identifier(target[1], quoted=True))
    return tree.sql(dialect=DIALECT, comments=False, pretty=True)


def defer_project(
    project: Project, selected: Iterable[str], deferred: Iterable[str], deferral: Deferral
) -> Project:
    """``project`` with the SQL of each selected model that reads a ``deferred`` model
    pointed at the deferred warehouse (its compiled SQL, its incremental variant, a
    Python asset's input queries), and its version marked as built from deferred
    relations, so that a later build without deferral does not take it as up to date.
    Such a model that is a view is built as a table: a view would name the attached
    catalog, which is gone once the build ends (:data:`AS_TABLE` says so in the plan).
    The checks of the selected models that read a deferred model read it there too
    (:func:`defer_checks`)."""
    models = project.models
    relations = {
        (models[n].schema.lower(), models[n].alias.lower()): deferral.relation(models[n])
        for n in deferred
    }
    if not relations:  # the file is attached all the same: queries at run keep out of it
        render = project.render_at_run
        wrapped = None if render is None else DeferredRender(render, {}, {}, {})
        return project if wrapped is None else evolve(project, render_at_run=wrapped)
    changed: dict[str, Model] = {}
    for name in selected:
        model = models[name]
        reads = set(upstream_candidates(project, [name]))
        if not reads & set(deferred):
            continue

        def point(sql: str | None, model: Model = model) -> str | None:
            return None if sql is None else defer_sql(sql, relations, model.display_path)

        inputs = tuple((p, point(s) or s, k) for p, s, k in model.inputs)
        marked = marked_version(model.sql_hash, reads & set(deferred), str(deferral.path))
        changed[name] = evolve(
            model,
            materialized="table" if model.materialized == "view" else model.materialized,
            compiled_sql=point(model.compiled_sql),
            incremental_sql=point(model.incremental_sql),
            inputs=inputs,
            sql_hash=marked,
        )
    checks = defer_checks(project, selected, deferred, deferral)
    if not changed and not checks and project.dbt_operations is None:
        return project
    away = {n: deferral.relation(models[n]) for n in deferred}
    render = project.render_at_run
    if render is not None:  # for every model: the file is attached beside this warehouse
        paths = {n: m.display_path for n, m in changed.items()}
        render = DeferredRender(render, away, relations, paths)
    hooks = project.hooks
    if project.dbt_operations is not None:  # a dbt project's hooks and tests read there too
        hooked = [n for n, m in changed.items() if m.pre_hooks or m.post_hooks]
        rendered, start = project.dbt_operations.deferred_hooks(hooked, away)
        for name, (pre, post) in rendered.items():
            changed[name] = evolve(changed[name], pre_hooks=pre, post_hooks=post)
        if start is not None:
            hooks = (*(h for h in project.hooks if h[0] != "start"), *start)
    render_check, run_end = project.render_check, project.render_run_end
    return evolve(
        project,
        models={**models, **changed},
        checks={**project.checks, **checks},
        render_at_run=render,
        hooks=hooks,
        render_check=None if render_check is None else partial(render_check, deferred=away),
        render_run_end=None if run_end is None else partial(run_end, deferred=away),
    )


@dataclass(frozen=True)
class DeferredRender:
    """A dbt project's ``render_at_run`` in a deferred build: a model whose Jinja queries
    the warehouse (``run_query``, ``adapter.get_columns_in_relation``, dbt_utils's
    ``star``) is rendered with ``ref()`` of a deferred model naming its relation in the
    attached catalog, in the queries the render runs as in the SQL it makes (dbt's
    ``--defer``); what the render adds that was compiled at load (the ephemeral CTEs it
    inlines) is pointed there as :func:`defer_sql` points a compiled model. Every model
    rendered at run goes through it, deferring or not: the loader's catalog lookups then
    keep out of the attached catalog for what is read here."""

    render: Callable[..., tuple[str, str | None]]
    away: Mapping[str, tuple[str, str]]  # deferred model -> (schema, alias) there
    relations: Mapping[tuple[str, str], tuple[str, str]]  # as defer_sql takes them
    paths: Mapping[str, str]  # the models pointed (defer_project's), their files

    def __call__(self, name: str, query: Callable[[str], Any]) -> tuple[str, str | None]:
        sql, incremental = self.render(name, query, self.away)
        if name not in self.paths:
            return sql, incremental
        path = self.paths[name]
        pointed = None if incremental is None else defer_sql(incremental, self.relations, path)
        return defer_sql(sql, self.relations, path), pointed


# what separates the parts of the code version a model built while deferring records
_MARK = "|deferred|"


def marked_version(own: str, deferred: Iterable[str], path: str) -> str:
    """The code version (``sql_hash``) a model built while deferring records: its own, the
    deferred models it read and the file they were read from. It differs from its own, so
    a later build without deferral (even ``--changed-only``) builds it again from this
    warehouse; it is readable, so that why can be said (:func:`built_deferring`).

    >>> marked_version("ab12", ["stg_b", "stg_a"], "/prod.duckdb")
    'ab12|deferred|stg_a,stg_b|/prod.duckdb'
    """
    return f"{own}{_MARK}{','.join(sorted(deferred))}|{path}"


def built_deferring(recorded: str | None, current: str) -> str | None:
    """Why a model whose recorded code version is ``recorded`` and whose version now is
    ``current`` is to be built again, when only deferral differs between them (built
    while deferring and now without, or the other way, or deferring otherwise): what
    ``teal plan``, ``teal partitions`` and the UI say instead of "code changed". None
    when its code differs (or nothing does).

    >>> built_deferring("ab12|deferred|stg_a,stg_b|/prod.duckdb", "ab12")
    'built while deferring to /prod.duckdb: reads stg_a, stg_b there'
    >>> built_deferring("ab12", "ab12|deferred|stg_a|/prod.duckdb")
    'built without deferring; reads stg_a from /prod.duckdb now'
    >>> built_deferring("ab12|deferred|stg_a|/prod.duckdb", "cd34") is None
    True
    """
    if recorded is None or recorded == current:
        return None
    own, then = _marked(recorded)
    now_own, now = _marked(current)
    if own != now_own:
        return None
    said = (
        f"built while deferring to {then[1]}: reads {', '.join(then[0])} there"
        if then is not None
        else "built without deferring"
    )
    if now is not None:
        said += f"; reads {', '.join(now[0])} from {now[1]} now"
    return said


def _marked(version: str) -> tuple[str, tuple[list[str], str] | None]:
    """(own code version, (deferred models, file) or None) of a :func:`marked_version`."""
    own, mark, rest = version.partition(_MARK)
    if not mark:
        return version, None
    names, _, path = rest.partition("|")
    return own, (names.split(","), path)


def defer_checks(
    project: Project, names: Iterable[str], deferred: Iterable[str], deferral: Deferral
) -> dict[str, CheckDef]:
    """The checks of ``names`` that read a ``deferred`` model, by name, pointed at the
    deferred warehouse as the models' SQL is: a ``relationships`` check's parent
    relation, and the references of a singular or custom check's SQL. A check reading
    only its own model is left out (unchanged); so is a Python check, whose inputs are
    loaded by name (it reads this warehouse)."""
    from teal.compiler.sql import quote_identifier

    models = project.models
    away = {n: deferral.relation(models[n]) for n in deferred}
    relations = {(models[n].schema.lower(), models[n].alias.lower()): r for n, r in away.items()}
    out: dict[str, CheckDef] = {}
    for name in names:
        for check in project.checks_of(name):
            reads = [r for r in check.reads if r in away]
            if not reads or check.kind == "python":
                continue
            changes: dict[str, object] = {}
            if check.to_relation is not None and check.kind == "relationships":
                parent = ".".join(map(quote_identifier, (CATALOG, *away[reads[0]])))
                changes["to_relation"] = parent
            if check.sql is not None:
                where = check.path or models[name].display_path
                changes["sql"] = defer_sql(check.sql, relations, where)
            if changes:
                out[check.name] = evolve(check, **changes)
    return out


def bind_project(
    project: Project, columns: Mapping[str, Columns], reasons: Mapping[str, str] | None = None
) -> Project:
    """``project`` as the selection is bound against it: each deferred model (a key of
    ``columns``) stands for its relation in the deferred warehouse, a relation of known
    columns and types read from nothing (bound like a Python asset that declares its
    columns), so a selected model is bound against the columns it will read, and what
    lies below a deferred model is not bound at all. ``reasons``: where each is read from
    (``read from PATH (not built here)``), kept in its config as :data:`DEFERRED_KEY` for
    the binding's errors to say."""
    if not columns:
        return project
    changed = {
        name: evolve(
            project.models[name],
            kind="python",
            upstreams=(),
            source_tables=(),
            raw_sql=None,
            rendered_sql=None,
            compiled_sql=None,
            incremental_sql=None,
            partitions=None,
            declared=(),
            config={"columns": dict(typed), DEFERRED_KEY: (reasons or {}).get(name, "")},
        )
        for name, typed in columns.items()
    }
    return evolve(project, models={**project.models, **changed})
