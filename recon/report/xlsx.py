"""report.xlsx: the audit as an Excel workpaper, and the credit reconciliation it shows.

Sheets, in order:

- **Summary**: the verdict first (with ``context["sign_off"]``, a sign-off block above
  it: prepared by, reviewed by, date, to fill in); one row per rule (outcome, severity,
  records evaluated, findings by severity, why skipped, which sheet lists them) and a
  total; then the audit's facts: snapshot, as-of, verdict, rule set, every file with its
  SHA-256 (and the manifest's, for a fetched snapshot), any sheet that had to be cut at
  Excel's row limit.
- **Credits**: every CoworkerBookingCredit reconciled, from ``credit_reconciliation``.
- **Credit totals**: the reconciliation summed per location and currency.
- the sheets a caller adds in ``context["extra_sheets"]`` (a close's Roll-forward,
  Breakage, Maturity and After-close), each ``(title, header, rows)``.
- **Materiality**: the findings' money per currency against the rule set's thresholds
  (``context["materiality"]``), when a finding moves money or thresholds are set.
- **One sheet per rule with findings**, named by its rule id, holding every
  findings.json column. Money rules (``MONEY_RULES``) show ``expected`` and
  ``actual`` in the credit's currency.

Each sheet is one small function from the report context (through ``Workpaper``, which
adds what several sheets share) to the sheets it adds; ``_SHEETS`` lists them in order,
so a new sheet is one function and one entry there. How a sheet becomes cells (frozen
header, filter, widths, print setup, number formats, text that is never a formula) is
``spreadsheet``'s job. The document properties carry the audit's ``as_of`` and nothing
reads the clock, so the same audit gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa

from .. import datetimes
from .. import findings as findings_module
from ..checks import RULES
from ..entities import Unit
from ..reconciliation import RECONCILIATION_COLUMNS, SUBTOTAL_COLUMNS
from . import spreadsheet
from .spreadsheet import Heading, Money, Sheet, Table

MONEY_RULES = frozenset(rule.id for rule in RULES if rule.unit is Unit.MONEY)
"""Rules whose ``expected`` and ``actual`` are amounts of the credit's currency: from each
rule's declaration (``Rule.values`` and the unit of its subject)."""


_CREDITS_HEADER = (
    "Id",
    "CoworkerId",
    "BusinessId",
    "Location",
    "Description",
    "Currency",
    "ValidFrom",
    "ExpireDate",
    "TotalCredit",
    "RemainingCredit",
    "Uses",
    "Uses sum",
    "Difference (Total - Remaining - Uses)",
    "Findings",
    "Rules",
    "Status",
)
_SUBTOTALS_HEADER = (
    "BusinessId",
    "Currency",
    "Credits",
    "TotalCredit",
    "RemainingCredit",
    "Uses sum",
    "Difference",
    "Not balanced",
)
_SUBTOTAL_AMOUNTS = ("total_credit", "remaining_credit", "uses_sum", "difference")
_CREDIT_AMOUNTS = ("total_credit", "remaining_credit", "uses_sum", "difference")
_SUMMARY_HEADER = (
    "Rule",
    "Outcome",
    "Severity",
    "Records evaluated",
    "Findings",
    "error",
    "warning",
    "info",
    "Reason",
    "Sheet",
)
_SUMMARY, _CREDITS, _TOTALS = "Summary", "Credits", "Credit totals"
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SIGN_OFF = ("Prepared by", "Reviewed by", "Date")


# --- the workbook --------------------------------------------------------------------------


@dataclass(frozen=True)
class Workpaper:
    """The report context, and what several sheets need from it, worked out once."""

    context: dict[str, Any]
    by_rule: dict[str, list[dict[str, Any]]]
    """Each rule's findings, as findings.json lists them."""
    rule_sheets: dict[str, str]
    """The sheet name of each rule with findings, in the summary's order."""

    @classmethod
    def of(cls, context: dict[str, Any]) -> Workpaper:
        by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for finding in context["findings"]:
            by_rule[finding["rule"]].append(finding)
        rules = [rule["rule"] for rule in context["summary"]["rules"] if by_rule.get(rule["rule"])]
        return cls(context, dict(by_rule), _sheet_names(rules))


