"""What a user's reference to a run names: a run id, a unique prefix of one, or ``last``
(the command line's RUN arguments and the UI's /api/runs/<ref> alike). A store opened for a
project finds that project's runs only (runtime/runstore/scope.py)."""

from __future__ import annotations

from teal.compiler.errors import NotFound, SelectionError
from teal.compiler.wording import counted
from teal.runtime.runstore.records import RunRecord
from teal.runtime.runstore.sqlstore import SqlRunStore


def resolve_run(store: SqlRunStore, ref: str, path: str = "RUN") -> RunRecord:
    """The run ``ref`` names: a run id, a unique prefix of one, or ``last``; ``path`` is
    where the reference came from, for the error."""
    if ref == "last":
        found = store.runs(limit=1)
        if not found:
            raise SelectionError("no runs recorded yet", path=path, hint="run `teal build` first")
        return found[0]
    run = store.run(ref)
    if run is not None and store.project is not None and run.project not in ("", store.project):
        raise SelectionError(  # a store shared by projects: this one's runs are its own
            f"run {ref} is a run of project '{run.project}', not of this project "
            f"('{store.project}')",
            path=path,
            hint=f"run the command in the folder of project '{run.project}'",
        )
    if run is not None:
        return run
    candidates = [r for r in store.runs(limit=10_000) if r.run_id.startswith(ref)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
        raise SelectionError(
            f"{ref!r} names {counted(len(candidates), 'run')}",
            path=path,
            hint="give more of the id: it matches "
            + ", ".join(r.run_id for r in candidates[:5])
            + more,
        )
    raise NotFound(f"no run {ref!r}", path=path, hint="`teal runs` lists recent runs")
