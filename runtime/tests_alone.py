"""A build's tests whose model it does not build: with dbt's ``--state DIR``, a test that is
new or changed itself is selected without its model (compiler/test_state_selection.py), and
``teal build -s state:modified`` runs it on the relation as it is, as ``dbt build`` does,
after the models the build does build. So does a test with several parents selected through
one the build builds while its own model (the parent it is attached to) is not selected
(dbt's ``--indirect-selection eager``, compiler/indirect_selection.py): ``teal build -s
stg_orders`` runs the relationships test from ``stg_orders`` to ``stg_products`` once
``stg_orders`` is built, on ``stg_products`` as it is; it is skipped, saying why, when
``stg_orders`` failed or ``stg_products`` was never built. Its outcomes are the build's
``tests`` and in ``run_results.json``; one that fails (error severity) fails the build.

The checks of a selected model that gets no step because nothing of it is stale (all its
partitions up to date, or unchanged under ``--changed-only``) do not run: a build checks
new data. They are the build's ``checks_not_run``, and the build says so and how to run
them (``teal check``), so that a check tightened on an up-to-date model is not taken for
one that passed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from teal.compiler.indirect_selection import DEFAULT, has_several_parents, indirect_tests, parents
from teal.compiler.plan import is_up_to_date
from teal.compiler.project import Project
from teal.compiler.test_selection import names_tests
from teal.compiler.test_state_selection import tests_by_state
from teal.runtime.check_run import CheckRun, run_checks
from teal.runtime.checking import skipped_outcome
from teal.runtime.clock import new_run_id
from teal.runtime.results import SUCCESS, BuildResult
from teal.runtime.run_options import RunOptions

if TYPE_CHECKING:
    from teal.runtime.session import Session


def indirect_for_build(
    session: Session, select: list[str], exclude: list[str], run: RunOptions
) -> RunOptions:
    """``run`` with what the session's ``--indirect-selection`` changes in a build: the
    checks of the selected models it leaves out (``left_out``: a test with a parent not
    selected in ``cautious``, every test not named in ``empty``, a test with an excluded
    parent) and the tests it selects whose model is not selected (``beyond``)."""
    project, mode = session.project, session.indirect_selection
    if not run.runs_checks or (mode == DEFAULT and not has_several_parents(project)):
        return run
    names = session.select(select, [e for e in exclude if not names_tests(project, e)])
    base = frozenset(c for n in names for c in project.models[n].checks)
    kept, added = indirect_tests(project, names, base, select, exclude, mode, session.select)
    return replace(run, left_out=base - kept, beyond=added)


def run_tests_alone(
    project: Project,
    result: BuildResult,
    select: Iterable[str] | None,
    exclude: Iterable[str] | None,
    run: RunOptions,
) -> BuildResult:
    """``result`` with the outcomes of the selected tests whose model it did not build, and
    the checks it did not run because their model is up to date."""
    if not run.runs_checks:
        return result
    built = {r.model for r in result.results}  # a test of these ran, or was skipped, with it
    chosen = tests_by_state(project, select, exclude) | run.beyond
    todo = frozenset(t for t in chosen if project.checks[t].asset not in built)
    result = replace(result, checks_not_run=up_to_date_checks(project, result.not_run, todo))
    if not todo:
        if result.checks_not_run and result.results:  # the run's results.json says so too
            from teal.runtime.artifacts import write_run_results

            write_run_results(project.config, result, run.command, project)
        return result
    failed = {r.model: r for r in result.results if r.status != SUCCESS}
    broken = [
        skipped_outcome(
            project,
            t,
            ", ".join(
                f"{p} {'failed' if failed[p].status != 'skipped' else 'was skipped'}" for p in ups
            ),
        )
        for t in sorted(todo)
        for ups in [sorted(parents(project, project.checks[t]) & failed.keys())]
        if ups
    ]
    todo = todo - {o.check for o in broken}
    assets = {project.checks[t].asset for t in todo}
    checked = (
        run_checks(
            project,
            [n for n in project.dag.order() if n in assets],
            run_id=new_run_id(),
            store_failures=run.store_failures,
            only=todo,
        )
        if todo
        else CheckRun(run_id="", outcomes=(), missing=())
    )
    missing = [
        skipped_outcome(project, t, f"{project.checks[t].asset} is not built yet")
        for t in sorted(todo)
        if project.checks[t].asset in checked.missing
    ]
    done = replace(result, tests=(*checked.outcomes, *missing, *broken))
    from teal.runtime.artifacts import write_run_results

    write_run_results(project.config, done, run.command, project)
    return done


def up_to_date_checks(
    project: Project, not_run: dict[str, str], ran: frozenset[str] = frozenset()
) -> dict[str, tuple[str, ...]]:
    """model -> its checks, of each selected model that got no step because nothing of it is
    stale (``not_run``'s reasons of ``compiler.plan.UP_TO_DATE``), less those in ``ran``."""
    out: dict[str, tuple[str, ...]] = {}
    for name in project.dag.order():
        if is_up_to_date(not_run.get(name)):
            checks = tuple(c for c in project.models[name].checks if c not in ran)
            if checks:
                out[name] = checks
    return out


def checks_not_run_line(result: BuildResult) -> str | None:
    """``Not checked: 1 check of daily, whose data is up to date (a build checks new data):
    `teal check -s daily` runs it on the data as it is`` (None: every check ran)."""
    from teal.compiler.wording import counted

    found = result.checks_not_run
    if not found:
        return None
    n = sum(len(c) for c in found.values())
    models = list(found)
    names = ", ".join(models[:3]) + (f" and {len(models) - 3} more" if len(models) > 3 else "")
    command = "teal check -s " + " ".join(models) if len(models) <= 3 else "teal check"
    return (
        f"Not checked: {counted(n, 'check')} of {names}, whose data is up to date (a build "
        f"checks new data): `{command}` runs {'it' if n == 1 else 'them'} on the data as it is"
    )


def tests_alone_lines(result: BuildResult, *, quiet: bool = False) -> list[str]:
    """What a build prints of its tests run alone: a line per test (``quiet``: those that
    did not pass) and a summary counted as the build's ``Checks:`` line, ``Tests on models
    not rebuilt: 2 run, 1 passed, 1 failed``."""
    from teal.runtime.check_lines import check_line, run_counts, summarize_checks

    lines = [
        check_line(o) if o.status == "skipped" else f"{check_line(o)}  (on {o.asset} as it is)"
        for o in result.tests
        if not quiet or o.status != "pass"
    ]
    lines.append(f"Tests on models not rebuilt: {run_counts(summarize_checks(result.tests))}")
    return lines