def render_xlsx(context: dict[str, Any]) -> bytes:
    """The workbook of the audit in ``context`` (see ``report.context.build_context``)."""
    paper = Workpaper.of(context)
    summary = context["summary"]
    sheets = [sheet for make in _SHEETS for sheet in make(paper)]
    as_of = dt.datetime.strptime(summary["as_of"], "%Y-%m-%dT%H:%M:%SZ")
    properties = spreadsheet.Properties(
        creator=f"recon {summary['recon_version']}", title=context["title"], when=as_of
    )
    currencies = context["reconciliation"]["currency"].dropna().unique().tolist()
    return spreadsheet.write_workbook(
        [_summary_sheet(paper, sheets), *sheets], properties, currencies
    )


# --- the sheets, each from the context ------------------------------------------------------


def _credits_sheet(paper: Workpaper) -> list[Sheet]:
    """Every credit reconciled: its amounts, its uses, its findings, its status."""
    frame = paper.context["reconciliation"]
    table = _amounts_table(frame, RECONCILIATION_COLUMNS, _CREDIT_AMOUNTS)
    return [Sheet(_CREDITS, _CREDITS_HEADER, table)]


def _totals_sheet(paper: Workpaper) -> list[Sheet]:
    """The reconciliation summed per location and currency, and in all per currency."""
    frame = paper.context["subtotals"]
    table = _amounts_table(frame, SUBTOTAL_COLUMNS, _SUBTOTAL_AMOUNTS)
    return [Sheet(_TOTALS, _SUBTOTALS_HEADER, table)]


def _amounts_table(frame: pd.DataFrame, names: Sequence[str], amounts: Iterable[str]) -> Table:
    """``names`` of ``frame`` as a sheet's table, ``amounts`` shown as money in each row's
    ``currency``."""
    columns = [_arrow(frame[name]) for name in names]
    money = frozenset(list(names).index(name) for name in amounts)
    currency = pa.array(frame["currency"], type=pa.string(), from_pandas=True)
    return Table(columns, len(frame), money, currency)


_MATERIALITY_HEADER = (
    "currency",
    "findings",
    "sum |impact|",
    "waived",
    "waived sum",
    "below clearly trivial",
    "below clearly trivial sum",
    "at or above clearly trivial",
    "at or above clearly trivial sum",
    "clearly_trivial",
    "performance",
    "overall",
    "standing",
)


def _materiality_sheet(paper: Workpaper) -> list[Sheet]:
    """The findings' money per currency against the rule set's thresholds, as the audit
    computed it (waived findings included: an accepted misstatement is still one)."""
    view = paper.context["materiality"]
    if not view["shown"]:
        return []

    def amount(text: str | None) -> float | None:  # exact in findings.json; a number here
        return None if text is None else float(Decimal(text))

    rows = []
    for entry in view["by_currency"]:
        below = entry["below_clearly_trivial"] or {}
        above = entry["at_or_above_clearly_trivial"] or {}
        limits = entry["thresholds"] or {}
        rows.append(
            [
                entry["label"],
                entry["findings"],
                amount(entry["sum"]),
                entry["waived"]["count"],
                amount(entry["waived"]["sum"]),
                below.get("count"),
                amount(below.get("sum")),
                above.get("count"),
                amount(above.get("sum")),
                amount(limits.get("clearly_trivial")),
                amount(limits.get("performance")),
                amount(limits.get("overall")),
                entry["standing_text"],
            ]
        )
    note = (
        "Gates this run (--fail-on material): exit 1 when a currency's sum at or above clearly "
        "trivial reaches overall."
        if view["gated"]
        else "Not a gate in this run (--fail-on material makes it one)."
    )
    header = _MATERIALITY_HEADER
    return [Sheet("Materiality", header, Table.of_rows(rows, len(header)), after=[[], [note]])]


