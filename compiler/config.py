"""Project discovery and configuration.

A teal project is a folder with ``teal.toml`` or a ``pyproject.toml`` holding
``[tool.teal]``. Keys (all optional)::

    name = "shop"
    models = "models"                  # where models live
    warehouse = "warehouse.duckdb"     # the DuckDB file, relative to the project
    threads = 4                        # default: number of cores
    [vars]                             # values for {{ var('...') }}
    [defaults]                         # model config for every model
    [folders."marts/finance"]          # model config for models under a folder
    [targets.prod]                     # named warehouses: --target prod
    warehouse = "prod.duckdb"
    [targets.spark]                    # a target on Spark (compiler/spark_settings.py)
    engine = "spark"
    [sources.<name>]                   # see compiler.sources
    [resources.<name>]                 # see compiler.resources

Model config precedence, lowest first: defaults, folders (outer to inner), YAML properties,
the model's own ``config(...)`` / decorator arguments.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from teal.compiler.automation import Automation, parse_automation
from teal.compiler.engine_settings import DuckDBSettings, parse_duckdb_settings
from teal.compiler.errors import ProjectError, did_you_mean
from teal.compiler.external import ExternalDefaults, check_io_manager, parse_external_defaults
from teal.compiler.model_config import merge_config, validate_model_config
from teal.compiler.named_selectors import NamedSelectors
from teal.compiler.resources import ResourceDecl, parse_resources
from teal.compiler.run_store_setting import unknown_store_url
from teal.compiler.spark_settings import SparkSettings, parse_spark_settings
from teal.compiler.state_retention import DEFAULT_DAYS, parse_state_retention
from teal.compiler.state_retention import KEY as STATE_RETENTION
from teal.compiler.toml_lines import key_line, line_text, table_line, toml_problem

PROJECT_KEYS = {
    "name",
    "models",
    "warehouse",
    "threads",
    "vars",
    "defaults",
    "folders",
    "targets",
    "sources",
    "changed_only",
    "selectors",
    "check_paths",
    "run_store",
    "run_retention",
    "state_retention",
    "duckdb",
    "jobs",
    "schedules",
    "sensors",
    "daemon",
    "pools",
    "resources",
    "external",
    "io_manager",
}


@dataclass(frozen=True)
class ProjectConfig:
    """Everything read from the project file. Paths are absolute."""

    root: Path
    config_path: Path
    name: str
    models_dir: Path
    warehouse_path: Path
    threads: int
    vars: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_only: bool = False  # default for --changed-only
    selectors: dict[str, Any] = field(default_factory=dict)  # named selectors: selector:<name>
    check_paths: tuple[str, ...] = ("checks",)  # folders of singular and generic checks
    run_store: str | None = None  # where runs are recorded (TEAL_RUN_STORE wins)
    run_retention: tuple[int, int] = (90, 10_000)  # runs kept: (days, newest runs)
    # days of history the warehouse's state tables keep (None: forever)
    state_retention: int | None = DEFAULT_DAYS
    # settings, extensions and attachments of every DuckDB connection (project, then target)
    duckdb: DuckDBSettings = field(default_factory=DuckDBSettings)
    # jobs, schedules and sensors (compiler/automation.py), read through ``automation``
    parsed_automation: Automation = field(default_factory=Automation)
    # the mistake in their tables, if any: raised by ``automation`` (what the daemon and the
    # job, schedule and sensor commands read), a warning for every other command
    automation_error: ProjectError | None = None
    # pool name -> how many of its models build at once (a model joins one by `pool`)
    pools: dict[str, int] = field(default_factory=dict)
    # resources Python models and checks receive by parameter name (compiler/resources.py)
    resources: dict[str, ResourceDecl] = field(default_factory=dict)
    # a dbt project (dbt_project.yml): what only the dbt front end reads (compiler/dbt/)
    dbt: Any = None
    # where external models go, and their default format (compiler/external.py)
    external: ExternalDefaults = field(default_factory=ExternalDefaults)
    # the I/O manager of Python assets that name none (a target's wins over the project's)
    io_manager: str | None = None
    # which engine runs the target (warehouse/engine.py ENGINES), and Spark's settings
    engine: str = "duckdb"
    spark: SparkSettings | None = None
    # the target chosen with --target (None: the project's default warehouse); recorded
    # with each run, so that `teal retry` builds into the same warehouse
    target: str | None = None

    @property
    def automation(self) -> Automation:
        """The project's jobs, schedules and sensors; the mistake in their tables if they
        have one (every other command runs, warned: :attr:`automation_error`)."""
        if self.automation_error is not None:
            raise self.automation_error
        return self.parsed_automation

    def automation_warnings(self) -> tuple[ProjectError, ...]:
        """The mistake in the jobs, schedules or sensors tables as a warning, for commands
        that run without them (a build runs; the daemon and `teal schedules` refuse)."""
        broken = self.automation_error
        if broken is None:
            return ()
        return (
            ProjectError(
                f"{broken.message} (jobs, schedules and sensors cannot be used until it is fixed)",
                path=broken.path,
                line=broken.line,
                col=broken.col,
                hint=broken.hint,
            ),
        )

    def folder_config(self, rel_folder: str) -> dict[str, Any]:
        """Merged folder defaults for a model in ``rel_folder`` (posix, relative to models/).

        >>> cfg = ProjectConfig(Path("/p"), Path("/p/teal.toml"), "p", Path("/p/models"),
        ...     Path("/p/w.duckdb"), 1, defaults={"materialized": "view", "tags": ["a"]},
        ...     folders={"marts": {"materialized": "table"}, "marts/fin": {"tags": ["b"]}})
        >>> cfg.folder_config("marts/fin")
        {'materialized': 'table', 'tags': ['a', 'b']}
        """
        merged: dict[str, Any] = {}
        merge_config(merged, self.defaults)
        parts = [p for p in rel_folder.split("/") if p and p != "."]
        for i in range(1, len(parts) + 1):
            key = "/".join(parts[:i])
            if key in self.folders:
                merge_config(merged, self.folders[key])
        return merged


def find_project(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding teal.toml or [tool.teal]."""
    here = Path(start or os.getcwd()).resolve()
    if not here.exists():
        raise ProjectError(
            f"project directory {here} does not exist",
            hint="pass --project-dir pointing at a folder with teal.toml",
        )
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / "teal.toml").is_file() or (folder / "dbt_project.yml").is_file():
            return folder
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.teal" in pyproject.read_text(encoding="utf-8"):
            return folder
    raise ProjectError(
        f"no teal project found in {here} or any parent folder",
        hint="create teal.toml (or [tool.teal] in pyproject.toml) in the project root, "
        "run teal in a dbt project (dbt_project.yml), or pass --project-dir",
    )


