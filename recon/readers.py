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
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

from .entities import Entity
from .errors import SnapshotFileError
from .fields import ALIASES, FIELDS, PRESENTATIONAL, Kind
from .snapshot import JSON_TEXT, SnapshotFile

Column = pa.Array | pa.ChunkedArray | list


@dataclass(frozen=True)
class RawTable:
    """The records of one file as columns, in file order."""

    columns: dict[str, Column]
    num_rows: int


def read(file: SnapshotFile) -> RawTable:
    """The raw columns of ``file``; ``SnapshotFileError`` when it cannot be parsed."""
    try:
        if file.format == "jsonl":
            raw = _read_jsonl(file.path, file.entity)
        elif file.format == "json":
            raw = _read_json(file.path)
        else:
            raw = _read_parquet(file.path)
    except OSError as exc:
        raise SnapshotFileError(f"{file.path}: cannot be read: {exc.strerror or exc}") from exc
    return _without_empty_extras(raw, file.entity)


def _without_empty_extras(raw: RawTable, entity: Entity) -> RawTable:
    """Drop undeclared fields that hold nothing but nulls.

    The JSON Lines reader cannot keep them (a field first seen with null values
    has no type to declare), so no reader does: the same records load alike from
    every form.
    """
    declared = {spec.name for spec in FIELDS[entity]} | set(ALIASES.get(entity, {}))
    empty = [
        name
        for name, column in raw.columns.items()
        if name not in declared and not isinstance(column, list) and pa.types.is_null(column.type)
    ]
    if not empty:
        return raw
    return RawTable({k: v for k, v in raw.columns.items() if k not in empty}, raw.num_rows)


def _read_parquet(path: Path) -> RawTable:
    try:
        names = [name for name in pq.read_schema(path).names if name not in PRESENTATIONAL]
        # pre_buffer=False: on a local file, buffering whole row groups first was
        # measured at twice the time of reading columns as needed.
        table = pq.read_table(path, columns=names, pre_buffer=False)
    except (pa.ArrowException, OSError) as exc:
        raise SnapshotFileError(
            f"{path}: is not a readable Parquet file ({exc}); fetch it again or remove it"
        ) from exc
    columns = _columns(table)
    for field in table.schema:
        if field.metadata and JSON_TEXT in field.metadata and field.name in columns:
            # Values of mixed JSON types, stored as their JSON text by recon fetch.
            columns[field.name] = [
                None if text is None else json.loads(text)
                for text in columns[field.name].to_pylist()
            ]
    return RawTable(columns, table.num_rows)


_JSONL_BLOCK = 16 << 20


def typed_schema(entity: Entity, free: tuple[pa.Field, ...] = ()) -> pa.Schema:
    """Every declared field (and alias) with its Arrow type, then ``free``: lets pyarrow
    skip inference."""
    types = {spec.name: _JSON_TYPES[spec.kind] for spec in FIELDS[entity]}
    aliases = {alias: types[name] for alias, name in ALIASES.get(entity, {}).items()}
    return pa.schema(list({**types, **aliases}.items()) + list(free))


def _free_fields_of_first_block(path: Path, entity: Entity) -> tuple[pa.Field, ...] | None:
    """The undeclared fields of the file's first block, with the types pyarrow infers there.

    Declaring them too lets the whole file be read with no inference at all, and
    fields that first appear later are ignored (the contract lets unknown fields
    be ignored); if a later value contradicts a type guessed here, the read fails
    and the next attempt infers instead. None when the first block itself cannot
    be read this way.
    """
    with path.open("rb") as handle:
        head = handle.read(_JSONL_BLOCK)
    head = head[: head.rfind(b"\n") + 1]
    try:
        sample = pajson.read_json(
            pa.BufferReader(head),
            parse_options=pajson.ParseOptions(explicit_schema=text_schema(entity)),
        )
    except pa.ArrowInvalid:
        return None
    declared = {spec.name for spec in FIELDS[entity]} | set(ALIASES.get(entity, {}))
    return tuple(
        # An ISO-looking string would be guessed a timestamp, losing its Z or offset:
        # fields recon does not know stay the text the file holds.
        pa.field(field.name, pa.string()) if is_temporal(field.type) else field
        for field in sample.schema
        if field.name not in declared
        and field.name not in PRESENTATIONAL
        and not pa.types.is_null(field.type)
    )


def is_temporal(kind: pa.DataType) -> bool:
    """Whether pyarrow made a date, time or timestamp of it."""
    return pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind)


def text_schema(entity: Entity) -> pa.Schema:
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
    free = _free_fields_of_first_block(path, entity)
    if free is not None:
        try:
            table = pajson.read_json(
                path,
                read_options=pajson.ReadOptions(block_size=_JSONL_BLOCK),
                parse_options=_parse_options(typed_schema(entity, free), "ignore"),
            )
        except pa.ArrowInvalid:
            pass  # a value not of its declared type, or a broken line
        else:
            return RawTable(_columns(table), table.num_rows)
    return _read_jsonl_by_block(path, entity)


