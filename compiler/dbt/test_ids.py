"""dbt's identity of a generic test: its name, alias, fqn, ``test_metadata`` and
``unique_id``, computed as dbt-core 1.12's parser computes them, so teal's manifest.json
and run_results.json name a test as dbt's do (``--state`` against a manifest dbt wrote,
elementary, dbt-artifacts and data catalogs join on these ids).

- the name joins the test, what it tests and its arguments' values
  (``accepted_values_orders_status__placed__shipped``); when that is 64 characters or
  more, the relation it writes (its alias) and teal's check are named by the first 30
  characters of the test and target and an md5 of the whole name, but the node keeps the
  whole name (:func:`test_name`); a ``name:`` given in the YAML replaces both;
- ``test_metadata`` is the test macro's name, its package namespace (``dbt_utils`` in
  ``dbt_utils.expression_is_true``, else null) and its arguments as written in the YAML
  (not rendered), with ``column_name`` (quoted when the column is) and ``model``, the
  Jinja dbt renders into the relation tested;
- the ``unique_id`` is ``test.<package>.<name>.<hash>``: the last 10 hex characters of the
  md5 of the name followed by the ``repr`` of the metadata with its keys sorted and its
  scalars made strings;
- the fqn is the package, the folders of the YAML file below its top folder, and the name.

>>> ident = generic_test_id(
...     package="shop", display="models/marts/schema.yml", test="unique", namespace=None,
...     target="orders", model="{{ get_where_subquery(ref('orders')) }}",
...     args={}, column="order_id", options={}, conf={},
... )
>>> ident["unique_id"], ident["fqn"]
('test.shop.unique_orders_order_id.fed79b3a6e', ['shop', 'marts', 'unique_orders_order_id'])
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath
from typing import Any

# what a generic test's YAML entry says beside its arguments that dbt reads as its config
# (dbt's TestBuilder.CONFIG_ARGS), and the other keys that are not the macro's arguments
CONFIG_ARGS = (
    "severity",
    "tags",
    "enabled",
    "where",
    "limit",
    "warn_if",
    "error_if",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "sql_header",
    "meta",
    "database",
    "schema",
    "alias",
)
NOT_ARGUMENTS = (*CONFIG_ARGS, "config", "name", "description")
HASH_LENGTH = 10


def test_name(test: str, target: str, args: dict[str, Any]) -> tuple[str, str]:
    """dbt's (short name, full name) of a generic test: the full name joins the test, its
    target and its arguments' values; the short one is the full name when that is under 64
    characters, else the first 30 characters of test and target and the full name's md5.

    >>> test_name("not_null", "orders", {"column_name": "id"})
    ('not_null_orders_id', 'not_null_orders_id')
    >>> values = ["placed", "shipped", "completed", "return_pending", "returned"]
    >>> test_name("accepted_values", "stg_orders", {"column_name": "status", "values": values})[0]
    'accepted_values_stg_orders_4f514bf94b77b7ea437830eec4421c58'
    """
    values: list[str] = []
    for arg in sorted(args):
        if arg == "model":  # the target is in the name already
            continue
        value = args[arg]
        if isinstance(value, dict):
            values += [str(v) for v in value.values()]
        elif isinstance(value, (list, tuple)):
            values += [str(v) for v in value]
        else:
            values.append(str(value))
    joined = "__".join(re.sub("[^0-9a-zA-Z_]+", "_", v) for v in values)
    identifier = f"{test}_{target}"
    full = f"{identifier}_{joined}"
    if len(full) < 64:
        return full, full
    return f"{identifier[:30]}_{hashlib.md5(full.encode()).hexdigest()}", full


def generic_test_id(
    *,
    package: str,
    display: str,
    test: str,
    namespace: str | None,
    source: bool = False,
    target: str,
    model: str,
    args: dict[str, Any],
    column: str | None,
    options: dict[str, Any],
    conf: dict[str, Any],
) -> dict[str, Any]:
    """A generic test's dbt identity: ``unique_id``, ``name``, ``alias``, ``fqn``,
    ``test_metadata``, ``column_name`` and ``short_name`` (what teal names its check and
    dbt its compiled file).

    ``package``: the project whose YAML declares the test; ``display``: that file, relative
    to the package's root; ``test``: the test's name without its namespace; ``target``:
    what dbt names the tested node in test names (``orders``, ``kind_totals_v2``,
    ``source_table``); ``source``: whether it tests a source table; ``model``: the
    Jinja dbt passes as ``model``; ``args``: the arguments as written; ``column``: the
    column's name as dbt passes it (quoted when the column is); ``options``: the test's
    own config (its YAML), ``conf``: the config with the project's under it.
    """
    kwargs = {k: plain(v) for k, v in args.items() if k not in NOT_ARGUMENTS}
    if column is not None:
        kwargs["column_name"] = column
    prefix = f"source_{test}" if source else test
    if namespace:
        prefix = f"{namespace}_{prefix}"
    short, full = test_name(prefix, target, kwargs)
    explicit = options.get("name")
    if explicit:
        short = full = str(explicit)
    kwargs["model"] = model
    metadata = {"name": test, "kwargs": kwargs, "namespace": namespace}
    digest = hashlib.md5((full + repr(_hashable(metadata))).encode()).hexdigest()
    alias = options.get("alias") or (short if short != full else None) or conf.get("alias") or full
    return {
        "unique_id": f"test.{package}.{full}.{digest[-HASH_LENGTH:]}",
        "name": full,
        "short_name": short,
        "alias": str(alias),
        "fqn": [package, *yaml_folders(display), full],
        "test_metadata": metadata,
        "column_name": column,
    }


def yaml_folders(display: str) -> list[str]:
    """The folders of a YAML file below its top folder (``models/marts/x.yml`` ->
    ``[marts]``), as dbt puts them in the fqn of the tests it declares."""
    return list(PurePosixPath(display).parts[1:-1])


def quoted_column(name: str, quote: Any) -> str:
    """The column name dbt passes a column's tests: in DuckDB's quotes when the column (or
    a source's ``quoting: column``) says ``quote: true``."""
    return '"' + name.replace('"', '""') + '"' if quote is True else name


def plain(value: Any) -> Any:
    """``value`` with teal's line-keeping YAML mappings and lists made plain ones."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _hashable(value: Any) -> Any:
    """dbt's hashable form of test metadata: mappings with their keys sorted, lists kept,
    every other value its ``str``."""
    if isinstance(value, dict):
        return {k: _hashable(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_hashable(v) for v in value]
    return str(value)
