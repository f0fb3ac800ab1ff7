"""report.html: the audit for people, with the evidence of every finding it lists.

``render`` fills ``reports/report.html`` from the shared context and what only the
page needs (``html_context``): where the findings are (by location and currency),
the SVG charts (``charts``), and the evidence of each listed finding
(``evidence``). ``LazyHtmlContext`` computes that on first access, so a run that
writes no report.html pays nothing. Everything computed over all findings or the
whole snapshot is vectorised; only the findings the page lists, at most
``row_limit`` of them, become plain dicts one by one.

The page's script is a static file beside the template (``reports/report.js``). It is
handed to the template as ``Markup`` (it is ours, not data) together with its SHA-256,
which the page's Content-Security-Policy names: no other script, and no network access,
is allowed to run in the page, whatever the data holds.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..entities import BY_NAME, CREDIT
from ..exitcodes import Severity
from ..resources import templates_dir
from . import context as report_context
from .charts import Series, month_chart, monthly, rule_chart
from .context import NO_KEY, places
from .evidence import FindingEvidence, amount_text
from .templates import render_template

if TYPE_CHECKING:
    from ..audit import AuditResult

SEVERITIES: tuple[str, ...] = tuple(severity.value for severity in Severity)


def render(context: dict[str, Any]) -> str:
    return render_template("report.html", context, row_limit=report_context.HTML_ROW_LIMIT)


def html_context(
    result: AuditResult, records: list[dict[str, Any]], row_limit: int
) -> dict[str, Any]:
    """What report.html needs beyond ``summary`` and ``findings``, as plain data.

    The findings listed are the most severe first, then by rule (findings.json keeps
    the canonical order); ``rows`` keep each one's index in findings.json.
    """
    where = places(result)
    order = sorted(
        range(len(records)),
        key=lambda i: (Severity(records[i]["severity"]).rank, records[i]["rule"], i),
    )[:row_limit]
    shown = [records[i] for i in order]
    shown_places = where.iloc[order].reset_index(drop=True)
    locations = _Locations.of(result)
    by_month = monthly(result)
    return {
        "script": _script()[0],
        "script_hash": _script()[1],
        "total": len(records),
        "shown": len(shown),
        "manifest": _manifest(result.summary["snapshot"]["manifest"]),
        "rule_chart": rule_chart(result.summary["rules"]),
        "by_location": _by_location(where, locations),
        "by_currency": _by_currency(where, by_month),
        "monthly": [month_chart(currency, series) for currency, series in by_month.items()],
        "rows": _rows(result, shown, order, shown_places, locations),
        "members": _members(shown_places),
    }


class LazyHtmlContext(Mapping[str, Any]):
    """``html_context(result, records, row_limit)``, computed on first access."""

    def __init__(self, result: AuditResult, records: list[dict[str, Any]], row_limit: int):
        self._arguments = (result, records, row_limit)

    @functools.cached_property
    def _context(self) -> dict[str, Any]:
        return html_context(*self._arguments)

    def __getitem__(self, key: str) -> Any:
        return self._context[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._context)

    def __len__(self) -> int:
        return len(self._context)


# --- where the findings are ------------------------------------------------------------


@dataclass(frozen=True)
class _Locations:
    """What the credits say about each location (BusinessId): its name, currencies, credits."""

    names: dict[int, str]
    currencies: dict[int, str]
    credits: dict[int, int]

    @classmethod
    def of(cls, result: AuditResult) -> _Locations:
        if CREDIT not in result.snapshot:
            return cls({}, {}, {})
        frame = result.snapshot.frame(CREDIT)
        # Grouped on the Arrow columns as they are: no million-row conversion to objects.
        business = frame["BusinessId"]
        credits = business.value_counts(dropna=True)
        names = {}
        if "BusinessName" in frame:
            names = frame.groupby("BusinessId", sort=False)["BusinessName"].first().dropna()
        pairs = frame[["BusinessId", "BusinessCurrencyCode"]].dropna().drop_duplicates()
        currencies = (
            pairs.sort_values("BusinessCurrencyCode")
            .groupby("BusinessId", sort=False)["BusinessCurrencyCode"]
            .agg(lambda codes: ", ".join(map(str, codes)))
        )
        return cls(
            names={int(key): str(value) for key, value in dict(names).items()},
            currencies={int(key): str(value) for key, value in currencies.items()},
            credits={int(key): int(value) for key, value in credits.items()},
        )


def _by_location(places: pd.DataFrame, locations: _Locations) -> list[dict[str, Any]]:
    counts = _severity_counts(places, "business")
    rows = []
    for business, row in counts.iterrows():
        known = business != NO_KEY
        rows.append(
            {
                "business": str(business) if known else "",
                "name": locations.names.get(business, "") if known else "no location known",
                "currency": locations.currencies.get(business, ""),
                "credits": locations.credits.get(business, 0),
                **{severity: int(row[severity]) for severity in SEVERITIES},
                "total": int(row["total"]),
            }
        )
    return rows


def _by_currency(places: pd.DataFrame, monthly: dict[str, Series]) -> list[dict[str, Any]]:
    keyed = places.assign(currency=places["currency"].fillna(""))
    counts = _severity_counts(keyed, "currency")
    rows = []
    for currency in sorted(set(counts.index) | set(monthly), key=lambda code: (code == "", code)):
        row = counts.loc[currency] if currency in counts.index else None
        series = monthly.get(currency)
        rows.append(
            {
                "currency": currency or "no currency",
                **{s: int(row[s]) if row is not None else 0 for s in SEVERITIES},
                "total": int(row["total"]) if row is not None else 0,
                "issued": amount_text(series.issued.sum(), series.scale) if series else "",
                "consumed": amount_text(series.consumed.sum(), series.scale) if series else "",
            }
        )
    return rows


def _severity_counts(places: pd.DataFrame, key: str) -> pd.DataFrame:
    """Findings per ``key`` and severity, with a total, most findings first."""
    counts = pd.crosstab(places[key], places["severity"])
    counts = counts.reindex(columns=list(SEVERITIES), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    order = np.lexsort((counts.index.to_numpy(dtype=object).astype(str), -counts["total"]))
    return counts.iloc[order]


# --- the findings listed, each with its evidence -------------------------------------


def _rows(
    result: AuditResult,
    shown: list[dict[str, Any]],
    positions: list[int],
    places: pd.DataFrame,
    locations: _Locations,
) -> list[dict[str, Any]]:
    """The findings listed, each with its place, its evidence, and its position in
    findings.json (``index``)."""
    names = locations.names
    businesses = places["business"].to_numpy()
    members = places["member"].to_numpy()
    currencies = places["currency"].to_numpy(dtype=object)
    rows = []
    evidence = FindingEvidence(result, shown, places)
    for index, finding in enumerate(shown):
        business, currency = int(businesses[index]), currencies[index]
        currency = currency if isinstance(currency, str) else ""
        location = ""
        if business != NO_KEY:
            name = names.get(business)
            location = f"{name} ({business})" if name else str(business)
        member = int(members[index])
        rows.append(
            {
                "index": positions[index],
                "business": str(business) if business != NO_KEY else "",
                "member": str(member) if member != NO_KEY else "",
                "severity": finding["severity"],
                "icon": _ICONS[finding["severity"]],
                "rank": SEVERITIES.index(finding["severity"]),
                "rule": finding["rule"],
                "entity": finding["entity"],
                "entity_short": _short(finding["entity"]),
                "record": _plain(finding["record_id"]),
                "record_sort": finding["record_id"] if finding["record_id"] is not None else "",
                "row": finding["row"],
                "credit": _plain(finding["credit_id"]),
                "location": location,
                "currency": currency,
                "field": finding["field"] or "",
                "message": finding["message"],
                "expected": _plain(finding["expected"]),
                "actual": _plain(finding["actual"]),
                "waiver": finding.get("waiver") or "",
                "change": finding.get("baseline") or "",
                "impact": (
                    f"{finding['impact']} {finding.get('currency') or '(no currency)'}"
                    if finding.get("impact")
                    else ""
                ),
                "evidence": evidence.of(index, finding),
            }
        )
    return rows


# --- the manifest, the script ----------------------------------------------------------

_MANIFEST_KEYS = (
    ("base_url", "fetched from"),
    ("filters", "filters"),
    ("scope", "scope"),
    ("since", "changes since"),
    ("fetch_started", "fetch started"),
    ("fetch_finished", "fetch finished"),
    ("recon_version", "by recon"),
    ("requests", "requests"),
    ("retries", "retried"),
    ("throttled", "throttled"),
    ("resumed", "resumed"),
    ("find_deletions", "deletions looked for"),
)


def _manifest(manifest: dict[str, Any] | None) -> list[dict[str, str]] | None:
    """The manifest's facts an auditor reads first, as label and text."""
    if manifest is None:
        return None
    facts = []
    for key, label in _MANIFEST_KEYS:
        if key in manifest and manifest[key] not in (None, {}, []):
            value = manifest[key]
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            facts.append({"label": label, "value": text})
    entities = manifest.get("entities")
    for name, entry in entities.items() if isinstance(entities, dict) else ():
        notes = entry.get("notes") if isinstance(entry, dict) else None
        if isinstance(notes, list) and notes:
            facts.append({"label": f"{name} notes", "value": "; ".join(map(str, notes))})
    return facts


@functools.cache
def _script() -> tuple[Markup, str]:
    """The page's script and the CSP hash of it."""
    text = (templates_dir() / "report.js").read_text(encoding="utf-8")
    if "</" in text or "<!--" in text:
        raise ValueError("report.js must not contain '</' or '<!--': it is inlined in a <script>")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Markup(text), f"sha256-{digest}"


_ICONS = {"error": "\u2716", "warning": "\u25b2", "info": "\u2139"}
"""Each severity's mark beside its label, so error and warning differ by more than hue."""


def _members(places: pd.DataFrame) -> list[str]:
    """The members (CoworkerId) of the findings listed, for the page's member filter."""
    known = np.unique(places["member"].to_numpy()[places["member"].to_numpy() != NO_KEY])
    return [str(member) for member in known.tolist()]


def _short(name: str) -> str:
    entity = BY_NAME.get(name)
    return entity.short if entity is not None else name


def _plain(value: Any) -> str:
    return "" if value is None else str(value)
