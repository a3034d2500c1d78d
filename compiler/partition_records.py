"""The warehouse's latest state row of each partition, kept compact.

A warehouse of 2,000 daily models holds 730,000 partition rows. Kept as one dict per row,
reading them back from the kept state (runtime/kept_state.py) costs about a second, and
``teal partitions MODEL`` pays it for one model. So:

- :class:`PartitionRecords` holds one model's rows column by column (the strings that
  repeat, such as statuses, hashes and run ids, shared), gives a row as a dict when one is
  asked for (``records.get(key)``, as the planner and reports always read them), and gives
  whole columns to the planner's loops over every recorded partition (:meth:`columns`);
- :class:`PartitionState` maps models to their records. Pickled, each model's records are
  pickled apart and unpickled only when that model is asked for: ``teal partitions MODEL``
  reads its model and its upstreams, not all 2,000.

``PlanState`` turns the plain ``{model: {key: {field: value}}}`` mappings tests and older
callers give into these (:func:`partition_state`).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

# the fields of a row, in the order the columns keep them
FIELDS = (
    "status",
    "rows",
    "sql_hash",
    "finished_at",
    "duration_ms",
    "message",
    "run_id",
    "data_version",
)
# the form PartitionRecords and PartitionState pickle to: kept state (runtime/kept_state.py)
# written in another form is not read (its models are unpickled only when asked for, so a
# form that changed would fail late). Change it whenever __reduce__ changes.
PICKLED_FORM = 1
_SHARED = ("status", "sql_hash", "run_id")  # fields whose values repeat: one object each
_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)


class PartitionRecords(Mapping[str, dict[str, Any]]):
    """One model's partition rows: key -> ``{status, rows, sql_hash, finished_at,
    duration_ms, message, run_id, data_version}``, stored as columns."""

    __slots__ = ("_columns", "_keys", "_micros", "_position")

    def __init__(
        self, keys: tuple[str, ...], columns: tuple[tuple[Any, ...], ...], micros: bool = False
    ) -> None:
        self._keys = keys
        self._columns = columns  # one tuple per FIELDS entry, aligned with keys
        # finished_at held as microseconds since the epoch (as unpickled): made a datetime
        # when read, so a plan that never reads it never pays for 730,000 of them
        self._micros = micros
        self._position: dict[str, int] | None = None

    @classmethod
    def from_rows(
        cls, rows: Iterable[Sequence[Any]], shared: dict[Any, Any] | None = None
    ) -> PartitionRecords:
        """From ``(key, *FIELDS)`` rows, one per key; ``shared`` makes equal strings one
        object (across models too: every daily model has the same keys). Transposed and
        shared column by column, in C loops: a warehouse's 730,000 rows are read this way."""
        share = ({} if shared is None else shared).setdefault
        columns = list(zip(*rows, strict=True))
        if not columns:
            return cls((), tuple(() for _ in FIELDS))
        for i in (0, *(1 + FIELDS.index(f) for f in _SHARED)):
            columns[i] = tuple(map(share, columns[i], columns[i]))
        return cls(columns[0], tuple(columns[1:]))

    @classmethod
    def from_dicts(cls, records: Mapping[str, Mapping[str, Any]]) -> PartitionRecords:
        """From ``{key: {field: value}}``; a field a row does not have is None."""
        return cls.from_rows((key, *(rec.get(f) for f in FIELDS)) for key, rec in records.items())

    def _positions(self) -> dict[str, int]:
        found = self._position
        if found is None:
            found = self._position = {key: i for i, key in enumerate(self._keys)}
        return found

    def columns(self, *fields: str) -> Iterator[tuple[Any, ...]]:
        """``(key, value of each of fields)`` for every row, in order, without a dict per
        row."""
        return zip(self._keys, *(self._column(f) for f in fields), strict=True)

    def keys_in_order(self) -> tuple[str, ...]:
        """The recorded keys, in order, as one tuple (no iterator per use)."""
        return self._keys

    def column(self, field: str) -> tuple[Any, ...]:
        """One field's values of every row, aligned with :meth:`keys_in_order`; for the
        planner's checks over every recorded partition in C loops (not ``finished_at``,
        which may be held as integers)."""
        if field == "finished_at":
            raise ValueError("finished_at is read through columns()")
        return self._columns[FIELDS.index(field)]

    def _column(self, field: str) -> Iterable[Any]:
        column = self._columns[FIELDS.index(field)]
        if field == "finished_at" and self._micros:
            return map(_from_micros, column)
        return column

    def _row(self, i: int) -> dict[str, Any]:
        row = {field: column[i] for field, column in zip(FIELDS, self._columns, strict=True)}
        if self._micros:
            row["finished_at"] = _from_micros(row["finished_at"])
        return row

    def __getitem__(self, key: str) -> dict[str, Any]:
        return self._row(self._positions()[key])

    def get(self, key: str, default: Any = None) -> Any:
        i = self._positions().get(key)
        return default if i is None else self._row(i)

    def __contains__(self, key: object) -> bool:
        return key in self._positions()

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a mapping, compared by content

    def __repr__(self) -> str:
        return f"PartitionRecords({dict(self.items())!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # times as microseconds since the epoch: a datetime costs ten times an int to pickle
        columns = list(self._columns)
        micros = self._micros
        at = FIELDS.index("finished_at")
        if not micros and all(
            t is None or (type(t) is datetime and t.tzinfo is None) for t in columns[at]
        ):  # naive times (DuckDB's TIMESTAMP): as integers; anything else as it is
            columns[at] = tuple(map(_to_micros, columns[at]))
            micros = True
        return (PartitionRecords, (self._keys, tuple(columns), micros))


