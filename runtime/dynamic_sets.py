"""Adding and removing the keys of a dynamic partition set (`teal partitions add/remove`)."""

from __future__ import annotations

from collections.abc import Sequence

from teal.compiler.config import ProjectConfig
from teal.compiler.errors import SelectionError, did_you_mean
from teal.compiler.project import Project
from teal.warehouse.engine import open_engine


def change_dynamic_set(
    project: Project, config: ProjectConfig, name: str, add: Sequence[str], remove: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Add and remove keys of the dynamic partition set ``name`` (or of the set model
    ``name`` is partitioned by); (added, removed). Takes the warehouse as a build does."""
    from teal.compiler.partitions import PartitionDefinitionError
    from teal.compiler.partitions.dynamic import DynamicPartitions, dynamic_sets

    known = dynamic_sets(project)
    if name in project.models and isinstance(project.models[name].partitions, DynamicPartitions):
        name = project.models[name].partitions.name  # a model's name: its set
    if name not in known:
        raise SelectionError(
            f"no dynamic partition set or model partitioned by one is named '{name}'",
            hint=did_you_mean(name, known)
            or "partition a model by {'dynamic': 'NAME'} to create one",
        )
    for key in add:
        try:
            DynamicPartitions(partition_keys=(key,), name=name)
        except PartitionDefinitionError as exc:
            raise SelectionError(exc.message, hint=exc.hint) from None
    with open_engine(config, sources=project.sources) as wh:
        return wh.change_dynamic_partitions(name, list(add), list(remove))
