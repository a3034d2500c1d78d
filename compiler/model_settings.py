"""What a model's settled config implies: its schema, alias, materialization, partitions,
incremental strategy and key, and where an external model's files go, with the located
errors of config that does not fit together (compiler/stage.py settles the config)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from teal.compiler.config import ProjectConfig
from teal.compiler.errors import ProjectError, TealError, line_col
from teal.compiler.external import ExternalSpec

if TYPE_CHECKING:
    from teal.compiler.partitions import Partitions


class ModelSettings(NamedTuple):
    """What a model's settled config implies (the StagedModel fields of the same names)."""

    schema: str
    alias: str
    materialized: str
    partitions: Partitions | None
    partition_column: str | dict[str, str] | None
    strategy: str | None
    unique_key: tuple[str, ...]
    external: ExternalSpec | None
    # config that does not apply to this materialization (an incremental setting on a table)
    warnings: tuple[TealError, ...] = ()


# what only an incremental model reads: set on another (its own config, not a folder's
# defaults), it would be ignored without a word
INCREMENTAL_ONLY = ("unique_key", "incremental_strategy", "on_schema_change")


def model_settings(
    name: str,
    display: str,
    folder: str,
    conf: dict[str, Any],
    line: int | None,
    cfg: ProjectConfig,
    source_text: str | None = None,
) -> ModelSettings:
    """Schema, alias, partitions, materialization and incremental strategy from a model's
    settled ``conf`` (a partitioned model becomes incremental in ``conf`` too, unless it is
    external: then each partition is a folder of files). ``source_text``: the SQL file
    whose ``config(...)`` the partition settings may be written in, for their errors to
    point at them."""
    default_schema = folder.split("/")[0] if folder else "main"
    partitions = None
    if conf.get("partitioned_by") is not None:
        from teal.compiler.partition_sql import check_partition_column, parse_partitions
        from teal.compiler.partitions import PartitionDefinitionError

        try:
            partitions = parse_partitions(conf["partitioned_by"], path=display, line=line)
        except PartitionDefinitionError as exc:
            raise _at_setting(exc, source_text, ("partitioned_by",), exc.written) from None
        if partitions is not None:
            try:
                check_partition_column(
                    partitions, conf.get("partition_column"), path=display, line=line
                )
            except ProjectError as exc:
                keys = ("partition_column", "partitioned_by")
                raise _at_setting(exc, source_text, keys) from None
        if conf.get("materialized", "table") not in ("table", "incremental", "external"):
            raise ProjectError(
                f"a partitioned model is built partition by partition, so it cannot be "
                f"materialized={conf['materialized']!r}",
                path=display,
                line=line,
                hint="use materialized='incremental' (or 'table', or 'external' for files)",
            )
        if conf.get("materialized") != "external":
            conf["materialized"] = "incremental"
    materialized = conf.get("materialized", "view")
    schema = conf.get("schema") or default_schema
    alias = conf.get("alias") or name
    external = None
    if materialized == "external":
        from teal.compiler.external import settle_external

        external = settle_external(
            conf,
            cfg.external,
            schema=schema,
            name=alias,
            model=name,
            path=display,
            line=line,
            partitioned=partitions is not None,
        )
    else:
        for option in ("location", "format", "compression", "partition_by"):
            if option in conf and not _from_defaults(cfg, folder, option):
                raise ProjectError(
                    f"{option} applies to external models, and this one is "
                    f"materialized={materialized!r}",
                    path=display,
                    line=line,
                    hint="add materialized='external' to write it as files",
                )
    key = conf.get("unique_key") or ()
    unique_key = (key,) if isinstance(key, str) else tuple(key)
    strategy = None
    own_key = bool(unique_key) and not _from_defaults(cfg, folder, "unique_key")
    own_strategy = conf.get("incremental_strategy") not in (
        None,
        "delete+insert",
    ) and not _from_defaults(cfg, folder, "incremental_strategy")
    if partitions is not None and (own_key or own_strategy):  # a folder's default: ignored
        what = "unique_key" if own_key else f"incremental_strategy={conf['incremental_strategy']!r}"
        raise ProjectError(
            f"{what} does not apply to a partitioned model: a build replaces each partition "
            "it builds whole (its rows deleted, the query's inserted)",
            path=display,
            line=line,
            hint="remove it; to upsert rows by a key, leave the model unpartitioned",
        )
    if materialized == "incremental":
        strategy = conf.get("incremental_strategy") or (
            "delete+insert" if partitions is not None else ("merge" if unique_key else "append")
        )
        if partitions is None and strategy in ("merge", "delete+insert") and not unique_key:
            raise ProjectError(
                f"incremental_strategy='{strategy}' needs a unique_key",
                path=display,
                line=line,
                hint="add unique_key='<column>' (or a list of columns) naming what "
                "identifies a row, or use 'append'",
            )
    unread = [
        k
        for k in INCREMENTAL_ONLY
        if materialized != "incremental" and conf.get(k) and not _from_defaults(cfg, folder, k)
    ]
    warnings: tuple[TealError, ...] = ()
    if unread:
        warnings = (
            ProjectError(
                f"{', '.join(unread)} applies to incremental models, and this one is "
                f"materialized={materialized!r}: it is ignored",
                path=display,
                line=line,
                hint="add materialized='incremental', or remove it",
            ),
        )
    condition = "automation_condition"  # an ephemeral model is never built by itself
    if (
        materialized == "ephemeral"
        and conf.get(condition)
        and not _from_defaults(cfg, folder, condition)
    ):
        warnings += (
            ProjectError(
                f"{condition} says when the daemon builds a model, and this one is "
                "materialized='ephemeral' (inlined into its readers, never built): it is ignored",
                path=display,
                line=line,
                hint="put the condition on the models that read it, or remove it",
            ),
        )
    return ModelSettings(
        schema=schema,
        alias=alias,
        materialized=materialized,
        partitions=partitions,
        partition_column=conf.get("partition_column"),
        strategy=strategy,
        # a partitioned model replaces its partitions whole: a folder's or the project's
        # unique_key (its own is refused above) is not its key, nor a column it must have
        unique_key=() if partitions is not None else unique_key,
        external=external,
        warnings=warnings,
    )


def _from_defaults(cfg: ProjectConfig, folder: str, key: str) -> bool:
    """Whether ``key`` comes from project defaults or folder config (which may set up
    external models of a folder while some of its models stay tables)."""
    return key in cfg.folder_config(folder)


def _at_setting(
    error: TealError, text: str | None, keys: tuple[str, ...], written: str | None = None
) -> TealError:
    """``error`` pointed at the first of ``keys`` that ``text`` writes (``key=``, ``key:``),
    or at ``written`` quoted after it (the grain ``'dayly'``); as it was when ``text``
    writes none (a YAML file's or a folder's setting)."""
    for key in keys:
        found = re.search(rf"\b{re.escape(key)}\s*[=:]", text or "")
        if text is None or found is None:
            continue
        at = found.start()
        if written:
            quoted = re.compile(rf"""(['"]){re.escape(written)}\1""")
            word = quoted.search(text, found.end())
            at = word.start() + 1 if word is not None else at
        error.line, error.col = line_col(text, at)
        error.source_line = text.splitlines()[error.line - 1]
        break
    return error
