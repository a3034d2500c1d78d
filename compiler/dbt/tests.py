"""dbt tests as teal checks: same names, same failing rows, same severity and thresholds.

- ``unique``, ``not_null`` and ``relationships`` (unless the project overrides their test
  macros) become teal's built-in checks, which share one scan per model;
- every other generic test (``accepted_values``, ``{% test %}`` macros of the project and
  of packages, ``package.test``) is its macro rendered with dbt's arguments into a query
  of failing rows over the model;
- singular tests (``tests/*.sql``) are their query;
- unit tests (``unit_tests:``) compare the model's query, run over the given rows, with
  the expected rows.

A check belongs to the node it tests (a singular test: the first node it refs) and runs
when that node builds, on its new data before it is published (teal's write-audit-publish;
dbt tests after publishing). Names are dbt's (``not_null_orders_order_id``, long names
shortened with an md5 as dbt does).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from teal.compiler.checks import TARGET, CheckDef, builtin_check, check_params_at
from teal.compiler.dbt.context import Relation
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
_FUNC = re.compile(r"^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$", re.S)
FAST = ("unique", "not_null", "relationships")


def test_name(test: str, target: str, args: dict[str, Any]) -> tuple[str, str]:
    """dbt's (short name, full name) of a generic test."""
    flat: list[str] = []
    for arg in sorted(args):
        if arg == "model":
            continue
        value = args[arg]
        parts = (
            list(value.values())
            if isinstance(value, dict)
            else list(value)
            if isinstance(value, (list, tuple))
            else [value]
        )
        flat += [str(p) for p in parts]
    unique = "__".join(re.sub("[^0-9a-zA-Z_]+", "_", a) for a in flat)
    identifier = f"{test}_{target}"
    full = f"{identifier}_{unique}"
    if len(full) >= 64:
        return f"{identifier[:30]}_{hashlib.md5(full.encode()).hexdigest()}", full
    return full, full


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
        items: list[tuple[Any, str | None, int | None]] = []
        for key in TEST_KEYS:
            values = entry.get(key) or []
            lines = getattr(values, "lines", [])
            items += [(t, None, lines[i] if i < len(lines) else None) for i, t in enumerate(values)]
        for column in entry.get("columns") or []:
            if not isinstance(column, dict) or not column.get("name"):
                continue
            for key in TEST_KEYS:
                values = column.get(key) or []
                lines = getattr(values, "lines", [])
                items += [
                    (
                        t,
                        str(column["name"]),
                        lines[i] if i < len(lines) else getattr(column, "line", None),
                    )
                    for i, t in enumerate(values)
                ]
        for test, column, line in items:
            try:
                check = _generic(loader, node, models, test, column, node.yaml_display, line, order)
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
    for (source, table), info in loader.sources.items():
        try:
            for check in _source_tests(loader, source, table, info, models, order):
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
    column: str | None,
    display: str,
    line: int | None,
    order: dict[str, int],
) -> CheckDef | None:
    name, args, options = _split(test, display, line)
    conf = _test_config(loader, node, options)
    if conf.get("enabled") is False:
        return None
    package = None
    short = name
    if "." in name:
        package, short = name.split(".", 1)
    call_args = dict(args)
    if column is not None:
        call_args["column_name"] = column
    prefix = f"{package}_{short}" if package else short
    test_id, _full = test_name(prefix, node.name, call_args)
    test_id = str(conf.get("name") or test_id)
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
    if short in FAST and package in (None, "dbt") and not overridden and attach == node.name:
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
    sql, read = _render_test(loader, node, macro, call_args, conf, display, line, attach, models)
    return CheckDef(
        name=test_id,
        asset=attach,
        kind=name,
        column=column,
        params={
            k: v
            for k, v in args.items()
            if isinstance(v, (str, int, float, bool, list, dict, type(None)))
        },
        severity=severity if severity in ("error", "warn") else "error",
        where=where,
        warn_if=str(conf.get("warn_if", "!=0")),
        error_if=str(conf.get("error_if", "!=0")),
        sql=sql,
        store_failures=bool(conf.get("store_failures", False)),
        path=display,
        line=line,
        reads=tuple(sorted({*read, node.name} - {attach})),
    )


