"""Deferral at run time: which upstreams a selection reads from the deferred warehouse.

``Session.build`` calls :func:`before_open` and :func:`bind_deferred` before its
warehouse is opened or created: the deferred file's columns are read (its errors come
first), what is built here is judged from the kept state (:func:`built_here`: recorded by
teal, or its relation exists, dbt's rule), and the selection is bound against the
deferred relations; ``Session.plan`` settles the same way (:func:`settle_selection`). The
result, :class:`Deferred`, gives the project the selection is bound against and the
project the plan is made and carried out from (compiler/deferral.py). Imported only when
deferring.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

from teal.compiler.deferral import (
    AS_TABLE,
    Columns,
    Deferral,
    DeferredRead,
    bind_project,
    check_reads,
    defer_checks,
    defer_project,
    deferred_models,
    inlined_ephemerals,
    upstream_candidates,
)
from teal.compiler.errors import ProjectError, TealError, line_col, raise_all
from teal.compiler.frozen import evolve
from teal.warehouse.engine import sql_problems

if TYPE_CHECKING:
    from datetime import datetime

    from teal.compiler.config import ProjectConfig
    from teal.compiler.partition_records import PartitionRecords
    from teal.compiler.plan import Plan, PlanOptions, PlanState
    from teal.compiler.project import Model, Project
    from teal.compiler.sources import Source
    from teal.runtime.run_options import RunOptions
    from teal.runtime.session import Selection, Session


@dataclass(frozen=True)
class Deferred:
    """The upstreams a run reads from the deferred warehouse, with their columns there."""

    deferral: Deferral
    columns: Mapping[str, Columns]  # deferred model -> its relation's columns there
    built_here: frozenset[str]  # of those, the ones built here too (--favor-state)
    # of those, the ones only checks read (a relationships check's parent, ...)
    by_checks: frozenset[str] = frozenset()
    selected: tuple[str, ...] = ()  # the selection, in build order, computed once
    project: Project | None = field(default=None, repr=False, compare=False)

    @property
    def models(self) -> list[str]:
        return sorted(self.columns)

    def reasons(self, project: Project | None = None) -> dict[str, DeferredRead]:
        """What ``teal plan`` says of each deferred model (``project``: to name its
        relation there; the session's, when built from one)."""
        where, known = str(self.deferral.path), project or self.project
        models = known.models if known is not None else {}
        return {
            name: DeferredRead(
                where,
                ".".join(self.deferral.relation(models[name])) if name in models else name,
                "--favor-state; built here too" if name in self.built_here else "not built here",
                name in self.by_checks,
            )
            for name in sorted(self.columns)
        }

    def bind_project(self, project: Project) -> Project:
        said = {n: str(r) for n, r in self.reasons(project).items()}
        return bind_project(project, self.columns, said)

    def partitions_there(
        self, config: ProjectConfig, project: Project, plan: Plan
    ) -> dict[str, PartitionRecords]:
        """The partitions of each deferred partitioned model as the deferred file's state
        records them (read-only), for a ``plan`` that builds partitions: what the build's
        warning of unbuilt upstream partitions judges a deferred upstream by. A model the
        file keeps no record of (a warehouse teal did not build) is left out, unjudged."""
        wanted = [n for n in self.models if project.models[n].partitions is not None]
        if not wanted or not any(s.partitions for s in plan.steps):
            return {}
        from teal.runtime.kept_state import read_plan_state

        assert self.deferral.path is not None
        there = read_plan_state(config, self.deferral.path).partitions
        return {n: there[n] for n in wanted if n in there}

    def partly_built(
        self, project: Project, plan: Plan, state: PlanState, now: datetime | None
    ) -> list[TealError]:
        """A warning for each partitioned upstream read here (built here, so not deferred:
        dbt's rule, its relation exists) of which this warehouse has built only some
        partitions, read whole by a model ``plan`` builds (one that is not partitioned;
        a partitioned one is warned of the keys it reads, validate.py): it is built from
        those partitions' rows alone, without a word, though the deferred file may hold
        them all. A model with no partition records here (built by dbt) is not judged."""
        from teal.compiler.errors import SelectionError

        planned = {s.model for s in plan.steps}
        out: list[TealError] = []
        for step in plan.steps:
            reader = project.models[step.model]
            if reader.partitions is not None:
                continue
            for up in upstream_candidates(project, [step.model]):
                definition = project.models[up].partitions
                if up in planned or up in self.columns or definition is None:
                    continue
                records = state.partitions.get(up)
                if records is None:
                    continue
                keys = definition.keys(now)
                built = {k for k, status in records.columns("status") if status == "success"}
                have = len(built & set(keys))
                if not keys or have >= len(keys):
                    continue
                where = self.deferral.path
                built_n = f"{have} of its {len(keys)} partitions " + ("is" if have == 1 else "are")
                rows = "that partition's rows" if have == 1 else f"those {have} partitions' rows"
                out.append(
                    SelectionError(
                        f"{reader.name} reads {up} here, where only {built_n} built: {up} "
                        f"counts as built here (its relation exists), so it is not read from "
                        f"{where}, and {reader.name} is built from {rows} alone",
                        path=reader.display_path,
                        hint=f"--favor-state reads {up} from {where} (production's "
                        f"partitions); or build {up}'s other partitions here first",
                    )
                )
        return out

    def options(self, options: PlanOptions) -> PlanOptions:
        """``options`` naming the deferred models: a check that failed in this warehouse
        on or below one of them blocks nothing (compiler/passes.block_failed_upstreams)."""
        return replace(options, deferred=frozenset(self.columns))

    def run_project(self, project: Project, selected: list[str] | None = None) -> Project:
        chosen = list(self.selected) if selected is None else selected
        return defer_project(project, chosen, self.models, self.deferral)

    def plan(self, plan: Plan, project: Project, run: Project) -> Plan:
        """``plan`` (made from ``run``, this deferral's project of ``project``) saying what
        it defers, and which views it builds as tables."""
        steps = [
            evolve(s, reason=f"{s.reason}; {AS_TABLE}")
            if s.action == "table" and project.models[s.model].materialized == "view"
            else s
            for s in plan.steps
        ]
        return replace(plan.with_steps(steps), deferred=self.reasons(project))


def resolved(session: Session) -> Deferral:
    """``session.defer`` with its file and relations known: a dbt ``--defer --state DIR``
    reads them from DIR's manifest (compiler/dbt/deferral.py), once."""
    deferral = session.defer
    assert deferral is not None
    if deferral.manifest is not None:
        from teal.compiler.dbt.deferral import manifest_deferral

        deferral = manifest_deferral(
            session.project, deferral.manifest, deferral.path, deferral.favor_state
        )
        session.defer = deferral
    return deferral


def read_candidates(
    config: ProjectConfig,
    project: Project,
    deferral: Deferral,
    selected: list[str],
    wait: float | None = None,
) -> dict[str, Columns]:
    """The columns in the deferred file of every unselected upstream of ``selected`` that
    is there, and of every model their checks read (one read-only catalog query). The
    file must exist, be a DuckDB database, and not be this warehouse; ``wait``: seconds
    to wait while another process writes it (``--wait``)."""
    from teal.warehouse.engine import deferred_columns

    here, there = config.warehouse_path, deferral.path
    assert there is not None
    if str(here) != ":memory:" and there.is_file() and _same_file(here, there):
        raise ProjectError(
            f"{deferral.flag} {there} is this warehouse: nothing can be read from it that "
            "is not built here",
            hint=f"point {deferral.flag} at production's warehouse file",
        )
    candidates = {*upstream_candidates(project, selected), *check_reads(project, selected)}
    relations = {n: deferral.relation(project.models[n]) for n in sorted(candidates)}
    found = deferred_columns(config, there, relations.values(), deferral.flag, wait)
    out = {}
    for name, (schema, alias) in relations.items():
        columns = found.get((schema.lower(), alias.lower()))
        if columns:
            out[name] = columns
    return out


def settle(
    project: Project,
    deferral: Deferral,
    selected: list[str],
    built: Collection[str],
    available: Mapping[str, Columns],
    checks: bool = True,
) -> Deferred:
    """Which upstreams are deferred, given the models ``built`` here; one not in the
    deferred file either is an error naming it and the file. A model only the selected
    models' checks read is deferred the same way when the file has it (one it lacks is
    read here: its checks say what is missing, as they would without deferral); with
    ``checks`` false (``teal run``: no check runs) it is not read at all, so not deferred."""
    deferred = deferred_models(project, selected, built, deferral.favor_state)
    dbt = project.config.dbt is not None
    raise_all(
        [missing(project, deferral, n, selected, dbt) for n in deferred if n not in available]
    )
    raise_all(queried_at_load(project, deferral, selected, deferred))
    by_checks = [
        n
        for n in (check_reads(project, selected) if checks else [])
        if n not in deferred and n in available and (deferral.favor_state or n not in built)
    ]
    chosen = {n: available[n] for n in [*deferred, *by_checks]}
    built_here = frozenset(n for n in chosen if n in built)
    return Deferred(deferral, chosen, built_here, frozenset(by_checks), tuple(selected), project)


def queried_at_load(
    project: Project, deferral: Deferral, selected: list[str], deferred: Collection[str]
) -> list[TealError]:
    """An error for each ephemeral model the selection inlines whose Jinja queried the
    warehouse when the project loaded (``run_query``, ``adapter``) and which reads a
    ``deferred`` model: its SQL is inlined into its readers at load, so its queries read
    this warehouse, never the deferred one (a model rendered when the build runs it is
    pointed there, compiler/deferral.DeferredRender). Refused rather than built from
    this warehouse's rows (``--favor-state``) without a word."""
    away = set(deferred)
    out: list[TealError] = []
    for name in inlined_ephemerals(project, selected):
        model = project.models[name]
        reads = sorted(set(upstream_candidates(project, [name])) & away)
        if not model.config.get("render_at_run") or not reads:
            continue
        readers = [n for n in selected if name in inlined_ephemerals(project, [n])]
        line, col, config = _ephemeral_spots(model, reads)
        where = f" (line {config} sets materialized='ephemeral')" if config else ""
        out.append(
            ProjectError(
                f"ephemeral model '{name}' (inlined into {', '.join(readers)}) queries the "
                f"warehouse in its Jinja (run_query, adapter) when the project loads; "
                f"{deferral.flag} does not reach those queries, which would read "
                f"{', '.join(reads)} here, not from {deferral.path}",
                path=model.display_path,
                line=line,
                col=col,
                source_line=_line_text(model.raw_sql, line),
                hint=f"make '{name}' a view or table{where}, whose Jinja's queries are "
                "rendered when the build runs it and read the deferred models there; or "
                f"select {', '.join(reads)} too, so that it is built and read here",
            )
        )
    return out


def _ephemeral_spots(model: Model, reads: list[str]) -> tuple[int, int | None, int | None]:
    """Where :func:`queried_at_load` locates its error in ``model``'s file: (line, col) of
    its first ``ref()`` of a deferred model it reads (else the line of its
    ``materialized='ephemeral'``, else its first line), and the line of that setting
    when the file writes it, for the hint."""
    import re

    def position(pattern: str) -> tuple[int, int] | None:
        m = re.search(pattern, text)
        return None if m is None else line_col(text, m.start())

    text = model.raw_sql or ""
    quoted = "|".join(re.escape(n) for n in reads)
    ref = position(r"\bref\s*\(\s*(['\"]\w+['\"]\s*,\s*)?['\"](" + quoted + r")['\"]")
    config = position(r"materialized\s*[=:]\s*['\"]ephemeral['\"]")
    line, col = ref or config or (model.line or 1, None)
    return line, col, None if config is None else config[0]


def _line_text(text: str | None, line: int) -> str | None:
    lines = (text or "").splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def missing(
    project: Project, deferral: Deferral, name: str, selected: list[str], dbt: bool
) -> ProjectError:
    """The error of a deferred model the deferred file lacks: a dbt ``--state`` manifest
    with no node of it (a new model), or a relation the file does not have."""
    model = project.models[name]
    schema, alias = deferral.relation(model)
    where = f"model '{name}' is not selected and not built in this warehouse"
    select_it = f"select it too (-s {name}+ builds it and what reads it"
    if deferral.state_dir is not None and name not in deferral.in_manifest:
        return ProjectError(
            f"{where}, and the manifest in --state {deferral.state_dir} has no node for it "
            "(a new model): production has not built it",
            path=model.display_path,
            line=model.line or 1,
            hint=f"{select_it}; -s state:new+ or state:modified+ selects every new model)",
        )
    said = (
        f"{deferral.path} has no {schema}.{alias}, where the manifest in --state "
        f"{deferral.state_dir} says production built it"
        if deferral.state_dir is not None
        else f"{deferral.flag} {deferral.path} has no {schema}.{alias} either"
    )
    other = (
        "; in a dbt project, --defer --state DIR reads each relation where production's "
        "manifest says it is (its schemas may not be this target's)"
        if dbt and deferral.state_dir is None
        else ""
    )
    return ProjectError(
        f"{where}, and {said}",
        path=model.display_path,
        line=model.line or 1,
        hint=f"{select_it}; -s +{selected[-1]} builds everything upstream), or build it in "
        f"{deferral.path} first{other}",
    )


def built_here(project: Project, state: PlanState) -> frozenset[str]:
    """The models built in this warehouse, as dbt's ``--defer`` judges it: recorded by
    teal (``state.models``), or whose relation exists in this warehouse's catalog (a
    relation dbt, or anything else, made). ``state`` is the kept state, which lists the
    catalog (``PlanState.relations``, read once with the state)."""
    listed = state.relations or frozenset()
    return frozenset(
        name
        for name, model in project.models.items()
        if name in state.models or f"{model.schema}.{model.alias}".lower() in listed
    )


def _same_file(a: object, b: object) -> bool:
    import os

    try:
        return os.path.samefile(str(a), str(b))
    except OSError:
        return False


def before_open(
    session: Session,
    select: Selection,
    exclude: Selection,
    wait: float | None = None,
    checks: bool = True,
) -> tuple[Deferred, dict[str, Source]]:
    """What a deferred build knows before it opens (or creates) its warehouse: the
    selection (computed once: a ``state:`` selector reads the kept state here, never
    beside the build's own open), the columns of its upstreams in the deferred file
    (whose errors come first), which of them are deferred (what is built here judged from
    the kept state, as the build would read it), and that file as the source the
    warehouse attaches. A deferred model the file lacks is an error here, before this
    warehouse is opened or created. ``checks``: whether the run's checks run (``teal
    run``'s do not: what only they read is not deferred, nor said to be)."""
    from teal.compiler.deferral import CATALOG
    from teal.warehouse.engine import deferred_source

    deferral = resolved(session)
    assert deferral.path is not None
    chosen = session.select(select, exclude)
    available = read_candidates(session.config, session.project, deferral, chosen, wait)
    built = built_here(session.project, session.state())
    found = settle(session.project, deferral, chosen, built, available, checks)
    session._deferred = found
    return found, {CATALOG: deferred_source(deferral.path)}


def defer_one(session: Session, name: str) -> tuple[Project, dict[str, Source], str | None]:
    """``teal show -s NAME --defer-to PATH``: the project whose model NAME reads its
    deferred upstreams from PATH (its SQL, and its Jinja's queries when it is rendered
    now: ``render_at_run``), the source that attaches PATH, and a note of what it defers
    (the state said what is built here without holding the warehouse)."""
    from teal.runtime.run_options import RunOptions

    found, attached = before_open(session, [name], None)
    bind_deferred(session, found, RunOptions())  # the build's located errors, not DuckDB's
    where, read = found.deferral.path, [n for n in found.models if n not in found.by_checks]
    said = f"reads {', '.join(read)} from {where} (deferred)" if read else None
    return found.run_project(session.project), attached, said


def settle_selection(
    session: Session,
    select: Selection,
    exclude: Selection,
    state: PlanState,
    available: Mapping[str, Columns] | None = None,
) -> Deferred:
    """The upstreams of ``session``'s selection read from its deferred warehouse, given
    what ``state`` says is built here (kept on the session for ``bind_edited``);
    ``available``: their columns there, if read already."""
    deferral = resolved(session)
    names = session.select(select, exclude)
    if available is None:
        available = read_candidates(session.config, session.project, deferral, names)
    found = settle(session.project, deferral, names, built_here(session.project, state), available)
    session._deferred = found
    return found


def bind_deferred(session: Session, found: Deferred, run: RunOptions) -> None:
    """What a deferred build (and compile) does after :func:`before_open`, still before
    the warehouse is opened or created: the selection bound against the deferred
    relations' columns, so that a binding mistake changes and creates nothing. The build
    then plans and carries out :meth:`Deferred.run_project`'s SQL, which reads them
    there; deferred models get no step, so no state row records them as built here."""
    from teal.runtime.validate import bind_selection

    if run.bind:
        names = list(found.selected)
        raise_all(sql_problems(session.config, [session.project.models[n] for n in names]))
        # the ephemerals the selection inlines run with it: their references are bound
        # against the deferred relations too, and their mistakes reported
        bound = [*inlined_ephemerals(session.project, names), *names]
        # a dbt model whose Jinja queries the warehouse is rendered again when the build
        # runs it, reading the deferred models there: its SQL rendered at load (against
        # this warehouse) is not what runs, so it is not bound
        away = set(found.models)
        models = session.project.models
        bound = [
            n
            for n in bound
            if not models[n].config.get("render_at_run")
            or not away & set(upstream_candidates(session.project, [n]))
        ]
        against = found.bind_project(session.project)
        session._bound = bind_selection(against, bound, None, session.readable_store)


@contextmanager
def running(session: Session, project: Project) -> Iterator[None]:
    """``session`` carrying out a plan of ``project`` (:meth:`Deferred.run_project`'s):
    the executor reads its models' SQL from the session's project."""
    original = session._project
    session._project = project
    try:
        yield
    finally:
        session._project = original


def for_checks(
    session: Session, names: list[str], only: frozenset[str] | None
) -> tuple[Project, dict[str, Source], dict[str, DeferredRead]]:
    """``teal check``/``teal test`` with ``--defer-to``: the project whose checks of
    ``names`` (``only``: just these checks) read the models they read besides their own
    from the deferred file, when those are not among ``names`` and not built here (every
    one, ``--favor-state``) and the file has them; the source that attaches the file;
    and what is read there, as ``teal plan`` says it. The checked models themselves are
    read here (built or not, as without deferral)."""
    from teal.compiler.deferral import CATALOG
    from teal.warehouse.engine import deferred_source

    deferral = resolved(session)
    assert deferral.path is not None
    project = session.project
    reads = check_reads(project, names, only)
    # the file's errors first, whatever the checks read
    available = read_candidates(session.config, project, deferral, names if reads else [])
    built = built_here(project, session.state()) if reads else frozenset()
    chosen = {
        n: available[n]
        for n in reads
        if n in available and (deferral.favor_state or n not in built)
    }
    found = Deferred(
        deferral, chosen, frozenset(n for n in chosen if n in built), frozenset(chosen), (), project
    )
    checks = defer_checks(project, names, found.models, deferral)
    deferred = evolve(project, checks={**project.checks, **checks}) if checks else project
    if project.render_check is not None and found.models:  # a dbt test rendered when it runs
        away = {n: deferral.relation(project.models[n]) for n in found.models}
        deferred = evolve(deferred, render_check=partial(project.render_check, deferred=away))
    return deferred, {CATALOG: deferred_source(deferral.path)}, found.reasons()


def compiled_deferred(
    session: Session, select: Selection, exclude: Selection, names: list[str]
) -> tuple[Project, Deferred]:
    """``teal compile --defer-to PATH``: the selection bound as a deferred build binds it
    (against the deferred relations' columns; its located errors first), and the project
    whose compiled SQL reads the deferred upstreams there, as the build runs it. Each
    model whose SQL is pointed there says so in a comment first: which models, from
    which file, attached read-only under what catalog."""
    from teal.compiler.deferral import CATALOG
    from teal.runtime.run_options import RunOptions

    found, attached = before_open(session, select, exclude)
    bind_deferred(session, found, RunOptions())
    project = found.run_project(session.project, names)
    project = _rendered_now(session, project, names, attached)
    noted: dict[str, Model] = {}
    for name in names:
        model = project.models[name]
        if model is session.project.models[name] or model.compiled_sql is None:
            continue
        read = sorted(set(upstream_candidates(session.project, [name])) & set(found.models))
        note = (
            f"-- reads {', '.join(read)} from {found.deferral.path} (deferred), "
            f'attached read-only as "{CATALOG}"\n'
        )
        incremental = model.incremental_sql
        noted[name] = evolve(
            model,
            compiled_sql=note + model.compiled_sql,
            incremental_sql=None if incremental is None else note + incremental,
        )
    return evolve(project, models={**project.models, **noted}), found


def _rendered_now(
    session: Session, project: Project, names: list[str], attached: dict[str, Source]
) -> Project:
    """``project`` (a deferred compile's) with each of ``names`` whose Jinja queries the
    warehouse (``render_at_run``) and reads deferred models rendered now, as the deferred
    build renders it: against this warehouse (read-only; an empty one when there is none)
    with the deferred file attached, ``ref()`` of a deferred model naming it there. Its
    SQL at load was rendered against this warehouse alone (or is the placeholder saying
    it is rendered when the build runs it)."""
    from teal.runtime.show import read_only_warehouse

    render = project.render_at_run
    chosen = [
        n
        for n in names
        if project.models[n].config.get("render_at_run")
        and project.models[n] is not session.project.models[n]
    ]
    if render is None or not chosen:
        return project
    now: dict[str, Model] = {}
    with read_only_warehouse(session, attached) as wh:
        cur = wh.cursor()
        for name in chosen:
            sql, incremental = render(name, cur.query)
            now[name] = evolve(project.models[name], compiled_sql=sql, incremental_sql=incremental)
    return evolve(project, models={**project.models, **now})
