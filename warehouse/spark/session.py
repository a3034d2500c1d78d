"""The Spark session a Spark warehouse runs on, the lock that makes a build its only
writer, and the statements every part of the engine runs through (:class:`SparkSQL`).

A local session (``master``) keeps its catalog in a Hive metastore (embedded Derby) inside
the warehouse folder, so tables and views outlive the process; a Spark Connect session
(``remote``) uses the server's catalog. A session already running in this process (a test
suite's, a notebook's) is reused as it is: starting a JVM costs seconds, and Spark allows
one per process. Databases are created with their location in the warehouse folder, so
two warehouses can share one session.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import WarehouseBusy, WarehouseError
from teal.warehouse.spark.transpile import FILES_SCHEMA, FileTable, to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from teal.compiler.spark_settings import SparkSettings

# settings teal gives a session it starts (the project's conf wins): DuckDB's semantics
# where Spark has a switch for them (errors on overflow and bad casts, timestamps without
# a time zone), and a small number of shuffle partitions (one machine's worth)
DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
}


def start_session(settings: SparkSettings) -> SparkSession:
    """The process's Spark session: the running one, or one started for ``settings``."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise WarehouseError(
            "the spark engine needs pyspark",
            hint="pip install 'pyspark>=3.5.3,<3.6' (and Java 17: apt-get install "
            "openjdk-17-jre-headless)",
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName("teal")
    if settings.remote:
        builder = builder.remote(settings.remote)
    else:
        home = settings.warehouse_dir
        home.mkdir(parents=True, exist_ok=True)
        metastore = f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true"
        builder = (
            builder.master(settings.master)
            .config("spark.sql.warehouse.dir", str(home))
            .config("spark.hadoop.javax.jdo.option.ConnectionURL", metastore)
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={home}")
            .enableHiveSupport()
        )
    for key, value in {**DEFAULT_CONF, **settings.conf}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Java missing, a bad setting: say which
        raise WarehouseError(
            f"cannot start Spark: {str(exc).splitlines()[0] if str(exc) else exc!r}",
            hint="Spark needs Java 17 (apt-get install openjdk-17-jre-headless)",
        ) from None
    if not settings.remote:
        session.sparkContext.setLogLevel("ERROR")
    return session


class WriterLock:
    """One writing process per warehouse folder (as DuckDB allows one per file): an
    exclusive ``flock`` on ``teal.lock`` in it, released on close or when the process dies."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._fh = (folder / "teal.lock").open("a+")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            raise WarehouseBusy(
                f"the warehouse {folder} is in use by another process",
                path=str(folder),
                hint="wait for the other build to finish, or close the program holding it",
            ) from None
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(f"{os.getpid()}\n")
        self._fh.flush()

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


def quote(name: str) -> str:
    """A Spark-quoted identifier.

    >>> quote("we`ird")
    '`we``ird`'
    """
    return "`" + name.replace("`", "``") + "`"


def literal(value: object) -> str:
    """A Spark SQL literal for a state value (text, number, None, bool).

    >>> literal("it's \\\\ x"), literal(None), literal(2)
    ("'it\\\\'s \\\\\\\\ x'", 'NULL', '2')
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


class SparkSQL:
    """Statements on one session: DuckDB SQL translated once per text (and the tables
    over files it reads created first), Spark SQL run as it is."""

    def __init__(self, session: SparkSession, settings: SparkSettings) -> None:
        self.session = session
        self.settings = settings
        self._translated: dict[str, str] = {}
        self._files: set[str] = set()
        self._lock = threading.Lock()
        # appends to one Parquet table from two threads at once share its _temporary
        # folder, and the first commit deletes the other's files: state rows go one at a time
        self.state_lock = threading.Lock()
        self.wrote = False  # whether anything was written (the stamp is renewed on close)

    @property
    def table_format(self) -> str:
        return self.settings.table_format

    def run(self, sql: str) -> DataFrame:
        """Run Spark SQL (DDL and DML run now; a query's rows when collected)."""
        return self.session.sql(sql)

    def rows(self, sql: str) -> list[Any]:
        return self.session.sql(sql).collect()

    def spark(self, duckdb_sql: str) -> str:
        """``duckdb_sql`` as Spark SQL (cached by its text)."""
        with self._lock:
            known = self._translated.get(duckdb_sql)
        if known is not None:
            return known
        translated = to_spark(duckdb_sql)
        for table in translated.files:
            self._ensure_file_table(table)
        with self._lock:
            self._translated[duckdb_sql] = translated.sql
        return translated.sql

    def predicate(self, duckdb_predicate: str) -> str:
        """A DuckDB predicate as Spark's (translated inside a query, then taken out)."""
        select = self.spark(f"SELECT 1 FROM __teal_t WHERE {duckdb_predicate}")
        return select.split(" WHERE ", 1)[1]

    def relation(self, schema: str, name: str) -> str:
        return f"{quote(schema)}.{quote(name)}"

    def ensure_database(self, schema: str) -> None:
        location = self.settings.warehouse_dir / f"{schema.lower()}.db"
        self.run(
            f"CREATE DATABASE IF NOT EXISTS {quote(schema)} LOCATION {literal(location.as_uri())}"
        )

    def _ensure_file_table(self, table: FileTable) -> None:
        """The table over the file a model reads with DuckDB's ``read_csv(...)``."""
        if table.name in self._files:
            return
        self.ensure_database(FILES_SCHEMA)
        options = "header 'true', inferSchema 'true'" if table.fmt == "csv" else ""
        path = Path(table.path)
        where = path.as_uri() if path.is_absolute() and "*" not in table.path else table.path
        self.run(
            f"CREATE TABLE IF NOT EXISTS {self.relation(FILES_SCHEMA, table.name)} "
            f"USING {table.fmt} OPTIONS (path {literal(where)}"
            + (f", {options}" if options else "")
            + ")"
        )
        self._files.add(table.name)
