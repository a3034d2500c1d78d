"""dbt tests as teal checks: same names, same failing rows, same severity and thresholds.

- ``unique``, ``not_null`` and ``relationships`` (unless the project overrides their test
  macros or the test sets a ``fail_calc``) become teal's built-in checks, which share one
  scan per model;
- every other generic test (``accepted_values``, ``{% test %}`` macros of the project and
  of packages, ``package.test``) is its macro rendered with dbt's arguments into a query
  of failing rows over the model;
- singular tests (``tests/*.sql``) are their query;
- unit tests (``unit_tests:``) compare the model's query, run over the given rows, with
  the expected rows.

A test's result is dbt's: its ``fail_calc`` (``count(*)`` unless its config says otherwise;
dbt_utils's ``equal_rowcount`` sets one with ``config()`` in its macro) over the rows its
query returns, compared with ``warn_if`` and ``error_if``. Rendering a test's macro is
compiler/dbt/test_render.py.

A check belongs to the node it tests (a singular test: the first node it refs) and runs
when that node builds, on its new data before it is published (teal's write-audit-publish;
dbt tests after publishing). Names are dbt's (``not_null_orders_order_id``, long names
shortened with an md5 as dbt does).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict

from teal.compiler.checks import (
    CheckDef,
    _threshold,
    builtin_check,
    check_params_at,
    fail_calc_of,
)
from teal.compiler.dbt.test_ids import generic_test_id, quoted_column
from teal.compiler.dbt.test_render import Rendered, render_generic, render_singular
from teal.compiler.dbt.unknown_configs import warn_unknown_test_keys
from teal.compiler.errors import ProjectError, TealError, did_you_mean, raise_all

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader, Node
    from teal.compiler.project import Model

TEST_KEYS = ("data_tests", "tests")
OPTION_KEYS = {
    "severity",
    "where",
    "warn_if",
    "error_if",
    "store_failures",
    "limit",
    "tags",
    "meta",
    "enabled",
    "name",
    "alias",
    "schema",
    "database",
    "fail_calc",
    "store_failures_as",
    "description",
    "config",
}
FAST = ("unique", "not_null", "relationships")


def collect_tests(
    loader: DbtLoader, models: dict[str, Model], nodes: list[Node], order: dict[str, int]
) -> dict[str, CheckDef]:
    """Every test of the project as a check, by name. ``order``: each model's place in the
    build order; a test that reads several models belongs to the last of them to build."""
    checks: dict[str, CheckDef] = {}
    errors: list[TealError] = []
    tested = {n.name: n for n in nodes if n.resource_type in ("model", "seed", "snapshot")}

    def add(check: CheckDef) -> None:
        if check.name in checks:
            return  # dbt keeps one node per test name
        checks[check.name] = check

    for node in tested.values():
        entry = node.yaml
        if entry is None or node.materialized == "ephemeral":
            continue
        for test, column, quote, line in _test_items(entry, None):
            try:
                check = _generic(
                    loader, node, models, test, (column, quote), node.yaml_display, line, order
                )
                if check is not None:
                    add(check)
            except TealError as exc:
                errors.append(exc)
    for node in loader.nodes.values():
        if node.resource_type == "test" and node.enabled:
            try:
                check = _singular(loader, node, models, order)
                if check is not None:
                    add(check)
            except TealError as exc:
                errors.append(exc)
    from teal.compiler.dbt.source_tests import source_tests

    for (source, table), info in loader.sources.items():
        try:
            for check in source_tests(loader, source, table, info, models, order):
                add(check)
        except TealError as exc:
            errors.append(exc)
    for entry, display in loader.unit_tests:
        try:
            for check in _unit_tests(loader, entry, display, models, tested):
                add(check)
        except TealError as exc:
            errors.append(exc)
    raise_all(errors)
    return checks


def _split(test: Any, display: str, line: int | None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    if isinstance(test, str):
        return test, {}, {}
    if isinstance(test, dict):
        if "test_name" in test or (
            "name" in test and len(test) > 1 and not isinstance(next(iter(test.values())), dict)
        ):
            body = dict(test)
            name = str(body.pop("test_name", None) or body.pop("name"))
        elif len(test) == 1:
            name, body = next(iter(test.items()))
            body = dict(body or {}) if isinstance(body, dict) else {}
        else:
            raise ProjectError(
                "a test is a name or a mapping of one name to its arguments",
                path=display,
                line=line,
            )
        options = dict(body.pop("config", None) or {})
        args = dict(body.pop("arguments", None) or {})
        for key in list(body):
            if key in OPTION_KEYS:
                options.setdefault(key, body.pop(key))
        args.update(body)
        return str(name), args, options
    raise ProjectError(
        "a test is a name or a mapping of one name to its arguments", path=display, line=line
    )


def _test_config(loader: DbtLoader, node: Node, options: dict[str, Any]) -> dict[str, Any]:
    """The test's config: data_tests: in dbt_project.yml, then the test's own."""
    from teal.compiler.dbt.loader import Node as _Node

    probe = _Node("test", node.package, node.name, node.path, node.display, node.fqn)
    from teal.compiler.dbt.configure import tree_config

    conf = tree_config(loader, probe)
    conf.update(options)
    return conf


def _generic(
    loader: DbtLoader,
    node: Node,
    models: dict[str, Model],
    test: Any,
    tested_column: tuple[str | None, bool],
    display: str,
    line: int | None,
    order: dict[str, int],
) -> CheckDef | None:
    """One generic test of a model, seed or snapshot; ``tested_column``: the column it
    tests (None: the node) and whether the column is quoted (``quote: true``)."""
    column, quote = tested_column
    name, args, options = _split(test, display, line)
    conf = _test_config(loader, node, options)
    if conf.get("enabled") is False:
        return None
    package = None
    short = name
    if "." in name:
        package, short = name.split(".", 1)
    warn_unknown_test_keys(
        loader, test, short if package in (None, "dbt") else name, args, options, display, line
    )
    target = f"ref('{node.base_name or node.name}')"
    if node.version is not None:
        target = f"ref('{node.base_name}', version='{node.version}')"
    call_args, test_id = identified(
        loader,
        node.package,
        display,
        name,
        args,
        (column, quote),
        options,
        conf,
        target=node.name,
        model="{{ get_where_subquery(" + target + ") }}",
    )
    severity = str(conf.get("severity", "error")).lower()
    overridden = loader.jinja.find_macro(f"test_{short}", loader.settings.project.name) is not None
    where = conf.get("where")
    reads = {node.name} | {
        m.group(1)
        for v in args.values()
        if isinstance(v, str)
        for m in re.finditer(r"""ref\(\s*['"](\w+)['"]\s*\)""", v)
        if m.group(1) in models
    }
    attach = max(reads, key=lambda n: order.get(n, -1))
    fast = short in FAST and package in (None, "dbt") and not overridden and attach == node.name
    fast = fast and conf.get("limit") is None  # a limit caps the rows its query returns
    if fast and _fail_calc(conf, display, line) is None:
        params = dict(args)
        if short == "relationships":
            to = str(params.get("to", ""))
            m = re.match(r"""^\s*ref\(\s*['"](\w+)['"]\s*\)\s*$""", to)
            if m:
                params["to"] = m.group(1)
        options_out = {
            "severity": severity,
            "where": where,
            "name": test_id,
            "warn_if": str(conf.get("warn_if", "!=0")),
            "error_if": str(conf.get("error_if", "!=0")),
            "store_failures": bool(conf.get("store_failures", False)),
        }
        options_out = {k: v for k, v in options_out.items() if v is not None}
        try:
            check = builtin_check(
                short,
                asset=node.name,
                column=column,
                params=params,
                options=options_out,
                path=display,
                line=line,
                relation_of=lambda n: _relation_of(models, n),
                params_at=check_params_at(test),
            )
        except ProjectError as exc:
            raise ProjectError(
                exc.message, path=display, line=exc.line or line, col=exc.col, hint=exc.hint
            ) from None
        return check
    macro = (
        loader.jinja.find_macro(f"test_{short}", package)
        if package
        else (loader.jinja.find_macro(f"test_{short}") or _any_package_test(loader, short))
    )
    if macro is None:
        known = [n[5:] for n in loader.jinja.macro_names() if n.startswith("test_")]
        raise ProjectError(
            f"unknown test '{name}'",
            path=display,
            line=line,
            hint=did_you_mean(short, known)
            or (
                f"is package '{package}' installed? run `dbt deps`"
                if package
                else "define it with {% test " + short + "(model, column_name) %}"
            ),
        )
    plain_params = {
        k: v
        for k, v in args.items()
        if isinstance(v, (str, int, float, bool, list, dict, type(None)))
    }

    def render() -> CheckDef:
        rendered = render_generic(
            loader, node, macro, call_args, conf, display, line, attach, models
        )
        settled = _settled(conf, rendered, options)
        return CheckDef(
            name=test_id,
            asset=attach,
            kind=name,
            column=column,
            params=plain_params,
            where=where,
            sql=limited(rendered.sql, settled.get("limit"), display, line),
            limit=settled.get("limit"),
            path=display,
            line=line,
            reads=tuple(sorted({*rendered.reads, node.name} - {attach})),
            render_at_run=rendered.at_run,
            **_judged(settled, display, line),
        )

    loader.test_renders.setdefault(test_id, render)
    return render()


