"""Balance rules: each credit's ledger of uses agrees with its TotalCredit and RemainingCredit.

The arithmetic and its verdicts are ``Derived.credit_balances``: these rules only
say which credits the verdicts flag, and why, in words.
"""

from __future__ import annotations

import numpy as np

from .. import findings, money
from ..derived import Derived, Evaluation
from ..entities import CREDIT
from ..rows import at_rows
from . import text


def balance_mismatch(derived: Derived) -> Evaluation:
    """A credit whose TotalCredit - RemainingCredit differs from the sum of its uses."""
    frame = derived[CREDIT].frame
    balances = derived.credit_balances
    rows = np.flatnonzero(balances.mismatch)
    currency = derived.credit_currency[rows]
    counted = balances.ledger.counted[rows]
    message = text.concat(
        "TotalCredit - RemainingCredit = ",
        text.money_of(balances.total[rows], derived.scale, currency),
        " - ",
        text.money_of(balances.remaining[rows], derived.scale, currency),
        " = ",
        text.money_of(balances.consumed[rows], derived.scale, currency),
        " but its ",
        text.ids(counted),
        np.where(counted == 1, " use sums", " uses sum"),
        " to ",
        text.money_of(balances.spent[rows], derived.scale, currency),
        " (difference ",
        text.money_of(balances.difference[rows], derived.scale, currency),
        ", tolerance ",
        f"{derived.ruleset.tolerance:g}",
        ")",
    )
    found = findings.make(
        CREDIT,
        frame,
        rows,
        message=message,
        expected=money.to_float(balances.consumed[rows], derived.scale),
        actual=money.to_float(balances.spent[rows], derived.scale),
        credit_id=at_rows(frame["Id"], rows),
    )
    return Evaluation(found, int(balances.judged.sum()))


def overdrawn_credit(derived: Derived) -> Evaluation:
    """A credit with RemainingCredit below zero, or whose uses sum to more than TotalCredit."""
    frame = derived[CREDIT].frame
    balances = derived.credit_balances
    rows = np.flatnonzero(balances.overdrawn)
    currency = derived.credit_currency[rows]
    negative, overspent = balances.negative[rows], balances.overspent[rows]
    total, remaining, spent = (
        balances.total[rows],
        balances.remaining[rows],
        balances.spent[rows],
    )
    message = text.join_present(
        [
            text.where(
                negative,
                text.concat(
                    "RemainingCredit is ",
                    text.money_of(remaining, derived.scale, currency),
                    ", below zero",
                ),
            ),
            text.where(
                overspent,
                text.concat(
                    "uses sum to ",
                    text.money_of(spent, derived.scale, currency),
                    ", more than TotalCredit ",
                    text.money_of(total, derived.scale, currency),
                ),
            ),
        ]
    )
    # The ledger condition is the stronger evidence; show it when both hold.
    expected = np.where(overspent, money.to_float(total, derived.scale), 0.0)
    actual = np.where(
        overspent, money.to_float(spent, derived.scale), money.to_float(remaining, derived.scale)
    )
    found = findings.make(
        CREDIT,
        frame,
        rows,
        message=message,
        expected=expected,
        actual=actual,
        credit_id=at_rows(frame["Id"], rows),
    )
    evaluated = balances.remaining_known | balances.total_known
    return Evaluation(found, int(evaluated.sum()))
