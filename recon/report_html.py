"""What report.html shows beyond the shared context: where the findings are, what the
ledgers did month by month, the geometry of the page's SVG charts, and the evidence
for each finding the page lists.

``report.build_context`` holds a ``LazyHtmlContext``: ``html_context`` runs the first time
the template reads it, so a run that writes no report.html pays nothing. Everything computed over
all findings or the whole snapshot (locations, currencies, monthly sums) is vectorised
pandas and numpy; only the findings the page lists, at most ``row_limit`` of them, are
turned one by one into plain dicts. Amounts are summed in exact integer units
(``recon.money``) and shown as fixed-point text, never as float sums.

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
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from . import money
from .audit import AuditResult
from .checks import text
from .checks.context import Ledger
from .entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE, Entity
from .fields import BOOKING_LINKS
from .resources import templates_dir

SEVERITIES: tuple[str, ...] = ("error", "warning", "info")

LEDGER_ROW_LIMIT = 200
"""Uses listed in one credit's evidence; the arithmetic always covers all of them."""
MONTHS_SHOWN = 48
"""The longest continuous month axis; a longer span shows only the months with data."""

# Which evidence each rule's findings get; any other rule (schema_violation,
# duplicate_record, a rule added later) gets the record itself.
_LEDGER_RULES = frozenset({"balance_mismatch", "overdrawn_credit"})
_ALLOWANCE_LEDGER_RULES = frozenset({"extra_service_balance_mismatch"})
_WINDOW_RULES = frozenset(
    {"expired_credit_use", "premature_credit_use", "extra_service_expired_use"}
)
_LINK_RULES = frozenset(
    {
        "orphan_use",
        "unlinked_use",
        "manual_adjustment",
        "multi_linked_use",
        "ineligible_use",
        "non_positive_use",
        "denormalisation_mismatch",
        "extra_service_unlinked",
        "extra_service_orphan",
    }
)
_SHORT_NAMES = {
    CREDIT.name: "credit",
    CREDIT_USE.name: "use",
    ALLOWANCE.name: "allowance",
    ALLOWANCE_USE.name: "allowance use",
}
_COLUMN_KINDS = {"Id": "num", "CreatedOn": "time", "UpdatedOn": "time"}
_MONEY_FIELDS = frozenset({"TotalCredit", "RemainingCredit", "CreditUsed"})
_QUANTITY_FIELDS = frozenset({"TotalUses", "RemainingUses"})
_NO_KEY = np.iinfo(np.int64).min  # stands for a null Id in integer lookups; no Id equals it
_NAT = np.datetime64("NaT", "us")
_ONE_DAY = np.timedelta64(1, "D")


