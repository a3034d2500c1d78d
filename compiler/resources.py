"""Resources and run config as a project declares them (what Dagster users write).

- :class:`Resource`: a class of typed fields (``teal.Resource``, like Dagster's
  ``ConfigurableResource``) whose instances Python models and checks receive by parameter
  name. ``setup()`` runs once per run before the first model that uses it, ``teardown()``
  after the run.
- :class:`EnvVar`: a field value read from the environment (or the project's ``.env``)
  when a run opens the resource; never written anywhere (shown as ``EnvVar('NAME')``).
- :class:`Config`: a class of typed fields a Python model takes as run config (a parameter
  annotated with it); values come from ``--config``, ``--config-json`` or the API.

Resources are declared in the project config::

    [tool.teal.resources.weather]
    class = "project_resources:WeatherApi"   # module:Class (importable from the project root)
    base_url = "https://api.example.com"
    api_key = { env = "WEATHER_API_KEY" }

or in ``resources.py`` at the project root, as a module-level dict of instances::

    resources = {"weather": WeatherApi(base_url="...", api_key=teal.EnvVar("WEATHER_API_KEY"))}

The compiler reads only the names (the dict's keys, from the file's syntax tree, without
running it), to tell a resource parameter from an upstream model; the runtime
(``runtime/resources.py``) imports and opens them for a run.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teal.compiler.errors import ProjectError
from teal.compiler.pyfiles import syntax_hint
from teal.compiler.toml_lines import table_line
from teal.compiler.typed_fields import EnvVar, TypedFields

__all__ = ["Config", "EnvVar", "IOManager", "Resource", "ResourceDecl"]

RESOURCES_FILE = "resources.py"  # at the project root
RESOURCES_ATTR = "resources"


class Resource(TypedFields):
    """Base of a resource: annotated fields (``EnvVar`` allowed for text, number and boolean
    fields), injected into the Python models and checks whose parameter has its name.

    >>> class Api(Resource):
    ...     url: str
    ...     token: str
    >>> Api(url="https://example.com", token=EnvVar("TOKEN"))
    Api(url='https://example.com', token="EnvVar('TOKEN')")
    """

    _allows_env = True

    def setup(self) -> None:
        """Called once per run, before the first model that uses it (open clients here)."""

    def teardown(self) -> None:
        """Called once after the run, whether it succeeded or not."""


class IOManager(Resource):
    """Base of an I/O manager: a resource that saves a Python asset's data and loads it
    back for the Python models and checks that read it (Dagster's I/O managers, Kedro's
    datasets). Declare one like any resource and name it in ``io_manager=``::

        class NpzStore(teal.IOManager):
            root: str

            def save(self, context, data):      # data: a pyarrow.Table
                ...
            def load(self, context):            # Arrow, Polars or pandas
                ...

    ``context`` is a ``teal.IOContext``: the asset, its relation, the run, and the
    partition keys saved or wanted. teal runs the asset's checks on the rows before
    ``save`` (a failing error check means ``save`` is not called), and records the save in
    the warehouse's state in the same transaction. ``save`` should replace what it held
    atomically (write a temporary file, then rename it). SQL models can read the asset
    when :meth:`relation` gives a table expression DuckDB reads it with (a view is
    registered over it); otherwise only Python models and checks can.
    """

    def save(self, context: Any, data: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define save(context, data)")

    def load(self, context: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define load(context)")

    def relation(self, context: Any) -> str | None:
        """How DuckDB reads what :meth:`save` kept (``read_parquet('/path/*.parquet')``),
        or None (the default): SQL models cannot read the asset."""
        return None


class Config(TypedFields):
    """Base of a Python model's run config: annotated fields with optional defaults.

    >>> class Window(Config):
    ...     days: int = 7
    >>> Window().days, Window(days=3).days
    (7, 3)
    """


@dataclass(frozen=True)
class ResourceDecl:
    """A resource the project declares: in the project config (``class_ref`` and field
    ``values``) or in ``resources.py`` (``class_ref`` None: the file builds the instance)."""

    name: str
    path: str  # the file that declares it, as shown in messages
    line: int | None
    class_ref: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    field_lines: dict[str, int] = field(default_factory=dict)  # each field's line, if known

    def field_line(self, name: str) -> int | None:
        """The line of field ``name``, else of the resource's declaration."""
        return self.field_lines.get(name, self.line)


