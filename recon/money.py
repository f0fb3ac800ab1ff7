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

An amount a double cannot hold (``9007199254740993``, or any of more than 17 significant
digits) is read as an ``ExactNumber``: its exact decimal, kept beside the float64 column
that every rule reads (``TypedEntity.exact``), and used in its place for units, for the
scale and for what findings show. ``exact_float`` is the JSON hook that keeps them; a
double stays the float it is, so the usual amount costs nothing more.
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Iterable, Mapping
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
_FLOAT_DIGITS = 15
"""A decimal of at most this many significant digits is the shortest decimal of its nearest
double, so the float holds it exactly; beyond it, each value is checked."""
_LITERAL_LIMIT = 60
"""An exact number's literal is plain digits up to this length, else in E notation."""


class ExactNumber(Decimal):
    """A number as the source sent it, where no double holds it: ``9007199254740993``,
    ``12345678901234567890123.45``. Its ``str`` is a JSON number literal with every digit
    (findings.json, reports and the workpaper write it so); a ``Decimal`` otherwise."""

    def __str__(self) -> str:
        return literal(self)

    def __repr__(self) -> str:
        return f"ExactNumber('{literal(self)}')"


def amount_of(value: Any) -> Decimal | None:
    """An amount a person wrote in a rule set or a waiver, as its exact decimal: text of
    ASCII digits with an optional sign and point (``"12.50"``, ``"-3"``), an integer, or a
    float by its shortest decimal; None for anything else. Python's ``Decimal`` also reads
    ``"1_000"``, ``"1e3"``, ``"Infinity"`` and digits of other scripts: none of those is how
    an amount of money is written, and a typo read as a number is a wrong threshold."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str) and _AMOUNT_TEXT.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


_AMOUNT_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def exact_float(text: str) -> float | ExactNumber:
    """A JSON number literal with a fraction or an exponent, as ``json``'s ``parse_float``:
    the float when its shortest decimal is what ``text`` says, else the ``ExactNumber``.

    Beyond a double's range the float is infinite, as every reader makes it (a violation).
    """
    if len(text) <= _FLOAT_DIGITS + 1 and "e" not in text and "E" not in text:
        return float(text)  # at most 15 digits and a point: the float is exact
    value = float(text)
    if not math.isfinite(value):
        return value
    exact = ExactNumber(text)
    return value if Decimal(repr(value)) == exact else exact


def exact_number(value: int | Decimal) -> float | ExactNumber:
    """``value`` as a float when the float is exactly it, else as an ``ExactNumber``
    (an integer beyond 2**53, a decimal of more than 15 significant digits)."""
    if isinstance(value, int) and -(2**53) <= value <= 2**53:
        return float(value)
    try:
        number = float(value)
    except OverflowError:
        return ExactNumber(value)
    if isinstance(value, int):
        return number if math.isfinite(number) and int(number) == value else ExactNumber(value)
    if math.isfinite(number) and Decimal(repr(number)) == value:
        return number
    return ExactNumber(value)


def literal(value: Decimal) -> str:
    """``value`` as a JSON number literal with every digit and no trailing zero:
    ``9007199254740993``, ``0.1000000000000000055``, ``1E-70``."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"{value} is not a finite number")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if len(text) > _LITERAL_LIMIT:
        significant = "".join(map(str, digits)).rstrip("0") or "0"
        exponent += len(digits) - len(significant)
        text = f"{'-' if sign else ''}{significant}E{exponent:+d}"
    return "0" if text in ("-0", "") else text


def decimals_of_exact(value: Decimal) -> int:
    """How many decimals ``value`` has, trailing zeros aside."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing)) if any(digits) else 0


def decimal_units(value: Decimal, scale: Scale) -> int:
    """``value`` in units of ``scale``, exactly (half to even beyond its decimals, which a
    scale from ``Scale.of`` over the same values never needs)."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    magnitude = int("".join(map(str, digits)) or "0")
    shift = exponent + scale.decimals
    if shift >= 0:
        magnitude *= 10**shift
    else:
        quotient, remainder = divmod(magnitude, 10**-shift)
        twice = 2 * remainder
        magnitude = quotient + (twice > 10**-shift or (twice == 10**-shift and quotient % 2))
    return -magnitude if sign else magnitude


@dataclass(frozen=True)
class Scale:
    """The unit of one audit's arithmetic: ``1 / 10**decimals`` of a currency unit (or of
    an allowance's quantity)."""

    decimals: int

    @property
    def factor(self) -> int:
        return 10**self.decimals

    @classmethod
    def of(
        cls,
        columns: Iterable[np.ndarray],
        tolerance: float,
        *,
        least: int = 2,
        exact: Iterable[Decimal] = (),
    ) -> Scale:
        """The finest scale any amount of ``columns``, any ``exact`` amount or the
        tolerance needs (at least ``least`` decimals, so money shows its cents)."""
        floor = max(least, decimals_of_number(tolerance), *map(decimals_of_exact, exact))
        # Only the values not whole at ``floor`` decimals can need more: their decimals are
        # counted one by one, the rest need ``floor`` or fewer (``decimals_of`` would find
        # them whole at ``floor`` by the very same test, or earlier).
        needed = [floor]
        needed += [int(decimals_of(_beyond(column, floor)).max(initial=0)) for column in columns]
        return cls(max(needed))


