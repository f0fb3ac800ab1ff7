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
        return pc.coalesce(self.text, datetimes.printed(self.wall, "Z" if self.zulu else ""))


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
    shown = datetimes.printed(wall, suffix)
    canonical = pc.fill_null(pc.equal(shown, strings), False)
    wall = pc.if_else(canonical, wall, pa.scalar(None, pa.timestamp("us")))
    text = pc.if_else(canonical, pa.scalar(None, pa.string()), strings)
    return pa.StructArray.from_arrays([wall, text], fields=list(_STORED_TYPE)), zulu


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
