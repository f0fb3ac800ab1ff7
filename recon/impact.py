"""What each finding does to money: its ``impact``, signed, in its credit's currency.

Which of the kinds below a rule's findings have is the rule's declaration
(``Rule.impact``), never a list of rule ids here.

The materiality of a finding, and what a waiver's ``amount`` is checked against. From
the audit's own derived values, never worked out again:

- ``balance_mismatch``: the difference, ``TotalCredit - RemainingCredit - uses``;
- ``overdrawn_credit``: how far the credit is overdrawn (the uses beyond ``TotalCredit``,
  else how far ``RemainingCredit`` is below zero);
- a finding on a booking-credit use that is about the use itself (orphan, unlinked,
  manual adjustment, multi-linked, expired, premature, ineligible, non-positive): the
  use's ``CreditUsed``;
- anything else (schema violations, duplicates, denormalised fields) and every finding on
  an allowance (allowances count minutes, not money): no impact.

``impact`` is exact decimal text (``"12.50"``); ``currency`` the credit's
``BusinessCurrencyCode`` (null when the credit names none or there is no credit).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import money
from .checks import RULES, Impact
from .derived import Derived, take
from .entities import CREDIT, CREDIT_USE

IMPACT_COLUMNS: tuple[str, ...] = ("impact", "currency")

_OF = {rule.id: rule.impact for rule in RULES}
"""Each rule's declared impact (``checks.Impact``); the rules of a close and of waivers
carry their own."""


def impacts(found: pd.DataFrame, derived: Derived) -> pd.DataFrame:
    """``impact`` and ``currency`` for each finding of ``found`` (aligned with it)."""
    count = len(found)
    units = np.zeros(count, dtype=object)
    has = np.zeros(count, dtype=bool)
    currency = np.full(count, None, dtype=object)
    kind = found["rule"].map(_OF).fillna(Impact.NONE).to_numpy(dtype=object)
    entity = found["entity"].to_numpy(dtype=object)
    rows = found["row"].to_numpy(dtype=np.int64) - 1
    snapshot = derived.snapshot
    if CREDIT in snapshot:
        balances = derived.credit_balances
        mine = (entity == CREDIT.name) & np.isin(kind, [Impact.DIFFERENCE, Impact.OVERDRAWN])
        at = rows[mine]
        overdrawn = np.where(
            balances.overspent[at],
            balances.spent[at] - balances.total[at],
            -balances.remaining[at],
        )
        units[mine] = np.where(kind[mine] == Impact.DIFFERENCE, balances.difference[at], overdrawn)
        has[mine] = True
        currency[mine] = derived.credit_currency[at]
    if CREDIT_USE in snapshot and CREDIT in snapshot:
        mine = (entity == CREDIT_USE.name) & (kind == Impact.USE_AMOUNT)
        at = rows[mine]
        ledger = derived.credit_ledger
        valid = ledger.use_amount_valid[at]
        units[mine] = ledger.use_units[at]
        has[mine] = valid
        currency[mine] = take(derived.credit_currency, derived.credit_row_of_use[at], None)
    text = np.full(count, None, dtype=object)
    if has.any():
        shown = money.format_units(np.asarray(units[has], dtype=object), derived.scale)
        text[has] = list(shown)
    currency = np.where(has, currency, None)
    return pd.DataFrame(
        {
            "impact": pd.array(text, dtype=pd.StringDtype()),
            "currency": pd.Series(currency, index=found.index, dtype=object),
        },
        index=found.index,
    )
