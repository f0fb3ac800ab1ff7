"""``rollforward.csv``: how each location's liability moved over the period (section 6b).

Every column is first worked out per credit (exact units, vectorised over credits and
uses), then summed per ``business_id`` and ``currency``, then per currency for the
``total`` rows: amounts are never summed across currencies. Each row foots exactly:
``closing = opening + issued - used_bookings - used_events - used_invoice_lines -
adjusted - expired``.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from .amounts import text, to_decimal
from .balances import balance_at, balance_before_expiry
from .ledger import BOOKING, EVENT, INVOICE_LINE, NO_LINK, CloseLedger, sum_per_credit
from .period import Period

COLUMNS: tuple[str, ...] = (
    "period",
    "business_id",
    "currency",
    "opening",
    "issued",
    "used_bookings",
    "used_events",
    "used_invoice_lines",
    "adjusted",
    "expired",
    "closing",
    "closing_from_balances",
    "unexplained",
    "opening_sealed",
    "opening_restatement",
    "used_after_expiry",
    "credits_open_start",
    "credits_open_end",
)
AMOUNTS: tuple[str, ...] = (
    "opening",
    "issued",
    "used_bookings",
    "used_events",
    "used_invoice_lines",
    "adjusted",
    "expired",
    "closing",
    "closing_from_balances",
    "used_after_expiry",
)
COUNTS: tuple[str, ...] = ("credits_open_start", "credits_open_end")
TOTAL = "total"
_KINDS = {
    "used_bookings": BOOKING,
    "used_events": EVENT,
    "used_invoice_lines": INVOICE_LINE,
    "adjusted": NO_LINK,
}


def per_credit(ledger: CloseLedger, period: Period) -> pd.DataFrame:
    """Every roll-forward column per kept credit, in units (one row per credit row kept)."""
    start, end = period.start, period.end
    kept = ledger.credit_kept
    expires = ledger.expires
    use_expires = ledger.use_expires()
    in_period = ledger.use_kept & (ledger.effect >= start) & (ledger.effect < end)
    columns: dict[str, np.ndarray] = {
        "opening": balance_at(ledger, start),
        "issued": np.where(
            kept & (ledger.created >= start) & (ledger.created < end) & (ledger.created < expires),
            ledger.total,
            0,
        ),
    }
    for name, kind in _KINDS.items():
        mask = in_period & (ledger.effect < use_expires) & (ledger.kind == kind)
        columns[name] = sum_per_credit(ledger, mask)
    expiring = kept & (expires > start) & (expires <= end)
    columns["expired"] = np.where(expiring, balance_before_expiry(ledger), 0)
    columns["closing"] = balance_at(ledger, end)
    open_end = ledger.open_at(end)
    after_end = sum_per_credit(ledger, ledger.use_kept & (ledger.effect >= end))
    columns["closing_from_balances"] = np.where(open_end, ledger.remaining + after_end, 0)
    columns["used_after_expiry"] = sum_per_credit(
        ledger, in_period & (ledger.effect >= use_expires)
    )
    columns["credits_open_start"] = ledger.open_at(start).astype(np.int64)
    columns["credits_open_end"] = open_end.astype(np.int64)
    rows = np.flatnonzero(kept)
    frame = pd.DataFrame({name: values[rows] for name, values in columns.items()})
    frame.insert(0, "currency", ledger.currency[rows])
    frame.insert(0, "business_id", ledger.business[rows])
    frame.index = rows
    return frame


def rollforward(
    credits: pd.DataFrame,
    period: Period,
    decimals: int,
    sealed: dict[tuple[str, str], Decimal] | None,
) -> pd.DataFrame:
    """The rows of rollforward.csv as exact values (``Decimal`` amounts, int counts).

    ``sealed`` is the previous bundle's ``closing`` per (business_id, currency) as text
    keys, or None without ``--previous`` (then ``opening_sealed`` is empty). A row of the
    previous close with no credit now is kept, with zeros, so its restatement shows.
    """
    sums = credits.groupby(["business_id", "currency"], sort=True)[[*AMOUNTS, *COUNTS]].sum()
    records = []
    for (business, currency), values in sums.iterrows():
        records.append({"business_id": str(business), "currency": currency, **values.to_dict()})
    present = {(record["business_id"], record["currency"]) for record in records}
    for business, currency in sorted(set(sealed or {}) - present):
        records.append(
            {"business_id": business, "currency": currency, **dict.fromkeys([*AMOUNTS, *COUNTS], 0)}
        )
    for record in records:
        for name in AMOUNTS:
            record[name] = to_decimal(record[name], decimals)
        for name in COUNTS:
            record[name] = int(record[name])
    records.sort(key=lambda record: (_business_key(record["business_id"]), record["currency"]))
    totals: dict[str, dict] = {}
    for record in records:
        total = totals.setdefault(
            record["currency"],
            {"business_id": TOTAL, "currency": record["currency"], **dict.fromkeys(AMOUNTS, 0)}
            | dict.fromkeys(COUNTS, 0),
        )
        for name in (*AMOUNTS, *COUNTS):
            total[name] += record[name]
    rows = records + [totals[currency] for currency in sorted(totals)]
    for row in rows:
        row["period"] = period.label
        row["unexplained"] = row["closing_from_balances"] - row["closing"]
        if sealed is None:
            row["opening_sealed"] = row["opening_restatement"] = None
        else:
            if row["business_id"] == TOTAL:
                row["opening_sealed"] = sum(
                    (
                        amount
                        for (business, currency), amount in sealed.items()
                        if currency == row["currency"]
                    ),
                    Decimal(0),
                )
            else:
                row["opening_sealed"] = sealed.get(
                    (row["business_id"], row["currency"]), Decimal(0)
                )
            row["opening_restatement"] = row["opening"] - row["opening_sealed"]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def as_text(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the CSV writes it: every amount exact with at least two decimals."""
    out = table.copy()
    for name in out.columns:
        out[name] = [_cell(value) for value in out[name]]
    return out


def as_text_value(value: object) -> str:
    """One value as the CSV writes it."""
    return _cell(value)


def _cell(value: object) -> str:
    if value is None or (not isinstance(value, Decimal | str) and pd.isna(value)):
        return ""
    if isinstance(value, Decimal):
        return text(value)
    return str(value)


def _business_key(business: str) -> tuple[int, int | str]:
    return (0, int(business)) if business.lstrip("-").isdigit() else (1, business)
