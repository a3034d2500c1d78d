"""Model config: the keys a model's config may hold, how configs from several places merge,
and the check of one config's keys and values (located errors naming the key).

Configs come from ``[defaults]`` and ``[folders."..."]`` in the project file
(compiler/config.py), YAML properties (compiler/properties.py) and each model's own
``config(...)`` or decorator arguments (compiler/stage.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from teal.compiler.automation import freshness_problem, parse_duration
from teal.compiler.automation_conditions import condition_mistake
from teal.compiler.errors import ProjectError, did_you_mean, line_col
from teal.compiler.external import FORMATS

MATERIALIZATIONS = ("view", "table", "ephemeral", "incremental", "external")
INCREMENTAL_STRATEGIES = ("append", "merge", "delete+insert")
# what an incremental run does when its columns changed (dbt's names; teal's default: fail)
ON_SCHEMA_CHANGE = ("fail", "ignore", "append_new_columns", "sync_all_columns")

# key -> (python types accepted, description used in error messages)
MODEL_CONFIG_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "materialized": ((str,), "one of " + ", ".join(MATERIALIZATIONS)),
    "schema": ((str,), "a schema name"),
    "alias": ((str,), "a relation name"),
    "tags": ((list, tuple, str), "a list of tags"),
    "description": ((str,), "text"),
    "enabled": ((bool,), "true or false"),
    "meta": ((dict,), "a mapping"),
    "group": ((str,), "a group name"),
    "incremental_strategy": ((str,), "one of " + ", ".join(INCREMENTAL_STRATEGIES)),
    "unique_key": ((str, list, tuple), "a column name or a list of them"),
    "partitioned_by": ((str, list, tuple, dict), "a partition definition"),
    "partition_column": ((str, dict), "a column name (or {dimension: column})"),
    "partition_mapping": ((dict,), "a mapping {upstream: 'identity' | 'all' | 'lookback N'}"),
    "full_refresh": ((bool,), "true or false"),
    # partitioned models: false keeps built partitions even when stale (append-only history)
    "rebuild_stale": ((bool,), "true or false"),
    # a failed build runs again this many times, after retry_delay, doubling (attempts.py)
    "retries": ((int,), "a whole number of retries, such as 2"),
    "retry_delay": ((int, float, str), "seconds, or a duration such as '30s' or '2m'"),
    # figures recorded with each materialization: {name: SQL aggregate over the model}
    "metadata": ((dict,), "a mapping such as {latest: 'max(ordered_at)'}"),
    # the pool it builds in: at most the pool's size of its models build at once
    "pool": ((str,), "the name of a pool declared under [tool.teal.pools]"),
    # how old its data may get (runtime/freshness.py)
    "freshness": ((dict,), "a table such as {max_lag = '26h'} (severity: warn or error)"),
    # when the daemon builds it by itself (compiler/automation_conditions.py)
    "automation_condition": ((str, dict), "eager, on_missing or on_cron('0 6 * * *')"),
    "backfill_policy": ((str,), "'multi_run' (a transaction per partition) or 'single_run'"),
    # the YAML columns are the model's whole output (compiler/declared.py)
    "contract": ((dict,), "{enforced: true} or {enforced: false}"),
    # a Python asset's declared output schema: {column: type or None} (teal.asset(columns=))
    "columns": ((dict,), "a mapping {column: type}"),
    # an incremental model whose columns changed (compiler/schema_change.py)
    "on_schema_change": ((str,), "one of " + ", ".join(ON_SCHEMA_CHANGE)),
    # external models (compiler/external.py): where and how their files are written
    "location": ((str,), "a path or URL, such as '{root}/{schema}/{name}.parquet'"),
    "format": ((str,), "one of " + ", ".join(FORMATS)),
    "compression": ((str,), "a compression such as 'zstd' or 'gzip'"),
    "partition_by": ((str, list, tuple), "a column name or a list of them"),
    # Python assets: the project vars they read (context.vars); only these are in their
    # version, and context.vars holds only these (runtime/context.py DeclaredVars)
    "vars": ((list, tuple), "a list of var names, such as ['order_count']"),
    # Python assets: who stores their data (warehouse, parquet, csv, json, or a resource)
    "io_manager": ((str,), "warehouse, parquet, csv, json or the name of an I/O manager resource"),
}

# config keys whose value is one of a few words: key -> (the words, what one is called)
CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "materialized": (MATERIALIZATIONS, "materialization"),
    "incremental_strategy": (INCREMENTAL_STRATEGIES, "strategy"),
    "backfill_policy": (("single_run", "multi_run"), "policy"),
    "on_schema_change": (ON_SCHEMA_CHANGE, "policy of on_schema_change"),
    "format": (FORMATS, "file format"),
}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def merge_config(into: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Merge model config ``new`` into ``into``: tags accumulate, meta merges, rest override."""
    for key, value in new.items():
        if key == "tags":
            tags = [value] if isinstance(value, str) else list(value)
            into["tags"] = list(dict.fromkeys([*into.get("tags", []), *tags]))
        elif key == "meta" and isinstance(value, dict):
            into["meta"] = {**into.get("meta", {}), **value}
        else:
            into[key] = value
    return into


