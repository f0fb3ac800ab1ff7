"""Exact arithmetic on amounts that arrive as JSON floats.

The policy (explained for auditors in ``docs/money-and-time.md``): an amount
is kept as the float the source sent, so frames show what the API said, and
every sum, difference and comparison is made in int64 *units* of 1/10,000
(four decimal places, a hundredth of a cent). A float becomes the nearest
unit; for any amount written with up to four decimals that is exactly the
amount written, because float64 is within 1e-12 of it. From there arithmetic
is exact and independent of row order, so 0.1 + 0.2 reconciles with 0.3 and a
ledger sums the same however it is sorted. ``MAX_ABS`` keeps sums of millions
of rows inside int64.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCALE = 10_000
"""Units per currency unit (or per minute, for extra-service quantities)."""

MAX_ABS = 1e12
"""Largest magnitude accepted as an amount; larger values are schema violations."""


def to_units(values: pd.Series | np.ndarray) -> np.ndarray:
    """int64 units of ``values``; missing and non-finite values become 0 (callers mask them)."""
    floats = (
        values.to_numpy(dtype="float64", na_value=np.nan)
        if isinstance(values, pd.Series)
        else np.asarray(values, dtype="float64")
    )
    finite = np.isfinite(floats)
    return np.where(finite, np.rint(np.where(finite, floats, 0.0) * SCALE), 0).astype(np.int64)


def to_float(units: np.ndarray | int) -> np.ndarray | float:
    """The float nearest to ``units`` (what findings.json shows as expected/actual)."""
    return np.asarray(units, dtype=np.int64) / SCALE


def tolerance_units(tolerance: float) -> int:
    """A tolerance in units; comparisons flag differences strictly greater than it."""
    return round(tolerance * SCALE)


def format_units(units: np.ndarray, *, min_decimals: int = 2) -> np.ndarray:
    """Fixed-point text of ``units``: at least ``min_decimals`` decimals, more only if non-zero.

    ``format_units([400000, 30, -125000])`` gives ``['40.00', '0.003', '-12.50']``.
    """
    units = np.asarray(units, dtype=np.int64)
    if units.size == 0:
        return np.array([], dtype=str)
    magnitude = np.abs(units)
    whole = (magnitude // SCALE).astype(str)
    fraction = np.strings.zfill((magnitude % SCALE).astype(str), 4)
    # Keep min_decimals digits, then any further digit up to the last non-zero one.
    significant = np.strings.rstrip(fraction, "0")
    lengths = np.maximum(np.strings.str_len(significant), min_decimals)
    shown = np.strings.slice(fraction, 0, lengths)
    point = np.where(lengths > 0, ".", "")
    sign = np.where(units < 0, "-", "")
    return np.strings.add(np.strings.add(np.strings.add(sign, whole), point), shown)
