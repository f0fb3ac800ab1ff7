"""The one context every report format renders from, built from an audit result.

Templates are fed plain data (lists and dicts), never frames. What only one
format needs is computed only when that format is asked for: a million credits
reconciled cost seconds. Where each finding is (its credit or allowance row, the
location and currency) comes from the audit's own parent rows
(``Derived.credit_row_of_use``, ``allowance_row_of_use``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import findings as findings_module
from ..derived import NO_ROW, take
from ..entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE
from .formats import FORMATS

if TYPE_CHECKING:
    from ..audit import AuditResult

HTML_ROW_LIMIT = 2_000
"""Findings listed in report.html; all of them are in findings.json."""
MARKDOWN_ROW_LIMIT = 50
"""Findings listed in report.md (a CI step summary has little room)."""
NO_KEY = np.iinfo(np.int64).min
"""Stands for a null Id in integer look-ups; no Id equals it."""


def build_context(
    result: AuditResult, formats: Iterable[str] = tuple(FORMATS), *, title: str | None = None
) -> dict[str, Any]:
    """The context of ``result`` for ``formats``; ``title`` names the run (see ``title_of``)."""
    from ..reconciliation import credit_reconciliation, reconciliation_subtotals
    from .html import LazyHtmlContext

    formats = tuple(formats)
    records = findings_records(result.findings)
    context: dict[str, Any] = {
        "summary": result.summary,
        "findings": records,
        "title": title_of(result.summary, title),
        "gate": gate(result.summary),
        "since": since_baseline(result.summary, records),
        "materiality": materiality_view(result),
        "result": result,
        "close": None,  # what a close shows first (recon.bundle.presentation sets it)
    }
    if "html" in formats:
        context["html"] = LazyHtmlContext(result, records, HTML_ROW_LIMIT)
    if "xlsx" in formats:
        context["reconciliation"] = credit_reconciliation(result)
        context["subtotals"] = reconciliation_subtotals(result, context["reconciliation"])
    return context


def title_of(summary: dict[str, Any], name: str | None = None) -> str:
    """What every report is titled: the run's name (default ``recon audit of <snapshot>``),
    and for a fetched snapshot where and when it was fetched, and its locations if scoped."""
    title = name or f"recon audit of {summary['snapshot']['name']}"
    manifest = summary["snapshot"].get("manifest")
    if isinstance(manifest, dict):
        source = manifest.get("base_url")
        when = manifest.get("fetch_finished") or manifest.get("fetch_started")
        facts = [f"from {source}" if isinstance(source, str) else ""]
        facts.append(f"fetched {when[:10]}" if isinstance(when, str) else "")
        scope = manifest.get("scope")
        locations = scope.get("locations") if isinstance(scope, dict) else None
        if isinstance(locations, list) and locations:
            word = "location" if len(locations) == 1 else "locations"
            facts.append(f"{word} {', '.join(map(str, locations))}")
        facts = [fact for fact in facts if fact]
        if facts:
            title += " (" + ", ".join(facts) + ")"
    return title


def gate(summary: dict[str, Any]) -> dict[str, Any]:
    """The verdict as every report states it: failed, passed, or not gated at all.

    ``--fail-on never`` turns the gate off: the reports then never say PASS, but how many
    errors and warnings there are and that nothing was gated.
    """
    counts = summary["by_severity"]
    if summary["fail_on"] == "never":
        state, label = "off", "NOT GATED"
    elif summary["status"] == "fail":
        state, label = "fail", "FAIL"
    else:
        state, label = "pass", "PASS"
    only_new = bool(summary.get("gate", {}).get("only_new"))
    reached = [
        entry["currency"]
        for entry in summary.get("materiality", {}).get("by_currency", [])
        if entry["standing"] == "reaches_overall"
    ]
    return {
        "state": state,
        "label": label,
        "only_new": only_new,
        "errors": counts["error"],
        "warnings": counts["warning"],
        "info": counts["info"],
        "fail_on": summary["fail_on"],
        "exit_code": summary["exit_code"],
        "material": summary["fail_on"] == "material",
        "reached": reached,
    }


def materiality_view(result: AuditResult) -> dict[str, Any]:
    """The findings' money per currency as the audit computed it (``AuditResult.materiality``,
    the same as ``summary["materiality"]``), with the words every report shows: ``shown``
    is False when no finding moves money and the rule set sets no thresholds."""
    described = result.materiality.describe()
    rows = [
        {
            **entry,
            "label": entry["currency"] or "(no currency)",
            "standing_text": _STANDING_TEXT.get(entry["standing"], "no thresholds"),
        }
        for entry in described["by_currency"]
    ]
    waived = sum(entry["waived"]["count"] for entry in rows)
    return {
        **described,
        "by_currency": rows,
        "waived": waived,
        "shown": bool(rows) or described["configured"],
        "gated": result.summary["fail_on"] == "material",
    }


_STANDING_TEXT = {
    "below_performance": "below performance",
    "reaches_performance": "reaches performance",
    "reaches_overall": "reaches overall",
}


def since_baseline(summary: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """What changed since the baseline run, for the section every report opens with: the
    new and updated findings, most severe first, and the counts (None without one)."""
    baseline = summary.get("baseline")
    if not baseline:
        return {"given": False}
    rank = {"error": 0, "warning": 1, "info": 2}
    changed = [record for record in records if record["baseline"] in ("new", "updated")]
    changed.sort(key=lambda record: (rank.get(record["severity"], 3), record["rule"]))
    return {
        "given": True,
        "file": baseline["file"],
        "as_of": baseline["as_of"],
        "new": baseline["new"],
        "updated": baseline["updated"],
        "unchanged": baseline["unchanged"],
        "resolved": len(baseline["resolved"]),
        "findings": changed,
    }


def findings_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The findings as JSON-ready dicts, in ``findings.COLUMNS`` order."""
    columns = {
        name: [
            findings_module.from_json_text(value)
            if name in findings_module.JSON_TEXT_COLUMNS
            else None
            if _missing(value)
            else findings_module.json_value(value)
            for value in frame[name].astype(object)
        ]
        for name in findings_module.COLUMNS
    }
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def _missing(value: Any) -> bool:
    """A null, as pandas may hold it in a text column (None, NA or NaN): JSON null."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def places(result: AuditResult) -> pd.DataFrame:
    """Where each finding is, aligned with ``result.findings``: the row of its credit and of
    its allowance (``NO_ROW`` when none), its location (``BusinessId``, ``NO_KEY`` when
    unknown), its member (the credit's or allowance's ``CoworkerId``) and its currency
    (None when unknown).

    A credit's are its own; a use's are its credit's, by the rules' own parent rows; an
    allowance's location is its ``BusinessId`` when the snapshot carries one (allowances
    count quantities, not money, so they have no currency).
    """
    found, snapshot, derived = result.findings, result.snapshot, result.derived
    entity = found["entity"].to_numpy(dtype=object)
    position = found["row"].to_numpy(dtype=np.int64) - 1
    credit_row = np.full(len(found), NO_ROW, dtype=np.int64)
    allowance_row = np.full(len(found), NO_ROW, dtype=np.int64)
    for parent, child, rows in (
        (CREDIT, CREDIT_USE, credit_row),
        (ALLOWANCE, ALLOWANCE_USE, allowance_row),
    ):
        if parent in snapshot:
            mine = entity == parent.name
            rows[mine] = position[mine]
            if child in snapshot:
                mine = entity == child.name
                # row 0 (position -1, which take() maps to NO_ROW): a finding on no record
                # of this snapshot (a use deleted after a close) has no credit row here.
                rows[mine] = take(derived.parent_rows(child), position[mine], NO_ROW)

    business = np.full(len(found), NO_KEY, dtype=np.int64)
    member = np.full(len(found), NO_KEY, dtype=np.int64)
    currency = np.full(len(found), None, dtype=object)
    if CREDIT in snapshot:
        credits = snapshot.frame(CREDIT)
        business = take(ids_or_none(credits["BusinessId"]), credit_row, NO_KEY)
        member = take(ids_or_none(credits["CoworkerId"]), credit_row, NO_KEY)
        currency = take(column_at(credits, "BusinessCurrencyCode"), credit_row, None)
    if ALLOWANCE in snapshot and "BusinessId" in snapshot.frame(ALLOWANCE):
        allowance_business = take(
            ids_or_none(snapshot.frame(ALLOWANCE)["BusinessId"]), allowance_row, NO_KEY
        )
        business = np.where(allowance_row != NO_ROW, allowance_business, business)
    if ALLOWANCE in snapshot and "CoworkerId" in snapshot.frame(ALLOWANCE):
        allowance_member = take(
            ids_or_none(snapshot.frame(ALLOWANCE)["CoworkerId"]), allowance_row, NO_KEY
        )
        member = np.where(allowance_row != NO_ROW, allowance_member, member)
    return pd.DataFrame(
        {
            "business": business,
            "member": member,
            "currency": currency,
            "credit_row": credit_row,
            "allowance_row": allowance_row,
            "severity": found["severity"].to_numpy(dtype=object),
        }
    )


def ids_or_none(values: pd.Series) -> np.ndarray:
    """int64 of an Id column, ``NO_KEY`` for null or for what is not an integer."""
    if not pd.api.types.is_integer_dtype(values.dtype):
        values = pd.to_numeric(values, errors="coerce")
        values = values.where(values == values.round()).astype("Int64")
    return values.to_numpy(dtype=np.int64, na_value=NO_KEY)


def column_at(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A free text column as an object array (None where absent or null)."""
    if name not in frame:
        return np.full(len(frame), None, dtype=object)
    return frame[name].astype(object).to_numpy(dtype=object, na_value=None)