def _mapped_tags_hint(value: object) -> str | None:
    """The hint for tags given as a mapping, as Dagster writes its key-value tags: a tag is
    a name here, so the pairs become names (``team:analytics``) or go to ``meta``."""
    if not isinstance(value, dict) or not value:
        return None
    names = ", ".join(repr(f"{k}:{v}" if v not in (None, "") else str(k)) for k, v in value.items())
    return (
        f"tags are names, not key-value pairs: write tags=[{names}] (selected with "
        "tag:NAME), or keep the pairs in meta"
    )


def validate_model_config(
    config: dict[str, Any],
    *,
    path: str | Path,
    line: int | None = None,
    col: int | None = None,
    source_line: str | None = None,
    source_text: str | None = None,
    subtable_line: Callable[[str, str], int | None] | None = None,
) -> dict[str, Any]:
    """Check keys and value types of a model config; raise a pointed ProjectError.

    With ``source_text`` (the file the config came from), errors point at the key itself;
    a mistake inside a table value (``freshness``, ``automation_condition``) at its key
    in the table: inline, or a TOML sub-table (``[folders.marts.freshness]``), found by
    ``subtable_line(key, inner_key)``, or a YAML mapping's (its ``keys_at``).
    """
    given = (line, col, source_line)
    for key, value in config.items():
        found = None
        line, col, source_line = given  # not where an earlier key was found
        if source_text is not None:
            found = re.search(rf"\b{re.escape(key)}\s*[=:]", source_text)
            if found:
                line, col = line_col(source_text, found.start())
                source_line = source_text.splitlines()[line - 1]
        if key not in MODEL_CONFIG_KEYS:
            hint = did_you_mean(key, MODEL_CONFIG_KEYS) or (
                "known keys: " + ", ".join(sorted(MODEL_CONFIG_KEYS))
            )
            raise ProjectError(
                f"unknown config key '{key}'",
                path=path,
                line=line,
                col=col,
                hint=hint,
                source_line=source_line,
            )
        types, expected = MODEL_CONFIG_KEYS[key]
        if not isinstance(value, types):
            raise ProjectError(
                f"config key '{key}' must be {expected}, got {value!r}",
                path=path,
                line=line,
                col=col,
                source_line=source_line,
                hint=(_mapped_tags_hint(value) if key == "tags" else None)
                or "docs/models.md#config lists each key and the value it takes",
            )
        if key in CHOICES and value not in CHOICES[key][0]:
            allowed, noun = CHOICES[key]
            raise ProjectError(
                f"{key}={value!r} is not a {noun}",
                path=path,
                line=line,
                col=col,
                source_line=source_line,
                hint=did_you_mean(str(value), allowed) or "use one of " + ", ".join(allowed),
            )
        if key == "retries" and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise ProjectError(
                f"retries must be a whole number of 0 or more, got {value!r}",
                path=path,
                line=line,
                col=col,
                source_line=source_line,
            )
        if key == "retry_delay" and (isinstance(value, bool) or parse_duration(value) is None):
            raise ProjectError(
                f"retry_delay {value!r} is not a duration",
                path=path,
                line=line,
                col=col,
                source_line=source_line,
                hint="seconds (retry_delay=5) or a duration such as '30s' or '2m'",
            )
        if key == "metadata" and isinstance(value, dict):
            bad = [
                k for k, v in value.items() if not _IDENT.match(str(k)) or not isinstance(v, str)
            ]
            if bad:
                raise ProjectError(
                    f"metadata '{bad[0]}' must be a plain name mapped to a SQL expression",
                    path=path,
                    line=line,
                    col=col,
                    source_line=source_line,
                    hint="metadata={'latest': 'max(ordered_at)', 'customers': 'count(distinct customer_id)'}",
                )
        if key == "freshness":
            problem = freshness_problem(value) if isinstance(value, dict) else None
            if problem:
                line, col, source_line = _inner_key_at(
                    (line, col, source_line), value, key, problem[1], found, source_text,
                    subtable_line,
                )  # fmt: skip
                raise ProjectError(
                    f"freshness: {problem[0]}",
                    path=path,
                    line=line,
                    col=col,
                    source_line=source_line,
                    hint="freshness = {max_lag = '26h', severity = 'error'}",
                )
        if key == "automation_condition" and (mistake := condition_mistake(value)):
            line, col, source_line = _inner_key_at(
                (line, col, source_line), value, key, mistake.key, found, source_text,
                subtable_line,
            )  # fmt: skip
            raise ProjectError(
                f"automation_condition: {mistake}",
                path=path,
                line=line,
                col=col,
                source_line=source_line,
                hint="automation_condition='eager', 'on_missing' or \"on_cron('0 6 * * *')\"",
            )
        if key == "contract":
            from teal.compiler.declared import check_contract_config

            check_contract_config(value, path=str(path), line=line)
        if key in ("schema", "alias") and not _IDENT.match(str(value)):
            raise ProjectError(
                f"config key '{key}' must be a plain identifier, got {value!r}",
                path=path,
                line=line,
                col=col,
                source_line=source_line,
                hint="use letters, digits and underscores",
            )
    return config


