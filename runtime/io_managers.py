"""I/O managers at run time: a Python asset's data saved by the ``teal.IOManager`` resource
it names, and loaded back from it for the Python models and checks that read it.

The engine does the saving's bookkeeping (``BuildTarget.store``: the rows audited by the
asset's checks first, ``save`` called in the transaction that records it, the view the
manager offers registered with it); this module binds a manager to one step
(:class:`BoundStore`) and loads an upstream through its manager (:func:`load_managed`),
applying the same partition filter a warehouse read would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import ProjectError
from teal.compiler.resources import IOManager

if TYPE_CHECKING:
    from teal.compiler.project import Model, Project
    from teal.warehouse.engine import EngineCursor


@dataclass(frozen=True)
class IOContext:
    """What an I/O manager's ``save`` and ``load`` are told.

    ``asset_name``, ``schema``, ``name`` and ``relation`` are the stored asset's;
    ``partition_keys`` are the partitions saved, or the ones wanted by a load: those a
    partitioned reader's partition maps to, every partition for an unpartitioned reader
    (empty: an unpartitioned asset); ``reader`` is the model or check loading it (None for
    a save).
    """

    asset_name: str
    schema: str
    name: str
    relation: str
    run_id: str
    partition_keys: tuple[str, ...] = ()
    reader: str | None = None
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.getLogger("teal.io"), repr=False
    )

    @property
    def partition_key(self) -> str | None:
        """The one partition saved or wanted (None: the whole asset, or several)."""
        return self.partition_keys[0] if len(self.partition_keys) == 1 else None


def _context(
    model: Model,
    run_id: str,
    keys: tuple[str, ...],
    reader: str | None,
    redact: Callable[[str], str] | None,
) -> IOContext:
    """The manager's context; its ``log`` hides the run's secrets (the manager's own
    EnvVar credentials among them), as an asset's ``context.log`` does."""
    from teal.runtime.context import asset_logger

    return IOContext(
        asset_name=model.name,
        schema=model.schema,
        name=model.alias,
        relation=model.relation,
        run_id=run_id,
        partition_keys=keys,
        reader=reader,
        log=asset_logger(model.name, redact),
    )


def manager_of(resources: Mapping[str, Any], model: Model) -> IOManager:
    """The opened I/O manager of ``model`` (checked when the run opened it)."""
    assert model.io_manager is not None
    return resources[model.io_manager]


@dataclass
class BoundStore:
    """A model's I/O manager bound to one step: the ``Store`` the engine calls."""

    manager: IOManager
    model: Model
    run_id: str
    redact: Callable[[str], str] | None = None

    def save(self, data: Any, keys: tuple[str, ...]) -> None:
        self._call("save", lambda: self.manager.save(self._ctx(keys), data))

    def relation(self) -> str | None:
        found = self._call("relation", lambda: self.manager.relation(self._ctx(())))
        return str(found) if found else None

    def _ctx(self, keys: tuple[str, ...]) -> IOContext:
        return _context(self.model, self.run_id, keys, None, self.redact)

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # the manager's code raised: the step fails, nothing kept
            from teal.runtime.python_call import UserCodeError

            text = (
                f"I/O manager '{self.model.io_manager}' ({type(self.manager).__name__}) "
                f"{what} raised {type(exc).__name__}: {exc}"
            )
            raise UserCodeError(self.redact(text) if self.redact else text, None) from exc


