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

ISO_PATTERN = (
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<hm>\d{2}:\d{2})(?::(?P<sec>\d{2})(?:\.(?P<frac>\d{1,9}))?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_NAT = np.datetime64("NaT", "us")
_NO_OFFSET = np.iinfo(np.int32).min


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

    The common shapes (``...THH:MM:SS`` and ``...THH:MM:SSZ``) take a fast path
    of one regex test and one ``strptime``; the rest go through a regex
    extraction on just those rows.
    """
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks() if strings.num_chunks != 1 else strings.chunk(0)
    count = len(strings)
    wall = np.full(count, _NAT)
    offset = np.full(count, _NO_OFFSET, dtype=np.int32)
    present = strings.is_valid().to_numpy(zero_copy_only=False)
    well_formed = pc.fill_null(pc.match_substring_regex(strings, ISO_PATTERN), False)
    well_formed = well_formed.to_numpy(zero_copy_only=False)

    length = pc.utf8_length(strings).to_numpy(zero_copy_only=False)
    length = np.where(present, length, 0)
    ends_z = pc.fill_null(pc.ends_with(strings, "Z"), False).to_numpy(zero_copy_only=False)
    simple = well_formed & ((length == 19) | ((length == 20) & ends_z))

    if simple.any():
        rows = np.flatnonzero(simple)
        subset = strings.take(pa.array(rows))
        head = pc.utf8_slice_codeunits(subset, 0, 19)
        wall[rows] = _strptime(head)
        z_rows = rows[length[rows] == 20]
        if not z_is_local:
            offset[z_rows] = 0

    general = well_formed & ~simple
    if general.any():
        rows = np.flatnonzero(general)
        parts = pc.extract_regex(strings.take(pa.array(rows)), ISO_PATTERN)
        wall[rows], offset[rows] = _parse_general(parts, z_is_local=z_is_local)

    invalid = present & np.isnat(wall)
    offset[invalid] = _NO_OFFSET
    return ParsedDatetimes(wall=wall, offset_minutes=offset, invalid=invalid)


def from_timestamps(values: pa.Array | pa.ChunkedArray) -> ParsedDatetimes:
    """Date-times from an Arrow timestamp column (Parquet written by other tools).

    A time-zone-aware column is an instant (offset 0 from its UTC value); a naive
    one is local wall clock, like a string without an offset.
    """
    aware = values.type.tz is not None
    naive = pc.cast(values, pa.timestamp("us", tz="UTC" if aware else None))
    if aware:
        naive = pc.cast(naive, pa.timestamp("us"))
    wall = naive.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    offset = np.where(np.isnat(wall), _NO_OFFSET, 0 if aware else _NO_OFFSET).astype(np.int32)
    return ParsedDatetimes(wall=wall, offset_minutes=offset, invalid=np.zeros(len(wall), bool))


def localise(parsed: ParsedDatetimes, zones: np.ndarray) -> np.ndarray:
    """Local wall-clock datetime64[us] of each value, given each row's IANA time zone name.

    Values without an offset are already local; values with one are turned into
    UTC and then into the row's zone. Only the few distinct zones are looped over.
    """
    local = parsed.wall.copy()
    with_offset = parsed.has_offset & ~np.isnat(parsed.wall)
    if not with_offset.any():
        return local
    utc = parsed.wall - parsed.offset_minutes.astype("timedelta64[m]")
    for zone in pd.unique(zones[with_offset]):
        rows = with_offset & (zones == zone)
        if zone == "UTC":
            local[rows] = utc[rows]
            continue
        instants = pd.DatetimeIndex(utc[rows]).tz_localize("UTC").tz_convert(zone)
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


def _parse_general(parts: pa.StructArray, *, z_is_local: bool) -> tuple[np.ndarray, np.ndarray]:
    """Wall clock and offset from the regex groups of the less common shapes.

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
