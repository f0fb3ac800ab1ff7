"""Exact arithmetic on amounts, at a scale as fine as the data needs.

The policy (explained for auditors in ``docs/money-and-time.md``): an amount is
the decimal the source sent, which for a JSON number read as a float is the
shortest decimal that reads back as that float (what ``repr`` prints and what
any JSON writer sent). Every sum, difference and comparison is made on whole
*units* of ``1 / 10**decimals``, where ``decimals`` is chosen for the whole audit
(``Scale.of``): enough for every amount of the snapshot and for the tolerance.
So 200 uses of 1.66666667 sum to exactly 333.333334, 1,000 uses of 0.00004 to
exactly 0.04, and a difference of 0.00505 is more than a tolerance of 0.005.

Units are int64 while every value and every sum of them fits (what real ledgers
need, at vectorised speed); otherwise they are Python integers in object arrays,
which numpy adds exactly at any size (the rare amount of 30 digits, or of
1e-30, is judged, not rejected). Nothing is rounded on the way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

_FAST_DECIMALS = 15
"""Up to this many decimals the float path finds an amount's decimals; beyond it (or
beyond 2**53 units) each amount's decimal is read from its repr, one by one."""
_EXACT_LIMIT = 2.0**53
"""Floats below this are whole numbers exactly, so rint(x * 10**k) is exact."""
_INT64_SAFE = 2**62
"""Sums of int64 units must stay below this; beyond it, units are Python integers."""


@dataclass(frozen=True)
class Scale:
    """The unit of one audit's arithmetic: ``1 / 10**decimals`` of a currency unit (or of
    an allowance's quantity)."""

    decimals: int

    @property
    def factor(self) -> int:
        return 10**self.decimals

    @classmethod
    def of(cls, columns: list[np.ndarray], tolerance: float, *, least: int = 2) -> Scale:
        """The finest scale any amount of ``columns`` or the tolerance needs (at least
        ``least`` decimals, so money shows its cents)."""
        needed = [least, decimals_of_number(tolerance)]
        needed += [int(decimals_of(column).max(initial=0)) for column in columns]
        return cls(max(needed))


def decimals_of(values: np.ndarray | pd.Series) -> np.ndarray:
    """How many decimals each finite value's shortest decimal has (0 for non-finite).

    Vectorised for amounts of up to ``_FAST_DECIMALS`` decimals within 2**53 units; the
    others (if any) are read from their ``repr``.
    """
    floats = _floats(values)
    needed = np.zeros(len(floats), dtype=np.int64)
    todo = np.flatnonzero(np.isfinite(floats))
    for decimals in range(_FAST_DECIMALS + 1):
        if not len(todo):
            break
        candidates = floats[todo]
        with np.errstate(over="ignore", invalid="ignore"):  # huge values: the slow path
            scaled = candidates * 10.0**decimals
        exact = (np.abs(scaled) < _EXACT_LIMIT) & (np.rint(scaled) / 10.0**decimals == candidates)
        needed[todo[exact]] = decimals
        todo = todo[~exact]
    for row in todo:  # tiny or long-tailed values: their repr is the decimal sent
        needed[row] = decimals_of_number(float(floats[row]))
    return needed


def decimals_of_number(value: float) -> int:
    """The decimals of ``value``'s shortest decimal (0 for an integer or a non-finite)."""
    if not math.isfinite(value):
        return 0
    exponent = Decimal(repr(float(value))).as_tuple().exponent
    return max(0, -int(exponent))


