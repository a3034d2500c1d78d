"""Data-quality checks: what they are (the engine writes the queries that run them).

Checks come from four places: YAML beside the models (dbt's ``schema.yml`` shape: ``tests:``,
``data_tests:`` or ``checks:`` under a model or its columns), singular ``.sql`` files under
``checks/`` whose rows are the failures, ``@teal.asset_check`` Python functions, and
user-defined generic checks written as dbt ``{% test name(model, column_name) %}`` macros.

A built-in check is its definition: kind, column, parameters, scope (``where``), severity
and thresholds, and for a row-level check the predicate a failing row matches (plain SQL
over the model's columns). Singular and generic checks carry the failing-rows query their
author wrote, over the placeholder relation ``__teal_check_target__``; the runtime has the
engine put the relation being audited in its place (the staged table before a swap, the
staged rows of a partition, or the published relation for ``teal check``). The queries of
built-in checks are the engine's (``teal.warehouse.check_queries``). Checks that can share
a scan (``CheckDef.fusable``) are fused: all of an asset's run as one query. Uniqueness
checks and relationships run alone (a GROUP BY or an anti-join each): sharing a scan would
make them slower, not faster.

>>> c = builtin_check("not_null", asset="orders", column="id", params={}, options={})
>>> c.condition
'"id" IS NULL'
>>> builtin_check("accepted_range", asset="orders", column="amount",
...     params={"min_value": 0}, options={"where": "status = 'done'"}).condition
'(status = \\'done\\') AND NOT ("amount" >= 0)'
>>> evaluate(3, "error", ">0", ">10")
'warn'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from teal.compiler.errors import ProjectError, did_you_mean
from teal.compiler.sql import quote_identifier as _q

TARGET = "__teal_check_target__"
BUILTINS = (
    "not_null",
    "unique",
    "accepted_values",
    "relationships",
    "accepted_range",
    "row_count",
    "expression_is_true",
    "unique_combination",
    "freshness",
)
# dbt / dbt_utils spellings users already write
ALIASES = {
    "dbt_utils.unique_combination_of_columns": "unique_combination",
    "unique_combination_of_columns": "unique_combination",
    "dbt_utils.accepted_range": "accepted_range",
    "dbt_utils.expression_is_true": "expression_is_true",
    "dbt_expectations.expect_table_row_count_to_be_between": "row_count",
    "dbt_utils.recency": "freshness",
}
OPTION_KEYS = {
    "severity",
    "where",
    "warn_if",
    "error_if",
    "fail_calc",
    "name",
    "store_failures",
    "config",
    "limit",
    "tags",
    "description",
    "meta",
    "enabled",
}
# each built-in check's own arguments (dbt's and dbt_utils' spellings too)
PARAM_KEYS: dict[str, frozenset[str]] = {
    "not_null": frozenset(),
    "unique": frozenset(),
    "accepted_values": frozenset({"values", "quote"}),
    "relationships": frozenset({"to", "field"}),
    "accepted_range": frozenset({"min_value", "max_value", "inclusive"}),
    "row_count": frozenset({"min", "max", "min_value", "max_value"}),
    "expression_is_true": frozenset({"expression", "arg"}),
    "unique_combination": frozenset({"columns", "combination_of_columns", "quote_columns"}),
    "freshness": frozenset(
        {"max_age", "interval", "column", "field", "datepart", "ignore_time_component"}
    ),
}
# dbt_utils' and dbt_expectations' arguments that would change what is counted, which the
# built-in checks do not do: an error saying so, not "unknown"
UNSUPPORTED_PARAMS = frozenset({"row_condition", "group_by", "group_by_columns", "strictly"})
# what a check's config: may hold besides OPTION_KEYS (dbt's test configs teal accepts)
CONFIG_KEYS = OPTION_KEYS | {
    "alias",
    "schema",
    "database",
    "store_failures_as",
    "group",
}


def unknown_check_keys(
    kind: str, params: dict[str, Any], options: dict[str, Any]
) -> list[tuple[str, str]]:
    """(message, hint) for each key of a built-in check entry that is neither one of its
    arguments nor a check option: a misspelt ``severty`` would leave it at severity error.

    >>> unknown_check_keys("not_null", {"severty": "warn"}, {})
    [("unknown key 'severty' in check not_null", "did you mean 'severity'?")]
    """
    known = PARAM_KEYS.get(kind)
    if known is None:
        return []
    out = []
    for key in [*params, *options]:
        if key in known or key in CONFIG_KEYS:
            continue
        if key in UNSUPPORTED_PARAMS:
            out.append(
                (
                    f"'{key}' of check {kind} is not supported: teal's built-in {kind} does "
                    "not count by it",
                    "express it with a singular check (a SQL file of failing rows)",
                )
            )
            continue
        listed = ", ".join(sorted(known)) or "none"
        if key == "arg":  # `- not_null: warn`: a value where its mapping goes
            value = params[key]
            out.append(
                (
                    f"check {kind} takes a mapping of arguments and options, got {value!r}",
                    f"write '- {kind}: {{severity: {value}}}'"
                    if value in ("warn", "error")
                    else f"its arguments: {listed}; the options of any check: "
                    + ", ".join(sorted(OPTION_KEYS)),
                )
            )
            continue
        hint = did_you_mean(str(key), sorted(known | CONFIG_KEYS)) or (
            f"its arguments: {listed}; the options of any check: {', '.join(sorted(OPTION_KEYS))}"
        )
        if key == "column_name":  # dbt's model-level test of one column
            column = {**options, **params}[key]
            hint = (
                f"write the check under its column: columns: [{{name: {column}, tests: [{kind}]}}]"
            )
        out.append((f"unknown key '{key}' in check {kind}", hint))
    return out


_THRESHOLD = re.compile(r"^\s*(>=|<=|!=|==|=|>|<)\s*(\d+)\s*$")
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckDef:
    """One check of one asset."""

    name: str  # unique across the project
    asset: str
    kind: str  # a builtin, "singular", "python", or a custom generic check's name
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    severity: str = "error"
    where: str | None = None
    warn_if: str = ">0"
    error_if: str = ">0"
    # what warn_if and error_if compare, computed over the failing rows (dbt's fail_calc):
    # None counts them (``count(*)``)
    fail_calc: str | None = None
    sql: str | None = None  # singular and generic checks: the author's failing-rows query
    condition: str | None = None  # row-level checks: the predicate a failing row matches
    to_relation: str | None = None  # relationships: the parent model's relation (quoted)
    store_failures: bool = False
    limit: int | None = None  # dbt's test limit: the most failing rows its query returns
    path: str | None = None
    line: int | None = None
    python: Any = None  # AssetCheckDef for Python checks
    reads: tuple[str, ...] = ()  # other models a check reads (relationships, singular)
    description: str = ""
    # a dbt test whose Jinja asks the warehouse about what it tests (its columns): its SQL
    # is rendered again when it runs (``Project.render_check``), on the relation audited
    render_at_run: bool = False

    @property
    def fusable(self) -> bool:
        """Whether the check's failures are one aggregate over its model's rows, so that it
        shares the model's one scan with the others (not with a ``fail_calc`` of its own,
        which is computed over its failing rows)."""
        if self.fail_calc is not None:
            return False
        if self.condition is not None or self.kind == "row_count":
            return True
        return self.kind == "freshness" and not self.where


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def bound_literal(value: Any) -> str:
    """A range bound: a value, or a string that is already a SQL string literal, as
    dbt_utils takes it (``min_value: "'2025-01-01'"``), kept as written.

    >>> bound_literal(5), bound_literal("2025-01-01"), bound_literal("'2025-01-01'")
    ('5', "'2025-01-01'", "'2025-01-01'")
    """
    if isinstance(value, str) and re.fullmatch(r"'(?:[^']|'')*'", value.strip()):
        return value.strip()
    return _lit(value)


def _text_lit(value: Any) -> str:
    """``value`` as a quoted SQL string literal, whatever its YAML type.

    >>> _text_lit(1), _text_lit("it's"), _text_lit(True)
    ("'1'", "'it''s'", "'true'")
    """
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return "'" + text.replace("'", "''") + "'"


def _scoped(condition: str, where: str | None) -> str:
    """A row-level check's failing-row predicate, within its scope."""
    return f"({where}) AND {condition}" if where else condition


