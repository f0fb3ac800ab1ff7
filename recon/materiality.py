"""Materiality: how much money the findings misstate, per currency, against the rule set's
thresholds (contract section 7).

A rule set may give each currency three amounts (``[materiality.GBP]``, read by
``recon.config``): ``clearly_trivial`` (a difference below it is too small to matter, even
in sum), ``performance`` and ``overall`` (what the misstatement must stay below). For each
currency the findings' ``impact`` is in (``recon.impact``), this module counts and sums
``|impact|`` exactly:

- the findings below ``clearly_trivial``, and those at or above it;
- waived findings included: an accepted misstatement is still a misstatement (the waived
  count and sum are given too);
- the sum at or above ``clearly_trivial`` stands ``below_performance``,
  ``reaches_performance`` (``>= performance``) or ``reaches_overall`` (``>= overall``); a sum
  of zero reaches nothing (nothing is misstated).

A currency with findings but no thresholds is counted and summed all the same, with no
split and no standing. Only findings on money count: allowances count minutes, and the
findings about waivers repeat the impact of the finding they name (counting them would
count it twice). ``--fail-on material`` fails when some currency reaches ``overall``.
"""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from . import money
from .config import RuleSet, Thresholds
from .entities import BY_NAME, Unit
from .errors import UsageError
from .exitcodes import FailOn

