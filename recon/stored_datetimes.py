"""Date-time columns as ``recon fetch`` stores them in Parquet: typed, each odd value's text beside.

The API sends date-times as text. Read back from a snapshot of ten million uses, that text
costs seconds of parsing and gigabytes of memory on every audit; stored as timestamps it
costs neither. So when recon writes a snapshot, a date-time column of text is stored as a
struct (``store``) with two fields:

- ``wall``: timestamp[us], the wall clock as written, for each value in the column's
  canonical shape, ``YYYY-MM-DDTHH:MM:SS`` followed by ``Z`` (``MARK`` = ``Z``) or by
  nothing (``MARK`` = ``local``), whichever most values have;
- ``text``: the value as sent, for every other value: another shape, an impossible date,
  text that is no date-time at all. Null where ``wall`` holds the value.

Nothing is lost: a value is canonical only when its text is exactly what ``wall`` gives
back, so ``as_text`` restores every value as sent. The loader reads a stored column as
``StoredDatetimes``, and ``parse`` gives the answer ``datetimes.parse_iso`` gives for
the text: the ``text`` values are parsed like any text, so an odd value is still a
finding, quoted as sent. A struct without this module's ``MARK`` and field types is not
read as a stored column (it is a value of the wrong type, like any other).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import datetimes

MARK = b"recon.datetime"
"""Parquet field metadata key of a stored date-time column: ``Z`` or ``local``."""
_ZULU, _LOCAL = b"Z", b"local"
_STORED_TYPE = pa.struct([("wall", pa.timestamp("us")), ("text", pa.string())])


@dataclass(frozen=True)
class StoredDatetimes:
    """A stored date-time column as read: canonical values typed, the others as text."""

    wall: pa.ChunkedArray
    """timestamp[us]: the wall clock of each canonical value, null elsewhere."""
    text: pa.ChunkedArray
    """string: each other value as sent, null elsewhere."""
    zulu: bool
    """Whether the canonical values were written with ``Z``."""

    def __len__(self) -> int:
        return len(self.wall)

    def texts(self) -> pa.ChunkedArray:
        """Every value as sent (see ``as_text``)."""
        return pc.coalesce(self.text, _printed(self.wall, "Z" if self.zulu else ""))


def store(table: pa.Table, names: Iterable[str]) -> pa.Table:
    """``table`` with its text columns ``names`` (those present) stored as date-time structs."""
    for name in names:
        if name not in table.column_names:
            continue
        index = table.column_names.index(name)
        field = table.schema.field(index)
        if not pa.types.is_string(field.type) or field.metadata:
            continue  # JSON text of mixed types, or not text: kept as it is
        column, zulu = _stored(table.column(index))
        stored = pa.field(name, _STORED_TYPE, metadata={MARK: _ZULU if zulu else _LOCAL})
        table = table.set_column(index, stored, column)
    return table


def _stored(strings: pa.ChunkedArray) -> tuple[pa.Array, bool]:
    """The struct of a text column, and whether its canonical values end with ``Z``."""
    strings = strings.combine_chunks() if strings.num_chunks != 1 else strings.chunk(0)
    parsed = datetimes.parse_iso(strings)
    has_z = parsed.has_offset & (parsed.offset_minutes == 0)
    zulu = bool(has_z.sum() * 2 >= (~np.isnat(parsed.wall)).sum())
    wall = pa.array(parsed.wall, type=pa.timestamp("us"), from_pandas=True)
    suffix = "Z" if zulu else ""
    # Canonical only where the text is exactly what the wall clock prints: then nothing
    # of it is lost (a fraction, an offset, another separator would be).
    shown = _printed(wall, suffix)
    canonical = pc.fill_null(pc.equal(shown, strings), False)
    wall = pc.if_else(canonical, wall, pa.scalar(None, pa.timestamp("us")))
    text = pc.if_else(canonical, pa.scalar(None, pa.string()), strings)
    return pa.StructArray.from_arrays([wall, text], fields=list(_STORED_TYPE)), zulu


def _printed(wall: pa.Array | pa.ChunkedArray, suffix: str) -> pa.Array | pa.ChunkedArray:
    """The canonical text of each wall clock, to the second, then ``suffix`` (null where
    ``wall`` is null). Printed as digits by numpy into one buffer: Arrow's ``strftime``
    takes about a microsecond a value, a minute for the date-times of 10M uses."""
    if isinstance(wall, pa.ChunkedArray):
        return pa.chunked_array(
            [_printed(chunk, suffix) for chunk in wall.chunks], type=pa.string()
        )
    count = len(wall)
    micros = pc.fill_null(wall.view(pa.int64()), 0).to_numpy(zero_copy_only=False)
    seconds = np.floor_divide(micros, 1_000_000)
    days = np.floor_divide(seconds, 86_400)
    clock = seconds - days * 86_400
    date = days.astype("datetime64[D]")
    months = date.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (date - months.astype("datetime64[D]")).astype(np.int64) + 1
    width = 19 + len(suffix)
    clock = clock.astype(np.int32)
    numbers = (
        (year.astype(np.int32), 4),
        (month.astype(np.int32), 2),
        (day.astype(np.int32), 2),
        (clock // 3600, 2),
        (clock // 60 % 60, 2),
        (clock % 60, 2),
    )
    zero, columns = np.uint8(ord("0")), []
    for (value, digits), after in zip(numbers, "--T::" + " ", strict=True):
        places = range(digits - 1, -1, -1)  # the most significant digit first
        columns += [(value // 10**place % 10).astype(np.uint8) + zero for place in places]
        if after != " ":
            columns.append(np.full(count, ord(after), dtype=np.uint8))
    columns += [np.full(count, byte, dtype=np.uint8) for byte in suffix.encode()]
    text = np.stack(columns, axis=1)  # one pass writing the rows' bytes side by side
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    printed = pa.StringArray.from_buffers(
        count, pa.py_buffer(offsets), pa.py_buffer(text.reshape(-1))
    )
    if wall.null_count == 0:
        return printed
    return pc.if_else(wall.is_valid(), printed, pa.scalar(None, pa.string()))


def is_stored(field: pa.Field) -> bool:
    """Whether ``field`` is a date-time column that ``store`` wrote."""
    return (
        bool(field.metadata)
        and field.metadata.get(MARK) in (_ZULU, _LOCAL)
        and field.type == _STORED_TYPE
    )


def read(field: pa.Field, column: pa.ChunkedArray) -> StoredDatetimes:
    """The stored column ``column`` of ``field`` (``is_stored``) as read."""
    # flatten() applies the struct's own nulls to its fields: a null struct is a null value.
    parts = [chunk.flatten() for chunk in column.chunks]
    return StoredDatetimes(
        wall=pa.chunked_array([part[0] for part in parts], type=pa.timestamp("us")),
        text=pa.chunked_array([part[1] for part in parts], type=pa.string()),
        zulu=field.metadata[MARK] == _ZULU,
    )


def parse(stored: StoredDatetimes, *, z_is_local: bool = False) -> datetimes.ParsedDatetimes:
    """What ``datetimes.parse_iso`` makes of the column's text, without printing or parsing
    the canonical values: only the odd ones are parsed (``z_is_local`` as there)."""
    wall = datetimes.timestamps_of(stored.wall)
    offset = np.full(len(wall), datetimes.NO_OFFSET, dtype=np.int32)
    if stored.zulu and not z_is_local:
        offset[~np.isnat(wall)] = 0
    invalid = np.zeros(len(wall), dtype=bool)
    rows = np.flatnonzero(stored.text.is_valid().to_numpy(zero_copy_only=False))
    if len(rows):
        odd = datetimes.parse_iso(stored.text.take(pa.array(rows)), z_is_local=z_is_local)
        wall[rows], offset[rows], invalid[rows] = odd.wall, odd.offset_minutes, odd.invalid
    return datetimes.ParsedDatetimes(wall=wall, offset_minutes=offset, invalid=invalid)


def as_text(table: pa.Table) -> pa.Table:
    """``table`` with every stored date-time column back to the text the API sent."""
    for index, field in enumerate(table.schema):
        if is_stored(field):
            texts = read(field, table.column(index)).texts()
            table = table.set_column(index, pa.field(field.name, pa.string()), texts)
    return table
