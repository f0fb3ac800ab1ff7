"""The period a close speaks for: ``--period YYYY-MM`` and its bounds ``[S, E)``.

The bounds are wall-clock values: every date-time of a loaded snapshot is already the
wall clock of its credit's location (``recon.load``), so the 1st of the month at 00:00
*is* each location's own start of the month, whatever its zone. Only ``as_of``, the
moment the outputs record, is a UTC instant: ``E`` read at UTC (contract section 6d).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..moments import YEARS

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, order=True)
class Period:
    """One calendar month."""

    year: int
    month: int

    @property
    def label(self) -> str:
        """``YYYY-MM``, as ``--period`` takes it and every output names it."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> np.datetime64:
        """``S``: the 1st of the month at 00:00 (wall clock)."""
        return np.datetime64(f"{self.label}-01T00:00:00", "us")

    @property
    def end(self) -> np.datetime64:
        """``E``: the 1st of the next month at 00:00 (wall clock)."""
        return self.following().start

    @property
    def as_of(self) -> pd.Timestamp:
        """The moment the close's outputs record: ``E`` at UTC."""
        return pd.Timestamp(self.end).tz_localize("UTC")

    def following(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def preceding(self) -> Period:
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return self.label


def parse_period(text: object, name: str = "--period") -> Period:
    """``YYYY-MM`` as a ``Period``; anything else is a ``UsageError`` naming ``name``."""
    if isinstance(text, Period):
        return text
    match = _MONTH.fullmatch(str(text).strip()) if isinstance(text, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UsageError(f"{name} '{text}' is not a month; write it as YYYY-MM, e.g. 2025-11")
    period = Period(int(match.group(1)), int(match.group(2)))
    if not YEARS[0] <= period.year < YEARS[1]:
        raise UsageError(
            f"{name} '{text}' is outside the years {YEARS[0]} to {YEARS[1] - 1} that a close "
            "can record; give a month within them"
        )
    return period