def _source_tests(
    loader: DbtLoader,
    source: str,
    table: str,
    info: dict[str, Any],
    models: dict[str, Model],
    order: dict[str, int],
) -> list[CheckDef]:
    """A source table's tests. teal runs checks when a model builds, so they belong to the
    first model to build that reads the source, and run on the source as it is then."""
    from teal.compiler.dbt.loader import Node as _Node

    entry, display = info["entry"], info["display"]
    items: list[tuple[Any, str | None, int | None]] = []
    for key in TEST_KEYS:
        values = entry.get(key) or []
        lines = getattr(values, "lines", [])
        items += [(t, None, lines[i] if i < len(lines) else None) for i, t in enumerate(values)]
    for column in entry.get("columns") or []:
        if isinstance(column, dict) and column.get("name"):
            for key in TEST_KEYS:
                values = column.get(key) or []
                lines = getattr(values, "lines", [])
                items += [
                    (
                        t,
                        str(column["name"]),
                        lines[i] if i < len(lines) else getattr(column, "line", None),
                    )
                    for i, t in enumerate(values)
                ]
    if not items:
        return []
    readers = [m for m in models.values() if f"{source}.{table}" in m.source_tables]
    if not readers:
        raise ProjectError(
            f"source {source}.{table} has tests but no model reads it: teal runs a test when a model builds",
            path=display,
            line=getattr(entry, "line", None),
            hint="remove the tests, or test the model that will read the source",
        )
    attach = min(readers, key=lambda m: order.get(m.name, 0)).name
    pseudo = _Node(
        "source",
        info["package"],
        f"{source}_{table}",
        loader.cfg.root / display,
        display,
        [info["package"], source, table],
    )
    from teal.compiler.dbt.attach import source_name_sql

    relation = source_name_sql(info, loader.settings.attachments)
    out = []
    for test, column, line in items:
        name, args, options = _split(test, display, line)
        conf = _test_config(loader, pseudo, options)
        if conf.get("enabled") is False:
            continue
        package, short = name.split(".", 1) if "." in name else (None, name)
        call_args = dict(args)
        if column is not None:
            call_args["column_name"] = column
        prefix = f"source_{package}_{short}" if package else f"source_{short}"
        test_id = str(conf.get("name") or test_name(prefix, f"{source}_{table}", call_args)[0])
        macro = (
            loader.jinja.find_macro(f"test_{short}", package)
            if package
            else (loader.jinja.find_macro(f"test_{short}"))
        )
        if macro is None:
            raise ProjectError(f"unknown test '{name}'", path=display, line=line)
        sql, read = _render_test(
            loader,
            pseudo,
            macro,
            call_args,
            conf,
            display,
            line,
            attach,
            models,
            tested_relation=relation,
        )
        severity = str(conf.get("severity", "error")).lower()
        out.append(
            CheckDef(
                name=test_id,
                asset=attach,
                kind=name,
                column=column,
                severity=severity if severity in ("error", "warn") else "error",
                warn_if=str(conf.get("warn_if", "!=0")),
                error_if=str(conf.get("error_if", "!=0")),
                sql=sql,
                path=display,
                line=line,
                reads=tuple(sorted(set(read) - {attach})),
            )
        )
    return out


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