def load_managed(
    resources: Mapping[str, Any],
    cur: EngineCursor,
    project: Project,
    upstream: Model,
    kind: str,
    *,
    reader: str,
    run_id: str,
    select_sql: str = "",
    keys: tuple[str, ...] = (),
    redact: Callable[[str], str] | None = None,
) -> Any:
    """``upstream``'s rows loaded through its I/O manager as ``kind``; ``select_sql`` (the
    read the reader would make from the warehouse, with its partition filter) is applied
    to what the manager returns."""
    manager = manager_of(resources, upstream)
    try:
        data = manager.load(_context(upstream, run_id, keys, reader, redact))
    except Exception as exc:
        from teal.runtime.python_call import UserCodeError

        text = (
            f"I/O manager '{upstream.io_manager}' ({type(manager).__name__}) load of "
            f"'{upstream.name}' raised {type(exc).__name__}: {exc}"
        )
        raise UserCodeError(redact(text) if redact else text, None) from exc
    from teal.warehouse import io

    try:
        data = io.scannable(data)
    except io.UnsupportedOutput as exc:
        from teal.runtime.python_call import UserCodeError

        raise UserCodeError(
            f"I/O manager '{upstream.io_manager}' load of '{upstream.name}' {exc}", None
        ) from None
    relation = cur.relation_sql(upstream.schema, upstream.alias)
    return cur.load_data(data, kind, select_sql, relation)


def upstream_keys_for(
    project: Project,
    reader: Model,
    upstream: Model,
    key: str | None,
    now: datetime | None = None,
) -> tuple[str, ...]:
    """The partitions of ``upstream`` that ``reader`` reads: those partition ``key`` of a
    partitioned reader maps to, or, for an unpartitioned reader, every partition of the
    upstream up to ``now`` (as Dagster's loads of a partitioned asset by an unpartitioned
    one). Empty: an unpartitioned upstream (read it whole), or a mapping teal applies as
    SQL only."""
    if upstream.partitions is None:
        return ()
    if reader.partitions is None:
        return tuple(upstream.partitions.keys(now))
    if key is None:
        return ()
    from teal.compiler.partition_sql import resolve_mapping
    from teal.compiler.partitions import upstream_keys

    spec = (reader.config.get("partition_mapping") or {}).get(upstream.name)
    try:
        mapping = resolve_mapping(spec, reader.partitions, upstream.partitions)
        return tuple(upstream_keys(mapping, reader.partitions, upstream.partitions, key, now=now))
    except Exception:  # noqa: BLE001 - a mapping teal filters by SQL instead
        return ()


def check_managers(project: Project, models: Iterable[str], resources: Mapping[str, Any]) -> None:
    """Before a run: every I/O manager it uses is a ``teal.IOManager``, and every SQL model
    it builds reads managed assets only through a manager that offers a relation."""
    chosen = list(models)
    for name in chosen:
        model = project.models[name]
        wanted = [model] if model.io_manager else []
        wanted += [
            project.models[u]
            for u in model.upstreams
            if u in project.models and project.models[u].io_manager
        ]
        for managed in wanted:
            manager = resources.get(managed.io_manager or "")
            if not isinstance(manager, IOManager):
                raise ProjectError(
                    f"resource '{managed.io_manager}' is the io_manager of '{managed.name}', "
                    f"but it is a {type(manager).__name__}, not a teal.IOManager",
                    path=managed.display_path,
                    line=managed.line,
                    hint="subclass teal.IOManager and define save(context, data) and load(context)",
                )
            if (
                model.kind == "sql"
                and managed is not model
                and type(manager).relation is IOManager.relation
            ):
                raise ProjectError(
                    f"'{model.name}' is a SQL model reading '{managed.name}', which I/O "
                    f"manager '{managed.io_manager}' keeps outside the warehouse without a "
                    "relation SQL can read",
                    path=model.display_path,
                    line=model.line,
                    hint=f"define relation(context) on {type(manager).__name__} (e.g. "
                    "\"read_parquet('...')\"), or read it from a Python model",
                )


def managers_used(project: Project, models: Iterable[str]) -> set[str]:
    """The I/O manager resources a run of ``models`` needs: theirs, and those of the
    managed assets they (and their Python checks) read."""
    names: set[str] = set()
    for name in models:
        model = project.models[name]
        if model.io_manager:
            names.add(model.io_manager)
        for up in model.upstreams:
            upstream = project.models.get(up)
            if upstream is not None and upstream.io_manager:
                names.add(upstream.io_manager)
        for check in project.checks_of(name):
            if check.python is None:
                continue
            for param in check.python.upstream_params:
                upstream = project.models.get(param)
                if upstream is not None and upstream.io_manager:
                    names.add(upstream.io_manager)
    return names
