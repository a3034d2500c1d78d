"""What one selection criterion matches (compiler/selection.py parses it): each method's
rule over the models' attributes (``model_index``), with dbt's meaning where dbt has the
method: a bare word is a model name, a folder, a relation, a file path or a dbt FQN
(``shop``, ``shop.staging``, ``staging.stg_orders``); ``fqn:`` the same FQN; a test's name
(bare or ``test_name:``) its model (compiler/test_selection.py narrows ``teal test`` to
that test).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from teal.compiler.errors import did_you_mean
from teal.compiler.selection import (
    RESULT_VALUES,
    STATE_ASPECTS,
    STATE_VALUES,
    Criterion,
    _error,
)


def base_matches(
    c: Criterion, models: Mapping[str, Mapping[str, Any]], expression: str
) -> set[str]:
    value = c.value
    method = c.method
    lower = value.lower()
    is_glob = any(ch in value for ch in "*?[")

    def match(text: str) -> bool:
        return fnmatch.fnmatchcase(text.lower(), lower) if is_glob else text.lower() == lower

    hits: set[str] = set()
    if method == "name":
        hits = {n for n in models if match(n)}
        if not hits and not is_glob:
            folder = lower.strip("/")
            if folder.startswith("models/"):
                folder = folder[len("models/") :]
            hits = {
                n
                for n, m in models.items()
                if m["folder"].lower() == folder or m["folder"].lower().startswith(folder + "/")
            }
            if not hits:
                hits = {n for n, m in models.items() if m.get("relation", "").lower() == lower}
            if not hits:  # a versioned dbt model's name: every version (as dbt selects)
                hits = {
                    n for n, m in models.items() if str(m["config"].get("version_of", "")) == lower
                }
            if not hits:
                hits = {
                    n
                    for n, m in models.items()
                    if m.get("display_path", "").lower() in (lower, "models/" + lower)
                }
        if not hits:  # dbt's default: the FQN (project, folders, name)
            hits = {n for n, m in models.items() if fqn_matches(m.get("fqn", ()), lower)}
        if not hits:  # a test's name: its model (teal test runs only that test)
            hits = {n for n, m in models.items() if any(match(t) for t in m.get("check_names", ()))}
    elif method == "test_name":  # dbt's: a generic test's name (not_null); teal's: a test's
        hits = {n for n, m in models.items() if any(match(t) for t in m.get("checks", ()))}
    elif method == "fqn" and any(fqn_matches(m.get("fqn", ()), lower) for m in models.values()):
        hits = {n for n, m in models.items() if fqn_matches(m.get("fqn", ()), lower)}
    elif method in ("path", "file", "fqn"):
        target = lower.strip("/")
        for n, m in models.items():
            display = m.get("display_path", "").lower()
            sel_path = f"{m['folder']}/{n}".lower().strip("/")
            if is_glob:
                if fnmatch.fnmatchcase(display, lower) or fnmatch.fnmatchcase(sel_path, lower):
                    hits.add(n)
            elif (
                display == target
                or display.startswith(target + "/")
                or sel_path == target
                or sel_path.startswith(target + "/")
                or display.endswith("/" + target)
                or display.startswith("models/" + target + "/")
            ):
                hits.add(n)
    elif method == "tag":
        hits = {n for n, m in models.items() if any(match(t) for t in m.get("tags", ()))}
    elif method == "resource_type" and lower in ("test", "unit_test"):  # their models
        unit = lower == "unit_test"
        hits = {
            n
            for n, m in models.items()
            if any((k == "unit_test") == unit for k in m.get("check_kinds", ()))
        }
    elif method in ("resource_type", "package"):  # dbt's: what a node is, whose it is
        if method == "resource_type":
            check_resource_type(c, expression)
        default = "model" if method == "resource_type" else ""
        hits = {n for n, m in models.items() if match(str(m["config"].get(method) or default))}
    elif method == "test_type":  # models with tests of a type: unit, data (generic, singular)
        if lower not in TEST_TYPES:
            raise _error(
                f"unknown test type '{value}'",
                expression,
                c.offset,
                did_you_mean(lower, TEST_TYPES) or "use " + ", ".join(TEST_TYPES),
            )
        kinds = {
            "unit": ("unit_test",),
            "singular": ("singular",),
            "generic": None,
            "schema": None,
            "data": None,
        }.get(lower, ())
        hits = {
            n
            for n, m in models.items()
            if any(
                (kinds is None and k not in ("unit_test", "singular", "python"))
                or (kinds is not None and k in kinds)
                or (lower == "data" and k == "singular")
                for k in m.get("check_kinds", ())
            )
        }
    elif method in ("kind", "schema", "group", "materialized"):
        hits = {n for n, m in models.items() if m.get(method) is not None and match(str(m[method]))}
    elif method == "state":
        hits = state_matches(c, models, expression)
    elif method == "result":
        if lower not in RESULT_VALUES:
            raise _error(
                f"unknown result '{value}'",
                expression,
                c.offset,
                did_you_mean(lower, RESULT_VALUES) or "use result:error or result:skipped",
            )
        wanted = {
            "error": {"error"},
            "fail": {"error"},
            "skipped": {"skipped"},
            "success": {"success"},
        }[lower]
        hits = {n for n, m in models.items() if m.get("result") in wanted}
    elif method == "check":
        hits = {n for n, m in models.items() if any(match(ch) for ch in m.get("checks", ()))}
    elif method == "partitioned":
        if lower not in ("true", "false"):
            raise _error(
                f"partitioned: takes true or false, got '{value}'",
                expression,
                c.offset,
                "write partitioned:true",
            )
        hits = {n for n, m in models.items() if bool(m.get("partitioned")) == (lower == "true")}
    elif method == "source":
        hits = {
            n
            for n, m in models.items()
            if any(match(s) or match(s.split(".")[0]) for s in m.get("source_tables", ()))
        }
    elif method.startswith("config."):
        key = method.split(".", 1)[1]
        hits = set()
        for n, m in models.items():
            got = m.get("config", {}).get(key)
            values = got if isinstance(got, (list, tuple)) else [got]
            if any(
                v is not None and match(str(v).lower() if isinstance(v, bool) else str(v))
                for v in values
            ):
                hits.add(n)
    if not hits and method in ("name", "path", "file", "fqn"):
        parts = [m["folder"].split("/") for m in models.values() if m["folder"]]
        pool = list(models) + sorted({"/".join(p[:i]) for p in parts for i in range(1, len(p) + 1)})
        pool += sorted({t for m in models.values() for t in m.get("check_names", ())})
        raise _error(
            f"'{value}' matches no model, folder or path",
            expression,
            c.offset,
            did_you_mean(value, pool) or "run `teal ls` to see what exists",
        )
    if not hits and method == "test_name" and not is_glob:
        tests = sorted({t for m in models.values() for t in m.get("checks", ())})
        raise _error(
            f"no test is named '{value}'",
            expression,
            c.offset,
            did_you_mean(value, tests) or "run `teal ls -s resource_type:test` to see the tests",
        )
    if not hits and method == "tag":
        tags = sorted({t for m in models.values() for t in m.get("tags", ())})
        raise _error(
            f"no model has tag '{value}'",
            expression,
            c.offset,
            did_you_mean(value, tags) or ("tags in use: " + ", ".join(tags) if tags else None),
        )
    return hits


def state_matches(
    c: Criterion, models: Mapping[str, Mapping[str, Any]], expression: str
) -> set[str]:
    """``state:VALUE``: each model's ``state`` against what the warehouse last built, or
    the manifest of ``--state DIR``; ``state:modified.ASPECT`` (dbt's sub-selectors) the
    models whose ``changes`` against that manifest name the aspect (a new model has every
    aspect but ``macros``, compiler/dbt/state.py). Without ``--state`` only
    ``modified.relation`` can be answered (the warehouse records the relation each model
    was built as, and its SQL and configs hashed as one): the others are errors.

    >>> idx = {"a": {"state": "modified", "changes": None, "relation": "main.a",
    ...              "built_relation": "main.a_old"},
    ...        "b": {"state": "modified", "changes": None, "relation": "main.b",
    ...              "built_relation": "main.b"}}
    >>> state_matches(Criterion("state", "modified.relation"), idx, "state:modified.relation")
    {'a'}
    """
    lower = c.value.lower()
    subs = tuple(f"modified.{a}" for a in STATE_ASPECTS)
    if lower not in STATE_VALUES and lower not in subs:
        raise _error(
            f"unknown state '{c.value}'",
            expression,
            c.offset,
            did_you_mean(lower, (*STATE_VALUES, *subs))
            or "states: " + ", ".join((*STATE_VALUES, *subs)),
        )
    if lower in subs:
        aspect = lower.split(".", 1)[1]
        first = next(iter(models.values()), None)
        if first is not None and first.get("changes") is None:  # no --state DIR
            if aspect == "relation":  # the warehouse records the relation it built
                return {n for n, m in models.items() if _relation_moved(m)}
            raise _error(
                f"state:{c.value} compares with a previous manifest: it needs --state DIR",
                expression,
                c.offset,
                "without --state, teal compares each model with what the warehouse last "
                "built, its SQL and configs as one: use state:modified (or "
                "state:modified.relation), or pass --state with the target/ folder of the "
                "run to compare with (dbt projects)",
            )
        return {n for n, m in models.items() if aspect in (m.get("changes") or ())}
    if lower == "old":
        return {n for n, m in models.items() if m.get("state") != "new"}
    if lower == "modified":  # dbt: state:modified includes new models
        return {n for n, m in models.items() if m.get("state") in ("modified", "new")}
    return {n for n, m in models.items() if m.get("state") == lower}


def _relation_moved(m: Mapping[str, Any]) -> bool:
    """Without a manifest, whether a model would now be built as another relation than the
    one the warehouse last built it as (a new model is, as dbt's sub-selectors select new
    nodes; an ephemeral model, never built, only when new)."""
    if m.get("state") == "new":
        return True
    built = m.get("built_relation")
    return built is not None and str(built).lower() != str(m.get("relation") or "").lower()


# dbt's test types (``schema`` is dbt's old name of ``generic``)
TEST_TYPES = ("generic", "singular", "unit", "data", "schema")
# what ``resource_type:`` selects in teal (a test through the model it tests), and dbt's
# other resource types, which teal does not select
RESOURCE_TYPES = ("model", "seed", "snapshot", "test", "unit_test")
OTHER_RESOURCE_TYPES = (
    "source",
    "analysis",
    "exposure",
    "metric",
    "semantic_model",
    "saved_query",
    "operation",
    "function",
)


def check_resource_type(c: Criterion, expression: str) -> None:
    """An unknown ``resource_type:`` value is an error (dbt's would select nothing)."""
    lower = c.value.lower()
    if any(ch in lower for ch in "*?[") or lower in RESOURCE_TYPES:
        return
    if lower in OTHER_RESOURCE_TYPES:
        raise _error(
            f"resource_type:{c.value} selects nothing teal builds",
            expression,
            c.offset,
            "teal selects models, seeds, snapshots, and tests through the models they test"
            + ("; select what reads a source with source:NAME" if lower == "source" else ""),
        )
    raise _error(
        f"unknown resource type '{c.value}'",
        expression,
        c.offset,
        did_you_mean(lower, RESOURCE_TYPES) or "use one of " + ", ".join(RESOURCE_TYPES),
    )


def fqn_matches(fqn: tuple[str, ...], selector: str) -> bool:
    """dbt's FQN match of a node's ``fqn`` (project, folders..., name) and a lowercase
    dotted selector: the selector is a prefix of the FQN (``shop``, ``shop.staging``,
    ``shop.staging.stg_orders``), the parts from a glob on matched as a glob
    (``shop.staging.stg_*``); teal also takes it without the project
    (``staging.stg_orders``).

    >>> fqn_matches(("shop", "staging", "stg_orders"), "shop.staging")
    True
    >>> fqn_matches(("shop", "staging", "stg_orders"), "staging.stg_orders")
    True
    >>> fqn_matches(("shop", "staging", "stg_orders"), "shop.marts")
    False
    """
    parts = [p.lower() for p in fqn]
    wanted = selector.split(".")
    return any(_prefix(candidate, wanted) for candidate in (parts, parts[1:]) if candidate)


def _prefix(parts: list[str], wanted: list[str]) -> bool:
    if len(parts) < len(wanted):
        return False
    for i, piece in enumerate(wanted):
        if any(ch in piece for ch in "*?["):
            return fnmatch.fnmatchcase(".".join(parts[i:]), ".".join(wanted[i:]))
        if parts[i] != piece:
            return False
    return True
