"""``maturity.csv``: the closing liability by time to expiry (section 6b).

``d`` is the time from ``E`` to the credit's expiry moment ``X`` on the location's wall
clock, in days (fractions count: 30 days and an hour is past 30): ``0-30`` when
``d <= 30``, ``31-90``, ``91-365``, ``over-365``, and ``no-expiry``. Every credit
outstanding at ``E`` is in exactly one bucket, so the buckets sum to ``closing``. Empty
buckets are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .amounts import text, to_decimal
from .balances import balance_at
from .ledger import NEVER, CloseLedger
from .period import Period

COLUMNS: tuple[str, ...] = ("business_id", "currency", "bucket", "credits", "outstanding")
BUCKETS: tuple[str, ...] = ("0-30", "31-90", "91-365", "over-365", "no-expiry")
_LIMITS = (30, 90, 365)


def maturity(ledger: CloseLedger, period: Period) -> pd.DataFrame:
    end = period.end
    outstanding = ledger.open_at(end)
    rows = np.flatnonzero(outstanding)
    days = (ledger.expires[rows] - end) / np.timedelta64(1, "D")
    bucket = np.searchsorted(np.array(_LIMITS, dtype=float), days, side="left")
    bucket = np.where(ledger.expires[rows] == NEVER, len(_LIMITS) + 1, bucket)
    frame = pd.DataFrame(
        {
            "business_id": ledger.business[rows],
            "currency": ledger.currency[rows],
            "bucket": bucket,
            "outstanding": balance_at(ledger, end)[rows],
        }
    )
    grouped = frame.groupby(["business_id", "currency", "bucket"], sort=True)
    sums = grouped["outstanding"].sum()
    sizes = grouped.size()
    records = [
        {
            "business_id": str(business),
            "currency": currency,
            "bucket": BUCKETS[int(index)],
            "credits": int(sizes[(business, currency, index)]),
            "outstanding": to_decimal(amount, ledger.scale_decimals),
        }
        for (business, currency, index), amount in sums.items()
    ]
    return pd.DataFrame(records, columns=list(COLUMNS))


def as_text(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out["outstanding"] = [text(value) for value in out["outstanding"]]
    out["credits"] = out["credits"].astype(str)
    return out
