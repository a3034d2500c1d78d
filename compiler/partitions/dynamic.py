"""Dynamic partitions: keys added and removed at run time (by a sensor, ``teal partitions
add``, or the API) instead of written in the model.

A definition ``{"dynamic": "regions"}`` names a set of keys kept in the warehouse's state
(``teal.dynamic_partitions``). The compiler knows only the name; before planning, the
session binds every dynamic definition to the keys the warehouse holds now
(:func:`bind_project`). A bound definition behaves as static partitions with those keys, so
mappings, partition filters, backfills and statuses work with it unchanged; two models
partitioned by the same set map key to key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from teal.compiler.partitions.common import PartitionDefinitionError, PartitionKeyError, hint_or
from teal.compiler.partitions.static import StaticPartitions, check_static_key

if TYPE_CHECKING:
    from teal.compiler.project import Project

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class DynamicPartitions(StaticPartitions):
    """The keys of the dynamic set ``name`` (empty until bound to the warehouse's keys).

    >>> regions = DynamicPartitions(name="regions").bind(["eu", "us"])
    >>> regions.keys(), regions.describe()
    (['eu', 'us'], "dynamic 'regions' (2 keys)")
    """

    partition_keys: tuple[str, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise PartitionDefinitionError(
                f"a dynamic partition set needs a plain name, got {self.name!r}",
                hint='write {"dynamic": "regions"}',
            )
        for key in self.partition_keys:
            check_static_key(key)
        object.__setattr__(self, "partition_keys", tuple(self.partition_keys))

    def bind(self, keys: list[str] | tuple[str, ...]) -> DynamicPartitions:
        return replace(self, partition_keys=tuple(keys))

    def validate(self, key: str, *, now: Any = None) -> str:
        if key in self.partition_keys:
            return key
        from teal.compiler.errors import did_you_mean

        raise PartitionKeyError(
            f"'{key}' is not a key of the dynamic partitions '{self.name}'"
            + (f" ({len(self.partition_keys)} keys)" if self.partition_keys else " (none yet)"),
            hint=hint_or(
                did_you_mean(str(key), self.partition_keys),
                f"add it with `teal partitions add {self.name} {key}`",
            ),
        )

    def describe(self) -> str:
        n = len(self.partition_keys)
        return f"dynamic '{self.name}' ({n} key{'s' if n != 1 else ''})"

    def to_spec(self) -> dict[str, Any]:
        return {"dynamic": self.name}


def dynamic_sets(project: Project) -> set[str]:
    """The names of the dynamic partition sets the project's models use."""
    return {
        m.partitions.name
        for m in project.models.values()
        if isinstance(m.partitions, DynamicPartitions)
    }


def bind_project(project: Project, keys: dict[str, tuple[str, ...]]) -> Project:
    """``project`` with every dynamic definition bound to ``keys[name]`` (none: no keys)."""
    models = dict(project.models)
    changed = False
    for name, model in project.models.items():
        definition = model.partitions
        if isinstance(definition, DynamicPartitions):
            bound = definition.bind(keys.get(definition.name, ()))
            if bound != definition:
                models[name] = replace(model, partitions=bound)
                changed = True
    return replace(project, models=models) if changed else project
