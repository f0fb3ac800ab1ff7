"""ISO-8601 date-times: strict vectorised parsing, and the wall clock they mean locally.

The contract compares date-times as wall-clock times of the credit's location:
a value with ``Z`` or an offset is converted to the location's time zone, a
value without one is already local. So parsing keeps two things apart, the
wall clock as written and the offset (null when none was written), and
``localise`` combines them with each row's time zone once the location of every
record is known.

Accepted: ``YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|±HH[:MM]]``. Anything else,
including impossible dates such as ``2025-02-30T10:00:00``, is invalid.
Fractions are kept to the microsecond; timestamps are ``datetime64[us]`` so
.NET's ``0001-01-01T00:00:00`` still parses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .byte_matrix import fixed_width_bytes
from .rows import pieces

ISO_PATTERN = (
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<hm>(?:[01]\d|2[0-3]):[0-5]\d)"
    r"(?::(?P<sec>[0-5]\d)(?:\.(?P<frac>\d{1,9}))?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_NAT = np.datetime64("NaT", "us")
_NO_OFFSET = np.iinfo(np.int32).min
NO_OFFSET = _NO_OFFSET
"""``ParsedDatetimes.offset_minutes`` of a value written without an offset."""
_BLOCK = 1 << 20
"""Rows per block of the fixed-width parser: keeps its temporaries small."""


@dataclass(frozen=True)
class Zones:
    """The IANA time zone of each row, as small integer codes into ``names``."""

    codes: np.ndarray
    names: tuple[str, ...]

    @classmethod
    def uniform(cls, count: int, name: str) -> Zones:
        return cls(np.zeros(count, dtype=np.int16), (name,))


@dataclass(frozen=True)
class ParsedDatetimes:
    """Date-times as written: wall clock, offset in minutes, and which strings were invalid."""

    wall: np.ndarray
    """datetime64[us]; NaT where the value is null or invalid."""
    offset_minutes: np.ndarray
    """int32 minutes east of UTC; ``_NO_OFFSET`` where none was written (or ``Z`` is local)."""
    invalid: np.ndarray
    """bool: a value was present but is not an ISO-8601 date-time."""

    @property
    def has_offset(self) -> np.ndarray:
        return self.offset_minutes != _NO_OFFSET


def parse_iso(strings: pa.Array | pa.ChunkedArray, *, z_is_local: bool = False) -> ParsedDatetimes:
    """Parse ISO-8601 strings; ``z_is_local`` reads a literal ``Z`` as local wall clock.

    The shapes APIs send (``YYYY-MM-DDTHH:MM:SS``, with or without ``Z``) are
    parsed from their bytes with integer arithmetic, about four times faster
    than a regex and ``strptime``; everything else, including any string the
    fast path does not accept, goes through the general regex path, so both
    paths give one answer.
    """
    if isinstance(strings, pa.ChunkedArray):
        if strings.num_chunks == 1:
            return _parse_chunk(strings.chunk(0), z_is_local=z_is_local)
        # A million rows at a time (Parquet row groups, JSON Lines blocks, joined while
        # small): no copy of the whole column's text, and temporaries the size of a
        # piece, which the allocator reuses instead of having the kernel zero fresh pages
        # for each; pieces large enough that the per-call cost of the kernels is nothing.
        # Each piece's answer is written into the whole column's arrays as it comes: a list
        # of the pieces' answers joined at the end held the column's answer twice.
        count = len(strings)
        whole = ParsedDatetimes(
            wall=np.empty(count, dtype="datetime64[us]"),
            offset_minutes=np.empty(count, dtype=np.int32),
            invalid=np.empty(count, dtype=bool),
        )
        start = 0
        for piece in pieces(strings, _BLOCK):
            part = _parse_chunk(piece, z_is_local=z_is_local)
            stop = start + len(piece)
            whole.wall[start:stop] = part.wall
            whole.offset_minutes[start:stop] = part.offset_minutes
            whole.invalid[start:stop] = part.invalid
            start = stop
        return whole
    return _parse_chunk(strings, z_is_local=z_is_local)


def _parse_chunk(strings: pa.Array, *, z_is_local: bool) -> ParsedDatetimes:
    """``parse_iso`` of one array."""
    count = len(strings)
    wall = np.full(count, _NAT)
    offset = np.full(count, _NO_OFFSET, dtype=np.int32)
    present = strings.is_valid().to_numpy(zero_copy_only=False)
    lengths = pc.binary_length(strings).to_numpy(zero_copy_only=False)
    lengths = np.where(present, lengths, 0).astype(np.int32)
    parsed = np.zeros(count, dtype=bool)

    for width in (19, 20):
        rows = np.flatnonzero(lengths == width)
        for block in range(0, len(rows), _BLOCK):
            block_rows = rows[block : block + _BLOCK]
            values, ok = _parse_block(strings, block_rows, width)
            accepted = block_rows[ok]
            wall[accepted] = values[ok]
            parsed[accepted] = True
            if width == 20 and not z_is_local:
                offset[accepted] = 0

    rest = np.flatnonzero(present & ~parsed)
    if len(rest):
        wall[rest], offset[rest] = parse_with_regex(
            strings.take(pa.array(rest)), z_is_local=z_is_local
        )

    invalid = present & np.isnat(wall)
    offset[invalid] = _NO_OFFSET
    return ParsedDatetimes(wall=wall, offset_minutes=offset, invalid=invalid)


def _parse_block(strings: pa.Array, rows: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """datetime64[us] of the fixed-width strings at ``rows`` and which of them parsed.

    Arrow's ISO-8601 cast is C++ and several times faster than the numpy parser, but it
    takes shapes the numpy parser does not (a space for ``T``, an offset) and it fails the
    whole array on one bad value. So it is used only on a block whose every string has
    the separators the numpy parser wants where it wants them; year 0, which the numpy
    parser leaves to the general path, is left to it here too. A block Arrow refuses (a
    bad date somewhere in it) is cast again in smaller pieces, and only the pieces that
    still fail go to the numpy parser: a few bad values cost a few small pieces' speed,
    never a different answer (the tests hold every path to one answer).
    """
    matrix = fixed_width_bytes(strings, rows, width)
    shaped = np.ones(len(rows), dtype=bool)
    for position, byte in _SEPARATORS.items():
        shaped &= matrix[:, position] == byte
    if width == 20:
        shaped &= matrix[:, 19] == ord("Z")
    if not shaped.all():
        return _parse_fixed_width(matrix)
    values = np.empty(len(rows), dtype="datetime64[us]")
    ok = np.empty(len(rows), dtype=bool)
    target = pa.timestamp("us", tz="UTC" if width == 20 else None)
    pending = [(0, len(rows))]
    while pending:
        start, stop = pending.pop()
        micros = _cast(strings, rows[start:stop], target)
        if micros is not None:
            values[start:stop], ok[start:stop] = (
                micros.astype("datetime64[us]"),
                micros >= _YEAR_ONE,
            )
        elif stop - start <= _SMALLEST_PIECE:
            values[start:stop], ok[start:stop] = _parse_fixed_width(matrix[start:stop])
        else:
            step = max(_SMALLEST_PIECE, -(-(stop - start) // _PIECES))
            pending += [(begin, min(begin + step, stop)) for begin in range(start, stop, step)]
    return values, ok


def _cast(strings: pa.Array, rows: np.ndarray, target: pa.DataType) -> np.ndarray | None:
    """int64 microseconds of the strings at ``rows`` by Arrow's cast; None when one fails."""
    contiguous = rows[-1] - rows[0] == len(rows) - 1
    piece = strings.slice(int(rows[0]), len(rows)) if contiguous else strings.take(pa.array(rows))
    try:
        cast = pc.cast(piece, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return cast.view(pa.int64()).to_numpy(zero_copy_only=False)


_PIECES = 16
"""A block Arrow refuses is cast again in this many pieces, each refused piece likewise."""
_SMALLEST_PIECE = 4096
"""A refused piece this small goes to the numpy parser."""


_YEAR_ONE = int(np.datetime64("0001-01-01T00:00:00", "us").astype(np.int64))
"""The first moment of year 1: year 0 goes to the general path, as in ``_parse_fixed_width``."""

_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_SEPARATORS = {4: ord("-"), 7: ord("-"), 10: ord("T"), 13: ord(":"), 16: ord(":")}
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _parse_fixed_width(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """datetime64[us] of ``YYYY-MM-DDTHH:MM:SS`` (+ ``Z`` in a 20th byte) rows, and which
    rows are exactly that shape and a real date and time."""
    digits = matrix[:, _DIGITS].astype(np.int32) - ord("0")
    ok = ((digits >= 0) & (digits <= 9)).all(axis=1)
    for position, byte in _SEPARATORS.items():
        ok &= matrix[:, position] == byte
    if matrix.shape[1] == 20:
        ok &= matrix[:, 19] == ord("Z")
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month, day, hour, minute, second = (
        digits[:, i] * 10 + digits[:, i + 1] for i in range(4, 14, 2)
    )
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    days_in_month = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    ok &= (year >= 1) & month_ok & (day >= 1) & (day <= days_in_month)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    days = months.astype("datetime64[D]").astype(np.int64) + np.where(ok, day - 1, 0)
    seconds = days * 86_400 + hour * 3600 + minute * 60 + second
    return (seconds * 1_000_000).astype("datetime64[us]"), ok


def printed(wall: pa.Array | pa.ChunkedArray, suffix: str = "") -> pa.Array | pa.ChunkedArray:
    """The canonical text of each wall clock (a timestamp[us] column), to the second, then
    ``suffix`` (null where ``wall`` is null). Printed as digits by numpy into one buffer:
    Arrow's ``strftime`` takes about a microsecond a value, a minute for the date-times of
    10M uses (and prints a fraction, ``.000000``, for every value to the microsecond)."""
    if isinstance(wall, pa.ChunkedArray):
        return pa.chunked_array([printed(chunk, suffix) for chunk in wall.chunks], type=pa.string())
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
    texts = pa.StringArray.from_buffers(
        count, pa.py_buffer(offsets), pa.py_buffer(text.reshape(-1))
    )
    if wall.null_count == 0:
        return texts
    return pc.if_else(wall.is_valid(), texts, pa.scalar(None, pa.string()))


def shown(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each timestamp as the reports show a date-time: ISO-8601 to the second, to the
    microsecond where it has a fraction of a second (as ``isoformat`` gives it); null for
    null. In bulk (``printed``); only the values with a fraction, or a year ``printed``
    cannot write in four digits (before 0, after 9999: a Parquet timestamp may hold one),
    are printed by numpy one by one, as ``isoformat`` writes them."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    wall = values.cast(pa.timestamp("us"))
    text = printed(wall)
    micros = pc.fill_null(wall.view(pa.int64()), 0).to_numpy(zero_copy_only=False)
    fraction = micros % 1_000_000 != 0
    rows = np.flatnonzero(fraction | (micros < _YEAR_ZERO) | (micros >= _YEAR_TEN_THOUSAND))
    if not len(rows):
        return text
    moments = micros[rows].astype("datetime64[us]")
    exact = np.where(
        fraction[rows],
        np.datetime_as_string(moments, unit="us"),
        np.datetime_as_string(moments, unit="s"),
    )
    mask = np.zeros(len(wall), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(text, pa.array(mask), pa.array(exact.tolist(), pa.string()))


_YEAR_ZERO = int(np.datetime64("0000-01-01T00:00:00", "us").astype(np.int64))
_YEAR_TEN_THOUSAND = int(np.datetime64("10000-01-01T00:00:00", "us").astype(np.int64))


def months_of(times: np.ndarray) -> np.ndarray:
    """The month of each datetime64 of ``times`` (none NaT), as int64 months since
    1970-01: ``times.astype("datetime64[M]")``, which works out a calendar date for each
    value (0.5 s for 10M uses). The days spanned are few: each gets its month once, and
    the values look theirs up."""
    days = times.astype("datetime64[D]").view(np.int64)
    if not len(days):
        return days.copy()
    first, last = int(days.min()), int(days.max())
    if last - first > max(len(days), 1 << 16):  # a span wider than the values: directly
        return times.astype("datetime64[M]").astype(np.int64)
    month_of_day = np.arange(first, last + 1).astype("datetime64[D]").astype("datetime64[M]")
    return month_of_day.astype(np.int64)[days - first]


def arrow_of(wall: np.ndarray) -> pa.Array:
    """A datetime64[us] array as an Arrow timestamp[us] column, null for NaT, over the
    same memory (``pa.array(..., from_pandas=True)`` copies 80 MB for 10M values)."""
    wall = np.ascontiguousarray(wall, dtype="datetime64[us]")
    valid = ~np.isnat(wall)
    nulls = len(wall) - int(np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(
        pa.timestamp("us"), len(wall), [bitmap, pa.py_buffer(wall)], null_count=nulls
    )


def timestamps_of(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A new datetime64[us] array of a timestamp[us] column, NaT for null."""
    if isinstance(values, pa.ChunkedArray):
        # Chunk by chunk into one array: no list of the chunks' copies joined at the end.
        micros = np.empty(len(values), dtype="datetime64[us]")
        start = 0
        for chunk in values.chunks:
            micros[start : start + len(chunk)] = timestamps_of(chunk)
            start += len(chunk)
        return micros
    # Nulls filled first: numpy would otherwise get floats, which do not hold every microsecond.
    ticks = pc.fill_null(values.view(pa.int64()), 0).to_numpy(zero_copy_only=False)
    micros = ticks.astype("datetime64[us]")  # a copy: callers write into it
    if values.null_count:
        micros[~values.is_valid().to_numpy(zero_copy_only=False)] = _NAT
    return micros


def from_timestamps(values: pa.Array | pa.ChunkedArray) -> ParsedDatetimes:
    """Date-times from an Arrow timestamp column (Parquet written by other tools).

    A time-zone-aware column is an instant (offset 0 from its UTC value); a naive
    one is local wall clock, like a string without an offset. A value beyond what
    microseconds hold (about 292,000 years either side of 1970) is invalid.
    """
    aware = values.type.tz is not None
    micros, invalid = to_microseconds(values)
    naive = pc.cast(micros, pa.timestamp("us"))  # an aware column's UTC wall clock
    wall = naive.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    offset = np.where(np.isnat(wall), _NO_OFFSET, 0 if aware else _NO_OFFSET).astype(np.int32)
    return ParsedDatetimes(wall=wall, offset_minutes=offset, invalid=invalid)


_MICROS_PER = {"s": 1_000_000, "ms": 1_000, "us": 1, "date32": 86_400_000_000, "date64": 1_000}


def to_microseconds(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """A timestamp or date column as timestamp[us] (its zone kept), and the mask of the
    values that microseconds cannot hold, which become null."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    kind = values.type
    target = pa.timestamp("us", tz=kind.tz if pa.types.is_timestamp(kind) else None)
    none_wrong = np.zeros(len(values), dtype=bool)
    if pa.types.is_timestamp(kind) and kind.unit == "ns":
        # Nanoseconds to microseconds only drops digits (the contract keeps microseconds);
        # a safe cast would refuse the timestamp[ns] maximum for them.
        return pc.cast(values, target, safe=False), none_wrong
    try:
        return pc.cast(values, target), none_wrong
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    unit = kind.unit if pa.types.is_timestamp(kind) else str(kind)
    per = _MICROS_PER[unit]
    storage = pa.int32() if pa.types.is_date32(kind) else pa.int64()
    ticks = values.view(storage).cast(pa.int64()).to_numpy(zero_copy_only=False)
    present = values.is_valid().to_numpy(zero_copy_only=False)
    ticks = np.where(present, ticks, 0)
    wrong = present & (np.abs(ticks) > (2**63 - 1) // per)
    micros = np.where(wrong, 0, ticks) * per
    result = pa.array(micros, type=pa.int64(), mask=wrong | ~present).view(target)
    return result, wrong


def localise(parsed: ParsedDatetimes, zones: Zones) -> np.ndarray:
    """Local wall-clock datetime64[us] of each value, in each row's time zone.

    Values without an offset are already local; values with one are turned into
    UTC and then into the row's zone. Only the few distinct zones are looped over.
    When no value moves (none has an offset, or every offset is UTC's and so is the one
    zone) the result is ``parsed.wall`` itself, not a copy: ``parsed`` is spent.
    """
    with_offset = parsed.has_offset & ~np.isnat(parsed.wall)
    if not with_offset.any():
        return parsed.wall
    if zones.names == ("UTC",) and not parsed.offset_minutes[with_offset].any():
        return parsed.wall  # 'Z' everywhere, read in UTC: the usual API timestamps
    local = parsed.wall.copy()
    # In integer microseconds: no timedelta temporaries of every row in other units.
    shift = np.where(with_offset, parsed.offset_minutes, 0).astype(np.int64) * 60_000_000
    utc = (parsed.wall.view(np.int64) - shift).view("datetime64[us]")
    del shift
    one_zone = len(zones.names) == 1  # the usual case: no mask, no sort of the codes
    for code in (0,) if one_zone else np.unique(zones.codes[with_offset]):
        rows = with_offset if one_zone else with_offset & (zones.codes == code)
        name = zones.names[code]
        if name == "UTC":
            np.copyto(local, utc, where=rows)
            continue
        instants = pd.DatetimeIndex(utc[rows]).tz_localize("UTC").tz_convert(name)
        local[rows] = instants.tz_localize(None).as_unit("us").to_numpy()
    return local


def _strptime(heads: pa.Array) -> np.ndarray:
    """datetime64[us] of ``YYYY-MM-DDTHH:MM:SS`` strings; NaT for impossible dates."""
    parsed = pc.strptime(heads, format="%Y-%m-%dT%H:%M:%S", unit="us", error_is_null=True)
    # Arrow's strptime rolls 2025-02-30 over into March: a day that changed was impossible.
    written_day = pc.cast(pc.utf8_slice_codeunits(heads, 8, 10), pa.int64())
    rolled = pc.fill_null(pc.not_equal(pc.day(parsed), written_day), True)
    values = parsed.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    values[rolled.to_numpy(zero_copy_only=False)] = _NAT
    return values


def parse_with_regex(strings: pa.Array, *, z_is_local: bool) -> tuple[np.ndarray, np.ndarray]:
    """The general path: wall clock (NaT where invalid) and offset of any strings."""
    wall = np.full(len(strings), _NAT)
    offset = np.full(len(strings), _NO_OFFSET, dtype=np.int32)
    well_formed = pc.fill_null(pc.match_substring_regex(strings, ISO_PATTERN), False)
    rows = np.flatnonzero(well_formed.to_numpy(zero_copy_only=False))
    if len(rows):
        parts = pc.extract_regex(strings.take(pa.array(rows)), ISO_PATTERN)
        wall[rows], offset[rows] = _from_groups(parts, z_is_local=z_is_local)
    offset[np.isnat(wall)] = _NO_OFFSET
    return wall, offset


def _from_groups(parts: pa.StructArray, *, z_is_local: bool) -> tuple[np.ndarray, np.ndarray]:
    """Wall clock and offset from the regex groups of well-formed strings.

    ``extract_regex`` gives an empty string for an optional group that did not match.
    """
    seconds = parts.field("sec")
    seconds = pc.if_else(pc.equal(seconds, ""), "00", seconds)
    heads = pc.binary_join_element_wise(
        parts.field("date"), "T", parts.field("hm"), ":", seconds, ""
    )
    wall = _strptime(heads)

    fraction = pc.utf8_rpad(parts.field("frac"), 6, "0")
    micros = pc.cast(pc.utf8_slice_codeunits(fraction, 0, 6), pa.int64()).to_numpy()
    wall = wall + micros.astype("timedelta64[us]")

    zone = parts.field("zone")
    digits = pc.replace_substring(pc.utf8_slice_codeunits(zone, 1, 6), ":", "")
    numeric = pc.greater_equal(pc.utf8_length(zone), 3).to_numpy(zero_copy_only=False)
    hours = _int_or_zero(pc.utf8_slice_codeunits(digits, 0, 2))
    minutes = _int_or_zero(pc.utf8_slice_codeunits(digits, 2, 4))
    negative = pc.starts_with(zone, "-").to_numpy(zero_copy_only=False)
    numeric_offset = np.where(negative, -1, 1) * (hours * 60 + minutes)

    offset = np.full(len(zone), _NO_OFFSET, dtype=np.int32)
    if not z_is_local:
        offset[pc.equal(zone, "Z").to_numpy(zero_copy_only=False)] = 0
    offset[numeric] = numeric_offset[numeric]
    wall[numeric & ((hours > 23) | (minutes > 59))] = _NAT
    return wall, offset


def _int_or_zero(digits: pa.Array) -> np.ndarray:
    """int64 of digit strings, 0 for the empty string."""
    as_int = pc.cast(pc.if_else(pc.equal(digits, ""), "0", digits), pa.int64())
    return as_int.to_numpy(zero_copy_only=False)
