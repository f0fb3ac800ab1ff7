"""The geometry of report.html's SVG charts, and the monthly sums they draw.

Sums are exact integer units (``recon.money``) over what the rules counted:
the credits' balances and the ledger of uses from ``Derived``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import datetimes, money
from ..derived import NO_ROW, take, timestamps
from ..entities import CREDIT, CREDIT_USE
from .evidence import amount_text, grouped

if TYPE_CHECKING:
    from ..audit import AuditResult

MONTHS_SHOWN = 48
"""The longest continuous month axis; a longer span shows only the months with data."""


def monthly(result: AuditResult) -> dict[str, Series]:
    """Per currency code ('' when the credit has none): issued and consumed units by month.

    Issued is ``TotalCredit`` in the month of the credit's ``ValidFrom`` (``CreatedOn`` when it
    has none), each credit Id once; consumed is ``CreditUsed`` in the month of the use's
    usage time, over the uses the rules' balances counted (``Derived.credit_ledger``).
    """
    snapshot, derived = result.snapshot, result.derived
    if CREDIT not in snapshot or CREDIT_USE not in snapshot:
        return {}
    frame = snapshot.frame(CREDIT)
    # Currencies as small integer codes (the last one for none): grouping ten million uses
    # by a string column would cost seconds.
    codes, names = pd.factorize(frame["BusinessCurrencyCode"], use_na_sentinel=True)
    codes = np.where(codes < 0, len(names), codes).astype(np.int64)
    labels = [str(name) for name in names] + [""]
    balances = derived.credit_balances
    counted = balances.total_known & (derived.first_rows(CREDIT) == np.arange(len(frame)))
    issued_at = timestamps(frame["ValidFrom"])
    issued_at = np.where(np.isnat(issued_at), timestamps(frame["CreatedOn"]), issued_at)
    issued = _sum_by_month(codes, issued_at, balances.total, counted & ~np.isnat(issued_at))
    ledger, parent = derived.credit_ledger, derived.credit_row_of_use
    used_at = derived.credit_usage_times.time
    mine = ledger.use_counted & (parent != NO_ROW) & ~np.isnat(used_at)
    consumed = _sum_by_month(take(codes, parent, len(names)), used_at, ledger.use_units, mine)
    # As objects: the outer join's gaps must not turn exact unit sums into floats.
    sums = pd.concat(
        [issued.astype(object).rename("issued"), consumed.astype(object).rename("consumed")],
        axis=1,
    ).fillna(0)
    exact = object if object in (issued.dtype, consumed.dtype) else np.int64
    series = {}
    for code, group in sums.groupby(level=0, sort=False):
        months = group.index.get_level_values(1).to_numpy(dtype=np.int64).astype("datetime64[M]")
        issued_units = group["issued"].to_numpy(dtype=exact)
        consumed_units = group["consumed"].to_numpy(dtype=exact)
        order = np.argsort(months)
        months, issued_units, consumed_units = (
            months[order],
            issued_units[order],
            consumed_units[order],
        )
        span = np.arange(months[0], months[-1] + 1)
        gaps = len(span) > len(months)
        if gaps and len(span) <= MONTHS_SHOWN:
            at = np.searchsorted(span, months)
            issued_units, consumed_units = (
                _spread(issued_units, at, span),
                _spread(consumed_units, at, span),
            )
            months, gaps = span, False
        series[labels[code]] = Series(
            [str(month) for month in months], issued_units, consumed_units, gaps, derived.scale
        )
    return dict(sorted(series.items()))


def _sum_by_month(
    codes: np.ndarray, times: np.ndarray, units: np.ndarray, mask: np.ndarray
) -> pd.Series:
    """Exact sums of ``units`` where ``mask`` holds, by (currency code, month number).

    The groups are few (currencies times days), so one ``bincount`` sums them by day, and
    the days' few sums are added up by month: a month for every use took a calendar
    lookup and three more arrays of its size (1 s for the chart of 10M uses).
    ``bincount``'s float64 sums are exact while every partial sum stays below 2**53 units,
    which holds when the sum of magnitudes does; otherwise the integer groupby, slower,
    sums them by month.
    """
    days = times[mask].astype("datetime64[D]").view(np.int64)
    codes, units = codes[mask], units[mask]
    if not len(days):
        return pd.Series([], index=pd.MultiIndex.from_arrays([[], []]), dtype=np.int64)
    first = int(days.min())
    width = int(days.max()) - first + 1
    groups = (int(codes.max()) + 1) * width
    if units.dtype != object and groups <= 10_000_000:
        keys = codes * width
        keys += days - first
        if _float_sums_exact(keys, units, groups):
            present = np.flatnonzero(np.bincount(keys, minlength=groups))
            by_day = np.bincount(keys, units, groups)[present].astype(np.int64)
            month_of_day = np.arange(first, first + width).astype("datetime64[D]")
            month_of_day = month_of_day.astype("datetime64[M]").astype(np.int64)
            code, month = present // width, month_of_day[present % width]
            return pd.Series(by_day).groupby([code, month], sort=True).sum()
    # Exact integer sums, of Python integers when the units are.
    months = datetimes.months_of(times[mask])
    first = months.min()
    width = int(months.max() - first + 1)
    sums = pd.Series(units).groupby(codes * width + (months - first)).sum()
    keys = sums.index.to_numpy()
    index = pd.MultiIndex.from_arrays([keys // width, keys % width + first])
    return pd.Series(sums.to_numpy(dtype=units.dtype), index=index)


def _float_sums_exact(keys: np.ndarray, units: np.ndarray, groups: int) -> bool:
    """Whether float64 sums of ``units`` by ``keys`` are exact: every partial sum below
    2**53 in magnitude. The largest magnitude times the count bounds them all (two passes,
    no array); only past that bound are the groups' magnitudes summed."""
    largest = max(abs(int(units.min())), abs(int(units.max())))
    if largest * len(units) < 2**53:
        return True
    return bool(np.bincount(keys, np.abs(units), groups).max() < 2.0**53)


