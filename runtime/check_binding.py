"""Binding SQL checks before a build, as the models are bound (runtime/type_check.py).

A check whose query names a column its model does not have (``where: "revenu > 0"``, an
``expression_is_true``, a singular check's SQL) would otherwise fail while its model is
audited: the model is not published, what is below it is skipped, and every later build
stops there until the check is fixed. Binding the check's query against the zero-row
stand-ins the model binding made finds that first: a located error, exit 2, nothing run.

Only checks whose SQL a user wrote in part are bound; the built-in checks of one column
(``not_null``, ``accepted_values``, ...) are checked by name when the project loads. What
a check binds to is cached with the model types (``checks`` entries of types.pickle),
keyed by the check and the types of what it reads: a warm build binds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from teal.compiler.cache import content_key

if TYPE_CHECKING:
    from teal.compiler.checks import CheckDef
    from teal.compiler.errors import TealError
    from teal.compiler.project import Project
    from teal.runtime.type_check import PreparedTypes
    from teal.warehouse.duckdb.errors import BindFailure
    from teal.warehouse.duckdb.typing import Binder, Typed

VERSION = "2"  # cached: what DuckDB said, read (BindFailure), or () when it binds
# built-in checks of one column that the load checks by name: nothing of theirs to bind
# unless a ``where`` or ``fail_calc`` adds SQL
BY_NAME = frozenset({"not_null", "unique", "accepted_values", "accepted_range", "row_count"})


def needs_binding(check: CheckDef) -> bool:
    """Whether part of ``check``'s query is SQL its author wrote (a Python check: no)."""
    if check.kind == "python" or check.render_at_run:
        return False
    return check.kind not in BY_NAME or bool(check.where) or check.fail_calc is not None


def unbound_checks(
    project: Project, names: Iterable[str], recorded: Callable[[set[str]], Mapping[str, Typed]]
) -> list[TealError]:
    """The located errors of the checks of ``names`` whose queries do not bind against
    what their models produce; ``recorded(models)``: the Python assets' types as the run
    store knows them (asked only when a check needs binding)."""
    from teal.compiler.column_lineage import with_upstreams
    from teal.runtime.type_check import prepare_types

    chosen = [n for n in names if any(map(needs_binding, project.checks_of(n)))]
    if not chosen:
        return []
    prep = prepare_types(project, chosen, True, recorded(set(with_upstreams(project, chosen))))
    binder: Binder | None = None
    found: list[TealError] = []
    try:
        for name in chosen:
            for check in filter(needs_binding, project.checks_of(name)):
                reads = (check.asset, *check.reads)
                if any(r not in prep.keys for r in reads):
                    continue  # what it reads is not typed with it: not told
                key = content_key(
                    "check", VERSION, repr(_shape(check)), *(prep.keys[r] for r in reads)
                )
                said = prep.cache.get("checks", key)
                if said is None:
                    if binder is None:
                        binder = _opened(project, prep)
                    said = binder.check_error(check) or ()
                    prep.cache.put("checks", key, said)
                if said:
                    found.append(_located(check, said))
    finally:
        if binder is not None:
            binder.close()
    prep.cache.save()
    return found


def _opened(project: Project, prep: PreparedTypes) -> Binder:
    """A binder with the models' types found (their stand-ins are made from them)."""
    from teal.runtime.type_check import keep_types
    from teal.warehouse.engine import type_binder

    binder = type_binder(prep.queries, prep.known)
    keep_types(project, prep, binder.types())
    return binder


def _shape(check: CheckDef) -> tuple[object, ...]:
    """What a check's query is made of (its place in a file is not)."""
    return (
        check.kind,
        check.column,
        sorted(check.params.items(), key=lambda kv: kv[0]),
        check.where,
        check.sql,
        check.condition,
        check.to_relation,
        check.fail_calc,
    )


def _located(check: CheckDef, said: BindFailure) -> TealError:
    """The error for ``check`` from what DuckDB ``said`` about its query."""
    from teal.compiler.errors import ProjectError

    first = said.first_line
    if said.missing_column is not None:
        where = check.asset if not check.reads else "what it reads"
        first = f"column '{said.missing_column}' does not exist in {where}"
    return ProjectError(
        f"check {check.name} of {check.asset} cannot run: {first}",
        path=check.path,
        line=check.line,
        hint=("did you mean " + " or ".join(f"'{n}'" for n in said.candidates[:3]) + "?")
        if said.candidates
        else "fix the check's SQL, or the columns it names",
    )