def parse_resources(
    raw: object,
    config_path: Path,
    key_line: Callable[[Path, str], int | None],
) -> dict[str, ResourceDecl]:
    """The ``[resources.NAME]`` tables of the project config, and the names ``resources.py``
    declares; an entry without ``class`` or a name declared twice is an error."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ProjectError(
            "project setting 'resources' must be a table of resources",
            path=config_path.name,
            line=key_line(config_path, "resources"),
            hint='[tool.teal.resources.api] class = "module:ApiResource"',
        )
    found: dict[str, ResourceDecl] = {}
    for name, table in raw.items():
        line = table_line(config_path, f"resources.{name}") or key_line(config_path, name)
        if not isinstance(table, dict) or not isinstance(table.get("class"), str):
            raise ProjectError(
                f"resource '{name}' needs a class: the teal.Resource subclass to build",
                path=config_path.name,
                line=line,
                hint=f'[tool.teal.resources.{name}] class = "module:ClassName"',
            )
        values = {k: _env_value(v) for k, v in table.items() if k != "class"}
        fields = {k: table_line(config_path, f"resources.{name}", k) for k in table}
        found[name] = ResourceDecl(
            name,
            config_path.name,
            line,
            table["class"],
            values,
            {k: at for k, at in fields.items() if at is not None and at != line},
        )
    python_file = config_path.parent / RESOURCES_FILE
    for name, line in python_resource_names(python_file).items():
        if name in found:
            raise ProjectError(
                f"resource '{name}' is declared twice: in {RESOURCES_FILE} and in "
                f"{config_path.name}",
                path=RESOURCES_FILE,
                line=line,
                hint="keep one of them",
            )
        found[name] = ResourceDecl(name, RESOURCES_FILE, line)
    return found


def _env_value(value: Any) -> Any:
    """``{env = "NAME"}`` in the config file is an :class:`EnvVar`."""
    if isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str):
        return EnvVar(value["env"])
    if isinstance(value, dict):
        return {k: _env_value(v) for k, v in value.items()}
    return value


def python_resource_names(path: Path) -> dict[str, int]:
    """The keys of ``resources = {...}`` in ``resources.py`` (name -> line), read from its
    syntax tree; a file that builds the dict another way is an error (the names decide how
    parameters are passed, before anything is imported)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ProjectError(f"cannot read {path.name}: {exc}", path=path.name) from None
    try:
        tree = ast.parse(text, filename=path.name)
    except SyntaxError as exc:
        raise ProjectError(
            f"syntax error: {exc.msg}",
            path=path.name,
            line=exc.lineno,
            col=exc.offset,
            hint=syntax_hint(path.name),
        ) from None
    for node in tree.body:
        value: ast.expr | None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == RESOURCES_ATTR for t in targets):
            continue
        if not isinstance(value, ast.Dict) or not all(
            isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys
        ):
            raise ProjectError(
                f"{RESOURCES_ATTR} must be a dict written out with text keys",
                path=path.name,
                line=node.lineno,
                col=node.col_offset + 1,
                hint='resources = {"api": ApiResource(token=teal.EnvVar("API_TOKEN"))}',
            )
        return {
            k.value: k.lineno
            for k in value.keys
            if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
    return {}


def with_named_resources(definition: Any, names: set[str] | dict[str, Any]) -> Any:
    """``definition`` (an asset or check) with the parameters named like a declared resource
    moved from its upstream parameters to its resource parameters."""
    import dataclasses

    named = tuple(p for p in definition.upstream_params if p in names)
    if not named:
        return definition
    return dataclasses.replace(
        definition,
        upstream_params=tuple(p for p in definition.upstream_params if p not in names),
        resource_params=(*definition.resource_params, *named),
    )
