"""The third stage of a load: every table a model reads resolved to a model or a source.

A SQL model's references resolve by what they say: ``ref('x')`` and ``source('s', 't')``
markers exactly; ``s.t`` as a source table, else as the model building relation ``s.t``;
a bare name as a model, else as the one source table of that name; a three-part name as a
table of an attached DuckDB source. A Python asset's upstreams are its parameter names
(models, or source tables as ``table`` or ``source__table``) and its ``deps=``. What does
not resolve is an error at the reference's line and column in the model's own file, with
the closest names as a hint.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from teal.compiler.errors import LineageError, ProjectError, TealError, did_you_mean
from teal.compiler.param_position import param_position
from teal.compiler.sources import Source
from teal.compiler.templating import REF_MARKER, SOURCE_MARKER_PREFIX

if TYPE_CHECKING:
    from teal.compiler.sql import TableRef
    from teal.compiler.stage import Rendering, StagedModel


# Reference and PythonInput are immutable tuples rather than frozen dataclasses: one is made
# for every table every model reads, on every load, and a tuple is much cheaper to make.


class Reference(NamedTuple):
    """One table reference of a SQL model, resolved."""

    ref: TableRef
    kind: str  # "model" | "source"
    key: str  # the model's name, or "source.table"


class PythonInput(NamedTuple):
    """An upstream parameter of a Python asset, resolved."""

    param: str
    kind: str  # "model" | "source"
    key: str


@dataclass(frozen=True, eq=False)
class ResolvedModel:
    """A staged model with what it reads."""

    staged: StagedModel
    upstreams: tuple[str, ...]  # models it reads or depends on, sorted
    source_tables: tuple[str, ...]  # "source.table" keys, sorted
    references: tuple[Reference, ...] = ()  # SQL models: of the full rendering
    incremental_references: tuple[Reference, ...] = ()  # and of the is_incremental() one
    inputs: tuple[PythonInput, ...] = ()  # Python models: upstream parameters

    @property
    def name(self) -> str:
        return self.staged.name


class Resolver:
    """Resolves the references of one project's models."""

    def __init__(
        self,
        sources: dict[str, Source],
        model_names: dict[str, str],
        disabled: set[str],
        resources: tuple[str, ...] = (),
    ) -> None:
        self.sources = sources
        self.model_names = model_names  # lower-case name -> name, of the enabled models
        self.disabled = disabled  # names of models switched off with enabled=false
        self.resources = resources  # the project's resources, named in messages
        self.by_relation: dict[str, str] = {}  # "schema.alias" (lower-case) -> model name

    def index_relations(self, staged: dict[str, StagedModel]) -> list[TealError]:
        """Learn which relation each model builds; two models building one is an error."""
        errors: list[TealError] = []
        for m in staged.values():
            rel = f"{m.schema}.{m.alias}".lower()
            if rel in self.by_relation and m.materialized != "ephemeral":
                other = staged[self.by_relation[rel]]
                errors.append(
                    ProjectError(
                        f"models '{other.name}' ({other.display_path}) and '{m.name}' both "
                        f"build relation {rel}",
                        path=m.display_path,
                        hint="give one of them another schema or alias",
                    )
                )
            self.by_relation[rel] = m.name
        return errors

    def resolve(self, m: StagedModel) -> ResolvedModel:
        upstreams: set[str] = set()
        source_tables: set[str] = set()
        if m.kind == "python":
            inputs = self._resolve_python(m, upstreams, source_tables)
            return ResolvedModel(
                m, tuple(sorted(upstreams)), tuple(sorted(source_tables)), inputs=inputs
            )
        variant: tuple[Reference, ...] = ()
        if m.incremental is not None:  # may read other tables (often `this`)
            variant = self._resolve_refs(m, m.incremental, upstreams, source_tables)
        assert m.full is not None  # a SQL model is parsed
        references = self._resolve_refs(m, m.full, upstreams, source_tables)
        resolved = ResolvedModel(
            m,
            tuple(sorted(upstreams)),
            tuple(sorted(source_tables)),
            references=references,
            incremental_references=variant,
        )
        if any(
            r.kind == "model" and r.key == m.name and r.ref.db in ("", REF_MARKER)
            for r in references
        ):
            raise self._reads_itself(resolved)
        return resolved

    def _reads_itself(self, r: ResolvedModel) -> LineageError:
        """A model whose full build reads itself by its name (or ``ref``): a cycle of one.
        Its first build finds no table, and each later one reads its previous result.
        ``{{ this }}`` (a qualified relation) says the author means the existing table."""
        m = r.staged
        line, col, text = _reference_position(r, m.name)
        return LineageError(
            f"models form a cycle: {m.name} ({m.display_path}) reads itself",
            path=m.display_path,
            line=line,
            col=col,
            source_line=text,
            hint="a build creates the model from what it reads, so it cannot read its own "
            "table; an incremental model reads its existing rows with {{ this }} inside "
            "{% if is_incremental() %}",
        )

    def check_partition_mapping(self, r: ResolvedModel) -> None:
        """Every partition_mapping entry names something the model reads, with a known mapping
        (checked even where it has no effect yet, so that a typo does not go unnoticed)."""
        from teal.compiler.partitions import parse_mapping

        m = r.staged
        reads = {
            *r.upstreams,
            *r.source_tables,
            *(k.split(".", 1)[1] for k in r.source_tables),
        }
        for name, spec in (m.config.get("partition_mapping") or {}).items():
            parse_mapping(spec, path=m.display_path, line=m.line)
            if name not in reads:
                raise ProjectError(
                    f"partition_mapping names '{name}', which model '{m.name}' does not read",
                    path=m.display_path,
                    line=m.line,
                    hint=did_you_mean(str(name), reads)
                    or "its keys are the upstream models or sources the model reads: "
                    + (", ".join(sorted(reads)) or "none"),
                )

    def cycle_error(self, cycle: list[str], resolved: dict[str, ResolvedModel]) -> LineageError:
        """The error for models that read each other in a circle, at the first reference."""
        chain = " -> ".join(f"{n} ({resolved[n].staged.display_path})" for n in cycle)
        first = resolved[cycle[0]]
        line, col, text = _reference_position(first, cycle[1])
        return LineageError(
            f"models form a cycle: {chain}",
            path=first.staged.display_path,
            line=line,
            col=col,
            source_line=text,
            hint="each arrow means 'reads'; break the cycle by removing one of these references",
        )

    # -- SQL models -----------------------------------------------------------------------
    def _resolve_refs(
        self,
        m: StagedModel,
        rendering: Rendering,
        upstreams: set[str],
        source_tables: set[str],
    ) -> tuple[Reference, ...]:
        found = []
        for ref in rendering.refs:
            target = self._resolve_ref(ref)
            if target is None:
                rendered = rendering.rendered
                text_lines = (m.raw_sql or "").splitlines()
                src_line = rendered.line_of(ref.line) if ref.line else None
                col = ref.col
                source_line = (
                    text_lines[src_line - 1] if src_line and src_line <= len(text_lines) else None
                )
                if source_line is not None and ref.name and rendered.sql != rendered.source:
                    out_lines = rendered.sql.splitlines()
                    out_line = (
                        out_lines[ref.line - 1] if ref.line and ref.line <= len(out_lines) else None
                    )
                    col = _source_col(source_line, out_line, col, ref.name)
                raise LineageError(
                    f"'{_display_ref(ref)}' is not a model or a declared source",
                    path=m.display_path,
                    line=src_line,
                    col=col,
                    source_line=source_line,
                    hint=self._ref_hint(ref),
                )
            kind, key = target
            if kind == "model":
                if key != m.name:
                    upstreams.add(key)
            else:
                source_tables.add(key)
            found.append(Reference(ref, kind, key))
        return tuple(found)

    def _resolve_ref(self, ref: TableRef) -> tuple[str, str] | None:
        name, db, catalog = ref.name, ref.db, ref.catalog
        lname = name.lower()
        if db == REF_MARKER:
            model = self.model_names.get(lname)
            return ("model", model) if model else None
        if db.startswith(SOURCE_MARKER_PREFIX):
            return self._source_key(db[len(SOURCE_MARKER_PREFIX) :], lname)
        if catalog:
            src = self.sources.get(catalog)
            if src is not None and src.kind == "duckdb":
                return self._source_key(catalog, lname)
            return None
        if db:
            hit = self._source_key(db, lname)
            if hit:
                return hit
            model = self.by_relation.get(f"{db}.{name}".lower())
            return ("model", model) if model else None
        model = self.model_names.get(lname)
        if model:
            return ("model", model)
        matches = [
            t.key
            for s in self.sources.values()
            for t in s.tables.values()
            if t.name.lower() == lname
        ]
        if len(matches) == 1:
            return ("source", matches[0])
        return None

    def _source_key(self, source: str, table: str) -> tuple[str, str] | None:
        src = self.sources.get(source)
        if src is None or table not in src.tables:
            return None
        return ("source", src.tables[table].key)

    def _ref_hint(self, ref: TableRef) -> str:
        if ref.name in self.disabled:
            return f"model '{ref.name}' is disabled (enabled=false); enable it or stop reading it"
        candidates = list(self.model_names.values())
        for src in self.sources.values():
            candidates += [t.key for t in src.tables.values()]
        name = ref.name if ref.db in ("", REF_MARKER) else f"{ref.db}.{ref.name}"
        if ref.db.startswith(SOURCE_MARKER_PREFIX):
            name = f"{ref.db[len(SOURCE_MARKER_PREFIX) :]}.{ref.name}"
        return (
            did_you_mean(name, candidates)
            or did_you_mean(ref.name, candidates)
            or (
                "declare it as a source (sources: in a YAML file beside the models) "
                "or add a model with that name"
            )
        )

    # -- Python models --------------------------------------------------------------------
    def _resolve_python(
        self, m: StagedModel, upstreams: set[str], source_tables: set[str]
    ) -> tuple[PythonInput, ...]:
        definition = m.asset
        assert definition is not None  # a Python model is an asset
        source_by_name: dict[str, list[str]] = {}
        for src in self.sources.values():
            for t in src.tables.values():
                source_by_name.setdefault(t.name.lower(), []).append(t.key)
                source_by_name.setdefault(f"{src.name}__{t.name}".lower(), []).append(t.key)
        inputs = []
        for param in (*definition.upstream_params, *definition.deps):
            key = param.lower()
            is_param = param in definition.upstream_params
            if key in self.model_names and self.model_names[key] != m.name:
                upstreams.add(self.model_names[key])
                if is_param:
                    inputs.append(PythonInput(param, "model", self.model_names[key]))
            elif len(source_by_name.get(key, [])) == 1:
                source_tables.add(source_by_name[key][0])
                if is_param:
                    inputs.append(PythonInput(param, "source", source_by_name[key][0]))
            else:
                what = "parameter" if is_param else "deps entry"
                declared = "resources: " + ", ".join(self.resources) if self.resources else "none"
                # the parameter itself, not the decorator above a long signature
                found = param_position(m.path, m.line, param) if is_param else None
                line, col, text = found or (m.line, None, None)
                raise LineageError(
                    f"{what} '{param}' of asset '{definition.name}' is not a model"
                    + (
                        ", a declared source or a resource" if is_param else " or a declared source"
                    ),
                    path=m.display_path,
                    line=line,
                    col=col,
                    source_line=text,
                    hint=(
                        f"model '{param}' is disabled (enabled=false); enable it or stop reading it"
                        if param in self.disabled
                        else None
                    )
                    or did_you_mean(
                        param,
                        [n for n in self.model_names.values() if n != m.name] + [*self.resources],
                    )
                    or (
                        "parameters name upstream models, sources or resources (or `context`); "
                        f"a resource is declared under [resources.{param}] in teal.toml, or "
                        f"passed as teal.materialize(..., resources={{'{param}': ...}}) "
                        f"(declared {declared})"
                        if is_param
                        else "deps name upstream models or sources"
                    ),
                )
        return tuple(inputs)


