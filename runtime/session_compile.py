"""``teal compile`` (:meth:`Session.compile`): compiled SQL and the manifest written into
``target/``, the models checked and typed, or the last compile's answer when nothing it
reads changed (runtime/compile_stamp.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teal.runtime.compile_stamp import Compiled
    from teal.runtime.session import Selection, Session


def compile_selection(session: Session, select: Selection, exclude: Selection) -> Compiled:
    """What :meth:`Session.compile` does, for the selected models (all without one)."""
    from teal.compiler.manifest import (
        built_incrementals,
        write_compiled,
        write_compiled_ahead,
        write_target,
    )
    from teal.runtime.compile_stamp import Compiled, CompileStamp
    from teal.runtime.python_imports import import_every_file
    from teal.runtime.validate import recorded_types

    selected = bool(select or exclude)
    names = session.select(select, exclude)
    chosen = names if selected else None
    project = session.project
    if session.defer is not None:  # bound and written as a deferred build runs it
        from teal.runtime.deferring import compiled_deferred

        project, _ = compiled_deferred(session, select, exclude, names)
    recorded = recorded_types(session.project, session.readable_store())
    # a deferred compile depends on the other file and this warehouse's state too: not kept
    stamp = CompileStamp.of(session.project, chosen, recorded) if not session.defer else None
    last = stamp.read() if stamp is not None else None
    if last is not None:
        return last
    compiled_names = set(names)
    # a dbt project's incremental models whose table exists: as their next build runs
    nexts = built_incrementals(
        session.project, session.state().models if session.config.dbt else ()
    )
    # the compiled SQL needs no lineage, so it is written first (kept when the compile
    # then fails, as dbt keeps it), by a child while the models are typed if it can
    writing = write_compiled_ahead(project, compiled_names, nexts, session.strategy)
    if writing is None:
        write_compiled(project, compiled_names, nexts)
    try:
        if session.defer is None:  # a deferred selection was bound already
            session.validate(select, exclude)
        import_every_file(session.project, chosen)
        graph = session.columns(chosen)
    finally:
        writer_failed = writing is not None and writing.result() is None
    if writer_failed:
        write_compiled(project, compiled_names, nexts)
    folder = write_target(session.project, compiled_names, graph)
    compiled = Compiled(folder, len(names), str(graph.resolution(chosen)))
    if stamp is not None:
        stamp.write(compiled)
    return compiled