def _settled(conf: dict[str, Any], rendered: Rendered, options: dict[str, Any]) -> dict[str, Any]:
    """A generic test's config as dbt documents its order: the project's, then what its
    macro's config() calls set, then the test's own YAML (``conf`` is the project's with
    the YAML's over it)."""
    return {**conf, **rendered.config, **options}


def limited(sql: str | None, limit: Any, display: str, line: int | None) -> str | None:
    """A test's failing-rows query capped at its ``limit`` config, as dbt's test
    materialization appends ``limit N`` to it (so failures count at most N rows)."""
    if limit is None or sql is None:
        return sql
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ProjectError(
            f"limit: {limit!r} is not a whole number of rows",
            path=display,
            line=line,
            hint="limit: 100 (the most failing rows the test returns)",
        )
    return f"select * from (\n{sql}\n) as dbt_limited limit {limit}"


def _fail_calc(conf: dict[str, Any], display: str, line: int | None) -> str | None:
    return fail_calc_of(conf.get("fail_calc"), _at(display, line))


def _at(display: str, line: int | None) -> Callable[..., ProjectError]:
    """A test's config mistake, at its YAML entry."""

    def fail(message: str, hint: str | None = None) -> ProjectError:
        return ProjectError(message, path=display, line=line, hint=hint)

    return fail


