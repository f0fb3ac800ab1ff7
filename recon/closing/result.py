"""A close: the audit as of the period end, the three tables and the close's findings.

``close_snapshot`` audits the snapshot with the close's own rules (``rollforward_unexplained``,
and with a previous close the four change kinds) run inside the audit, after the rule
set's, on the same derived views: the audit then fingerprints, baselines, waives, sums
and gates them with the rest, so every report and the exit status judge the close and
the audit together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import findings
from ..config import RuleSet
from ..derived import Derived
from ..entities import CREDIT
from ..exitcodes import ExitCode, FailOn, Severity
from ..load import load_snapshot
from . import breakage as breakage_table
from . import maturity as maturity_table
from . import rollforward as rollforward_table
from .amounts import WIDE
from .changes import CHANGE_RULES, COMPARED, Side, changes_after_close
from .ledger import Basis, close_ledger
from .period import Period

if TYPE_CHECKING:
    from ..audit import AuditResult

UNEXPLAINED = "rollforward_unexplained"
CLOSE_RULES: tuple[str, ...] = (UNEXPLAINED, *CHANGE_RULES)
"""The close's own rules: all of severity error (contract section 6)."""
_MADE = (*findings.COLUMNS[: -len(findings.AUDIT_COLUMNS)], "impact", "currency")
"""What the close's own findings are made with (the audit adds the rest of the columns)."""


@dataclass(frozen=True)
class Previous:
    """What a close needs of the close of the month before."""

    period: Period
    basis: Basis
    sealed: dict[tuple[str, str], Decimal]
    """Its ``closing`` per (business_id, currency)."""
    snapshot: Path
    """Its own snapshot, read under ``rules`` for change after close."""
    rules: RuleSet
    manifest_sha256: str

    def derived(self) -> Derived:
        """Its snapshot's booking credits and uses as of its period end.

        Loaded only when compared, after the audit of the month being closed, and only the
        fields that change after close compares or the close ledger reads: the two
        snapshots are in memory together.
        """
        snapshot = load_snapshot(self.snapshot, self.rules, only=tuple(COMPARED), fields=COMPARED)
        return Derived(snapshot=snapshot, ruleset=self.rules, as_of=self.period.as_of)


@dataclass(frozen=True)
class CloseResult:
    """Everything a close produced."""

    period: Period
    basis: Basis
    rollforward: pd.DataFrame
    """rollforward.csv's rows: ``Decimal`` amounts, int counts, None where empty."""
    breakage: pd.DataFrame
    maturity: pd.DataFrame
    audit: AuditResult
    """The audit with the close's findings added (findings, summary, exit status)."""
    excluded: dict[str, int]
    previous: Previous | None

    @property
    def findings(self) -> pd.DataFrame:
        return self.audit.findings

    @property
    def exit_code(self) -> ExitCode:
        return self.audit.exit_code

    def __repr__(self) -> str:
        return (
            f"<CloseResult {self.period} ({self.basis.value}): "
            f"{len(self.rollforward)} roll-forward "
            f"rows, {len(self.findings):,} findings, exit {int(self.exit_code)}>"
        )


