"""What a project declares beside its models: sources, and model properties in YAML.

Sources come from the project configuration (``[sources.<name>]``) and from ``sources:``
in YAML files under the models folder; model properties (description, config, tags,
columns, checks) from ``models:`` entries in the same files. Each source and each model
entry is declared once; the first problem found is raised, pointing at its file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.cache import CompileCache
from teal.compiler.config import ProjectConfig
from teal.compiler.errors import ProjectError, TealError, did_you_mean
from teal.compiler.model_config import merge_config, validate_model_config
from teal.compiler.sources import Source, parse_source
from teal.compiler.toml_lines import table_line
from teal.compiler.yamlfile import MODEL_PROPERTY_KEYS, read_yaml

if TYPE_CHECKING:
    from teal.compiler.exposures import DeclaredExposure
    from teal.compiler.project import Model


class Properties:
    """The sources and model properties declared so far."""

    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}
        # model name -> (its YAML entry, the display path of the file declaring it)
        self.models: dict[str, tuple[dict[str, Any], str]] = {}
        # what the files read so far hold that is suspicious but not wrong (a key written
        # twice): the load's warnings
        self.warnings: list[TealError] = []
        # exposures: entries, their refs not yet found among the models (compiler/exposures.py)
        self.exposures: list[DeclaredExposure] = []

    def read_config(self, cfg: ProjectConfig, display: str) -> None:
        """The sources of the project configuration (``display``: its path, for messages)."""
        for name, spec in cfg.sources.items():
            if not isinstance(spec, dict):
                raise ProjectError(f"sources.{name} must be a table", path=display)
            self.add_source(
                parse_source(
                    name,
                    spec,
                    root=cfg.root,
                    declared_in=display,
                    line=table_line(cfg.config_path, f"sources.{name}"),
                    key_line=partial(_toml_key_line, cfg.config_path, f"sources.{name}"),
                )
            )

    def read_file(self, path: Path, display: str, cache: CompileCache | None) -> None:
        """The sources and model entries of one YAML file."""
        data = read_yaml(path, display, cache)
        self.warnings += data.warnings
        sources = _entries(data, "sources", "source", display)
        for i, spec in enumerate(sources):
            if not isinstance(spec, dict) or "name" not in spec:
                raise _nameless(spec, sources, i, "every source needs a name", "source", display)
            line, keys_at = getattr(spec, "line", None), getattr(spec, "keys_at", {})
            self.warnings += _source_tests(spec, display)
            spec = dict(spec)
            name = spec.pop("name")
            self.add_source(
                parse_source(
                    name,
                    spec,
                    root=path.parent,
                    declared_in=display,
                    line=line,
                    key_line=partial(_yaml_key_line, keys_at),
                )
            )
        self._read_exposures(data, display)
        models = _entries(data, "models", "model", display)
        for i, spec in enumerate(models):
            if not isinstance(spec, dict) or "name" not in spec:
                raise _nameless(
                    spec, models, i, "every entry under models: needs a name", "model", display
                )
            self._add_model(spec, display)

    def _read_exposures(self, data: Mapping[str, Any], display: str) -> None:
        """The ``exposures:`` entries of one file (a bare word names a model here)."""
        from teal.compiler.exposures import parse_exposures

        entries = _entries(data, "exposures", "exposure", display)
        declared, errors, warnings = parse_exposures(entries, display, True)
        if errors:
            raise errors[0]
        self.exposures += declared
        self.warnings += warnings

    def add_source(self, source: Source) -> None:
        if source.name in self.sources:
            other = self.sources[source.name]
            raise ProjectError(
                f"source '{source.name}' is declared twice: "
                + _both((other.declared_in, other.line), (source.declared_in, source.line)),
                path=source.declared_in,
                line=source.line,
                hint="declare each source once",
            )
        self.sources[source.name] = source

    def merge_into(self, name: str, conf: dict[str, Any]) -> None:
        """Add model ``name``'s YAML config, description and tags to ``conf`` (its folder
        config so far; the model's own config is merged after)."""
        props = self.models.get(name)
        if props is None:
            return
        spec, _ = props
        merge_config(conf, dict(spec.get("config") or {}))
        if spec.get("description"):
            conf.setdefault("description", str(spec["description"]))
        if spec.get("tags"):
            merge_config(conf, {"tags": spec["tags"]})

    def _add_model(self, spec: dict[str, Any], display: str) -> None:
        line = getattr(spec, "line", None)
        for key in spec:
            if key not in MODEL_PROPERTY_KEYS:
                key_line, key_col = getattr(spec, "keys_at", {}).get(str(key), (line, None))
                raise ProjectError(
                    f"unknown key '{key}' for model '{spec['name']}'",
                    path=display,
                    line=key_line,
                    col=key_col,
                    hint=did_you_mean(str(key), MODEL_PROPERTY_KEYS)
                    or "known: " + ", ".join(sorted(MODEL_PROPERTY_KEYS)),
                )
        columns = _columns(spec, display)
        _check_lists(spec, f"model '{spec['name']}'", display)
        for column in columns:
            _check_lists(column, f"column '{column['name']}' of model '{spec['name']}'", display)
        for column in columns:  # a column's key nothing reads: its checks (``tets:``)
            for key in column:  # would never run
                if key not in COLUMN_KEYS:
                    key_line, key_col = getattr(column, "keys_at", {}).get(
                        str(key), (getattr(column, "line", line), None)
                    )
                    raise ProjectError(
                        f"unknown key '{key}' in column '{column.get('name')}' of model "
                        f"'{spec['name']}'",
                        path=display,
                        line=key_line,
                        col=key_col,
                        hint=did_you_mean(str(key), COLUMN_KEYS)
                        or "known: " + ", ".join(COLUMN_KEYS),
                    )
        conf = spec.get("config") or {}
        if not isinstance(conf, dict):
            raise ProjectError(
                f"config of model '{spec['name']}' must be a mapping", path=display, line=line
            )
        for key, value in conf.items():  # one by one, so that errors point at the key
            key_line, key_col = getattr(conf, "keys_at", {}).get(
                str(key), (getattr(conf, "line", line), None)
            )
            validate_model_config({key: value}, path=display, line=key_line, col=key_col)
        if str(spec["name"]) in self.models:
            other, other_display = self.models[str(spec["name"])]
            raise ProjectError(
                f"model '{spec['name']}' is described twice: "
                + _both((other_display, getattr(other, "line", None)), (display, line)),
                path=display,
                line=line,
                hint="keep one entry per model across YAML files",
            )
        self.models[str(spec["name"])] = (spec, display)

    def unmatched(self, models: Mapping[str, Model], disabled: Iterable[str]) -> list[ProjectError]:
        """Warnings for YAML entries that describe nothing: a model that does not exist (its
        description, config and checks would be silently dropped), or a column the model
        does not have (a column with checks is an error instead, raised with the checks)."""
        off = {name.lower() for name in disabled}
        lower = {name.lower(): name for name in models}
        out: list[ProjectError] = []
        for name, (spec, display) in self.models.items():
            line = getattr(spec, "line", None)
            model = models.get(name) or models.get(lower.get(name.lower(), ""))
            if model is None:
                if name.lower() in off:
                    continue
                checks = " and its checks do not run" if _has_checks(spec) else ""
                out.append(
                    ProjectError(
                        f"YAML describes model '{name}', which does not exist: this entry is "
                        f"ignored{checks}",
                        path=display,
                        line=line,
                        hint=did_you_mean(name, models) or "remove the entry or fix its name",
                    )
                )
                continue
            if model.columns is None:
                continue
            known = {c.lower() for c in model.columns}
            for column in spec.get("columns") or []:
                if not isinstance(column, dict) or not column.get("name"):
                    continue
                col = str(column["name"])
                if col.lower() in known or _has_checks(column):
                    continue
                out.append(
                    ProjectError(
                        f"model '{name}' has no column '{col}': its YAML entry is ignored",
                        path=display,
                        line=getattr(column, "line", None),
                        hint=did_you_mean(col, sorted(model.columns))
                        or f"its columns: {', '.join(model.columns)}",
                    )
                )
        return out


