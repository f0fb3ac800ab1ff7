"""Link rules: every booking-credit use points at exactly one existing thing it paid for.

A use links a booking (``BookingId``), an event attendance (``EventAttendeeId``)
or an invoice line (``CoworkerInvoiceLineId``); an Id of 0 is the API's
"none", the same as null. A use with no link and a note in ``Description`` is
an administrator's manual adjustment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import findings
from ..derived import (
    NO_ROW,
    Derived,
    Evaluation,
    present,
    take,
    timestamps,
)
from ..entities import CREDIT, CREDIT_USE
from ..fields import BOOKING_LINKS
from ..rows import at_rows, frame_at
from . import text


def orphan_use(derived: Derived) -> Evaluation:
    """A use whose CoworkerBookingCreditId matches no credit in the snapshot (0 included)."""
    uses = derived[CREDIT_USE]
    judged = (
        uses.valid("CoworkerBookingCreditId")
        & uses.frame["CoworkerBookingCreditId"].notna().to_numpy()
    )
    rows = np.flatnonzero(judged & (derived.credit_row_of_use == NO_ROW))
    credit_ids = at_rows(uses.frame["CoworkerBookingCreditId"], rows)
    message = text.concat(
        "CoworkerBookingCreditId ",
        text.ids(credit_ids),
        np.where(credit_ids.to_numpy(dtype=np.int64) == 0, " (the API's 'none')", ""),
        " matches no credit in the snapshot",
    )
    found = findings.make(CREDIT_USE, uses.frame, rows, message=message, actual=credit_ids)
    return Evaluation(found, int(judged.sum()))


def unlinked_use(derived: Derived) -> Evaluation:
    """A use with no booking, event or invoice-line link and no Description."""
    uses, links = derived[CREDIT_USE], derived.links
    judged = links.judgeable & uses.valid("Description")
    described = present(uses.frame["Description"])
    rows = np.flatnonzero(judged & (links.count == 0) & ~described)
    message = text.concat(
        "use of ",
        _amounts(derived, rows),
        " has no BookingId, EventAttendeeId or "
        "CoworkerInvoiceLineId and no Description: nothing says what it paid for",
    )
    found = findings.make(
        CREDIT_USE,
        uses.frame,
        rows,
        message=message,
        expected=1,
        actual=0,
        credit_id=derived.credit_ids_of_uses(rows),
    )
    return Evaluation(found, int(judged.sum()))


def manual_adjustment(derived: Derived) -> Evaluation:
    """A use with no link but a note in Description: an administrator's balance adjustment."""
    uses, links = derived[CREDIT_USE], derived.links
    judged = links.judgeable & uses.valid("Description")
    rows = np.flatnonzero(judged & (links.count == 0) & present(uses.frame["Description"]))
    # The three columns it shows, not the whole frame: each text column's take is its own.
    frame = {name: at_rows(uses.frame[name], rows) for name in ("UpdatedBy", "Description")}
    frame["CreditUsed"] = at_rows(uses.frame["CreditUsed"], rows)
    by = text.where(
        present(frame["UpdatedBy"]), text.concat(" by ", text.strings(frame["UpdatedBy"]))
    )
    message = text.concat(
        "manual adjustment of ",
        _amounts(derived, rows),
        by,
        ": ",
        text.strings(frame["Description"]),
    )
    amount = frame["CreditUsed"].where(uses.valid("CreditUsed")[rows])
    found = findings.make(
        CREDIT_USE,
        uses.frame,
        rows,
        message=message,
        actual=amount,
        credit_id=derived.credit_ids_of_uses(rows),
    )
    return Evaluation(found, int(judged.sum()))


