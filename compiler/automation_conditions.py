"""Automation conditions: a model that says when the daemon builds it by itself, instead of
a schedule or a sensor naming it (Dagster's ``AutomationCondition``).

A model's ``automation_condition`` config is one of::

    eager                                   # never built, or what it reads changed
    on_missing                              # never built
    on_cron('0 6 * * *')                    # once after each tick, its upstreams updated
    on_cron('0 6 * * *', cron_timezone='Europe/Berlin')

written as that text in SQL (``{{ config(automation_condition='eager') }}``), YAML and
``[folders.x]``, where ``{on_cron: "0 6 * * *", timezone: "Europe/Berlin"}`` is read too,
and as ``teal.AutomationCondition.eager()`` (or the text) on a Python asset. This module
only reads and checks the value; what each condition does is runtime/automation_conditions.py
(the daemon's evaluator). The setting says when a model is built, not what it holds: it is
left out of the model's version (compiler/model_config.py).

>>> parse_condition("on_cron('0 6 * * *', cron_timezone='Europe/Berlin')")
AutomationCondition(kind='on_cron', cron='0 6 * * *', timezone='Europe/Berlin')
>>> str(AutomationCondition.on_cron("0 6 * * *"))
"on_cron('0 6 * * *')"
>>> condition_problem("eagr")
"'eagr' is not an automation condition (did you mean 'eager'?)"
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from teal.compiler.errors import did_you_mean

KINDS = ("eager", "on_missing", "on_cron")
# the daemon's evaluator of every model's condition, listed, paused and resumed as a sensor
# (Dagster's is default_automation_condition_sensor)
SENSOR_NAME = "automation_conditions"
EXAMPLE = "eager, on_missing or on_cron('0 6 * * *')"
# the keys of the table form, {on_cron = "0 6 * * *", timezone = "Europe/Berlin"}
TABLE_KEYS = ("on_cron", "timezone", "cron_timezone")


@dataclass(frozen=True)
class AutomationCondition:
    """When the daemon builds a model: ``eager``, ``on_missing`` or ``on_cron`` (with its
    cron and the time zone its ticks are computed in)."""

    kind: str
    cron: str | None = None
    timezone: str = "UTC"

    @staticmethod
    def eager() -> AutomationCondition:
        """Build it when it was never built or what it reads changed, once nothing it reads
        is missing, failed or being built (its latest time partition only)."""
        return AutomationCondition("eager")

    @staticmethod
    def on_missing() -> AutomationCondition:
        """Build it once when it was never built (its latest time partition, or each static
        key), once its upstreams are built; never again because it is stale."""
        return AutomationCondition("on_missing")

    @staticmethod
    def on_cron(cron_schedule: str, cron_timezone: str = "UTC") -> AutomationCondition:
        """Build it once after each tick of ``cron_schedule`` (in ``cron_timezone``), when
        its upstreams have been updated since the tick."""
        return AutomationCondition("on_cron", cron_schedule, cron_timezone)

    def _composed(self, *_: object) -> AutomationCondition:
        raise TypeError(
            "automation conditions do not compose (Dagster's &, | and ~): a model takes one "
            "of eager(), on_missing() or on_cron(...)"
        )

    __and__ = __rand__ = __or__ = __ror__ = __invert__ = _composed

    def __str__(self) -> str:
        """The text a model's config holds, which :func:`parse_condition` reads back."""
        if self.kind != "on_cron":
            return self.kind
        zone = f", cron_timezone={self.timezone!r}" if self.timezone != "UTC" else ""
        return f"on_cron({self.cron!r}{zone})"