# what a column entry may say (dbt's column properties, and teal's `checks`)
COLUMN_KEYS = (
    "name",
    "description",
    "tests",
    "data_tests",
    "checks",
    "meta",
    "tags",
    "data_type",
    "constraints",
    "quote",
    "config",
    "granularity",
)


def _entries(data: Mapping[str, Any], key: str, singular: str, display: str) -> list[Any]:
    """The list under top-level ``key`` (``models:``, ``sources:``); anything else written
    there is an error at the key."""
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    line, col = getattr(data, "keys_at", {}).get(key, (None, None))
    example = value if isinstance(value, str) and value.isidentifier() else f"my_{singular}"
    raise ProjectError(
        f"{key}: must be a list of {singular} entries, got {_kind(value)}",
        path=display,
        line=line,
        col=col,
        hint=f"write each {singular} on a line of its own under '{key}:', as '  - name: {example}'",
    )


def _nameless(
    entry: Any, entries: list[Any], i: int, message: str, singular: str, display: str
) -> ProjectError:
    """The error of an entry without a name: located at it, saying how to write one."""
    line = getattr(entry, "line", None) or _line_of_item(entries, i)
    if isinstance(entry, str) and entry.isidentifier():
        hint = f"write '- name: {entry}': an entry is a mapping that starts with its name"
    else:
        hint = f"start the entry with '- name: <{singular}>'"
    return ProjectError(message, path=display, line=line, hint=hint)


