"""The records a sandbox serves: loading a snapshot, and each entity's table in memory.

A table keeps, per record and sorted by Id (ties in file order), the record's
JSON bytes and its Id as a sort key. The bytes are made once at load (a JSON
Lines record *is* its line; a Parquet table is turned into JSON column by
column with Arrow compute, not record by record), so a page is a join of
bytes and an Id range is two bisections: that is what lets one process serve
a million records to concurrent clients.

Field values for filters and ordering are columns built on first use and
kept: from the Arrow table for Parquet, else by parsing every record once.
Records are parsed back from their bytes when asked for, so what is served is
always exactly what the file held, every field kept, in the file's order.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from .. import stored_datetimes
from ..entities import ENTITIES, Entity
from ..errors import SnapshotFileError
from ..snapshot import locate
from .config import Source, resolve_entity

NO_ID = -math.inf
"""The sort key of a record without an integer Id: such records come first and are never
within an Id range."""


class _Missing:
    """A field absent from a record (unlike a field present with null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def id_key(value: Any) -> float:
    """The sort key of an Id value: the integer itself, ``NO_ID`` for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return NO_ID


def dumps(record: Any) -> bytes:
    """Compact JSON as the API sends it (UTF-8, non-ASCII kept, NaN as the bare token)."""
    return json.dumps(
        record, ensure_ascii=False, separators=(",", ":"), default=_json_default
    ).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        # Arrow reads UTC timestamps as +00:00; the API writes UTC with Z.
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"cannot serve a {type(value).__name__} value as JSON")


def _plain(value: Any) -> Any:
    """A value as its JSON text would parse back (for filters on Parquet columns)."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, datetime | date | time | timedelta | Decimal | bytes):
        return _json_default(value)
    return value


class EntityTable:
    """One entity's records, sorted by Id; the caller holds the sandbox's lock."""

    def __init__(
        self,
        entity: Entity,
        keys: list[float],
        blobs: list[bytes],
        *,
        arrow: pa.Table | None = None,
        columns: dict[str, list[Any]] | None = None,
    ) -> None:
        self.entity = entity
        self.keys = keys
        """Sort key of each record: its Id, or ``NO_ID`` (those come first)."""
        self.blobs = blobs
        """Each record's JSON bytes, exactly as served."""
        self._arrow = arrow
        """The Parquet table, row for row with ``blobs``, until the first insert or delete."""
        self._columns: dict[str, list[Any]] = dict(columns or {})
        self._all_columns = columns is not None
        """Whether ``_columns`` holds every field (then absent fields are absent everywhere)."""
        self.version = 0
        """Bumped on every change: query results cached for an older version are stale."""
        self.next_id = max((int(k) for k in keys if k != NO_ID), default=0) + 1
        """The Id the next inserted record gets: never one seen before, even if deleted."""

    def __len__(self) -> int:
        return len(self.blobs)

    @property
    def first_keyed(self) -> int:
        """Index of the first record with an integer Id."""
        return bisect_right(self.keys, NO_ID)

    def record(self, index: int) -> dict[str, Any]:
        """A fresh dict of the record at ``index``."""
        return json.loads(self.blobs[index])

    def indices_of(self, record_id: float) -> range:
        """The indices of the records whose Id is ``record_id`` (several if duplicated)."""
        return range(bisect_left(self.keys, record_id), bisect_right(self.keys, record_id))

    def id_span(self, low: float | None, high: float | None) -> tuple[int, int]:
        """[start, end) of the records with ``low <= Id <= high`` (None: unbounded)."""
        start = (
            self.first_keyed if low is None else max(bisect_left(self.keys, low), self.first_keyed)
        )
        end = len(self.keys) if high is None else bisect_right(self.keys, high)
        return start, max(start, end)

    # -- field values -------------------------------------------------------------------

    def fields(self) -> list[str]:
        """Every field name any record has."""
        if self._arrow is not None:
            return list(self._arrow.column_names)
        self._parse_all()
        return list(self._columns)

    def column(self, name: str) -> list[Any]:
        """The value of field ``name`` in every record (``MISSING`` where absent)."""
        if name in self._columns:
            return self._columns[name]
        if self._arrow is not None:
            if name not in self._arrow.column_names:
                return [MISSING] * len(self)
            values = self._arrow.column(name).to_pylist()
            if not _is_plain_type(self._arrow.schema.field(name).type):
                values = [_plain(value) for value in values]
            self._columns[name] = values
            return values
        self._parse_all()
        return self._columns.get(name) or [MISSING] * len(self)

    def _parse_all(self) -> None:
        """Every field of every record as columns, parsed once from the bytes."""
        if self._all_columns:
            return
        # One loads() of the whole array shares each key string across records.
        records = json.loads(b"[" + b",".join(self.blobs) + b"]")
        self._columns = _columns_of(records)
        self._all_columns = True

    # -- changes ------------------------------------------------------------------------

    def _detach_arrow(self) -> None:
        """Copy the Parquet columns out before rows move: the Arrow table stops matching."""
        if self._arrow is None:
            return
        for name in self._arrow.column_names:
            self.column(name)
        self._arrow = None
        self._all_columns = True

    def append(self, record: Mapping[str, Any]) -> None:
        """Add ``record``, whose Id must be at least every Id held (``next_id``)."""
        key = id_key(record.get("Id"))
        if self.keys and key < self.keys[-1]:
            raise ValueError("records are appended in Id order")
        self._detach_arrow()
        size = len(self)
        self.keys.append(key)
        self.blobs.append(dumps(record))
        for name, values in self._columns.items():
            values.append(record.get(name, MISSING))
        if self._all_columns:
            for name in record:
                if name not in self._columns:
                    self._columns[name] = [MISSING] * size + [record[name]]
        if key != NO_ID:
            self.next_id = max(self.next_id, int(key) + 1)
        self.version += 1

    def replace(self, index: int, record: Mapping[str, Any]) -> None:
        """Put ``record`` at ``index`` in place of the record there (same Id)."""
        if id_key(record.get("Id")) != self.keys[index]:
            raise ValueError("a record is replaced by one with the same Id")
        self._detach_arrow()
        self.blobs[index] = dumps(record)
        for name, values in self._columns.items():
            values[index] = record.get(name, MISSING)
        if self._all_columns:
            for name in record:
                if name not in self._columns:
                    self._columns[name] = [MISSING] * len(self)
                    self._columns[name][index] = record[name]
        self.version += 1

    def delete(self, indices: Iterable[int]) -> None:
        """Remove the records at ``indices``."""
        self._detach_arrow()
        for index in sorted(set(indices), reverse=True):
            del self.keys[index]
            del self.blobs[index]
            for values in self._columns.values():
                del values[index]
        self.version += 1


def _is_plain_type(arrow_type: pa.DataType) -> bool:
    """Whether Arrow gives Python values of this type as JSON would parse them."""
    return (
        pa.types.is_null(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
    )


def _columns_of(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    names = dict.fromkeys(name for record in records for name in record)
    return {name: [record.get(name, MISSING) for record in records] for name in names}


# -- loading ----------------------------------------------------------------------------


def load(source: Source) -> dict[Entity, EntityTable]:
    """A table for every entity: from a snapshot directory, records in memory, or nothing.

    Entities the source does not hold get an empty table. ``SnapshotError``
    when the directory is missing, holds two files for one entity, or a file
    cannot be read.
    """
    tables: dict[Entity, EntityTable] = {}
    if isinstance(source, Mapping):
        for key, records in source.items():
            entity = resolve_entity(key)
            tables[entity] = _from_records(entity, [dict(record) for record in records])
    elif source is not None:
        for entity, file in locate(Path(source), purpose="serve", require=False).items():
            tables[entity] = _load_file(entity, file.path)
    for entity in ENTITIES:
        tables.setdefault(entity, EntityTable(entity, [], [], columns={}))
    return tables


def _load_file(entity: Entity, path: Path) -> EntityTable:
    try:
        if path.suffix == ".parquet":
            return _from_parquet(entity, path)
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotFileError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if path.suffix == ".jsonl":
        return _from_jsonl(entity, path, data)
    return _from_records(entity, _records_of_json(path, data))


def _from_records(
    entity: Entity, records: list[dict[str, Any]], blobs: list[bytes] | None = None
) -> EntityTable:
    """A table of parsed records (their own bytes in ``blobs`` if the file gave them)."""
    keys = [id_key(record.get("Id")) for record in records]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    records = [records[i] for i in order]
    blobs = [dumps(record) for record in records] if blobs is None else [blobs[i] for i in order]
    return EntityTable(entity, [keys[i] for i in order], blobs, columns=_columns_of(records))


def _records_of_json(path: Path, data: bytes) -> list[dict[str, Any]]:
    """The records of a record array, one page envelope or an array of envelopes."""
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SnapshotFileError(f"{path}: is not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise SnapshotFileError(f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc

    def is_envelope(value: Any) -> bool:
        return isinstance(value, dict) and isinstance(value.get("Records"), list)

    if is_envelope(document):
        records = document["Records"]
    elif isinstance(document, list) and document and all(map(is_envelope, document)):
        records = [record for page in document for record in page["Records"]]
    elif isinstance(document, list):
        records = document
    else:
        raise SnapshotFileError(
            f"{path}: is not an array of records, a page envelope or an array of envelopes"
        )
    for position, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise SnapshotFileError(f"{path}: record {position} is not a JSON object")
    return records


def _from_jsonl(entity: Entity, path: Path, data: bytes) -> EntityTable:
    """Each line is served as it is; Arrow's reader finds the Ids (and checks the syntax)."""
    lines = [line for line in data.split(b"\n") if line and not line.isspace()]
    try:
        table = pajson.read_json(
            pa.BufferReader(data),
            read_options=pajson.ReadOptions(block_size=16 << 20),
            parse_options=pajson.ParseOptions(
                explicit_schema=pa.schema([("Id", pa.int64())]),
                unexpected_field_behavior="ignore",
                newlines_in_values=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        table = None  # an Id that is not an integer, or a broken line: see below
    if table is None or table.num_rows != len(lines):
        return _from_records(entity, *_jsonl_records(path, data))
    keys = [NO_ID if value is None else value for value in table.column("Id").to_pylist()]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return EntityTable(
        entity,
        [keys[i] for i in order],
        [lines[i].rstrip(b"\r") for i in order],
    )


def _jsonl_records(path: Path, data: bytes) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Every record parsed in Python, naming the line at fault."""
    records, blobs = [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line or line.isspace():
            continue
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SnapshotFileError(f"{path}: line {number} is not valid JSON ({exc})") from exc
        if not isinstance(record, dict):
            raise SnapshotFileError(f"{path}: line {number} is not a JSON object")
        records.append(record)
        blobs.append(line.strip())
    return records, blobs


def _from_parquet(entity: Entity, path: Path) -> EntityTable:
    try:
        # Date-time columns as the API sends them: text (recon fetch stores them typed).
        table = stored_datetimes.as_text(pq.read_table(path))
    except (pa.ArrowException, OSError) as exc:
        raise SnapshotFileError(f"{path}: is not a readable Parquet file ({exc})") from exc
    if "Id" in table.column_names:
        keys = [id_key(value) for value in table.column("Id").to_pylist()]
    else:
        keys = [NO_ID] * table.num_rows
    order = sorted(range(len(keys)), key=keys.__getitem__)
    if order != list(range(len(order))):
        table = table.take(pa.array(order, type=pa.int64()))
        keys = [keys[i] for i in order]
    return EntityTable(entity, keys, arrow_to_json(table), arrow=table)


# -- Parquet to JSON, a column at a time --------------------------------------------------

_NEEDS_ESCAPE = r'[\\"\x00-\x1f]'


def arrow_to_json(table: pa.Table, batch_rows: int = 65_536) -> list[bytes]:
    """Each row of ``table`` as compact JSON bytes, the same value ``json.dumps`` would give.

    Each column becomes a column of JSON texts with Arrow compute (numbers
    cast, strings quoted; only strings that need escaping, and nested or
    temporal values, go through Python), the columns are joined row-wise, and
    the rows cut out of the result's one data buffer. Arrow releases the GIL,
    so batches are converted on every core.
    """
    batches = [batch for batch in table.to_batches(max_chunksize=batch_rows) if batch.num_rows]
    blobs: list[bytes] = []
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for rows in pool.map(_batch_to_json, batches):
            blobs.extend(_cut(rows))
    return blobs


def _batch_to_json(batch: pa.RecordBatch) -> pa.Array:
    if not batch.num_columns:
        return pa.array(["{}"] * batch.num_rows, pa.large_string())
    parts = []
    for position, name in enumerate(batch.schema.names):
        prefix = ("{" if position == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"
        parts.append(
            pc.binary_join_element_wise(
                _large(prefix), _json_texts(batch.column(position)), _large("")
            )
        )
    return pc.binary_join_element_wise(*parts, _large("}"), _large(""))


def _large(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _cut(strings: pa.Array) -> list[bytes]:
    """The values of a large_string array as bytes, sliced from its data buffer."""
    offsets = (
        memoryview(strings.buffers()[1])
        .cast("q")[strings.offset : strings.offset + len(strings) + 1]
        .tolist()
    )
    data = strings.buffers()[2].to_pybytes()
    return [data[start:end] for start, end in itertools.pairwise(offsets)]


def _json_texts(column: pa.Array) -> pa.Array:
    """The JSON text of each value of ``column`` (``null`` for nulls), as large_string."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _json_texts(column.dictionary_decode())
    if pa.types.is_null(kind):
        texts = pa.nulls(len(column), pa.large_string())
    elif pa.types.is_boolean(kind):
        texts = pc.if_else(column, _large("true"), _large("false"))
    elif pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        texts = pc.cast(column, pa.large_string())
    elif pa.types.is_floating(kind):
        texts = _float_texts(column)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        texts = _string_texts(pc.cast(column, pa.large_string()))
    else:
        # Temporal, nested and binary values are rare: Python's json says it best.
        texts = pa.array(
            [None if value is None else dumps(value).decode() for value in column.to_pylist()],
            pa.large_string(),
        )
    return pc.fill_null(texts, _large("null"))


def _float_texts(column: pa.Array) -> pa.Array:
    column = pc.cast(column, pa.float64())
    texts = pc.cast(column, pa.large_string())
    # Arrow writes 10.0 as "10": JSON would then read an integer where the file had a float.
    integral = pc.match_substring_regex(texts, r"^-?\d+$")
    texts = pc.if_else(
        integral, pc.binary_join_element_wise(texts, _large(".0"), _large("")), texts
    )
    texts = pc.if_else(pc.is_nan(column), _large("NaN"), texts)
    infinite = pc.is_inf(column)
    signed = pc.if_else(pc.less(column, 0.0), _large("-Infinity"), _large("Infinity"))
    return pc.if_else(infinite, signed, texts)


def _string_texts(strings: pa.Array) -> pa.Array:
    quoted = pc.binary_join_element_wise(_large('"'), strings, _large('"'), _large(""))
    needs = pc.fill_null(pc.match_substring_regex(strings, _NEEDS_ESCAPE), False)
    if not pc.any(needs).as_py():
        return quoted
    escaped = [json.dumps(value, ensure_ascii=False) for value in strings.filter(needs).to_pylist()]
    return pc.replace_with_mask(quoted, needs, pa.array(escaped, pa.large_string()))
