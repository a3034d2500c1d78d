"""The Parquet footer reader (compiler/parquet_footer.py) against pyarrow's own reading.

A cold build reads each Parquet source's column names by hand; these tests write files
with pyarrow and DuckDB (nested types, many columns, many row groups, odd names) and
compare the names with ``pyarrow.parquet.read_schema``, and feed the reader damaged
footers, which must give ``FooterError`` (and the pyarrow fallback) or names, never
another exception or a hang.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teal.compiler.parquet_footer import FooterError, parquet_names, schema_names
from teal.compiler.source_schemas import parquet_columns

_LEAVES = [pa.int64(), pa.string(), pa.float64(), pa.bool_(), pa.decimal128(18, 2), pa.date32()]


def _types(depth: int) -> st.SearchStrategy[pa.DataType]:
    leaf = st.sampled_from(_LEAVES)
    if depth == 0:
        return leaf
    inner = _types(depth - 1)
    return st.one_of(
        leaf,
        inner.map(pa.list_),
        st.lists(inner, min_size=1, max_size=3).map(
            lambda ts: pa.struct([pa.field(f"f{i}", t) for i, t in enumerate(ts)])
        ),
        inner.map(lambda t: pa.map_(pa.string(), t)),
    )


_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    columns=st.lists(st.tuples(_NAMES, _types(2)), min_size=1, max_size=40),
    rows=st.integers(min_value=0, max_value=30),
    row_group_size=st.integers(min_value=1, max_value=10),
    compression=st.sampled_from(["snappy", "zstd", "none"]),
)
def test_names_match_pyarrow(
    tmp_path: Path,
    columns: list[tuple[str, pa.DataType]],
    rows: int,
    row_group_size: int,
    compression: str,
) -> None:
    schema = pa.schema([pa.field(name, kind) for name, kind in columns])
    table = pa.Table.from_pylist([{} for _ in range(rows)], schema=schema)
    path = tmp_path / "t.parquet"
    pq.write_table(
        table, path, row_group_size=row_group_size, compression=compression, version="2.6"
    )
    assert parquet_names(path) == tuple(pq.read_schema(path).names)


def test_names_of_a_file_duckdb_wrote(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    duckdb.sql(
        "COPY (SELECT range AS Id, 'x' || range AS \"Mixed Name\", [range] AS l, "
        "{'a': range, 'b': {'c': 1.5::DECIMAL(9,2)}} AS s, MAP {'k': range} AS m, "
        "uuid() AS u, range % 2 = 0 AS flag FROM range(5000)) "
        f"TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000)"
    )
    assert parquet_names(path) == ("Id", "Mixed Name", "l", "s", "m", "u", "flag")
    assert parquet_columns(path) == ("id", "mixed name", "l", "s", "m", "u", "flag")


def _footer_of(path: Path) -> bytes:
    data = path.read_bytes()
    length = int.from_bytes(data[-8:-4], "little")
    return data[-8 - length : -8]


@pytest.fixture(scope="module")
def footer(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("footer") / "f.parquet"
    table = pa.table({"a": [1, 2], "b": [[1], [2]], "c": [{"x": 1}, {"x": 2}]})
    pq.write_table(table, path)
    return _footer_of(path)


def test_footer_reader_reads_the_whole_schema(footer: bytes) -> None:
    assert schema_names(footer) == ("a", "b", "c")


@pytest.mark.slow
@settings(max_examples=300)
@given(data=st.data())
def test_damaged_footers_fail_cleanly(footer: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(footer)))
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, max(0, len(footer) - 1)), st.integers(0, 255)))
    )
    damaged = bytearray(footer[:cut])
    for at, value in flips:
        if at < len(damaged):
            damaged[at] = value
    try:
        names = schema_names(bytes(damaged))
    except FooterError:
        return
    assert all(isinstance(name, str) for name in names)


@pytest.mark.parametrize(
    "tail",
    [b"", b"PAR1", b"\x00\x00\x00\x00PARE", b"\xff\xff\xff\x7fPAR1"],
    ids=["empty", "magic-only", "encrypted", "length-past-start"],
)
def test_not_a_parquet_file(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1" + tail if tail else b"")
    with pytest.raises(FooterError):
        parquet_names(path)


def test_a_file_pyarrow_cannot_read_either_has_no_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"not parquet at all")
    assert parquet_columns(path) is None
