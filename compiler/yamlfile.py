"""YAML files beside models: ``sources:`` and ``models:`` (dbt's properties shape).

Mappings remember the line they start on (``LineDict.line``) so that errors can point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from teal.compiler.discover import decode_utf8
from teal.compiler.errors import ProjectError

KNOWN_TOP_KEYS = {
    "version",
    "sources",
    "models",
    "seeds",
    "snapshots",
    "macros",
    "exposures",
    "metrics",
    "semantic_models",
    "unit_tests",
    "groups",
    "data_tests",
    "analyses",
    "saved_queries",
}
MODEL_PROPERTY_KEYS = {
    "name",
    "description",
    "config",
    "columns",
    "tests",
    "data_tests",
    "checks",
    "meta",
    "docs",
    "tags",
    "access",
    "group",
    "latest_version",
    "versions",
    "constraints",
}


class LineDict(dict):
    """A dict that knows the 1-based line where its mapping started, and where each key is."""

    line: int | None = None
    keys_at: dict[str, tuple[int, int]] = {}  # key -> (line, col), both 1-based
    values_at: dict[str, tuple[int, int]] = {}  # key -> (line, col) of its value


class LineList(list):
    """A list that knows the 1-based line of each item (``lines[i]``), for scalar items that
    cannot carry a line themselves (``tests: [not_null]``)."""

    lines: list[int] = []


def _loader() -> type:
    import yaml

    # libyaml's parser when it is there (several times faster); the constructors stay Python
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        pass

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> LineDict:
        loader.flatten_mapping(node)
        data = LineDict(loader.construct_pairs(node, deep=True))
        data.line = node.start_mark.line + 1
        data.keys_at = {
            str(k.value): (k.start_mark.line + 1, k.start_mark.column + 1) for k, _ in node.value
        }
        data.values_at = {
            str(k.value): (v.start_mark.line + 1, v.start_mark.column + 1) for k, v in node.value
        }
        return data

    def construct_sequence(loader: Any, node: Any, deep: bool = False) -> LineList:
        data = LineList(loader.construct_sequence(node, deep=True))
        data.lines = [item.start_mark.line + 1 for item in node.value]
        return data

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def read_yaml(path: Path, display: str, cache: Any = None) -> dict[str, Any]:
    """Parse one YAML properties file; errors carry file:line:col.

    With a compile cache, a file parsed before is taken from it by its text (2,000 checks
    in YAML took 0.2 s to parse, even with libyaml)."""
    text = decode_utf8(path.read_bytes(), display)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    key = None
    if cache is not None:
        from teal.compiler.cache import content_key

        key = content_key("yaml", text)
        hit = cache.get("yaml", key)
        if hit is not None:
            return hit
    data = _parse(text, display)
    if key is not None:
        cache.put("yaml", key, data)
    return data


def _parse(text: str, display: str) -> dict[str, Any]:
    data = parse_yaml(text, display)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProjectError(
            "a YAML properties file must be a mapping (sources:, models:)", path=display, line=1
        )
    for key in data:
        if key not in KNOWN_TOP_KEYS:
            from teal.compiler.errors import did_you_mean

            raise ProjectError(
                f"unknown top-level key '{key}'",
                path=display,
                line=_line_of_key(text, key),
                hint=did_you_mean(key, KNOWN_TOP_KEYS) or "use sources: or models:",
            )
    return data


def parse_yaml(text: str, display: str) -> Any:
    """Any YAML text, its mappings :class:`LineDict` (they know where each key is); invalid
    YAML is an error at its line and column."""
    import yaml

    try:
        data = yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        lines = text.splitlines()
        src = lines[line - 1] if line and line <= len(lines) else None
        raise ProjectError(
            f"invalid YAML: {problem}",
            path=display,
            line=line,
            col=col,
            source_line=src,
            hint="check indentation and ':' after keys",
        ) from None
    return data


def _line_of_key(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return i
    return None
