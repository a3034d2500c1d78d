"""The top-level column names of a Parquet file, read from its footer by hand.

A cold build reads the columns of every Parquet source before it binds the models below
them. ``pyarrow.parquet.read_schema`` does that, but importing it costs more than the rest
of a small project's binding, on the path to the first model. The names are the first
thing in the footer, so this reads that much of it and stops:

- a Parquet file ends with its footer (``FileMetaData``, Thrift's compact protocol), the
  footer's length as 4 little-endian bytes, and the magic ``PAR1``;
- ``FileMetaData`` holds its ``version`` (field 1), then its ``schema`` (field 2): a flat
  list of ``SchemaElement`` in depth-first order, the root first. An element's ``name`` is
  its field 4 and its ``num_children`` its field 5 (absent for a leaf).

An encrypted footer (magic ``PARE``) or anything this reader does not expect raises
:class:`FooterError`, and the caller falls back to pyarrow.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

_MAGIC = b"PAR1"
_TAIL = 8  # the footer's length and the magic

# Thrift compact protocol type ids
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE = 0, 1, 2, 3, 4, 5, 6, 7
_BINARY, _LIST, _SET, _MAP, _STRUCT, _UUID = 8, 9, 10, 11, 12, 13
# how deep a value may nest before the footer is taken as damaged
_MAX_DEPTH = 64


class FooterError(ValueError):
    """The file is not a Parquet file this reader understands."""


def parquet_names(path: Path) -> tuple[str, ...]:
    """The names of the top-level columns of the Parquet file at ``path``, in order."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size < len(_MAGIC) + _TAIL:
            raise FooterError(f"{path}: too short for a Parquet file")
        fh.seek(size - _TAIL)
        tail = fh.read(_TAIL)
        if tail[4:] != _MAGIC:
            raise FooterError(f"{path}: no Parquet magic at the end (or an encrypted footer)")
        length = struct.unpack("<I", tail[:4])[0]
        if length > size - len(_MAGIC) - _TAIL:
            raise FooterError(f"{path}: the footer's length is past the file's start")
        fh.seek(size - _TAIL - length)
        footer = fh.read(length)
    return schema_names(footer)


def schema_names(footer: bytes) -> tuple[str, ...]:
    """The top-level column names in a serialized ``FileMetaData``."""
    reader = _Reader(footer)
    field = 0
    while True:
        field, kind = reader.field_header(field)
        if kind == _STOP:
            raise FooterError("the footer has no schema")
        if field == 2 and kind == _LIST:
            return _top_level_names(reader)
        reader.skip(kind, 0)


def _top_level_names(reader: _Reader) -> tuple[str, ...]:
    count, kind = reader.collection_header()
    if kind != _STRUCT or count == 0:
        raise FooterError("the schema is not a list of elements")
    _, root_children = _element(reader)
    names: list[str] = []
    # children still to read, for each open group; the root's are the top level
    open_groups = [root_children]
    for _ in range(count - 1):
        while open_groups and open_groups[-1] == 0:
            open_groups.pop()
        if not open_groups:
            raise FooterError("the schema has more elements than its groups hold")
        open_groups[-1] -= 1
        name, children = _element(reader)
        if len(open_groups) == 1:
            names.append(name)
        if children:
            open_groups.append(children)
    if any(open_groups):
        raise FooterError("the schema ends inside a group")
    return tuple(names)


def _element(reader: _Reader) -> tuple[str, int]:
    """The name and number of children of one ``SchemaElement``."""
    name: str | None = None
    children = 0
    field = 0
    while True:
        field, kind = reader.field_header(field)
        if kind == _STOP:
            break
        if field == 4 and kind == _BINARY:
            try:
                name = reader.binary().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FooterError("a column name is not UTF-8") from exc
        elif field == 5 and kind == _I32:
            children = reader.varint_signed()
        else:
            reader.skip(kind, 0)
    if name is None or children < 0:
        raise FooterError("a schema element has no name")
    return name, children


class _Reader:
    """A cursor over Thrift compact-protocol bytes, reading only what the schema needs."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def byte(self) -> int:
        if self._at >= len(self._data):
            raise FooterError("the footer ends early")
        value = self._data[self._at]
        self._at += 1
        return value

    def take(self, n: int) -> bytes:
        end = self._at + n
        if n < 0 or end > len(self._data):
            raise FooterError("the footer ends early")
        chunk = self._data[self._at : end]
        self._at = end
        return chunk

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 70:
                raise FooterError("a number in the footer is too long")

    def varint_signed(self) -> int:
        raw = self.varint()
        return (raw >> 1) ^ -(raw & 1)

    def binary(self) -> bytes:
        return self.take(self.varint())

    def field_header(self, last: int) -> tuple[int, int]:
        """The next field's id and type; the type is ``_STOP`` at a struct's end."""
        header = self.byte()
        kind = header & 0x0F
        if kind == _STOP:
            return last, _STOP
        delta = header >> 4
        return (last + delta if delta else self.varint_signed()), kind

    def collection_header(self) -> tuple[int, int]:
        header = self.byte()
        count = header >> 4
        if count == 15:
            count = self.varint()
        return count, header & 0x0F

    def skip(self, kind: int, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise FooterError("the footer nests too deep")
        if kind in (_TRUE, _FALSE):
            return
        if kind == _BYTE:
            self.take(1)
        elif kind in (_I16, _I32, _I64):
            self.varint()
        elif kind == _DOUBLE:
            self.take(8)
        elif kind == _UUID:
            self.take(16)
        elif kind == _BINARY:
            self.binary()
        elif kind in (_LIST, _SET):
            count, element = self.collection_header()
            for _ in range(count):
                self._skip_element(element, depth + 1)
        elif kind == _MAP:
            count = self.varint()
            if count:
                types = self.byte()
                for _ in range(count):
                    self._skip_element(types >> 4, depth + 1)
                    self._skip_element(types & 0x0F, depth + 1)
        elif kind == _STRUCT:
            field = 0
            while True:
                field, inner = self.field_header(field)
                if inner == _STOP:
                    return
                self.skip(inner, depth + 1)
        else:
            raise FooterError(f"unknown Thrift type {kind} in the footer")

    def _skip_element(self, kind: int, depth: int) -> None:
        # a boolean inside a list, set or map is one byte of its own
        if kind in (_TRUE, _FALSE):
            self.take(1)
        else:
            self.skip(kind, depth)
