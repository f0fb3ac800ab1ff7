"""Reading a moment a user gives (``--as-of``, ``--since``, ``as_of=``) as a UTC timestamp.

A value without an offset is read in UTC; a date alone (``2025-12-31``, the first thing a
finance user types) means the end of that day. Errors name the option or argument the user
gave, so ``--since yesterday`` says ``--since``.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa

from . import datetimes
from .errors import UsageError

YEARS = (1980, 2107)
"""The years a moment may fall in: every output records it, and report.xlsx (a zip
archive) can hold no time outside them."""

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_moment(value: str | dt.datetime | pd.Timestamp | None, name: str) -> pd.Timestamp:
    """``value`` as a UTC timestamp (now, floored to the second, when None).

    ``name`` is how the user gave it (``--as-of``, ``as_of``): every error names it.
    """
    if value is None:
        return pd.Timestamp.now(tz="UTC").floor("s")
    if isinstance(value, dt.datetime):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return _within_years(stamp, value, name)
    if not isinstance(value, str):
        raise UsageError(f"{name} must be an ISO-8601 date-time string, got {type(value).__name__}")
    text = value.strip()
    if _DATE.fullmatch(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError as exc:
            raise UsageError(f"{name} '{value}' is not a date: {exc}") from exc
        if not YEARS[0] <= day.year <= YEARS[1]:
            return _within_years(pd.Timestamp(year=YEARS[0] - 1, month=1, day=1), value, name)
        end = pd.Timestamp(day) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        return end.tz_localize("UTC")
    parsed = datetimes.parse_iso(pa.array([text], type=pa.string()))
    if parsed.invalid[0] or np.isnat(parsed.wall[0]):
        raise UsageError(
            f"{name} '{value}' is not an ISO-8601 date-time; write e.g. 2025-09-30T23:59:59Z, "
            "or a date such as 2025-09-30 for the end of that day"
        )
    offset = parsed.offset_minutes[0] if parsed.has_offset[0] else 0
    wall = pd.Timestamp(parsed.wall[0])
    if not YEARS[0] <= wall.year <= YEARS[1]:
        return _within_years(wall.tz_localize("UTC"), value, name)
    return _within_years((wall - pd.Timedelta(minutes=int(offset))).tz_localize("UTC"), value, name)


def _within_years(moment: pd.Timestamp, value: object, name: str) -> pd.Timestamp:
    first, last = YEARS
    if not first <= moment.year <= last:
        raise UsageError(
            f"{name} '{value}' is outside the years {first} to {last} that recon's outputs "
            "can record; give a moment within them"
        )
    return moment
