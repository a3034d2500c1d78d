"""Which project a run store's rows belong to, for projects sharing one store.

A project is its ``name`` (``teal.toml``, the folder's name when it gives none), as every
run records it (``runs.project``) and as runs retention has always gone by
(runtime/runstore/housekeeping.py). A store opened for a project
(``open_run_store(..., project=NAME)``) lists that project's runs, materializations and
last runs only, and keeps its own ticks and cursors (migration 5): two projects with a
schedule called ``daily`` tick it apart, and a daemon launches its own project's queued
runs only. A run id names one run in the whole store, so a run is still read by its id.

Rows migration 5 could not trace to a project (a store whose runs named none) are kept
with project ``''`` until a daemon adopts them (:func:`adopt_unowned`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from teal.runtime.runstore.sqlstore import SqlRunStore

UNOWNED = ""  # the project of rows recorded before migration 5 that no run traced


def of_project(project: str | None, column: str = "run_id") -> tuple[str, list[object]]:
    """A condition keeping the rows whose run (by ``column``) is ``project``'s, and its
    parameters; no condition for a store opened for no project (every project's rows).

    >>> of_project("shop")
    ('run_id IN (SELECT run_id FROM runs WHERE project = ?)', ['shop'])
    >>> of_project(None, "s.run_id")
    ('1 = 1', [])
    """
    if project is None:
        return "1 = 1", []
    return f"{column} IN (SELECT run_id FROM runs WHERE project = ?)", [project]


def runs_of(project: str | None) -> tuple[str, list[object]]:
    """A condition on ``runs`` keeping ``project``'s, and its parameters (none for a store
    opened for no project).

    >>> runs_of("shop"), runs_of(None)
    (('project = ?', ['shop']), ('1 = 1', []))
    """
    return ("1 = 1", []) if project is None else ("project = ?", [project])


def adopt_unowned(store: SqlRunStore, project: str) -> tuple[int, int]:
    """Give ``project`` the ticks and cursors migration 5 left unowned, except where it
    has its own already; (ticks, cursors) adopted. One transaction: two daemons adopting
    at once take them whole, one of them."""
    if not project:
        return 0, 0
    adopted = []
    with store._lock, store._transaction() as cur:
        for table, clash in (
            (
                "ticks",
                "o.source = ticks.source AND (o.tick_at = ticks.tick_at OR o.run_key = ticks.run_key)",
            ),
            ("cursors", "o.source = cursors.source"),
        ):
            cur.execute(
                store._sql(
                    f"UPDATE {table} SET project = ? WHERE project = ? AND NOT EXISTS ("
                    f"SELECT 1 FROM {table} o WHERE o.project = ? AND {clash})"
                ),
                (project, UNOWNED, project),
            )
            adopted.append(max(cur.rowcount, 0))
    return adopted[0], adopted[1]
