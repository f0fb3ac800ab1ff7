"""The reports of a close: every audit format, with the close's roll-forward added.

The audit's renderers (``recon.report``) present the findings, the close's among them;
this module renders them from the close's audit result and adds what only a close has:
``context["close"]`` (``close_context``), which the templates show first: the roll-forward
with its waterfall, breakage, maturity and the changes after the previous close; and the
close's sheets of the workpaper.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import pandas as pd

from ..closing import CloseResult
from ..closing import breakage as breakage_table
from ..closing import maturity as maturity_table
from ..closing import rollforward as rollforward_table
from ..closing.amounts import WIDE
from ..closing.changes import CHANGE_RULES
from ..report.context import build_context
from ..report.formats import BY_NAME, DEFAULT_FORMATS

_SHOWN = (
    "opening",
    "issued",
    "used_bookings",
    "used_events",
    "used_invoice_lines",
    "adjusted",
    "expired",
    "closing",
    "unexplained",
)


def render_reports(result: CloseResult) -> dict[str, str | bytes]:
    """Every report file of the bundle, by file name."""
    title = f"recon close {result.period}"
    context = build_context(result.audit, DEFAULT_FORMATS, title=title)
    context["sign_off"] = True
    context["extra_sheets"] = _sheets(result)
    context["close"] = close_context(result)
    return {BY_NAME[fmt].filename: BY_NAME[fmt].render(context) for fmt in DEFAULT_FORMATS}


def close_context(result: CloseResult) -> dict[str, Any]:
    """What the templates show of a close, first in report.html and report.md: the
    roll-forward (every row, as rollforward.csv writes it), its waterfall per currency,
    breakage, maturity and the changes after the previous close."""
    table = rollforward_table.as_text(result.rollforward)
    rows = [
        {
            "location": str(row["business_id"]),
            "currency": row["currency"] or "",
            "total": row["business_id"] == rollforward_table.TOTAL,
            "amounts": [row[name] for name in _SHOWN],
        }
        for _, row in table.iterrows()
    ]
    changes = None
    if result.previous is not None:
        found = result.findings[result.findings["rule"].isin(CHANGE_RULES)]
        changes = {"period": str(result.previous.period), **_listing(found, _CHANGE_COLUMNS)}
    breakage = breakage_table.as_text(result.breakage)
    maturity = maturity_table.as_text(result.maturity)
    return {
        "period": str(result.period),
        "basis": result.basis.value,
        "columns": _SHOWN,
        "rows": rows,
        "totals": [row for row in rows if row["total"]],
        "waterfalls": _waterfalls(result.rollforward),
        "breakage": _listing(breakage, breakage_table.COLUMNS),
        "maturity": _listing(maturity, maturity_table.COLUMNS),
        "changes": changes,
    }


_CHANGE_COLUMNS = ("rule", "entity", "record_id", "impact", "currency", "message")


def _listing(table: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, Any]:
    """A table for the templates: its columns, and each row's values as text (missing
    values empty)."""
    rows = [
        ["" if value is None or value is pd.NA else str(value) for value in values]
        for values in table[list(columns)].astype(object).itertuples(index=False)
    ]
    return {"columns": columns, "rows": rows}


def _sheets(result: CloseResult) -> list[tuple[str, tuple[str, ...], list[list[Any]]]]:
    """The close's sheets of report.xlsx: amounts as numbers (the CSVs hold them exactly)."""

    def rows(table: Any, columns: tuple[str, ...]) -> list[list[Any]]:
        return [[_number(row[name]) for name in columns] for _, row in table.iterrows()]

    sheets = [
        (
            "Roll-forward",
            rollforward_table.COLUMNS,
            rows(result.rollforward, rollforward_table.COLUMNS),
        ),
        ("Breakage", breakage_table.COLUMNS, rows(result.breakage, breakage_table.COLUMNS)),
        ("Maturity", maturity_table.COLUMNS, rows(result.maturity, maturity_table.COLUMNS)),
    ]
    if result.previous is not None:
        columns = ("rule", "entity", "record_id", "credit_id", "impact", "currency", "message")
        found = result.findings[result.findings["rule"].isin(CHANGE_RULES)]
        sheets.append(("After-close", columns, rows(found, columns)))
    return sheets


def _number(value: Any) -> Any:
    """A Decimal as a float for Excel; a missing value as an empty cell; the rest as is."""
    if isinstance(value, Decimal):
        return float(value)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    return value


_WATERFALL = (
    ("opening", "opening", 1),
    ("issued", "issued", 1),
    ("used", ("used_bookings", "used_events", "used_invoice_lines"), -1),
    ("adjusted", "adjusted", -1),
    ("expired", "expired", -1),
    ("closing", "closing", 1),
)


_WIDTH, _HEIGHT, _BAR, _GAP = 460, 180, 56, 18


def _waterfalls(table: pd.DataFrame) -> list[dict[str, Any]]:
    """One waterfall per currency, from opening to closing over its total row: the bars'
    geometry and labels (the template draws them)."""
    with localcontext(WIDE):  # the levels are sums of the close's exact amounts
        return _waterfall_charts(table)


def _waterfall_charts(table: pd.DataFrame) -> list[dict[str, Any]]:
    charts = []
    for _, row in table[table["business_id"] == rollforward_table.TOTAL].iterrows():
        steps, level = [], Decimal(0)
        for label, names, sign in _WATERFALL:
            names = (names,) if isinstance(names, str) else names
            amount = sum((row[name] for name in names), Decimal(0))
            if label in ("opening", "closing"):
                steps.append((label, Decimal(0), amount, amount))
                level = amount
            else:
                after = level + sign * amount
                steps.append((label, level, after, sign * amount))
                level = after
        top = max([abs(value) for _, a, b, _ in steps for value in (a, b)] + [Decimal(1)])
        bars = []
        for index, (label, start, end, shown) in enumerate(steps):
            # Below zero (an overdrawn location) is drawn at zero; the label shows the figure.
            low, high = sorted((max(start, Decimal(0)), max(end, Decimal(0))))
            y = _HEIGHT - 30 - float(high / top) * (_HEIGHT - 50)
            x = 10 + index * (_BAR + _GAP)
            bars.append(
                {
                    "label": label,
                    "x": x,
                    "middle": x + _BAR / 2,
                    "y": f"{y:.1f}",
                    "label_y": f"{max(y - 4, 10):.1f}",
                    "height": f"{max(float((high - low) / top) * (_HEIGHT - 50), 1.0):.1f}",
                    "kind": "level"
                    if label in ("opening", "closing")
                    else ("up" if shown >= 0 else "down"),
                    "figure": rollforward_table.as_text_value(shown),
                }
            )
        charts.append(
            {
                "currency": row["currency"] or "no currency",
                "width": _WIDTH,
                "height": _HEIGHT,
                "bar": _BAR,
                "axis_y": _HEIGHT - 14,
                "bars": bars,
            }
        )
    return charts
