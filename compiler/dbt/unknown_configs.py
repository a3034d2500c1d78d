"""Config keys of a dbt node that neither dbt, dbt-duckdb, teal nor any macro knows: each a
located warning (an error under ``--strict``), never silence.

dbt keeps an unknown key in a node's config (``{{ config(materalized='table') }}``, a YAML
entry's ``config: {materalized: table}``, ``+materalized: table`` in dbt_project.yml)
and builds the node as if it were not there; dbt 1.10 warns about custom keys in config
("move them under meta"). A misspelt ``materialized`` would build a view where a table was
meant, silently. A custom key that a macro of the project or a package reads
(``config.get('owner')``, ``node.config.owner``) is applied by that macro and not warned
about: any mention of the key as a quoted name or an attribute in a macro, a node's SQL or
a hook counts as a read.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from teal.compiler.dbt.nodes import CONFIG_KEYS, Node
from teal.compiler.dbt.unapplied import MERGE_CONFIGS, Seen, warn_where_set
from teal.compiler.errors import ProjectError, did_you_mean

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader

# dbt configs that CONFIG_KEYS (the plain keys dbt_project.yml may set) leaves out but a
# node's config may hold: teal's own additions and dbt's documented ones it reads elsewhere
KNOWN = frozenset(
    {
        *CONFIG_KEYS,
        *MERGE_CONFIGS,
        "version",
        "freshness",
        "concurrent_batches",
        "static_analysis",
        "docs",
        "column_types",
    }
)
_NAME = re.compile(r"""['"](\w+)['"]|\.(\w+)\b""")


def read_names(loader: DbtLoader) -> frozenset[str]:
    """Every name a macro, a node's text or a hook mentions as a quoted word or an
    attribute: the custom configs something may read."""
    texts = [text for _, _, text in loader.macro_sources]
    texts += [n.raw for n in loader.nodes.values() if n.raw]
    texts += [*loader.settings.on_run_start, *loader.settings.on_run_end]
    return frozenset(a or b for text in texts for a, b in _NAME.findall(text))


def warn_unknown_configs(loader: DbtLoader, node: Node, read: frozenset[str], seen: Seen) -> None:
    """Append to ``loader.warnings`` one warning per place that sets a config key of
    ``node`` nothing knows or reads."""
    for key in node.config:
        key = str(key)
        if key in KNOWN or key in read:
            continue
        message = (
            f"config '{key}' ({node.resource_type} '{node.name}') is not a dbt config "
            "teal knows and no macro reads it: it is ignored"
        )
        hint = did_you_mean(key, sorted(KNOWN)) or (
            "keep custom values under meta: (dbt 1.10 warns about custom config "
            f"keys too), or read it in a macro with config.get('{key}')"
        )
        warn_where_set(loader, node, key, seen, message, hint)


# the arguments of the generic tests teal runs as its built-in checks (dbt's macros take
# these and no others: dbt fails a test called with another)
BUILTIN_TEST_ARGS: dict[str, frozenset[str]] = {
    "unique": frozenset(),
    "not_null": frozenset(),
    "relationships": frozenset({"to", "field"}),
}


def warn_unknown_test_keys(
    loader: DbtLoader,
    test: object,
    short: str,
    args: dict[str, object],
    options: dict[str, object],
    display: str,
    line: int | None,
) -> None:
    """One warning per key of a generic test's ``config:`` that is no test config, and per
    argument a built-in test (``unique``, ``not_null``, ``relationships``) does not take
    (``serverity: warn`` written beside the test's name instead of under ``config:``)."""
    from teal.compiler.dbt.tests import OPTION_KEYS

    body = next(iter(test.values()), None) if isinstance(test, dict) and len(test) == 1 else None
    at = dict(getattr(body, "keys_at", {}))
    conf = body.get("config") if isinstance(body, dict) else None
    conf_at = dict(getattr(conf, "keys_at", {}))
    unknown = [(k, conf_at.get(k), "config") for k in options if k not in OPTION_KEYS]
    allowed = BUILTIN_TEST_ARGS.get(short)
    if allowed is not None:
        unknown += [(k, at.get(k), "argument") for k in args if k not in allowed]
    for key, place, kind in unknown:
        found_line, col = place or (line, None)
        hint = did_you_mean(
            key, sorted(OPTION_KEYS if kind == "config" else {*(allowed or ()), *OPTION_KEYS})
        )
        loader.warnings.append(
            ProjectError(
                f"test {short}: {kind} '{key}' is not one {short} takes: it is ignored"
                if kind == "argument"
                else f"test {short}: config '{key}' is not a test config: it is ignored",
                path=display,
                line=found_line,
                col=col,
                hint=hint
                or (
                    f"{short} takes {', '.join(sorted(allowed or ())) or 'no arguments'} "
                    "(dbt fails the test); a config goes under config:"
                    if kind == "argument"
                    else "test configs: " + ", ".join(sorted(OPTION_KEYS - {"config"}))
                ),
            )
        )
