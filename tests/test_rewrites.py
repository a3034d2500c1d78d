"""Compile rewrites, one fixture file each: input SQL, expected SQL, and the same rows on DuckDB.

Every ``tests/fixtures/<rewrite>.sql`` (files starting with ``_`` excepted) holds cases of
one rewrite, in the shape of sqlglot's optimizer fixtures::

    -- title: what the case shows
    -- point: orders -> staging.stg_orders
    select orders.id from orders;
    SELECT orders.id FROM "staging"."stg_orders" AS orders;

The ``-- key: value`` lines right below the title say what the rewrite is asked to do (keys
per file: see ``REWRITES``); then come the input statement and the expected statement, each
ending with ``;`` at the end of a line. Each case checks that the rewrite, called through
its public function on the parsed input, prints exactly the expected statement, and then
runs both on in-memory DuckDB over ``tests/fixtures/_tables.sql``: the input where it was
written, the rewritten SQL where the relations it now reads replace those it read before.
Both must return the same rows.

A case without its expected statement fails; ``python -m pytest tests/test_rewrites.py
--update-golden`` writes the expected statements from what the code prints now (review
the diff). Planner passes work on whole plans, not statements: tests/test_plan.py checks
them on the projects in tests/golden/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from sqlglot import exp

from teal.compiler.rewrite import (
    ephemeral_cte_name,
    existing_cte_names,
    inline_ephemerals,
    point_at_cte,
    point_at_relation,
    point_at_source,
    wrap_with_filter,
)
from teal.compiler.sources import SourceTable
from teal.compiler.sql import DIALECT, parse_sql, quote_identifier, splice, table_references
from tests.conftest import FIXTURES, missing_golden

TABLES_SQL = FIXTURES / "_tables.sql"
_TITLE = re.compile(r"^-- title:\s*(.*?)\s*$")
_META = re.compile(r"^--\s*(\w+):\s*(.*?)\s*$")
_DATA = "{data}"  # in a file source's location: the folder the test writes the files into


# -- fixture files ---------------------------------------------------------------------------
@dataclass
class Case:
    file: Path
    index: int  # 0-based position in the file
    line: int  # of the title
    title: str
    meta: list[tuple[str, str]]
    input: str
    expected: str | None
    head: str  # the case's text from its title through the input's closing ';'

    @property
    def rewrite(self) -> str:
        return self.file.stem

    def values(self, key: str) -> list[str]:
        return [v for k, v in self.meta if k == key]

    def where(self) -> str:
        return f"{self.file.relative_to(FIXTURES.parent.parent)}:{self.line} ({self.title})"


def _statements(lines: list[str]) -> tuple[list[str], int]:
    """Statements in ``lines`` (each ends with ``;`` at the end of a line), and how many lines
    the first one takes."""
    out, current, first_len = [], [], 0
    for i, line in enumerate(lines, 1):
        if not current and not line.strip():
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(current).strip()[:-1].rstrip())
            current = []
            first_len = first_len or i
    if any(line.strip() for line in current):
        out.append("\n".join(current).strip())  # a last statement without its ';'
    return out, first_len


def read_cases(path: Path) -> tuple[str, list[Case]]:
    """(text before the first case, the cases) of one fixture file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if _TITLE.match(line)]
    cases = []
    for n, start in enumerate(starts):
        block = lines[start : starts[n + 1] if n + 1 < len(starts) else len(lines)]
        meta, body_at = [], 1
        while body_at < len(block) and (m := _META.match(block[body_at])):
            meta.append((m.group(1), m.group(2)))
            body_at += 1
        statements, input_len = _statements(block[body_at:])
        if not statements or len(statements) > 2:
            raise ValueError(
                f"{path}:{start + 1}: a case is one input and one expected statement, "
                f"found {len(statements)} statements"
            )
        if not input_len:
            raise ValueError(f"{path}:{start + 1}: end the input statement with ';'")
        head_len = body_at + input_len
        cases.append(
            Case(
                file=path,
                index=n,
                line=start + 1,
                title=_TITLE.match(block[0]).group(1),  # type: ignore[union-attr]
                meta=meta,
                input=statements[0],
                expected=statements[1] if len(statements) == 2 else None,
                head="\n".join(block[:head_len]).rstrip(),
            )
        )
    header = "\n".join(lines[: starts[0]] if starts else lines)
    return header, cases


def write_expected(case: Case, sql: str) -> None:
    """Rewrite ``case``'s file with ``sql`` as its expected statement (``--update-golden``)."""
    header, cases = read_cases(case.file)
    cases[case.index].expected = sql
    parts = [header.rstrip() + "\n\n"] if header.strip() else []
    parts += [f"{c.head}\n{c.expected};\n\n" if c.expected else f"{c.head}\n\n" for c in cases]
    case.file.write_text("".join(parts).rstrip() + "\n", encoding="utf-8")


