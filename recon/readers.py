"""Reading one snapshot file into raw columns, whatever its form.

Raw means as the file gave it: no field is typed or judged here. A column is
an Arrow array when its values share a JSON type, or a plain list of Python
values when they do not (``"60.00"`` among numbers, say), for the schema step
to sort out value by value.

JSON Lines go through pyarrow's JSON reader, first with every declared field
typed (no inference: fastest), then with only text fields declared; a file it
cannot take whole (mixed types, a broken line) is re-read line by line with
``json``, which either yields the records or names the line and column at
fault. ``.json`` files are parsed with ``json`` and may be a record array, one
page envelope or an array of envelopes. Parquet is read with pyarrow.

Each file's SHA-256 is taken from the bytes read (.json) or in a thread
beside the read, so fingerprinting adds little to the wall time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

from .entities import Entity
from .errors import SnapshotFileError
from .fields import FIELDS, Kind
from .snapshot import SnapshotFile, sha256_file

Column = pa.Array | pa.ChunkedArray | list


@dataclass(frozen=True)
class RawTable:
    """The records of one file as columns, in file order, and the file's SHA-256."""

    columns: dict[str, Column]
    num_rows: int
    sha256: str


def read(file: SnapshotFile) -> RawTable:
    """The raw columns of ``file``; ``SnapshotFileError`` when it cannot be parsed."""
    try:
        if file.format == "jsonl":
            return _read_jsonl(file.path, file.entity)
        if file.format == "json":
            return _read_json(file.path)
        return _read_parquet(file.path)
    except OSError as exc:
        raise SnapshotFileError(f"{file.path}: cannot be read: {exc.strerror or exc}") from exc


@contextmanager
def _hashing(path: Path) -> Iterator[Future[str]]:
    """The file's SHA-256, computed in a thread while the caller reads the file.

    hashlib and pyarrow's readers release the GIL, so the hash is nearly free
    beside the read; a Python file object that hashes as it is read was measured
    at a third slower than pyarrow reading the path itself.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(sha256_file, path)


def _read_parquet(path: Path) -> RawTable:
    with _hashing(path) as digest:
        try:
            # pre_buffer=False: on a local file, buffering whole row groups first was
            # measured at twice the time of reading columns as needed.
            table = pq.read_table(path, pre_buffer=False)
        except (pa.ArrowException, OSError) as exc:
            raise SnapshotFileError(
                f"{path}: is not a readable Parquet file ({exc}); fetch it again or remove it"
            ) from exc
        return RawTable(_columns(table), table.num_rows, digest.result())


def _typed_schema(entity: Entity) -> pa.Schema:
    """Every declared field with its Arrow type: lets pyarrow skip type inference."""
    return pa.schema([(spec.name, _JSON_TYPES[spec.kind]) for spec in FIELDS[entity]])


def _text_schema(entity: Entity) -> pa.Schema:
    """The declared text and date-time fields, as strings.

    pyarrow's JSON reader would otherwise infer ISO-looking strings as
    timestamps, losing the ``Z`` or offset the contract's time rule needs, and
    turning a date-like Description into something that is not text.
    """
    text_kinds = (Kind.STRING, Kind.DATETIME)
    return pa.schema(
        [(spec.name, pa.string()) for spec in FIELDS[entity] if spec.kind in text_kinds]
    )


_JSON_TYPES = {
    Kind.INTEGER: pa.int64(),
    Kind.NUMBER: pa.float64(),
    Kind.STRING: pa.string(),
    Kind.BOOLEAN: pa.bool_(),
    Kind.DATETIME: pa.string(),
}


def _read_jsonl(path: Path, entity: Entity) -> RawTable:
    with _hashing(path) as digest:
        for schema in (_typed_schema(entity), _text_schema(entity)):
            try:
                table = pajson.read_json(
                    path,
                    read_options=pajson.ReadOptions(block_size=16 << 20),
                    parse_options=pajson.ParseOptions(
                        explicit_schema=schema,
                        newlines_in_values=False,
                        unexpected_field_behavior="infer",
                    ),
                )
                return RawTable(_columns(table), table.num_rows, digest.result())
            except pa.ArrowInvalid:
                # A value not of its declared type, or a broken line: try the next way.
                continue
        # Mixed types or a broken line: the line-by-line reader keeps what pyarrow
        # cannot, or says exactly where the file is broken.
        return _records_to_table(list(_jsonl_records(path)), digest.result())


def _columns(table: pa.Table) -> dict[str, Column]:
    return dict(zip(table.column_names, table.columns, strict=True))


def _jsonl_records(path: Path):
    with path.open("rb") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                # Without its line break, so that an error's column is on this line.
                record = json.loads(line.rstrip(b"\r\n"))
            except UnicodeDecodeError as exc:
                raise SnapshotFileError(
                    f"{path}: line {line_number} is not UTF-8 text ({exc.reason}); "
                    "re-export the file"
                ) from exc
            except json.JSONDecodeError as exc:
                raise SnapshotFileError(
                    f"{path}: line {line_number} column {exc.colno}: {exc.msg}; "
                    "fix or remove that line and run again"
                ) from exc
            if not isinstance(record, dict):
                raise SnapshotFileError(
                    f"{path}: line {line_number} is a JSON {_json_type(record)} where a record "
                    "(an object) belongs; fix or remove that line and run again"
                )
            yield record


def _read_json(path: Path) -> RawTable:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SnapshotFileError(
            f"{path}: is not UTF-8 text (byte {exc.start}: {exc.reason}); re-export the file"
        ) from exc
    except json.JSONDecodeError as exc:
        raise SnapshotFileError(
            f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}; fix the file and run again"
        ) from exc
    return _records_to_table(_records_of(document, path), digest)


def _records_of(document: Any, path: Path) -> list[dict[str, Any]]:
    """The records of a record array, a page envelope or an array of envelopes."""
    envelopes = [_is_envelope(item) for item in document] if isinstance(document, list) else []
    if _is_envelope(document):
        pages = [document]
    elif envelopes and all(envelopes):
        pages = document
    elif any(envelopes):
        raise SnapshotFileError(
            f"{path}: mixes page envelopes and plain records in one array; keep one form"
        )
    elif isinstance(document, list):
        pages = [{"Records": document}]
    else:
        raise SnapshotFileError(
            f"{path}: is a JSON {_json_type(document)}, not an array of records, a page "
            'envelope ({"Records": [...]}) or an array of envelopes'
        )
    records = []
    for page_number, page in enumerate(pages, start=1):
        for position, record in enumerate(page["Records"], start=1):
            if not isinstance(record, dict):
                where = f"page {page_number} " if len(pages) > 1 else ""
                raise SnapshotFileError(
                    f"{path}: {where}record {position} is a JSON {_json_type(record)}, not an "
                    "object; fix the file and run again"
                )
            records.append(record)
    return records


def _is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("Records"), list)


def _records_to_table(records: list[dict[str, Any]], sha256: str) -> RawTable:
    """Columns from parsed records: Arrow where a column's values share a type, else a list."""
    names = dict.fromkeys(name for record in records for name in record)
    columns: dict[str, Column] = {}
    for name in names:
        values = [record.get(name) for record in records]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            columns[name] = values
    return RawTable(columns, len(records), sha256)


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