_BLOCK = 1 << 20
"""Values checked per block: the test's temporaries stay small (no fresh pages to zero
for each of 10M values) and in cache."""


def _beyond(values: np.ndarray, decimals: int) -> np.ndarray:
    """The finite values of ``values`` that ``decimals_of`` does not find whole at
    ``decimals`` (all of them when ``decimals`` is beyond its fast path)."""
    floats = _floats(values)
    if decimals > _FAST_DECIMALS:
        return floats
    factor = 10.0**decimals
    kept = []
    for start in range(0, len(floats), _BLOCK):
        block = floats[start : start + _BLOCK]
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = block * factor
            whole = np.abs(scaled) < _EXACT_LIMIT
            np.rint(scaled, out=scaled)
            scaled /= factor
            whole &= scaled == block
        np.logical_not(whole, out=whole)
        whole &= np.isfinite(block)
        kept.append(block[whole])
    return np.concatenate(kept) if kept else floats


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


def to_units(
    values: np.ndarray | pd.Series, scale: Scale, *, exact: Mapping[int, Decimal] | None = None
) -> np.ndarray:
    """Exact units of ``values`` at ``scale``; missing and non-finite values become 0
    (callers mask them). int64 when every sum of them fits, else Python integers.

    ``exact`` maps rows (the labels of a Series' index, else positions) to the exact
    decimals of the values their floats do not hold; those rows are counted from them.
    """
    units = _float_units(values, scale)
    if not exact:
        return units
    labels = values.index if isinstance(values, pd.Series) else pd.RangeIndex(len(units))
    rows = np.fromiter(exact, dtype=np.int64, count=len(exact))
    positions = labels.get_indexer(rows)
    found = positions >= 0
    if not found.any():
        return units
    replaced = [decimal_units(exact[int(row)], scale) for row in rows[found]]
    if units.dtype != object:
        bound = max(abs(unit) for unit in replaced)
        total = float(np.abs(units).sum(dtype=np.float64)) + float(bound) * len(replaced)
        if bound >= _INT64_SAFE or total >= _INT64_SAFE:
            units = units.astype(object)
    units[positions[found]] = replaced
    return units


def _float_units(values: np.ndarray | pd.Series, scale: Scale) -> np.ndarray:
    floats = _floats(values)
    finite = np.isfinite(floats)
    every_finite = bool(finite.all())
    safe = floats if every_finite else np.where(finite, floats, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float range: the exact path
        scaled = safe * float(scale.factor) if scale.decimals <= 300 else np.full_like(safe, np.inf)
    # |scaled| < 2**53 everywhere, read from the extremes (no array of magnitudes); then
    # rounded in place: the temporaries of 10M amounts cost fresh pages, each one.
    if len(scaled) == 0 or (scaled.min() > -_EXACT_LIMIT and scaled.max() < _EXACT_LIMIT):
        units = np.rint(scaled, out=scaled).astype(np.int64)
        if float(np.abs(units).sum(dtype=np.float64)) < _INT64_SAFE:
            return units
        return units.astype(object)
    fast = np.abs(scaled) < _EXACT_LIMIT
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
    """``units`` as numbers for findings.json's expected/actual: the float, which is the exact
    amount for any of at most 15 significant digits; an ``ExactNumber`` for the rare amount
    whose float is not it (then the array is of objects)."""
    array = np.asarray(units)
    if array.dtype == object:
        floats = np.array([_float(int(unit), scale) for unit in array.ravel()], dtype=np.float64)
        floats = floats.reshape(array.shape)
    else:
        floats = array.astype(np.float64) / float(scale.factor)
    limit = 10**_FLOAT_DIGITS
    wide = np.flatnonzero(np.asarray((array >= limit) | (array <= -limit), dtype=bool).ravel())
    if not len(wide):
        return floats
    flat, numbers = array.ravel(), floats.astype(object).ravel()
    for row in wide:
        amount = Decimal(int(flat[row])).scaleb(-scale.decimals, _WIDE)
        nearest = float(floats.flat[row])
        if not (math.isfinite(nearest) and Decimal(repr(nearest)) == amount):
            numbers[row] = ExactNumber(amount)
    return numbers.reshape(array.shape) if array.ndim else numbers[0]


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


_WIDE = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
"""A context in which scaling a Decimal by a power of ten is exact."""


def _float(units: int, scale: Scale) -> float:
    try:
        return units / scale.factor  # Python's int / int is correctly rounded
    except OverflowError:
        return math.copysign(math.inf, units)


def _floats(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    return np.asarray(values, dtype="float64")
