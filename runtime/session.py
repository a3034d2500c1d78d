"""The one path from a project folder to results: open -> plan -> execute -> report.

The command line, the Python API (``teal.build``), the test helpers and, later, the daemon
and the UI all go through a :class:`Session`; the command line only turns flags into
options. A session loads its project on first use and keeps it; :meth:`Session.reload`
reads the files again (a long-lived process picks up edits that way). A session holds no
open warehouse between calls: each run opens the warehouse, does its work and closes it,
so other processes can read it in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.config import ProjectConfig, load_config
from teal.compiler.errors import TealError, raise_all
from teal.compiler.plan import Plan, PlanOptions, PlanState, build_plan
from teal.compiler.project import Project, load_project
from teal.compiler.selection import model_index
from teal.compiler.selection import select as select_models
from teal.compiler.strategy import LoadStrategy
from teal.compiler.verified_versions import VerifiedVersions
from teal.runtime.clock import new_run_id
from teal.runtime.kept_state import read_plan_state, read_state, state_ahead
from teal.runtime.options import clock_from_env, plan_options
from teal.runtime.run_options import RunOptions
from teal.runtime.runstore import IN_PROGRESS, NO_STORE, RunStore, store_spec
from teal.warehouse.engine import sql_problems

# what only a build needs (the executor, the recorder, checks: runtime/session_run.py) is
# imported when one runs: `teal plan` and `teal compile` do not load it
if TYPE_CHECKING:
    import pyarrow as pa

    from teal.compiler.column_lineage import ColumnGraph
    from teal.compiler.deferral import Deferral
    from teal.compiler.model_trace import TypedTrace
    from teal.compiler.offload import ForkedCall
    from teal.runtime.check_run import CheckRun
    from teal.runtime.compile_stamp import Compiled
    from teal.runtime.deferring import Deferred
    from teal.runtime.report import Reporter
    from teal.runtime.results import BuildResult
    from teal.warehouse.duckdb.preopen import Preopened
    from teal.warehouse.engine import Engine

Selection = Sequence[str] | str | None


@dataclass
class Session:
    """A project opened for planning and running.

    >>> session = Session.open("path/to/project")          # doctest: +SKIP
    >>> session.build(select="marts+").success               # doctest: +SKIP
    True
    """

    config: ProjectConfig
    # speed tricks the compiler may use in this process (the command line turns them on)
    strategy: LoadStrategy | None = None
    # the clock for "partitions up to now"; TEAL_NOW fixes it
    now: datetime | None = field(default_factory=clock_from_env)
    # record runs in the run store (``teal.materialize`` runs in memory and does not)
    record_runs: bool = True
    # what to do with the warnings of a load (YAML describing a model that does not exist,
    # ...); None: log them on the "teal" logger. The command line prints them, or raises
    # them under --strict
    on_warnings: Callable[[tuple[TealError, ...]], None] | None = field(default=None, repr=False)
    _project: Project | None = field(default=None, repr=False)
    _store: RunStore | None = field(default=None, repr=False)
    # the column lineage of _project (runtime/validate.py), computed when first asked for
    _columns: ColumnGraph | None = field(default=None, repr=False)
    # the columns of the last selection asked for (Session.columns(names)): names, graph
    _partial: tuple[tuple[str, ...], ColumnGraph] | None = field(default=None, repr=False)
    # how open() read the configuration, so that reload() reads it again the same way
    _read_config: Callable[[], ProjectConfig] | None = field(default=None, repr=False)
    # the selection's binding of the last build (Session.bind): names, no lineage
    _bound: ColumnGraph | None = field(default=None, repr=False)
    # the warehouse a build is opening on a thread while it loads (warehouse/engine.py)
    _ahead: Preopened | None = field(default=None, repr=False)
    # the warehouse's state for the next state(): known from what was kept, or being read
    # in a forked child while the project loads
    _state_ahead: PlanState | ForkedCall | None = field(default=None, repr=False)
    # --defer-to: the warehouse unbuilt upstreams are read from (runtime/deferring.py);
    # None: no deferral, and nothing of it is imported or read
    defer: Deferral | None = None
    # dbt's --indirect-selection: how a test with several parents is selected (eager,
    # cautious, buildable, empty; compiler/indirect_selection.py)
    indirect_selection: str = "eager"
    # what the last plan or build deferred
    _deferred: Deferred | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        project_dir: str | Path | None = None,
        *,
        target: str | None = None,
        warehouse: str | Path | None = None,
        vars: dict[str, Any] | None = None,
        threads: int | None = None,
        strategy: LoadStrategy | None = None,
        profiles_dir: str | Path | None = None,
    ) -> Session:
        """Find and read the project's configuration (the models are read on first use).
        ``profiles_dir``: where a dbt project's profiles.yml is (dbt's --profiles-dir)."""

        def read() -> ProjectConfig:
            return load_config(
                project_dir,
                target=target,
                warehouse=warehouse,
                vars=vars,
                threads=threads,
                profiles_dir=profiles_dir,
            )

        cfg = read()
        from teal.compiler.pyfiles import importable

        importable(cfg.root)  # the project's own modules import from its Python files
        return cls(
            config=cfg,
            strategy=strategy,
            record_runs=store_spec(cfg.run_store) != NO_STORE,
            _read_config=read,
        )

    # -- the project -----------------------------------------------------------------------
    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = self._load()
        return self._project

    def reload(self) -> Project:
        """Read the project's files and configuration again (edits since the last load are
        picked up; a session made without :meth:`open` keeps its configuration)."""
        if self._read_config is not None:
            config = self._read_config()
            if store_spec(config.run_store) != store_spec(self.config.run_store):
                self.close()  # the next run_store() opens the configured one
            self.config = config
            self.record_runs = store_spec(config.run_store) != NO_STORE
        self._project = self._load()
        self._columns = self._bound = self._partial = None
        return self._project

    def columns(
        self, names: list[str] | None = None, typed: TypedTrace | None = None
    ) -> ColumnGraph:
        """Every model's columns and their lineage (kept until :meth:`reload`); with
        ``names``, only theirs and what they read, unless every model's is known.
        ``typed``: a type check to run on the trees traced (runtime/type_check.py)."""
        from teal.runtime.validate import project_columns

        store = self.readable_store
        if self._columns is None and names is not None:
            if self._partial is None or self._partial[0] != tuple(names):
                found = project_columns(self.project, store(), names, typed)
                self._partial = (tuple(names), found)
            return self._partial[1]
        if self._columns is None:
            self._columns = project_columns(self.project, store(), typed=typed)
        return self._columns

    def validate(self, select: Selection = None, exclude: Selection = None) -> list[str]:
        """Bind the selected models (all by default) before anything runs: a reference to
        a column that does not exist or a broken contract raises, located. The selected
        names, in build order."""
        from teal.runtime.validate import validate_selection
        from teal.warehouse.engine import settings_problems

        names = self.select(select, exclude)
        self._engine_can_run(names)
        raise_all(settings_problems(self.config))
        chosen = names if (select or exclude) else None
        validate_selection(
            self.project,
            names,
            lambda typed: self.columns(chosen, typed),
            self.strategy,
            self.readable_store(),
        )
        return names

    def bind(self, select: Selection = None, exclude: Selection = None) -> list[str]:
        """What a build checks before any data changes: each selected model's references
        to columns and its enforced contract, bound against what it reads (names only, no
        lineage edges; cached, so an unchanged project costs one small file read). Raises
        the located errors; returns the selected names in build order."""
        from teal.runtime.validate import bind_selection

        names = self.select(select, exclude)
        self._engine_can_run(names)
        bound = bind_selection(self.project, names, self._columns, self.readable_store)
        self._bound = bound or self._bound
        return names

    def bind_edited(
        self, select: Selection = None, exclude: Selection = None, plan: Plan | None = None
    ) -> None:
        """:meth:`bind` for the selected models edited since they were last built (or
        never built) and the selected models that read them: what an edit makes a build
        refuse, found without binding what did not change (``teal plan``), also, given the
        ``plan``, an incremental table whose new columns its on_schema_change refuses."""
        from teal.runtime.validate import bind_selection, edited_since_built, plan_schema_changes

        edited = edited_since_built(self.project, self.state(), self.select(select, exclude))
        if self._deferred is not None:  # the whole selection, as the deferred build binds it
            from teal.runtime.deferring import bind_deferred

            bind_deferred(self, self._deferred, RunOptions())
        if edited:
            self._engine_can_run(edited)
            if self._deferred is not None:  # bound against the deferred relations' columns
                bound = self._bound
            else:
                bound = bind_selection(self.project, edited, self._columns, self.readable_store)
            if plan is not None:
                plan_schema_changes(self.config, self.project, plan, edited, bound or self._columns)

    def _engine_can_run(self, names: list[str]) -> None:
        """Raise, located, what the target's engine cannot run of these models' SQL (a
        DuckDB-only function on Spark), before anything runs."""
        raise_all(sql_problems(self.config, [self.project.models[n] for n in names]))

    def readable_store(self) -> RunStore | None:
        """The run store, if it exists already (binding never creates one)."""
        from teal.runtime.runstore import store_spec
        from teal.runtime.validate import existing_store_path

        spec = store_spec(self.config.run_store)
        readable = self._store is not None or existing_store_path(self.config.root, spec)
        return self.run_store() if self.record_runs and readable else None

    def _load(self, when_stored: Callable[[], None] | None = None) -> Project:
        project = load_project(config=self.config, strategy=self.strategy, when_stored=when_stored)
        warnings = project.warnings + self.config.automation_warnings()
        if warnings:
            self._warn(warnings)
        return project

    def _warn(self, warnings: tuple[TealError, ...]) -> None:
        if not warnings:
            return
        if self.on_warnings is not None:
            self.on_warnings(warnings)
        else:
            for warning in warnings:
                logging.getLogger("teal").warning("%s", warning)

    # -- the run store -----------------------------------------------------------------------
    def run_store(self) -> RunStore:
        """The project's run store, opened and migrated on first use; runs this host left
        started by a process that is gone are marked crashed."""
        if self._store is None:  # an error located where the store was chosen
            from teal.runtime.store_location import open_project_store

            self._store = open_project_store(self.config)
        return self._store

    def close(self) -> None:
        """Close the run store (a session holds nothing else open between calls)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------
    def options(self, **flags: Any) -> PlanOptions:
        """Planner options from flag values (see :func:`teal.runtime.options.plan_options`)."""
        return plan_options(self.config, now=self.now, **flags)

    def state(self) -> PlanState:
        """Earlier runs' state, read without holding the warehouse (kept between reads); the
        project's dynamic partitions are bound to the keys it holds."""
        if self._ahead is not None:  # a read-only open fails beside it: a build opens anew
            self._ahead.close()
        ahead, self._state_ahead = self._state_ahead, None
        found: object = ahead
        if ahead is not None and not isinstance(ahead, PlanState):  # read by a child
            found = ahead.result()
        if not isinstance(found, PlanState):  # none read ahead, or the child failed
            read = partial(read_plan_state, self.config)
            found = read_state(self.config, read, on_busy=lambda notice: self._warn((notice,)))
        self._bind(found)
        return found

    def _read_state_ahead(self) -> None:
        """Before the project is loaded: have a forked child read the warehouse's state on
        the second core meanwhile, where the strategy allows forking and the state must be
        read from the warehouse (a cold ``teal plan`` of a built warehouse reads both);
        a state known without reading it is kept for :meth:`state` as it is. The child
        gives up if the warehouse is busy; :meth:`state` then reads it here and says so."""
        if (
            self._project is not None
            or self._state_ahead is not None
            or self.strategy is None
            or self.config.engine != "duckdb"
        ):
            return
        self._state_ahead = state_ahead(self.config, self.strategy)

    def _holder(self) -> str | None:
        """The run that holds the warehouse now, as the run store knows it."""
        if not self.record_runs:
            return None
        started = self.run_store().runs(status=list(IN_PROGRESS), limit=1)
        return started[0].run_id if started else None

    def _bind(self, state: PlanState) -> None:
        """Bind the project's dynamic partition definitions to the keys ``state`` holds."""
        from teal.compiler.partitions.dynamic import bind_project, dynamic_sets

        if dynamic_sets(self.project):
            self._project = bind_project(self.project, state.dynamic_partitions)

    def select(self, select: Selection = None, exclude: Selection = None) -> list[str]:
        """The selected model names, in build order."""
        chosen_select, chosen_exclude = _as_list(select) or [], _as_list(exclude) or []
        needs_state = any(
            "state:" in e or "result:" in e for e in (*chosen_select, *chosen_exclude)
        )
        project = self.project
        chosen = select_models(
            project.dag,
            chosen_select,
            chosen_exclude,
            models=model_index(project, self.state() if needs_state else None),
            selectors=self.config.selectors,
            columns=self.columns,
            exposures=project.exposures,
        )
        return [n for n in project.dag.order() if n in chosen]

    def plan(
        self,
        select: Selection = None,
        exclude: Selection = None,
        options: PlanOptions | None = None,
    ) -> Plan:
        """What :meth:`build` would do with the same arguments; touches no data."""
        self._read_state_ahead()
        try:
            self.project  # noqa: B018 - loaded while the state is read
        finally:
            if self._project is None:  # the load failed: reap the child
                if self._state_ahead is not None and not isinstance(self._state_ahead, PlanState):
                    self._state_ahead.result()
                self._state_ahead = None
        state = self.state()
        project, deferred = self.project, None
        if self.defer is not None:
            from teal.runtime.deferring import settle_selection

            deferred = settle_selection(self, select, exclude, state)
            project = deferred.run_project(self.project)
            options = deferred.options(options or self.options())
        plan = build_plan(
            project,
            _as_list(select),
            _as_list(exclude),
            state=state,
            options=options or self.options(),
            verified=VerifiedVersions.of_project(self.config),
        )
        if deferred is None:
            return plan
        now = (options or self.options()).now  # an upstream read here built here in part:
        self._warn(tuple(deferred.partly_built(project, plan, state, now)))  # as builds say
        return deferred.plan(plan, self.project, project)

    def compile(self, select: Selection = None, exclude: Selection = None) -> Compiled:
        """Write compiled SQL and the manifest into ``target/``. Every Python file under
        the models folder (with a selection: behind the selected models) is imported first:
        one that fails to import is a located error (a build would meet it later). When
        nothing it reads changed since the last compile and ``target/`` is as that compile
        left it, the answer is that compile's and nothing is checked or written again
        (runtime/compile_stamp.py)."""
        from teal.runtime.session_compile import compile_selection

        return compile_selection(self, select, exclude)

    # -- running -----------------------------------------------------------------------------
    def build(
        self,
        select: Selection = None,
        exclude: Selection = None,
        *,
        options: PlanOptions | None = None,
        run: RunOptions | None = None,
        reporter: Reporter | None = None,
    ) -> BuildResult:
        """Plan against the warehouse's current state and carry the plan out.

        A plan with no steps returns an empty result (its ``not_run`` says why)."""
        from teal.runtime.tests_alone import indirect_for_build, run_tests_alone
        from teal.warehouse.engine import open_ahead

        run = run or RunOptions()
        with ExitStack() as stack:
            # DuckDB reads the warehouse's catalog on a thread while the project loads and
            # binds; a load may fork, which a thread beside it would forbid, so the open
            # starts once the load is known to take the stored project (it forks nothing)
            # or, if it reads the files, after it
            def open_early() -> None:
                self._ahead = stack.enter_context(open_ahead(self.config))

            if self._project is None:
                self._project = self._load(when_stored=open_early)
            if self._ahead is None:
                self._ahead = stack.enter_context(open_ahead(self.config))
            run = indirect_for_build(self, _as_list(select) or [], _as_list(exclude) or [], run)
            try:
                result = self._build(select, exclude, options, run, reporter)
            finally:
                self._ahead = None
        return run_tests_alone(self.project, result, _as_list(select), _as_list(exclude), run)

    def _build(
        self,
        select: Selection,
        exclude: Selection,
        options: PlanOptions | None,
        run: RunOptions,
        reporter: Reporter | None,
    ) -> BuildResult:
        from teal.runtime.results import BuildResult
        from teal.runtime.store_location import open_before_build
        from teal.runtime.validate import check_schema_changes, plan_warnings
        from teal.runtime.waiting import open_when_free

        project = self.project
        run_id = run.run_id or new_run_id()
        options = options or self.options()
        if self.record_runs:  # an unreachable store fails the run before any data changes
            open_before_build(self)
        if run.bind and self.defer is None:
            self.bind(select, exclude)  # a missing column fails before any data changes
        sources, deferred = project.sources, None
        if self.defer is not None:  # settled and bound before this warehouse is opened
            from teal.runtime.deferring import before_open, bind_deferred, running

            deferred, attached = before_open(self, select, exclude, run.wait, run.runs_checks)
            bind_deferred(self, deferred, run)
            sources = {**sources, **attached}
        ahead, wait = self._ahead, run.wait
        with open_when_free(self.config, sources, wait, self._holder, ahead=ahead) as wh:
            # the catalog is listed only for a plan that skips unchanged models
            state = wh.plan_state(relations=options.changed_only)
            self._bind(state)
            project = self.project if deferred is None else deferred.run_project(self.project)
            options = options if deferred is None else deferred.options(options)
            plan = build_plan(
                project,
                _as_list(select),
                _as_list(exclude),
                state=state,
                options=options,
                verified=VerifiedVersions.of_project(self.config),
            )
            if deferred is not None:
                plan = deferred.plan(plan, self.project, project)
            if run.bind:  # an incremental model's columns changed under on_schema_change: fail
                bound = self._bound if deferred is not None else self._columns or self._bound
                check_schema_changes(project, plan, wh, bound)
            there = deferred.partitions_there(self.config, project, plan) if deferred else None
            warnings = plan_warnings(project, plan, state, options.now, run.config, there)
            if deferred is not None:  # an upstream read here, built here in part
                warnings += tuple(deferred.partly_built(project, plan, state, options.now))
            self._warn(warnings)
            if not plan.steps:
                return BuildResult(
                    run_id=run_id,
                    results=(),
                    duration_s=0.0,
                    warehouse=str(self.config.warehouse_path),
                    not_run=dict(plan.not_run),
                    deferred=dict(plan.deferred),
                )
            with nullcontext() if deferred is None else running(self, project):
                return self.execute(
                    plan,
                    run=run,
                    reporter=reporter,
                    warehouse=wh,
                    run_id=run_id,
                    selection=(tuple(_as_list(select) or ()), tuple(_as_list(exclude) or ())),
                    options=options,
                    release=True,
                )

    def execute(
        self,
        plan: Plan,
        *,
        run: RunOptions | None = None,
        reporter: Reporter | None = None,
        warehouse: Engine | None = None,
        run_id: str | None = None,
        selection: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
        options: PlanOptions | None = None,
        release: bool = False,
    ) -> BuildResult:
        """Carry out ``plan`` against the project's warehouse and record the run. A model
        whose Python file fails to import fails, located where it raised; the models that
        do not run it are built. ``release``: close ``warehouse`` before the run's end is
        recorded, so whoever reads that the run ended can open the file."""
        from teal.runtime.report import SilentReporter
        from teal.runtime.run_config import prepare_inputs
        from teal.runtime.session_run import execute_plan, recorded

        run = run or RunOptions()
        run_id = run_id or run.run_id or new_run_id()
        reporter = reporter or SilentReporter()
        ignored = [(s.model, s.ignored_failure) for s in plan.steps if s.ignored_failure]
        for model, why in ignored:  # --ignore-failed-upstream is said, and recorded below
            logging.getLogger("teal").warning(
                "%s builds although %s (--ignore-failed-upstream)", model, why
            )
        # run config checked and resources made before anything runs or is recorded; their
        # setup (an API's login) is part of the run: one that fails is a failed run
        inputs = prepare_inputs(
            self.project, [s.model for s in plan.steps], run.config, run.resources, set_up=False
        )
        try:
            if not self.record_runs:
                inputs.set_up()
                return execute_plan(self, plan, run, reporter, warehouse, run_id, inputs)
            return recorded(
                self, plan, run, reporter, warehouse, run_id, selection, options, inputs, release
            )
        finally:
            inputs.close()

    def check(
        self,
        select: Selection = None,
        exclude: Selection = None,
        *,
        store_failures: bool = False,
    ) -> CheckRun:
        """Run the checks of the selected models on what is published now (no build). A dbt
        project's ``target/run_results.json`` then holds their results, as ``dbt test``'s."""
        from teal.runtime.check_run import check_selected, deferring

        return check_selected(
            self.project,
            _as_list(select),
            _as_list(exclude) or [],
            self.select,
            store_failures=store_failures,
            defer=deferring(self),  # --defer-to: checks read other models from there
            indirect=self.indirect_selection,
        )

    def change_partitions(
        self, name: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> tuple[list[str], list[str]]:
        """Add and remove keys of the dynamic partition set ``name`` (a set the project's
        models use); (added, removed). Takes the warehouse as a build does."""
        from teal.runtime.dynamic_sets import change_dynamic_set

        return change_dynamic_set(self.project, self.config, name, add, remove)

    def partitions(self, model: str) -> list[dict[str, Any]]:
        """Every partition of ``model``: materialized, missing, failed or stale."""
        from teal.runtime.partition_status import partition_report

        state = self.state()  # first: reading it binds the dynamic partitions' keys
        return partition_report(self.project, state, model, now=self.now)

    def read(self, model: str, *, limit: int | None = None) -> pa.Table:
        """``model``'s rows now (the first ``limit``) as Arrow (runtime/session_read.py)."""
        from teal.runtime.session_read import read_model

        return read_model(self, model, limit)


def _as_list(value: Selection) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)
