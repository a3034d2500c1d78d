"""Which tests ``teal test`` / ``teal check`` runs of the models a selection picks.

In teal a test is selected through its model (compiler/selection_methods.py): a test's
name (bare or ``test_name:``), ``test_type:`` and ``resource_type:test``/``unit_test``
select the models those tests check. This narrows the run to those tests, as dbt runs
only the tests it selected: a term (space-separated) whose criteria name tests runs only
the tests they name, of the models the term selects; any other term runs every test of its
models. ``teal build`` audits every check of what it builds, whatever selected it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import Any

from teal.compiler.selection import (
    _terms,
    dbt_test_names,
    model_index,
    parse_criterion,
    select_models,
)

# a check's name and its definition (compiler.checks.CheckDef) -> whether the term keeps it
CheckFilter = Callable[[str, Any], bool]


def selected_checks(project: Any, select: Iterable[str] | None) -> frozenset[str] | None:
    """The names of the checks to run (None: every check of the selected models)."""
    expressions = [s for s in (select or []) if s.strip()]
    if not expressions:
        return None
    terms = _terms(expressions)
    filters = [_term_filter(project, [c for c, _ in parts]) for _, parts in terms]
    if all(f is None for f in filters):
        return None
    index = model_index(project)
    chosen: set[str] = set()
    for (_, parts), keep in zip(terms, filters):
        models = select_models(
            project.dag,
            [",".join(raw for raw, _ in parts)],
            models=index,
            selectors=project.config.selectors,
            exposures=project.exposures,
        )[0]
        for name in models:
            chosen |= {
                c for c in project.models[name].checks if keep is None or keep(c, project.checks[c])
            }
    return frozenset(chosen)


def names_tests(project: Any, expression: str) -> bool:
    """Whether every term of ``expression`` names tests (``--exclude test_name:x`` leaves
    out that test, not the model it checks)."""
    terms = _terms([expression])
    return bool(terms) and all(
        _term_filter(project, [c for c, _ in parts]) is not None for _, parts in terms
    )


def without_excluded(
    project: Any, names: Iterable[str], only: frozenset[str] | None, exclude: Iterable[str]
) -> frozenset[str] | None:
    """``only`` (None: every check of ``names``) less the tests ``exclude`` names."""
    dropped = selected_checks(project, list(exclude)) or frozenset()
    if not dropped:
        return only
    base = (
        only if only is not None else frozenset(c for n in names for c in project.models[n].checks)
    )
    return base - dropped


def _term_filter(project: Any, criteria: list[str]) -> CheckFilter | None:
    """What a term's test criteria keep (all of them: an intersection), or None when it
    has none (every test of its models)."""
    found = [f for f in (_test_filter(project, raw) for raw in criteria) if f is not None]
    if not found:
        return None
    return lambda name, check: all(f(name, check) for f in found)


def _test_filter(project: Any, raw: str) -> CheckFilter | None:
    c = parse_criterion(raw)
    value = c.value.lower()

    def like(text: str) -> bool:
        return fnmatch.fnmatchcase(text.lower(), value)

    def named(name: str) -> bool:  # by its check's name, or dbt's whole name
        return like(name) or any(like(whole) for whole in dbt_test_names(project, [name]))

    if c.method == "test_name":
        return lambda name, check: named(name) or like(check.kind)
    if c.method == "test_type":
        return lambda name, check: _of_type(check.kind, value)
    if c.method == "resource_type" and value in ("test", "unit_test"):
        return lambda name, check: (check.kind == "unit_test") == (value == "unit_test")
    if c.method == "name" and not any(like(m) for m in project.models):
        if any(named(name) for name in project.checks):
            return lambda name, check: named(name)
    return None


def _of_type(kind: str, test_type: str) -> bool:
    """dbt's test types: ``unit``, ``singular``, ``generic`` (``schema``), ``data`` (both)."""
    if test_type == "unit":
        return kind == "unit_test"
    if test_type == "singular":
        return kind == "singular"
    generic = kind not in ("unit_test", "singular", "python")
    return generic or (test_type == "data" and kind == "singular")
