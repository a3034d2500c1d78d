"""A build's tests whose model it does not build: with dbt's ``--state DIR``, a test that is
new or changed itself is selected without its model (compiler/test_state_selection.py), and
``teal build -s state:modified`` runs it on the relation as it is, as ``dbt build`` does,
after the models the build does build. Its outcomes are the build's ``tests`` and in
``run_results.json``; one that fails (error severity) fails the build.

The checks of a selected model that gets no step because nothing of it is stale (all its
partitions up to date, or unchanged under ``--changed-only``) do not run: a build checks
new data. They are the build's ``checks_not_run``, and the build says so and how to run
them (``teal check``), so that a check tightened on an up-to-date model is not taken for
one that passed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from teal.compiler.plan import UP_TO_DATE
from teal.compiler.project import Project
from teal.compiler.test_state_selection import tests_by_state
from teal.runtime.check_run import run_checks
from teal.runtime.checking import CheckOutcome
from teal.runtime.clock import new_run_id
from teal.runtime.results import BuildResult
from teal.runtime.run_options import NO_CHECKS, RunOptions


def run_tests_alone(
    project: Project,
    result: BuildResult,
    select: Iterable[str] | None,
    exclude: Iterable[str] | None,
    run: RunOptions,
) -> BuildResult:
    """``result`` with the outcomes of the selected tests whose model it did not build, and
    the checks it did not run because their model is up to date."""
    if run.checks is False or (run.checks is None and run.command in NO_CHECKS):
        return result
    built = {r.model for r in result.results}  # a test of these ran, or was skipped, with it
    todo = frozenset(
        t for t in tests_by_state(project, select, exclude) if project.checks[t].asset not in built
    )
    result = replace(result, checks_not_run=up_to_date_checks(project, result.not_run, todo))
    if not todo:
        if result.checks_not_run and result.results:  # the run's results.json says so too
            from teal.runtime.artifacts import write_run_results

            write_run_results(project.config, result, run.command, project)
        return result
    assets = {project.checks[t].asset for t in todo}
    checked = run_checks(
        project,
        [n for n in project.dag.order() if n in assets],
        run_id=new_run_id(),
        store_failures=run.store_failures,
        only=todo,
    )
    missing = [
        CheckOutcome(
            check=t,
            asset=project.checks[t].asset,
            status="skipped",
            severity=project.checks[t].severity,
            failing=None,
            message=f"{project.checks[t].asset} is not built yet",
        )
        for t in sorted(todo)
        if project.checks[t].asset in checked.missing
    ]
    done = replace(result, tests=(*checked.outcomes, *missing))
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
        if not_run.get(name) in UP_TO_DATE:
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
    did not pass) and a summary, ``2 tests run on models not rebuilt: 1 passed, 1
    flagged``."""
    from teal.compiler.wording import counted
    from teal.runtime.check_lines import check_line

    lines = [
        f"{check_line(o)}  (on {o.asset} as it is)"
        for o in result.tests
        if not quiet or o.status != "pass"
    ]
    flagged = sum(o.status != "pass" for o in result.tests)
    lines.append(
        f"{counted(len(result.tests), 'test')} run on models not rebuilt: "
        f"{len(result.tests) - flagged} passed" + (f", {flagged} flagged" if flagged else "")
    )
    return lines