def _read_toml(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (None, None)
        lines = text.splitlines()
        src = lines[line - 1] if line and line <= len(lines) else None
        message, hint = toml_problem(str(exc).split(" (at line")[0], src, lines, line)
        raise ProjectError(
            f"invalid TOML: {message}",
            path=path.name,
            line=line,
            col=col,
            source_line=src,
            hint=hint,
        ) from None


TARGET_KEYS = {
    "warehouse": (str, "a path"),
    "threads": (int, "an integer"),
    "duckdb": (dict, "a table of DuckDB settings"),
    "external_root": (str, "a folder or a URL"),
    "io_manager": (str, "the name of an I/O manager"),
    "engine": (str, '"duckdb" or "spark"'),
    "spark": (dict, "a table of Spark settings"),
}
ENGINES = ("duckdb", "spark")
# target keys a Spark target cannot use, and what to write instead
SPARK_IGNORES = {
    "warehouse": 'the Spark warehouse is warehouse_dir = "..." under [targets.<name>.spark] '
    "(docs/spark.md)",
    "duckdb": "Spark settings go in [targets.<name>.spark.conf] (docs/spark.md)",
}


def _check_targets(targets: dict[str, Any], config_path: Path) -> None:
    """Every ``[targets.<name>]`` is a table of known keys with values of the right type."""
    for name, spec in targets.items():
        if not isinstance(spec, dict):
            raise ProjectError(
                f"targets.{name} must be a table",
                path=config_path.name,
                line=key_line(config_path, name),
                hint=f'write [targets.{name}] with warehouse = "..."',
            )
        for key, value in spec.items():
            if key not in TARGET_KEYS:
                raise ProjectError(
                    f"unknown key '{key}' in targets.{name}",
                    path=config_path.name,
                    line=key_line(config_path, key),
                    hint=did_you_mean(key, TARGET_KEYS)
                    or "a target sets: " + ", ".join(sorted(TARGET_KEYS)),
                )
            kind, what = TARGET_KEYS[key]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ProjectError(
                    f"targets.{name}.{key} must be {what}, got {value!r}",
                    path=config_path.name,
                    line=key_line(config_path, key),
                )
        engine = spec.get("engine", "duckdb")
        if engine not in ENGINES:
            raise ProjectError(
                f"targets.{name}.engine must be one of {', '.join(ENGINES)}, got {engine!r}",
                path=config_path.name,
                line=key_line(config_path, "engine"),
                hint=did_you_mean(str(engine), ENGINES),
            )
        if "spark" in spec and engine != "spark":
            raise ProjectError(
                f"targets.{name} has Spark settings but runs on {engine}",
                path=config_path.name,
                line=key_line(config_path, "spark"),
                hint=f'add engine = "spark" to [targets.{name}]',
            )
        # what only a DuckDB warehouse reads: on Spark it would be ignored without a word
        for key, instead in SPARK_IGNORES.items():
            if key in spec and engine == "spark":
                raise ProjectError(
                    f"targets.{name}.{key} does not apply to a Spark target",
                    path=config_path.name,
                    line=table_line(config_path, f"targets.{name}.{key}")
                    or table_line(config_path, f"targets.{name}", key)
                    or key_line(config_path, key),
                    hint=instead.replace("<name>", name),
                )


def _pools(raw: dict[str, Any], config_path: Path) -> dict[str, int]:
    for name, size in raw.items():
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ProjectError(
                f"pool '{name}' must allow a whole number of models at once (1 or more), "
                f"got {size!r}",
                path=config_path.name,
                line=key_line(config_path, name),
                hint="[tool.teal.pools] heavy = 1",
            )
    return dict(raw)


# what a value of each kind looks like in TOML, for hints
_EXAMPLES = {
    "a string": '"..."',
    "a path": '"path/to/it"',
    "an integer": "4",
    "true or false": "true",
}


def _table_text(path: Path, table: str) -> str | None:
    """The text of TOML table ``[table]`` in ``path`` with every other line blanked, so that
    a key found in it has its line and column in the file (None: no such header, or the
    table is written inline)."""
    parts = [p.strip('"') for p in re.findall(r'"[^"]*"|[^.]+', table)]
    header = re.compile(  # in pyproject.toml, under [tool.teal.]
        r"\s*\[\s*(tool\s*\.\s*teal\s*\.\s*)?"
        + r"\s*\.\s*".join(rf'"?{re.escape(p)}"?' for p in parts)
        + r"\s*\]\s*(#.*)?$"
    )
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    start = next((i for i, text in enumerate(lines) if header.match(text)), None)
    if start is None:
        return None
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    return "\n".join(text if start < i < end else "" for i, text in enumerate(lines))


def _subtable_line(path: Path, table: str, key: str, inner: str) -> int | None:
    """The line of ``inner`` in the sub-table ``[<table>.<key>]`` of ``path``."""
    return table_line(path, f"{table}.{key}", inner)


def load_config(
    project_dir: str | Path | None = None,
    *,
    target: str | None = None,
    warehouse: str | Path | None = None,
    vars: dict[str, Any] | None = None,
    threads: int | None = None,
    profiles_dir: str | Path | None = None,
) -> ProjectConfig:
    """Find and read the project configuration; CLI overrides win over the file. A folder
    with dbt_project.yml and no teal.toml is a dbt project (compiler/dbt/settings.py)."""
    root = find_project(project_dir)
    config_path = root / "teal.toml"
    if not config_path.is_file() and (root / "dbt_project.yml").is_file():
        from teal.compiler.dbt.settings import load_dbt_config

        dbt_config = load_dbt_config(
            root,
            target=target,
            warehouse=warehouse,
            vars=vars,
            threads=threads,
            profiles_dir=profiles_dir,
        )
        return replace(dbt_config, target=target)
    if config_path.is_file():
        data = _read_toml(config_path)
        data = data.get("tool", {}).get("teal", data) if "tool" in data else data
    else:
        config_path = root / "pyproject.toml"
        data = _read_toml(config_path).get("tool", {}).get("teal", {})

    for key in data:
        if key not in PROJECT_KEYS:
            raise ProjectError(
                f"unknown project setting '{key}'",
                path=config_path.name,
                line=key_line(config_path, key),
                hint=did_you_mean(key, PROJECT_KEYS) or "known: " + ", ".join(sorted(PROJECT_KEYS)),
            )

    def expect(key: str, kind: type | tuple[type, ...], what: str) -> Any:
        value = data.get(key)
        if value is not None and not isinstance(value, kind):
            line = key_line(config_path, key)
            text = line_text(config_path, line)
            raise ProjectError(
                f"project setting '{key}' must be {what}, got {value!r}",
                path=config_path.name,
                line=line,
                col=text.index(key) + 1 if text is not None and key in text else None,
                source_line=text,
                hint=f"write {key} = {_EXAMPLES[what]}"
                if what in _EXAMPLES
                else "docs/projects.md describes every project setting",
            )
        return value

    name = expect("name", str, "a string") or root.name
    models_dir = root / (expect("models", str, "a path") or "models")
    if not models_dir.is_dir():
        raise ProjectError(
            f"models folder {models_dir} does not exist",
            path=config_path.name,
            line=key_line(config_path, "models"),
            hint='create it or set `models = "..."` in the project config',
        )
    wh = expect("warehouse", str, "a path") or "warehouse.duckdb"
    targets = expect("targets", dict, "a table of named targets") or {}
    _check_targets(targets, config_path)
    if target is not None:
        if target not in targets:
            raise ProjectError(
                f"unknown target '{target}'",
                path=config_path.name,
                hint=did_you_mean(target, targets)
                or (
                    "known targets: " + ", ".join(sorted(targets))
                    if targets
                    else 'declare [targets.<name>] with warehouse = "..."'
                ),
            )
        wh = targets[target].get("warehouse", wh)
    if warehouse is not None:
        wh = str(warehouse)
    warehouse_path = Path(wh) if wh == ":memory:" else (root / wh).resolve()
    engine = str(targets[target].get("engine", "duckdb")) if target is not None else "duckdb"
    spark = None
    if engine == "spark" and target is not None:
        if warehouse is not None:
            raise ProjectError(
                f"--warehouse does not apply to target '{target}', which runs on Spark",
                path="--warehouse",
                hint=SPARK_IGNORES["warehouse"].replace("<name>", target),
            )
        spark = parse_spark_settings(
            targets[target].get("spark", {}),
            root,
            f"targets.{target}.spark",
            config_path.name,
            lambda key: key_line(config_path, key),
        )
        # what stands for the warehouse file: its identity changes with every build
        warehouse_path = spark.stamp

    cfg_threads = expect("threads", int, "an integer")
    threads_at = key_line(config_path, "threads")
    if target is not None and "threads" in targets[target]:
        cfg_threads = targets[target]["threads"]
        threads_at = table_line(config_path, f"targets.{target}", "threads")
    if cfg_threads is not None and (isinstance(cfg_threads, bool) or cfg_threads < 1):
        # 0 is not "unset": it would have meant every core, silently
        raise ProjectError(
            f"threads must be at least 1, got {cfg_threads!r}",
            path=config_path.name,
            line=threads_at,
            hint="leave threads out to use every core, or set threads = 4",
        )
    n_threads = threads or cfg_threads or os.cpu_count() or 1

    merged_vars = dict(expect("vars", dict, "a table") or {})
    merged_vars.update(vars or {})

    defaults = dict(expect("defaults", dict, "a table of model config") or {})
    validate_model_config(
        defaults,
        path=config_path.name,
        line=key_line(config_path, "defaults"),
        source_text=_table_text(config_path, "defaults"),
        subtable_line=partial(_subtable_line, config_path, "defaults"),
    )
    folders_raw = expect("folders", dict, "a table of folder configs") or {}
    folders: dict[str, dict[str, Any]] = {}
    for folder, conf in folders_raw.items():
        if not isinstance(conf, dict):
            raise ProjectError(
                f"folders.{folder} must be a table of model config",
                path=config_path.name,
                line=key_line(config_path, folder),
            )
        validate_model_config(
            conf,
            path=config_path.name,
            line=key_line(config_path, folder),
            source_text=_table_text(config_path, f"folders.{folder}"),
            subtable_line=partial(_subtable_line, config_path, f"folders.{folder}"),
        )
        folders[folder.strip("/")] = conf

    sources = expect("sources", dict, "a table of sources") or {}
    changed_only = bool(expect("changed_only", bool, "true or false"))
    selectors = NamedSelectors(
        expect("selectors", dict, "a table of named selectors") or {}, config_path
    )
    check_paths = tuple(expect("check_paths", list, "a list of folders") or ["checks"])
    run_store = expect("run_store", str, 'a path or URL such as "postgresql://host/db"')
    if run_store and (
        bad := unknown_store_url(run_store, config_path.name, key_line(config_path, "run_store"))
    ):
        raise bad
    retention = expect("run_retention", dict, "a table such as {days = 90, runs = 10000}") or {}
    unknown = set(retention) - {"days", "runs"}
    days, kept = retention.get("days", 90), retention.get("runs", 10_000)
    if unknown or not all(isinstance(v, int) and v > 0 for v in (days, kept)):
        raise ProjectError(
            "run_retention takes positive whole numbers of days and runs"
            + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else ""),
            path=config_path.name,
            line=key_line(config_path, "run_retention"),
            hint="run_retention = { days = 90, runs = 10000 }",
        )
    for sel_name, spec in selectors.items():
        if not isinstance(spec, (str, list, dict)) or (
            isinstance(spec, dict) and set(spec) - {"select", "exclude", "description"}
        ):
            raise ProjectError(
                f"selector '{sel_name}' must be an expression, a list of them, or a table with "
                "select/exclude",
                path=config_path.name,
                line=key_line(config_path, sel_name),
                hint=f'{sel_name} = "marts+ tag:finance"',
            )
    automation, automation_error = Automation(), None
    try:
        automation = parse_automation(data, config_path, key_line)
    except ProjectError as error:  # one broken schedule must not stop builds and launches
        automation_error = error
    return ProjectConfig(
        root=root,
        config_path=config_path,
        name=name,
        models_dir=models_dir.resolve(),
        warehouse_path=warehouse_path,
        threads=n_threads,
        vars=merged_vars,
        defaults=defaults,
        folders=folders,
        sources=sources,
        changed_only=changed_only,
        selectors=selectors,
        check_paths=check_paths,
        run_store=run_store,
        run_retention=(days, kept),
        state_retention=parse_state_retention(data.get(STATE_RETENTION), config_path),
        parsed_automation=automation,
        automation_error=automation_error,
        external=parse_external_defaults(
            data.get("external"),
            targets[target].get("external_root") if target is not None else None,
            root,
            config_path.name,
            config_path,
        ),
        io_manager=check_io_manager(
            (targets[target].get("io_manager") if target is not None else None)
            or expect("io_manager", str, "the name of an I/O manager"),
            resources := parse_resources(data.get("resources"), config_path, key_line),
            config_path,
            f"targets.{target}" if target is not None else None,
        ),
        pools=_pools(expect("pools", dict, "a table of pool sizes") or {}, config_path),
        resources=resources,
        engine=engine,
        spark=spark,
        target=target,
        duckdb=parse_duckdb_settings(
            [("duckdb", expect("duckdb", dict, "a table of DuckDB settings") or {})]
            + (
                [(f"targets.{target}.duckdb", targets[target]["duckdb"])]
                if target is not None and "duckdb" in targets[target]
                else []
            ),
            root,
            config_path.name,
        ),
    )


def parse_vars(value: str | None, path: str = "--vars") -> dict[str, Any] | None:
    """Vars written as YAML or JSON (``--vars '{currency: USD}'``, the UI's vars box):
    a mapping of names to values, None when empty; a mistake is an error at ``path``
    (with its line when the text has several)."""
    if not value or not value.strip():
        return None
    import yaml

    lines = value.splitlines() or [value]
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        row = min(mark.line, len(lines) - 1) if mark else 0
        raise ProjectError(
            f"not valid YAML/JSON: {problem}",
            path=path,
            line=row + 1 if len(lines) > 1 else None,
            col=mark.column + 1 if mark else None,
            source_line=lines[row],
            hint=f"write {path} '{{key: value, other: 2}}'"
            if path.startswith("--")
            else "write {key: value, other: 2}",
        ) from None
    if not isinstance(parsed, dict):
        raise ProjectError(
            f"must be a mapping of names to values, got {type(parsed).__name__}",
            path=path,
            line=1 if len(lines) > 1 else None,
            source_line=lines[0],
            col=1,
            hint=f"write {path} '{{key: value}}'"
            if path.startswith("--")
            else "write {key: value}",
        )
    return {str(k): v for k, v in parsed.items()}
