"""Validity rules: each booking-credit use falls inside its credit's validity window.

The usage time is BookingFromTime when the use links a booking and that time
is present, else CreatedOn; both are compared in the wall clock of the
credit's location. An ExpireDate at exactly midnight covers that whole day.
"""

from __future__ import annotations

import numpy as np

from .. import findings
from ..entities import CREDIT, CREDIT_USE
from . import text
from .context import NO_ROW, AuditContext, Evaluation, after_expiry, take, timestamps

_NAT = np.datetime64("NaT", "us")


def expired_credit_use(ctx: AuditContext) -> Evaluation:
    """A use whose usage time is after its credit's ExpireDate."""
    expire, judged = _credit_bound(ctx, "ExpireDate")
    usage = ctx.usage_times
    rows = np.flatnonzero(judged & after_expiry(usage.time, expire))
    midnight = expire[rows] == expire[rows].astype("datetime64[D]")
    bound = np.where(
        midnight,
        text.concat(text.times(expire[rows]), " (a midnight ExpireDate covers that whole day)"),
        text.times(expire[rows]),
    )
    return _evaluation(ctx, rows, judged, "after", "ExpireDate", bound, expire)


def premature_credit_use(ctx: AuditContext) -> Evaluation:
    """A use whose usage time is before its credit's ValidFrom."""
    valid_from, judged = _credit_bound(ctx, "ValidFrom")
    rows = np.flatnonzero(judged & (ctx.usage_times.time < valid_from))
    return _evaluation(
        ctx, rows, judged, "before", "ValidFrom", text.times(valid_from[rows]), valid_from
    )


def _credit_bound(ctx: AuditContext, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Each use's credit's ``name`` date-time, and which uses can be judged against it."""
    credits = ctx[CREDIT]
    credit_rows = ctx.credit_row_of_use
    bound = take(timestamps(credits.frame[name]), credit_rows, _NAT)
    known = take(credits.valid(name), credit_rows, False) & ~np.isnat(bound)
    return bound, ctx.usage_times.judgeable & (credit_rows != NO_ROW) & known


def _evaluation(
    ctx: AuditContext,
    rows: np.ndarray,
    judged: np.ndarray,
    relation: str,
    bound_name: str,
    bound_text: np.ndarray,
    bound: np.ndarray,
) -> Evaluation:
    usage = ctx.usage_times
    credit_ids = ctx.credit_ids_of_uses.iloc[rows]
    message = text.concat(
        "used ",
        text.times(usage.time[rows]),
        " (",
        np.where(usage.from_booking[rows], "BookingFromTime", "CreatedOn"),
        "), ",
        relation,
        " credit ",
        text.ids(credit_ids),
        "'s ",
        bound_name,
        " ",
        bound_text,
    )
    found = findings.make(
        CREDIT_USE,
        ctx[CREDIT_USE].frame,
        rows,
        message=message,
        expected=text.times(bound[rows]),
        actual=text.times(usage.time[rows]),
        credit_id=credit_ids,
    )
    return Evaluation(found, int(judged.sum()))