def html_context(
    result: AuditResult, records: list[dict[str, Any]], row_limit: int
) -> dict[str, Any]:
    """What report.html needs beyond ``summary`` and ``findings``, as plain data."""
    ledgers = _Ledgers(result)
    places = _places(result, ledgers)
    locations = _Locations.of(result)
    monthly = _monthly(result, ledgers)
    shown = records[:row_limit]
    return {
        "script": _script()[0],
        "script_hash": _script()[1],
        "total": len(records),
        "shown": len(shown),
        "manifest": _manifest(result.summary["snapshot"]["manifest"]),
        "rule_chart": _rule_chart(result.summary["rules"]),
        "by_location": _by_location(places, locations),
        "by_currency": _by_currency(result, places, monthly),
        "monthly": [_month_chart(currency, series) for currency, series in monthly.items()],
        "rows": _rows(result, shown, places, ledgers, locations),
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


# --- where each finding is -------------------------------------------------------------


def _places(result: AuditResult, ledgers: _Ledgers) -> pd.DataFrame:
    """Location (BusinessId) and currency of every finding, aligned with ``result.findings``.

    A credit's are its own; a use's are its credit's; an allowance's location is its
    ``BusinessId`` when the snapshot carries one, and allowances count minutes, not money.
    """
    found, snapshot = result.findings, result.snapshot
    entity = found["entity"].to_numpy(dtype=object)
    position = found["row"].to_numpy(dtype=np.int64) - 1
    credit_row = np.full(len(found), -1, dtype=np.int64)
    allowance_row = np.full(len(found), -1, dtype=np.int64)
    if CREDIT in snapshot:
        mine = entity == CREDIT.name
        credit_row[mine] = position[mine]
        if CREDIT_USE in snapshot:
            mine = entity == CREDIT_USE.name
            keys = snapshot.frame(CREDIT_USE)["CoworkerBookingCreditId"].iloc[position[mine]]
            credit_row[mine] = ledgers.credits.rows(keys)
    if ALLOWANCE in snapshot:
        mine = entity == ALLOWANCE.name
        allowance_row[mine] = position[mine]
        if ALLOWANCE_USE in snapshot and ledgers.allowances is not None:
            mine = entity == ALLOWANCE_USE.name
            keys = snapshot.frame(ALLOWANCE_USE)["CoworkerExtraServiceId"].iloc[position[mine]]
            allowance_row[mine] = ledgers.allowances.rows(keys)

    business = np.full(len(found), _NO_KEY, dtype=np.int64)
    currency = np.full(len(found), None, dtype=object)
    if CREDIT in snapshot:
        credits = snapshot.frame(CREDIT)
        hit = credit_row >= 0
        business[hit] = _ints(credits["BusinessId"]).take(credit_row[hit])
        currency[hit] = _column_at(credits, "BusinessCurrencyCode", credit_row[hit])
    if ALLOWANCE in snapshot and "BusinessId" in snapshot.frame(ALLOWANCE):
        hit = allowance_row >= 0
        business[hit] = _ints(snapshot.frame(ALLOWANCE)["BusinessId"]).take(allowance_row[hit])
    return pd.DataFrame(
        {
            "business": business,
            "currency": currency,
            "credit_row": credit_row,
            "allowance_row": allowance_row,
            "severity": found["severity"].to_numpy(dtype=object),
        }
    )


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
        known = business != _NO_KEY
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


def _by_currency(
    result: AuditResult, places: pd.DataFrame, monthly: dict[str, _Series]
) -> list[dict[str, Any]]:
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
                "issued": _amount(series.issued.sum()) if series is not None else "",
                "consumed": _amount(series.consumed.sum()) if series is not None else "",
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


# --- credit issued and consumed, by month and currency ------------------------------------


def _monthly(result: AuditResult, ledgers: _Ledgers) -> dict[str, _Series]:
    """Per currency code ('' when the credit has none): issued and consumed units by month.

    Issued is ``TotalCredit`` in the month of the credit's ``ValidFrom`` (``CreatedOn`` when it
    has none); consumed is ``CreditUsed`` in the month of the use's usage time, the uses a
    balance counts (each use Id once, amounts that passed their schema).
    """
    snapshot = result.snapshot
    if CREDIT not in snapshot:
        return {}
    credits = snapshot[CREDIT]
    frame = credits.frame
    # Currencies as small integer codes (the last one for none): grouping ten million uses
    # by a string column would cost seconds.
    codes, names = pd.factorize(frame["BusinessCurrencyCode"], use_na_sentinel=True)
    codes = np.where(codes < 0, len(names), codes).astype(np.int64)
    labels = [str(name) for name in names] + [""]
    counted = (
        credits.valid("Id", "TotalCredit")
        & frame["Id"].notna().to_numpy()
        & frame["TotalCredit"].notna().to_numpy()
        & ~frame["Id"].duplicated(keep="first").to_numpy()
    )
    issued_at = _times(frame["ValidFrom"])
    issued_at = np.where(np.isnat(issued_at), _times(frame["CreatedOn"]), issued_at)
    issued = _sum_by_month(
        codes, issued_at, money.to_units(frame["TotalCredit"]), counted & ~np.isnat(issued_at)
    )
    uses = ledgers.credit_uses
    mine = uses.counted & (uses.parent >= 0) & ~np.isnat(uses.time)
    consumed = _sum_by_month(codes.take(np.maximum(uses.parent, 0)), uses.time, uses.units, mine)
    # Nullable integers: the outer join's gaps must not turn exact unit sums into floats.
    sums = pd.concat(
        [issued.astype("Int64").rename("issued"), consumed.astype("Int64").rename("consumed")],
        axis=1,
    ).fillna(0)
    series = {}
    for code, group in sums.groupby(level=0, sort=False):
        months = group.index.get_level_values(1).to_numpy(dtype=np.int64).astype("datetime64[M]")
        issued_units = group["issued"].to_numpy(dtype=np.int64)
        consumed_units = group["consumed"].to_numpy(dtype=np.int64)
        order = np.argsort(months)
        months, issued_units, consumed_units = (
            months[order],
            issued_units[order],
            consumed_units[order],
        )
        span = np.arange(months[0], months[-1] + 1)
        gaps = len(span) > len(months)
        if gaps and len(span) <= MONTHS_SHOWN:
            at = np.searchsorted(span, months)
            issued_units, consumed_units = (
                _spread(issued_units, at, span),
                _spread(consumed_units, at, span),
            )
            months, gaps = span, False
        series[labels[code]] = _Series(
            [str(month) for month in months], issued_units, consumed_units, gaps
        )
    return dict(sorted(series.items()))


def _sum_by_month(
    codes: np.ndarray, times: np.ndarray, units: np.ndarray, mask: np.ndarray
) -> pd.Series:
    """Exact sums of ``units`` where ``mask`` holds, by (currency code, month number).

    The groups are few (currencies times months), so one ``bincount`` sums them. Its
    float64 sums are exact while every partial sum stays below 2**53 units, which holds
    when the sum of magnitudes does; otherwise the integer groupby, slower, sums them.
    """
    months = times[mask].astype("datetime64[M]").astype(np.int64)
    codes, units = codes[mask], units[mask]
    if not len(months):
        return pd.Series([], index=pd.MultiIndex.from_arrays([[], []]), dtype=np.int64)
    first = months.min()
    width = int(months.max() - first + 1)
    keys = codes * width + (months - first)
    groups = int(keys.max()) + 1
    counts = np.bincount(keys, minlength=groups)
    present = np.flatnonzero(counts)
    if groups <= 10_000_000 and np.bincount(keys, np.abs(units), groups).max() < 2.0**53:
        sums = np.bincount(keys, units, groups)[present].astype(np.int64)
    else:
        sums = pd.Series(units).groupby(keys).sum().to_numpy(dtype=np.int64)
    index = pd.MultiIndex.from_arrays([present // width, present % width + first])
    return pd.Series(sums, index=index)


def _spread(values: np.ndarray, at: np.ndarray, span: np.ndarray) -> np.ndarray:
    """``values`` placed at positions ``at`` of a zero array as long as ``span``."""
    spread = np.zeros(len(span), dtype=np.int64)
    spread[at] = values
    return spread


@dataclass(frozen=True)
class _Series:
    """One currency's sums by month, in units; ``gaps`` when months without data are left out."""

    months: list[str]
    issued: np.ndarray
    consumed: np.ndarray
    gaps: bool


# --- chart geometry ---------------------------------------------------------------------

_RULE_CHART = {"width": 500, "label": 210, "bar": 250, "row": 22}
_MONTH_CHART = {"width": 720, "height": 240, "left": 72, "right": 12, "top": 12, "bottom": 34}


def _rule_chart(rules: list[dict[str, Any]]) -> dict[str, Any]:
    """Horizontal bars, findings by rule: most first, rules that did not run last."""
    geometry = _RULE_CHART
    ordered = sorted(
        rules, key=lambda rule: (rule["outcome"] != "ran", -rule["findings"], rule["rule"])
    )
    top = max([rule["findings"] for rule in rules] + [1])
    bars = []
    for index, rule in enumerate(ordered):
        width = geometry["bar"] * rule["findings"] / top
        ran = rule["outcome"] == "ran"
        bars.append(
            {
                "rule": rule["rule"],
                "severity": rule["severity"],
                "count": f"{rule['findings']:,}" if ran else rule["outcome"],
                "y": index * geometry["row"],
                "width": round(max(width, 1.5) if rule["findings"] else 0, 1),
                "title": (
                    f"{rule['rule']}: {rule['findings']:,} findings ({rule['severity']}) "
                    f"in {rule['evaluated']:,} records evaluated"
                    if ran
                    else f"{rule['rule']}: {rule['outcome']} ({rule['reason']})"
                ),
            }
        )
    return {
        **geometry,
        "bars": bars,
        "height": len(bars) * geometry["row"] + 4,
        "text_x": geometry["label"] - 8,
    }


def _month_chart(currency: str, series: _Series) -> dict[str, Any]:
    """Grouped bars per month, issued beside consumed, on a shared axis from zero."""
    g = _MONTH_CHART
    plot_width = g["width"] - g["left"] - g["right"]
    plot_height = g["height"] - g["top"] - g["bottom"]
    count = len(series.months)
    largest = max(int(series.issued.max()), int(series.consumed.max()), 0)
    top, step = _nice_axis(largest / money.SCALE)
    group = plot_width / max(count, 1)
    bar = min(group * 0.4, 26.0)
    label_every = max(1, math.ceil(count / 12))
    code = currency or "no currency code"

    def bar_of(kind: str, units: int, text: str, x: float, month: str) -> dict[str, Any]:
        # Net consumption can be negative (credit given back): drawn as nothing, told in the title.
        height = round(plot_height * max(units, 0) / money.SCALE / top, 1)
        return {
            "kind": kind,
            "x": round(x, 1),
            "y": round(g["top"] + plot_height - height, 1),
            "height": height,
            "title": f"{month}: {kind} {code} {text}",
        }

    issued_text = money.format_units(series.issued)
    consumed_text = money.format_units(series.consumed)
    months = []
    for index, month in enumerate(series.months):
        middle = g["left"] + group * (index + 0.5)
        months.append(
            {
                "label": month if index % label_every == 0 else "",
                "x": round(middle, 1),
                "bars": [
                    bar_of(
                        "issued", series.issued[index], issued_text[index], middle - bar - 1, month
                    ),
                    bar_of(
                        "consumed", series.consumed[index], consumed_text[index], middle + 1, month
                    ),
                ],
            }
        )
    ticks = [
        {"y": round(g["top"] + plot_height * (1 - value / top), 1), "label": _tick_label(value)}
        for value in np.arange(0, top + step / 2, step)
    ]
    return {
        **g,
        "currency": code,
        "bar": round(bar, 1),
        "plot_bottom": g["top"] + plot_height,
        "plot_right": g["width"] - g["right"],
        "label_y": g["top"] + plot_height + 16,
        "months": months,
        "ticks": ticks,
        "issued": _amount(series.issued.sum()),
        "consumed": _amount(series.consumed.sum()),
        "first": series.months[0],
        "last": series.months[-1],
        "gaps": series.gaps,
    }


def _nice_axis(largest: float) -> tuple[float, float]:
    """An axis top and tick step, 1, 2, 2.5 or 5 times a power of ten, about four ticks."""
    if largest <= 0:
        return 1.0, 0.25
    raw = largest / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return step * math.ceil(largest / step), step


def _tick_label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1_000:g}k"
    return f"{value:,.6g}"


# --- the findings listed, each with its evidence ------------------------------------------


def _rows(
    result: AuditResult,
    shown: list[dict[str, Any]],
    places: pd.DataFrame,
    ledgers: _Ledgers,
    locations: _Locations,
) -> list[dict[str, Any]]:
    names = locations.names
    businesses = places["business"].to_numpy()
    currencies = places["currency"].to_numpy(dtype=object)
    rows = []
    evidence = _Evidence(result, shown, places, ledgers)
    for index, finding in enumerate(shown):
        business, currency = int(businesses[index]), currencies[index]
        currency = currency if isinstance(currency, str) else ""
        location = ""
        if business != _NO_KEY:
            name = names.get(business)
            location = f"{name} ({business})" if name else str(business)
        rows.append(
            {
                "index": index,
                "severity": finding["severity"],
                "rank": SEVERITIES.index(finding["severity"]),
                "rule": finding["rule"],
                "entity": finding["entity"],
                "entity_short": _SHORT_NAMES.get(finding["entity"], finding["entity"]),
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
                "evidence": evidence.of(index, finding),
            }
        )
    return rows


def _evidence(
    kind: str, caption: str, fields: list[dict[str, Any]], **parts: Any
) -> dict[str, Any]:
    """One finding's evidence: every key present, so the template needs no guards.

    ``fields`` are ``{name, value, note, flag}`` (``flag`` marks what is at fault);
    ``arithmetic`` lines are ``{label, value, note, strong}``; ``table`` is a caption,
    columns and rows of cells, with ``more`` rows left out.
    """
    evidence = {"timeline": None, "arithmetic": None, "table": None, "empty": ""}
    evidence.update(parts)
    return {"kind": kind, "caption": caption, "fields": fields, **evidence}


def _field(name: str, value: str, note: str = "", *, flag: bool = False) -> dict[str, Any]:
    return {"name": name, "value": value, "note": note, "flag": flag}


class _Evidence:
    """The evidence of each finding listed, from the records of the snapshot."""

    def __init__(
        self,
        result: AuditResult,
        shown: list[dict[str, Any]],
        places: pd.DataFrame,
        ledgers: _Ledgers,
    ) -> None:
        self.snapshot = result.snapshot
        self.credit_rows = places["credit_row"].to_numpy()[: len(shown)].tolist()
        self.allowance_rows = places["allowance_row"].to_numpy()[: len(shown)].tolist()
        self.tolerance = result.ruleset.tolerance
        self.tolerance_units = money.tolerance_units(self.tolerance)
        # Records are fetched once per entity, for every finding listed, not row by row.
        self.records: dict[str, dict[int, dict[str, Any]]] = {}
        wanted: dict[Entity, set[int]] = {}
        for index, finding in enumerate(shown):
            wanted.setdefault(_entity(finding["entity"]), set()).add(finding["row"] - 1)
            if self.credit_rows[index] >= 0:
                wanted.setdefault(CREDIT, set()).add(self.credit_rows[index])
            if self.allowance_rows[index] >= 0:
                wanted.setdefault(ALLOWANCE, set()).add(self.allowance_rows[index])
        for entity, positions in wanted.items():
            self.records[entity.name] = _records(self.snapshot.frame(entity), sorted(positions))
        ledger_credits = [
            self.credit_rows[i]
            for i, f in enumerate(shown)
            if f["rule"] in _LEDGER_RULES and self.credit_rows[i] >= 0
        ]
        ledger_allowances = [
            self.allowance_rows[i]
            for i, f in enumerate(shown)
            if f["rule"] in _ALLOWANCE_LEDGER_RULES and self.allowance_rows[i] >= 0
        ]
        self.credit_ledgers = ledgers.credit_uses.tables(ledger_credits)
        self.allowance_ledgers = (
            ledgers.allowance_uses.tables(ledger_allowances) if ledgers.allowance_uses else {}
        )
        self.duplicates = _duplicates(self.snapshot, shown)

    def of(self, index: int, finding: dict[str, Any]) -> dict[str, Any]:
        rule, entity = finding["rule"], finding["entity"]
        record = self.records[entity][finding["row"] - 1]
        credit_row, allowance_row = self.credit_rows[index], self.allowance_rows[index]
        credit = self._parent(CREDIT, credit_row)
        allowance = self._parent(ALLOWANCE, allowance_row)
        if rule in _LEDGER_RULES:
            return self._ledger(record, credit_row, money_kind=True)
        if rule in _ALLOWANCE_LEDGER_RULES:
            return self._ledger(record, allowance_row, money_kind=False)
        if rule in _WINDOW_RULES:
            parent = credit if entity == CREDIT_USE.name else allowance
            return _window(record, parent, entity)
        if rule in _LINK_RULES:
            return _links(finding, record, credit, allowance)
        return self._record(finding, record)

    def _parent(self, entity: Entity, row: int) -> dict[str, Any] | None:
        return self.records[entity.name][int(row)] if row >= 0 else None

    def _ledger(self, parent: dict[str, Any], row: int, *, money_kind: bool) -> dict[str, Any]:
        if money_kind:
            total_name, remaining_name, what = "TotalCredit", "RemainingCredit", "credit"
            ledger = self.credit_ledgers.get(row)
        else:
            total_name, remaining_name, what = "TotalUses", "RemainingUses", "allowance"
            ledger = self.allowance_ledgers.get(row)
        fmt = _amount if money_kind else _quantity
        total, remaining = parent.get(total_name), parent.get(remaining_name)
        summed = ledger["units"] if ledger else 0
        counted = ledger["counted"] if ledger else 0
        lines = []
        if _is_number(total) and _is_number(remaining):
            t, r = _units(total), _units(remaining)
            difference = t - r - summed
            verdict = (
                f"more than the tolerance {self.tolerance:g}: a mismatch"
                if abs(difference) > self.tolerance_units
                else f"within the tolerance {self.tolerance:g}"
            )
            lines = [
                _line(total_name, fmt(t)),
                _line(f"minus {remaining_name}", fmt(r)),
                _line("= consumed, by the balance", fmt(t - r), strong=True),
                _line(f"sum of CreditUsed over its {counted:,} counted uses", fmt(summed)),
                _line("difference", fmt(difference), verdict, strong=True),
            ]
            if money_kind and r < 0:
                lines.append(_line("RemainingCredit", fmt(r), "below zero: overdrawn"))
            if money_kind and summed - t > self.tolerance_units:
                lines.append(
                    _line(
                        "uses over TotalCredit by",
                        fmt(summed - t),
                        "the uses spent more than the credit held",
                    )
                )
        else:
            lines = [
                _line(
                    f"{total_name} or {remaining_name}",
                    "?",
                    "failed its schema: see the schema_violation findings",
                )
            ]
        return _evidence(
            "ledger",
            f"The {what} and its ledger of uses",
            _fields(parent, _PARENT_FIELDS[what]),
            arithmetic=lines,
            table=ledger["table"] if ledger else None,
            empty="" if ledger else f"No use points at this {what}.",
        )

    def _record(self, finding: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        field, rule = finding["field"], finding["rule"]
        fields = []
        for name, value in record.items():
            if name == field and rule == "schema_violation":
                sent = json.dumps(finding["actual"], ensure_ascii=False, default=str)
                fields.append(_field(name, f"as sent: {sent}", "fails its schema", flag=True))
            elif name == field:
                fields.append(_field(name, _show(name, value), "repeated", flag=True))
            elif value is not None:
                fields.append(_field(name, _show(name, value)))
        table = None
        if rule == "duplicate_record":
            table = self.duplicates.get((finding["entity"], field, record.get(field)))
        return _evidence("record", "The record", fields, table=table)


_PARENT_FIELDS = {
    "credit": (
        "Id",
        "BusinessId",
        "BusinessName",
        "BusinessCurrencyCode",
        "CoworkerId",
        "Description",
        "ValidFrom",
        "ExpireDate",
        "TotalCredit",
        "RemainingCredit",
        "CaneBeUsedForBookings",
        "CaneBeUsedForEvents",
    ),
    "allowance": ("Id", "BusinessId", "ValidFrom", "ExpireDate", "TotalUses", "RemainingUses"),
}
_USE_LINK_FIELDS = (
    "CoworkerBookingCreditId",
    *BOOKING_LINKS,
    "CoworkerInvoiceLineCoworkerInvoiceId",
    "CreditUsed",
    "Description",
    "BookingFromTime",
    "BookingToTime",
    "BookingResourceName",
    "EventAttendeeCalendarEventName",
    "EventAttendeeEventProductName",
    "EventAttendeeFullName",
    "EventAttendeeEmail",
    "CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber",
    "CreatedOn",
    "UpdatedBy",
)
_ALLOWANCE_USE_LINK_FIELDS = (
    "CoworkerExtraServiceId",
    "BookingId",
    "CreditUsed",
    "BookingFromTime",
    "BookingToTime",
    "CreatedOn",
)
_DENORMALISED = "denormalisation_mismatch"
_ALWAYS_SHOWN = frozenset(
    {"CoworkerBookingCreditId", "CoworkerExtraServiceId", *BOOKING_LINKS, "Description"}
)


def _line(label: str, value: str, note: str = "", *, strong: bool = False) -> dict[str, Any]:
    return {"label": label, "value": value, "note": note, "strong": strong}


def _links(
    finding: dict[str, Any],
    record: dict[str, Any],
    credit: dict[str, Any] | None,
    allowance: dict[str, Any] | None,
) -> dict[str, Any]:
    rule = finding["rule"]
    names = _USE_LINK_FIELDS if finding["entity"] == CREDIT_USE.name else _ALLOWANCE_USE_LINK_FIELDS
    # The fields a denormalisation finding names are the ones that contradict the link.
    named = set(finding["message"].replace(",", " ").split()) if rule == _DENORMALISED else set()
    fields = []
    for name in names:
        value = record.get(name)
        if value is None and name not in _ALWAYS_SHOWN:
            continue
        note, flag = "", name in named
        if name in BOOKING_LINKS or name == "BookingId":
            note = "linked" if _positive(value) else "no link"
        elif name == "CoworkerBookingCreditId":
            note, flag = _parent_note(value, credit, "credit")
        elif name == "CoworkerExtraServiceId":
            note, flag = _parent_note(value, allowance, "allowance")
        fields.append(_field(name, _show(name, value), note, flag=flag))
    if rule == "ineligible_use" and credit is not None:
        for name in ("CaneBeUsedForBookings", "CaneBeUsedForEvents"):
            value = credit.get(name)
            fields.append(_field(f"credit's {name}", _show(name, value), flag=value is False))
    return _evidence("links", "The use's link fields", fields)


def _parent_note(value: Any, parent: dict[str, Any] | None, what: str) -> tuple[str, bool]:
    if value is None:
        return "empty", True
    if parent is None:
        none = " (0 is the API's 'none')" if value == 0 else ""
        return f"matches no {what} in the snapshot{none}", True
    return f"the {what} exists", False


def _window(use: dict[str, Any], parent: dict[str, Any] | None, entity: str) -> dict[str, Any]:
    """The parent's validity window beside the use's usage time, and a timeline of both."""
    what = "credit" if entity == CREDIT_USE.name else "allowance"
    if entity == CREDIT_USE.name and _positive(use.get("BookingId")) and use.get("BookingFromTime"):
        used, source = use["BookingFromTime"], "BookingFromTime"
    elif entity == CREDIT_USE.name:
        used, source = use.get("CreatedOn"), "CreatedOn"
    else:
        used, source = use.get("BookingFromTime"), "BookingFromTime"
    start = parent.get("ValidFrom") if parent else None
    expire = parent.get("ExpireDate") if parent else None
    end, end_note = expire, ""
    if expire is not None and expire == expire.normalize():
        end = expire + pd.Timedelta(days=1)
        end_note = f"midnight: covers all of {expire.date().isoformat()}"
    outside = True
    if used is not None and end is not None and used >= end:
        gap = f"{_duration(used - end)} after the window closed"
    elif used is not None and start is not None and used < start:
        gap = f"{_duration(start - used)} before the window opened"
    else:
        gap, outside = "inside the window", False
    rows = [
        _field(f"{what}'s ValidFrom", _show("ValidFrom", start)),
        _field(f"{what}'s ExpireDate", _show("ExpireDate", expire), end_note),
        _field(f"usage time ({source})", _show(source, used), gap, flag=outside),
    ]
    for name in ("BookingFromTime", "BookingToTime", "CreatedOn"):
        if name != source and use.get(name) is not None:
            rows.append(_field(name, _show(name, use[name])))
    return _evidence(
        "window",
        f"The {what}'s validity window beside the usage time",
        rows,
        timeline=_timeline(start, end, used),
    )


def _timeline(start: Any, end: Any, used: Any) -> dict[str, Any] | None:
    """A 400 x 28 strip: the window as a band, the usage time as a mark."""
    points = [value for value in (start, end, used) if value is not None]
    if used is None or len(points) < 2:
        return None
    low, high = min(points), max(points)
    pad = (high - low) * 0.12 or pd.Timedelta(days=1)
    low, high = low - pad, high + pad
    span = (high - low).total_seconds()

    def x(moment: Any) -> float:
        return round(8 + 384 * (moment - low).total_seconds() / span, 1)

    left = x(start) if start is not None else 0.0
    right = x(end) if end is not None else 400.0
    inside = (start is None or used >= start) and (end is None or used < end)
    return {
        "left": left,
        "width": round(max(right - left, 1.0), 1),
        "used": x(used),
        "inside": inside,
        "window_title": f"valid {_show('ValidFrom', start)} to {_show('ExpireDate', end)}",
        "used_title": f"used {_show('BookingFromTime', used)}",
    }


def _duplicates(snapshot: Any, shown: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """For each duplicate_record finding listed, the records sharing its Id or UniqueId.

    One vectorised ``isin`` per entity and key finds every record involved; only those few
    rows are then taken from the frame, once.
    """
    wanted: dict[tuple[str, str], set] = {}
    for finding in shown:
        if finding["rule"] == "duplicate_record" and finding["field"] in ("Id", "UniqueId"):
            wanted.setdefault((finding["entity"], finding["field"]), set()).add(finding["row"] - 1)
    tables: dict[tuple, dict[str, Any]] = {}
    for (entity_name, field), positions in wanted.items():
        frame = snapshot.frame(_entity(entity_name))
        columns = [name for name in ("Id", "UniqueId", "CreatedOn", "UpdatedOn") if name in frame]
        values = frame[field].iloc[sorted(positions)].dropna().unique()
        sharing = np.flatnonzero(frame[field].isin(values).to_numpy(dtype=bool, na_value=False))
        for position, record in _records(frame[columns], sharing.tolist()).items():
            key = (entity_name, field, record[field])
            table = tables.setdefault(
                key,
                {
                    "caption": f"Records with this {field}",
                    "columns": [{"name": "row", "kind": "num"}]
                    + [{"name": name, "kind": _COLUMN_KINDS.get(name, "text")} for name in columns],
                    "rows": [],
                    "more": 0,
                },
            )
            cells = [str(position + 1)] + [_show(name, record[name]) for name in columns]
            table["rows"].append({"cells": cells, "muted": False})
    return tables


# --- ledgers --------------------------------------------------------------------------


class _ChildLedger:
    """The uses of one kind of parent (credits or allowances), with what a balance counts."""

    def __init__(
        self,
        result: AuditResult,
        child: Entity,
        parents: _IdLookup,
        parent_rows: np.ndarray,
        ledger: Ledger,
        time: np.ndarray,
        describe: Callable[[pd.DataFrame], np.ndarray],
        formatter: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        data = result.snapshot[child]
        frame = data.frame
        self.frame = frame
        self.time = time
        self.describe = describe
        self.formatter = formatter
        self.parents = parents
        # The rules' own parent rows (the first row of each Id, NO_ROW = -1 for none) and
        # their own choice of what a balance counts: the page shows that arithmetic.
        self.parent = parent_rows
        self.parent_ids = parents.ids
        amounts = frame["CreditUsed"]
        valid = data.valid("CreditUsed") & amounts.notna().to_numpy()
        self.counted = ledger.use_counted
        self.valid_amount = valid
        self.units = np.where(valid, money.to_units(amounts), 0)

    def tables(self, parent_rows: list[int]) -> dict[int, dict[str, Any]]:
        """The ledger table of each parent row: its uses by usage time, a running sum.

        Vectorised over every use of every parent asked for; only the rows a table lists
        (``LEDGER_ROW_LIMIT`` per parent) become text and dicts.
        """
        if not parent_rows:
            return {}
        # self.parent holds the first row of each Id: mark those of the parents asked for.
        asked = pd.Series(self.parent_ids.take(np.unique(parent_rows)))  # their Ids
        wanted = np.zeros(len(self.parent_ids) + 1, dtype=bool)
        wanted[self.parents.rows(asked.to_numpy())] = True
        wanted[-1] = False  # the -1 of a use with no parent
        mine = np.flatnonzero(wanted.take(self.parent))
        parent = self.parent_ids.take(self.parent[mine])
        time, ids = self.time[mine], _ints(self.frame["Id"].iloc[mine])
        order = np.lexsort((mine, ids, time, parent))
        mine, parent, time, ids = mine[order], parent[order], time[order], ids[order]
        counted, valid = self.counted[mine], self.valid_amount[mine]
        units = self.units[mine]
        summed = np.where(counted, units, 0)
        if not len(parent):
            return {}  # none of these parents has a use
        starts = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]])
        sizes = np.diff(np.r_[starts, len(parent)])
        before = np.cumsum(summed) - summed  # what the earlier rows of all groups summed
        running = np.cumsum(summed) - np.repeat(before[starts], sizes)
        totals = np.add.reduceat(summed, starts)
        numbers = np.add.reduceat(counted.astype(np.int64), starts)
        rank = np.arange(len(parent)) - np.repeat(starts, sizes)
        listed = rank < LEDGER_ROW_LIMIT

        shown = mine[listed]
        cells = zip(
            np.where(ids[listed] != _NO_KEY, ids[listed].astype(str), "").tolist(),
            _time_texts(time[listed]).tolist(),
            self.describe(self.frame.iloc[shown]).tolist(),
            np.where(valid[listed], self.formatter(units[listed]), "?").tolist(),
            np.where(counted[listed], self.formatter(running[listed]), "").tolist(),
            counted[listed].tolist(),
            valid[listed].tolist(),
            strict=True,
        )
        # A use the sum leaves out is struck through, and says why where its running sum would be.
        rows = [
            {
                "cells": [use_id, used_at, what, amount, total or _not_counted(is_valid)],
                "muted": not is_counted,
            }
            for use_id, used_at, what, amount, total, is_counted, is_valid in cells
        ]
        rows_of_key: dict[int, list[int]] = {}
        for row in parent_rows:
            rows_of_key.setdefault(int(self.parent_ids[row]), []).append(row)
        tables, taken = {}, 0
        for start, size, total, number in zip(
            starts.tolist(), sizes.tolist(), totals.tolist(), numbers.tolist(), strict=True
        ):
            count = min(size, LEDGER_ROW_LIMIT)
            table = {
                "units": int(total),
                "counted": int(number),
                "table": {
                    "caption": f"{size:,} uses, by usage time",
                    "columns": _LEDGER_COLUMNS,
                    "rows": rows[taken : taken + count],
                    "more": size - count,
                },
            }
            taken += count
            for row in rows_of_key[int(parent[start])]:
                tables[row] = table
        return tables


_LEDGER_COLUMNS = [
    {"name": "use Id", "kind": "num"},
    {"name": "usage time", "kind": "time"},
    {"name": "for", "kind": "text"},
    {"name": "CreditUsed", "kind": "num"},
    {"name": "running sum", "kind": "num"},
]


def _not_counted(valid: bool) -> str:
    return "not counted: a repeated use Id" if valid else "not counted: no valid CreditUsed"


class _Ledgers:
    """The booking-credit and extra-service ledgers, and the Id lookups of their parents,
    built once for the places, the charts and the evidence."""

    def __init__(self, result: AuditResult) -> None:
        snapshot, context = result.snapshot, result.context
        self.credits = _IdLookup(snapshot.frame(CREDIT)["Id"])
        self.credit_uses = _ChildLedger(
            result,
            CREDIT_USE,
            self.credits,
            context.credit_row_of_use,
            context.credit_ledger,
            context.usage_times.time,
            _describe_credit_uses,
            money.format_units,
        )
        self.allowances = (
            _IdLookup(snapshot.frame(ALLOWANCE)["Id"]) if ALLOWANCE in snapshot else None
        )
        self.allowance_uses = None
        if self.allowances is not None and ALLOWANCE_USE in snapshot:
            self.allowance_uses = _ChildLedger(
                result,
                ALLOWANCE_USE,
                self.allowances,
                context.allowance_row_of_use,
                context.allowance_ledger,
                _times(snapshot.frame(ALLOWANCE_USE)["BookingFromTime"]),
                _describe_allowance_uses,
                functools.partial(money.format_units, min_decimals=0),
            )


def _describe_allowance_uses(frame: pd.DataFrame) -> np.ndarray:
    booked = _ints(frame["BookingId"]) > 0
    return np.where(booked, text.concat("booking ", text.ids(frame["BookingId"])), "no booking")


def _describe_credit_uses(frame: pd.DataFrame) -> np.ndarray:
    """What each use paid for, in a few words."""
    parts = [
        text.where(_ints(frame[name]) > 0, text.concat(label, text.ids(frame[name])))
        for name, label in (
            ("BookingId", "booking "),
            ("EventAttendeeId", "event attendee "),
            ("CoworkerInvoiceLineId", "invoice line "),
        )
    ]
    links = text.join_present(parts, ", ")
    note = text.strings(frame["Description"])
    manual = np.where(
        np.strings.str_len(note) > 0, text.concat("manual: ", note), "no link, no Description"
    )
    return np.where(np.strings.str_len(links) > 0, links, manual).astype(object)


# --- the manifest, the script ----------------------------------------------------------

_MANIFEST_KEYS = (
    ("base_url", "fetched from"),
    ("filters", "filters"),
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


# --- small helpers ----------------------------------------------------------------------


def _entity(name: str) -> Entity:
    return next(e for e in (CREDIT, CREDIT_USE, ALLOWANCE, ALLOWANCE_USE) if e.name == name)


def _column_at(frame: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
    """A free text column at ``rows`` as an object array (None where absent or null)."""
    if name not in frame:
        return np.full(len(rows), None, dtype=object)
    return frame[name].take(rows).astype(object).to_numpy(dtype=object, na_value=None)


def _ints(values: pd.Series) -> np.ndarray:
    """int64 of an integer column, ``_NO_KEY`` for null or for what is not an integer."""
    if not pd.api.types.is_integer_dtype(values.dtype):
        values = pd.to_numeric(values, errors="coerce")
        values = values.where(values == values.round()).astype("Int64")
    return values.to_numpy(dtype=np.int64, na_value=_NO_KEY)


class _IdLookup:
    """The row of each Id of one entity (the first row, when an Id repeats), by hash.

    Built once per entity; on ten million random keys a hash lookup beats a binary
    search several times over.
    """

    def __init__(self, ids: pd.Series) -> None:
        self.ids = _ints(ids)
        self.first = np.flatnonzero(
            (self.ids != _NO_KEY) & ~pd.Series(self.ids).duplicated().to_numpy()
        )
        self.index = pd.Index(self.ids[self.first])

    def rows(self, keys: pd.Series | np.ndarray) -> np.ndarray:
        """For each key, the first row whose Id equals it; -1 when none does."""
        values = keys if isinstance(keys, np.ndarray) else _ints(keys)
        found = self.index.get_indexer(values)
        return np.where(
            (found >= 0) & (values != _NO_KEY), self.first.take(np.maximum(found, 0)), -1
        )


def _times(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype="datetime64[us]", na_value=_NAT)


def _time_texts(values: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(values.astype("datetime64[s]"), unit="s").astype(object)
    return np.where(np.isnat(values), "", text)


def _records(frame: pd.DataFrame, positions: list[int]) -> dict[int, dict[str, Any]]:
    """The records at ``positions`` as dicts of Python values (None for null)."""
    part = frame.iloc[positions].astype(object)
    part = part.where(part.notna(), None)
    return dict(zip(positions, part.to_dict("records"), strict=True))


def _fields(record: dict[str, Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        _field(name, _show(name, record[name])) for name in names if record.get(name) is not None
    ]


def _show(name: str, value: Any) -> str:
    """A field's value as the page shows it."""
    if value is None or value is pd.NA:
        return "none"
    if isinstance(value, pd.Timestamp):
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value):
        if name in _MONEY_FIELDS:
            return _amount(_units(value))
        if name in _QUANTITY_FIELDS:
            return _quantity(_units(value))
    return str(value)


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _positive(value: Any) -> bool:
    return _is_number(value) and value > 0


def _units(value: float) -> int:
    return round(value * money.SCALE)  # as money.to_units: the nearest unit


def _amount(units: int | np.integer) -> str:
    return _fixed(int(units), 2)


def _quantity(units: int | np.integer) -> str:
    return _fixed(int(units), 0)


def _fixed(units: int, min_decimals: int) -> str:
    """``money.format_units`` for one value, without numpy's per-call cost."""
    whole, fraction = divmod(abs(units), money.SCALE)
    digits = f"{fraction:04d}".rstrip("0").ljust(min_decimals, "0")
    sign = "-" if units < 0 else ""
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def _duration(delta: pd.Timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [f"{days} d"] if days else []
    if hours or minutes or not days:
        parts.append(f"{hours} h {minutes:02d} min" if hours else f"{minutes} min")
    return " ".join(parts)
