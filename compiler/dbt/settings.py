"""A dbt project's settings: ``dbt_project.yml``, the profile it names, its packages.

``load_dbt_config`` reads them into teal's :class:`ProjectConfig` (warehouse path, threads,
vars, DuckDB settings from the profile's target) with the dbt-only parts in
:class:`DbtSettings` (``ProjectConfig.dbt``). Every mistake is a located error:
``dbt_project.yml:LINE:COL: message`` with a hint.

Where ``profiles.yml`` is looked for, first found wins (dbt's order): ``--profiles-dir``,
``DBT_PROFILES_DIR``, the project folder, ``~/.dbt``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teal.compiler.dbt.attach import Attachment, read_attachments
from teal.compiler.dbt.project_keys import check_project_folders, check_project_keys
from teal.compiler.errors import ProjectError, TealError, did_you_mean

PROJECT_FILE = "dbt_project.yml"


@dataclass(frozen=True)
class Package:
    """A dbt project whose macros, models and tests the load reads: the root project or an
    installed package under ``dbt_packages/``."""

    name: str
    root: Path
    model_paths: tuple[str, ...] = ("models",)
    seed_paths: tuple[str, ...] = ("seeds",)
    test_paths: tuple[str, ...] = ("tests",)
    macro_paths: tuple[str, ...] = ("macros",)
    snapshot_paths: tuple[str, ...] = ("snapshots",)
    analysis_paths: tuple[str, ...] = ("analyses",)
    docs_paths: tuple[str, ...] | None = None  # None: every resource path (dbt's default)
    vars: dict[str, Any] = field(default_factory=dict)
    # resource type ("models", "seeds", ...) -> the config tree under it in dbt_project.yml
    configs: dict[str, Any] = field(default_factory=dict)
    display: str = PROJECT_FILE  # dbt_project.yml's path for messages


@dataclass(frozen=True)
class Target:
    """The profile's target in use."""

    name: str
    profile: str
    type: str
    schema: str
    database: str
    path: str
    threads: int
    settings: dict[str, Any] = field(default_factory=dict)
    extensions: tuple[Any, ...] = ()
    attach: tuple[Any, ...] = ()
    profiles_path: str = ""


@dataclass(frozen=True)
class DbtSettings:
    """The dbt-only part of a dbt project's configuration."""

    project: Package
    packages: tuple[Package, ...]  # installed packages, in name order
    target: Target
    cli_vars: dict[str, Any] = field(default_factory=dict)
    on_run_start: tuple[str, ...] = ()
    on_run_end: tuple[str, ...] = ()
    dispatch: dict[str, tuple[str, ...]] = field(default_factory=dict)  # namespace -> order
    query_comment: Any = None
    flags: dict[str, Any] = field(default_factory=dict)
    empty: bool = False  # --empty: refs and sources read no rows
    store_failures: bool = False  # --store-failures: flags.STORE_FAILURES
    full_refresh: bool = False  # --full-refresh: flags.FULL_REFRESH
    # --defer-to / --defer: the flag, for the errors of queries deferral does not reach
    deferring: str | None = None
    # the target's attach: entries (compiler/dbt/attach.py)
    attachments: tuple[Attachment, ...] = ()
    state_dir: Path | None = None  # --state: state:modified compares with its manifest.json
    # what its YAML files (dbt_project.yml, profiles.yml, packages.yml, selectors.yml) hold
    # that dbt accepts but is suspicious: the load's first warnings
    warnings: tuple[TealError, ...] = ()

    def package(self, name: str) -> Package | None:
        if name == self.project.name:
            return self.project
        return next((p for p in self.packages if p.name == name), None)


def is_dbt_project(folder: Path) -> bool:
    return (folder / PROJECT_FILE).is_file()


def _yaml(path: Path, display: str, warnings: list[TealError]) -> Any:
    """A YAML file of the project; what it holds that dbt accepts but is suspicious (a key
    written twice) goes to ``warnings``."""
    from teal.compiler.discover import decode_utf8
    from teal.compiler.yamlfile import parse_yaml

    text = decode_utf8(path.read_bytes(), display)
    return parse_yaml(text.replace("\r\n", "\n"), display, warnings)


def _where(mapping: Any, key: str) -> tuple[int | None, int | None]:
    return getattr(mapping, "keys_at", {}).get(key, (getattr(mapping, "line", None), None))


