"""Which model or source table a table named in a model's query reads, by the names the
load resolved (compiler/resolve.py): what the column tracer and the type checks resolve
each table node of a parsed query to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from teal.compiler.templating import REF_MARKER, SOURCE_MARKER_PREFIX

if TYPE_CHECKING:
    from sqlglot import exp

    from teal.compiler.project import Model, Project


def query_reads(project: Project, model: Model) -> tuple[str, ...]:
    """What ``model``'s query may name: its upstreams and source tables and, below each
    ephemeral upstream, what that one reads (dbt inlines an ephemeral model as a CTE of
    its reader's compiled SQL, which then names the ephemeral's upstreams itself)."""
    out = dict.fromkeys((*model.upstreams, *model.source_tables))
    models = project.models
    stack = [u for u in model.upstreams if models[u].materialized == "ephemeral"]
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        ephemeral = models[name]
        for key in (*ephemeral.upstreams, *ephemeral.source_tables):
            out.setdefault(key)
            if key in models and models[key].materialized == "ephemeral":
                stack.append(key)
    return tuple(out)


class TableKeys:
    """Which model or source table a table named in a query reads, as the load resolved
    it (compiler/resolve.py): ``ref()``/``source()`` markers, ``source.table``, a model's
    relation, a model's name, the one source table of that name."""

    def __init__(self, project: Project) -> None:
        self.models = {name.lower(): name for name in project.models}
        self.relations = {
            m.relation.lower(): name
            for name, m in project.models.items()
            if m.materialized != "ephemeral"
        }
        self.project = project
        self.sources = project.sources
        by_name: dict[str, list[str]] = {}
        for source in project.sources.values():
            for table in source.tables.values():
                by_name.setdefault(table.name.lower(), []).append(table.key)
        self.source_by_name = {n: keys[0] for n, keys in by_name.items() if len(keys) == 1}
        # a source table named by where it is (dbt's source() renders its relation there)
        self.source_at = {
            table.location.lower(): table.key
            for source in project.sources.values()
            for table in source.tables.values()
            if source.kind in ("warehouse", "duckdb")
        }

    def resolve(self, table: exp.Table, model: Model) -> str | None:
        """The key ``table`` reads in ``model``, None for the model itself or unknown names;
        only keys the model was found to read count."""
        key = self._key(table.name, table.db, table.catalog)
        if key is None or key == model.name:
            return None
        if key in model.upstreams or key in model.source_tables:
            return key
        if key in query_reads(self.project, model):  # below an ephemeral dbt inlined
            return key
        return None

    def _key(self, name: str, db: str, catalog: str) -> str | None:
        lname = name.lower()
        if db == REF_MARKER:
            return self.models.get(lname)
        if db.startswith(SOURCE_MARKER_PREFIX):
            return self._source(db[len(SOURCE_MARKER_PREFIX) :], lname)
        if catalog:
            return self._source(catalog, lname) or self.source_at.get(f"{catalog}.{db}.{lname}")
        if db:
            located = f"{db}.{name}".lower()
            return (
                self._source(db, lname)
                or self.relations.get(located)
                or self.source_at.get(located)
            )
        return self.models.get(lname) or self.source_by_name.get(lname)

    def _source(self, source: str, table: str) -> str | None:
        src = self.sources.get(source)
        if src is None or table not in src.tables:
            return None
        return src.tables[table].key
