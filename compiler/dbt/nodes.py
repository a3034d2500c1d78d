"""The nodes of a dbt project (models, seeds, snapshots, tests) and what the stages of its
load share: config key names, the YAML keys it reads or skips, and small text helpers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teal.compiler.dbt.context import AttrDict
from teal.compiler.dbt.settings import DbtSettings
from teal.compiler.errors import line_col

SUPPORTED_MATERIALIZATIONS = ("view", "table", "incremental", "ephemeral")
STRATEGIES = ("append", "delete+insert", "merge")
# config names dbt_project.yml may set without the + prefix
CONFIG_KEYS = {
    "materialized",
    "enabled",
    "schema",
    "alias",
    "database",
    "tags",
    "meta",
    "docs",
    "persist_docs",
    "post-hook",
    "pre-hook",
    "post_hook",
    "pre_hook",
    "full_refresh",
    "unique_key",
    "incremental_strategy",
    "on_schema_change",
    "column_types",
    "quote_columns",
    "delimiter",
    "severity",
    "where",
    "warn_if",
    "error_if",
    "store_failures",
    "limit",
    "strategy",
    "updated_at",
    "check_cols",
    "target_schema",
    "target_database",
    "hard_deletes",
    "invalidate_hard_deletes",
    "contract",
    "grants",
    "group",
    "access",
    "sql_header",
    "event_time",
    "batch_size",
    "begin",
    "lookback",
    "incremental_predicates",
    "packages",
    "snapshot_meta_column_names",
    "dbt_valid_to_current",
    "store_failures_as",
    "fail_calc",
    "unique_id",
    "labels",
    "quoting",
    "transient",
    "copy_grants",
    "on_configuration_change",
}
DICT_CONFIGS = {"meta", "column_types", "docs", "persist_docs", "grants", "quoting", "contract"}
IGNORED_YAML = ("semantic_models", "metrics", "saved_queries", "exposures", "groups", "version")
YAML_KEYS = (
    "models",
    "seeds",
    "snapshots",
    "sources",
    "macros",
    "analyses",
    "unit_tests",
    "data_tests",
    "tests",
    "functions",
    *IGNORED_YAML,
)
TEST_MARKER = "__teal_check_target__"
_COMMENTS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)
SNAPSHOT_BLOCK = re.compile(
    r"\{%-?\s*snapshot\s+(\w+)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}", re.S
)


@dataclass
class Node:
    resource_type: str  # model | seed | snapshot | test | analysis
    package: str
    name: str
    path: Path
    display: str  # relative to the project root
    fqn: list[str]
    raw: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    yaml: Any = None  # its YAML properties entry
    yaml_display: str = ""
    template: Any = None
    refs: list[tuple[str, str | None]] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    schema: str = ""
    alias: str = ""
    database: str = ""
    compiled: str = ""
    incremental_sql: str | None = None
    columns: tuple[str, ...] | None = None
    digest: str = ""
    description: str = ""
    render_at_run: bool = False  # its Jinja queries the warehouse: rendered again at run
    ctes: str = ""  # the ephemeral CTEs injected into its SQL
    # a version of a versioned model (compiler/dbt/versions.py): the version and the
    # model's name (``name`` is then teal's model name, ``<base_name>_v<version>``)
    version: str | None = None
    base_name: str = ""
    # its pre-hooks and post-hooks, rendered (compiler/dbt/model_hooks.py)
    pre_hooks: tuple[str, ...] = ()
    post_hooks: tuple[str, ...] = ()
    # a Python model (compiler/dbt/python_models.py): the calls its file makes, and the
    # relation each of its refs and sources reads
    python: Any = None
    python_refs: dict[Any, str] = field(default_factory=dict)
    python_sources: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def language(self) -> str:
        return "python" if self.path.suffix == ".py" else "sql"

    @property
    def unique_id(self) -> str:
        if self.version is not None:
            return f"{self.resource_type}.{self.package}.{self.base_name}.v{self.version}"
        return f"{self.resource_type}.{self.package}.{self.name}"

    @property
    def dbt_name(self) -> str:
        """The name dbt gives the node (a version's is its model's)."""
        return self.base_name or self.name

    @property
    def materialized(self) -> str:
        if self.resource_type == "seed":
            return "seed"
        if self.resource_type == "snapshot":
            return "snapshot"
        return str(self.config.get("materialized") or "view")

    @property
    def enabled(self) -> bool:
        return self.config.get("enabled", True) is not False


def default_schema(custom: Any, node: Any) -> str:
    target = node["_target"]
    return str(target.schema) if custom is None else f"{target.schema}_{str(custom).strip()}"


def default_alias(custom: Any, node: Any) -> str:
    if custom:
        return str(custom).strip()
    if node["version"]:  # dbt's default for a version: <name>_v<version>
        return f"{node['name']}_v{str(node['version']).replace('.', '_')}"
    return str(node["name"])


def default_database(custom: Any, node: Any) -> str:
    return str(node["_target"].database) if custom is None else str(custom).strip()


def node_dict(node: Node, settings: DbtSettings) -> dict[str, Any]:
    return AttrDict(
        name=node.dbt_name,
        alias=node.alias or node.name,
        schema=node.schema or settings.target.schema,
        database=node.database or settings.target.database,
        resource_type=node.resource_type,
        package_name=node.package,
        unique_id=node.unique_id,
        fqn=list(node.fqn),
        path=node.display,
        original_file_path=node.display,
        config=AttrDict(node.config),
        tags=list(node.config.get("tags") or []),
        refs=[{"name": n, "package": p, "version": None} for n, p in node.refs],
        sources=[list(s) for s in node.sources],
        depends_on=AttrDict(nodes=[], macros=[]),
        raw_code=node.raw,
        raw_sql=node.raw,
        compiled_code=node.compiled,
        description=str((node.yaml or {}).get("description") or ""),
        meta=dict(node.config.get("meta") or {}),
        columns={},
        version=node.version,
        language=node.language,
        identifier=node.alias or node.name,
        _target=settings.target,
    )


def manifest_node(node: Node, settings: DbtSettings) -> dict[str, Any]:
    """What target/manifest.json says of a node (runtime/dbt_artifacts.py writes it)."""
    return {
        "unique_id": node.unique_id,
        "resource_type": node.resource_type,
        "package_name": node.package,
        "name": node.dbt_name,
        "version": node.version,
        "language": node.language,
        "path": node.display,
        "original_file_path": node.display,
        "fqn": list(node.fqn),
        "schema": node.schema,
        "alias": node.alias,
        "database": node.database or settings.target.database,
        "enabled": node.enabled,
        # the relation as configured, unset as None (as dbt writes it): --state compares it
        "config": {
            **dict.fromkeys(("database", "schema", "alias")),
            **{k: v for k, v in node.config.items() if plain(v)},
        },
        "tags": list(node.config.get("tags") or []),
        "refs": [{"name": n, "package": p, "version": None} for n, p in node.refs],
        "sources": [list(s) for s in node.sources],
        "raw_code": node.raw,
        "compiled_code": node.compiled,
        "checksum": file_checksum(node),
    }


SEED_HASH_LIMIT = 1024 * 1024  # dbt's MAXIMUM_SEED_SIZE_MIB default: larger seeds by path


def file_checksum(node: Node) -> dict[str, str]:
    """dbt's checksum of a node's file, so that ``--state`` can compare with a manifest dbt
    wrote: sha256 of the text with runs of whitespace made one space (dbt 1.12), of a seed's
    stripped text (its path when over 1 MiB); a YAML snapshot's is its YAML file's, as dbt's."""
    try:
        if node.path.suffix not in (".sql", ".py", ".csv", ".yml", ".yaml"):
            raise OSError
        if not node.path.is_file():
            raise OSError
        if node.resource_type == "seed":
            if node.path.stat().st_size > SEED_HASH_LIMIT:
                return {"name": "path", "checksum": node.display}
            text = node.path.read_text(encoding="utf-8").strip()
        elif node.resource_type in ("model", "test") and node.raw:  # its file's text, read
            text = " ".join(node.raw.split())
        else:
            text = " ".join(node.path.read_text(encoding="utf-8").split())
    except (OSError, UnicodeDecodeError):
        text = node.raw or node.digest
    return {"name": "sha256", "checksum": hashlib.sha256(text.encode()).hexdigest()}