def _paths(data: Any, key: str, default: str, display: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return (default,)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        line, col = _where(data, key)
        raise ProjectError(
            f"{key} must be a list of folders, got {value!r}",
            path=display,
            line=line,
            col=col,
            hint=f'{key}: ["{default}"]',
        )
    return tuple(value)


def read_package(root: Path, display: str, expected_name: str | None = None) -> Package:
    """One dbt_project.yml (the root project's, or an installed package's)."""
    data = _yaml(root / PROJECT_FILE, display, [])  # its warnings: load_dbt_config's read
    if not isinstance(data, dict):
        raise ProjectError(
            "dbt_project.yml must be a mapping", path=display, line=1, hint="name: my_project"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ProjectError(
            "dbt_project.yml needs a name",
            path=display,
            line=1,
            hint="add `name: my_project` (letters, digits and underscores)",
        )
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        line, col = _where(data, "name")
        raise ProjectError(
            f"project name '{name}' must be letters, digits and underscores",
            path=display,
            line=line,
            col=col,
        )
    vars_ = data.get("vars") or {}
    if not isinstance(vars_, dict):
        line, col = _where(data, "vars")
        raise ProjectError("vars must be a mapping", path=display, line=line, col=col)
    configs = {}
    for kind in ("models", "seeds", "snapshots", "data_tests", "tests", "sources", "unit_tests"):
        tree = data.get(kind)
        if tree is None:
            continue
        if not isinstance(tree, dict):
            line, col = _where(data, kind)
            raise ProjectError(
                f"{kind}: must be a mapping of project names to configs",
                path=display,
                line=line,
                col=col,
                hint=f"{kind}:\n    {name}:\n      +materialized: table",
            )
        configs["data_tests" if kind == "tests" else kind] = tree
    return Package(
        name=name,
        root=root,
        model_paths=_paths(data, "model-paths", "models", display),
        seed_paths=_paths(data, "seed-paths", "seeds", display),
        test_paths=_paths(data, "test-paths", "tests", display),
        macro_paths=_paths(data, "macro-paths", "macros", display),
        snapshot_paths=_paths(data, "snapshot-paths", "snapshots", display),
        analysis_paths=_paths(data, "analysis-paths", "analyses", display),
        docs_paths=_paths(data, "docs-paths", "docs", display) if "docs-paths" in data else None,
        vars=dict(vars_),
        configs=configs,
        display=display,
    )


def _packages(
    root: Path, data: Any, project: Package, warnings: list[TealError]
) -> tuple[Package, ...]:
    """The installed packages (``dbt_packages/*``), and a located error for a package that
    packages.yml / dependencies.yml lists but is not installed."""
    install = data.get("packages-install-path") or "dbt_packages"
    folder = root / install
    found: dict[str, Package] = {}
    if folder.is_dir():
        for sub in sorted(folder.iterdir()):
            if (sub / PROJECT_FILE).is_file():
                rel = f"{install}/{sub.name}/{PROJECT_FILE}"
                package = read_package(sub, rel)
                found[package.name] = package
    for listing in ("packages.yml", "dependencies.yml"):
        path = root / listing
        if not path.is_file():
            continue
        spec = _yaml(path, listing, warnings) or {}
        entries = spec.get("packages") if isinstance(spec, dict) else None
        for i, entry in enumerate(entries or []):
            if not isinstance(entry, dict):
                continue
            wanted = _package_name(entry)
            if wanted is None or wanted in found or wanted == project.name:
                continue
            lines = getattr(entries, "lines", [])
            raise ProjectError(
                f"package '{wanted}' is listed in {listing} but not installed in {install}/",
                path=listing,
                line=lines[i] if i < len(lines) else None,
                hint="run `dbt deps` to install packages (teal reads installed packages, "
                "it does not download them)",
            )
    return tuple(found[name] for name in sorted(found))


def _package_name(entry: dict[str, Any]) -> str | None:
    """The name an entry of packages.yml installs as (best effort: the last path part)."""
    for key in ("package", "git", "local", "tarball", "private"):
        value = entry.get(key)
        if isinstance(value, str) and value:
            last = value.rstrip("/").split("/")[-1]
            last = re.sub(r"\.git$", "", last)
            if key == "package" and last.startswith("dbt-"):
                last = last[4:]
            return (entry.get("name") or last).replace("-", "_")
    return None


def find_profiles(project_root: Path, profiles_dir: str | Path | None) -> Path | None:
    candidates: list[Path] = []
    if profiles_dir is not None:
        candidates.append(Path(profiles_dir))
    elif os.environ.get("DBT_PROFILES_DIR"):
        candidates.append(Path(os.environ["DBT_PROFILES_DIR"]))
    else:
        candidates += [project_root, Path.home() / ".dbt"]
    for folder in candidates:
        if (folder / "profiles.yml").is_file():
            return folder / "profiles.yml"
    return None


def render_text(text: str, vars_: dict[str, Any], target: dict[str, Any] | None = None) -> str:
    """A dbt_project.yml or profiles.yml value with its Jinja rendered: ``env_var``, ``var``
    and ``target`` (dbt renders these files with a small context)."""
    if "{{" not in text and "{%" not in text:
        return text
    import jinja2

    def env_var(name: str, default: Any = None) -> Any:
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ProjectError(
            f"environment variable {name} is not set",
            hint=f"export {name}=... or give a default: env_var('{name}', '...')",
        )

    def var(name: str, default: Any = None) -> Any:
        if name in vars_:
            return vars_[name]
        if default is not None:
            return default
        raise ProjectError(
            f"var('{name}') is not defined here",
            hint=f"pass --vars '{{{name}: ...}}' or give a default: var('{name}', ...)",
        )

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return env.from_string(text).render(env_var=env_var, var=var, target=target or {})


def native(value: str) -> Any:
    """dbt's native rendering of a config value: ``"True"`` is true, ``"3"`` is 3."""
    text = value.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return value


def _render_tree(value: Any, vars_: dict[str, Any], display: str, line: int | None) -> Any:
    if isinstance(value, str):
        try:
            rendered = render_text(value, vars_)
        except ProjectError as exc:
            raise ProjectError(exc.message, path=display, line=line, hint=exc.hint) from None
        return native(rendered) if rendered != value else value
    if isinstance(value, dict):
        out = type(value)()
        for k, v in value.items():
            key_line = getattr(value, "keys_at", {}).get(str(k), (line, None))[0]
            out[k] = _render_tree(v, vars_, display, key_line)
        for attr in ("line", "keys_at", "values_at"):
            if hasattr(value, attr):
                setattr(out, attr, getattr(value, attr))
        return out
    if isinstance(value, list):
        return [_render_tree(v, vars_, display, line) for v in value]
    return value


def read_target(
    project_root: Path,
    profile_name: str,
    target_name: str | None,
    profiles_dir: str | Path | None,
    cli_vars: dict[str, Any],
    warnings: list[TealError],
) -> Target:
    path = find_profiles(project_root, profiles_dir)
    if path is None:
        where = (
            str(profiles_dir)
            if profiles_dir is not None
            else os.environ.get("DBT_PROFILES_DIR") or f"{project_root}, ~/.dbt"
        )
        raise ProjectError(
            f"no profiles.yml found (looked in {where}) for profile '{profile_name}'",
            path=PROJECT_FILE,
            hint="pass --profiles-dir, set DBT_PROFILES_DIR, or put profiles.yml beside "
            f"dbt_project.yml with a '{profile_name}:' entry of type duckdb",
        )
    display = str(path)
    data = _yaml(path, display, warnings) or {}
    if profile_name not in data:
        profiles = [k for k in data if k != "config"]
        raise ProjectError(
            f"profile '{profile_name}' is not in {display}",
            path=display,
            line=1,
            hint=did_you_mean(profile_name, profiles)
            or ("profiles there: " + ", ".join(profiles) if profiles else "add it"),
        )
    profile = data[profile_name]
    outputs = profile.get("outputs") if isinstance(profile, dict) else None
    if not isinstance(outputs, dict) or not outputs:
        raise ProjectError(
            f"profile '{profile_name}' has no outputs",
            path=display,
            line=getattr(profile, "line", None),
            hint="outputs:\n    dev:\n      type: duckdb\n      path: dev.duckdb",
        )
    chosen = target_name or os.environ.get("DBT_TARGET") or profile.get("target") or "dev"
    chosen = str(render_text(str(chosen), cli_vars))
    if chosen not in outputs:
        line, col = _where(profile, "target") if target_name is None else (None, None)
        raise ProjectError(
            f"target '{chosen}' is not an output of profile '{profile_name}'",
            path=display,
            line=line or getattr(outputs, "line", None),
            col=col,
            hint=did_you_mean(chosen, outputs) or "outputs: " + ", ".join(outputs),
        )
    out = outputs[chosen]
    if not isinstance(out, dict):
        raise ProjectError(
            f"output '{chosen}' must be a mapping",
            path=display,
            line=getattr(outputs, "line", None),
        )
    rendered = _render_tree(out, cli_vars, display, getattr(out, "line", None))
    kind = str(rendered.get("type", ""))
    if kind != "duckdb":
        line, col = _where(out, "type")
        raise ProjectError(
            f"target '{chosen}' is of type '{kind}': teal runs dbt projects on DuckDB only",
            path=display,
            line=line,
            col=col,
            hint="add a duckdb output (type: duckdb, path: dev.duckdb) and pass --target",
        )
    db_path = str(rendered.get("path") or ":memory:")
    if db_path.startswith("md:") or db_path.startswith("motherduck:"):
        line, col = _where(out, "path")
        raise ProjectError("MotherDuck paths are not supported", path=display, line=line, col=col)
    threads = rendered.get("threads", 1)
    if not isinstance(threads, int) or threads < 1:
        line, col = _where(out, "threads")
        raise ProjectError(
            f"threads must be a whole number of 1 or more, got {threads!r}",
            path=display,
            line=line,
            col=col,
        )
    database = rendered.get("database") or (
        "memory" if db_path == ":memory:" else Path(db_path).stem
    )
    return Target(
        name=chosen,
        profile=profile_name,
        type="duckdb",
        schema=str(rendered.get("schema") or "main"),
        database=str(database),
        path=db_path,
        threads=threads,
        settings=dict(rendered.get("settings") or {}),
        extensions=tuple(rendered.get("extensions") or ()),
        attach=tuple(rendered.get("attach") or ()),
        profiles_path=display,
    )


def load_dbt_config(
    root: Path,
    *,
    target: str | None = None,
    warehouse: str | Path | None = None,
    vars: dict[str, Any] | None = None,
    threads: int | None = None,
    profiles_dir: str | Path | None = None,
) -> Any:
    """The :class:`ProjectConfig` of the dbt project at ``root``."""
    from teal.compiler.config import ProjectConfig
    from teal.compiler.engine_settings import parse_duckdb_settings

    root = root.resolve()
    warnings: list[TealError] = []
    data = _yaml(root / PROJECT_FILE, PROJECT_FILE, warnings) or {}
    project = read_package(root, PROJECT_FILE)
    cli_vars = dict(vars or {})
    profile_name = data.get("profile") or project.name
    try:
        tgt = read_target(root, str(profile_name), target, profiles_dir, cli_vars, warnings)
    except ProjectError as exc:
        if exc.path == PROJECT_FILE or exc.line == 1:  # point at `profile:` in dbt_project.yml
            line, col = _where(data, "profile") if "profile" in data else (1, None)
            raise ProjectError(
                exc.message, path=PROJECT_FILE, line=line, col=col, hint=exc.hint
            ) from None
        raise
    packages = _packages(root, data, project, warnings)
    hooks: dict[str, tuple[str, ...]] = {}
    for key in ("on-run-start", "on-run-end"):
        value = data.get(key) or []
        hooks[key] = tuple([value] if isinstance(value, str) else [str(v) for v in value])
    dispatch: dict[str, tuple[str, ...]] = {}
    for entry in data.get("dispatch") or []:
        if isinstance(entry, dict) and entry.get("macro_namespace"):
            dispatch[str(entry["macro_namespace"])] = tuple(entry.get("search_order") or ())
    check_project_keys(data, PROJECT_FILE, warnings)
    check_project_folders(data, root, PROJECT_FILE, warnings)
    selectors = (
        read_selectors(root / "selectors.yml", warnings)
        if (root / "selectors.yml").is_file()
        else {}
    )
    settings = DbtSettings(
        project=project,
        packages=packages,
        target=tgt,
        cli_vars=cli_vars,
        on_run_start=hooks["on-run-start"],
        on_run_end=hooks["on-run-end"],
        dispatch=dispatch,
        query_comment=data.get("query-comment"),
        flags=dict(data.get("flags") or {}),
        attachments=read_attachments(tgt.attach, root, tgt.profiles_path),
        warnings=tuple(warnings),
    )
    wh = str(warehouse) if warehouse is not None else tgt.path
    warehouse_path = Path(wh) if wh == ":memory:" else (root / wh).resolve()
    duck: dict[str, Any] = dict(tgt.settings)
    exts = [e if isinstance(e, str) else e.get("name") for e in tgt.extensions]
    if exts:
        duck["extensions"] = [e for e in exts if e]
    models_dir = root / project.model_paths[0]
    return ProjectConfig(
        root=root,
        config_path=root / PROJECT_FILE,
        name=project.name,
        models_dir=models_dir.resolve(),
        warehouse_path=warehouse_path,
        threads=threads or tgt.threads,
        vars={**project.vars, **cli_vars},
        check_paths=tuple(project.test_paths),
        selectors=selectors,
        duckdb=_duckdb_settings(parse_duckdb_settings, duck, root, tgt),
        dbt=settings,
    )


def _duckdb_settings(parse: Any, duck: dict[str, Any], root: Path, tgt: Target) -> Any:
    """The target's settings and extensions as teal's DuckDB settings (its attach: entries
    become sources, compiler/dbt/attach.py)."""
    try:
        return parse([("settings", duck)], root, tgt.profiles_path)
    except ProjectError as exc:
        raise ProjectError(exc.message, path=tgt.profiles_path, hint=exc.hint) from None


def read_selectors(path: Path, warnings: list[TealError]) -> dict[str, Any]:
    """dbt's selectors.yml as teal's named selectors (``--select selector:NAME``): a
    definition is an expression, a ``method``/``value`` criterion (with ``parents``,
    ``children``, ``parents_depth``, ``children_depth``, ``childrens_parents``), or a
    ``union``/``intersection`` of definitions, each item may be ``exclude:``. A criterion's
    ``indirect_selection`` is the selector's (one per selector: teal applies one mode to a
    command, compiler/indirect_selection.py)."""
    display = "selectors.yml"
    data = _yaml(path, display, warnings) or {}
    out: dict[str, Any] = {}
    for entry in data.get("selectors") or []:
        line = getattr(entry, "line", None)
        if not isinstance(entry, dict) or not entry.get("name") or "definition" not in entry:
            raise ProjectError(
                "every selector needs a name and a definition", path=display, line=line
            )
        try:
            select, exclude = _definition(entry["definition"])
        except ValueError as exc:
            raise ProjectError(
                f"selector '{entry['name']}': {exc}",
                path=display,
                line=line,
                hint="definition: {method: tag, value: nightly} or a union: [...] of them",
            ) from None
        out[str(entry["name"])] = {"select": select, "exclude": exclude}
        modes = _modes(entry["definition"])
        if len(modes) > 1:
            raise ProjectError(
                f"selector '{entry['name']}' sets indirect_selection to "
                + " and ".join(sorted(modes)),
                path=display,
                line=line,
                hint="teal applies one indirect selection to a selector: set the same one, "
                "or split the selector",
            )
        if modes:
            from teal.compiler.indirect_selection import checked_mode

            try:
                mode = checked_mode(modes.pop(), "indirect_selection")
            except TealError as exc:
                raise ProjectError(
                    f"selector '{entry['name']}': {exc.message}",
                    path=display,
                    line=line,
                    hint=exc.hint,
                ) from None
            out[str(entry["name"])]["indirect_selection"] = mode
    return out


def _modes(spec: Any) -> set[str]:
    """The ``indirect_selection`` values a selector definition sets, at any depth."""
    if isinstance(spec, list):
        return {m for item in spec for m in _modes(item)}
    if not isinstance(spec, dict):
        return set()
    found = {str(spec["indirect_selection"])} if "indirect_selection" in spec else set()
    return found | {m for v in spec.values() if isinstance(v, (dict, list)) for m in _modes(v)}


def _definition(spec: Any) -> tuple[list[str], list[str]]:
    """(expressions to select, expressions to exclude) of one selector definition."""
    if isinstance(spec, str):
        return [spec], []
    if not isinstance(spec, dict):
        raise ValueError(f"cannot read definition {spec!r}")
    if "union" in spec or "intersection" in spec:
        joiner = "union" if "union" in spec else "intersection"
        select: list[str] = []
        exclude: list[str] = []
        for item in spec[joiner] or []:
            if isinstance(item, dict) and set(item) == {"exclude"}:
                for sub in item["exclude"] or []:
                    exclude += _definition(sub)[0]
                continue
            got, excluded = _definition(item)
            select += got
            exclude += excluded
        if joiner == "intersection":
            parts = [s for s in select if " " not in s]
            if len(parts) != len(select):
                raise ValueError("an intersection of unions is not supported")
            select = [",".join(parts)]
        return select, exclude
    method, value = spec.get("method"), spec.get("value")
    if method is None or value is None:
        raise ValueError("a criterion needs method and value")
    text = f"{method}:{value}" if method not in ("fqn", "name") else str(value)
    if spec.get("childrens_parents"):
        text = "@" + text
    if spec.get("parents"):
        text = f"{spec.get('parents_depth') or ''}+{text}"
    if spec.get("children"):
        text = f"{text}+{spec.get('children_depth') or ''}"
    exclude = []
    for sub in spec.get("exclude") or []:
        exclude += _definition(sub)[0]
    return [text], exclude