def _added_sheets(paper: Workpaper) -> list[Sheet]:
    """The sheets the caller adds (a close's roll-forward and the like), as given."""
    return [
        Sheet(title, header, Table.of_rows(rows, len(header)))
        for title, header, rows in paper.context.get("extra_sheets", ())
    ]


def _rule_sheets(paper: Workpaper) -> list[Sheet]:
    """A sheet per rule with findings, every findings.json column; a money rule's
    ``expected`` and ``actual`` in the credit's currency."""
    currencies = _currencies(paper.context["reconciliation"], paper.by_rule)
    return [
        Sheet(
            name,
            findings_module.COLUMNS,
            _finding_table(paper.by_rule[rule], currencies if rule in MONEY_RULES else None),
        )
        for rule, name in paper.rule_sheets.items()
    ]


_SHEETS: tuple[Callable[[Workpaper], list[Sheet]], ...] = (
    _credits_sheet,
    _totals_sheet,
    _added_sheets,
    _materiality_sheet,
    _rule_sheets,
)
"""The sheets after the Summary, in order."""


def _summary_sheet(paper: Workpaper, sheets: Sequence[Sheet]) -> Sheet:
    """The verdict, a row per rule, the audit's facts; it names every sheet that ``sheets``
    had to cut at Excel's row limit, so it is made last and shown first."""
    context = paper.context
    cut = {
        sheet.title: sheet.table.count
        for sheet in sheets
        if sheet.table.count > spreadsheet.MAX_ROWS - len(sheet.before)
    }
    table, facts = _summary_rows(
        context["summary"], context["gate"], paper.by_rule, paper.rule_sheets, cut
    )
    verdict = _verdict_rows(context["gate"])
    if context.get("sign_off"):
        # A close's workpaper is signed: empty cells to fill in, above everything else.
        verdict = [*[[Heading(label), None] for label in _SIGN_OFF], [], *verdict]
    width = len(_SUMMARY_HEADER)
    return Sheet(_SUMMARY, _SUMMARY_HEADER, Table.of_rows(table, width), facts, verdict)


def _verdict_rows(gate: dict[str, Any]) -> list[list[Any]]:
    """The verdict, first thing on the Summary: what the gate said, and the counts."""
    counts = f"{gate['errors']:,} errors, {gate['warnings']:,} warnings, {gate['info']:,} info"
    if gate["state"] == "off":
        said = f"NOT GATED (--fail-on never): {counts}; nothing fails this run"
    else:
        said = f"{gate['label']} (--fail-on {gate['fail_on']}, exit {gate['exit_code']}): {counts}"
    return [[Heading("Verdict"), Heading(said)], []]