def _inner_key_at(
    at: tuple[int | None, int | None, str | None],
    value: object,
    key: str,
    inner: str | None,
    found: re.Match[str] | None,
    source_text: str | None,
    subtable_line: Callable[[str, str], int | None] | None,
) -> tuple[int | None, int | None, str | None]:
    """Where key ``inner`` of table value ``key`` is written (line, column, the line's
    text), else ``at`` (where ``key`` is): a YAML mapping's own key positions; the text
    after ``key =`` (an inline table, or a SQL dict: ``'timzone': 'UTC'``); else a TOML
    sub-table ``[... .key]`` (``subtable_line``)."""
    if inner is None:
        return at
    keys_at = getattr(value, "keys_at", None)
    if isinstance(keys_at, dict) and inner in keys_at:
        line, col = keys_at[inner]
        return line, col, None
    if source_text is not None and found is not None:
        written = re.compile(rf"[\"']?\b{re.escape(inner)}\b[\"']?\s*[=:]")
        inside = written.search(source_text, found.end())
        if inside is not None:
            line, col = line_col(source_text, inside.start())
            return line, col, source_text.splitlines()[line - 1]
        return at
    if subtable_line is not None:
        line = subtable_line(key, inner)
        if line is not None:  # its column and text are read where the error is shown
            return line, None, None
    return at


# config keys that change how a model is retried, scheduled, watched or kept, not its
# data: left out of its version, so changing one makes no partition stale. (backfill_policy
# stays in: one query over a range can give other rows than a query per partition; tags,
# meta and group stay in: dbt's state:modified counts them.)
_NOT_DATA = frozenset(
    {
        "description",
        "retries",
        "retry_delay",
        "pool",
        "freshness",
        "automation_condition",
        "rebuild_stale",
        "metadata",
    }
)
# bounds of a partition definition: which partitions exist, not what one holds
_BOUNDS = frozenset({"start", "end", "end_offset"})


def versioned_config(config: dict[str, Any]) -> list[tuple[str, str]]:
    """What of a model's config goes into its version, as sorted text pairs: extending a
    daily definition's ``end`` or adding a region to a static dimension leaves the
    partitions already built up to date.

    >>> versioned_config({"partitioned_by": {"daily": {"start": "2026-01-01"}}, "retries": 2})
    [('partitioned_by', "{'daily': {}}")]
    >>> versioned_config({"partitioned_by": {"region": ["east", "west"]}, "unique_key": "id"})
    [('partitioned_by', "{'region': 'static'}"), ('unique_key', "'id'")]
    """
    return sorted(
        (key, repr(unbounded(value)) if key == "partitioned_by" else repr(value))
        for key, value in config.items()
        if key not in _NOT_DATA
    )


def unbounded(definition: object) -> object:
    """A partition definition (as written, or ``Partitions.to_spec()``) without its bounds
    and its static keys: what a partition's data can depend on."""
    if isinstance(definition, dict):
        return {k: unbounded(v) for k, v in sorted(definition.items()) if k not in _BOUNDS}
    if isinstance(definition, (list, tuple)):
        return "static"
    return definition
