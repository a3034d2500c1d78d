"""YAML files beside models: ``sources:`` and ``models:`` (dbt's properties shape).

Mappings remember the line they start on (``LineDict.line``) so that errors can point. A
key written twice in one mapping is kept as PyYAML keeps it (the last wins, as dbt reads
it) and reported as a warning naming both lines: the first one's columns or checks would
otherwise vanish without a word.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from teal.compiler.discover import decode_utf8
from teal.compiler.errors import ProjectError, TealError

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
# dbt's keys a teal project's YAML accepts but does not read: a warning each, saying what
# a teal project has instead
NOT_READ_KEYS = {
    "seeds": "load a file with a source of type csv or parquet (docs/projects.md)",
    "snapshots": "keep history with an incremental model (docs/incremental.md)",
    "macros": "describe macros in a dbt project only",
    "metrics": "compute metrics in a model",
    "semantic_models": "compute metrics in a model",
    "saved_queries": "compute metrics in a model",
    "unit_tests": "test a model's rows with checks (docs/checks.md)",
    "groups": "set a model's group with config(group=...)",
    "data_tests": "give a model's checks under its entry in models: (docs/checks.md)",
    "analyses": "keep analyses out of the models folder",
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


class YamlDict(LineDict):
    """A properties file's top mapping (:func:`read_yaml`), with the file's warnings: they
    are kept with the parsed file in the compile cache."""

    warnings: tuple[TealError, ...] = ()


class LineList(list):
    """A list that knows the 1-based line of each item (``lines[i]``), for scalar items that
    cannot carry a line themselves (``tests: [not_null]``)."""

    lines: list[int] = []


# a key written twice in one mapping: (the key as written, (line, col) of the first, and of
# the second), 1-based
Twice = tuple[str, tuple[int, int], tuple[int, int]]


def _load(text: str) -> tuple[Any, list[Twice]]:
    """``text``'s one document with mappings as :class:`LineDict` and sequences as
    :class:`LineList`, and the keys written twice in a mapping.

    libyaml (when it is there) parses and composes the node tree; the tree is then walked
    here rather than through PyYAML's constructor machinery, which cost more than the
    parse itself (most nodes are plain strings: a node's value is the string). Scalars of other
    tags (numbers, booleans, null, dates) go to the safe constructor; merge keys (``<<``)
    are flattened as PyYAML does; an alias is the same object as its anchor."""
    loader = _loader_class()(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, []
        walk = _Walk(loader)
        return walk.value(root), walk.twice
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
        self.twice: list[Twice] = []

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
        own = len(node.value)  # the pairs written in this mapping, last after flattening
        if any(key.tag == _MERGE for key, _ in node.value):
            own -= sum(1 for key, _ in node.value if key.tag == _MERGE)
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
        if len(data) < len(node.value):  # a key written twice, or one it merged and sets
            self._note_twice(node.value[len(node.value) - own :])
        return data

    def _note_twice(self, pairs: list[tuple[Any, Any]]) -> None:
        """The keys written twice among ``pairs`` (a mapping's own, not those it merges in
        with ``<<``, which its own keys override by design)."""
        seen: dict[Any, tuple[int, int]] = {}
        for key_node, _ in pairs:
            is_text = key_node.tag == _STR and key_node.id == "scalar"
            key = key_node.value if is_text else self.value(key_node)
            at = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in seen:
                self.twice.append((str(key_node.value), seen[key], at))
            seen[key] = at


def read_yaml(path: Path, display: str, cache: Any = None) -> YamlDict:
    """Parse one YAML properties file; errors carry file:line:col, and its warnings (a key
    written twice) are the result's ``warnings``.

    With a compile cache, a file parsed before is taken from it by its text (2,000 checks
    in YAML took 0.2 s to parse, even with libyaml)."""
    text = decode_utf8(path.read_bytes(), display)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    key = None
    if cache is not None:
        from teal.compiler.cache import content_key

        key = content_key("yaml", _YAML_ENTRY, text)
        hit = cache.get("yaml", key)
        if hit is not None:
            return hit
    data = _parse(text, display)
    if key is not None:
        cache.put("yaml", key, data)
    return data


# the form of a cached parse: 3, a YamlDict with the file's warnings (dbt keys not read among them)
_YAML_ENTRY = "3"


def _parse(text: str, display: str) -> YamlDict:
    warnings: list[TealError] = []
    data = parse_yaml(text, display, warnings)
    if data is None:
        return YamlDict()
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
        if key in NOT_READ_KEYS:
            warnings.append(
                ProjectError(
                    f"top-level key '{key}' is one a dbt project reads; a teal project does "
                    "not (ignored)",
                    path=display,
                    line=_line_of_key(text, key),
                    hint="a dbt project (dbt_project.yml) reads it; in a teal project, "
                    + NOT_READ_KEYS[key],
                )
            )
    top = YamlDict(data)
    top.line = getattr(data, "line", None)
    top.keys_at = getattr(data, "keys_at", {})
    top.values_at = getattr(data, "values_at", {})
    top.warnings = tuple(warnings)
    return top


def parse_yaml(text: str, display: str, warnings: list[TealError] | None = None) -> Any:
    """Any YAML text, its mappings :class:`LineDict` (they know where each key is); invalid
    YAML is an error at its line and column.

    A key written twice in one mapping keeps its last value (as PyYAML, and so dbt, reads
    it) and is a warning appended to ``warnings``; without that list (a file given on the
    command line), an error."""
    import yaml

    try:
        data, twice = _load(text)
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
    if twice:
        found = [_twice_warning(entry, display, text) for entry in twice]
        if warnings is None:
            raise found[0]
        warnings += found
    return data


def _twice_warning(twice: Twice, display: str, text: str) -> ProjectError:
    """A key written twice, located at the second, naming both lines."""
    key, (first, _), (line, col) = twice
    return ProjectError(
        f"key '{key}' is written twice in one mapping, on lines {first} and {line}: the one "
        f"on line {first} is ignored",
        path=display,
        line=line,
        col=col,
        source_line=text.splitlines()[line - 1],
        hint=f"merge the two '{key}:' entries into one, or remove one of them",
    )


def _line_of_key(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return i
    return None
