"""The selection grammar shared by every command (dbt semantics, stricter errors).

An expression is space-separated terms (union); a term is comma-separated criteria
(intersection); ``exclude`` is subtracted. A criterion is::

    [@][N]+?  [method:]value  +?[N]

Methods: ``name`` (default), ``path``, ``tag``, ``kind`` (sql/python), ``schema``,
``group``, ``materialized``, ``source``, ``config.<key>``, ``column`` (by column lineage:
compiler/column_selection.py). A bare value is a model name, a
glob over names (``stg_*``), a folder path (``marts`` or ``marts/finance``), a relation
(``staging.stg_orders``) or a file path. A value that matches nothing is an error that names
the closest matches.

Fixture graph for the examples::

    a -> b -> c
         b -> d

>>> from compiler.graph import Dag
>>> g = Dag({"a": (), "b": ("a",), "c": ("b",), "d": ("b",)})
>>> idx = {n: {"name": n, "folder": "x", "tags": ()} for n in g.upstreams}
>>> sorted(select(g, ["b+"], models=idx))
['b', 'c', 'd']
>>> sorted(select(g, ["+c"], models=idx)), sorted(select(g, ["@c"], models=idx))
(['a', 'b', 'c'], ['a', 'b', 'c'])
>>> sorted(select(g, ["a+"], ["d"], models=idx))
['a', 'b', 'c']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import SelectionError, did_you_mean
from teal.compiler.graph import Dag
from teal.compiler.named_selectors import NamedSelectors

if TYPE_CHECKING:
    from teal.compiler.column_selection import ColumnsProvider
    from teal.compiler.exposures import Exposure

METHODS = (
    "name",
    "path",
    "tag",
    "kind",
    "schema",
    "group",
    "materialized",
    "source",
    "exposure",
    "config",
    "fqn",
    "file",
    "state",
    "result",
    "check",
    "partitioned",
    "selector",
    "column",
    "resource_type",
    "package",
    "test_type",
    "test_name",
)
STATE_VALUES = ("modified", "new", "unmodified", "old")
# dbt's sub-selectors of state:modified (compiler/dbt/state.ASPECTS), answered against a
# manifest (--state DIR); without one, "relation" against what the warehouse last built
STATE_ASPECTS = ("body", "configs", "relation", "persisted_descriptions", "macros", "contract")
# what a node the manifest does not have is selected by: every sub-selector but macros
_NEW_NODE = frozenset(a for a in STATE_ASPECTS if a != "macros")
RESULT_VALUES = ("error", "fail", "skipped", "success")

_CRITERION = re.compile(
    r"^(?P<childrens_parents>@)?"
    r"(?:(?P<up_depth>\d*)(?P<up>\+))?"
    r"(?:(?P<method>[a-z_]+(?:\.[A-Za-z0-9_]+)*):)?"
    r"(?P<value>[^+@:][^+@]*?|[^+@:]*?)"
    r"(?:(?P<down>\+)(?P<down_depth>\d*))?$"
)


@dataclass(frozen=True)
class Criterion:
    """One parsed selection criterion."""

    method: str
    value: str
    up: bool = False
    up_depth: int | None = None
    down: bool = False
    down_depth: int | None = None
    childrens_parents: bool = False
    raw: str = ""
    offset: int = 0  # position in the full expression, for errors


def parse_criterion(raw: str, offset: int = 0, expression: str | None = None) -> Criterion:
    """Parse one criterion like ``2+tag:finance+``.

    >>> c = parse_criterion("2+tag:finance+")
    >>> (c.method, c.value, c.up, c.up_depth, c.down, c.down_depth)
    ('tag', 'finance', True, 2, True, None)
    """
    m = _CRITERION.match(raw)
    expr = expression if expression is not None else raw
    if not m or not m.group("value"):
        raise _error(
            f"cannot parse selector '{raw}'",
            expr,
            offset,
            "use name, +name, name+, n+name, name+n, @name, method:value",
        )
    method = m.group("method") or "name"
    base = method.split(".")[0]
    if base not in METHODS:
        raise _error(
            f"unknown selector method '{method}'",
            expr,
            offset,
            did_you_mean(base, METHODS) or "methods: " + ", ".join(METHODS),
        )
    if base == "config" and "." not in method:
        raise _error("config selector needs a key: config.<key>:<value>", expr, offset, None)
    if m.group("childrens_parents") and (m.group("up") or m.group("down")):
        raise _error("'@' cannot be combined with '+'", expr, offset, "use @name or +name+")
    return Criterion(
        method=method,
        value=m.group("value"),
        up=bool(m.group("up")),
        up_depth=int(m.group("up_depth")) if m.group("up_depth") else None,
        down=bool(m.group("down")),
        down_depth=int(m.group("down_depth")) if m.group("down_depth") else None,
        childrens_parents=bool(m.group("childrens_parents")),
        raw=raw,
        offset=offset,
    )


def _error(message: str, expression: str, offset: int, hint: str | None) -> SelectionError:
    return SelectionError(
        f"{message} (at position {offset + 1})",
        path="--select",
        col=offset + 1,
        hint=hint,
        source_line=expression,
    )


def _terms(expressions: Iterable[str]) -> list[tuple[str, list[tuple[str, int]]]]:
    out = []
    for expression in expressions:
        for m in re.finditer(r"\S+", expression):
            parts, pos = [], m.start()
            for piece in m.group().split(","):
                parts.append((piece, pos))
                pos += len(piece) + 1
            out.append((expression, parts))
    return out


def _expand(c: Criterion, base: set[str], dag: Dag) -> set[str]:
    out = set(base)
    for node in base:
        if c.childrens_parents:
            down = dag.descendants(node)
            out |= down
            for d in {node, *down}:
                out |= dag.ancestors(d)
            continue
        if c.up:
            out |= dag.ancestors(node, c.up_depth)
        if c.down:
            out |= dag.descendants(node, c.down_depth)
    return out


def select(
    dag: Dag,
    select: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    *,
    models: Mapping[str, Mapping[str, Any]],
    selectors: Mapping[str, Any] | None = None,
    columns: ColumnsProvider | None = None,
    exposures: Mapping[str, Exposure] | None = None,
) -> set[str]:
    """The set of model names an expression selects. No ``select`` means everything."""
    return select_models(
        dag,
        select,
        exclude,
        models=models,
        selectors=selectors,
        columns=columns,
        exposures=exposures,
    )[0]


def select_models(
    dag: Dag,
    select: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    *,
    models: Mapping[str, Mapping[str, Any]],
    selectors: Mapping[str, Any] | None = None,
    columns: ColumnsProvider | None = None,
    exposures: Mapping[str, Exposure] | None = None,
    _seen: tuple[str, ...] = (),
) -> tuple[set[str], set[str]]:
    """``(chosen, explicit)``: the selection, and the models a criterion matched itself
    (before ``+``/``@`` expansion) that survived ``exclude``. ``columns`` gives the column
    graph that ``column:`` criteria need (computed only when one appears); ``exposures``
    what ``+exposure:NAME`` reaches (compiler/exposures.py)."""

    def matched(c: Criterion, expression: str) -> tuple[set[str], set[str]]:
        """What criterion ``c`` matches itself, and with its ``+``/``@``."""
        if c.method == "column":  # expanded along columns, not the model graph
            got = _column_matches(c, columns, expression)
            return got, got
        if c.method == "exposure":  # its models are one step up from it
            from teal.compiler.exposures import exposure_matches

            got = exposure_matches(c, exposures or {}, dag, expression)
            return got, got
        base = _base_or_selector(c, dag, models, expression, selectors, _seen, exposures)
        if c.method == "source" and c.down_depth:  # what reads it is one step down from it
            c = replace(c, down_depth=c.down_depth - 1)
        return base, _expand(c, base, dag)

    chosen: set[str] = set()
    explicit: set[str] = set()
    select = [s for s in (select or []) if s.strip()]
    if not select:
        chosen = set(dag.upstreams)
    for expression, parts in _terms(select):
        term: set[str] | None = None
        base_term: set[str] | None = None
        for raw, offset in parts:
            base, got = matched(parse_criterion(raw, offset, expression), expression)
            term = got if term is None else term & got
            base_term = base if base_term is None else base_term & got
        chosen |= term or set()
        explicit |= base_term or set()
    with named_flag("--exclude"):
        for expression, parts in _terms([e for e in (exclude or []) if e.strip()]):
            term = None
            for raw, offset in parts:
                _, got = matched(parse_criterion(raw, offset, expression), expression)
                term = got if term is None else term & got
            chosen -= term or set()
    return chosen, explicit & chosen


@contextmanager
def named_flag(flag: str) -> Iterator[None]:
    """Selection errors raised inside name ``flag`` (``--exclude``, a command's SELECTION
    argument) as the place of the expression, rather than ``--select``."""
    try:
        yield
    except SelectionError as exc:
        if exc.path == "--select":
            exc.path = flag
        raise


def _column_matches(c: Criterion, columns: ColumnsProvider | None, expression: str) -> set[str]:
    from teal.compiler.column_selection import column_matches

    return column_matches(c, columns, expression)


def _base_or_selector(
    c: Criterion,
    dag: Dag,
    models: Mapping[str, Mapping[str, Any]],
    expression: str,
    selectors: Mapping[str, Any] | None,
    seen: tuple[str, ...],
    exposures: Mapping[str, Exposure] | None = None,
) -> set[str]:
    """``selector:<name>`` expands a named selector from the project config."""
    if c.method != "selector":
        from teal.compiler.selection_methods import base_matches

        return base_matches(c, models, expression)
    named = dict(selectors or {})
    if c.value not in named:
        raise _error(
            f"no selector named '{c.value}'",
            expression,
            c.offset,
            did_you_mean(c.value, named) or "declare it under [selectors] in the project config",
        )
    if c.value in seen:
        raise _error(
            f"selector '{c.value}' refers to itself: {' -> '.join(seen + (c.value,))}",
            expression,
            c.offset,
            "break the loop between these selectors",
        )
    spec = named[c.value]
    if isinstance(spec, dict):
        sel, exc = spec.get("select", ""), spec.get("exclude", "")
    else:
        sel, exc = spec, ""
    as_list = lambda v: [v] if isinstance(v, str) else list(v or [])  # noqa: E731
    try:
        return select_models(
            dag,
            as_list(sel) or ["*"],
            as_list(exc),
            models=models,
            selectors=selectors,
            exposures=exposures,
            _seen=seen + (c.value,),
        )[0]
    except SelectionError as inner:
        if inner.message.startswith("in selector '"):
            raise
        if isinstance(selectors, NamedSelectors):  # at its line in the project config
            located = selectors.relocated(
                c.value, inner, f"in selector '{c.value}': {inner.message}"
            )
            if located is not None:
                raise located from None
        raise SelectionError(  # the mistake is in the selector's definition, not the flag
            f"in selector '{c.value}' (its definition in [selectors]): {inner.message}",
            path=inner.path,
            col=inner.col,  # the definition, marked where the mistake is
            hint=inner.hint,
            source_line=inner.source_line,
        ) from None


def model_index(project: Any, state: Any = None) -> ModelIndex:
    """The attributes selectors match on, per model name (``state``: a PlanState), each
    made when first read: selecting by name reads none of them."""
    recorded = getattr(state, "models", {}) or {}
    results = getattr(state, "last_results", {}) or {}

    compared = getattr(project, "compared_state", None)  # dbt's --state DIR
    changes = getattr(project, "compared_changes", None) or {}

    def state_of(name: str, sql_hash: str) -> str:
        if compared is not None:
            return compared.get(name, "new")
        if project.models[name].materialized == "ephemeral":
            return ephemeral_state(name)
        if name not in recorded:
            return "new"
        return "modified" if recorded[name].sql_hash != sql_hash else "unmodified"

    def ephemeral_state(name: str) -> str:
        """An ephemeral model is never built, so never recorded: judge it by the models it
        is inlined into, whose recorded SQL contains it. Changed, it changes every one of
        them; so it is modified when every recorded consumer is, and new when none is
        recorded."""
        consumers = [state_of(c, project.models[c].sql_hash) for c in _consumers(project, name)]
        known = [s for s in consumers if s != "new"]
        if not known:
            return "new"
        return "modified" if all(s == "modified" for s in known) else "unmodified"

    def entry(name: str) -> dict[str, Any]:
        m = project.models[name]
        return {
            "name": name,
            "folder": m.folder,
            "tags": m.tags,
            "kind": m.kind,
            "schema": m.schema,
            "group": m.config.get("group"),
            "materialized": m.materialized,
            "source_tables": m.source_tables,
            "config": m.config,
            "relation": m.relation,
            "display_path": m.display_path,
            "state": state_of(name, m.sql_hash),
            # what differs from the manifest of --state DIR; None: no manifest compared
            "changes": changes.get(name, _NEW_NODE) if compared is not None else None,
            # the relation the warehouse last built it as (None: never built, or unknown)
            "built_relation": getattr(recorded.get(name), "relation", None),
            "result": results.get(name),
            "fqn": fqn_of(project, m),
            "check_names": tuple(m.checks) + tuple(dbt_test_names(project, m.checks)),
            "check_kinds": tuple(
                project.checks[c].kind for c in m.checks if c in getattr(project, "checks", {})
            ),
            "checks": tuple(m.checks)
            + tuple(dbt_test_names(project, m.checks))
            + tuple(
                {project.checks[c].kind for c in m.checks if c in getattr(project, "checks", {})}
            ),
            "partitioned": bool(m.config.get("partitioned_by")),
        }

    return ModelIndex(project.models, entry)


class ModelIndex(Mapping[str, Mapping[str, Any]]):
    """Model name -> the attributes selectors match on, computed per model on first read
    (a 10,000-model project's index took 0.1 s to build, twice a build, when a plain
    ``-s name`` needs only the names)."""

    def __init__(self, models: Mapping[str, Any], entry: Callable[[str], dict[str, Any]]) -> None:
        self._models = models
        self._entry = entry
        self._made: dict[str, dict[str, Any]] = {}

    def __getitem__(self, name: str) -> dict[str, Any]:
        found = self._made.get(name)
        if found is None:
            if name not in self._models:
                raise KeyError(name)
            found = self._made[name] = self._entry(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models


def dbt_test_names(project: Any, checks: Iterable[str]) -> list[str]:
    """The whole dbt names of ``checks`` that differ from the check's (a generic test's
    name of 64 characters or more, shortened for its check and relation: dbt selects the
    test by its whole name, compiler/dbt/test_ids.py)."""
    idents = getattr(project, "dbt_tests", None) or {}
    out = []
    for check in checks:
        whole = (idents.get(check) or {}).get("name")
        if whole and whole != check:
            out.append(str(whole))
    return out


def _consumers(project: Any, name: str) -> list[str]:
    """The models ``name`` is inlined into: its downstreams, looking through ephemerals."""
    out: list[str] = []
    stack = list(project.dag.downstreams.get(name, ()))
    seen: set[str] = set()
    while stack:
        down = stack.pop()
        if down in seen:
            continue
        seen.add(down)
        if project.models[down].materialized == "ephemeral":
            stack.extend(project.dag.downstreams.get(down, ()))
        else:
            out.append(down)
    return sorted(out)


def fqn_of(project: Any, model: Any) -> tuple[str, ...]:
    """A model's FQN as dbt's selectors read it: a dbt node's own (``fqn`` config), else
    the project's name, the model's folders and its name."""
    found = model.config.get("fqn")
    if isinstance(found, str) and found:
        return tuple(found.split("."))
    folders = tuple(p for p in model.folder.split("/") if p)
    return (str(project.config.name), *folders, model.name)