def builtin_check(
    kind: str,
    *,
    asset: str,
    column: str | None,
    params: dict[str, Any],
    options: dict[str, Any],
    path: str | None = None,
    line: int | None = None,
    relation_of: Any = None,
    params_at: Mapping[str, tuple[int, int]] | None = None,
) -> CheckDef:
    """Build one built-in check. ``relation_of(name)`` gives another model's relation SQL;
    ``params_at`` says where each parameter's value is written (line, col), for errors."""

    def fail(message: str, hint: str | None = None, param: str | None = None) -> ProjectError:
        at_line, at_col = (params_at or {}).get(param or "", (line, None))
        return ProjectError(
            f"check {kind}{' on ' + column if column else ''} of {asset}: {message}",
            path=path,
            line=at_line,
            col=at_col,
            hint=hint,
        )

    where = options.get("where")
    col = _q(column) if column else None
    condition: str | None = None
    to_relation: str | None = None
    reads: tuple[str, ...] = ()
    if (
        kind in ("not_null", "unique", "accepted_values", "relationships", "accepted_range")
        and not col
    ):
        raise fail(
            "needs a column", "declare it under the column: columns: [{name: x, tests: [...]}]"
        )
    if kind == "not_null":
        condition = _scoped(f"{col} IS NULL", where)
    elif kind == "accepted_values":
        values = params.get("values")
        if not isinstance(values, list) or not values:
            raise fail("needs values: [...]", "accepted_values: {values: ['a', 'b']}")
        # as dbt: values are quoted unless `quote: false`, so [1, 2] on a text column compares
        # text ('1', '2') instead of casting every row's text to a number (which aborts the
        # build's transaction on the first row that is not one)
        quote = params.get("quote", True)
        listed = ", ".join(_text_lit(v) if quote else str(v) for v in values)
        condition = _scoped(f"{col} IS NOT NULL AND {col} NOT IN ({listed})", where)
    elif kind == "accepted_range":
        inclusive = params.get("inclusive", True)
        parts = []
        if params.get("min_value") is not None:
            parts.append(f"{col} {'>=' if inclusive else '>'} {bound_literal(params['min_value'])}")
        if params.get("max_value") is not None:
            parts.append(f"{col} {'<=' if inclusive else '<'} {bound_literal(params['max_value'])}")
        if not parts:
            raise fail("needs min_value and/or max_value")
        condition = _scoped(f"NOT ({' AND '.join(parts)})", where)
    elif kind == "expression_is_true":
        expression = params.get("expression") or params.get("arg")
        if not expression:
            raise fail("needs expression: '...'")
        if col:
            expression = f"{col} {expression}"
        condition = _scoped(f"NOT coalesce(({expression}), false)", where)
    elif kind == "row_count":
        bounds = [params.get(k, params.get(f"{k}_value")) for k in ("min", "max")]
        if all(b is None for b in bounds):
            raise fail("needs min and/or max")
        for bound in bounds:
            try:
                if bound is not None:
                    int(bound)
            except (TypeError, ValueError):
                raise fail(f"min and max are numbers of rows, got {bound!r}") from None
    elif kind == "unique_combination":
        columns = params.get("columns") or params.get("combination_of_columns")
        if not isinstance(columns, list) or len(columns) < 2:
            raise fail("needs columns: [a, b]")
    elif kind == "freshness":
        column_name = column or params.get("column") or params.get("field")
        max_age = params.get("max_age") or params.get("interval")
        if not column_name or not max_age:
            raise fail("needs a column and max_age: '2 days'")
    elif kind == "relationships":
        to = params.get("to")
        parent_field = params.get("field")
        if not to or not parent_field:
            raise fail(
                "needs to: <model> and field: <column>",
                "relationships: {to: ref('customers'), field: id}",
            )
        to_name = _ref_name(str(to))
        if relation_of is None:
            raise fail("cannot resolve the related model")
        try:
            to_relation = relation_of(to_name)
        except ProjectError as exc:
            if exc.path is not None:  # the caller located it
                raise
            raise fail(f"to: {exc.message}", exc.hint, param="to") from None
        reads = (to_name,)
    elif kind != "unique":  # pragma: no cover - callers check the kind first
        raise fail("unknown check")
    return CheckDef(
        name=str(options.get("name") or check_name(kind, asset, column, params)),
        asset=asset,
        kind=kind,
        column=column,
        params=dict(params),
        condition=condition,
        severity=_severity(options.get("severity", "error"), fail),
        where=where,
        warn_if=_threshold(options.get("warn_if", ">0"), fail),
        error_if=_threshold(options.get("error_if", ">0"), fail),
        fail_calc=fail_calc_of(options.get("fail_calc"), fail),
        to_relation=to_relation,
        store_failures=bool(options.get("store_failures", False)),
        path=path,
        line=line,
        reads=reads,
        description=str(options.get("description") or ""),
    )