def to_units(values: np.ndarray | pd.Series, scale: Scale) -> np.ndarray:
    """Exact units of ``values`` at ``scale``; missing and non-finite values become 0
    (callers mask them). int64 when every sum of them fits, else Python integers."""
    floats = _floats(values)
    finite = np.isfinite(floats)
    safe = np.where(finite, floats, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float range: the exact path
        scaled = safe * float(scale.factor) if scale.decimals <= 300 else np.full_like(safe, np.inf)
    fast = np.abs(scaled) < _EXACT_LIMIT
    if fast.all():
        units = np.rint(scaled).astype(np.int64)
        if float(np.abs(units).sum(dtype=np.float64)) < _INT64_SAFE:
            return units
        return units.astype(object)
    units = np.rint(np.where(fast, scaled, 0.0)).astype(np.int64).astype(object)
    for row in np.flatnonzero(~fast):
        units[row] = _exact_units(float(safe[row]), scale)
    return units


def tolerance_units(tolerance: float, scale: Scale) -> int:
    """The tolerance in units (exact: the scale has room for its decimals)."""
    return _exact_units(float(tolerance), scale)


def exceeds(magnitude: np.ndarray, limit: int) -> np.ndarray:
    """``magnitude > limit``, elementwise, exact whatever the dtype of ``magnitude``."""
    if magnitude.dtype != object and limit >= _INT64_SAFE:
        return np.zeros(magnitude.shape, dtype=bool)
    return np.asarray(magnitude > limit, dtype=bool)


def below(values: np.ndarray, limit: int) -> np.ndarray:
    """``values < limit``, elementwise, exact whatever the dtype of ``values``."""
    if values.dtype != object and abs(limit) >= _INT64_SAFE:
        return np.full(values.shape, limit > 0, dtype=bool)
    return np.asarray(values < limit, dtype=bool)


def absolute(units: np.ndarray) -> np.ndarray:
    return np.abs(units) if units.dtype != object else np.array([abs(u) for u in units], object)


def to_float(units: np.ndarray | int, scale: Scale) -> np.ndarray | float:
    """The float nearest to ``units`` (what findings.json shows as expected/actual)."""
    array = np.asarray(units)
    if array.dtype == object:
        return np.array([_float(int(unit), scale) for unit in array.ravel()]).reshape(array.shape)
    return array.astype(np.float64) / float(scale.factor)


def to_decimal_text(units: int, scale: Scale) -> str:
    """One amount as exact decimal text with every decimal of the scale, for CSVs."""
    return format_units(np.array([units], dtype=object), scale, min_decimals=scale.decimals)[0]


def format_units(units: np.ndarray, scale: Scale, *, min_decimals: int = 2) -> np.ndarray:
    """Fixed-point text of ``units``: at least ``min_decimals`` decimals, more only if non-zero.

    At two decimals, ``format_units([4000, 3, -1250], Scale(2))`` gives
    ``['40.00', '0.03', '-12.50']``; at three, 3 units is ``'0.003'``.
    """
    units = np.asarray(units)
    if units.size == 0:
        return np.array([], dtype=str)
    if units.dtype == object or scale.decimals > 18:
        return np.array([_format_one(int(u), scale, min_decimals) for u in units], dtype=object)
    units = units.astype(np.int64)
    magnitude = np.abs(units)
    factor = np.int64(scale.factor)
    whole = (magnitude // factor).astype(str)
    if scale.decimals == 0:
        fraction = np.full(units.shape, "", dtype=str)
    else:
        fraction = np.strings.zfill((magnitude % factor).astype(str), scale.decimals)
    # Keep min_decimals digits, then any further digit up to the last non-zero one.
    significant = np.strings.rstrip(fraction, "0")
    lengths = np.minimum(np.maximum(np.strings.str_len(significant), min_decimals), scale.decimals)
    pad = np.maximum(min_decimals - scale.decimals, 0)
    shown = np.strings.ljust(np.strings.slice(fraction, 0, lengths), lengths + pad, "0")
    point = np.where(lengths + pad > 0, ".", "")
    sign = np.where(units < 0, "-", "")
    return np.strings.add(np.strings.add(np.strings.add(sign, whole), point), shown)


def _format_one(units: int, scale: Scale, min_decimals: int) -> str:
    whole, fraction = divmod(abs(units), scale.factor)
    digits = f"{fraction:0{scale.decimals}d}" if scale.decimals else ""
    digits = digits.rstrip("0").ljust(min_decimals, "0")
    sign = "-" if units < 0 else ""
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def _exact_units(value: float, scale: Scale) -> int:
    """``value``'s shortest decimal in units, exactly; a finer decimal is rounded half to even
    (never happens for a scale from ``Scale.of`` over the same values)."""
    if not math.isfinite(value):
        return 0
    exact = Decimal(repr(value)).scaleb(scale.decimals)
    return int(exact.to_integral_value())


def _float(units: int, scale: Scale) -> float:
    try:
        return units / scale.factor  # Python's int / int is correctly rounded
    except OverflowError:
        return math.copysign(math.inf, units)


def _floats(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    return np.asarray(values, dtype="float64")
