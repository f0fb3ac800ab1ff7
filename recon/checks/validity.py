"""Validity rules: each booking-credit use falls inside its credit's validity window.

The usage time (``Derived.credit_usage_times``) and the window
(``Derived.windows``, where the midnight ``ExpireDate`` rule lives) are derived
values; these rules compare them and say so in words.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import findings
from ..derived import NO_ROW, Derived, Evaluation, Windows, take
from ..entities import CREDIT, CREDIT_USE
from . import text


def expired_credit_use(derived: Derived) -> Evaluation:
    """A use whose usage time is after its credit's ExpireDate."""
    windows, rows, judged = _judged_uses(derived, "expire", "end", Windows.after)
    return _evaluation(derived, rows, judged, "after", "ExpireDate", windows, windows.expire)


def premature_credit_use(derived: Derived) -> Evaluation:
    """A use whose usage time is before its credit's ValidFrom."""
    windows, rows, judged = _judged_uses(derived, "start", "start", Windows.before)
    return _evaluation(derived, rows, judged, "before", "ValidFrom", windows, windows.start)


def bound_text(windows: Windows, rows: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """A window bound as the messages show it, naming the midnight rule where it applied."""
    shown = text.times(bound[rows])
    if bound is not windows.expire:
        return shown
    return np.where(
        windows.midnight[rows],
        text.concat(shown, " (a midnight ExpireDate covers that whole day)"),
        shown,
    )


def _judged_uses(
    derived: Derived,
    bound: str,
    field: str,
    outside: Callable[[Windows, np.ndarray], np.ndarray],
) -> tuple[Windows, np.ndarray, np.ndarray]:
    """Which uses can be judged against their credit's window ``bound`` (it is known),
    which of them ``outside`` flags (it reads the window's ``field``), and the windows of
    the flagged uses, aligned with them.

    Only ``field`` is taken per use (the whole window of every use was five arrays of
    10M); the flagged uses get their whole window, for the message."""
    credit_rows = derived.credit_row_of_use
    windows = derived.windows(CREDIT)
    known = take(~np.isnat(getattr(windows, bound)), credit_rows, False)
    judged = derived.credit_usage_times.judgeable & (credit_rows != NO_ROW) & known
    per_use = windows.at(credit_rows, fields=(field,))
    rows = np.flatnonzero(judged & outside(per_use, derived.credit_usage_times.time))
    return windows.at(credit_rows[rows]), rows, judged


def _evaluation(
    derived: Derived,
    rows: np.ndarray,
    judged: np.ndarray,
    relation: str,
    bound_name: str,
    windows: Windows,
    bound: np.ndarray,
) -> Evaluation:
    usage = derived.credit_usage_times
    credit_ids = derived.credit_ids_of_uses(rows)
    message = text.concat(
        "used ",
        text.times(usage.time[rows]),
        " (",
        usage.source[rows].astype(str),
        "), ",
        relation,
        " credit ",
        text.ids(credit_ids),
        "'s ",
        bound_name,
        " ",
        bound_text(windows, np.arange(len(rows)), bound),
    )
    found = findings.make(
        CREDIT_USE,
        derived[CREDIT_USE].frame,
        rows,
        message=message,
        expected=text.times(bound),
        actual=text.times(usage.time[rows]),
        credit_id=credit_ids,
    )
    return Evaluation(found, int(judged.sum()))
