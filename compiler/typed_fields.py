"""Classes of typed, validated fields: the base of ``teal.Resource`` and ``teal.Config``.

A subclass declares fields as annotated class attributes, with defaults where it has them,
as a dataclass or Dagster's ``Config`` would::

    class Api(TypedFields):
        url: str
        timeout: float = 10.0

``Api(url="https://x")`` checks each value against its annotation (and converts the few
that have one obvious reading: an ISO date string for a ``date``, a number or numeric text
for a ``Decimal``, a list for a ``tuple``, a mapping for a nested class); a value of the
wrong type, a missing field or an unknown one is a :class:`FieldError` naming the field.
Instances are read-only (fields cannot be assigned; names starting with ``_`` can, for a
resource's own client objects).

No pydantic: the shapes a run config takes are few, and teal's core keeps its dependencies.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import types
import typing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar

from teal.compiler.errors import did_you_mean


class FieldError(Exception):
    """A value that does not fit its field: ``field`` is the dotted path to it."""

    def __init__(
        self, field: str, message: str, hint: str | None = None, unknown: bool = False
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.hint = hint
        self.unknown = unknown  # no such field: the mistake is the key, not its value


_MISSING: Any = object()


@dataclass(frozen=True)
class EnvVar:
    """A value taken from the environment variable ``name`` when a run starts.

    >>> EnvVar("API_TOKEN")
    EnvVar('API_TOKEN')
    """

    name: str

    def __repr__(self) -> str:
        return f"EnvVar({self.name!r})"


class TypedFields:
    """Annotated class attributes become validated, read-only fields (see the module)."""

    # EnvVar values are kept unresolved (resources: resolved when a run opens them)
    _allows_env: ClassVar[bool] = False

    def __init__(self, **values: Any) -> None:
        fields = field_types(type(self))
        for name in values:
            if name not in fields:
                raise FieldError(
                    name,
                    f"{type(self).__name__} has no field '{name}'",
                    did_you_mean(name, fields)
                    or ("fields: " + ", ".join(fields) if fields else "it takes no fields"),
                    unknown=True,
                )
        for name, annotation in fields.items():
            if name in values:
                value = values[name]
            else:
                value = getattr(type(self), name, _MISSING)
                if value is _MISSING:
                    raise FieldError(
                        name,
                        f"{type(self).__name__} needs a value for '{name}'",
                        f"give {name}: {type_name(annotation)}",
                    )
                value = copy.deepcopy(value)
            object.__setattr__(self, name, coerce(value, annotation, name, self._allows_env))

    def __setattr__(self, name: str, value: object) -> None:
        if name in field_types(type(self)):
            raise AttributeError(f"{type(self).__name__}.{name} is read-only")
        object.__setattr__(self, name, value)

    def field_values(self) -> dict[str, Any]:
        """The fields' values, by name, in declaration order."""
        return {name: getattr(self, name) for name in field_types(type(self))}

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON values (an EnvVar as its ``repr``: never its value)."""
        return {name: _json_value(self, name) for name in field_types(type(self))}

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.to_json().items())
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.field_values() == other.field_values()

    def __hash__(self) -> int:
        return hash((type(self), repr(self)))


def _json_value(owner: TypedFields, name: str) -> Any:
    hidden = getattr(owner, "_env_fields", {})
    if name in hidden:
        return repr(hidden[name])
    return to_json(getattr(owner, name))


def to_json(value: Any) -> Any:
    """A field value as JSON (dates as ISO text, decimals as text, nested fields as maps)."""
    if isinstance(value, TypedFields):
        return value.to_json()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal | Path):
        return str(value)
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)  # an EnvVar, or an object a field of type Any holds


def field_types(cls: type) -> dict[str, Any]:
    """The fields of ``cls`` and its bases: name -> annotation (ClassVars and private
    names are not fields)."""
    cached = cls.__dict__.get("__teal_fields__")
    if cached is not None:
        return dict(cached)
    hints = typing.get_type_hints(cls, include_extras=False)
    found = {
        name: tp
        for name, tp in hints.items()
        if not name.startswith("_") and typing.get_origin(tp) is not ClassVar and tp is not ClassVar
    }
    type.__setattr__(cls, "__teal_fields__", found)
    return dict(found)


def type_name(tp: Any) -> str:
    """How an annotation is written, for messages: ``list[int]``, ``str | None``."""
    if tp is type(None):
        return "None"
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(tp))
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("NoneType", "None")


def coerce(value: Any, tp: Any, where: str, allow_env: bool = False) -> Any:
    """``value`` as a value of annotation ``tp`` (a :class:`FieldError` if it is not)."""
    if isinstance(value, EnvVar):
        if allow_env and _env_capable(tp):
            return value
        raise FieldError(
            where,
            f"{value!r} can only give a resource's text, number or boolean field",
            "read the variable in a teal.Resource field, or pass the value itself",
        )
    if tp is Any or tp is object:
        return value
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        for arm in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arm, where, allow_env)
            except FieldError:
                continue
        raise _mismatch(where, tp, value)
    if origin is typing.Literal:
        if value in args:
            return value
        raise FieldError(where, f"must be one of {', '.join(map(repr, args))}, got {value!r}")
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple):
        if not isinstance(value, list | tuple):
            raise _mismatch(where, tp, value)
        if origin is tuple and args and args[-1] is not Ellipsis:  # tuple[int, str]: each its own
            if len(value) != len(args):
                raise FieldError(where, f"must have {len(args)} items, got {len(value)}")
            return tuple(
                coerce(v, a, f"{where}[{i}]", allow_env)
                for i, (v, a) in enumerate(zip(value, args))
            )
        arm = args[0] if args else Any
        items = [coerce(v, arm, f"{where}[{i}]", allow_env) for i, v in enumerate(value)]
        return tuple(items) if (origin or tp) is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise _mismatch(where, tp, value)
        arm = args[1] if len(args) == 2 else Any
        return {k: coerce(v, arm, f"{where}.{k}", allow_env) for k, v in value.items()}
    if isinstance(tp, type):
        return _coerce_class(value, tp, where)
    return value  # an annotation teal does not read (a TypeVar, a Protocol): taken as is


def _coerce_class(value: Any, tp: type, where: str) -> Any:
    if issubclass(tp, TypedFields):
        if isinstance(value, tp):
            return value
        if isinstance(value, dict):
            try:
                return tp(**value)
            except FieldError as exc:
                raise FieldError(f"{where}.{exc.field}", exc.message, exc.hint) from None
        raise _mismatch(where, tp, value)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is Decimal:
        if isinstance(value, int | str | float | Decimal) and not isinstance(value, bool):
            try:
                return Decimal(str(value))
            except InvalidOperation:
                pass
    elif tp is dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                pass
    elif tp is dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
    elif tp is Path:
        if isinstance(value, str | Path):
            return Path(value)
    elif issubclass(tp, enum.Enum):
        for member in tp:
            if value in (member, member.value, member.name):
                return member
        raise FieldError(
            where,
            f"must be one of {', '.join(repr(m.value) for m in tp)}, got {value!r}",
        )
    elif isinstance(value, tp):
        return value
    raise _mismatch(where, tp, value)


def _mismatch(where: str, tp: Any, value: Any) -> FieldError:
    return FieldError(where, f"expected {type_name(tp)}, got {value!r}")


def _env_capable(tp: Any) -> bool:
    """Whether a field of this annotation can take its value from an environment variable."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return all(_env_capable(a) for a in typing.get_args(tp) if a is not type(None))
    return tp in (str, int, float, bool, Decimal, Any)


def from_text(text: str, tp: Any, where: str) -> Any:
    """An environment variable's text as a value of a field of annotation ``tp``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    try:
        if tp is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        if tp is int:
            return int(text)
        if tp is float:
            return float(text)
        if tp is Decimal:
            return Decimal(text)
    except (ValueError, InvalidOperation):
        # the text is not shown: it may be a secret
        raise FieldError(
            where, f"the environment variable's value is not of type {type_name(tp)}"
        ) from None
    return text