class _Judgement(TypedDict):
    """The fields of a CheckDef that say how its outcome is judged."""

    severity: str
    warn_if: str
    error_if: str
    fail_calc: str | None
    store_failures: bool


def _judged(conf: dict[str, Any], display: str, line: int | None) -> _Judgement:
    """How a test's outcome is judged, from its settled config: severity, thresholds, the
    failures they compare (fail_calc), whether failing rows are stored."""
    severity = str(conf.get("severity", "error")).lower()
    return {
        "severity": severity if severity in ("error", "warn") else "error",
        "warn_if": _threshold(conf.get("warn_if", "!=0"), _at(display, line)),
        "error_if": _threshold(conf.get("error_if", "!=0"), _at(display, line)),
        "fail_calc": _fail_calc(conf, display, line),
        "store_failures": bool(conf.get("store_failures", False)),
    }


def _test_items(
    entry: Any, quote_columns: bool | None
) -> list[tuple[Any, str | None, bool, int | None]]:
    """The tests of a YAML entry (a model's, a seed's, a source table's), the entry's own
    and its columns': (test, column or None, whether the column is quoted, line).
    ``quote_columns``: a source's ``quoting: column``, which a column's ``quote`` overrides."""
    items: list[tuple[Any, str | None, bool, int | None]] = []
    for key in TEST_KEYS:
        values = entry.get(key) or []
        lines = getattr(values, "lines", [])
        items += [
            (t, None, False, lines[i] if i < len(lines) else None) for i, t in enumerate(values)
        ]
    for column in entry.get("columns") or []:
        if not isinstance(column, dict) or not column.get("name"):
            continue
        quote = column.get("quote")
        quote = quote_columns if quote is None else quote
        for key in TEST_KEYS:
            values = column.get(key) or []
            lines = getattr(values, "lines", [])
            items += [
                (
                    t,
                    str(column["name"]),
                    quote is True,
                    lines[i] if i < len(lines) else getattr(column, "line", None),
                )
                for i, t in enumerate(values)
            ]
    return items