def _all_cases() -> list[Case]:
    return [c for path in sorted(FIXTURES.glob("[!_]*.sql")) for c in read_cases(path)[1]]


# -- the rewrites ---------------------------------------------------------------------------
@dataclass
class Rewritten:
    """A rewrite's output, and what each database must hold for its query to run."""

    sql: str
    setup_input: list[str] = field(default_factory=list)  # before the input runs
    setup_output: list[str] = field(default_factory=list)  # before the rewritten SQL runs


def _arrows(case: Case, key: str) -> list[tuple[str, str]]:
    """``-- key: a -> b`` lines as (a, b)."""
    out = []
    for value in case.values(key):
        left, sep, right = value.partition("->")
        if not sep:
            raise ValueError(f"{case.where()}: '-- {key}: {value}' needs 'name -> target'")
        out.append((left.strip(), right.strip()))
    if not out:
        raise ValueError(f"{case.where()}: the case needs a '-- {key}: name -> target' line")
    return out


def _parse(sql: str) -> exp.Expression:
    return parse_sql(sql, path="fixture.sql")


def _print(tree: exp.Expression) -> str:
    return tree.sql(dialect=DIALECT, comments=False)


def _refs_named(tree: exp.Expression, name: str) -> list[exp.Table]:
    return [r.node for r in table_references(tree) if str(r).lower() == name.lower()]


def _move(original: str, target: str) -> list[str]:
    """Statements that make ``target`` hold ``original``'s rows and drop ``original``, so a
    query still reading ``original`` fails."""
    parts = target.split(".")
    out = []
    if len(parts) == 3:
        out.append(f"attach if not exists ':memory:' as {parts[0]}")
    if len(parts) >= 2:
        out.append(f"create schema if not exists {'.'.join(parts[:-1])}")
    out += [f"create table {target} as from {original}", f"drop table {original}"]
    return out


def point_at_relation_case(case: Case) -> Rewritten:
    """``-- point: name -> [catalog.]schema.relation``: every reference to ``name`` reads the
    relation (what the compiler does for a model's upstream models)."""
    tree = _parse(case.input)
    setup = []
    for name, target in _arrows(case, "point"):
        *catalog, schema, relation = target.split(".")
        for table in _refs_named(tree, name):
            point_at_relation(table, schema, relation, catalog=catalog[0] if catalog else None)
        setup += _move(name, target)
    return Rewritten(_print(tree), setup_output=setup)


def point_at_source_case(case: Case) -> Rewritten:
    """``-- source: source.table -> <kind> <location>``: every reference to the source table
    reads it where it is (a file reader, another schema, an attached DuckDB file)."""
    tree = _parse(case.input)
    setup = []
    for name, target in _arrows(case, "source"):
        kind, _, location = target.partition(" ")
        source, table_name = name.split(".")
        table = SourceTable(source=source, name=table_name, kind=kind, location=location)
        for ref in _refs_named(tree, name):
            point_at_source(ref, table)
        if kind in ("csv", "parquet", "json"):
            options = {"csv": "(header)", "parquet": "(format parquet)", "json": "(format json)"}
            setup += [f"copy (from {name}) to '{location}' {options[kind]}", f"drop table {name}"]
        else:
            setup += _move(name, location)
    return Rewritten(_print(tree), setup_output=setup)


def inline_ephemerals_case(case: Case) -> Rewritten:
    """``-- ephemeral: name = <select>``: references to the ephemeral model ``name`` read a CTE
    named by ``ephemeral_cte_name``, which ``inline_ephemerals`` adds, as the compiler does.
    The input runs with each ephemeral as a view; the output without them."""
    tree = _parse(case.input)
    bodies = {}
    for value in case.values("ephemeral"):
        name, _, body = value.partition("=")
        bodies[name.strip().lower()] = body.strip()
    if not bodies:
        raise ValueError(f"{case.where()}: the case needs a '-- ephemeral: name = select' line")
    taken: set[str] | None = None
    ctes: dict[str, str] = {}
    for ref in table_references(tree):
        name = str(ref).lower()
        if name not in bodies:
            continue
        if name not in ctes:
            taken = existing_cte_names(tree) if taken is None else taken
            ctes[name] = ephemeral_cte_name(name, taken)
            taken.add(ctes[name].lower())
        point_at_cte(ref.node, ctes[name])
    inline_ephemerals(tree, [(cte, _parse(bodies[name])) for name, cte in ctes.items()])  # type: ignore[arg-type]
    views = [f"create view {name} as {body}" for name, body in bodies.items()]
    return Rewritten(_print(tree), setup_input=views)


def wrap_with_filter_case(case: Case) -> Rewritten:
    """``-- filter: name -> <predicate>``: every scan of ``name`` reads only the rows the
    predicate keeps (a pushed-down partition filter). The input runs on a table holding only
    those rows; the output on the whole table."""
    tree = _parse(case.input)
    setup = []
    for name, predicate in _arrows(case, "filter"):
        for table in _refs_named(tree, name):
            wrap_with_filter(table, predicate)
        setup.append(f"delete from {name} where ({predicate}) is not true")
    return Rewritten(_print(tree), setup_input=setup)