def _spread(values: np.ndarray, at: np.ndarray, span: np.ndarray) -> np.ndarray:
    """``values`` placed at positions ``at`` of a zero array as long as ``span``."""
    spread = np.zeros(len(span), dtype=values.dtype)
    spread[at] = values
    return spread


@dataclass(frozen=True)
class Series:
    """One currency's sums by month, in units; ``gaps`` when months without data are left out."""

    months: list[str]
    issued: np.ndarray
    consumed: np.ndarray
    gaps: bool
    scale: money.Scale
    """The unit of ``issued`` and ``consumed`` (the audit's)."""


# --- chart geometry ---------------------------------------------------------------------

_RULE_CHART = {"width": 500, "label": 210, "bar": 250, "row": 22}
_MONTH_CHART = {"width": 720, "height": 240, "left": 72, "right": 12, "top": 12, "bottom": 34}


def rule_chart(rules: list[dict[str, Any]]) -> dict[str, Any]:
    """Horizontal bars, findings by rule: most first, rules that did not run last."""
    geometry = _RULE_CHART
    ordered = sorted(
        rules, key=lambda rule: (rule["outcome"] != "ran", -rule["findings"], rule["rule"])
    )
    top = max([rule["findings"] for rule in rules] + [1])
    bars = []
    for index, rule in enumerate(ordered):
        width = geometry["bar"] * rule["findings"] / top
        ran = rule["outcome"] == "ran"
        bars.append(
            {
                "rule": rule["rule"],
                "severity": rule["severity"],
                "count": f"{rule['findings']:,}" if ran else rule["outcome"],
                "y": index * geometry["row"],
                "width": round(max(width, 1.5) if rule["findings"] else 0, 1),
                "title": (
                    f"{rule['rule']}: {rule['findings']:,} findings ({rule['severity']}) "
                    f"in {rule['evaluated']:,} records evaluated"
                    if ran
                    else f"{rule['rule']}: {rule['outcome']} ({rule['reason']})"
                ),
            }
        )
    return {
        **geometry,
        "bars": bars,
        "height": len(bars) * geometry["row"] + 4,
        "text_x": geometry["label"] - 8,
    }


def month_chart(currency: str, series: Series) -> dict[str, Any]:
    """Grouped bars per month, issued beside consumed, on a shared axis from zero."""
    g = _MONTH_CHART
    plot_width = g["width"] - g["left"] - g["right"]
    plot_height = g["height"] - g["top"] - g["bottom"]
    count = len(series.months)
    largest = max(int(series.issued.max()), int(series.consumed.max()), 0)
    factor = series.scale.factor
    top, step = _nice_axis(largest / factor)
    group = plot_width / max(count, 1)
    bar = min(group * 0.4, 26.0)
    label_every = max(1, math.ceil(count / 12))
    code = currency or "no currency code"

    def bar_of(kind: str, units: int, text: str, x: float, month: str) -> dict[str, Any]:
        # Net consumption can be negative (credit given back): drawn as nothing, told in the title.
        height = round(plot_height * max(units, 0) / factor / top, 1)
        return {
            "kind": kind,
            "x": round(x, 1),
            "y": round(g["top"] + plot_height - height, 1),
            "height": height,
            "title": f"{month}: {kind} {code} {text}",
        }

    issued_text = grouped(money.format_units(series.issued, series.scale))
    consumed_text = grouped(money.format_units(series.consumed, series.scale))
    months = []
    for index, month in enumerate(series.months):
        middle = g["left"] + group * (index + 0.5)
        months.append(
            {
                "label": month if index % label_every == 0 else "",
                "x": round(middle, 1),
                "bars": [
                    bar_of(
                        "issued", series.issued[index], issued_text[index], middle - bar - 1, month
                    ),
                    bar_of(
                        "consumed", series.consumed[index], consumed_text[index], middle + 1, month
                    ),
                ],
            }
        )
    ticks = [
        {"y": round(g["top"] + plot_height * (1 - value / top), 1), "label": _tick_label(value)}
        for value in np.arange(0, top + step / 2, step)
    ]
    return {
        **g,
        "currency": code,
        "bar": round(bar, 1),
        "plot_bottom": g["top"] + plot_height,
        "plot_right": g["width"] - g["right"],
        "label_y": g["top"] + plot_height + 16,
        "months": months,
        "ticks": ticks,
        "issued": amount_text(series.issued.sum(), series.scale),
        "consumed": amount_text(series.consumed.sum(), series.scale),
        "first": series.months[0],
        "last": series.months[-1],
        "gaps": series.gaps,
    }


def _nice_axis(largest: float) -> tuple[float, float]:
    """An axis top and tick step, 1, 2, 2.5 or 5 times a power of ten, about four ticks."""
    if largest <= 0:
        return 1.0, 0.25
    raw = largest / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return step * math.ceil(largest / step), step


def _tick_label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1_000:g}k"
    return f"{value:,.6g}"