def identified(
    loader: DbtLoader,
    owner: str,
    display: str,
    name: str,
    args: dict[str, Any],
    tested_column: tuple[str | None, Any],
    options: dict[str, Any],
    conf: dict[str, Any],
    *,
    target: str,
    model: str,
    source: bool = False,
) -> tuple[dict[str, Any], str]:
    """A generic test's arguments as its macro is called with them (a tested column's
    name in its quotes when it is quoted, as dbt passes it) and its check's name; its dbt
    identity (compiler/dbt/test_ids.py) is kept by that name in ``loader.test_ids``.
    ``owner``: the package whose YAML declares it; ``name``: as written (``pkg.test``)."""
    namespace, short = name.split(".", 1) if "." in name else (None, name)
    column, quote = tested_column
    call_args = dict(args)
    if column is not None:
        call_args["column_name"] = quoted_column(column, quote)
    ident = generic_test_id(
        package=owner,
        display=_package_path(loader, owner, display),
        test=short,
        namespace=namespace,
        source=source,
        target=target,
        model=model,
        args=args,
        column=call_args.get("column_name"),
        options=options,
        conf=conf,
    )
    test_id = str(conf.get("name") or ident["short_name"])
    loader.test_ids.setdefault(test_id, ident)
    return call_args, test_id


def _package_path(loader: DbtLoader, package: str, display: str) -> str:
    """``display`` (relative to the project's root) relative to its package's root, as
    dbt's ``original_file_path`` of a package's file."""
    for pkg in loader._packages():
        if pkg.name == package and pkg.root != loader.cfg.root:
            try:
                return (loader.cfg.root / display).relative_to(pkg.root).as_posix()
            except ValueError:
                return display
    return display


def _any_package_test(loader: DbtLoader, short: str) -> Any:
    return loader.jinja.find_macro(f"test_{short}", "dbt")


def _relation_of(models: dict[str, Model], name: str) -> str:
    """The relation of the model a relationships test's ``to:`` names (an error without a
    place: builtin_check places it at the ``to:`` value)."""
    if name not in models:
        raise ProjectError(
            f"'{name}' is not a model, seed or snapshot", hint=did_you_mean(name, models)
        )
    m = models[name]
    return f'"{m.schema}"."{m.alias}"'


def _singular(
    loader: DbtLoader, node: Node, models: dict[str, Model], order: dict[str, int]
) -> CheckDef | None:
    if not node.refs and not node.sources:
        raise ProjectError(
            "a singular test must read a model (ref) or a source",
            path=node.display,
            line=1,
            hint="select the failing rows from {{ ref('the_model') }}",
        )
    read = [n for n, _ in node.refs if n in models]
    asset = max(read, key=lambda n: order.get(n, -1)) if read else None
    if asset is None:
        return None  # it tests sources only: not supported as a teal check
    conf = node.config  # its config() calls included: it was parsed
    name = str(conf.get("name") or node.name)

    def render() -> CheckDef:
        rendered = render_singular(loader, node, str(asset))
        return CheckDef(
            name=name,
            asset=str(asset),
            kind="singular",
            sql=limited(rendered.sql, conf.get("limit"), node.display, 1),
            limit=conf.get("limit"),
            path=node.display,
            line=1,
            reads=tuple(n for n, _ in node.refs if n != asset and n in models),
            render_at_run=rendered.at_run,
            **_judged(conf, node.display, 1),
        )

    loader.test_renders.setdefault(name, render)
    return render()


def _unit_tests(
    loader: DbtLoader, entry: Any, display: str, models: dict[str, Model], tested: dict[str, Node]
) -> list[CheckDef]:
    from teal.compiler.dbt.unit_tests import unit_test_checks

    return unit_test_checks(loader, entry, display, models, tested)
