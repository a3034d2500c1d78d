"""``teal check``: run the checks of selected models against what is published now."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.project import Project
from teal.runtime.checking import AuditFailed, Auditor, CheckOutcome, skipped_outcome
from teal.runtime.clock import utc_now
from teal.runtime.python_imports import import_python
from teal.warehouse.engine import open_engine

if TYPE_CHECKING:
    from teal.compiler.deferral import DeferredRead
    from teal.compiler.sources import Source
    from teal.runtime.session import Session

# --defer-to: given the checked models and the checks to run (None: all of theirs), the
# project whose checks read other models from the deferred file, the source attaching
# it, and what is read there -> why (runtime/deferring.for_checks)
Defer = Callable[
    [list[str], frozenset[str] | None],
    tuple[Project, dict[str, "Source"], dict[str, "DeferredRead"]],
]


@dataclass(frozen=True)
class CheckRun:
    """What ``teal check`` returns."""

    run_id: str
    outcomes: tuple[CheckOutcome, ...]
    missing: tuple[str, ...]  # selected models with checks whose relation does not exist
    # --defer-to: the models the checks read from the deferred file -> why
    deferred: Mapping[str, DeferredRead] = field(default_factory=dict)
    # models not selected, not built, with tests selected through another parent (dbt's
    # --indirect-selection) -> those tests, skipped: the selection is not short of a model
    unbuilt_attached: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """No error-severity check failed, and every selected model with checks is built:
        checks that could not run are no pass (a CI step after a build that failed part
        way must not go green), as ``dbt test`` errors on a relation that does not exist."""
        return not self.missing and not any(o.blocks for o in self.outcomes)


def run_checks(
    project: Project,
    names: list[str],
    *,
    run_id: str,
    store_failures: bool = False,
    only: frozenset[str] | None = None,
    sources: dict[str, Source] | None = None,
    beyond: frozenset[str] = frozenset(),
    read_elsewhere: frozenset[str] = frozenset(),
) -> CheckRun:
    """Run the checks of ``names`` against what is published now (no build); ``only``:
    just these checks of them (a selection naming tests, compiler/test_selection.py);
    ``sources``: what the warehouse attaches (the project's by default).

    ``beyond``: those of ``names`` not selected, there for tests selected through another
    parent (compiler/indirect_selection.py): one not built has its tests skipped, saying
    so (``unbuilt_attached``), rather than counted ``missing``. A check reading a model
    that is not built (and not in ``read_elsewhere``, read from a deferred file) is
    skipped, saying so, as ``teal build`` skips it, not run on a missing table."""
    import_python(project, names, assets=False)
    auditor = Auditor(project, run_id, store_failures, only=only)
    outcomes: list[CheckOutcome] = []
    missing: list[str] = []
    unbuilt: dict[str, tuple[str, ...]] = {}
    started = utc_now()
    checked = [n for n in names if auditor.sql_checks(n) or auditor.python_checks(n)]
    config = project.config
    if (
        config.engine == "duckdb"
        and not Path(config.warehouse_path).exists()
        and all(project.models[n].materialized != "ephemeral" for n in checked)
    ):  # nothing built yet: opening the warehouse would only create an empty file
        skipped = {n: _unbuilt(project, auditor, n) for n in checked if n in beyond}
        return CheckRun(
            run_id=run_id,
            outcomes=tuple(o for found in skipped.values() for o in found),
            missing=tuple(n for n in checked if n not in beyond),
            unbuilt_attached={n: tuple(o.check for o in f) for n, f in skipped.items()},
        )
    sources = project.sources if sources is None else sources
    with open_engine(project.config, sources=sources) as wh:
        cur = wh.cursor()
        catalog = wh.catalog()  # one catalog scan, not one per checked model
        auditor.not_built = partial(_not_built, project, catalog, read_elsewhere)

        @cache
        def stored_built() -> frozenset[str]:
            """The models recorded built (read once, when a stored asset has no view)."""
            state = wh.plan_state(relations=False)
            return frozenset(state.models) | frozenset(state.partitions)

        for name in names:
            model = project.models[name]
            if not auditor.sql_checks(name) and not auditor.python_checks(name):
                continue
            if model.materialized == "ephemeral":
                relation = f"({model.compiled_sql})"
            elif catalog.kind(model.schema, model.alias) is not None:
                relation = cur.relation_sql(model.schema, model.alias)
            elif name in beyond:
                found = _unbuilt(project, auditor, name)
                outcomes += found
                unbuilt[name] = tuple(o.check for o in found)
                continue
            elif model.io_manager is not None and name in stored_built():
                outcomes += _kept_by_manager(project, auditor, name)
                continue
            else:
                missing.append(name)
                continue
            try:
                outcomes += auditor.audit(cur, name, relation)
            except AuditFailed as failed:
                outcomes += failed.outcomes
                auditor.store(cur, failed)

            def load(param: str, kind: str) -> Any:
                up = project.models[param]
                return cur.load_relation(up.schema, up.alias, kind)

            outcomes += auditor.run_python(cur, name, load)
        wh.record_run(
            run_id=run_id,
            command="check",
            started_at=started,
            finished_at=utc_now(),
            status="success" if not any(o.blocks for o in outcomes) else "error",
            selected=len(names),
            succeeded=sum(o.status == "pass" for o in outcomes),
            failed=sum(o.blocks for o in outcomes),
            skipped=missing,
        )
    return CheckRun(
        run_id=run_id,
        outcomes=tuple(outcomes),
        missing=tuple(missing),
        unbuilt_attached=unbuilt,
    )


def _not_built(project: Project, catalog: Any, elsewhere: frozenset[str], model: str) -> str | None:
    """Why a check cannot read ``model`` (None: it can): it is not in the warehouse."""
    m = project.models.get(model)
    if m is None or m.materialized == "ephemeral" or m.io_manager is not None:
        return None
    if model in elsewhere or catalog.kind(m.schema, m.alias) is not None:
        return None
    return f"{model} is not built yet"


def _unbuilt(project: Project, auditor: Auditor, name: str) -> list[CheckOutcome]:
    """The checks of ``name``, not built, skipped saying so."""
    checks = (*auditor.sql_checks(name), *auditor.python_checks(name))
    return [skipped_outcome(project, c.name, f"{name} is not built yet") for c in checks]


def _kept_by_manager(project: Project, auditor: Auditor, name: str) -> list[CheckOutcome]:
    """The checks of ``name``, built and kept by its I/O manager with no view in the
    warehouse, skipped: nothing here can read its rows, which its checks audited before
    the manager saved them."""
    model = project.models[name]
    why = (
        f"{name} is kept by its I/O manager '{model.io_manager}', which offers no view in "
        f"the warehouse: its checks run when it builds (`teal build -s {name}`)"
    )
    checks = auditor.sql_checks(name) + auditor.python_checks(name)
    return [skipped_outcome(project, c.name, why) for c in checks]


def deferring(session: Session) -> Defer | None:
    """``session``'s deferral as :func:`check_selected` takes it (None: none)."""
    if session.defer is None:
        return None
    from teal.runtime.deferring import for_checks

    return partial(for_checks, session)


def check_selected(
    project: Project,
    select: list[str] | None,
    excluded: list[str],
    choose: Callable[[list[str] | None, list[str]], list[str]],
    *,
    store_failures: bool = False,
    defer: Defer | None = None,
    indirect: str = "eager",
) -> CheckRun:
    """``teal check``: the checks of the models ``choose(select, exclude)`` selects (and
    the tests a selection names, or selects by their own ``state:``), run on what is
    published now; a dbt project's ``target/run_results.json`` then holds their results.
    ``defer`` (``--defer-to``): the checks read other models from the deferred file.
    ``indirect``: dbt's --indirect-selection, how a test with several parents is selected
    (compiler/indirect_selection.py)."""
    from teal.compiler.indirect_selection import with_indirect
    from teal.compiler.test_selection import names_tests, selected_checks, without_excluded
    from teal.compiler.test_state_selection import with_tests_by_state
    from teal.runtime.clock import new_run_id

    started = time.perf_counter()
    tests_out = [e for e in excluded if names_tests(project, e)]  # those tests, not models
    names = choose(select, [e for e in excluded if e not in tests_out])
    only = selected_checks(project, select)
    names, only = with_tests_by_state(project, names, only, select, excluded)
    only = without_excluded(project, names, only, tests_out)
    chosen = set(names)
    names, only = with_indirect(project, names, only, select, excluded, indirect, choose)
    checked, sources = project, dict(project.sources)
    deferred: dict[str, DeferredRead] = {}
    if defer is not None:
        checked, attached, deferred = defer(names, only)
        sources.update(attached)
    run = run_checks(
        checked,
        names,
        run_id=new_run_id(),
        store_failures=store_failures,
        only=only,
        sources=sources,
        beyond=frozenset(n for n in names if n not in chosen),
        read_elsewhere=frozenset(deferred),
    )
    run = replace(run, deferred=deferred) if deferred else run
    if project.config.dbt is not None:
        from teal.runtime.artifacts import write_dbt_artifacts
        from teal.runtime.dbt_artifacts import test_results

        write_dbt_artifacts(project, test_results(project, run, time.perf_counter() - started))
    return run