def close_snapshot(
    snapshot: str | Path,
    period: Period,
    basis: Basis,
    previous: Previous | None,
    *,
    rules: str | Path | None = None,
    fail_on: str | FailOn = FailOn.ERROR,
    baseline: str | Path | None = None,
    fail_on_new: bool = False,
    waivers: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> CloseResult:
    """Audit ``snapshot`` as of the end of ``period`` and close the period on it.

    The close's own findings are made inside the audit (see ``audit.MoreRules``), so a
    baseline, waivers and the exit status judge them with the rule set's: a waiver may
    accept a roll-forward difference, and ``--fail-on-new`` passes a known one.
    """
    from ..audit import audit  # the audit knows the close's rules (waivers may name them)

    closing = _Closing(period, basis, previous)
    audited = audit(
        snapshot,
        rules=rules,
        as_of=period.as_of,
        fail_on=fail_on,
        baseline=baseline,
        fail_on_new=fail_on_new,
        waivers=waivers,
        progress=progress,
        more=closing,
    )
    return closing.result(audited)


class _Closing:
    """A close in the making: its tables and findings computed from the audit's derived
    view (called by the audit), then the result once the audit has judged them."""

    def __init__(self, period: Period, basis: Basis, previous: Previous | None) -> None:
        self.period, self.basis, self.previous = period, basis, previous

    def __call__(self, derived: Derived) -> tuple[pd.DataFrame, dict[str, int]]:
        with localcontext(WIDE):  # the close's sums keep every digit the data was sent with
            return self._close(derived)

    def _close(self, derived: Derived) -> tuple[pd.DataFrame, dict[str, int]]:
        period, previous = self.period, self.previous
        ledger = close_ledger(derived, self.basis)
        credits = rollforward_table.per_credit(ledger, period)
        sealed = previous.sealed if previous is not None else None
        self.rollforward = rollforward_table.rollforward(
            credits, period, ledger.scale_decimals, sealed
        )
        self.breakage = breakage_table.breakage(ledger, period)
        self.maturity = maturity_table.maturity(ledger, period)
        self.excluded = ledger.excluded
        located = self.rollforward["business_id"] != rollforward_table.TOTAL
        tolerance = Decimal(repr(derived.ruleset.tolerance))
        pieces = [_unexplained(self.rollforward[located], tolerance, period)]
        evaluated = {UNEXPLAINED: int(located.sum())}
        if previous is not None:
            old_derived = previous.derived()
            old = Side(old_derived, close_ledger(old_derived, self.basis))
            new = Side(derived, ledger)
            moment = previous.period.end
            pieces.append(changes_after_close(old, new, moment, previous.period.label))
            # What each change rule evaluated: the records the previous close had closed.
            closed = sum(int(old.closed(entity, moment).sum()) for entity in COMPARED)
            evaluated.update(dict.fromkeys(CHANGE_RULES, closed))
            del old, old_derived  # the previous snapshot is not needed to write the bundle
        made = findings.concat([piece for piece in pieces if len(piece)], _MADE)
        return made.assign(fingerprint=_fingerprints(made)), evaluated

    def result(self, audited: AuditResult) -> CloseResult:
        return CloseResult(
            period=self.period,
            basis=self.basis,
            rollforward=self.rollforward,
            breakage=self.breakage,
            maturity=self.maturity,
            audit=audited,
            excluded=self.excluded,
            previous=self.previous,
        )


def _unexplained(rows: pd.DataFrame, tolerance: Decimal, period: Period) -> pd.DataFrame:
    beyond = [abs(value) > tolerance for value in rows["unexplained"]]
    rows = rows[beyond]
    if not len(rows):
        return findings.concat([], _MADE)
    count = len(rows)
    text = rollforward_table.as_text(rows)
    messages = [
        f"location {business} ({currency or 'no currency'}), {period}: the balances rolled back "
        f"to the period end say {cfb} but the roll-forward closes at {closing}; "
        f"{unexplained} unexplained"
        for business, currency, cfb, closing, unexplained in zip(
            text["business_id"],
            text["currency"],
            text["closing_from_balances"],
            text["closing"],
            text["unexplained"],
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "rule": UNEXPLAINED,
            "severity": Severity.ERROR.value,
            "entity": CREDIT.name,
            "record_id": pd.array([None] * count, dtype="Int64"),
            "credit_id": pd.array([None] * count, dtype="Int64"),
            "field": pd.Series([None] * count, dtype=object),
            "row": np.zeros(count, dtype=np.int64),
            "message": pd.Series(messages, dtype=object),
            "expected": pd.Series([float(v) for v in rows["closing"]], dtype=object),
            "actual": pd.Series([float(v) for v in rows["closing_from_balances"]], dtype=object),
            "impact": pd.Series(list(text["unexplained"]), dtype=object),
            "currency": pd.Series(list(text["currency"]), dtype=object),
        }
    )


def _fingerprints(added: pd.DataFrame) -> list[str]:
    """The fingerprint of each of the close's findings: from the rule, the entity and the
    record's Id, or for a roll-forward row its location and currency."""
    keys = [
        f"{rule}\x1f{entity}\x1f"
        + (f"Id:{record}" if record is not None and record is not pd.NA else f"{message}")
        for rule, entity, record, message in zip(
            added["rule"],
            added["entity"],
            added["record_id"].astype(object),
            _location_keys(added),
            strict=True,
        )
    ]
    return [f"v1:{hashlib.sha256(key.encode()).hexdigest()[:32]}" for key in keys]


def _location_keys(added: pd.DataFrame) -> list[str]:
    """What names a roll-forward finding across runs: its location, currency and period
    (the first words of its message, which the close writes in a fixed form)."""
    return [message.split(":")[0] for message in added["message"].astype(str)]