def check_name(kind: str, asset: str, column: str | None, params: dict[str, Any]) -> str:
    """dbt-style names: ``not_null_orders_id``, ``accepted_values_orders_status``."""
    parts = [kind.split(".")[-1], asset]
    if column:
        parts.append(column)
    if kind == "unique_combination":
        parts += [
            str(c) for c in params.get("columns") or params.get("combination_of_columns") or []
        ]
    if kind == "relationships":
        parts.append(_ref_name(str(params.get("to", ""))))
    return re.sub(r"[^A-Za-z0-9_]+", "_", "_".join(parts)).strip("_")


def _ref_name(text: str) -> str:
    """``ref('customers')`` or ``customers`` -> ``customers``."""
    m = re.match(r"""^\s*ref\(\s*['"]([^'"]+)['"]\s*\)\s*$""", text)
    return m.group(1) if m else text.strip()


def _severity(value: Any, fail: Any) -> str:
    text = str(value).lower()
    if text not in ("error", "warn"):
        raise fail(
            f"severity must be error or warn, got {value!r}",
            did_you_mean(text, ("error", "warn"))
            or "severity: warn reports failures without blocking what is downstream",
        )
    return text


def _threshold(value: Any, fail: Any) -> str:
    text = str(value)
    if not _THRESHOLD.match(text):
        raise fail(f"threshold {value!r} is not a comparison", "write '>0', '>=10' or '!=0'")
    return text


