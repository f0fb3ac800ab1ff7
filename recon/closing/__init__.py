"""Closing a month (contract section 6): the computation, from an audit as of the period end.

By module: ``period`` (``--period`` and the bounds ``[S, E)``), ``ledger`` (the credits
and uses a close can place, and those it leaves out), ``balances`` (``B(c, t)``),
``rollforward``, ``breakage``, ``maturity``, ``changes`` (change after close against the
previous close's snapshot) and ``result`` (the close's own rules, run inside the audit).
Writing and verifying the evidence bundle is ``recon.bundle``'s job (it renders reports).
"""

from __future__ import annotations

from .ledger import Basis, parse_basis
from .period import Period, parse_period
from .result import CLOSE_RULES, CloseResult, Previous, close_snapshot

__all__ = [
    "CLOSE_RULES",
    "Basis",
    "CloseResult",
    "Period",
    "Previous",
    "close_snapshot",
    "parse_basis",
    "parse_period",
]