def _columns(spec: Mapping[str, Any], display: str) -> list[dict[str, Any]]:
    """The ``columns:`` of a model's entry: a list of mappings, each with a name, or a
    located error (a mapping of columns would be read as no columns, checks and all)."""
    value = spec.get("columns")
    if value is None:
        return []
    keys_at = getattr(spec, "keys_at", {})
    if not isinstance(value, list):
        line, col = keys_at.get("columns", (getattr(spec, "line", None), None))
        first = next(iter(value), None) if isinstance(value, dict) else None
        example = first if isinstance(first, str) and first.isidentifier() else "my_column"
        raise ProjectError(
            f"columns of model '{spec['name']}' must be a list of columns, got {_kind(value)}",
            path=display,
            line=line,
            col=col,
            hint=f"write each column as an entry of its own: '- name: {example}'",
        )
    for i, column in enumerate(value):
        if not isinstance(column, dict) or not column.get("name"):
            raise _nameless(
                column,
                value,
                i,
                f"every column of model '{spec['name']}' needs a name",
                "column",
                display,
            )
    return value


def _check_lists(entry: Mapping[str, Any], owner: str, display: str) -> None:
    """Raise the error of ``check_list_problem`` for a model's or a column's entry."""
    from teal.compiler.check_loader import TEST_KEYS

    problem = check_list_problem(entry, owner, display, TEST_KEYS)
    if problem is not None:
        raise problem


def check_list_problem(
    entry: Mapping[str, Any], owner: str, display: str, keys: Iterable[str]
) -> ProjectError | None:
    """A located error when ``tests:`` (``data_tests:``, ``checks:``: ``keys``) of an entry
    is not a list: a text would be read letter by letter as check names, and a mapping
    would stop the load with a traceback (teal) or lose its arguments (dbt)."""
    for key in keys:
        value = entry.get(key)
        if value is None or isinstance(value, list):
            continue
        line, col = getattr(entry, "keys_at", {}).get(key, (getattr(entry, "line", None), None))
        first = next(iter(value), None) if isinstance(value, dict) else value
        example = first if isinstance(first, str) and first.isidentifier() else "not_null"
        return ProjectError(
            f"{key} of {owner} must be a list of checks, got {_kind(value)}",
            path=display,
            line=line,
            col=col,
            hint=f"write a list: '{key}: [{example}]', or each check as an entry of its own: "
            f"'- {example}'",
        )
    return None


def _source_tests(spec: Mapping[str, Any], display: str) -> list[TealError]:
    """Warnings for the tests of a source's tables and their columns: a teal project runs
    checks on models only, so they would never run (a dbt project runs them with the
    first model that reads the source)."""
    from teal.compiler.check_loader import TEST_KEYS

    out: list[TealError] = []
    tables = spec.get("tables")
    for table in tables if isinstance(tables, list) else []:
        if not isinstance(table, dict):
            continue
        columns = table.get("columns")
        columns = [c for c in columns if isinstance(c, dict)] if isinstance(columns, list) else []
        for entry in (table, *columns):
            for key in TEST_KEYS:
                if not entry.get(key):
                    continue
                line, col = getattr(entry, "keys_at", {}).get(key, (None, None))
                where = f"source table '{spec.get('name')}.{table.get('name')}'"
                if entry is not table:
                    where = f"column '{entry.get('name')}' of {where}"
                out.append(
                    ProjectError(
                        f"{key} of {where} do not run: a teal project runs checks on models",
                        path=display,
                        line=line or getattr(entry, "line", None),
                        col=col,
                        hint="put them on the model that reads the source (its entry under "
                        "models:), or write a singular check under checks/ that reads it",
                    )
                )
    return out


def _line_of_item(items: list[Any], i: int) -> int | None:
    lines = getattr(items, "lines", [])
    return lines[i] if i < len(lines) else None


def _kind(value: Any) -> str:
    """What a YAML value is, for messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return f"the text '{value}'"
    return f"{value!r}"


def _both(first: tuple[str, int | None], second: tuple[str, int | None]) -> str:
    """Two places of one file or two, for messages: ``in a.yml, on lines 3 and 9``.

    >>> _both(("a.yml", 3), ("a.yml", 9)), _both(("a.yml", 3), ("b.yml", None))
    ('in a.yml, on lines 3 and 9', 'in a.yml:3 and in b.yml')
    """
    if first[0] == second[0] and first[1] is not None and second[1] is not None:
        return f"in {first[0]}, on lines {first[1]} and {second[1]}"
    return " and ".join(f"in {p}:{n}" if n is not None else f"in {p}" for p, n in (first, second))


def _has_checks(spec: Mapping[str, Any]) -> bool:
    from teal.compiler.check_loader import TEST_KEYS

    columns = [c for c in spec.get("columns") or [] if isinstance(c, dict)]
    return any(entry.get(key) for entry in (spec, *columns) for key in TEST_KEYS)


def _toml_key_line(path: Path, table: str, key: str) -> int | None:
    return table_line(path, table, key)


def _yaml_key_line(keys_at: Mapping[str, tuple[int, int]], key: str) -> int | None:
    return keys_at.get(key, (None, None))[0]