def plain(value: Any) -> bool:
    """Whether ``value`` is JSON data (config values are, unless a template made objects)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return False


def live_markers(sql: str) -> set[int]:
    """Indexes of the ref markers outside SQL comments (a ref in a comment is no edge,
    unless the comment is dbt's ``-- depends_on: {{ ref('x') }}``)."""
    live: set[int] = set()
    pos = 0
    for m in _COMMENTS.finditer(sql):
        chunk = sql[pos : m.start()]
        live |= {int(i) for i in re.findall(r"__teal_dbt_ref_(\d+)__", chunk)}
        text = m.group(0)
        if text.startswith("'") or "depends_on" in text:
            live |= {int(i) for i in re.findall(r"__teal_dbt_ref_(\d+)__", text)}
        pos = m.end()
    live |= {int(i) for i in re.findall(r"__teal_dbt_ref_(\d+)__", sql[pos:])}
    return live


def all_text(node: Node, deps: list[Node], own: dict[str, str]) -> str:
    return "\n".join([node.compiled, node.incremental_sql or "", *(own[d.name] for d in deps)])


def with_ctes(sql: str, ctes: str) -> str:
    """``sql`` with ``ctes`` first: into its WITH clause if it has one, else a new one."""
    stripped = _COMMENTS.sub(
        lambda m: m.group(0) if m.group(0).startswith("'") else " " * len(m.group(0)), sql
    )
    m = re.match(r"\s*with\s+(recursive\s+)?", stripped, re.I)
    if m:
        return sql[: m.end()] + ctes + ",\n" + sql[m.end() :]
    return f"with {ctes}\n{sql}"


def position(text: str, pattern: str) -> tuple[int, int] | None:
    """(line, column), both 1-based, of the first match of ``pattern`` in ``text``."""
    m = re.search(pattern, text)
    if not m:
        return None
    return line_col(text, m.start())


def source_line(text: str, line: int | None) -> str | None:
    lines = text.splitlines()
    return lines[line - 1] if line and 0 < line <= len(lines) else None


def line_of(text: str, pattern: str) -> int | None:
    m = re.search(pattern, text)
    return text.count("\n", 0, m.start()) + 1 if m else None