def splice_case(case: Case) -> Rewritten:
    """``-- point: name -> schema.relation``, by text: each reference's written name (at the
    offsets ``table_references`` reports) is replaced in the author's text, as the compiler's
    fast path does, keeping layout and comments inside the statement. The result must mean
    what the tree rewrite (``point_at_relation``) means."""
    tree = _parse(case.input)
    targets = {name.lower(): target.split(".") for name, target in _arrows(case, "point")}
    edits = []
    for ref in table_references(tree):
        if str(ref).lower() not in targets:
            continue
        assert ref.plain and ref.start is not None and ref.end is not None, (
            f"{case.where()}: {ref} is not a plain reference; the compiler rewrites its tree"
        )
        schema, relation = targets[str(ref).lower()]
        text = f"{quote_identifier(schema)}.{quote_identifier(relation)}"
        if not ref.aliased and ref.name.lower() != relation.lower():
            text += f" AS {quote_identifier(ref.name)}"
        edits.append((ref.start, ref.end, text))
    spliced = splice(case.input, tree.meta["span"], edits)

    by_tree = _parse(case.input)
    for name, (schema, relation) in targets.items():
        for table in _refs_named(by_tree, name):
            point_at_relation(table, schema, relation)

    def same(q: exp.Expression) -> str:
        return q.sql(dialect=DIALECT, comments=False, identify=True)

    assert same(_parse(spliced)) == same(by_tree), f"{case.where()}: splice and tree differ"
    setup = [s for name, target in _arrows(case, "point") for s in _move(name, target)]
    return Rewritten(spliced, setup_output=setup)


REWRITES: dict[str, Callable[[Case], Rewritten]] = {
    "point_at_relation": point_at_relation_case,
    "point_at_source": point_at_source_case,
    "inline_ephemerals": inline_ephemerals_case,
    "wrap_with_filter": wrap_with_filter_case,
    "splice": splice_case,
}
CASES = _all_cases()


def test_every_fixture_file_names_a_rewrite() -> None:
    files = {p.stem for p in FIXTURES.glob("[!_]*.sql")}
    assert files == set(REWRITES), "a fixture file per rewrite, named for its function"


# -- running the SQL ---------------------------------------------------------------------------
def _rows(con: duckdb.DuckDBPyConnection, sql: str, where: str) -> tuple[list[str], list[str]]:
    """Column names and rows (as sorted text: order is not compared) of one query."""
    try:
        cur = con.execute(sql)
    except duckdb.Error as exc:
        pytest.fail(f"{where}: DuckDB cannot run\n{sql}\n{exc}", pytrace=False)
    names = [d[0] for d in cur.description]
    return names, sorted(repr(r) for r in cur.fetchall())


def _database(setup: list[str], data: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(TABLES_SQL.read_text(encoding="utf-8"))
    for statement in setup:
        con.execute(statement.replace(_DATA, str(data)))
    return con


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rewrite}-{c.index + 1}" for c in CASES])
def test_rewrite(case: Case, tmp_path: Path, update_golden: bool) -> None:
    out = REWRITES[case.rewrite](case)
    if update_golden and out.sql != case.expected:
        write_expected(case, out.sql)
    elif case.expected is None:
        pytest.fail(
            missing_golden(f"the expected statement of {case.where()}", "tests/test_rewrites.py")
            + f"\nThe rewrite prints:\n{out.sql};",
            pytrace=False,
        )
    else:
        assert out.sql == case.expected, case.where()

    before = _rows(_database(out.setup_input, tmp_path), case.input, f"{case.where()}, input")
    after = _rows(
        _database(out.setup_output, tmp_path),
        out.sql.replace(_DATA, str(tmp_path)),
        f"{case.where()}, rewritten",
    )
    assert after == before, f"{case.where()}: the rewritten query returns other rows"


def test_a_column_qualified_with_the_source_and_table_still_binds(tmp_path: Path) -> None:
    """The reader keeps only the table's name as its alias: ``raw.orders.id`` is written
    ``orders.id`` (compiler/compile_sql.py does these steps in this order)."""
    from teal.compiler.rewrite import unqualify_columns, written_qualifiers

    sql = "select raw.orders.id, orders.id as again from raw.orders where raw.orders.id > 0"
    tree = _parse(sql)
    location = f"{tmp_path}/orders.csv"
    refs = _refs_named(tree, "raw.orders")
    written = written_qualifiers(refs)
    for ref in refs:
        point_at_source(
            ref, SourceTable(source="raw", name="orders", kind="csv", location=location)
        )
    unqualify_columns(tree, written)
    con = _database([f"copy (from raw.orders) to '{location}' (header)"], tmp_path)
    assert _rows(con, _print(tree), "rewritten") == _rows(con, sql, "input")