def _reference_position(
    r: ResolvedModel, upstream: str
) -> tuple[int | None, int | None, str | None]:
    """Where model ``r`` reads ``upstream``: (line, col, source line) in its own file."""
    m = r.staged
    for found in r.references:
        ref = found.ref
        if found.kind == "model" and found.key == upstream and ref.line and m.full is not None:
            rendered, lines = m.full.rendered, (m.raw_sql or "").splitlines()
            line = rendered.line_of(ref.line)
            text = lines[line - 1] if 0 < line <= len(lines) else None
            col = ref.col
            if text is not None and rendered.sql != rendered.source:
                at = text.find(ref.name)
                col = at + 1 if at >= 0 else None  # not the rendered line's column
            return line, col, text
    return m.line, None, None


def _display_ref(ref: TableRef) -> str:
    if ref.db == REF_MARKER:
        return f"ref('{ref.name}')"
    if ref.db.startswith(SOURCE_MARKER_PREFIX):
        return f"source('{ref.db[len(SOURCE_MARKER_PREFIX) :]}', '{ref.name}')"
    return str(ref)


def _source_col(
    source_line: str, rendered_line: str | None, col: int | None, name: str
) -> int | None:
    """The column in the file of a table name found at ``col`` of a line Jinja rendered
    (None: it cannot be told)."""
    if col is None or rendered_line is None or rendered_line == source_line:
        return col
    start = col - 1
    matcher = difflib.SequenceMatcher(None, rendered_line, source_line, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        if a <= start and start + len(name) <= a + size:  # the name is text Jinja left alone
            return b + start - a + 1
    found = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", source_line, re.IGNORECASE)
    return found.start() + 1 if found else None
