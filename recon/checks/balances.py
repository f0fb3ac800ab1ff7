"""Balance rules: each credit's ledger of uses agrees with its TotalCredit and RemainingCredit.

Amounts are compared in exact integer units (``recon.money``) with the rule
set's tolerance: a difference counts when it is strictly greater.
"""

from __future__ import annotations

import numpy as np

from .. import findings, money
from ..entities import CREDIT
from . import text
from .context import AuditContext, Evaluation, present


def balance_mismatch(ctx: AuditContext) -> Evaluation:
    """A credit whose TotalCredit - RemainingCredit differs from the sum of its uses."""
    credits = ctx[CREDIT]
    frame = credits.frame
    judged = _known(ctx, "Id", "TotalCredit", "RemainingCredit")
    total, remaining = (
        money.to_units(frame["TotalCredit"]),
        money.to_units(frame["RemainingCredit"]),
    )
    ledger = ctx.credit_ledger
    consumed = total - remaining
    difference = consumed - ledger.units
    rows = np.flatnonzero(judged & (np.abs(difference) > ctx.tolerance_units))
    message = text.concat(
        "TotalCredit - RemainingCredit = ",
        text.amounts(total[rows]),
        " - ",
        text.amounts(remaining[rows]),
        " = ",
        text.amounts(consumed[rows]),
        " but its ",
        text.ids(ledger.counted[rows]),
        np.where(ledger.counted[rows] == 1, " use sums", " uses sum"),
        " to ",
        text.amounts(ledger.units[rows]),
        " (difference ",
        text.amounts(difference[rows]),
        ", tolerance ",
        f"{ctx.ruleset.tolerance:g}",
        ")",
    )
    found = findings.make(
        CREDIT,
        frame,
        rows,
        message=message,
        expected=money.to_float(consumed[rows]),
        actual=money.to_float(ledger.units[rows]),
        credit_id=frame["Id"].iloc[rows],
    )
    return Evaluation(found, int(judged.sum()))


def overdrawn_credit(ctx: AuditContext) -> Evaluation:
    """A credit with RemainingCredit below zero, or whose uses sum to more than TotalCredit."""
    credits = ctx[CREDIT]
    frame = credits.frame
    tolerance = ctx.tolerance_units
    remaining_known = _known(ctx, "RemainingCredit")
    total_known = _known(ctx, "Id", "TotalCredit")
    total, remaining = (
        money.to_units(frame["TotalCredit"]),
        money.to_units(frame["RemainingCredit"]),
    )
    spent = ctx.credit_ledger.units
    negative = remaining_known & (remaining < -tolerance)
    overspent = total_known & (spent - total > tolerance)
    rows = np.flatnonzero(negative | overspent)
    negative, overspent = negative[rows], overspent[rows]
    message = text.join_present(
        [
            text.where(
                negative,
                text.concat("RemainingCredit is ", text.amounts(remaining[rows]), ", below zero"),
            ),
            text.where(
                overspent,
                text.concat(
                    "uses sum to ",
                    text.amounts(spent[rows]),
                    ", more than TotalCredit ",
                    text.amounts(total[rows]),
                ),
            ),
        ]
    )
    # The ledger condition is the stronger evidence; show it when both hold.
    expected = np.where(overspent, money.to_float(total[rows]), 0.0)
    actual = np.where(overspent, money.to_float(spent[rows]), money.to_float(remaining[rows]))
    found = findings.make(
        CREDIT,
        frame,
        rows,
        message=message,
        expected=expected,
        actual=actual,
        credit_id=frame["Id"].iloc[rows],
    )
    return Evaluation(found, int((remaining_known | total_known).sum()))


def _known(ctx: AuditContext, *names: str) -> np.ndarray:
    """Credits whose ``names`` all passed their schema and are present."""
    credits = ctx[CREDIT]
    mask = credits.valid(*names)
    for name in names:
        mask &= present(credits.frame[name])
    return mask
