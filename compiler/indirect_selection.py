"""Which tests a selection picks through their parents: dbt's ``--indirect-selection``.

A test's parents are the model it checks (its asset) and the models it reads
(``CheckDef.reads``: a relationships test's ``to``, a singular test's other refs, a teal SQL
or Python check's other models). A test with one parent is selected with it, as before; one
with several is selected, as dbt selects it (core/dbt/graph/selector.py), when

- ``eager`` (the default): any of its parents is selected;
- ``cautious``: every parent is selected;
- ``buildable``: any parent is selected and every parent is selected or an ancestor of a
  selected model;
- ``empty``: never; no test is selected through a model, only the tests the selection
  names itself (``test_name:``, ``test_type:``, a test's name, ``state:``).

Except in ``empty``, a test with a parent that ``--exclude`` names is left out, as dbt's
exclusion removes the tests of the excluded models too. A test selected through a parent
other than its asset runs on its asset as it is: ``teal test`` checks it there, ``teal
build`` after the models it builds (runtime/tests_alone.py).

Fixture: ``t`` checks ``b`` and reads ``a``; ``c`` reads ``a`` and ``b``::

    a    b  (t: asset b, reads a)
     \\  /
      c

>>> from types import SimpleNamespace as N
>>> from teal.compiler.graph import Dag
>>> t = N(name="t", asset="b", reads=("a",))
>>> p = N(dag=Dag({"a": (), "b": (), "c": ("a", "b")}), checks={"t": t},
...       models={"a": N(checks=()), "b": N(checks=("t",)), "c": N(checks=())})
>>> [sorted(tests_of(p, {"a"}, m)) for m in MODES]
[['t'], [], [], []]
>>> [sorted(tests_of(p, {"a", "c"}, m)) for m in MODES]
[['t'], [], ['t'], []]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from teal.compiler.errors import SelectionError, did_you_mean

MODES = ("eager", "cautious", "buildable", "empty")
DEFAULT = "eager"
# what a session selects: (select, exclude) -> model names (Session.select)
Choose = Callable[[list[str], list[str]], list[str]]
ENV = "DBT_INDIRECT_SELECTION"  # dbt's environment variable (dbt projects)


def indirect_mode(value: str | None, dbt: bool, named: str | None = None) -> str:
    """The mode a command runs with: a selector's ``indirect_selection`` (``named``, as dbt
    lets the YAML win), else the flag's ``value``, else ``DBT_INDIRECT_SELECTION`` in a dbt
    project, else ``eager``. An unknown value is an error naming the valid ones."""
    if named is not None:
        return named
    if value is not None:
        return checked_mode(value, "--indirect-selection")
    found = os.environ.get(ENV) if dbt else None
    return checked_mode(found, ENV) if found else DEFAULT


def selector_mode(selectors: Any, select: Iterable[str]) -> str | None:
    """The ``indirect_selection`` of the named selectors the selection is made of
    (selectors.yml), or None when they set none. teal applies one mode to a command: a
    selection that mixes a selector setting one with other terms, or selectors setting
    different ones, is an error rather than a mode silently applied to part of it."""
    terms = [t for e in select for t in e.split()]
    modes = {
        t: spec["indirect_selection"]
        for t in terms
        if t.startswith("selector:")
        for spec in [(selectors or {}).get(t.removeprefix("selector:"))]
        if isinstance(spec, dict) and spec.get("indirect_selection")
    }
    if not modes:
        return None
    if len(set(modes.values())) > 1 or len(modes) != len(terms):
        named = ", ".join(f"{t} ({m})" for t, m in modes.items())
        raise SelectionError(
            f"the selection mixes indirect selections: {named} and "
            + (", ".join(t for t in terms if t not in modes) or "each other"),
            path="--select",
            hint="teal applies one indirect selection to a command: run them separately, "
            "or drop indirect_selection from the selector and pass --indirect-selection",
        )
    return next(iter(modes.values()))


def checked_mode(value: Any, where: str) -> str:
    """``value`` as a mode (case as written ignored), or a located error (exit 2)."""
    text = str(value).strip().lower()
    if text in MODES:
        return text
    close = did_you_mean(text, MODES)
    raise SelectionError(
        f"unknown indirect selection {value!r}",
        path=where,
        hint=(f"{close} " if close else "") + "valid: " + ", ".join(MODES),
    )


def parents(project: Any, check: Any) -> frozenset[str]:
    """The models a check depends on: its asset and the models it reads."""
    return frozenset((check.asset, *(r for r in check.reads if r in project.models)))


def has_several_parents(project: Any) -> bool:
    """Whether any test reads a model besides its asset (else every mode but ``empty``
    selects exactly the tests of the selected models)."""
    return any(len(parents(project, c)) > 1 for c in project.checks.values())


def tests_of(project: Any, chosen: set[str], mode: str) -> set[str]:
    """The tests the models ``chosen`` select in ``mode`` (``empty``: none)."""
    if mode == "empty":
        return set()
    reach = set(chosen)
    if mode == "buildable":
        for name in chosen:
            reach |= project.dag.ancestors(name)
    out: set[str] = set()
    for name, check in project.checks.items():
        ps = parents(project, check)
        if not ps & chosen:
            continue
        if mode == "cautious" and not ps <= chosen:
            continue
        if mode == "buildable" and not ps <= reach:
            continue
        out.add(name)
    return out


def indirect_tests(
    project: Any,
    names: Iterable[str],
    base: frozenset[str],
    select: Iterable[str] | None,
    exclude: Iterable[str] | None,
    mode: str,
    choose: Choose,
) -> tuple[frozenset[str], frozenset[str]]:
    """``(kept, added)``: of ``base`` (the tests selected through the selected models
    ``names``, narrowed by what the selection names) those ``mode`` keeps, and the tests
    whose asset is not selected that ``mode`` selects through another parent."""
    from teal.compiler.test_selection import names_tests, selected_checks
    from teal.compiler.test_state_selection import tests_by_state

    chosen = set(names)
    select = [s for s in (select or []) if s.strip()]
    exclude = [e for e in (exclude or []) if e.strip()]
    if mode == "empty":  # only what the selection names itself
        named = [term for e in select for term in e.split() if names_tests(project, term)]
        direct = set(selected_checks(project, named) or ()) | tests_by_state(
            project, select, exclude
        )
        return frozenset(base & direct), frozenset()
    if mode == DEFAULT and not has_several_parents(project):
        return base, frozenset()
    selected = tests_of(project, chosen, mode)
    models_out = [e for e in exclude if not names_tests(project, e)]
    excluded = set(choose(models_out, [])) if models_out else set()
    out = set()
    if excluded:
        out = {t for t in project.checks if parents(project, project.checks[t]) & excluded}
    kept = {t for t in base if t in selected or len(parents(project, project.checks[t])) == 1}
    kept -= out
    candidates = {t for t in selected - out if project.checks[t].asset not in chosen}
    if not candidates:
        return frozenset(kept), frozenset()
    # as the selection narrows its models' tests (test_name:, --exclude a test), per term
    added: set[str] = set()
    for term in (t for e in select for t in e.split()):
        models = set(choose([term], []))
        narrowed = selected_checks(project, [term])
        added |= {
            t
            for t in candidates
            if parents(project, project.checks[t]) & models and (narrowed is None or t in narrowed)
        }
    tests_out = [e for e in exclude if names_tests(project, e)]
    added -= set(selected_checks(project, tests_out) or ())
    return frozenset(kept), frozenset(added)


def with_indirect(
    project: Any,
    names: list[str],
    only: frozenset[str] | None,
    select: Iterable[str] | None,
    exclude: Iterable[str] | None,
    mode: str,
    choose: Choose,
) -> tuple[list[str], frozenset[str] | None]:
    """``teal test``'s models and checks (``only``, None: every check of ``names``) as
    ``mode`` selects them: the tests it adds, and the models they check."""
    if mode == DEFAULT and not has_several_parents(project):
        return names, only
    base = (
        only if only is not None else frozenset(c for n in names for c in project.models[n].checks)
    )
    kept, added = indirect_tests(project, names, base, select, exclude, mode, choose)
    if kept == base and not added:
        return names, only
    assets = {project.checks[t].asset for t in added} | set(names)
    return [n for n in project.dag.order() if n in assets], kept | added