def multi_linked_use(derived: Derived) -> Evaluation:
    """A use linked to more than one of a booking, an event attendance and an invoice line."""
    uses, links = derived[CREDIT_USE], derived.links
    count = links.count
    rows = np.flatnonzero(links.judgeable & (count > 1))
    frame = frame_at(uses.frame[list(BOOKING_LINKS)], rows)
    flags = (links.booking[rows], links.event[rows], links.invoice_line[rows])
    named = text.join_present(
        [
            text.where(flag, text.concat(name, " ", text.ids(frame[name])))
            for name, flag in zip(BOOKING_LINKS, flags, strict=True)
        ],
        ", ",
    )
    message = text.concat(
        "use links ",
        named,
        ": a use must point at exactly one booking, event attendance or invoice line",
    )
    found = findings.make(
        CREDIT_USE,
        uses.frame,
        rows,
        message=message,
        expected=1,
        actual=count[rows],
        credit_id=derived.credit_ids_of_uses(rows),
    )
    return Evaluation(found, int(links.judgeable.sum()))


def non_positive_use(derived: Derived) -> Evaluation:
    """A use linked to a booking, event or invoice line whose CreditUsed is zero or less."""
    uses, links = derived[CREDIT_USE], derived.links
    judged = links.judgeable & (links.count > 0) & uses.valid("CreditUsed")
    credit_used = uses.frame["CreditUsed"].to_numpy(dtype="float64", na_value=np.nan)
    non_positive = credit_used <= 0
    # The few amounts no float holds are judged as sent: 1e-400 reads as the float 0.0
    # (and -1e-400 as -0.0), yet it is above zero.
    for row, value in uses.exact.get("CreditUsed", {}).items():
        non_positive[row] = value <= 0
    rows = np.flatnonzero(judged & non_positive)
    message = text.concat(
        "linked use has CreditUsed = ",
        _amounts(derived, rows),
        "; paying for a booking, event or invoice line must consume a positive amount",
    )
    found = findings.make(
        CREDIT_USE,
        uses.frame,
        rows,
        message=message,
        expected="> 0",
        actual=uses.amounts("CreditUsed", rows),
        credit_id=derived.credit_ids_of_uses(rows),
    )
    return Evaluation(found, int(judged.sum()))


_DENORMALISED = (
    # (link field, prefix of the fields copied from the linked record)
    ("BookingId", "Booking"),
    ("EventAttendeeId", "EventAttendee"),
    ("CoworkerInvoiceLineId", "CoworkerInvoiceLineCoworkerInvoice"),
)


def denormalisation_mismatch(derived: Derived) -> Evaluation:
    """Denormalised fields that contradict the link: set while the link is empty, or a
    booking that ends before it starts."""
    uses = derived[CREDIT_USE]
    frame = uses.frame
    # Masks over every use first; message text only for the few flagged ones.
    set_without_link: dict[str, list[tuple[str, np.ndarray]]] = {}
    links = derived.links  # made once for every link rule
    linked = dict(zip(BOOKING_LINKS, (links.booking, links.event, links.invoice_line), strict=True))
    for link, prefix in _DENORMALISED:
        unlinked = uses.valid(link) & ~linked[link]
        set_without_link[link] = [
            (name, _set_where(frame[name], unlinked & uses.valid(name)))
            for name in frame.columns
            if name.startswith(prefix) and name != link
        ]
    start, end = timestamps(frame["BookingFromTime"]), timestamps(frame["BookingToTime"])
    backwards = uses.valid("BookingFromTime", "BookingToTime") & (end < start)
    flagged = backwards.copy()
    for copies in set_without_link.values():
        for _, mask in copies:
            flagged |= mask

    rows = np.flatnonzero(flagged)
    parts = []
    for link, copies in set_without_link.items():
        names = text.join_present([text.where(mask[rows], name) for name, mask in copies], ", ")
        parts.append(
            text.where(
                np.strings.str_len(names) > 0, text.concat(names, " set while ", link, " is empty")
            )
        )
    parts.append(
        text.where(
            backwards[rows],
            text.concat(
                "BookingToTime ",
                text.times(end[rows]),
                " is before BookingFromTime ",
                text.times(start[rows]),
            ),
        )
    )
    found = findings.make(
        CREDIT_USE,
        frame,
        rows,
        message=text.join_present(parts),
        credit_id=derived.credit_ids_of_uses(rows),
    )
    return Evaluation(found, len(frame))


