"""Stage 2 of a dbt load (compiler/dbt/loader.py): each node's config settled, most general
first: the package's own dbt_project.yml, the root project's (folder by folder, ``+key`` or
a known key; Jinja values rendered with vars and target, hooks kept as written), the YAML
entry's ``config:``, then the node's own ``config(...)`` calls, found by rendering it once
with ``execute`` false as dbt's parse does (twice when it calls ``is_incremental()``, so
that refs in either branch are found), which also records its ``ref``/``source`` calls.
A Python model's calls are read from its file instead (compiler/dbt/python_models.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from teal.compiler.dbt.assemble import check_model_config
from teal.compiler.dbt.model_hooks import HOOK_KEYS, hook_refs, merge_dbt_config
from teal.compiler.dbt.nodes import CONFIG_KEYS, DICT_CONFIGS, Node, line_of, live_markers
from teal.compiler.dbt.python_models import check_python_model, parse_python_model
from teal.compiler.dbt.settings import Package, native
from teal.compiler.errors import ProjectError, TealError

if TYPE_CHECKING:
    from teal.compiler.dbt.loader import DbtLoader


def tree_config(loader: DbtLoader, node: Node) -> dict[str, Any]:
    kind = {
        "model": "models",
        "seed": "seeds",
        "snapshot": "snapshots",
        "test": "data_tests",
        "analysis": "analyses",
    }[node.resource_type]
    merged: dict[str, Any] = {}
    owners = [loader.settings.package(node.package)]
    if node.package != loader.settings.project.name:
        owners.append(loader.settings.project)
    for owner in owners:
        if owner is None:
            continue
        tree = owner.configs.get(kind)
        if not isinstance(tree, dict):
            continue
        # dbt's fqn_search: the section's own top level first (`models: +tags: [x]` sets
        # every model's), then the project's name, then each folder down to the node
        level: Any = tree
        depth = 0
        while isinstance(level, dict):
            for key, value in level.items():
                key = str(key)
                if key.startswith("+"):
                    merge_dbt_config(
                        merged, {key[1:]: _render_config(loader, value, owner, level, key)}
                    )
                elif key in CONFIG_KEYS and (not isinstance(value, dict) or key in DICT_CONFIGS):
                    merge_dbt_config(
                        merged, {key: _render_config(loader, value, owner, level, key)}
                    )
            if depth >= len(node.fqn):
                break
            level = level.get(node.fqn[depth])
            depth += 1
    return merged


def _render_config(loader: DbtLoader, value: Any, owner: Package, level: Any, key: str) -> Any:
    if key.lstrip("+") in HOOK_KEYS:  # rendered with their model (compiler/dbt/model_hooks.py)
        return value
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        from teal.compiler.dbt.settings import render_text

        try:
            return native(
                render_text(
                    value,
                    {**loader.settings.project.vars, **loader.settings.cli_vars},
                    dict(loader.jinja.context()["target"]),
                )
            )
        except Exception as exc:  # noqa: BLE001 - undefined vars and Jinja errors, located
            line, col = getattr(level, "keys_at", {}).get(key, (None, None))
            raise ProjectError(
                f"cannot render {key}: {getattr(exc, 'message', exc)}",
                path=owner.display,
                line=line,
                col=col,
                hint=getattr(exc, "hint", None),
            ) from None
    return value


def configure_nodes(loader: DbtLoader) -> None:
    from teal.compiler.dbt.unapplied import Seen, refuse_merge_configs, warn_unapplied
    from teal.compiler.dbt.unknown_configs import read_names, warn_unknown_configs

    loader.jinja.phase = "parse"
    unapplied_seen = Seen()  # one warning per place
    unknown_seen = Seen()
    read: frozenset[str] | None = None  # what macros and nodes mention, once
    for node in list(loader.nodes.values()):
        conf = tree_config(loader, node)
        props = (
            loader.properties.get((node.resource_type, node.name))
            if node.yaml is None
            else (node.yaml, node.yaml_display)
        )
        if props is not None:
            entry, display = props
            node.yaml, node.yaml_display = entry, display
            yconf = entry.get("config") or {}
            if not isinstance(yconf, dict):
                loader.errors.append(
                    ProjectError(
                        f"config of '{node.name}' must be a mapping",
                        path=display,
                        line=getattr(entry, "line", None),
                    )
                )
                continue
            merge_dbt_config(conf, {k: v for k, v in yconf.items()})
            for key in ("tags", "meta", "docs"):
                if entry.get(key) is not None:
                    merge_dbt_config(conf, {key: entry[key]})
        node.config = conf
        if node.language == "python" and node.resource_type == "model" and node.enabled:
            try:
                parse_python_model(loader, node)
                check_python_model(loader, node)
            except TealError as exc:
                loader.errors.append(exc)
            continue
        if node.resource_type in ("model", "snapshot", "test") and node.enabled:
            try:
                parse_render(loader, node)
            except TealError as exc:
                loader.errors.append(exc)
                continue
        if node.resource_type == "seed" and node.enabled:
            node.raw = ""
        if node.resource_type == "model" and node.enabled:
            check_model_config(loader, node)
            warn_unapplied(loader, node, unapplied_seen)
            if node.materialized == "incremental":
                refuse_merge_configs(loader, node)
        if node.resource_type in ("model", "seed", "snapshot") and node.enabled:
            read = read_names(loader) if read is None else read
            warn_unknown_configs(loader, node, read, unknown_seen)
        if node.resource_type == "snapshot" and node.enabled:
            from teal.compiler.dbt.snapshots import check_config

            try:
                # an error about a setting points at it when the file writes it
                written = line_of(node.raw, r"snapshot_meta_column_names")
                check_config(node.config, node.display, written or 1)
            except TealError as exc:
                loader.errors.append(exc)
    from teal.compiler.dbt.external_sources import check_external_source

    for info in loader.sources.values():
        render_source(loader, info)
        check_external_source(loader, info)


def render_source(loader: DbtLoader, info: dict[str, Any]) -> None:
    """A source table's ``schema``, ``identifier`` and ``database`` with their Jinja rendered
    as dbt renders them: ``var`` (the declaring package's vars, the root project's and
    ``--vars``), ``env_var`` and ``target``. A failure is an error at the YAML line."""
    from teal.compiler.dbt.settings import render_text

    package = str(info["package"])
    target = dict(loader.jinja.context()["target"])
    fields = (
        ("schema", info["raw_schema"], info["source_entry"]),
        ("identifier", info["identifier"], info["entry"]),
        ("database", info["database"], info["source_entry"]),
    )
    for key, text, entry in fields:
        if not isinstance(text, str) or ("{{" not in text and "{%" not in text):
            info[key] = text if text is None or key == "database" else str(text)
            continue
        try:
            info[key] = render_text(text, package_vars(loader, package), target)
        except Exception as exc:  # noqa: BLE001 - undefined vars and Jinja errors, located
            line, col = getattr(entry, "keys_at", {}).get(key, (getattr(entry, "line", None), None))
            loader.errors.append(
                ProjectError(
                    f"cannot render {key} of source '{info['source_entry'].get('name')}': "
                    f"{getattr(exc, 'message', exc)}",
                    path=str(info["display"]),
                    line=line,
                    col=col,
                    hint="a source's YAML sees var() (vars: in dbt_project.yml and --vars), "
                    "env_var() and target",
                )
            )
            info[key] = text


def package_vars(loader: DbtLoader, package: str) -> dict[str, Any]:
    """The vars ``var()`` sees in ``package``, as ``DbtLoader.var`` looks them up: --vars,
    then the root project's vars scoped to the package, the root's own, the package's."""
    settings = loader.settings
    root = settings.project
    names = {p.name for p in settings.packages} | {root.name}
    own = settings.package(package)
    merged: dict[str, Any] = {}
    if own is not None and own is not root:
        merged.update(own.vars)
    merged.update({k: v for k, v in root.vars.items() if not (isinstance(v, dict) and k in names)})
    scoped = root.vars.get(package)
    if package != root.name and isinstance(scoped, dict):
        merged.update(scoped)
    merged.update(settings.cli_vars)
    return merged


def parse_render(loader: DbtLoader, node: Node) -> None:
    state = loader.jinja.state
    state.node = node
    try:
        node.template = loader.jinja.template(node.raw, node.display)
        refs: list[tuple[str, str | None]] = []
        sources: list[tuple[str, str]] = []
        variants = [False]
        if "is_incremental" in node.raw:
            variants.append(True)
        for incremental in variants:
            state.refs, state.sources, state.config_calls = [], [], []
            state.incremental = incremental
            sql = loader.jinja.render(node.template, node.display, node.raw)
            for call in state.config_calls:
                merge_dbt_config(node.config, call)
            live = live_markers(sql)
            for i, ref in enumerate(state.refs):
                if (i in live or f"__teal_dbt_ref_{i}__" not in sql) and ref not in refs:
                    refs.append(ref)
            sources += [s for s in state.sources if s not in sources]
        # what its hooks ref is read by it too (dbt's depends_on): built before it, and
        # deferred with its other upstreams
        refs += [r for r in hook_refs(loader, node) if r not in refs]
        node.refs, node.sources = refs, sources
    finally:
        state.node, state.incremental = None, False
