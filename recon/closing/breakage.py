"""``breakage.csv``: what each issue-month cohort became by the period end (section 6b).

Per ``business_id, currency, cohort`` (the ``YYYY-MM`` of ``CreatedOn`` on the location's
wall clock), over the credits issued before ``E``: ``issued = used + adjusted + expired +
outstanding`` exactly, where ``used`` and ``adjusted`` count the uses (linked, and not)
that took effect before ``E`` and before the credit's expiry, ``expired`` what lapsed at
an expiry moment ``X <= E`` and ``outstanding`` the balance at ``E``. ``breakage_rate`` is
``expired / issued`` once every credit of the cohort has expired (``X <= E``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd

from .amounts import text, to_decimal
from .balances import balance_at, balance_before_expiry
from .ledger import NO_LINK, CloseLedger, sum_per_credit
from .period import Period

COLUMNS: tuple[str, ...] = (
    "business_id",
    "currency",
    "cohort",
    "credits",
    "issued",
    "used",
    "adjusted",
    "expired",
    "outstanding",
    "breakage_rate",
)
_AMOUNTS = ("issued", "used", "adjusted", "expired", "outstanding")
_RATE = Decimal("0.000001")


def breakage(ledger: CloseLedger, period: Period) -> pd.DataFrame:
    """The rows of breakage.csv as exact values (``Decimal`` amounts; rate text or None)."""
    end = period.end
    issued_before = ledger.credit_kept & (ledger.created < end)
    outstanding_ever = issued_before & (ledger.created < ledger.expires)
    counted = ledger.use_kept & (ledger.effect < end) & (ledger.effect < ledger.use_expires())
    lapsed = ledger.expires <= end
    columns = {
        "issued": np.where(outstanding_ever, ledger.total, 0),
        "used": sum_per_credit(ledger, counted & (ledger.kind != NO_LINK)),
        "adjusted": sum_per_credit(ledger, counted & (ledger.kind == NO_LINK)),
        "expired": np.where(lapsed, balance_before_expiry(ledger), 0),
        "outstanding": balance_at(ledger, end),
    }
    rows = np.flatnonzero(issued_before)
    cohort = pd.Series(ledger.created[rows]).dt.strftime("%Y-%m").to_numpy(dtype=object)
    frame = pd.DataFrame({name: values[rows] for name, values in columns.items()})
    frame.insert(0, "lapsed", lapsed[rows])
    frame.insert(0, "cohort", cohort)
    frame.insert(0, "currency", ledger.currency[rows])
    frame.insert(0, "business_id", ledger.business[rows])
    grouped = frame.groupby(["business_id", "currency", "cohort"], sort=True)
    sums = grouped[list(_AMOUNTS)].sum()
    sums["credits"] = grouped.size()
    sums["all_lapsed"] = grouped["lapsed"].all()
    records = []
    for (business, currency, month), values in sums.iterrows():
        record = {"business_id": str(business), "currency": currency, "cohort": month}
        record["credits"] = int(values["credits"])
        for name in _AMOUNTS:
            record[name] = to_decimal(values[name], ledger.scale_decimals)
        rate = None
        if values["all_lapsed"] and record["issued"] != 0:
            rate = f"{(record['expired'] / record['issued']).quantize(_RATE, ROUND_HALF_EVEN):f}"
        record["breakage_rate"] = rate
        records.append(record)
    table = pd.DataFrame(records, columns=list(COLUMNS))
    # Object, so a rate that is not there stays None (a string column would hold NaN).
    table["breakage_rate"] = pd.Series([r["breakage_rate"] for r in records], dtype=object)
    return table


def as_text(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for name in _AMOUNTS:
        out[name] = [text(value) for value in out[name]]
    out["breakage_rate"] = [rate if isinstance(rate, str) else "" for rate in out["breakage_rate"]]
    out["credits"] = out["credits"].astype(str)
    return out
