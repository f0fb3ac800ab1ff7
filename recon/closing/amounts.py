"""Amounts of a close as exact decimals, and the text every CSV of the bundle writes.

Per-credit arithmetic is on the audit's integer units (``recon.money``); the few summed
rows of a close are turned into ``Decimal`` once, so a previous bundle written at another
scale (more decimals) subtracts exactly, and every amount is written with at least two
decimals and never rounded.
"""

from __future__ import annotations

from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation

import numpy as np

_CENT = Decimal("0.01")

WIDE = Context(prec=10_000, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""The decimal context a close computes in: Python's default holds 28 digits and would
round a sum of amounts sent with more (``recon.money.ExactNumber``), or refuse to write
one. 10,000 digits hold any amount a double's exponent range can write, and then some."""


def to_decimal(units: object, decimals: int) -> Decimal:
    """Exact decimal of an integer amount of units at ``decimals``."""
    return Decimal(int(units)).scaleb(-decimals, context=WIDE)


def text(amount: Decimal) -> str:
    """``amount`` as plain decimal text with at least two decimals, more only when needed."""
    if amount == 0:
        amount = Decimal(0)  # no "-0.00"
    amount = amount.normalize(WIDE)
    if amount.as_tuple().exponent > -2:  # type: ignore[operator]
        amount = amount.quantize(_CENT, context=WIDE)
    return f"{amount:f}"


def parse(value: str, where: str) -> Decimal:
    """A decimal written by a close (``where`` names it in the error)."""
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"{where}: '{value}' is not a decimal amount") from exc
    if not amount.is_finite():
        raise ValueError(f"{where}: '{value}' is not a decimal amount")
    return amount


def units_column(values: np.ndarray, decimals: int) -> list[Decimal]:
    """Each of a few summed units as a ``Decimal`` (one per row of a report)."""
    return [to_decimal(value, decimals) for value in values]