def _parse_options(schema: pa.Schema, undeclared: str) -> pajson.ParseOptions:
    return pajson.ParseOptions(
        explicit_schema=schema, newlines_in_values=False, unexpected_field_behavior=undeclared
    )


def _read_jsonl_by_block(path: Path, entity: Entity) -> RawTable:
    """The file block by block, each the fastest way that takes it, so that one odd value
    costs one block of Python parsing, not the whole file's.

    A block goes through pyarrow with the declared types, then with only text
    declared (other types inferred); only a block neither takes is parsed line by
    line, which also names the line of any syntax error. Columns are then merged
    block by block: Arrow where the blocks agree on a type, Python values only for
    a column whose types conflict.
    """
    tables: list[RawTable] = []
    for first_line, block in _line_blocks(path):
        for schema in (typed_schema(entity), text_schema(entity)):
            try:
                table = pajson.read_json(
                    pa.BufferReader(block), parse_options=_parse_options(schema, "infer")
                )
            except pa.ArrowInvalid:
                continue
            tables.append(RawTable(_columns(table), table.num_rows))
            break
        else:
            tables.append(records_to_table(list(_jsonl_records(path, block, first_line))))
    return _merge_blocks(tables)


def _line_blocks(path: Path) -> Iterator[tuple[int, bytes]]:
    """Blocks of whole lines of about ``_JSONL_BLOCK`` bytes, with the number of each
    block's first line."""
    first_line, carry = 1, b""
    with path.open("rb") as handle:
        while chunk := handle.read(_JSONL_BLOCK):
            data = carry + chunk
            end = data.rfind(b"\n") + 1
            if end == 0:
                carry = data
                continue
            block, carry = data[:end], data[end:]
            yield first_line, block
            first_line += block.count(b"\n")
    if carry.strip():
        yield first_line, carry


def _merge_blocks(tables: list[RawTable]) -> RawTable:
    names = dict.fromkeys(name for table in tables for name in table.columns)
    columns = {}
    for name in names:
        pieces = [table.columns.get(name) for table in tables]
        lengths = [table.num_rows for table in tables]
        columns[name] = _merge_column(pieces, lengths)
    return RawTable(columns, sum(table.num_rows for table in tables))


def _merge_column(pieces: list[Column | None], lengths: list[int]) -> Column:
    """One column from each block's piece (None where a block lacks it)."""
    arrow = [piece for piece in pieces if piece is not None and not isinstance(piece, list)]
    types = {piece.type for piece in arrow if not pa.types.is_null(piece.type)}
    if len(arrow) == sum(piece is not None for piece in pieces):
        if len(types) > 1 and all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
            types = {pa.float64()}  # int in one block, float in another: JSON numbers
        if len(types) <= 1:
            common = types.pop() if types else pa.null()
            chunks = []
            for piece, length in zip(pieces, lengths, strict=True):
                if piece is None:
                    chunks.append(pa.nulls(length, common))
                else:
                    # Arrays, not ChunkedArrays: pyarrow would convert those value by value.
                    piece = piece.cast(common)
                    chunks.extend(piece.chunks if isinstance(piece, pa.ChunkedArray) else [piece])
            return pa.chunked_array(chunks, type=common)
    # Types conflict across blocks: this column alone becomes Python values.
    values: list[Any] = []
    for piece, length in zip(pieces, lengths, strict=True):
        if piece is None:
            values.extend([None] * length)
        else:
            values.extend(piece if isinstance(piece, list) else piece.to_pylist())
    return values


def _columns(table: pa.Table) -> dict[str, Column]:
    return {
        name: column
        for name, column in zip(table.column_names, table.columns, strict=True)
        if name not in PRESENTATIONAL
    }


def _jsonl_records(path: Path, block: bytes, first_line: int) -> Iterator[dict[str, Any]]:
    """The records of one block of lines, naming the line of the file that is broken."""
    for line_number, line in enumerate(block.split(b"\n"), start=first_line):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except UnicodeDecodeError as exc:
            raise SnapshotFileError(
                f"{path}: line {line_number} is not UTF-8 text ({exc.reason}); re-export the file"
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
    return records_to_table(_records_of(document, path))


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


def records_to_table(records: list[dict[str, Any]]) -> RawTable:
    """Columns from parsed records: Arrow where a column's values share a type, else a list."""
    names = dict.fromkeys(
        name for record in records for name in record if name not in PRESENTATIONAL
    )
    columns: dict[str, Column] = {}
    for name in names:
        values = [record.get(name) for record in records]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            columns[name] = values
    return RawTable(columns, len(records))


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