def _to_micros(at: datetime | None) -> int | None:
    return None if at is None else (at - _EPOCH) // _US


def _from_micros(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + micros * _US


class PartitionState(Mapping[str, PartitionRecords]):
    """model -> its :class:`PartitionRecords`; unpickled model by model, when asked for."""

    __slots__ = ("_loaded", "_pickled")

    def __init__(
        self,
        records: Mapping[str, PartitionRecords] | None = None,
        pickled: Mapping[str, bytes | memoryview | pickle.PickleBuffer] | None = None,
    ) -> None:
        self._loaded: dict[str, PartitionRecords] = dict(records or {})
        # a model's records, pickled: bytes, or a view of the kept state's file (see
        # runtime/kept_state.py: read from the file only when the model is asked for)
        self._pickled: dict[str, bytes | memoryview | pickle.PickleBuffer] = dict(pickled or {})

    def __getitem__(self, model: str) -> PartitionRecords:
        found = self._loaded.get(model)
        if found is None:
            found = pickle.loads(self._pickled[model])  # KeyError: no such model
            self._loaded[model] = found
        return found

    def get(self, model: str, default: Any = None) -> Any:
        if model in self._loaded or model in self._pickled:
            return self[model]
        return default

    def __contains__(self, model: object) -> bool:
        return model in self._loaded or model in self._pickled

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self._pickled), **dict.fromkeys(self._loaded)})

    def __len__(self) -> int:
        return len(self._pickled.keys() | self._loaded.keys())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PartitionState({dict(self.items())!r})"

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        pickled: dict[str, Any] = dict(self._pickled)
        for model, records in self._loaded.items():
            if model not in pickled:
                pickled[model] = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
        for model, blob in pickled.items():
            # protocol 5: each model's bytes may be written out of band (kept_state.py
            # puts them after the rest, to be read when asked for)
            pickled[model] = pickle.PickleBuffer(blob) if protocol >= 5 else bytes(blob)
        return (PartitionState, (None, pickled))


NO_RECORDS = PartitionRecords((), tuple(() for _ in FIELDS))  # a model with no rows


def partition_state(
    found: Mapping[str, Mapping[str, Mapping[str, Any]]] | None,
) -> PartitionState:
    """``found`` as a :class:`PartitionState` (records as :class:`PartitionRecords`)."""
    if isinstance(found, PartitionState):
        return found
    return PartitionState(
        {
            model: records
            if isinstance(records, PartitionRecords)
            else PartitionRecords.from_dicts(records)
            for model, records in (found or {}).items()
        }
    )
