"""What a close reads from one audited snapshot: each credit and each use it can place.

Built once from the audit's ``Derived`` views (the contract's expiry moment, parent rows,
links, the counted uses of the ledger), so the close never re-derives what the audit
judged. A credit or use that cannot be placed is left out and counted by reason
(contract section 6a); everything kept is in plain aligned arrays:

- per credit row: whether it is kept, its location, currency, ``CreatedOn``, expiry
  moment ``X`` (``NEVER`` when none) and ``TotalCredit``/``RemainingCredit`` in units;
- per use row: whether it is kept, its credit's row, the moment it takes effect (by the
  basis, never before its credit's ``CreatedOn``), its ``CreditUsed`` in units and its
  kind (its first link in the order booking, event, invoice line; or none).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from ..derived import NO_ROW, Derived, int_ids, take, timestamps
from ..entities import CREDIT, CREDIT_USE, Entity
from ..errors import UsageError
from ..fields import BOOKING_LINKS

NEVER = np.datetime64("9999-12-31T00:00:00", "us")
"""The expiry moment of a credit without ``ExpireDate``: later than any period end."""

BOOKING, EVENT, INVOICE_LINE, NO_LINK = 0, 1, 2, 3
"""A use's kind: its first link, or none (a manual adjustment or an unlinked use)."""


class Basis(StrEnum):
    """When a use takes effect (contract section 6a)."""

    RECORDED = "recorded"
    """At its ``CreatedOn``: when Nexudus deducts it from ``RemainingCredit``."""
    USAGE = "usage"
    """At its usage time (``BookingFromTime`` of a booking use, else ``CreatedOn``)."""


def parse_basis(value: object) -> Basis:
    try:
        return Basis(value)
    except ValueError as exc:
        choices = ", ".join(basis.value for basis in Basis)
        raise UsageError(f"--basis '{value}' is not one of {choices}") from exc


EXCLUDED: dict[str, str] = {
    "credit_schema": "a credit whose Id, BusinessId, TotalCredit, CreatedOn or ExpireDate "
    "is missing or failed its schema",
    "credit_repeated_id": "a credit row repeating the Id of an earlier one",
    "use_schema": "a use whose CreditUsed or CoworkerBookingCreditId failed its schema",
    "use_orphan": "a use whose credit is not in the snapshot",
    "use_repeated_id": "a use repeating the Id of an earlier one",
    "use_time": "a use whose time of effect (CreatedOn, or its usage time) failed its schema",
    "use_of_excluded_credit": "a use of a credit that was left out",
}
"""Each reason a close leaves a record out (close.json ``excluded``)."""

_CREDIT_FIELDS = ("Id", "BusinessId", "TotalCredit", "CreatedOn")
"""A credit without one of these (present and valid) cannot be placed."""

LEDGER_FIELDS: dict[Entity, tuple[str, ...]] = {
    CREDIT: (
        *_CREDIT_FIELDS,
        "RemainingCredit",
        "ValidFrom",
        "ExpireDate",
        "BusinessCurrencyCode",
        "IsUniversalCredit",
    ),
    CREDIT_USE: (
        "Id",
        "CoworkerBookingCreditId",
        "CreditUsed",
        "CreatedOn",
        "BookingFromTime",
        *BOOKING_LINKS,
    ),
}
"""The fields ``close_ledger`` reads, through ``Derived``, of each entity."""


@dataclass(frozen=True)
class CloseLedger:
    """The credits and uses of one snapshot as a close places them."""

    scale_decimals: int
    credit_kept: np.ndarray
    credit_id: np.ndarray
    business: np.ndarray
    currency: np.ndarray
    """str per credit ('' when absent)."""
    created: np.ndarray
    expires: np.ndarray
    """The expiry moment X (``NEVER`` when no ExpireDate)."""
    total: np.ndarray
    remaining: np.ndarray
    use_kept: np.ndarray
    use_credit: np.ndarray
    """The row of each use's credit (``NO_ROW`` when none)."""
    effect: np.ndarray
    use_timed: np.ndarray
    """The time a use takes effect is known (its fields passed their schema)."""
    use_units: np.ndarray
    kind: np.ndarray
    excluded: dict[str, int]
    """How many records were left out, by reason (``EXCLUDED`` says what each means)."""

    def kept_uses_of(self, credits: np.ndarray) -> np.ndarray:
        """Mask of kept uses whose credit is in the mask ``credits`` (per credit row)."""
        return self.use_kept & take(credits, self.use_credit, False)

    def use_expires(self) -> np.ndarray:
        return take(self.expires, self.use_credit, NEVER)

    def open_at(self, moment: np.datetime64) -> np.ndarray:
        """Per credit: kept and outstanding at ``moment`` (``CreatedOn < t < X``)."""
        return self.credit_kept & (self.created < moment) & (moment < self.expires)