def fail_calc_of(value: Any, fail: Any) -> str | None:
    """A check's ``fail_calc`` as it is computed: None for dbt's default, ``count(*)``.

    >>> fail_calc_of(None, None), fail_calc_of(" COUNT( * ) ", None)
    (None, None)
    >>> fail_calc_of("sum(coalesce(diff_count, 0))", None)
    'sum(coalesce(diff_count, 0))'
    """
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise fail(
            f"fail_calc must be a SQL aggregate over the failing rows, got {value!r}",
            "write fail_calc: 'sum(n_records)'; the default counts the rows, count(*)",
        )
    return None if "".join(text.split()).lower() == "count(*)" else text


def _holds(count: int, threshold: str) -> bool:
    op, number = _THRESHOLD.match(threshold).groups()  # type: ignore[union-attr]
    n = int(number)
    return {
        ">": count > n,
        ">=": count >= n,
        "<": count < n,
        "<=": count <= n,
        "=": count == n,
        "==": count == n,
        "!=": count != n,
    }[op]


def evaluate(failing: int, severity: str, warn_if: str, error_if: str) -> str:
    """``pass``, ``warn`` or ``fail`` for a failing-row count (dbt's rules)."""
    if severity == "error" and _holds(failing, error_if):
        return "fail"
    if _holds(failing, warn_if):
        return "warn"
    return "pass"


def normalize_test_entry(entry: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A YAML test entry -> (kind, params, options).

    ``not_null`` / ``{unique: {severity: warn}}`` / ``{accepted_values: {values: [...],
    config: {where: ...}}}`` (dbt puts options at the top level or under ``config``).
    """
    if isinstance(entry, str):
        return ALIASES.get(entry, entry), {}, {}
    if isinstance(entry, dict) and len(entry) == 1:
        kind, body = next(iter(entry.items()))
        kind = ALIASES.get(str(kind), str(kind))
        body = dict(body or {}) if isinstance(body, dict) else {"arg": body}
        options = {k: body.pop(k) for k in list(body) if k in OPTION_KEYS and k != "config"}
        options.update(dict(body.pop("config", None) or {}))
        if isinstance(body.get("arguments"), dict):  # dbt 1.10+: arguments: {...}
            body.update(body.pop("arguments"))
        return kind, body, options
    raise ValueError("a check is a name or a mapping of one name to its arguments")


def check_params_at(entry: Any) -> dict[str, tuple[int, int]]:
    """Where each parameter's value of a YAML check entry is written, (line, col): in
    ``{relationships: {to: x}}`` or under its ``arguments:``."""
    if not isinstance(entry, dict) or len(entry) != 1:
        return {}
    body = next(iter(entry.values()))
    if not isinstance(body, dict):
        return {}
    found = dict(getattr(body, "values_at", {}))
    arguments = body.get("arguments")
    if isinstance(arguments, dict):
        found.update(getattr(arguments, "values_at", {}))
    return found