def ineligible_use(derived: Derived) -> Evaluation:
    """A booking use of a credit not usable for bookings, or an event use of one not usable
    for events. An invoice-line use is never ineligible."""
    uses, credits, links = derived[CREDIT_USE], derived[CREDIT], derived.links
    credit_rows = derived.credit_row_of_use
    refusals, judged = [], np.zeros(len(credit_rows), bool)
    for linked, link, permission, kind in (
        (links.booking, "BookingId", "CaneBeUsedForBookings", "booking"),
        (links.event, "EventAttendeeId", "CaneBeUsedForEvents", "event"),
    ):
        column = credits.frame[permission]
        known = take(column.notna().to_numpy() & credits.valid(permission), credit_rows, False)
        refused = take(column.eq(False).fillna(False).to_numpy(dtype=bool), credit_rows, False)
        judgeable = linked & uses.valid(link) & known
        refusals.append(
            (judgeable & refused, f"{kind}-linked use of a credit with {permission} = false")
        )
        judged |= judgeable
    rows = np.flatnonzero(np.logical_or.reduce([hit for hit, _ in refusals]))
    credit_ids = derived.credit_ids_of_uses(rows)
    reasons = text.join_present([text.where(hit[rows], reason) for hit, reason in refusals])
    found = findings.make(
        CREDIT_USE,
        uses.frame,
        rows,
        message=text.concat(reasons, " (credit ", text.ids(credit_ids), ")"),
        expected=True,
        actual=False,
        credit_id=credit_ids,
    )
    return Evaluation(found, int(judged.sum()))


def _set_where(values: pd.Series, where: np.ndarray) -> np.ndarray:
    """``where & _is_set(values)``, judging only the rows where it can hold: a null is
    never set, and a denormalised copy is null wherever its link is empty, so in clean
    data the candidates are few (blankness of 10M texts, for each of the eight copied
    fields, was most of this rule's time)."""
    candidates = where & values.notna().to_numpy()
    rows = np.flatnonzero(candidates)
    if len(rows) > len(values) // 8:  # many: one pass over the whole column is cheaper
        return candidates & _is_set(values)
    result = np.zeros(len(values), dtype=bool)
    result[rows[_is_set(at_rows(values, rows))]] = True
    return result


def _is_set(values: pd.Series) -> np.ndarray:
    """A denormalised value that says something: not null, not blank, and not the API's
    defaults for "none" (0, false) that it writes for a missing relation."""
    arrow = isinstance(values.dtype, pd.ArrowDtype)
    if pd.api.types.is_bool_dtype(values.dtype):
        if arrow:  # a bitmap in, bytes out: no pandas copy of the column
            return pc.fill_null(pa.array(values), False).to_numpy(zero_copy_only=False)
        return values.fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values.dtype):
        if arrow:  # NaN is set, as pandas' ne(0) has it
            set_ = pc.fill_null(pc.not_equal(pa.array(values), 0), False)
            return set_.to_numpy(zero_copy_only=False)
        return values.fillna(0).ne(0).to_numpy(dtype=bool)
    return present(values)


def _amounts(derived: Derived, rows: np.ndarray) -> np.ndarray:
    """CreditUsed of the uses at ``rows`` as money text ('?' where it failed its schema)."""
    uses = derived[CREDIT_USE]
    valid = uses.valid("CreditUsed")[rows]
    amounts = at_rows(uses.frame["CreditUsed"], rows)
    shown = text.money_of(
        derived.units(amounts, CREDIT_USE), derived.scale, derived.use_currency[rows]
    )
    return np.where(valid & amounts.notna().to_numpy(), shown, "?")