_EXACT = decimal.Context(prec=400, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
"""Wide enough that scaling and comparing any amount recon reads is exact."""
_FIXED_POINT = re.compile(r"-?\d+(\.\d+)?")
_MONEY_ENTITIES = frozenset(name for name, entity in BY_NAME.items() if entity.unit is Unit.MONEY)


class Standing(StrEnum):
    """Where a currency's sum at or above ``clearly_trivial`` stands."""

    BELOW_PERFORMANCE = "below_performance"
    REACHES_PERFORMANCE = "reaches_performance"
    REACHES_OVERALL = "reaches_overall"


@dataclass(frozen=True)
class Tally:
    """How many findings, and the exact sum of their ``|impact|``."""

    count: int
    sum: Decimal

    def describe(self) -> dict[str, Any]:
        return {"count": self.count, "sum": _text(self.sum)}


@dataclass(frozen=True)
class CurrencyMateriality:
    """The findings of one currency (None: findings whose credit names no currency)."""

    currency: str | None
    thresholds: Thresholds | None
    total: Tally
    """Every finding with an impact in this currency, waived or not."""
    waived: Tally
    """Of ``total``, those a waiver holds for."""
    below_clearly_trivial: Tally | None
    """None without thresholds."""
    at_or_above_clearly_trivial: Tally | None
    standing: Standing | None

    @property
    def material(self) -> bool:
        return self.standing is Standing.REACHES_OVERALL

    def describe(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "thresholds": None if self.thresholds is None else self.thresholds.describe(),
            "findings": self.total.count,
            "sum": _text(self.total.sum),
            "waived": self.waived.describe(),
            "below_clearly_trivial": _described(self.below_clearly_trivial),
            "at_or_above_clearly_trivial": _described(self.at_or_above_clearly_trivial),
            "standing": None if self.standing is None else self.standing.value,
        }


@dataclass(frozen=True)
class Materiality:
    """Every currency present in the findings (sorted by code, no currency last), and
    whether the rule set set thresholds at all."""

    currencies: tuple[CurrencyMateriality, ...]
    configured: bool

    @property
    def material(self) -> bool:
        """Some currency's sum at or above ``clearly_trivial`` reaches ``overall``."""
        return any(currency.material for currency in self.currencies)

    def describe(self) -> dict[str, Any]:
        """What findings.json's ``summary.materiality`` holds."""
        return {
            "configured": self.configured,
            "material": self.material,
            "by_currency": [currency.describe() for currency in self.currencies],
        }


def require_thresholds(ruleset: RuleSet, fail_on: FailOn) -> None:
    """``UsageError`` when ``--fail-on material`` is asked of a rule set with no thresholds."""
    if fail_on is FailOn.MATERIAL and not ruleset.materiality:
        raise UsageError(
            "--fail-on material needs materiality thresholds, and the rule set has no "
            "[materiality.<CURRENCY>] table; add one (clearly_trivial, performance, overall) "
            "to the file given with --rules"
        )


def materiality(found: pd.DataFrame, ruleset: RuleSet) -> Materiality:
    """The materiality of the findings ``found`` (``findings.COLUMNS``) under ``ruleset``."""
    impact = found["impact"].astype(object)
    counted = (impact.notna() & found["entity"].isin(_MONEY_ENTITIES)).to_numpy(dtype=bool)
    texts = impact[counted].to_numpy(dtype=object)
    currency = found["currency"].astype(object)[counted].reset_index(drop=True)
    no_currency = currency.isna().to_numpy(dtype=bool)
    waived = found["waiver"].notna().to_numpy(dtype=bool)[counted]
    units, scale = _magnitudes(texts)
    named = currency.astype(str)
    codes: list[str | None] = sorted(named[~no_currency].unique().tolist())
    if no_currency.any():
        codes.append(None)
    currencies = []
    for code in codes:
        mine = no_currency if code is None else (named == code).to_numpy(dtype=bool) & ~no_currency
        thresholds = ruleset.materiality.get(code) if code is not None else None
        values = units[mine]
        total = _tally(values, scale)
        held = _tally(values[waived[mine]], scale)
        if thresholds is None:
            currencies.append(CurrencyMateriality(code, None, total, held, None, None, None))
            continue
        trivial = money.below(values, _ceiling_units(thresholds.clearly_trivial, scale))
        below, above = _tally(values[trivial], scale), _tally(values[~trivial], scale)
        currencies.append(
            CurrencyMateriality(
                code, thresholds, total, held, below, above, _standing(above.sum, thresholds)
            )
        )
    return Materiality(tuple(currencies), configured=bool(ruleset.materiality))


def _standing(amount: Decimal, thresholds: Thresholds) -> Standing:
    if amount > 0 and amount >= thresholds.overall:
        return Standing.REACHES_OVERALL
    if amount > 0 and amount >= thresholds.performance:
        return Standing.REACHES_PERFORMANCE
    return Standing.BELOW_PERFORMANCE


def _magnitudes(texts: np.ndarray) -> tuple[np.ndarray, money.Scale]:
    """``|impact|`` of each decimal text as exact units, and their scale (at least cents).

    Impacts are fixed-point text (``recon.impact`` writes them so): digits are joined
    without the point, vectorised; any other spelling is read one by one as a Decimal.
    """
    if not len(texts):
        return np.zeros(0, dtype=np.int64), money.Scale(2)
    strings = pd.Series(texts, dtype=object).astype(str).str.strip()
    fixed = strings.str.fullmatch(_FIXED_POINT.pattern).to_numpy(dtype=bool)
    magnitude = strings.str.lstrip("-")
    parts = magnitude.str.partition(".")
    whole, fraction = parts[0], parts[2]
    decimals = max(2, int(fraction[fixed].str.len().max()) if fixed.any() else 0)
    for text in strings[~fixed]:
        exponent = Decimal(text).as_tuple().exponent
        decimals = max(decimals, -exponent if isinstance(exponent, int) else 0)
    scale = money.Scale(decimals)
    digits = (whole + fraction.str.pad(decimals, side="right", fillchar="0")).str.lstrip("0")
    digits = digits.where(digits != "", "0")
    if fixed.all() and (not len(digits) or int(digits.str.len().max()) <= 18):
        units = digits.astype(np.int64).to_numpy(dtype=np.int64)
        if float(units.sum(dtype=np.float64)) < 2**62:
            return units, scale
    # Beyond int64 (or not fixed-point): Python integers, exact at any size.
    units = np.array(
        [
            int(text) if ok else int(abs(Decimal(raw)).scaleb(decimals, context=_EXACT))
            for text, raw, ok in zip(digits, strings, fixed, strict=True)
        ],
        dtype=object,
    )
    return units, scale


def _tally(units: np.ndarray, scale: money.Scale) -> Tally:
    total = int(units.sum()) if len(units) else 0
    return Tally(len(units), Decimal(total).scaleb(-scale.decimals, context=_EXACT))


def _ceiling_units(amount: Decimal, scale: money.Scale) -> int:
    """The least whole number of units not below ``amount``: for a whole number of units
    ``n``, ``n < amount`` exactly when ``n < ceiling``."""
    scaled = amount.scaleb(scale.decimals, context=_EXACT)
    return int(scaled.to_integral_value(rounding=decimal.ROUND_CEILING, context=_EXACT))


def _text(amount: Decimal) -> str:
    """An amount as fixed-point text with at least two decimals (``12.50``, ``0.005``)."""
    text = format(amount, "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _described(tally: Tally | None) -> dict[str, Any] | None:
    return None if tally is None else tally.describe()