def _summary_rows(
    summary: dict[str, Any],
    gate: dict[str, Any],
    by_rule: dict[str, list[dict[str, Any]]],
    names: dict[str, str],
    cut: dict[str, int],
) -> tuple[list[list[Any]], list[list[Any]]]:
    """The per-rule table (under the header, filtered) and the facts below it."""
    severities = ("error", "warning", "info")
    table = []
    for rule in summary["rules"]:
        counted = dict.fromkeys(severities, 0)
        for finding in by_rule.get(rule["rule"], ()):
            counted[finding["severity"]] += 1
        table.append(
            [
                rule["rule"],
                rule["outcome"],
                rule["severity"],
                rule["evaluated"] if rule["outcome"] == "ran" else None,
                rule["findings"],
                *counted.values(),
                rule["reason"],
                names.get(rule["rule"]),
            ]
        )
    total = [Heading("All rules"), None, None, None, summary["findings"]]
    total += [summary["by_severity"][severity] for severity in severities]
    verdict = f"{gate['label']} (--fail-on {gate['fail_on']}, exit {gate['exit_code']})"
    rule_set = summary["rule_set"]
    snapshot = summary["snapshot"]
    manifest = snapshot["manifest"] or {}
    recorded = manifest.get("entities") or {}
    facts: list[list[Any]] = [
        total,
        [],
        [Heading("Audit")],
        ["Snapshot", snapshot["name"]],
        ["As of (UTC)", summary["as_of"]],
        ["Verdict", verdict],
        ["Findings", summary["findings"]],
        *(["Rule set", f"{s['name']} (sha256 {s['sha256']})"] for s in rule_set["sources"]),
        ["Amount tolerance", rule_set["tolerance"]],
        ["Default time zone", rule_set["default_zone"]],
        *(["Time zone", f"BusinessId {key}: {zone}"] for key, zone in rule_set["zones"].items()),
        ["recon version", summary["recon_version"]],
        [],
        [
            Heading(name)
            for name in ("Entity", "File", "Format", "Records", "SHA-256", "SHA-256 in manifest")
        ],
        *(
            [
                file["entity"],
                file["file"],
                file["format"],
                file["records"],
                file["sha256"],
                (recorded.get(file["entity"]) or {}).get("sha256"),
            ]
            for file in snapshot["files"]
        ),
    ]
    if manifest:
        scalars = [
            [key, value if isinstance(value, int | float | str) else str(value)]
            for key, value in manifest.items()
            if key != "entities" and value is not None
        ]
        facts += [[], [Heading("Manifest")], *scalars]
    for name, rows in cut.items():
        shown = spreadsheet.MAX_ROWS
        note = f"sheet {name} lists the first {shown:,} of {rows:,} rows (Excel's limit)"
        facts += [["Note", note]]
    return table, facts


def _arrow(values: pd.Series) -> pa.Array:
    """A column as Arrow; date-times as ISO-8601 text, as every other report shows them."""
    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_timestamp(array.type):
        array = datetimes.shown(array)
    return array


def _currencies(
    reconciliation: pd.DataFrame, by_rule: dict[str, list[dict[str, Any]]]
) -> dict[int, str | None]:
    """The currency of each credit a money finding names."""
    wanted = {
        finding["credit_id"]
        for rule in MONEY_RULES
        for finding in by_rule.get(rule, ())
        if finding["credit_id"] is not None
    }
    if not wanted:
        return {}
    known = reconciliation[reconciliation["id"].isin(wanted)].drop_duplicates("id")
    ids, codes = (known[name].to_numpy(dtype=object, na_value=None) for name in ("id", "currency"))
    return dict(zip(ids.tolist(), codes.tolist(), strict=True))


def _finding_table(
    found: Sequence[dict[str, Any]], currencies: dict[int, str | None] | None
) -> Table:
    """A rule's findings, in findings.json's columns; amounts in the credit's currency when
    ``currencies`` is given."""
    columns = [
        spreadsheet.column([finding[name] for finding in found]) for name in findings_module.COLUMNS
    ]
    if currencies is None:
        return Table(columns, len(found))
    money = frozenset(findings_module.COLUMNS.index(name) for name in ("expected", "actual"))
    for index in money:
        if isinstance(columns[index], list):  # mixed types: each number becomes an amount
            columns[index] = [
                Money(value, currencies.get(finding["credit_id"]))
                if spreadsheet.is_number(value)
                else value
                for value, finding in zip(columns[index], found, strict=True)
            ]
    codes = [currencies.get(finding["credit_id"]) for finding in found]
    return Table(columns, len(found), money, pa.array(codes, type=pa.string()))


def _sheet_names(rules: Sequence[str]) -> dict[str, str]:
    """A sheet name for each rule: legal characters, at most 31 of them, unique ignoring case."""
    taken = {_SUMMARY.casefold(), _CREDITS.casefold(), "history"}  # Excel reserves History
    names = {}
    for rule in rules:
        base = _SHEET_NAME_FORBIDDEN.sub("_", rule).strip("'")[:31] or "rule"
        name, number = base, 1
        while name.casefold() in taken:
            number += 1
            suffix = f"~{number}"
            name = base[: 31 - len(suffix)] + suffix
        taken.add(name.casefold())
        names[rule] = name
    return names
