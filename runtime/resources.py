"""Opening a run's resources: their classes imported, ``EnvVar`` fields read from the
environment and the project's ``.env``, ``setup()`` before the run and ``teardown()``
after it; and the :class:`Redactor` that keeps every secret so read out of what teal
writes (the run store, logs, errors, output).

Only the resources the run's Python models and checks name are opened: a project whose
selection uses none pays nothing. A missing variable is an error naming it, raised before
any data changes (exit 2).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teal.compiler.config import ProjectConfig
from teal.compiler.environment import DOTENV, parse_dotenv_line, read_dotenv  # noqa: F401
from teal.compiler.environment import environment as project_environment
from teal.compiler.errors import ExecutionError, ProjectError, did_you_mean
from teal.compiler.fresh_imports import forget_edited
from teal.compiler.resources import (
    RESOURCES_ATTR,
    RESOURCES_FILE,
    EnvVar,
    Resource,
    ResourceDecl,
)
from teal.compiler.typed_fields import FieldError, field_types, from_text, type_name
from teal.runtime.context import user_frames

# secrets shorter than this are not searched for in text: replacing every "ab" would mangle
# messages, and so short a value protects nothing
MIN_SECRET = 4


@dataclass
class Redactor:
    """Replaces the value of every secret read for a run by ``EnvVar('NAME')``."""

    secrets: dict[str, str] = field(default_factory=dict)  # value -> variable name

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def __call__(self, text: str) -> str:
        for value in sorted(self.secrets, key=len, reverse=True):
            if value in text:
                text = text.replace(value, repr(EnvVar(self.secrets[value])))
        return text

    def add(self, name: str, value: str) -> None:
        if len(value) >= MIN_SECRET:
            self.secrets[value] = name


@dataclass
class OpenResources:
    """The resources of one run, by name, set up; :meth:`close` tears them down."""

    instances: dict[str, Any] = field(default_factory=dict)
    redact: Redactor = field(default_factory=Redactor)
    _set_up: list[Any] = field(default_factory=list)
    # name -> where it is declared (file, line), for messages
    declared_in: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    root: Path | None = None  # the project folder: its frames are shown when setup raises

    def set_up(self) -> None:
        """Set up each teal.Resource not set up yet (``setup()``); one that raises is a
        :class:`ResourceSetupError` (the run fails; what was set up is torn down)."""
        done = {id(r) for r in self._set_up}
        for name, instance in self.instances.items():
            if not isinstance(instance, Resource) or id(instance) in done:
                continue
            try:
                instance.setup()
            except Exception as exc:  # noqa: BLE001 - the user's setup raised; nothing ran yet
                self.close()
                message = (
                    f"setup of resource '{name}' ({type(instance).__name__}) raised "
                    f"{type(exc).__name__}: {exc}"
                )
                # where in the project's code it raised, as a failing asset shows it
                frames = user_frames(exc, self.root) if self.root is not None else ""
                path, line = self.declared_in.get(name, (None, None))
                raise ResourceSetupError(
                    self.redact(message + (f"\n{frames}" if frames else "")),
                    path=path,
                    line=line,
                ) from None
            self._set_up.append(instance)

    def close(self) -> None:
        """Tear down what was set up, last first; a teardown that raises is logged (the
        run's outcome stands)."""
        while self._set_up:
            resource = self._set_up.pop()
            try:
                resource.teardown()
            except Exception as exc:  # noqa: BLE001 - reported, and the others still run
                logging.getLogger("teal").warning(
                    "%s", self.redact(f"teardown of {type(resource).__name__} raised: {exc}")
                )

    def recorded(self) -> dict[str, Any]:
        """What the run store keeps of them: each resource's fields, EnvVars as names."""
        return {
            name: r.to_json() if isinstance(r, Resource) else type(r).__name__
            for name, r in sorted(self.instances.items())
        }


class ResourceSetupError(ExecutionError):
    """A resource's ``setup()`` raised (an API down, a bad credential): the run fails as
    a run (recorded, exit 1, retried by ``teal retry``), not as a mistake in the project."""


def environment(cfg: ProjectConfig) -> dict[str, str]:
    """The variables EnvVars read: the project's ``.env``, then the process environment."""
    return project_environment(cfg.root)


def open_resources(
    cfg: ProjectConfig,
    names: set[str],
    *,
    given: Mapping[str, Any] | None = None,
    set_up: bool = True,
) -> OpenResources:
    """Build, resolve and (``set_up``) set up the resources ``names`` (``given``
    instances, from the API or a test, win over the project's declarations)."""
    given = dict(given or {})
    declared = cfg.resources
    env: dict[str, str] | None = None
    opened = OpenResources(root=cfg.root)
    module: Any = None
    try:
        for name in sorted(names):
            if name in given:
                instance, where = given[name], None
            elif name in declared:
                decl = declared[name]
                where = decl
                if decl.class_ref is not None:
                    instance = _from_config(cfg, decl)
                else:
                    module = module or _import_resources_file(cfg)
                    instance = _from_python(module, decl)
            else:
                raise ProjectError(
                    f"no resource named '{name}'",
                    path=cfg.config_path.name,
                    hint=did_you_mean(name, [*declared, *given])
                    or f"declare it under [tool.teal.resources.{name}] or in {RESOURCES_FILE}",
                )
            if isinstance(instance, Resource):
                if env is None:
                    env = environment(cfg)
                instance = _resolved(instance, name, env, opened.redact, where)
            opened.instances[name] = instance
            if where is not None:
                opened.declared_in[name] = (where.path, where.line)
        if set_up:
            opened.set_up()
    except BaseException:
        opened.close()
        raise
    return opened


def check_resources(cfg: ProjectConfig) -> None:
    """Build every declared resource without setting it up or reading its environment
    variables (``teal validate``): a class that is not there, or a field of the wrong
    type, is the located error a run would meet."""
    module: Any = None
    for decl in cfg.resources.values():
        if decl.class_ref is not None:
            _from_config(cfg, decl)
        else:
            module = module or _import_resources_file(cfg)
            _from_python(module, decl)


def _resolved(
    resource: Resource,
    name: str,
    env: Mapping[str, str],
    redact: Redactor,
    where: ResourceDecl | None,
) -> Resource:
    """A copy of ``resource`` with its EnvVar fields read (their values become secrets)."""
    types = field_types(type(resource))
    env_fields = {k: v for k, v in resource.field_values().items() if isinstance(v, EnvVar)}
    if not env_fields:
        return resource
    copy = object.__new__(type(resource))
    object.__setattr__(copy, "__dict__", dict(resource.__dict__))
    for field_name, var in env_fields.items():
        if var.name not in env:
            raise ProjectError(
                f"environment variable {var.name} is not set (resource '{name}', field "
                f"'{field_name}')",
                path=where.path if where else None,
                line=where.field_line(field_name) if where else None,
                hint=f"export {var.name}=... or add it to {DOTENV} in the project folder",
            )
        text = env[var.name]
        try:
            value = from_text(text, types[field_name], field_name)
        except FieldError as exc:
            raise ProjectError(
                f"environment variable {var.name} (resource '{name}'): {exc.message}",
                path=where.path if where else None,
                line=where.field_line(field_name) if where else None,
            ) from None
        redact.add(var.name, text)
        object.__setattr__(copy, field_name, value)
    object.__setattr__(copy, "_env_fields", env_fields)
    return copy


def _from_config(cfg: ProjectConfig, decl: ResourceDecl) -> Any:
    assert decl.class_ref is not None
    ref, _, attr = decl.class_ref.partition(":")
    problem = None
    hint = 'class = "resources.py:ApiResource" (a teal.Resource subclass)'
    cls: Any = None
    module: Any = None
    if not attr:
        problem = "must be written module:ClassName or file.py:ClassName"
    elif ref.endswith(".py"):
        from teal.compiler.pyfiles import import_file

        path = cfg.root / ref
        if not path.is_file():
            problem = f"names {ref}, which is not a file in the project folder"
        else:
            forget_edited(cfg.root)  # its helpers edited since they ran run again
            module = import_file(path, f"teal_project.{path.stem}", ref, cfg.root)
    else:
        try:
            module = importlib.import_module(ref)
        except ImportError as exc:
            problem = f"cannot be imported: {exc}"
    if module is not None:
        cls = getattr(module, attr, None)
        if cls is None:
            problem = f"'{decl.class_ref}': {ref} has no '{attr}'"
            classes = [
                n
                for n, v in vars(module).items()
                if isinstance(v, type) and issubclass(v, Resource)
            ]
            hint = did_you_mean(attr, classes) or (
                f"its teal.Resource classes: {', '.join(sorted(classes))}"
                if classes
                else f"{ref} defines no teal.Resource class"
            )
    if problem is None and not (isinstance(cls, type) and issubclass(cls, Resource)):
        problem = f"'{decl.class_ref}' is not a teal.Resource class"
    if problem is not None:
        raise ProjectError(
            f"resource '{decl.name}': class {problem}",
            path=decl.path,
            line=decl.field_line("class"),
            hint=hint,
        )
    try:
        return cls(**decl.values)
    except FieldError as exc:
        raise ProjectError(
            f"resource '{decl.name}', field '{exc.field}': {exc.message}",
            path=decl.path,
            line=decl.field_line(exc.field.split(".")[0].split("[")[0]),
            hint=exc.hint
            or "fields: " + ", ".join(f"{k}: {type_name(v)}" for k, v in field_types(cls).items()),
        ) from None


def _import_resources_file(cfg: ProjectConfig) -> Any:
    from teal.compiler.pyfiles import import_file

    forget_edited(cfg.root)  # its helpers edited since they ran run again
    return import_file(
        cfg.root / RESOURCES_FILE, "teal_project.resources", RESOURCES_FILE, cfg.root
    )


def _from_python(module: Any, decl: ResourceDecl) -> Any:
    table = getattr(module, RESOURCES_ATTR, None)
    if not isinstance(table, dict) or decl.name not in table:
        raise ProjectError(
            f"{RESOURCES_FILE} did not define resource '{decl.name}'",
            path=decl.path,
            line=decl.line,
        )
    return table[decl.name]
