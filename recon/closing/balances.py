"""The balance ``B(c, t)`` of every credit at a moment (contract section 6a), vectorised.

``B(c, t)`` is 0 when ``t <= CreatedOn`` or ``t >= X``; otherwise ``TotalCredit`` minus the
``CreditUsed`` of the kept uses that took effect before ``t``. Each function returns one
value per credit row (0 for a credit the close left out), exact, in units.
"""

from __future__ import annotations

import numpy as np

from .ledger import NEVER, CloseLedger, sum_per_credit


def balance_at(ledger: CloseLedger, moment: np.datetime64) -> np.ndarray:
    """``B(c, moment)`` of every credit."""
    used = sum_per_credit(ledger, ledger.use_kept & (ledger.effect < moment))
    return np.where(ledger.open_at(moment), ledger.total - used, 0)


def balance_before_expiry(ledger: CloseLedger) -> np.ndarray:
    """``B(c, X')``: the balance just before each credit's expiry moment (what expires),
    0 for a credit that was never outstanding (``CreatedOn >= X``) or never expires."""
    used = sum_per_credit(ledger, ledger.use_kept & (ledger.effect < ledger.use_expires()))
    outstanding = ledger.credit_kept & (ledger.created < ledger.expires) & (ledger.expires != NEVER)
    return np.where(outstanding, ledger.total - used, 0)
