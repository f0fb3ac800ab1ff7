"""Reading one snapshot file into raw columns, whatever its form.

Raw means as the file gave it: no field is typed or judged here. A column is
an Arrow array when its values share a JSON type; a declared field's Arrow column
may have a few values of another type set apart (``RawTable.odd``: row -> raw
value, the column null there); a column is a plain list of Python values only
where neither fits (a free field of mixed types, a ``.json`` file's column of
mixed types), for the schema step to sort out value by value.

JSON Lines are read block by block (``block_size`` bytes of whole lines). Each
block is screened first, cheaply and in bulk: it must be UTF-8, every line that
is not blank must open an object, and no line may nest deeper than pyarrow's
JSON reader survives (it crashes the process on a ``null`` line and on very deep
nesting, and reads two values on one line as two records). A block that passes
goes through pyarrow, with every declared field typed. When pyarrow refuses it,
the lines holding a value of the wrong type for their field are found in bulk
(``odd_lines``), parsed by ``json`` and replaced by empty records, and pyarrow
reads the rest typed; their values are put back (``_read_block``). A block that
still refuses is read with only text fields declared, then in pieces; a block
that fails the screen or every read is parsed line by line with ``json``, which
either yields the records or names the line at fault.
Fields nobody declared are read the same in every block: a value that pyarrow
would guess is a timestamp stays the text the file holds.

``.json`` files are parsed with ``json`` and may be a record array, one page
envelope or an array of envelopes. Parquet is read with pyarrow.

Amounts arrive exact in every form (``exact.amount_column``): ``json`` keeps a number no
double holds as its ``ExactNumber``; pyarrow reads JSON Lines numbers as doubles, so
the lines of a block holding a run of 16 or more digits (found in bulk) are read again
by ``json`` for their exact amounts; Parquet int64 and decimal columns are exact.

What makes a file unreadable, in every form (one line naming file and line or
record, exit 2): bytes that are not UTF-8, a lone UTF-16 surrogate escape
(``"\\ud800"``: valid JSON syntax, but no Unicode text), a line or record that is
not an object, and values nested more than ``MAX_DEPTH`` arrays or objects deep.
An integer too long for Python to convert (over 4,300 digits) is read as an
infinite number, as pyarrow reads it, so an amount holding one is a violation.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
import threading
from collections.abc import Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from . import stored_datetimes
from .entities import Entity
from .errors import SnapshotFileError
from .exact import Exact, amount_column, shifted
from .fields import ALIASES, DATETIME_NAMES, FIELDS, LABELS, PRESENTATIONAL, Kind
from .files import MAX_FILE_BYTES_VARIABLE, file_limit, open_capped, read_capped
from .money import ExactNumber, exact_float, exact_number
from .odd_lines import keyed_odd_lines, named_field, odd_lines
from .snapshot import JSON_TEXT, SnapshotFile
from .stored_datetimes import StoredDatetimes

Column = pa.Array | pa.ChunkedArray | list | StoredDatetimes

MAX_DEPTH = 64
"""How many arrays or objects deep a field's value may nest. API records nest two or three
levels; pyarrow crashes on thousands and Python's json stops near a thousand, so the limit is
well below both and the same in every form."""

JSONL_BLOCK = 16 << 20
"""Bytes of whole lines read at a time from a JSON Lines file (the default ``block_size``)."""

_PYARROW_MAX_OPENERS = 1_000
"""A line with more ``[`` and ``{`` than this is not handed to pyarrow (which crashes on deep
nesting): it is parsed with ``json`` instead, which measures its depth."""

_LONE_SURROGATE = re.compile(
    rb"(?<!\\)(?:\\\\)*\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<![\\]u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)(?:\\\\)*\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
"""A JSON escape of half a surrogate pair with no other half: may match more than that (an
escaped backslash before ``u``), so a match is confirmed on the parsed values."""


@dataclass(frozen=True)
class RawTable:
    """The records of one file as columns, in file order."""

    columns: dict[str, Column]
    num_rows: int
    exact: dict[str, Exact] = dataclass_field(default_factory=dict)
    """For amount columns (``exact.amount_column``): the exact value of each row whose
    float is not what the file holds."""
    odd: dict[str, dict[int, Any]] = dataclass_field(default_factory=dict)
    """For Arrow columns of declared fields: row -> the raw value of each of the few rows
    whose value is of another JSON type than the column's (the column is null there), for
    the schema step to judge; the column stays Arrow instead of becoming Python values."""


def read(
    file: SnapshotFile, *, block_size: int | None = None, fields: Collection[str] | None = None
) -> RawTable:
    """The raw columns of ``file``; ``SnapshotFileError`` when it cannot be parsed.

    ``block_size`` is how many bytes of a JSON Lines file are read at a time
    (default ``JSONL_BLOCK``). ``fields``: only those and the required ones (see
    ``only_fields``); a Parquet file's other columns are not even read.
    """
    wanted = None if fields is None else _wanted(file.entity, fields)
    try:
        if file.format == "jsonl":
            raw = _read_jsonl(file.path, file.entity, block_size or JSONL_BLOCK)
        elif file.format == "json":
            raw = _read_json(file.path)
        else:
            raw = _read_parquet(file.path, file.entity, wanted)
    except OSError as exc:
        raise SnapshotFileError(f"{file.path}: cannot be read: {exc.strerror or exc}") from exc
    if wanted is not None:
        exact = {k: v for k, v in raw.exact.items() if k in wanted}
        odd = {k: v for k, v in raw.odd.items() if k in wanted}
        columns = {k: v for k, v in raw.columns.items() if k in wanted}
        raw = RawTable(columns, raw.num_rows, exact, odd)
    return _without_empty_extras(_exact_amounts(raw, file.entity), file.entity)


def _exact_amounts(raw: RawTable, entity: Entity) -> RawTable:
    """``raw`` with its amount columns as floats and the values no float holds set apart
    (``exact.amount_column``), so that no amount is rounded on its way to the rules."""
    names = [name for name in _amount_names(entity) if name in raw.columns]
    if not names:
        return raw
    columns, exact = dict(raw.columns), dict(raw.exact)
    for name in names:
        columns[name], found = amount_column(columns[name])
        if found:
            exact[name] = {**exact.get(name, {}), **found}
    return RawTable(columns, raw.num_rows, exact, raw.odd)


def amount_names(entity: Entity) -> list[str]:
    """The amount fields of ``entity`` (numbers) and their aliases."""
    return _amount_names(entity)


def _amount_names(entity: Entity) -> list[str]:
    names = [spec.name for spec in FIELDS[entity] if spec.kind is Kind.NUMBER]
    return names + [alias for alias, name in ALIASES.get(entity, {}).items() if name in names]


def _without_empty_extras(raw: RawTable, entity: Entity) -> RawTable:
    """Drop undeclared fields that hold nothing but nulls.

    The JSON Lines reader cannot keep them (a field first seen with null values
    has no type to declare), so no reader does: the same records load alike from
    every form.
    """
    declared = _declared_names(entity)
    empty = [
        name
        for name, column in raw.columns.items()
        if name not in declared
        and name not in raw.odd
        and not isinstance(column, list)
        and pa.types.is_null(column.type)
    ]
    if not empty:
        return raw
    return RawTable(
        {k: v for k, v in raw.columns.items() if k not in empty}, raw.num_rows, raw.exact, raw.odd
    )


def _wanted(entity: Entity, names: Collection[str]) -> set[str]:
    """``names``, the fields ``entity`` requires, and their aliases.

    A required field is kept even when unwanted: one missing is a violation on every record.
    """
    kept = set(names) | {spec.name for spec in FIELDS[entity] if spec.required}
    return kept | {alias for alias, name in ALIASES.get(entity, {}).items() if name in kept}


def _declared_names(entity: Entity) -> set[str]:
    return {spec.name for spec in FIELDS[entity]} | set(ALIASES.get(entity, {}))


# --- Parquet ------------------------------------------------------------------------------


def _read_parquet(path: Path, entity: Entity, wanted: set[str] | None = None) -> RawTable:
    try:
        schema = pq.read_schema(path)
        names = [
            name
            for name in schema.names
            if name not in PRESENTATIONAL and (wanted is None or name in wanted)
        ]
        # Labels (fields.LABELS) are read as Parquet stores repeated text, a dictionary:
        # not decoded to a copy of every value (600 MB for two fields of 10M uses).
        labels = [
            field.name
            for field in schema
            if field.name in LABELS & _declared_names(entity)
            and field.name in names
            and _plain_text(field)
        ]
        # pre_buffer=False: on a local file, buffering whole row groups first was
        # measured at twice the time of reading columns as needed.
        table = pq.read_table(path, columns=names, pre_buffer=False, read_dictionary=labels)
    except (pa.ArrowException, OSError) as exc:
        raise SnapshotFileError(
            f"{path}: is not a readable Parquet file ({exc}); fetch it again or remove it"
        ) from exc
    texts = [
        (name, column)
        for name, column in zip(table.column_names, table.columns, strict=True)
        if column.type.num_fields
        or pa.types.is_string(column.type)
        or pa.types.is_dictionary(column.type)  # its text is checked with it
    ]
    # Text must be UTF-8 with offsets in bounds whoever wrote the file: a full check, about
    # 0.6 s over 10M uses' text. Arrow's check releases the GIL: two columns at a time.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="recon-validate") as pool:
        refusals = list(pool.map(_refusal, (column for _, column in texts)))
    for (name, _), refusal in zip(texts, refusals, strict=True):
        if refusal is not None:
            raise SnapshotFileError(
                f"{path}: column {name} is not valid ({refusal}); fetch it again or remove it"
            )
    columns = _columns(table)
    for field in table.schema:
        if stored_datetimes.is_stored(field) and field.name in columns:
            stored = stored_datetimes.read(field, columns[field.name])
            # Stored so by recon fetch for a date-time field; marked so on another field, it
            # is judged as the text it stands for.
            datetime = field.name in DATETIME_NAMES[entity]
            columns[field.name] = stored if datetime else stored.texts()
            continue
        texts = columns.get(field.name)
        if field.metadata and JSON_TEXT in field.metadata and texts is not None:
            if not pa.types.is_string(texts.type):
                continue  # marked as JSON text but holding something else: read as it is
            # Values of mixed JSON types, stored as their JSON text by recon fetch.
            columns[field.name] = [
                None if text is None else _loads(text.encode(), path, f"record {row} {field.name}")
                for row, text in enumerate(texts.to_pylist(), start=1)
            ]
    return RawTable(columns, table.num_rows)


def _plain_text(field: pa.Field) -> bool:
    """Whether ``field`` is text that is only text (not JSON text of mixed values)."""
    metadata = field.metadata or {}
    return pa.types.is_string(field.type) and JSON_TEXT not in metadata


def _refusal(column: pa.ChunkedArray) -> str | None:
    """Why Arrow's full validation refuses ``column``; None when it passes."""
    try:
        column.validate(full=True)
    except pa.ArrowInvalid as exc:
        return str(exc)
    return None


# --- JSON Lines ---------------------------------------------------------------------------


def typed_schema(entity: Entity, free: tuple[pa.Field, ...] = ()) -> pa.Schema:
    """Every declared field (and alias) with its Arrow type, then ``free``: lets pyarrow
    skip inference."""
    types = {spec.name: _JSON_TYPES[spec.kind] for spec in FIELDS[entity]}
    aliases = {alias: types[name] for alias, name in ALIASES.get(entity, {}).items()}
    return pa.schema(list({**types, **aliases}.items()) + list(free))


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


def _read_jsonl(path: Path, entity: Entity, block_size: int) -> RawTable:
    """The file block by block, each the fastest way that takes it, so that one odd value
    costs one line of Python parsing, not the whole block's.

    While pyarrow parses one block (releasing the interpreter lock), the next is read
    and screened. Columns are then merged block by block: Arrow where the blocks agree
    on a type, or of the declared type with the few values of another type set apart
    (``RawTable.odd``); Python values only for a free field whose types conflict.
    """
    tables: list[RawTable] = []
    seen = _OddSeen()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-jsonl") as parser:
        parsing: Future[RawTable] | None = None
        first_line = 1
        for block in _line_blocks(path, block_size):
            screened = _screen(block)
            # Searched here, while the previous block is parsed: numpy releases the GIL too.
            long = _long_number_lines(block) if screened is not None else None
            # So are the odd values of the fields earlier blocks held them in (pyarrow
            # parses without the GIL meanwhile): the fields known now, as a field the block
            # being parsed shows is searched for by the parser.
            searched = _OddSearch.of(block, entity, seen) if screened is not None else None
            following = parser.submit(
                _read_block, path, entity, block, first_line, screened, long, seen, searched
            )
            if parsing is not None:
                tables.append(parsing.result())
            parsing = following
            # The screen counted the block's lines; a block it refused is counted here.
            first_line += block.count(b"\n") if screened is None else screened.lines
        if parsing is not None:
            tables.append(parsing.result())
    return _merge_blocks(tables, entity)


class _Screened(NamedTuple):
    """What ``_screen`` found of a block that pyarrow may be given."""

    records: int
    lines: int
    """How many newlines the block holds: the next block starts that many lines on."""
    blank_lines: np.ndarray
    """The index (from 0) of each empty line, which holds no record: usually none."""

    def record_rows(self, lines: list[int]) -> list[int]:
        """The record (row) of each of ``lines`` (lines that hold one)."""
        if not len(self.blank_lines):
            return lines
        at = np.asarray(lines, dtype=np.int64)
        return (at - np.searchsorted(self.blank_lines, at)).tolist()


@dataclass
class _OddSeen:
    """The declared fields of a file that held a value of the wrong type in an earlier
    block: the blocks after it are searched for those fields' odd values before pyarrow is
    given them (a file that holds one usually holds more, and a refused read costs about a
    quarter of a whole one)."""

    names: set[str] = dataclass_field(default_factory=set)


@dataclass(frozen=True)
class _OddSearch:
    """The lines of a block holding odd values of ``names`` (``keyed_odd_lines``)."""

    names: frozenset[str]
    lines: list[tuple[int, int, int]]

    @classmethod
    def of(cls, block: bytes | bytearray, entity: Entity, seen: _OddSeen) -> _OddSearch:
        names = frozenset(seen.names)  # one copy: the parser thread may add to them
        return cls(names, (keyed_odd_lines(block, entity, names) or []) if names else [])

    def completed(
        self, block: bytes | bytearray, entity: Entity, seen: _OddSeen
    ) -> list[tuple[int, int, int]]:
        """``lines``, with those of the fields seen since the search."""
        later = seen.names - self.names
        if not later:
            return self.lines
        return sorted({*self.lines, *(keyed_odd_lines(block, entity, later) or [])})


_MOST_ODD = 8
"""A block where more than one line in this many holds an odd value is read the slow way
(pyarrow with text fields only, then in pieces): setting lines apart pays for few."""

_ATTEMPTS = 4
"""Typed reads of one block, each after setting apart the lines the last refusal led to."""


def _read_block(
    path: Path,
    entity: Entity,
    block: bytes | bytearray,
    first_line: int,
    screened: _Screened | None,
    long: np.ndarray | None = None,
    seen: _OddSeen | None = None,
    searched: _OddSearch | None = None,
) -> RawTable:
    """One block; ``screened`` is what ``_screen`` found (None: not for pyarrow), ``long``
    what ``_long_number_lines`` found (None: search it here), ``seen`` the fields that held
    odd values in the file's earlier blocks, ``searched`` the lines holding odd values of
    some of them (None: search them here).

    pyarrow reads the block with every field typed. When it refuses, the lines holding a
    value of the wrong type are found (the field pyarrow's error names, searched for alone
    with ``keyed_odd_lines``; else every field, with ``odd_lines``), parsed by json and
    replaced by ``{}`` (an empty record: every other record keeps its row), and pyarrow
    reads the block again; the lines' values are then put back (``_patched``). A block
    that still refuses, or holds too many odd lines, is read the slow, exact way
    (``_read_refused``), its lines set apart all the same."""
    if screened is None:
        return _exact_amounts(
            records_to_table(list(_jsonl_records(path, block, first_line))), entity
        )
    records = screened.records
    if long is None:
        long = _long_number_lines(block)
    seen = seen if seen is not None else _OddSeen()
    searched = searched if searched is not None else _OddSearch(frozenset(), [])
    found = searched.completed(block, entity, seen)
    work = block if isinstance(block, bytearray) else bytearray(block)
    apart: dict[int, tuple[int, int]] = {}
    parsed: dict[int, Any] = {}
    if len(found) * _MOST_ODD > records:
        found = []  # the search names most lines (a nested key of that name?): read as is
    for _ in range(_ATTEMPTS):
        found = [item for item in found if item[0] not in apart]
        if (len(apart) + len(found)) * _MOST_ODD > records:
            break
        for line, start, end in found:
            parsed[line] = _loads(bytes(work[start:end]), path, f"line {first_line + line}")
            apart[line] = (start, end)
            work[start:end] = b"{}" + b" " * (end - start - 2)
        refusal: list[str] = []
        table = _pyarrow_block(work, typed_schema(entity), refusal)
        if table is not None and table.num_rows == records:
            raw = _exact_amounts(RawTable(_columns(table), table.num_rows), entity)
            raw = _with_long_numbers(raw, path, work, first_line, entity, long)
            return _put_back(raw, screened, apart, parsed, entity)
        if table is not None:  # more values than lines: a line holds two; json names it
            records_read = records_to_table(list(_jsonl_records(path, work, first_line)))
            return _put_back(_exact_amounts(records_read, entity), screened, apart, parsed, entity)
        name = named_field(refusal[0]) if refusal else None
        found = []
        if name is not None and name not in seen.names:
            found = keyed_odd_lines(work, entity, [name]) or []
            if found:
                seen.names.add(name)
        if not found:  # no field named, or its search missed it: every field is looked at
            found = odd_lines(work, entity)
        if not found:
            break
    raw = _read_refused(path, entity, work, first_line, records, long)
    return _put_back(raw, screened, apart, parsed, entity)


def _put_back(
    raw: RawTable,
    screened: _Screened,
    apart: dict[int, tuple[int, int]],
    parsed: dict[int, Any],
    entity: Entity,
) -> RawTable:
    """``raw`` with the values of the lines set apart (``parsed``, by line) put back."""
    if not apart:
        return raw
    lines = sorted(apart)
    return _patched(raw, screened.record_rows(lines), [parsed[line] for line in lines], entity)


def _read_refused(
    path: Path,
    entity: Entity,
    block: bytes | bytearray,
    first_line: int,
    records: int,
    long: np.ndarray,
) -> RawTable:
    """A block pyarrow refused with every field typed: read with only the text fields
    typed, else cut into pieces (``_read_pieces``), else by json, which names a bad line."""
    table = _pyarrow_block(block, text_schema(entity))
    if table is not None and table.num_rows == records:
        raw = _exact_amounts(RawTable(_columns(table), table.num_rows), entity)
        return _with_long_numbers(raw, path, block, first_line, entity, long)
    if table is None and len(block) > _SMALLEST_PIECE:
        return _read_pieces(path, entity, block, first_line)
    return _exact_amounts(records_to_table(list(_jsonl_records(path, block, first_line))), entity)


def _patched(raw: RawTable, rows: list[int], records: list[Any], entity: Entity) -> RawTable:
    """``raw``, whose ``rows`` are empty records, with the values of ``records`` (parsed by
    json) put in: into the Arrow column where a value fits its type, else set apart in
    ``RawTable.odd`` (the column stays null there)."""
    names = dict.fromkeys(
        name for record in records for name in record if name not in PRESENTATIONAL
    )
    amounts = set(_amount_names(entity))
    columns, exact = dict(raw.columns), {name: dict(found) for name, found in raw.exact.items()}
    odd = {name: dict(found) for name, found in raw.odd.items()}
    for name in names:
        values = [record.get(name) for record in records]
        if all(value is None for value in values):
            continue
        if name in amounts:
            values, found = amount_column(values)
            for position, number in found.items():
                exact.setdefault(name, {})[rows[position]] = number
        column = columns.get(name)
        if isinstance(column, list):
            column = list(column)
            for row, value in zip(rows, values, strict=True):
                column[row] = value
            columns[name] = column
            continue
        if column is None or pa.types.is_null(column.type):
            column = pa.nulls(raw.num_rows, _type_of(values))
        kept: list[Any] = []
        for row, value in zip(rows, values, strict=True):
            if value is None or _fits(value, column.type):
                kept.append(value)
            else:
                kept.append(None)
                odd.setdefault(name, {})[row] = value
        if any(value is not None for value in kept):
            column = _spliced(column, rows, pa.array(kept, type=column.type))
        columns[name] = column
    return RawTable(columns, raw.num_rows, {k: v for k, v in exact.items() if v}, odd)


def _spliced(
    column: pa.Array | pa.ChunkedArray, rows: list[int], values: pa.Array
) -> pa.ChunkedArray:
    """``column`` with ``values`` at ``rows`` (in order), as slices of both: no copy of the
    column, whose other rows are the block's (a copy of every column of every block with an
    odd line cost a tenth of the time of reading it)."""
    chunks: list[pa.Array] = []
    at = 0
    for position, row in enumerate(rows):
        if row > at:
            part = column.slice(at, row - at)
            chunks.extend(part.chunks if isinstance(part, pa.ChunkedArray) else [part])
        chunks.append(values.slice(position, 1))
        at = row + 1
    if at < len(column):
        part = column.slice(at)
        chunks.extend(part.chunks if isinstance(part, pa.ChunkedArray) else [part])
    return pa.chunked_array(chunks, type=column.type)


def _type_of(values: list[Any]) -> pa.DataType:
    """The Arrow type of a column first seen in odd lines: of its first value that Arrow
    types alone (the others are judged against it)."""
    for value in values:
        if value is None:
            continue
        try:
            return pa.array([value]).type
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            continue
    return pa.null()


def _fits(value: Any, kind: pa.DataType) -> bool:
    """Whether a value json parsed is one of an Arrow column of type ``kind``, as pyarrow
    would have read it (never a boolean as a number)."""
    if isinstance(value, bool):
        return pa.types.is_boolean(kind)
    if pa.types.is_floating(kind):
        return isinstance(value, float) or (isinstance(value, int) and abs(value) <= 2**53)
    if pa.types.is_integer(kind):
        return isinstance(value, int) and -(2**63) <= value < 2**63
    if pa.types.is_string(kind):
        return isinstance(value, str)
    if pa.types.is_boolean(kind) or pa.types.is_null(kind):
        return False
    try:
        return pa.array([value], type=kind).type == kind
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return False


_SMALLEST_PIECE = 64 << 10
"""A block pyarrow refuses is cut until its pieces are this small; then json reads them."""


def _read_pieces(path: Path, entity: Entity, block: bytes | bytearray, first_line: int) -> RawTable:
    """A block pyarrow refused (a value it cannot type, somewhere), as ``_PIECES`` pieces cut
    at line breaks, each read typed by pyarrow or cut again: the few lines that hold such
    values end up in small pieces that json reads, and the rest stays pyarrow's, about a
    tenth of json's cost. The pieces' columns merge as blocks' do. The block was screened
    whole (``_screen``), so every line of a piece is empty or an object."""
    if len(block) <= _SMALLEST_PIECE:
        records = list(_jsonl_records(path, block, first_line))
        return _exact_amounts(records_to_table(records), entity)
    cuts = [0]
    for part in range(1, _PIECES):
        cut = block.find(b"\n", max(cuts[-1], len(block) * part // _PIECES)) + 1
        if 0 < cut < len(block) and cut > cuts[-1]:
            cuts.append(cut)
    cuts.append(len(block))
    if len(cuts) == 2:  # one long line: json reads it
        records = list(_jsonl_records(path, block, first_line))
        return _exact_amounts(records_to_table(records), entity)
    pieces, line = [], first_line
    for start, stop in itertools.pairwise(cuts):
        piece = block[start:stop]
        table = _pyarrow_block(piece, typed_schema(entity))
        if table is None:
            pieces.append(_read_pieces(path, entity, piece, line))
        elif table.num_rows != _records_in(piece):  # a line holds two values: json names it
            records = list(_jsonl_records(path, piece, line))
            pieces.append(_exact_amounts(records_to_table(records), entity))
        else:
            raw = _exact_amounts(RawTable(_columns(table), table.num_rows), entity)
            long = _long_number_lines(piece)
            pieces.append(_with_long_numbers(raw, path, piece, line, entity, long))
        line += piece.count(b"\n")
    return _merge_blocks(pieces, entity)


_PIECES = 8
"""How many pieces a refused block (or piece) is cut into: few enough bad values fall in
few pieces, so most of the block is parsed again only once."""


def _records_in(piece: bytes | bytearray) -> int:
    """The records of a screened piece: its lines that are not empty."""
    data = np.frombuffer(piece, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(data == ord("\n")) + 1))
    starts = starts[starts < len(data)]
    return int(np.count_nonzero(data[starts] != ord("\n")))


_EIGHT_IN_A_ROW = np.uint64(0x0101010101010101)
_SCRATCH = threading.local()


def _with_long_numbers(
    raw: RawTable,
    path: Path,
    block: bytes | bytearray,
    first_line: int,
    entity: Entity,
    lines: np.ndarray,
) -> RawTable:
    """``raw`` (read by pyarrow, whose numbers are doubles) with the exact value of each
    amount that no double holds, read again by ``json`` from its line.

    Only a number of more than 15 significant digits can be one, and its text is a run of
    at least 16 digits and points; the block is searched for such runs in bulk, so only the
    lines that hold one (``lines``: offsets from ``_long_number_lines``) are parsed again,
    with those of the records whose amount pyarrow made 0 from a negative exponent.
    """
    names = _amount_names(entity)
    zeros = _zero_amounts(raw, names)
    if not len(lines) and not len(zeros):
        return raw
    data = np.frombuffer(block, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(data == ord("\n")) + 1))
    starts = starts[starts < len(data)]
    ends = np.append(starts[1:], len(data))
    record_of_line = np.cumsum(data[starts] != ord("\n")) - 1  # blank lines hold none
    again = np.searchsorted(starts, lines, side="right") - 1
    if len(zeros):
        # A number too small for a double (1e-400) is 0 to pyarrow: the lines of the
        # records with an amount of 0 that hold a negative exponent are read again.
        # Looked for in those lines alone (a few per block), not in the whole block.
        line_of_record = np.flatnonzero(data[starts] != ord("\n"))
        tiny = [
            line
            for line in line_of_record[zeros].tolist()
            if _negative_exponent(block[int(starts[line]) : int(ends[line])])
        ]
        again = np.concatenate([again, np.array(tiny, dtype=np.int64)])
    exact = {name: dict(rows) for name, rows in raw.exact.items()}
    for line in np.unique(again):
        start, stop = int(starts[line]), int(ends[line])
        record = _loads(bytes(block[start:stop]), path, f"line {first_line + int(line)}")
        for name in names:
            value = record.get(name) if isinstance(record, dict) else None
            if isinstance(value, ExactNumber) or (
                isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53
            ):
                number = exact_number(value)
                if isinstance(number, ExactNumber) and math.isfinite(float(number)):
                    exact.setdefault(name, {})[int(record_of_line[line])] = number
    return RawTable(raw.columns, raw.num_rows, exact, raw.odd)


def _negative_exponent(line: bytes | bytearray) -> bool:
    """Whether ``line`` holds ``e-`` or ``E-``, as a number with a negative exponent does."""
    return b"e-" in line or b"E-" in line


def _zero_amounts(raw: RawTable, names: list[str]) -> np.ndarray:
    """The rows where an amount pyarrow read as a double is 0."""
    rows = []
    for name in names:
        column = raw.columns.get(name)
        if column is None or isinstance(column, list) or not pa.types.is_floating(column.type):
            continue
        zero = pc.fill_null(pc.equal(column, 0.0), False)
        rows.append(np.flatnonzero(zero.to_numpy(zero_copy_only=False)))
    return np.unique(np.concatenate(rows)) if rows else np.empty(0, dtype=np.int64)


def holds_long_numbers(block: bytes | bytearray) -> bool:
    """Whether ``block`` holds a run of 16 or more digits and points: a number no double
    holds may be there (a bulk search; see ``_long_number_lines``)."""
    return bool(len(_long_number_lines(block)))


def _long_number_lines(block: bytes | bytearray) -> np.ndarray:
    """Offsets in ``block`` of runs of at least 16 digits and points (and slashes, which
    the test lets through): where a number of more than 15 significant digits may be.

    A run of 16 holds an aligned word of eight such bytes; the bytes of the words beside
    it tell whether the run reaches 16. Three passes over the bytes, all in numpy.
    """
    data = np.frombuffer(block, dtype=np.uint8)
    size = len(data) // 8 * 8 if len(data) >= 16 else 0
    # One reused buffer: two fresh arrays of a block's size cost more in page faults than
    # the arithmetic itself.
    scratch = getattr(_SCRATCH, "buffer", None)
    if scratch is None or len(scratch) < size:
        scratch = _SCRATCH.buffer = np.empty(max(size, 1), dtype=np.uint8)
    inside = scratch[:size]
    np.subtract(data[:size], np.uint8(ord(".")), out=inside)
    inside = np.less(inside, 12, out=inside.view(np.bool_))  # . / 0-9
    words = np.flatnonzero(inside.view(np.uint64) == _EIGHT_IN_A_ROW)
    if not len(words):
        return words
    rows = inside.view(np.uint8).reshape(-1, 8)
    after = rows[np.minimum(words + 1, len(rows) - 1)]
    after[words + 1 >= len(rows)] = 0
    before = rows[np.maximum(words - 1, 0)][:, ::-1]
    before[words == 0] = 0
    lead = np.where(after.all(axis=1), 8, np.argmin(after, axis=1))
    trail = np.where(before.all(axis=1), 8, np.argmin(before, axis=1))
    return words[8 + lead + trail >= 16] * 8


def _screen(block: bytes | bytearray) -> _Screened | None:
    """How many records the block holds and which lines are empty, when pyarrow may be
    given it; else None.

    None when the block is not UTF-8, when a line that is not empty does not start
    with ``{`` (a ``null`` line crashes pyarrow; others it would misread), or when a
    line opens too many arrays and objects for pyarrow's recursive parser. Each test
    is a bulk operation on the block's bytes; only lines long enough to nest that
    deep are counted one by one.
    """
    if not block.isascii() and not _is_utf8(block):
        return None
    data = np.frombuffer(block, dtype=np.uint8)
    if not len(data):
        return _Screened(0, 0, np.empty(0, dtype=np.int64))
    ends = np.flatnonzero(data == ord("\n"))
    starts = np.concatenate(([0], ends + 1))
    starts = starts[starts < len(data)]
    first = data[starts]
    opens_record = first == ord("{")
    if not (opens_record | (first == ord("\n"))).all():
        return None
    lengths = np.diff(np.concatenate((starts, [len(data)])))
    for start in starts[lengths > _PYARROW_MAX_OPENERS]:  # a line has fewer openers than bytes
        stop = block.find(b"\n", start)
        line = block[start : stop if stop >= 0 else len(block)]
        if line.count(b"{") + line.count(b"[") > _PYARROW_MAX_OPENERS:
            return None
    if _may_hold_surrogates(block) and _LONE_SURROGATE.search(block):
        return None  # json names the line (pyarrow would refuse the block anyway)
    blank_lines = np.flatnonzero(first == ord("\n"))
    return _Screened(int(opens_record.sum()), len(ends), blank_lines)


def _is_utf8(data: bytes | bytearray) -> bool:
    """Whether ``data`` is UTF-8, checked by Arrow (a tenth of the time of decoding it)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    array = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        array.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _may_hold_surrogates(data: bytes | bytearray) -> bool:
    """Whether ``data`` has a ``\\ud`` escape: found from its backslashes in bulk, which is
    many times faster than a regex or a substring search over the whole block."""
    array = np.frombuffer(data, dtype=np.uint8)
    slashes = np.flatnonzero(array[:-2] == ord("\\"))
    if not len(slashes):
        return False
    letters = array[slashes + 2] | 0x20  # lower case
    return bool(((array[slashes + 1] == ord("u")) & (letters == ord("d"))).any())


_ONE_THREAD = pajson.ReadOptions(use_threads=False)
_THREADED = 1 << 20


def _pyarrow_block(
    block: bytes | bytearray, schema: pa.Schema, refusal: list[str] | None = None
) -> pa.Table | None:
    """The block read by pyarrow with ``schema`` declared, or None when it does not fit
    (pyarrow's error then added to ``refusal``).

    A field pyarrow had to infer and made a date or time of is declared as text
    and the block read again, so that no block turns an unknown field's text
    into timestamps; one nested inside an inferred array or object makes the
    block go to ``json``.
    """
    for _ in range(2):
        try:
            table = pajson.read_json(
                pa.BufferReader(block),
                # A small piece in threads costs more in starting them than it saves.
                read_options=_ONE_THREAD if len(block) < _THREADED else None,
                parse_options=_parse_options(schema, "infer"),
            )
        except pa.ArrowInvalid as exc:
            if refusal is not None:
                refusal.append(str(exc))
            return None
        guessed = [field for field in table.schema if field.name not in schema.names]
        temporal = [field for field in guessed if is_temporal(field.type)]
        if any(_has_temporal(field.type) for field in guessed if field not in temporal):
            return None
        if any(_type_depth(field.type) > MAX_DEPTH for field in table.schema):
            return None
        if not temporal:
            return table
        schema = pa.schema([*schema, *(pa.field(field.name, pa.string()) for field in temporal)])
    return None


def _has_temporal(kind: pa.DataType) -> bool:
    stack = [kind]
    while stack:
        kind = stack.pop()
        if is_temporal(kind):
            return True
        stack.extend(kind.field(i).type for i in range(kind.num_fields))
    return False


def _type_depth(kind: pa.DataType) -> int:
    """How many arrays and objects deep the values of an Arrow type nest."""
    depth, level = 0, [kind]
    while level:
        nested = [k for k in level if k.num_fields and not pa.types.is_dictionary(k)]
        if not nested:
            break
        depth += 1
        if depth > MAX_DEPTH:
            return depth
        level = [k.field(i).type for k in nested for i in range(k.num_fields)]
    return depth


def _parse_options(schema: pa.Schema, undeclared: str) -> pajson.ParseOptions:
    return pajson.ParseOptions(
        explicit_schema=schema, newlines_in_values=False, unexpected_field_behavior=undeclared
    )


def _line_blocks(path: Path, block_size: int) -> Iterator[bytearray]:
    """Blocks of whole lines of about ``block_size`` bytes; stops with an error past the
    snapshot file limit.

    Each block is read straight into its own buffer and cut after its last newline; the
    file is read on from there, so no block is copied (16 MiB copies added a fifth to the
    time of reading a file).
    """
    limit = file_limit()
    start = 0
    with open_capped(path, limit=limit) as handle:
        while True:
            block = bytearray(block_size)
            size = handle.readinto(block)
            if not size:
                return
            if start + size > limit:
                raise SnapshotFileError(
                    f"{path}: grew past recon's limit of {limit:,} bytes while being read; "
                    f"set {MAX_FILE_BYTES_VARIABLE} to a larger number of bytes to read it"
                )
            del block[size:]
            end = block.rfind(b"\n") + 1
            while end == 0 and size:  # a line longer than a block: read until it ends
                more = handle.read(block_size)
                size = len(more)
                block += more
                end = block.rfind(b"\n") + 1 if size else len(block)
            if end < len(block):
                del block[end:]
                handle.seek(start + end)
            if start == 0 and block.startswith(b"\xef\xbb\xbf"):
                del block[:3]  # a byte-order mark, as some exporters write
                start += 3
                end -= 3
            yield block
            start += end


def _merge_blocks(tables: list[RawTable], entity: Entity) -> RawTable:
    declared = typed_schema(entity)
    names = dict.fromkeys(name for table in tables for name in table.columns)
    lengths = [table.num_rows for table in tables]
    columns: dict[str, Column] = {}
    odd: dict[str, dict[int, Any]] = {}
    for name in names:
        pieces = [table.columns.get(name) for table in tables]
        odds = [table.odd.get(name, {}) for table in tables]
        kind = declared.field(name).type if name in declared.names else None
        columns[name], found = _merge_column(pieces, lengths, odds, kind)
        if found:
            odd[name] = found
    exact: dict[str, Exact] = {}
    offset = 0
    for table in tables:
        for name, rows in table.exact.items():
            exact.setdefault(name, {}).update(shifted(rows, offset))
        offset += table.num_rows
    return RawTable(columns, offset, exact, odd)


def _merge_column(
    pieces: list[Column | None],
    lengths: list[int],
    odds: list[dict[int, Any]],
    declared: pa.DataType | None,
) -> tuple[Column, dict[int, Any]]:
    """One column from each block's piece (None where a block lacks it) and the values set
    apart from it (``RawTable.odd``), given its declared type (None: a free field)."""
    arrow = [piece for piece in pieces if piece is not None and not isinstance(piece, list)]
    types = {piece.type for piece in arrow if not pa.types.is_null(piece.type)}
    numbers = all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types)
    if len(types) > 1 and numbers and (declared is None or pa.types.is_floating(declared)):
        types = {pa.float64()}  # int in one block, float in another: JSON numbers
    agree = len(arrow) == sum(piece is not None for piece in pieces) and len(types) <= 1
    if agree and (declared is not None or not any(odds)):
        merged = _same_type(pieces, lengths, odds, types.pop() if types else pa.null())
        if merged is not None:
            return merged
    if declared is not None:
        return _merge_declared(pieces, lengths, odds, declared)
    # A free field whose types conflict: this column alone becomes Python values.
    values: list[Any] = []
    for piece, length, found in zip(pieces, lengths, odds, strict=True):
        if piece is None:
            values.extend([None] * length)
            continue
        block = list(piece) if isinstance(piece, list) else piece.to_pylist()
        for row, value in found.items():
            block[row] = value
        values.extend(block)
    return values, {}


def _same_type(
    pieces: list[Column | None],
    lengths: list[int],
    odds: list[dict[int, Any]],
    common: pa.DataType,
) -> tuple[pa.ChunkedArray, dict[int, Any]] | None:
    """The pieces as one Arrow column of type ``common``; None when a piece does not cast to
    it (an integer beyond 2**53 in a block of integers, floats in another)."""
    chunks, odd = [], {}
    for piece, length, found, offset in zip(pieces, lengths, odds, _offsets(lengths), strict=True):
        if piece is None:
            chunks.append(pa.nulls(length, common))
        else:
            try:
                piece = piece.cast(common)
            except pa.ArrowInvalid:
                return None
            # Arrays, not ChunkedArrays: pyarrow would convert those value by value.
            chunks.extend(piece.chunks if isinstance(piece, pa.ChunkedArray) else [piece])
        odd.update(shifted(found, offset))
    return pa.chunked_array(chunks, type=common), odd


def _offsets(lengths: list[int]) -> list[int]:
    return [0, *itertools.accumulate(lengths)][:-1]


def _merge_declared(
    pieces: list[Column | None],
    lengths: list[int],
    odds: list[dict[int, Any]],
    declared: pa.DataType,
) -> tuple[pa.ChunkedArray, dict[int, Any]]:
    """A declared field whose pieces' types conflict (a block read by json, where a string
    sits among numbers): Arrow of the declared type, each value of another type set apart.
    Only the pieces of another type are looked at value by value."""
    chunks, odd = [], {}
    for piece, length, found, offset in zip(pieces, lengths, odds, _offsets(lengths), strict=True):
        odd.update(shifted(found, offset))
        if piece is None:
            chunks.append(pa.nulls(length, declared))
            continue
        if not isinstance(piece, list):
            if piece.type == declared or pa.types.is_null(piece.type):
                piece = piece.cast(declared)
                chunks.extend(piece.chunks if isinstance(piece, pa.ChunkedArray) else [piece])
                continue
            piece = piece.to_pylist()
        kept = []
        for row, value in enumerate(piece):
            if value is None or _fits(value, declared):
                kept.append(value)
            else:
                kept.append(None)
                odd[offset + row] = value
        chunks.append(pa.array(kept, type=declared))
    return pa.chunked_array(chunks, type=declared), odd


def _columns(table: pa.Table) -> dict[str, Column]:
    return {
        name: column
        for name, column in zip(table.column_names, table.columns, strict=True)
        if name not in PRESENTATIONAL
    }


def _jsonl_records(
    path: Path, block: bytes | bytearray, first_line: int
) -> Iterator[dict[str, Any]]:
    """The records of one block of lines, naming the line of the file that is broken."""
    for line_number, line in enumerate(block.split(b"\n"), start=first_line):
        if not line.strip():
            continue
        record = _loads(line, path, f"line {line_number}")
        if not isinstance(record, dict):
            raise SnapshotFileError(
                f"{path}: line {line_number} is a JSON {_json_type(record)} where a record "
                "(an object) belongs; fix or remove that line and run again"
            )
        yield record


# --- JSON ---------------------------------------------------------------------------------


def _read_json(path: Path) -> RawTable:
    data = b"".join(read_capped(path, 16 << 20))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    document = _loads(data, path, None)
    return _records_table(_records_of(document, path), path)


def _loads(data: bytes | bytearray, path: Path, where: str | None) -> Any:
    """``data`` parsed as JSON, or a ``SnapshotFileError`` naming ``where`` it broke.

    ``where`` is the line or record ``data`` is (None: the whole file, whose
    errors give their own line and column).
    """
    at = f"{where} " if where else ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        position = "" if where else f" (byte {exc.start}: {exc.reason})"
        raise SnapshotFileError(
            f"{path}: {at}is not UTF-8 text{position}; re-export the file"
        ) from exc
    try:
        try:
            value = json.loads(text, parse_float=exact_float)
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError) or "integer string" not in str(exc):
                raise
            # An integer over Python's 4,300-digit limit: read as pyarrow reads it.
            value = json.loads(text, parse_float=exact_float, parse_int=_long_int)
    except json.JSONDecodeError as exc:
        position = f"column {exc.colno}" if where else f"line {exc.lineno} column {exc.colno}"
        raise SnapshotFileError(
            f"{path}: {at}{position}: {exc.msg}; fix or remove it and run again"
        ) from exc
    except RecursionError as exc:
        raise SnapshotFileError(
            f"{path}: {at}nests arrays or objects about {sys.getrecursionlimit()} deep, more "
            f"than the {MAX_DEPTH} recon reads; fix the file"
        ) from exc
    if _may_hold_surrogates(data) and _LONE_SURROGATE.search(data):
        _refuse_lone_surrogates(value, path, where)
    if where and data.count(b"[") + data.count(b"{") > MAX_DEPTH:
        # One line or value: depth of the value itself (a record's fields are one level in).
        fields = value.values() if isinstance(value, dict) and where.startswith("line") else [value]
        if max((_value_depth(item) for item in fields), default=0) > MAX_DEPTH:
            raise SnapshotFileError(
                f"{path}: {where} nests a value more than {MAX_DEPTH} arrays or objects deep, "
                "more than recon reads; fix the file"
            )
    return value


def _long_int(digits: str) -> Any:
    try:
        return int(digits)
    except ValueError:
        return float("-inf") if digits.startswith("-") else float("inf")


def _refuse_lone_surrogates(value: Any, path: Path, where: str | None) -> None:
    """Raise naming the line or record that holds text with half a surrogate pair."""
    records = [value] if where else _records_of(value, path)
    for position, record in enumerate(records, start=1):
        stack = [record]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str) and not _is_unicode(item):
                at = where or f"record {position}"
                raise SnapshotFileError(
                    f"{path}: {at} holds a lone UTF-16 surrogate escape (such as \\ud800) in "
                    f"{_quote(item)}, which is not Unicode text; re-export the file"
                )


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _quote(text: str) -> str:
    shown = json.dumps(text[:40])
    return shown if len(text) <= 40 else shown[:-1] + '..."'


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


# --- records parsed by json ---------------------------------------------------------------


def records_to_table(records: list[dict[str, Any]]) -> RawTable:
    """Columns from parsed records: Arrow where a column's values share a type, else a list.

    The records must come from ``json`` (so nest less than Python's recursion limit, which
    pyarrow's conversion survives).
    """
    names = dict.fromkeys(
        name for record in records for name in record if name not in PRESENTATIONAL
    )
    columns: dict[str, Column] = {}
    for name in names:
        values = [record.get(name) for record in records]
        try:
            column = pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            columns[name] = values
            continue
        numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
        # pyarrow makes [12.5, true] the numbers [12.5, 1.0]: a boolean among numbers stays
        # a value of its own, for the schema to refuse, never a silent 1 or 0.
        boolean = numeric and any(value is True or value is False for value in values)
        columns[name] = values if boolean else column
    return RawTable(columns, len(records))


def _records_table(records: list[dict[str, Any]], path: Path) -> RawTable:
    """``records_to_table`` of a ``.json`` file's records, refusing values nested deeper than
    ``MAX_DEPTH`` (found from each column's type: no walk over the values of a good file)."""
    raw = records_to_table(records)
    for name, column in raw.columns.items():
        if isinstance(column, list) or _type_depth(column.type) > MAX_DEPTH:
            for row, record in enumerate(records):
                value = record.get(name)
                if isinstance(value, list | dict) and _value_depth(value) > MAX_DEPTH:
                    raise SnapshotFileError(
                        f"{path}: record {row + 1} nests {name} more than {MAX_DEPTH} arrays "
                        "or objects deep, more than recon reads; fix the file"
                    )
    return raw


def _value_depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        nested = [item for item in level if isinstance(item, list | dict)]
        if not nested:
            break
        depth += 1
        if depth > MAX_DEPTH:
            return depth
        level = [
            child
            for item in nested
            for child in (item.values() if isinstance(item, dict) else item)
        ]
    return depth


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
