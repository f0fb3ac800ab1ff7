"""Amounts read exactly: the float64 column every rule reads, and the few values it cannot hold.

A reader hands over an amount column as the file gave it: float64 (a double is exactly
what its source wrote), int64 (exact integers), decimal128/256 (exact decimals, from
Parquet or from the JSON Lines reader, which parses amounts as decimals) or Python
values (numbers of mixed types, ``ExactNumber`` among them). ``amount_column`` turns it
into float64 for the rules, and returns beside it the ``ExactNumber`` of each row whose
float is not the value sent (``9007199254740993``, or more than 15 significant digits
that no double keeps): ``recon.money`` counts those rows from their exact decimals.

The usual amount of a few digits takes only vectorised steps; a value is looked at on
its own only when it has more than 15 significant digits.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .money import ExactNumber, exact_number

Exact = dict[int, ExactNumber]
"""Row (in the column) -> the exact value its float does not hold."""

_FLOAT_DIGITS = 15
_SAFE_INTEGER = 2**53
_POWERS_EXACT = 22
"""10**k is a double exactly up to k = 22, so u / 10**k is correctly rounded."""


def amount_column(column: Any) -> tuple[Any, Exact]:
    """``column`` with its numbers as float64 (Arrow) or floats (a Python list), and the
    exact value of each row whose float is not it. Other types pass through untouched
    (the schema step judges them)."""
    if isinstance(column, list):
        return _python_amounts(column)
    kind = column.type
    if pa.types.is_decimal(kind):
        return _decimal_amounts(column)
    if pa.types.is_integer(kind):
        return _integer_amounts(column)
    return column, {}


def shifted(exact: Exact, offset: int) -> Exact:
    return {row + offset: value for row, value in exact.items()} if offset else exact


def _python_amounts(values: list[Any]) -> tuple[list[Any], Exact]:
    """Replace each exact number or wide integer by its float, keeping it where the float
    is not it (a loop: only columns of mixed JSON types are Python lists)."""
    exact: Exact = {}
    kept = values
    for row, value in enumerate(values):
        wide = isinstance(value, int) and not isinstance(value, bool)
        wide = wide and not -_SAFE_INTEGER <= value <= _SAFE_INTEGER
        if not (wide or isinstance(value, Decimal)):
            continue
        number = exact_number(value)
        if isinstance(number, ExactNumber):
            try:
                nearest = float(number)
            except OverflowError:
                continue
            if not np.isfinite(nearest):
                continue  # beyond a double's range: judged not finite, as in every form
            exact[row] = number
            number = nearest
        if kept is values:
            kept = list(values)
        kept[row] = number
    return kept, exact


def _integer_amounts(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, Exact]:
    floats = column.cast(pa.float64(), safe=False)
    integers = column.fill_null(0).to_numpy(zero_copy_only=False)
    wide = integers > _SAFE_INTEGER
    if pa.types.is_signed_integer(column.type):
        wide |= integers < -_SAFE_INTEGER
    wide = np.flatnonzero(wide)
    exact: Exact = {}
    for row in wide:
        number = exact_number(int(integers[row]))
        if isinstance(number, ExactNumber):
            exact[int(row)] = number
    return floats, exact


def _decimal_amounts(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, Exact]:
    """Decimals as correctly rounded floats (Arrow's own cast is not), and the exact value
    of those with more than 15 significant digits whose float is not them."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    floats, exact, offset = [], {}, 0
    for chunk in chunks:
        values, wide = _decimal_floats(chunk)
        exact.update(shifted(wide, offset))
        floats.append(values)
        offset += len(chunk)
    if not floats:
        return pa.array([], pa.float64()), {}
    return pa.concat_arrays(floats), exact


def _decimal_floats(chunk: pa.Array) -> tuple[pa.Array, Exact]:
    scale = chunk.type.scale
    valid = chunk.is_valid().to_numpy(zero_copy_only=False)
    floats = np.zeros(len(chunk), dtype=np.float64)
    todo = valid.copy()
    if pa.types.is_decimal128(chunk.type) and 0 <= scale <= _POWERS_EXACT and len(chunk):
        # The unscaled integer is the 128-bit word; most fit its low 64 bits. Stripping
        # trailing zeros leaves u / 10**k with u below 10**15, which a double divides exactly
        # rounded and whose float is the decimal itself.
        words = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
        words = words[2 * chunk.offset : 2 * (chunk.offset + len(chunk))]
        low, high = words[0::2], words[1::2]
        fits = valid & (high == (low >> 63))
        units = np.where(fits, low, 0)
        power = np.full(len(chunk), scale, dtype=np.int64)
        for _ in range(scale):
            zeros = (units % 10 == 0) & (units != 0) & (power > 0)
            if not zeros.any():
                break
            units = np.where(zeros, units // 10, units)
            power -= zeros
        limit = 10**_FLOAT_DIGITS
        small = fits & (units < limit) & (units > -limit)
        floats[small] = units[small] / 10.0 ** power[small]
        todo &= ~small
    exact: Exact = {}
    rest = np.flatnonzero(todo)
    if len(rest):
        texts = chunk.take(pa.array(rest)).cast(pa.string())
        floats[rest] = texts.cast(pa.float64()).to_numpy(zero_copy_only=False)
        for row, text in zip(rest, _wide_texts(texts), strict=True):
            if text is not None:
                number = exact_number(Decimal(text))
                if isinstance(number, ExactNumber) and np.isfinite(floats[row]):
                    exact[int(row)] = number
    return pa.array(floats, mask=~valid), exact


def _wide_texts(texts: pa.Array) -> list[str | None]:
    """Each decimal text of more than 15 significant digits (None for the others)."""
    digits = pc.replace_substring_regex(texts, r"[-.]", "")
    digits = pc.utf8_rtrim(pc.utf8_ltrim(digits, "0"), "0")
    wide = pc.or_(pc.greater(pc.utf8_length(digits), _FLOAT_DIGITS), pc.match_substring(texts, "E"))
    return pc.if_else(wide, texts, pa.scalar(None, pa.string())).to_pylist()
