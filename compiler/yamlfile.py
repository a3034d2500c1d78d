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


def _load(text: str) -> Any:
    """``text``'s one document with mappings as :class:`LineDict` and sequences as
    :class:`LineList`.

    libyaml (when it is there) parses and composes the node tree; the tree is then walked
    here rather than through PyYAML's constructor machinery, which cost more than the
    parse itself (most nodes are plain strings: a node's value is the string). Scalars of other
    tags (numbers, booleans, null, dates) go to the safe constructor; merge keys (``<<``)
    are flattened as PyYAML does; an alias is the same object as its anchor."""
    loader = _loader_class()(text)
    try:
        root = loader.get_single_node()
        return None if root is None else _Walk(loader).value(root)
    finally:
        loader.dispose()


def _loader_class() -> type:
    """libyaml's safe loader when it is there, resolving each distinct plain scalar's tag
    once: the resolver's regular expressions ran for every scalar, and a properties file
    repeats the same few (``not_null``, column names) thousands of times."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.tags: dict[tuple[object, str, tuple[bool, bool]], str] = {}

        def resolve(self, kind: object, value: str, implicit: tuple[bool, bool]) -> str:
            if kind is not yaml.ScalarNode:
                return str(super().resolve(kind, value, implicit))
            key = (kind, value, implicit)
            tag = self.tags.get(key)
            if tag is None:
                tag = self.tags[key] = super().resolve(kind, value, implicit)
            return tag

    return Loader


_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Walk:
    """One document's nodes to values (see :func:`_load`)."""

    def __init__(self, loader: Any) -> None:
        import yaml

        self.loader = loader
        self.error = yaml.constructor.ConstructorError
        self.made: dict[int, Any] = {}  # id(node) -> its value: aliases share it
        self.open: set[int] = set()  # the collections being walked: an alias to one is a loop

    def value(self, node: Any) -> Any:
        kind = node.id  # "scalar", "sequence" or "mapping"
        if kind == "scalar":
            if node.tag == _STR:  # most nodes: no constructor call, no memo
                return node.value
            return self.loader.construct_object(node, deep=True)
        if node.tag not in _COLLECTION_TAGS:  # !!omap, !!set, !!str on a mapping, ...
            return self.loader.construct_object(node, deep=True)
        made = self.made.get(id(node))
        if made is not None:
            if id(node) in self.open:
                raise self.error(
                    None, None, "an alias refers to the collection it is in", node.start_mark
                )
            return made
        self.open.add(id(node))
        made = self.sequence(node) if kind == "sequence" else self.mapping(node)
        self.open.discard(id(node))
        return made

    def sequence(self, node: Any) -> LineList:
        items = LineList()
        self.made[id(node)] = items
        items.extend([self.value(item) for item in node.value])
        items.lines = [item.start_mark.line + 1 for item in node.value]
        return items

    def mapping(self, node: Any) -> LineDict:
        if any(key.tag == _MERGE for key, _ in node.value):
            self.loader.flatten_mapping(node)
        data = LineDict()
        self.made[id(node)] = data
        keys_at: dict[str, tuple[int, int]] = {}
        values_at: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            # a plain string is most keys and values: no call for it
            if key_node.tag == _STR and key_node.id == "scalar":
                key = key_node.value
            else:
                key = self.value(key_node)
            if value_node.tag == _STR and value_node.id == "scalar":
                value = value_node.value
            else:
                value = self.value(value_node)
            try:
                data[key] = value
            except TypeError:  # a list or mapping as a key
                raise self.error(
                    "while reading a mapping",
                    node.start_mark,
                    "a key must be a single value, not a list or a mapping",
                    key_node.start_mark,
                ) from None
            name = str(key_node.value)
            at = key_node.start_mark
            keys_at[name] = (at.line + 1, at.column + 1)
            at = value_node.start_mark
            values_at[name] = (at.line + 1, at.column + 1)
        data.line = node.start_mark.line + 1
        data.keys_at = keys_at
        data.values_at = values_at
        return data


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
        data = _load(text)
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
