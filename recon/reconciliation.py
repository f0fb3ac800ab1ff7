"""The credit reconciliation an auditor signs: every credit's tie-out, its status, and totals.

Built from the audit's own ``Derived.credit_balances`` (the arithmetic and the
verdicts the balance rules judged by) and its findings, so the workpaper can
never call a credit "balanced" that a finding says is not. Amounts are summed in
exact integer units and shown as the float nearest to the exact result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import money
from .entities import CREDIT

if TYPE_CHECKING:
    from .audit import AuditResult

RECONCILIATION_COLUMNS: tuple[str, ...] = (
    "id",
    "coworker_id",
    "business_id",
    "location",
    "description",
    "currency",
    "valid_from",
    "expire_date",
    "total_credit",
    "remaining_credit",
    "uses",
    "uses_sum",
    "difference",
    "findings",
    "rules",
    "status",
)
"""The columns of ``credit_reconciliation``."""

SUBTOTAL_COLUMNS: tuple[str, ...] = (
    "business_id",
    "currency",
    "credits",
    "total_credit",
    "remaining_credit",
    "uses_sum",
    "difference",
    "not_balanced",
)
"""The columns of ``reconciliation_subtotals``: one row per location and currency."""

BALANCED = "balanced"
MISMATCH = "mismatch"
OVERDRAWN = "overdrawn"
NOT_JUDGED = "not judged"
USES_LEFT_OUT = "uses left out"
SEE_FINDINGS = "see findings"
STATUSES = (BALANCED, MISMATCH, OVERDRAWN, NOT_JUDGED, USES_LEFT_OUT, SEE_FINDINGS)
"""``status``: the balance verdicts (``mismatch``, ``overdrawn``, both joined by '; '),
else ``not judged`` (its Id, TotalCredit or RemainingCredit failed or is missing),
``uses left out`` (a use of it failed its schema, so the sum is incomplete), ``see
findings`` (the tie-out holds but findings name the credit), or ``balanced``."""


def credit_reconciliation(result: AuditResult) -> pd.DataFrame:
    """One row per CoworkerBookingCredit, in snapshot order (``RECONCILIATION_COLUMNS``).

    ``total_credit - remaining_credit - uses_sum == difference`` to the unit; an amount
    that is unusable (missing, or failed its schema) is NaN, and so is a difference
    that cannot be worked out.
    """
    frame = result.snapshot.frame(CREDIT)
    derived = result.derived
    balances = derived.credit_balances
    usable = derived.known(CREDIT, "Id")
    uses_sum = np.where(usable, balances.spent, 0)
    difference = balances.total - balances.remaining - uses_sum
    findings_per_credit, rules_per_credit = _findings_of_credits(result, frame["Id"])

    def amount(units: np.ndarray, known: np.ndarray) -> pd.Series:
        return pd.Series(money.to_float(units, derived.scale), dtype="float64").where(known)

    def field(name: str) -> pd.Series:
        if name not in frame:
            return pd.Series([None] * len(frame), dtype=object)
        return frame[name].reset_index(drop=True)

    return pd.DataFrame(
        {
            "id": field("Id"),
            "coworker_id": field("CoworkerId"),
            "business_id": field("BusinessId"),
            "location": field("BusinessName"),
            "description": field("Description"),
            "currency": field("BusinessCurrencyCode"),
            "valid_from": field("ValidFrom"),
            "expire_date": field("ExpireDate"),
            "total_credit": amount(balances.total, balances.total_known),
            "remaining_credit": amount(balances.remaining, balances.remaining_known),
            "uses": pd.Series(np.where(usable, balances.ledger.counted, 0), dtype="int64"),
            "uses_sum": amount(uses_sum, usable),
            "difference": amount(difference, balances.judged),
            "findings": pd.Series(findings_per_credit, dtype="int64"),
            "rules": pd.Series(rules_per_credit, dtype=object),
            "status": pd.Series(credit_status(result, findings_per_credit), dtype=object),
        },
        columns=list(RECONCILIATION_COLUMNS),
    )


def credit_status(result: AuditResult, findings_per_credit: np.ndarray) -> np.ndarray:
    """Each credit's ``status`` (see ``STATUSES``), from the rules' own verdicts."""
    balances = result.derived.credit_balances
    # The first that holds, as a code into _STATUS_TEXTS: no string per credit is built.
    code = np.select(
        [
            balances.mismatch & balances.overdrawn,
            balances.mismatch,
            balances.overdrawn,
            ~balances.judged,
            balances.ledger.left_out > 0,
            findings_per_credit > 0,
        ],
        np.arange(6),
        default=6,
    )
    return _STATUS_TEXTS[code]


_STATUS_TEXTS = np.array(
    [
        f"{MISMATCH}; {OVERDRAWN}",
        MISMATCH,
        OVERDRAWN,
        NOT_JUDGED,
        USES_LEFT_OUT,
        SEE_FINDINGS,
        BALANCED,
    ],
    dtype=object,
)


def reconciliation_subtotals(
    result: AuditResult, reconciliation: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Totals per location (``BusinessId``) and currency, then one total row per currency
    (``business_id`` "total"): sums of exact units, never across currencies.

    Each credit Id counts once (its first row); amounts that are unusable count as 0 and
    ``not_balanced`` counts the credits whose status is not ``balanced``: the status of
    ``reconciliation`` (``credit_reconciliation`` of the same result) when given, else
    worked out here the same way.
    """
    frame = result.snapshot.frame(CREDIT)
    derived = result.derived
    balances = derived.credit_balances
    usable = derived.known(CREDIT, "Id")
    first = derived.first_rows(CREDIT) == np.arange(len(frame))
    if reconciliation is not None:
        status = reconciliation["status"].to_numpy(dtype=object)
    else:
        findings_per_credit, _ = _findings_of_credits(result, frame["Id"])
        status = credit_status(result, findings_per_credit)
    units = pd.DataFrame(
        {
            "business_id": frame["BusinessId"],
            "currency": _text(frame, "BusinessCurrencyCode"),
            "credits": np.ones(len(frame), dtype=np.int64),
            "total_credit": np.where(balances.total_known, balances.total, 0),
            "remaining_credit": np.where(balances.remaining_known, balances.remaining, 0),
            "uses_sum": np.where(usable, balances.spent, 0),
            "difference": np.where(balances.judged, balances.difference, 0),
            "not_balanced": (status != BALANCED).astype(np.int64),
        }
    )[first]
    units["business_id"] = _id_texts(units["business_id"])
    sums = ["credits", "total_credit", "remaining_credit", "uses_sum", "difference"]
    sums.append("not_balanced")
    by_location = units.groupby(["business_id", "currency"], sort=False)[sums].sum().reset_index()
    by_location = by_location.sort_values(
        ["business_id", "currency"],
        key=lambda column: column.map(_location_key) if column.name == "business_id" else column,
    )
    totals = units.groupby("currency", sort=True)[sums].sum().reset_index()
    totals.insert(0, "business_id", "total")
    table = pd.concat([by_location, totals], ignore_index=True)
    for name in ("total_credit", "remaining_credit", "uses_sum", "difference"):
        # float64, as the workpaper's sheets take it (an amount no double holds is its
        # nearest float here; findings and messages carry it exactly).
        table[name] = np.asarray(money.to_float(table[name].to_numpy(), derived.scale), float)
    return table[list(SUBTOTAL_COLUMNS)]