def close_ledger(derived: Derived, basis: Basis) -> CloseLedger:
    """The close's view of the snapshot ``derived`` was built from."""
    credits, uses = derived[CREDIT], derived[CREDIT_USE]
    frame = credits.frame
    excluded: dict[str, int] = {}

    known = derived.known(CREDIT, *_CREDIT_FIELDS) & credits.valid("ExpireDate")
    first = derived.first_rows(CREDIT) == np.arange(len(frame))
    credit_kept = known & first
    excluded["credit_schema"] = int((~known).sum())
    excluded["credit_repeated_id"] = int((known & ~first).sum())

    windows = derived.windows(CREDIT)
    expires = np.where(np.isnat(windows.expires_at), NEVER, windows.expires_at)
    created = timestamps(frame["CreatedOn"])
    currency = derived.credit_currency
    currency = np.where(currency == None, "", currency).astype(object)  # noqa: E711

    ledger = derived.credit_ledger
    use_credit = derived.credit_row_of_use
    counted = ledger.use_counted
    orphan = (use_credit == NO_ROW) & uses.valid("CoworkerBookingCreditId", "CreditUsed")
    if basis is Basis.RECORDED:
        effect = timestamps(uses.frame["CreatedOn"])
        timed = uses.valid("CreatedOn") & ~np.isnat(effect)
    else:
        times = derived.credit_usage_times
        effect, timed = times.time, times.judgeable
    of_kept_credit = take(credit_kept, use_credit, False)
    # A use takes effect never before its credit is issued (contract section 6a).
    # (fmax keeps the use's own time where its credit is unknown: NaT is ignored.)
    effect = np.fmax(effect, take(created, use_credit, np.datetime64("NaT", "us")))
    use_kept = counted & timed & of_kept_credit
    keyed = uses.valid("CoworkerBookingCreditId", "CreditUsed")
    excluded["use_schema"] = int((~keyed).sum())
    excluded["use_orphan"] = int(orphan.sum())
    excluded["use_repeated_id"] = int((keyed & ~orphan & ~counted).sum())
    excluded["use_time"] = int((counted & ~timed).sum())
    excluded["use_of_excluded_credit"] = int((counted & timed & ~of_kept_credit).sum())

    links = derived.links
    kind = np.full(len(use_credit), NO_LINK, dtype=np.int8)
    kind[links.invoice_line] = INVOICE_LINE
    kind[links.event] = EVENT
    kind[links.booking] = BOOKING

    balances = derived.credit_balances
    return CloseLedger(
        scale_decimals=derived.scale.decimals,
        credit_kept=credit_kept,
        credit_id=int_ids(frame["Id"]),
        business=int_ids(frame["BusinessId"]),
        currency=currency,
        created=created,
        expires=expires,
        total=balances.total,
        remaining=balances.remaining,
        use_kept=use_kept,
        use_credit=use_credit,
        effect=effect,
        use_timed=timed,
        use_units=ledger.use_units,
        kind=kind,
        excluded={reason: count for reason, count in excluded.items() if count},
    )


def sum_per_credit(ledger: CloseLedger, uses: np.ndarray) -> np.ndarray:
    """Per credit row: the exact sum of ``use_units`` over the uses in the mask ``uses``."""
    return sum_at(ledger.use_credit[uses], ledger.use_units[uses], len(ledger.credit_kept))


def sum_at(rows: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Exact sums of ``values`` grouped by ``rows`` (0..size-1), int64 or Python integers."""
    sums = np.zeros(size, dtype=values.dtype if values.dtype == object else np.int64)
    if sums.dtype == object:
        sums[:] = 0
    np.add.at(sums, rows, values)
    return sums
