"""The columns of file sources, read from the files without reading their data.

- CSV: the header line (the delimiter is the one of ``, ; | tab`` the header holds most of);
- Parquet: the schema in the file's footer, read by hand (compiler/parquet_footer.py:
  importing pyarrow would cost more than the rest of a small project's binding), with
  ``pyarrow.parquet.read_schema`` for a footer that reader does not understand;
- JSON and sources in a warehouse or another DuckDB file: unknown here (the runtime reads
  a warehouse's tables when it binds models, runtime/validate.py).

A glob reads its first file in sorted order. What a file holds is kept in the lineage
cache under the file's identity (path, size, modification time in nanoseconds, inode), as
the kept plan state identifies the warehouse: reading it again costs about as much as
hashing it would.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); (d / "c.csv").write_text("Code;Name\\nDE;Germany\\n")
21
>>> csv_header(d / "c.csv")
('code', 'name')
"""

from __future__ import annotations

import csv
import glob
import os
from pathlib import Path

from teal.compiler.cache import CompileCache, content_key
from teal.compiler.parquet_footer import FooterError, parquet_names
from teal.compiler.sources import SourceTable

_DELIMITERS = (",", ";", "|", "\t")
# a header longer than this is not a header teal reads
_HEADER_BYTES = 1 << 16


def source_columns(table: SourceTable, cache: CompileCache | None) -> tuple[str, ...] | None:
    """Lower-case column names of a file source table, or None when not known cheaply."""
    if table.kind not in ("csv", "parquet") or "://" in table.location:
        return None
    identity = file_identity(table.location)
    if identity is None:
        return None
    path = Path(identity[0])
    key = content_key("source-columns", *identity)
    if cache is not None:
        hit = cache.get("source", key)
        if hit is not None:
            return tuple(hit) if hit != "unknown" else None
    found = csv_header(path) if table.kind == "csv" else parquet_columns(path)
    if cache is not None:
        cache.put("source", key, "unknown" if found is None else list(found))
    return found


def file_identity(location: str) -> tuple[str, str, str, str] | None:
    """(path, size, modification time in nanoseconds, inode) of the file a local file
    source reads (its first in sorted order, for a glob), or None when there is none."""
    path = _first_file(location)
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path), str(stat.st_size), str(stat.st_mtime_ns), str(stat.st_ino)


def csv_header(path: Path) -> tuple[str, ...] | None:
    """The names in a CSV file's first line, lower case."""
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            first = fh.readline(_HEADER_BYTES)
    except (OSError, UnicodeDecodeError):
        return None
    first = first.rstrip("\r\n")
    if not first:
        return None
    delimiter = max(_DELIMITERS, key=first.count)
    names = next(csv.reader([first], delimiter=delimiter))
    if not names or any(not n.strip() for n in names):
        return None
    return tuple(n.strip().lower() for n in names)


def parquet_columns(path: Path) -> tuple[str, ...] | None:
    """The top-level column names in a Parquet file's footer, lower case."""
    try:
        return tuple(name.lower() for name in parquet_names(path))
    except FooterError:
        pass
    except OSError:
        return None
    try:
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
    except (ImportError, OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
        return None
    return tuple(name.lower() for name in schema.names)


def _first_file(location: str) -> Path | None:
    if any(ch in location for ch in "*?["):
        matches = sorted(glob.glob(location, recursive=True))
        return Path(matches[0]) if matches else None
    return Path(location) if os.path.isfile(location) else None
