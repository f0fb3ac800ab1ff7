"""Extra-service rules: allowances (hours of room time, printing) and their ledger of uses.

Quantities (minutes, uses) are compared in exact integer units with the rule
set's tolerance, like money. An extra-service use is dated by its
BookingFromTime; an ExpireDate at exactly midnight covers that whole day.
"""

from __future__ import annotations

import numpy as np

from .. import findings, money
from ..entities import ALLOWANCE, ALLOWANCE_USE
from . import text
from .context import (
    NO_ROW,
    AuditContext,
    Evaluation,
    after_expiry,
    positive_ids,
    present,
    take,
    timestamps,
)

_NAT = np.datetime64("NaT", "us")


def extra_service_unlinked(ctx: AuditContext) -> Evaluation:
    """An extra-service use with no BookingId (0 is the API's 'none')."""
    uses = ctx[ALLOWANCE_USE]
    judged = uses.valid("BookingId")
    rows = np.flatnonzero(judged & ~positive_ids(uses.frame["BookingId"]))
    found = findings.make(
        ALLOWANCE_USE,
        uses.frame,
        rows,
        message="extra-service use has no BookingId: nothing says which booking consumed it",
    )
    return Evaluation(found, int(judged.sum()))


def extra_service_orphan(ctx: AuditContext) -> Evaluation:
    """An extra-service use whose CoworkerExtraServiceId matches no allowance in the snapshot."""
    uses = ctx[ALLOWANCE_USE]
    keys = uses.frame["CoworkerExtraServiceId"]
    judged = uses.valid("CoworkerExtraServiceId") & keys.notna().to_numpy()
    rows = np.flatnonzero(judged & (ctx.allowance_row_of_use == NO_ROW))
    message = text.concat(
        "CoworkerExtraServiceId ",
        text.ids(keys.iloc[rows]),
        " matches no allowance in the snapshot",
    )
    found = findings.make(ALLOWANCE_USE, uses.frame, rows, message=message, actual=keys.iloc[rows])
    return Evaluation(found, int(judged.sum()))


def extra_service_balance_mismatch(ctx: AuditContext) -> Evaluation:
    """An allowance with at least one use where TotalUses - RemainingUses differs from the
    sum of its uses' CreditUsed. An allowance with a use of unknown amount (CreditUsed null)
    cannot be reconciled and is not judged."""
    allowances = ctx[ALLOWANCE]
    frame = allowances.frame
    ledger = ctx.allowance_ledger
    judged = (
        allowances.valid("Id", "TotalUses", "RemainingUses")
        & present(frame["Id"])
        & present(frame["TotalUses"])
        & present(frame["RemainingUses"])
        & (ledger.linked > 0)
        & (ledger.unknown == 0)
    )
    total, remaining = money.to_units(frame["TotalUses"]), money.to_units(frame["RemainingUses"])
    consumed = total - remaining
    difference = consumed - ledger.units
    rows = np.flatnonzero(judged & (np.abs(difference) > ctx.tolerance_units))
    message = text.concat(
        "TotalUses - RemainingUses = ",
        text.quantities(total[rows]),
        " - ",
        text.quantities(remaining[rows]),
        " = ",
        text.quantities(consumed[rows]),
        " but its ",
        text.ids(ledger.counted[rows]),
        np.where(ledger.counted[rows] == 1, " use sums", " uses sum"),
        " to ",
        text.quantities(ledger.units[rows]),
        " (difference ",
        text.quantities(difference[rows]),
        f", tolerance {ctx.ruleset.tolerance:g})",
    )
    found = findings.make(
        ALLOWANCE,
        frame,
        rows,
        message=message,
        expected=money.to_float(consumed[rows]),
        actual=money.to_float(ledger.units[rows]),
    )
    return Evaluation(found, int(judged.sum()))


def extra_service_expired_use(ctx: AuditContext) -> Evaluation:
    """An extra-service use whose BookingFromTime is after its allowance's ExpireDate."""
    uses, allowances = ctx[ALLOWANCE_USE], ctx[ALLOWANCE]
    allowance_rows = ctx.allowance_row_of_use
    expire = take(timestamps(allowances.frame["ExpireDate"]), allowance_rows, _NAT)
    expire_known = take(allowances.valid("ExpireDate"), allowance_rows, False) & ~np.isnat(expire)
    started = timestamps(uses.frame["BookingFromTime"])
    judged = (
        (allowance_rows != NO_ROW)
        & expire_known
        & uses.valid("BookingFromTime")
        & ~np.isnat(started)
    )
    rows = np.flatnonzero(judged & after_expiry(started, expire))
    allowance_ids = text.ids(
        take(
            allowances.frame["Id"].to_numpy(dtype=object, na_value=None), allowance_rows[rows], None
        )
    )
    midnight = expire[rows] == expire[rows].astype("datetime64[D]")
    message = text.concat(
        "BookingFromTime ",
        text.times(started[rows]),
        " is after allowance ",
        allowance_ids,
        "'s ExpireDate ",
        text.times(expire[rows]),
        np.where(midnight, " (a midnight ExpireDate covers that whole day)", ""),
    )
    found = findings.make(
        ALLOWANCE_USE,
        uses.frame,
        rows,
        message=message,
        expected=text.times(expire[rows]),
        actual=text.times(started[rows]),
    )
    return Evaluation(found, int(judged.sum()))
