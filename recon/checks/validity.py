"""Validity rules: each booking-credit use falls inside its credit's validity window.

The usage time (``Derived.credit_usage_times``) and the window
(``Derived.windows``, where the midnight ``ExpireDate`` rule lives) are derived
values; these rules compare them and say so in words.
"""

from __future__ import annotations

import numpy as np

from .. import findings
from ..derived import NO_ROW, Derived, Evaluation, Windows
from ..entities import CREDIT, CREDIT_USE
from . import text


def expired_credit_use(derived: Derived) -> Evaluation:
    """A use whose usage time is after its credit's ExpireDate."""
    windows, judged = _windows_of_uses(derived, "expire")
    rows = np.flatnonzero(judged & windows.after(derived.credit_usage_times.time))
    return _evaluation(derived, rows, judged, "after", "ExpireDate", windows, windows.expire)


def premature_credit_use(derived: Derived) -> Evaluation:
    """A use whose usage time is before its credit's ValidFrom."""
    windows, judged = _windows_of_uses(derived, "start")
    rows = np.flatnonzero(judged & windows.before(derived.credit_usage_times.time))
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


def _windows_of_uses(derived: Derived, bound: str) -> tuple[Windows, np.ndarray]:
    """Each use's credit's window, and which uses can be judged against its ``bound``."""
    credit_rows = derived.credit_row_of_use
    windows = derived.windows(CREDIT).at(credit_rows)
    known = ~np.isnat(getattr(windows, bound))
    return windows, derived.credit_usage_times.judgeable & (credit_rows != NO_ROW) & known


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
    credit_ids = derived.credit_ids_of_uses.iloc[rows]
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
        bound_text(windows, rows, bound),
    )
    found = findings.make(
        CREDIT_USE,
        derived[CREDIT_USE].frame,
        rows,
        message=message,
        expected=text.times(bound[rows]),
        actual=text.times(usage.time[rows]),
        credit_id=credit_ids,
    )
    return Evaluation(found, int(judged.sum()))
