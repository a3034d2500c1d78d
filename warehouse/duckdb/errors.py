"""DuckDB's errors, for people: which file is locked by whom, and which line of the model
an error is about."""

from __future__ import annotations

import re
from typing import NamedTuple

from teal.compiler.errors import WarehouseBusy, WarehouseError

_QUOTED = re.compile(r'"([^"]+)"')
_HOLDER = re.compile(r"\(PID (\d+)\)")
_MISSING = re.compile(r'Referenced column "([^"]+)" not found')
_CANDIDATES = re.compile(r"Candidate bindings: (.*)")


def open_error(exc: BaseException, path: str) -> WarehouseError:
    """The error for a warehouse file DuckDB would not open."""
    import duckdb

    message = str(exc)
    if isinstance(exc, duckdb.IOException) and "lock" in message.lower():
        holder = _HOLDER.search(message)
        return WarehouseBusy(
            f"the warehouse {path} is in use by another process"
            + (f" (PID {holder.group(1)})" if holder else ""),
            path=path,
            hint="wait for the other build to finish, or close the program holding it",
        )
    if "different configuration than existing connections" in message:
        # DuckDB shares one open database among a process's connections, all read-only or
        # all not: a notebook's own connection to the file stands in a build's (or a read's) way
        return WarehouseError(
            "cannot open the warehouse: this process has it open already, with other "
            "settings (another DuckDB connection to the file, such as a notebook's "
            "duckdb.connect(...): read-only where teal writes, or the other way round)",
            path=path,
            hint="close that connection (con.close()) and try again; session.read(name) "
            "gives a model's rows and closes its connection",
        )
    if "not a valid DuckDB database file" in message or "Is a directory" in message:
        return WarehouseError(
            "cannot open the warehouse: "
            + (
                "this is a folder, not a DuckDB database file"
                if "Is a directory" in message
                else "this file is not a DuckDB database"
            ),
            path=path,
            hint="point `warehouse` in the project file (or --warehouse) at the DuckDB file; "
            "to start a new warehouse there, move this one aside first",
        )
    return WarehouseError(
        f"cannot open the warehouse: {message}",
        path=path,
        hint="check `warehouse` in the project file (or --warehouse) and that the file "
        "can be read and written",
    )


def describe_error(exc: BaseException, raw_sql: str | None) -> tuple[str, int | None, int | None]:
    """DuckDB's message without its compiled-SQL excerpt, plus a best-guess line and column
    of ``raw_sql``: where the first name the message quotes appears.

    >>> describe_error(Exception('Binder Error: column "amt" not found\\n\\nLINE 1: ...'),
    ...     "select\\n  amt from x")
    ('Binder Error: column "amt" not found', 2, 3)
    """
    text = str(exc).strip()
    text = text.split("\n\nLINE ")[0].split("\nLINE ")[0].strip()
    line = col = None
    if raw_sql:
        for name in _QUOTED.findall(text):
            pattern = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
            for i, src in enumerate(raw_sql.splitlines(), 1):
                hit = pattern.search(src)
                if hit:
                    line, col = i, hit.start() + 1
                    break
            if line:
                break
    return text, line, col


class BindFailure(NamedTuple):
    """What DuckDB's binder (or parser) said about a query, read from its message."""

    first_line: str  # the message's first line without "Binder Error: " and the like
    missing_column: str | None  # the column it could not find, if that is what it said
    candidates: tuple[str, ...]  # the names it suggested instead


def bind_failure(message: str) -> BindFailure:
    """``message`` (a DuckDB error's text) read for a person.

    >>> bind_failure('Binder Error: Referenced column "revenu" not found in FROM clause!'
    ...     '\\nCandidate bindings: "revenue", "region"')
    BindFailure(first_line='Referenced column "revenu" not found in FROM clause!', \
missing_column='revenu', candidates=('revenue', 'region'))
    """
    first, _, rest = message.partition("\n")
    first = first.removeprefix("Binder Error: ").removeprefix("Parser Error: ")
    missing = _MISSING.match(first)
    listed = _CANDIDATES.search(rest)
    return BindFailure(
        first,
        missing.group(1) if missing else None,
        tuple(_QUOTED.findall(listed.group(1))) if listed else (),
    )


_NO_SUCH = re.compile(r'(?:Table|Values list) "[^"]+" does not have a column named "([^"]+)"')


def missing_column(exc: BaseException) -> tuple[str, tuple[str, ...]] | None:
    """The column DuckDB's binder did not find (written bare, or qualified by a table's
    name or alias), and the names it suggested; None for another error.

    >>> missing_column(Exception('Binder Error: Table "o" does not have a column named '
    ...     '"amout"\n\nCandidate bindings: : "amount"'))
    ('amout', ('amount',))
    """
    if not str(exc).startswith("Binder Error: "):
        return None
    said = bind_failure(str(exc))
    if said.missing_column is not None:
        return said.missing_column, said.candidates
    qualified = _NO_SUCH.match(said.first_line)
    return (qualified.group(1), said.candidates) if qualified else None


def raised_by_rows(exc: BaseException) -> bool:
    """Whether DuckDB raised ``exc`` on the values a query read: a conversion, a value out
    of range, ``error()`` or another function refusing its input (its text bound).

    >>> import duckdb
    >>> raised_by_rows(duckdb.ConversionException("x")), raised_by_rows(duckdb.BinderException("x"))
    (True, False)
    """
    import duckdb

    return isinstance(exc, duckdb.DataError | duckdb.InvalidInputException)
