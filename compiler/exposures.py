"""Exposures: what reads the project's models from outside it (a dashboard, a notebook,
an application), declared in YAML as dbt declares them::

    exposures:
      - name: weekly_revenue
        type: dashboard
        owner: {name: Ana, email: ana@example.com}
        depends_on: [ref('revenue'), ref('customers'), source('shop', 'orders')]

teal builds no exposure; ``+exposure:weekly_revenue`` selects the models it depends on
and what they read (dbt's selection), which is what CI builds before a dashboard is
refreshed. In a teal project a ``depends_on`` entry may also be a model's bare name.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from teal.compiler.errors import ProjectError, TealError, did_you_mean

if TYPE_CHECKING:
    from teal.compiler.graph import Dag
    from teal.compiler.selection import Criterion

# ref('name'), ref('package', 'name'), ref('name', v=2): (package or name, name, version)
_REF = re.compile(
    r"""^\s*ref\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?"""
    r"""(?:,\s*(?:v|version)\s*=\s*['"]?([\w.]+)['"]?\s*)?\)\s*$"""
)
# what an exposure may depend on that is not a model teal selects
_NOT_A_MODEL = re.compile(r"^\s*(source|metric|semantic_model|saved_query)\s*\(")
_SOURCE = re.compile(r"""^\s*source\(\s*(['"])([^'"]+)\1\s*,\s*(['"])([^'"]+)\3\s*\)\s*$""")
_BARE = re.compile(r"^[A-Za-z_][\w]*$")
KEYS = ("name", "type", "owner", "depends_on", "description", "label", "maturity", "url")
KEYS_IGNORED = ("meta", "tags", "config", "enabled")  # read by dbt's tools, not teal


@dataclass(frozen=True)
class Exposure:
    name: str
    depends_on: tuple[str, ...]  # the names of the models it reads
    path: str  # the YAML file declaring it, for messages
    line: int | None
    type: str = ""
    owner: str = ""  # the owner's name (or email when it has no name)
    owner_email: str = ""
    description: str = ""
    label: str = ""
    maturity: str = ""
    url: str = ""
    sources: tuple[tuple[str, str], ...] = ()  # the (source, table) pairs it reads


@dataclass(frozen=True)
class DeclaredExposure:
    """An exposure as its YAML entry says it, before its refs are found among the models:
    each ref's (name, version or None, the text as written, its line)."""

    refs: tuple[tuple[str, str | None, str, int | None], ...]
    exposure: Exposure  # with no models yet


def parse_exposures(
    entries: list[object], display: str, bare_names: bool
) -> tuple[list[DeclaredExposure], list[TealError], list[TealError]]:
    """The entries of one file's ``exposures:`` list: (the exposures, the errors, the
    warnings); ``bare_names``: a bare word names a model (a teal project)."""
    lines: list[int] = getattr(entries, "lines", [])
    declared: list[DeclaredExposure] = []
    errors: list[TealError] = []
    warnings: list[TealError] = []
    for i, entry in enumerate(entries):
        at = getattr(entry, "line", None) or (lines[i] if i < len(lines) else None)
        found, said = parse_exposure(entry, display, at, bare_names)
        if found is None:
            errors += said
        else:
            declared.append(found)
            warnings += said
    return declared, errors, warnings


def parse_exposure(
    entry: object, display: str, line: int | None, bare_names: bool
) -> tuple[DeclaredExposure | None, list[TealError]]:
    """One ``exposures:`` entry; ``bare_names``: a bare word names a model (a teal
    project). Mistakes that lose nothing are warnings; an entry without a name is an
    error."""
    if not isinstance(entry, Mapping) or not entry.get("name"):
        return None, [
            ProjectError(
                "every entry under exposures: needs a name",
                path=display,
                line=line,
                hint="write '  - name: <name>' with its depends_on: list",
            )
        ]
    name = str(entry["name"])
    keys_at: Mapping[str, tuple[int, int]] = getattr(entry, "keys_at", {})
    found: list[TealError] = []
    for key in entry:
        if str(key) not in (*KEYS, *KEYS_IGNORED):
            at, col = keys_at.get(str(key), (line, None))
            found.append(
                ProjectError(
                    f"unknown key '{key}' for exposure '{name}' (ignored)",
                    path=display,
                    line=at,
                    col=col,
                    hint=did_you_mean(str(key), KEYS) or "an exposure has " + ", ".join(KEYS),
                )
            )
    listed = entry.get("depends_on") or []
    at = keys_at.get("depends_on", (line, None))[0]
    if not isinstance(listed, list):
        found.append(
            ProjectError(
                f"depends_on of exposure '{name}' must be a list, got {listed!r}",
                path=display,
                line=at,
                hint="write depends_on: [ref('a_model'), ...]",
            )
        )
        listed = []
    refs: list[tuple[str, str | None, str, int | None]] = []
    sources: list[tuple[str, str]] = []
    item_lines: list[int] = getattr(listed, "lines", [])
    for i, item in enumerate(listed):
        text = str(item)
        item_at = item_lines[i] if i < len(item_lines) else at
        ref = _REF.match(text)
        if ref is not None:
            refs.append((ref.group(4) or ref.group(2), ref.group(5), text, item_at))
        elif bare_names and _BARE.match(text):
            refs.append((text, None, text, item_at))
        elif (source := _SOURCE.match(text)) is not None:
            sources.append((source.group(2), source.group(4)))
        elif not _NOT_A_MODEL.match(text):
            found.append(
                ProjectError(
                    f"exposure '{name}' depends on {text!r}, which teal cannot read (ignored)",
                    path=display,
                    line=item_at,
                    hint="write ref('a_model') or source('a_source', 'a_table')",
                )
            )
    owner = entry.get("owner")
    named = owner if isinstance(owner, Mapping) else {"name": owner}
    exposure = Exposure(
        name,
        (),
        display,
        line,
        type=str(entry.get("type") or ""),
        owner=str(named.get("name") or named.get("email") or ""),
        owner_email=str(named.get("email") or ""),
        description=str(entry.get("description") or ""),
        label=str(entry.get("label") or ""),
        maturity=str(entry.get("maturity") or ""),
        url=str(entry.get("url") or ""),
        sources=tuple(sources),
    )
    declared = DeclaredExposure(tuple(refs), exposure)
    return declared, found


def resolve_exposures(
    declared: Iterable[DeclaredExposure],
    model_of: Callable[[str, str | None], str | None],
    models: Collection[str],
) -> tuple[dict[str, Exposure], list[TealError]]:
    """The exposures with their refs found among ``models`` (``model_of(name, version)``:
    the model a ref names, or None); a ref to no model is a warning, and so is an
    exposure declared twice (naming both places; the first is kept)."""
    exposures: dict[str, Exposure] = {}
    found: list[TealError] = []
    for d in declared:
        name = d.exposure.name
        if name in exposures:
            first = exposures[name]
            found.append(
                ProjectError(
                    f"exposure '{name}' is declared twice: at {first.path}:{first.line} "
                    "and here (this one is ignored)",
                    path=d.exposure.path,
                    line=d.exposure.line,
                    hint="declare each exposure once",
                )
            )
            continue
        names: list[str] = []
        for ref, version, text, at in d.refs:
            model = model_of(ref, version)
            if model is None:
                found.append(
                    ProjectError(
                        f"exposure '{name}' depends on {text}, which is not a model (ignored)",
                        path=d.exposure.path,
                        line=at or d.exposure.line,
                        hint=did_you_mean(ref, models) or "name a model of the project",
                    )
                )
            elif model not in names:
                names.append(model)
        exposures[name] = replace(d.exposure, depends_on=tuple(names))
    return exposures, found


def exposure_matches(
    c: Criterion, exposures: Mapping[str, Exposure], dag: Dag, expression: str
) -> set[str]:
    """The models ``exposure:NAME`` with its ``+`` reaches: an exposure is built by no
    one, so the criterion must look upstream (``+exposure:x``, ``2+exposure:x``,
    ``@exposure:x``), where its models are one step up."""
    from teal.compiler.selection import _error

    pattern = c.value.lower()
    chosen = [
        e
        for n, e in exposures.items()
        if fnmatch.fnmatchcase(n.lower(), pattern) or n.lower() == pattern
    ]
    if not chosen:
        raise _error(
            f"no exposure named '{c.value}'",
            expression,
            c.offset,
            did_you_mean(c.value, exposures)
            or ("exposures: " + ", ".join(sorted(exposures)) if exposures else None)
            or "declare it under exposures: in a YAML file beside the models",
        )
    if not (c.up or c.childrens_parents):
        raise _error(
            f"exposure:{c.value} selects nothing teal builds (an exposure is not built)",
            expression,
            c.offset,
            f"+exposure:{c.value} selects the models it depends on and what they read",
        )
    depth = None if c.up_depth is None or c.childrens_parents else c.up_depth - 1
    hits: set[str] = set()
    for exposure in chosen:
        for model in exposure.depends_on:
            hits.add(model)
            if depth is None or depth > 0:
                hits |= dag.ancestors(model, depth)
    return hits