class ConditionError(ValueError):
    """What is wrong with a written condition (the config check locates it); ``key``: the
    key of a table the mistake is at, to point at it rather than at the table."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def parse_condition(value: object) -> AutomationCondition:
    """The condition a config value says: text, a mapping ``{on_cron, timezone}`` or an
    :class:`AutomationCondition`; :class:`ConditionError` saying what is wrong otherwise.

    >>> parse_condition({"on_cron": "0 * * * *", "timezone": "Europe/Berlin"}).timezone
    'Europe/Berlin'
    >>> parse_condition(" on_missing "), parse_condition("eager()")
    (AutomationCondition(kind='on_missing', cron=None, timezone='UTC'), AutomationCondition(kind='eager', cron=None, timezone='UTC'))
    """
    if isinstance(value, AutomationCondition):
        found = value
    elif isinstance(value, Mapping):
        found = _from_mapping(value)  # its cron and zone checked, at their keys
    elif isinstance(value, str):
        found = _from_text(value)
    else:
        raise ConditionError(f"an automation condition is {EXAMPLE}, got {value!r}")
    if found.kind not in KINDS:
        raise ConditionError(_unknown(found.kind))
    if found.kind == "on_cron" and not isinstance(value, Mapping):
        _check_cron(found.cron, found.timezone)
    return found


def condition_problem(value: object) -> str | None:
    """What is wrong with ``value`` as an automation condition, or None."""
    mistake = condition_mistake(value)
    return None if mistake is None else str(mistake)


def condition_mistake(value: object) -> ConditionError | None:
    """What is wrong with ``value`` as an automation condition (with the key of a table
    it is at), or None.

    >>> condition_mistake({"on_cron": "0 6 * * *", "cron_timzone": "UTC"}).key
    'cron_timzone'
    """
    try:
        parse_condition(value)
    except ConditionError as exc:
        return exc
    return None


def as_config(value: object) -> object:
    """What a decorator keeps in a model's config: a condition as its text (a config holds
    plain values: it is pickled, hashed and written to the manifest), anything else as it
    is, for the config check to judge where it is located."""
    if isinstance(value, AutomationCondition):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _unknown(name: str) -> str:
    close = did_you_mean(name, KINDS)
    return f"{name!r} is not an automation condition ({close or 'use ' + EXAMPLE})"


def _from_mapping(value: Mapping[object, object]) -> AutomationCondition:
    """``{on_cron: "0 6 * * *", timezone: "Europe/Berlin"}`` (``cron_timezone`` too)."""
    keys = set(value)
    unknown = sorted(str(k) for k in keys - set(TABLE_KEYS))
    if unknown or "on_cron" not in keys:
        what = f"unknown key {unknown[0]!r}" if unknown else "no on_cron key"
        close = did_you_mean(unknown[0], TABLE_KEYS) if unknown else None
        raise ConditionError(
            f"an automation condition table is {{on_cron = '<cron>', timezone = '<zone>'}}: {what}"
            + (f" ({close})" if close else ""),
            unknown[0] if unknown else None,
        )
    zone_key = next((k for k in ("timezone", "cron_timezone") if k in value), None)
    zone = value[zone_key] if zone_key is not None else "UTC"
    cron = value["on_cron"]
    if not isinstance(cron, str) or not isinstance(zone, str):
        raise ConditionError(
            f"on_cron takes a cron and a time zone as text, got {cron!r}",
            "on_cron" if not isinstance(cron, str) else zone_key,
        )
    _check_cron(cron, zone, "on_cron", zone_key)
    return AutomationCondition("on_cron", cron, zone)


def _from_text(text: str) -> AutomationCondition:
    """``eager``, ``on_missing`` (each with or without ``()``) or ``on_cron(...)`` with
    text arguments: read as a Python expression, never evaluated."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ConditionError(f"{text!r} is not an automation condition: use {EXAMPLE}") from None
    if isinstance(tree, ast.Name):
        if tree.id == "on_cron":
            raise ConditionError("on_cron needs a cron, such as on_cron('0 6 * * *')")
        return AutomationCondition(tree.id)
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name):
        raise ConditionError(f"{text!r} is not an automation condition: use {EXAMPLE}")
    name = tree.func.id
    if name not in KINDS:
        raise ConditionError(_unknown(name))
    if name != "on_cron":
        if tree.args or tree.keywords:
            raise ConditionError(f"{name} takes no arguments")
        return AutomationCondition(name)
    args = [_text_argument(a, name) for a in tree.args]
    kwargs = {str(k.arg): _text_argument(k.value, name) for k in tree.keywords}
    known = ("cron_schedule", "cron_timezone", "timezone")
    for key in kwargs:
        if key not in known:
            hint = did_you_mean(str(key), known) or "known: " + ", ".join(known)
            raise ConditionError(f"on_cron has no argument {key!r} ({hint})")
    values = dict(zip(("cron_schedule", "cron_timezone"), args, strict=False))
    if len(args) > 2 or values.keys() & kwargs.keys():
        raise ConditionError("on_cron takes a cron and a time zone: on_cron('0 6 * * *', 'UTC')")
    values.update(kwargs)
    if "cron_schedule" not in values:
        raise ConditionError("on_cron needs a cron, such as on_cron('0 6 * * *')")
    zone = values.get("cron_timezone", values.get("timezone", "UTC"))
    return AutomationCondition("on_cron", values["cron_schedule"], zone)


def _text_argument(node: ast.expr, name: str) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise ConditionError(f"{name} takes text arguments, such as on_cron('0 6 * * *')")


def _check_cron(
    cron: str | None, zone: str, cron_key: str | None = None, zone_key: str | None = None
) -> None:
    """That ``cron`` fires and ``zone`` is a time zone; a mistake says the key of the
    table form it was written at (``cron_key``, ``zone_key``)."""
    from teal.compiler.automation import cron_problem

    problem = cron_problem(cron)
    if problem:
        raise ConditionError(f"on_cron: {cron!r} {problem} (such as '0 6 * * *')", cron_key)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConditionError(
            f"on_cron: {zone!r} is not a time zone (an IANA name such as 'Europe/Berlin')",
            zone_key,
        ) from None