def _render_test(
    loader: DbtLoader,
    node: Node,
    macro: Any,
    args: dict[str, Any],
    conf: dict[str, Any],
    display: str,
    line: int | None,
    attach: str,
    models: dict[str, Model],
    tested_relation: str | None = None,
) -> tuple[str, list[str]]:
    """The failing-rows query of a generic test; the model it belongs to (``attach``) is
    the placeholder the check audits, any other model its published relation."""
    jinja = loader.jinja
    state = jinja.state
    state.node = _TestNode(node, conf, display)
    state.refs, state.sources = [], []
    ctx = jinja.context()
    original_ref = ctx["ref"]

    def ref(*a: Any, **k: Any) -> Any:
        rel = original_ref(*a, **k)
        return Relation(cte=TARGET) if a and str(a[-1]) == attach else rel

    ctx["ref"] = ref
    try:
        kwargs: dict[str, Any] = {}
        for key, value in args.items():
            if isinstance(value, str) and key != "column_name":
                if _FUNC.match(value):
                    value = _evaluate(jinja, value, display)
                elif "{{" in value:
                    value = jinja.render(jinja.template(value, display), display, value)
            kwargs[key] = value
        where = conf.get("where")
        if tested_relation is not None:
            tested = tested_relation
        elif attach == node.name:
            tested = TARGET
        else:
            tested = f'"{models[node.name].schema}"."{models[node.name].alias}"'
        model = Relation(
            cte=f"(select * from {tested} where {where}) dbt_subquery" if where else tested
        )
        try:
            sql = str(macro(model=model, **kwargs))
        except TypeError as exc:
            raise ProjectError(
                f"test arguments do not fit the test macro: {exc}", path=display, line=line
            ) from None
        except TealError as exc:
            raise ProjectError(exc.message, path=display, line=line, hint=exc.hint) from None
        except Exception as exc:  # noqa: BLE001 - a failure inside the test's macro
            raise ProjectError(
                f"rendering the test failed: {type(exc).__name__}: {exc}", path=display, line=line
            ) from None
        reads = [n for n, _ in state.refs]
    finally:
        state.node = None
        ctx["ref"] = original_ref
    return sql.strip(), reads


def _evaluate(jinja: Any, expression: str, display: str) -> Any:
    """A test argument such as ``ref('customers')``: evaluated, as dbt does."""
    template = jinja.env.compile_expression(expression.strip())
    return template(**jinja.context())


class _TestNode:
    """The node a test renders for: its config is the test's (for config.get('where'))."""

    def __init__(self, node: Node, conf: dict[str, Any], display: str) -> None:
        self._node, self.config, self.display = node, conf, display
        self.resource_type = "test"
        self.package, self.name, self.raw = node.package, node.name, ""
        self.fqn = node.fqn
        self.refs: list[tuple[str, str | None]] = []
        self.sources: list[tuple[str, str]] = []
        self.schema, self.alias, self.database, self.compiled, self.yaml = (
            node.schema,
            node.alias,
            node.database,
            "",
            None,
        )

    @property
    def materialized(self) -> str:
        return "test"

    @property
    def unique_id(self) -> str:
        return f"test.{self.package}.{self.name}"

    @property
    def enabled(self) -> bool:
        return True


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
    jinja = loader.jinja
    state = jinja.state
    original_ref = loader.ref

    def ref(*args: Any, **kwargs: Any) -> Any:
        rel = original_ref(*args, **kwargs)
        if str(args[-1]) == asset:
            return Relation(cte=TARGET)
        return rel

    ctx = jinja.context()
    ctx["ref"] = ref
    state.node, state.refs, state.sources = node, [], []
    try:
        sql = jinja.render(node.template, node.display, node.raw).strip()
    finally:
        ctx["ref"] = original_ref
        state.node = None
    conf = node.config
    severity = str(conf.get("severity", "error")).lower()
    return CheckDef(
        name=str(conf.get("name") or node.name),
        asset=asset,
        kind="singular",
        severity=severity if severity in ("error", "warn") else "error",
        warn_if=str(conf.get("warn_if", "!=0")),
        error_if=str(conf.get("error_if", "!=0")),
        sql=sql,
        store_failures=bool(conf.get("store_failures")),
        path=node.display,
        line=1,
        reads=tuple(n for n, _ in node.refs if n != asset and n in models),
    )


def _unit_tests(
    loader: DbtLoader, entry: Any, display: str, models: dict[str, Model], tested: dict[str, Node]
) -> list[CheckDef]:
    from teal.compiler.dbt.unit_tests import unit_test_checks

    return unit_test_checks(loader, entry, display, models, tested)
