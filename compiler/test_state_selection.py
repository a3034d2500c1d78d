"""The tests a ``state:`` selector selects themselves, with dbt's ``--state DIR``.

Elsewhere in teal a test is selected through the model it checks
(compiler/test_selection.py). dbt compares each test with the old manifest as well
(compiler/dbt/test_state.py): ``dbt build -s state:modified`` runs a test whose severity
changed, or a test added, on the model as it is, without rebuilding the model. So a term
(space-separated) with a ``state:`` criterion selects the tests whose own state it names,
kept by the term's other criteria (an intersection): a criterion naming tests
(``test_name:``, ``test_type:``, a test's name) by the test, any other by the model the
test checks (``state:modified,tag:staging``: the changed tests of models tagged
``staging``). ``--exclude`` leaves out the tests it names, the tests of the models it
names, and the tests its own ``state:`` terms select.

dbt's sub-selectors (``state:modified.configs``) select the tests whose comparison names
the aspect (compiler/dbt/test_state.py).

``teal test`` runs these beside the tests of the selected models; ``teal build`` runs
those whose model it does not build on the relation as it is (runtime/tests_alone.py);
``teal ls --resource-type test`` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from teal.compiler.selection import _terms, model_index, parse_criterion, select_models
from teal.compiler.test_selection import _test_filter, names_tests, selected_checks

if TYPE_CHECKING:
    from teal.compiler.project import Project

# the tests' states each state: value selects (modified includes new, as in dbt)
STATE_MATCHES = {
    "modified": ("modified", "new"),
    "new": ("new",),
    "unmodified": ("unmodified",),
    "old": ("modified", "unmodified"),
}


def tests_by_state(
    project: Project, select: Iterable[str] | None, exclude: Iterable[str] | None = None
) -> frozenset[str]:
    """The checks the ``state:`` terms of ``select`` select themselves, less those
    ``exclude`` leaves out (empty without ``--state``: a test is then selected through its
    model only)."""
    compared = project.compared_tests
    expressions = [s for s in (select or []) if s.strip()]
    if not compared or not any("state:" in e for e in expressions):
        return frozenset()
    chosen: set[str] = set()
    for expression, parts in _terms(expressions):
        chosen |= _term_tests(project, compared, [raw for raw, _ in parts], expression)
    return frozenset(chosen - _excluded(project, [e for e in (exclude or []) if e.strip()]))


def with_tests_by_state(
    project: Project,
    names: list[str],
    only: frozenset[str] | None,
    select: Iterable[str] | None,
    exclude: Iterable[str] | None,
) -> tuple[list[str], frozenset[str] | None]:
    """``teal test``'s models and checks (``only``, None: every check of ``names``) with
    the tests ``state:`` selects themselves added, and the models they check."""
    alone = tests_by_state(project, select, exclude)
    if not alone:
        return names, only
    base = (
        only if only is not None else frozenset(c for n in names for c in project.models[n].checks)
    )
    assets = {project.checks[c].asset for c in alone} | set(names)
    return [n for n in project.dag.order() if n in assets], base | alone


def _term_tests(
    project: Project, compared: dict[str, str], criteria: list[str], expression: str
) -> set[str]:
    parsed = [parse_criterion(raw, 0, expression) for raw in criteria]
    if not any(c.method == "state" for c in parsed):
        return set()
    keep = set(compared)
    for raw, c in zip(criteria, parsed):
        if c.method == "state" and c.value.lower().startswith("modified."):
            aspect = c.value.lower().split(".", 1)[1]  # dbt's sub-selectors
            changes = project.compared_test_changes or {}
            keep = {t for t in keep if aspect in changes.get(t, ())}
            continue
        if c.method == "state":
            wanted = STATE_MATCHES.get(c.value.lower(), ())
            keep = {t for t in keep if compared[t] in wanted}
            continue
        named = _test_filter(project, raw)
        if named is not None:
            keep = {t for t in keep if named(t, project.checks[t])}
            continue
        models = _models(project, [raw])
        keep = {t for t in keep if project.checks[t].asset in models}
    return keep


def _excluded(project: Project, exclude: list[str]) -> set[str]:
    if not exclude:
        return set()
    tests_out = [e for e in exclude if names_tests(project, e)]
    models_out = _models(project, [e for e in exclude if e not in tests_out])
    out = set(selected_checks(project, tests_out) or ())
    out |= {t for t, check in project.checks.items() if check.asset in models_out}
    return out | tests_by_state(project, exclude)


def _models(project: Project, expressions: list[str]) -> set[str]:
    if not expressions:
        return set()
    return select_models(
        project.dag,
        expressions,
        models=model_index(project),
        selectors=project.config.selectors,
        exposures=project.exposures,
    )[0]
