"""The reports of a close: every audit format, with the close's roll-forward added.

The audit's renderers (``recon.report``) present the findings, the close's among them;
this module renders them from the close's audit result and adds what only a close has:
the roll-forward totals per currency at the top of report.md and a roll-forward table at
the top of report.html. The formats themselves are unchanged.
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from ..closing import CloseResult
from ..closing import breakage as breakage_table
from ..closing import maturity as maturity_table
from ..closing import rollforward as rollforward_table
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
    rendered = {BY_NAME[fmt].filename: BY_NAME[fmt].render(context) for fmt in DEFAULT_FORMATS}
    table = rollforward_table.as_text(result.rollforward)
    md = rendered["report.md"]
    assert isinstance(md, str)
    rendered["report.md"] = _markdown(result, table) + "\n" + md
    page = rendered["report.html"]
    assert isinstance(page, str)
    rendered["report.html"] = _into_html(page, _html(result, table) + _html_more(result))
    return rendered


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


def _markdown(result: CloseResult, table: Any) -> str:
    totals = table[table["business_id"] == rollforward_table.TOTAL]
    lines = [
        f"## Roll-forward {result.period} ({result.basis.value} basis), totals per currency",
        "",
        "| currency | " + " | ".join(_SHOWN) + " |",
        "|---|" + "---:|" * len(_SHOWN),
    ]
    for _, row in totals.iterrows():
        cells = " | ".join(row[name] for name in _SHOWN)
        lines.append(f"| {row['currency'] or '(none)'} | {cells} |")
    return "\n".join(lines) + "\n"


def _html(result: CloseResult, table: Any) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in ("location", "currency", *_SHOWN))
    body = []
    for _, row in table.iterrows():
        total = row["business_id"] == rollforward_table.TOTAL
        cells = [html.escape(str(row["business_id"])), html.escape(row["currency"] or "")]
        cells += [html.escape(row[name]) for name in _SHOWN]
        tag = "th" if total else "td"
        body.append(
            "<tr>"
            + "".join(f"<{tag} style='text-align:right'>{cell}</{tag}>" for cell in cells)
            + "</tr>"
        )
    return (
        f"<section id='rollforward'><h2>Roll-forward {html.escape(str(result.period))} "
        f"({html.escape(result.basis.value)} basis)</h2>"
        "<p>Each row foots: closing = opening + issued &minus; used &minus; adjusted "
        "&minus; expired. "
        "rollforward.csv, breakage.csv and maturity.csv in the bundle hold every column.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"{_waterfall(result)}</section>"
    )


_WATERFALL = (
    ("opening", "opening", 1),
    ("issued", "issued", 1),
    ("used", ("used_bookings", "used_events", "used_invoice_lines"), -1),
    ("adjusted", "adjusted", -1),
    ("expired", "expired", -1),
    ("closing", "closing", 1),
)


def _waterfall(result: CloseResult) -> str:
    """One SVG waterfall per currency, from opening to closing over the total row."""
    table = result.rollforward
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
        width, height, bar = 460, 180, 56
        bars = []
        for index, (label, start, end, shown) in enumerate(steps):
            # Below zero (an overdrawn location) is drawn at zero; the label shows the figure.
            low, high = sorted((max(start, Decimal(0)), max(end, Decimal(0))))
            y = height - 30 - float(high / top) * (height - 50)
            tall = max(float((high - low) / top) * (height - 50), 1.0)
            x = 10 + index * (bar + 18)
            colour = (
                "#4a6fa5"
                if label in ("opening", "closing")
                else ("#3c8d5a" if shown >= 0 else "#b5523b")
            )
            bars.append(
                f"<rect x='{x}' y='{y:.1f}' width='{bar}' height='{tall:.1f}' fill='{colour}'/>"
                f"<text x='{x + bar / 2}' y='{height - 14}' text-anchor='middle' "
                f"font-size='11'>{html.escape(label)}</text>"
                f"<text x='{x + bar / 2}' y='{max(y - 4, 10):.1f}' text-anchor='middle' "
                f"font-size='10'>{html.escape(rollforward_table.as_text_value(shown))}</text>"
            )
        currency = html.escape(row["currency"] or "no currency")
        charts.append(
            f"<figure><figcaption>{currency}: opening to closing</figcaption>"
            f"<svg role='img' aria-label='roll-forward waterfall, {currency}' "
            f"viewBox='0 0 {width} {height}' width='{width}' height='{height}'>"
            f"{''.join(bars)}</svg></figure>"
        )
    return "".join(charts)


def _html_table(table: Any, columns: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(row[name]))}</td>" for name in columns) + "</tr>"
        for _, row in table.iterrows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _html_more(result: CloseResult) -> str:
    """Breakage, maturity and the changes after close, after the roll-forward."""
    breakage = breakage_table.as_text(result.breakage)
    maturity = maturity_table.as_text(result.maturity)
    found = result.findings[result.findings["rule"].isin(CHANGE_RULES)]
    parts = [
        "<section id='breakage'><h2>Breakage by issue month</h2>",
        _html_table(breakage, breakage_table.COLUMNS),
        "</section><section id='maturity'><h2>Closing liability by time to expiry</h2>",
        _html_table(maturity, maturity_table.COLUMNS),
        "</section>",
    ]
    if result.previous is not None:
        parts.append(
            f"<section id='after-close'><h2>Changes after the close of "
            f"{html.escape(str(result.previous.period))}</h2>"
        )
        if len(found):
            parts.append(
                _html_table(found, ("rule", "entity", "record_id", "impact", "currency", "message"))
            )
        else:
            parts.append("<p>None: every closed record is as it was sealed.</p>")
        parts.append("</section>")
    return "".join(parts)


def _into_html(page: str, section: str) -> str:
    """``section`` placed first in the page's main content (after its first heading)."""
    for marker in ("</header>", "</h1>"):
        at = page.find(marker)
        if at != -1:
            at += len(marker)
            return page[:at] + section + page[at:]
    return section + page