def _findings_of_credits(result: AuditResult, ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """For each credit row: how many findings name its Id, and their rules joined by ', '."""
    named = result.findings[["credit_id", "rule"]].dropna(subset=["credit_id"])
    keys = ids.to_numpy(dtype=np.int64, na_value=np.iinfo(np.int64).min)
    if not len(named):
        return np.zeros(len(ids), dtype=np.int64), np.full(len(ids), "", dtype=object)
    credit_ids = named["credit_id"].to_numpy(dtype=np.int64)
    counts = pd.Series(credit_ids).value_counts()
    rules = (
        named.assign(credit_id=credit_ids)
        .drop_duplicates()
        .sort_values(["credit_id", "rule"])
        .groupby("credit_id", sort=False)["rule"]
        .agg(", ".join)
    )
    per_row = counts.reindex(keys).fillna(0).to_numpy(dtype=np.int64)
    rules_per_row = rules.reindex(keys).fillna("").to_numpy(dtype=object)
    return per_row, rules_per_row


def _id_texts(ids: pd.Series) -> np.ndarray:
    """Each Id's decimal text, "" for none (Arrow's cast: no Python call per credit)."""
    texts = pc.fill_null(pc.cast(pa.array(ids), pa.string()), "")
    return texts.to_numpy(zero_copy_only=False)


def _text(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), "", dtype=object)
    return frame[name].astype(object).fillna("").to_numpy(dtype=object)


def _location_key(key: str) -> tuple[int, int, str]:
    """Locations in numeric order of their Id; none (empty) last."""
    if key == "":
        return (2, 0, "")
    return (0, int(key), "") if key.lstrip("-").isdigit() else (1, 0, key)
