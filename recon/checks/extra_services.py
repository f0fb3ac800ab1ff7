"""Extra-service rules: allowances (hours of room time, printing) and their ledger of uses.

Quantities (minutes, uses) are compared in exact integer units with the rule
set's tolerance, like money. The allowance balances, the usage times (an
extra-service use is dated by its BookingFromTime) and the validity windows are
``Derived`` views; these rules judge from them.
"""

from __future__ import annotations

import numpy as np

from .. import findings, money
from ..derived import NO_ROW, Derived, Evaluation, take
from ..entities import ALLOWANCE, ALLOWANCE_USE
from ..rows import at_rows
from . import text
from .validity import bound_text


def extra_service_unlinked(derived: Derived) -> Evaluation:
    """An extra-service use with no BookingId (0 is the API's 'none')."""
    uses = derived[ALLOWANCE_USE]
    judged = uses.valid("BookingId")
    rows = np.flatnonzero(judged & ~derived.allowance_use_booked)
    found = findings.make(
        ALLOWANCE_USE,
        uses.frame,
        rows,
        message="extra-service use has no BookingId: nothing says which booking consumed it",
    )
    return Evaluation(found, int(judged.sum()))


def extra_service_orphan(derived: Derived) -> Evaluation:
    """An extra-service use whose CoworkerExtraServiceId matches no allowance in the snapshot."""
    uses = derived[ALLOWANCE_USE]
    keys = uses.frame["CoworkerExtraServiceId"]
    judged = uses.valid("CoworkerExtraServiceId") & keys.notna().to_numpy()
    rows = np.flatnonzero(judged & (derived.allowance_row_of_use == NO_ROW))
    unmatched = at_rows(keys, rows)
    message = text.concat(
        "CoworkerExtraServiceId ",
        text.ids(unmatched),
        " matches no allowance in the snapshot",
    )
    found = findings.make(ALLOWANCE_USE, uses.frame, rows, message=message, actual=unmatched)
    return Evaluation(found, int(judged.sum()))


def extra_service_balance_mismatch(derived: Derived) -> Evaluation:
    """An allowance with at least one use where TotalUses - RemainingUses differs from the
    sum of its uses' CreditUsed. An allowance with a use of unknown amount (CreditUsed null)
    cannot be reconciled and is not judged (``Derived.allowance_balances``)."""
    frame = derived[ALLOWANCE].frame
    balances = derived.allowance_balances
    rows = np.flatnonzero(balances.mismatch)
    counted = balances.ledger.counted[rows]
    message = text.concat(
        "TotalUses - RemainingUses = ",
        text.quantities(balances.total[rows], derived.scale),
        " - ",
        text.quantities(balances.remaining[rows], derived.scale),
        " = ",
        text.quantities(balances.consumed[rows], derived.scale),
        " but its ",
        text.ids(counted),
        np.where(counted == 1, " use sums", " uses sum"),
        " to ",
        text.quantities(balances.spent[rows], derived.scale),
        " (difference ",
        text.quantities(balances.difference[rows], derived.scale),
        f", tolerance {derived.ruleset.tolerance:g})",
    )
    found = findings.make(
        ALLOWANCE,
        frame,
        rows,
        message=message,
        expected=money.to_float(balances.consumed[rows], derived.scale),
        actual=money.to_float(balances.spent[rows], derived.scale),
    )
    return Evaluation(found, int(balances.judged.sum()))


def extra_service_expired_use(derived: Derived) -> Evaluation:
    """An extra-service use whose BookingFromTime is after its allowance's ExpireDate."""
    uses, allowances = derived[ALLOWANCE_USE], derived[ALLOWANCE]
    allowance_rows = derived.allowance_row_of_use
    windows = derived.windows(ALLOWANCE).at(allowance_rows)
    usage = derived.allowance_usage_times
    judged = (allowance_rows != NO_ROW) & ~np.isnat(windows.expire) & usage.judgeable
    rows = np.flatnonzero(judged & windows.after(usage.time))
    allowance_ids = text.ids(
        take(
            allowances.frame["Id"].to_numpy(dtype=object, na_value=None), allowance_rows[rows], None
        )
    )
    message = text.concat(
        "BookingFromTime ",
        text.times(usage.time[rows]),
        " is after allowance ",
        allowance_ids,
        "'s ExpireDate ",
        bound_text(windows, rows, windows.expire),
    )
    found = findings.make(
        ALLOWANCE_USE,
        uses.frame,
        rows,
        message=message,
        expected=text.times(windows.expire[rows]),
        actual=text.times(usage.time[rows]),
    )
    return Evaluation(found, int(judged.sum()))
