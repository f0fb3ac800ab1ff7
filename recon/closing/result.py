"""A close computed from an audit: the three tables, the close's findings, the verdict.

``close_audit`` takes an audit made as of the period end and adds what the month-end
close finds (``rollforward_unexplained``, and with a previous close the four change
kinds) to its findings, summary and exit status, so every report and the exit status
judge the close and the audit together.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import findings
from ..derived import Derived
from ..entities import CREDIT
from ..exitcodes import ExitCode, Severity, exit_code_for
from ..materiality import materiality
from . import breakage as breakage_table
from . import maturity as maturity_table
from . import rollforward as rollforward_table
from .changes import CHANGE_RULES, Side, changes_after_close
from .ledger import Basis, close_ledger
from .period import Period

if TYPE_CHECKING:
    from ..audit import AuditResult

UNEXPLAINED = "rollforward_unexplained"
CLOSE_RULES: tuple[str, ...] = (UNEXPLAINED, *CHANGE_RULES)
"""The close's own rules: all of severity error (contract section 6)."""
_MADE = (*findings.COLUMNS[: -len(findings.AUDIT_COLUMNS)], "impact", "currency")
"""What the close's own findings are made with; ``_merge`` adds the rest of the columns."""


@dataclass(frozen=True)
class Previous:
    """What a close needs of the close of the month before."""

    period: Period
    basis: Basis
    sealed: dict[tuple[str, str], Decimal]
    """Its ``closing`` per (business_id, currency)."""
    derived: Derived
    """Its own snapshot, loaded under its own rules (for change after close)."""
    manifest_sha256: str


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


def close_audit(
    audit: AuditResult, period: Period, basis: Basis, previous: Previous | None
) -> CloseResult:
    """Close ``period`` on the snapshot ``audit`` judged (made as of the period end)."""
    ledger = close_ledger(audit.derived, basis)
    credits = rollforward_table.per_credit(ledger, period)
    sealed = previous.sealed if previous is not None else None
    rollforward = rollforward_table.rollforward(credits, period, ledger.scale_decimals, sealed)
    pieces = [_unexplained(rollforward, audit, period)]
    if previous is not None:
        old = Side(previous.derived, close_ledger(previous.derived, basis))
        new = Side(audit.derived, ledger)
        pieces.append(changes_after_close(old, new, previous.period.end, previous.period.label))
    merged = _merge(audit, pieces, previous is not None)
    return CloseResult(
        period=period,
        basis=basis,
        rollforward=rollforward,
        breakage=breakage_table.breakage(ledger, period),
        maturity=maturity_table.maturity(ledger, period),
        audit=merged,
        excluded=ledger.excluded,
        previous=previous,
    )


def _unexplained(table: pd.DataFrame, audit: AuditResult, period: Period) -> pd.DataFrame:
    tolerance = Decimal(repr(audit.ruleset.tolerance))
    rows = table[table["business_id"] != rollforward_table.TOTAL]
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


def _as_audit_findings(added: pd.DataFrame, audit: AuditResult) -> pd.DataFrame:
    """The close's findings with every column an audit's findings have: expected and
    actual as JSON text, a fingerprint (from the rule, the entity and the record's Id, or
    for a roll-forward row its location and currency), and no baseline or waiver."""
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
    stamp = audit.summary["as_of"]
    return added.assign(
        expected=findings.as_json_text(added["expected"]),
        actual=findings.as_json_text(added["actual"]),
        impact=added["impact"].astype(object).where(added["impact"].notna(), None),
        currency=added["currency"].astype(object).where(added["currency"].notna(), None),
        fingerprint=[f"v1:{hashlib.sha256(k.encode()).hexdigest()[:32]}" for k in keys],
        baseline=pd.Series([None] * len(added), index=added.index, dtype=object),
        first_seen=pd.Series([stamp] * len(added), index=added.index, dtype=object),
        waiver=pd.Series([None] * len(added), index=added.index, dtype=object),
    )


def _location_keys(added: pd.DataFrame) -> list[str]:
    """What names a roll-forward finding across runs: its location, currency and period
    (the first words of its message, which the close writes in a fixed form)."""
    return [message.split(":")[0] for message in added["message"].astype(str)]


def _merge(audit: AuditResult, pieces: list[pd.DataFrame], chained: bool) -> AuditResult:
    added = findings.concat([piece for piece in pieces if len(piece)], _MADE)
    if len(added):
        added = _as_audit_findings(added, audit)
        merged = findings.sort(pd.concat([audit.findings, added], ignore_index=True))
    else:
        merged = audit.findings
    by_severity = {
        severity: int((merged["severity"] == severity.value).sum()) for severity in Severity
    }
    gating = merged[merged["waiver"].isna()]
    # The money a change after close moves, and what the roll-forward leaves unexplained,
    # count toward materiality beside the audit's own findings.
    money = materiality(merged, audit.ruleset)
    exit_code = exit_code_for(
        {s: int((gating["severity"] == s.value).sum()) for s in Severity},
        audit.fail_on,
        material=money.material,
    )
    summary: dict[str, Any] = dict(audit.summary)
    summary["materiality"] = money.describe()
    counts = added["rule"].value_counts().to_dict() if len(added) else {}
    rules = CLOSE_RULES if chained else CLOSE_RULES[:1]
    summary["findings"] = len(merged)
    summary["by_rule"] = {
        **audit.summary["by_rule"],
        **{rule: int(counts.get(rule, 0)) for rule in rules},
    }
    summary["by_severity"] = {severity.value: count for severity, count in by_severity.items()}
    summary["status"] = "fail" if exit_code is ExitCode.FINDINGS else "pass"
    summary["exit_code"] = int(exit_code)
    summary["rules"] = [
        *audit.summary["rules"],
        *(
            {
                "rule": rule,
                "outcome": "ran",
                "severity": Severity.ERROR.value,
                "evaluated": 0,
                "findings": int(counts.get(rule, 0)),
                "reason": None,
            }
            for rule in rules
        ),
    ]
    return dataclasses.replace(
        audit, findings=merged, summary=summary, exit_code=exit_code, materiality=money
    )
