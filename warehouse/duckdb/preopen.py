"""Opening the warehouse file on a thread while the command loads the project.

DuckDB reads a file's catalog when it opens it, which takes a while for a warehouse of
many thousands of tables; it does so without holding Python's global interpreter lock,
so a build starts the open once its project is loaded
(``teal.warehouse.engine.open_ahead``) and binds the selection on the other core meanwhile. The engine then takes the connection
(``DuckDBEngine(connection=...)``). An open that fails (the file held by another
process, a bad setting) leaves nothing behind: the engine opens the file again as
before and reports, or waits, as it always did.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


class Preopened:
    """One connection to ``path`` being opened on a thread of its own."""

    def __init__(self, path: str, config: dict[str, str | bool | int | float | list[str]]) -> None:
        self._path, self._config = path, config
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._thread = threading.Thread(target=self._open, name="teal-open", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        try:
            import duckdb

            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = duckdb.connect(self._path, config=self._config)
        except Exception:  # noqa: BLE001 - the engine opens again and reports it
            self._conn = None

    def take(self) -> duckdb.DuckDBPyConnection | None:
        """The open connection, once (None: the open failed; open it as usual)."""
        self._thread.join()
        conn, self._conn = self._conn, None
        return conn

    def close(self) -> None:
        """Close the connection if nothing took it (the command ended before opening)."""
        conn = self.take()
        if conn is not None:
            conn.close()
