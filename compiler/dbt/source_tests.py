"""A source table's dbt tests as teal checks. teal runs checks when a model builds, so a
source's tests belong to the first model to build that reads the source, and run on the
source as it is then (dbt runs them on their own). Named as dbt names them
(``source_not_null_shop_orders_id``, compiler/dbt/test_ids.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from teal.compiler.checks import CheckDef
from teal.compiler.dbt.test_render import render_generic
from teal.compiler.dbt.tests import (
    _judged,
    _settled,
    _split,
    _test_config,
    _test_items,
    identified,
)
from teal.compiler.errors import ProjectError

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader, Node
    from teal.compiler.project import Model


def source_tests(
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
    items = _test_items(entry, _source_quoting(loader, source, entry))
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
    for test, column, quote, line in items:
        name, args, options = _split(test, display, line)
        conf = _test_config(loader, pseudo, options)
        if conf.get("enabled") is False:
            continue
        package, short = name.split(".", 1) if "." in name else (None, name)
        call_args, test_id = identified(
            loader,
            info["package"],
            display,
            name,
            args,
            (column, quote),
            options,
            conf,
            target=f"{source}_{table}",
            model="{{ get_where_subquery(source('" + source + "', '" + table + "')) }}",
            source=True,
        )
        macro = (
            loader.jinja.find_macro(f"test_{short}", package)
            if package
            else (loader.jinja.find_macro(f"test_{short}"))
        )
        if macro is None:
            raise ProjectError(f"unknown test '{name}'", path=display, line=line)
        out.append(
            _source_check(
                loader,
                pseudo,
                macro,
                (name, test_id, column),
                call_args,
                conf,
                options,
                line,
                attach,
                models,
                relation,
            )
        )
    return out


def _source_quoting(loader: DbtLoader, source: str, table_entry: Any) -> bool | None:
    """A source table's ``quoting: column`` (its table's over its source's)."""
    found = None
    for entry in ((loader.source_entries.get(source) or (None,))[0], table_entry):
        quoting = entry.get("quoting") if isinstance(entry, dict) else None
        if isinstance(quoting, dict) and quoting.get("column") is not None:
            found = bool(quoting["column"])
    return found


def _source_check(
    loader: DbtLoader,
    pseudo: Node,
    macro: Any,
    named: tuple[str, str, str | None],
    call_args: dict[str, Any],
    conf: dict[str, Any],
    options: dict[str, Any],
    line: int | None,
    attach: str,
    models: dict[str, Model],
    relation: str,
) -> CheckDef:
    """One test of a source table; ``named``: its kind, name and column."""
    kind, test_id, column = named
    display = pseudo.display

    def render() -> CheckDef:
        rendered = render_generic(
            loader, pseudo, macro, call_args, conf, display, line, attach, models, relation
        )
        return CheckDef(
            name=test_id,
            asset=attach,
            kind=kind,
            column=column,
            sql=rendered.sql,
            path=display,
            line=line,
            reads=tuple(sorted(set(rendered.reads) - {attach})),
            render_at_run=rendered.at_run,
            **_judged(_settled(conf, rendered, options), display, line),
        )

    loader.test_renders.setdefault(test_id, render)
    return render()
