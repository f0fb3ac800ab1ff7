"""report.xlsx: the audit as an Excel workpaper, and the credit reconciliation it shows.

Sheets, in order:

- **Summary**: one row per rule (outcome, severity, records evaluated, findings
  by severity, why skipped, which sheet lists them) and a total, then the
  audit's facts: snapshot, as-of, verdict, rule set, every file with its
  SHA-256 (and the manifest's, for a fetched snapshot), any sheet that had to
  be cut at Excel's row limit.
- **Credits**: every CoworkerBookingCredit reconciled, from ``credit_reconciliation``.
- the sheets a caller adds in ``context["extra_sheets"]`` (a close's Roll-forward,
  Breakage and After-close), each ``(title, header, rows)``; with ``context["sign_off"]``
  the Summary opens with a sign-off block (prepared by, reviewed by, date) to fill in.
- **One sheet per rule with findings**, named by its rule id, holding every
  findings.json column. Money rules (``MONEY_RULES``) show ``expected`` and
  ``actual`` in the credit's currency.

Every sheet has its header row frozen, an auto-filter over the data and
column widths sized to the data. Amounts carry a number format per currency,
``#,##0.00## "GBP"``: two decimals, up to four when the amount has them (the
money policy's unit is 1/10,000), and the ISO code as a suffix. A code that
is not three letters gets the plain ``#,##0.00##``, so API text can never
alter a format string.

Text from the API is data, never a formula. A string that Excel or
LibreOffice could read as something else (one starting with ``=``, ``+``,
``-``, ``@``, tab or CR, as OWASP lists for CSV injection, or equal to an
error code such as ``#REF!``) is written as an inline string (``t="inlineStr"``,
which no spreadsheet evaluates on opening) whose cell style has
``quotePrefix="1"``: Excel's own "leading apostrophe", which keeps the cell
text when someone edits it, yet shows the text exactly as the API sent it,
without an apostrophe in the value. No cell of the workbook is ever a formula.
Numbers stay numbers, negative amounts included. As in junit.xml, characters
XML 1.0 cannot carry become U+FFFD, and text beyond Excel's 32,767 characters
a cell is cut, ending in "…".

openpyxl (write-only mode) writes the package: workbook, styles, frozen
panes, widths, filters. The cell rows are rendered here, a string per cell,
and streamed into each sheet (see ``_Book``): openpyxl's own cell writer
would take about 8 s for 100,000 findings. The zip entries and document
properties carry the audit's ``as_of``, not the clock, so the same audit
gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import re
import shutil
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from .. import findings as findings_module
from ..checks import RULES
from ..entities import Unit
from ..reconciliation import RECONCILIATION_COLUMNS, SUBTOTAL_COLUMNS

MAX_ROWS = 1_048_575
"""Data rows per sheet: Excel's 1,048,576 rows, less the header."""

MAX_TEXT = 32_767
"""Characters a cell holds in Excel."""

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

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# The same for Arrow (RE2), whose strings are valid UTF-8 and so hold no lone surrogates.
_NOT_XML_RE2 = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))  # a bare CR reads as LF
_INLINE = ' t="inlineStr"><is><t xml:space="preserve">'
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_PLAIN_MONEY = "#,##0.00##"
_WIDTH_SAMPLE = 1_000
_CHUNK = 50_000
_MIN_WIDTH, _MAX_WIDTH = 8, 80


class _Money(NamedTuple):
    """An amount to be written with a currency's number format."""

    amount: Any
    currency: str | None


# --- the workbook --------------------------------------------------------------------------


def render_xlsx(context: dict[str, Any]) -> bytes:
    """The workbook of the audit in ``context`` (see ``report.context.build_context``)."""
    summary = context["summary"]
    reconciliation: pd.DataFrame = context["reconciliation"]
    subtotals: pd.DataFrame = context["subtotals"]
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in context["findings"]:
        by_rule[finding["rule"]].append(finding)

    names = _sheet_names([rule["rule"] for rule in summary["rules"] if by_rule.get(rule["rule"])])
    cut = {names[rule]: len(found) for rule, found in by_rule.items() if len(found) > MAX_ROWS}
    if len(reconciliation) > MAX_ROWS:
        cut[_CREDITS] = len(reconciliation)

    as_of = dt.datetime.strptime(summary["as_of"], "%Y-%m-%dT%H:%M:%SZ")
    workbook = Workbook(write_only=True)
    workbook.properties.creator = f"recon {summary['recon_version']}"
    workbook.properties.title = _clean(context["title"])
    workbook.properties.created = workbook.properties.modified = as_of
    book = _Book(workbook, currencies=reconciliation["currency"].dropna().unique().tolist())

    table, facts = _summary_rows(summary, context["gate"], by_rule, names, cut)
    verdict = _verdict_rows(context["gate"])
    if context.get("sign_off"):
        # A close's workpaper is signed: empty cells to fill in, above everything else.
        verdict = [*[[_Heading(label), None] for label in _SIGN_OFF], [], *verdict]
    book.add_sheet(
        _SUMMARY,
        _SUMMARY_HEADER,
        _Table.of_rows(table, len(_SUMMARY_HEADER)),
        facts,
        before=verdict,
    )
    book.add_sheet(_CREDITS, _CREDITS_HEADER, _credit_table(reconciliation))
    book.add_sheet(_TOTALS, _SUBTOTALS_HEADER, _subtotal_table(subtotals))
    for title, header, rows in context.get("extra_sheets", ()):
        book.add_sheet(title, header, _Table.of_rows(rows, len(header)))
    currencies = _currencies(reconciliation, by_rule)
    for rule, name in names.items():
        table = _finding_table(by_rule[rule], currencies if rule in MONEY_RULES else None)
        book.add_sheet(name, findings_module.COLUMNS, table)
    return book.save(as_of)


_SIGN_OFF = ("Prepared by", "Reviewed by", "Date")


def _verdict_rows(gate: dict[str, Any]) -> list[list[Any]]:
    """The verdict, first thing on the Summary: what the gate said, and the counts."""
    counts = f"{gate['errors']:,} errors, {gate['warnings']:,} warnings, {gate['info']:,} info"
    if gate["state"] == "off":
        said = f"NOT GATED (--fail-on never): {counts}; nothing fails this run"
    else:
        said = f"{gate['label']} (--fail-on {gate['fail_on']}, exit {gate['exit_code']}): {counts}"
    return [[_Heading("Verdict"), _Heading(said)], []]


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
    total = [_Heading("All rules"), None, None, None, summary["findings"]]
    total += [summary["by_severity"][severity] for severity in severities]
    verdict = f"{gate['label']} (--fail-on {gate['fail_on']}, exit {gate['exit_code']})"
    rule_set = summary["rule_set"]
    snapshot = summary["snapshot"]
    manifest = snapshot["manifest"] or {}
    recorded = manifest.get("entities") or {}
    facts: list[list[Any]] = [
        total,
        [],
        [_Heading("Audit")],
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
            _Heading(name)
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
        facts += [[], [_Heading("Manifest")], *scalars]
    for name, rows in cut.items():
        note = f"sheet {name} lists the first {MAX_ROWS:,} of {rows:,} rows (Excel's limit)"
        facts += [["Note", note]]
    return table, facts


def _credit_table(reconciliation: pd.DataFrame) -> _Table:
    columns = [_arrow(reconciliation[name]) for name in RECONCILIATION_COLUMNS]
    money = {RECONCILIATION_COLUMNS.index(name) for name in _CREDIT_AMOUNTS}
    currency = pa.array(reconciliation["currency"], type=pa.string(), from_pandas=True)
    return _Table(columns, len(reconciliation), frozenset(money), currency)


def _subtotal_table(subtotals: pd.DataFrame) -> _Table:
    columns = [_arrow(subtotals[name]) for name in SUBTOTAL_COLUMNS]
    money = {SUBTOTAL_COLUMNS.index(name) for name in _SUBTOTAL_AMOUNTS}
    currency = pa.array(subtotals["currency"], type=pa.string(), from_pandas=True)
    return _Table(columns, len(subtotals), frozenset(money), currency)


def _arrow(column: pd.Series) -> pa.Array:
    """A column as Arrow; date-times as ISO-8601 text, as every other report shows them."""
    array = pa.array(column, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_timestamp(array.type):
        array = pc.strftime(array, format="%Y-%m-%dT%H:%M:%S")
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
) -> _Table:
    """A rule's findings, in findings.json's columns; amounts in the credit's currency when
    ``currencies`` is given."""
    columns = [_column([finding[name] for finding in found]) for name in findings_module.COLUMNS]
    if currencies is None:
        return _Table(columns, len(found))
    money = frozenset(findings_module.COLUMNS.index(name) for name in ("expected", "actual"))
    for index in money:
        if isinstance(columns[index], list):  # mixed types: each number becomes an amount
            columns[index] = [
                _Money(value, currencies.get(finding["credit_id"])) if _is_number(value) else value
                for value, finding in zip(columns[index], found, strict=True)
            ]
    codes = [currencies.get(finding["credit_id"]) for finding in found]
    return _Table(columns, len(found), money, pa.array(codes, type=pa.string()))


# --- writing cells --------------------------------------------------------------------------


class _Heading(NamedTuple):
    """Text in bold."""

    text: str


class _Table(NamedTuple):
    """A sheet's data rows, by column.

    A column is an Arrow array of one type, rendered a whole slice at a time,
    or, when its values mix types, a list rendered cell by cell. The columns
    whose index is in ``money`` are amounts, in each row's ``currency``.
    """

    columns: list[pa.Array | list[Any]]
    count: int
    money: frozenset[int] = frozenset()
    currency: pa.Array | None = None

    @classmethod
    def of_rows(cls, rows: list[list[Any]], width: int) -> _Table:
        padded = [[*row, *[None] * (width - len(row))] for row in rows]
        return cls([_column(list(values)) for values in zip(*padded, strict=True)], len(rows))


def _column(values: list[Any]) -> pa.Array | list[Any]:
    """``values`` as an Arrow array when Arrow finds them one plain type, else the list."""
    try:
        array = pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError, UnicodeError):
        return values
    kind = array.type
    if pa.types.is_floating(kind):
        # NaN or infinity is shown as its text, cell by cell.
        return values if pc.all(pc.is_finite(array)).as_py() is False else array
    plain = (pa.types.is_integer, pa.types.is_boolean, pa.types.is_null, pa.types.is_string)
    return array if any(check(kind) for check in plain) else values


class _Book:
    """A write-only openpyxl workbook whose cell rows recon streams itself.

    openpyxl writes the package: workbook, styles, sheet views, frozen panes,
    column widths, auto-filters and their defined names. Its per-cell writer
    costs about 7 microseconds a cell here (8 s for 100,000 findings), so rows
    are not appended through it. Each sheet gets one placeholder row; when
    openpyxl adds the sheet's XML to the archive, ``_StableZip`` puts the rows
    ``_sheet_xml`` renders, a slice of whole columns at a time, in its place.
    The styles those rows use are registered with openpyxl first, so
    styles.xml holds them.
    """

    def __init__(self, workbook: Workbook, currencies: list[str]) -> None:
        self.workbook = workbook
        self.bodies: dict[bytes, Callable[[], Iterator[bytes]]] = {}
        self.styles: dict[Any, int] = {}
        self._currencies = currencies

    def add_sheet(
        self,
        title: str,
        header: Sequence[str],
        table: _Table,
        after: Sequence[list[Any]] = (),
        *,
        before: Sequence[list[Any]] = (),
    ) -> None:
        """A sheet of ``header`` and ``table`` (cut at ``MAX_ROWS``), frozen and filtered,
        then the rows ``after``, outside the filter; ``before`` stands above the header.

        Printed landscape, fitted to the page width, with the header repeated on every
        page: a workpaper is signed on paper as often as on screen.
        """
        sheet = self.workbook.create_sheet(title)
        if not self.styles:
            self._register_styles(sheet)
        top = len(before)
        sheet.freeze_panes = f"A{top + 2}"
        for number, width in enumerate(_widths(header, table, after), start=1):
            sheet.column_dimensions[get_column_letter(number)].width = width
        count = min(table.count, MAX_ROWS - top)
        last = get_column_letter(len(header))
        sheet.auto_filter.ref = f"A{top + 1}:{last}{top + count + 1}"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_title_rows = f"{top + 1}:{top + 1}"
        marker = f"\ue000recon rows of sheet {len(self.bodies)}\ue000"
        sheet.append([marker])
        self.bodies[marker.encode()] = functools.partial(
            _sheet_xml, header, table, after, self.styles, before
        )

    def save(self, when: dt.datetime) -> bytes:
        buffer = io.BytesIO()
        with _StableZip(buffer, when, self.bodies) as archive:
            ExcelWriter(self.workbook, archive).save()
        return buffer.getvalue()

    def _register_styles(self, sheet: Any) -> None:
        def style(**attributes: Any) -> int:
            cell = WriteOnlyCell(sheet)
            for name, value in attributes.items():
                setattr(cell, name, value)
            return cell.style_id

        self.styles[_Heading] = style(font=Font(bold=True))
        self.styles[str] = style(quotePrefix=True)
        for code in [None, *self._currencies]:
            self.styles[_Money, code] = style(number_format=_money_format(code))


def _sheet_xml(
    header: Sequence[str],
    table: _Table,
    after: Sequence[list[Any]],
    styles: dict[Any, int],
    before: Sequence[list[Any]] = (),
) -> Iterator[bytes]:
    """The ``<row>`` elements of a sheet: ``before``, header, data (``MAX_ROWS`` at most
    in all), ``after``."""
    top = len(before)
    yield _rows_xml(before, 1, styles)
    yield _rows_xml([[_Heading(name) for name in header]], top + 1, styles)
    count = min(table.count, MAX_ROWS - top)
    first = top + 2  # the row number of the first data row
    letters = [get_column_letter(number) for number in range(1, len(table.columns) + 1)]
    money_styles = None
    if table.money:
        known = {key[1]: f' s="{style}"' for key, style in styles.items() if isinstance(key, tuple)}
        codes = table.currency.to_pandas().map(known).fillna(known[None]).tolist()
        money_styles = pa.array(codes, type=pa.string())
    for start in range(0, count, _CHUNK):
        stop = min(start + _CHUNK, count)
        numbers = pa.array(np.arange(start + first, stop + first).astype(str), type=pa.string())
        cells = []
        for index, (letter, column) in enumerate(zip(letters, table.columns, strict=True)):
            style = money_styles[start:stop] if index in table.money else None
            cells.append(_column_xml(column, start, stop, letter, numbers, style, styles))
        rows = pc.binary_join_element_wise('<row r="', numbers, '">', *cells, "</row>", "")
        yield "".join(rows.to_pylist()).encode("utf-8")
    yield _rows_xml(after, count + first, styles)


def _column_xml(
    column: pa.Array | list[Any],
    start: int,
    stop: int,
    letter: str,
    numbers: pa.Array,
    money_style: pa.Array | None,
    styles: dict[Any, int],
) -> pa.Array:
    """The ``<c>`` of rows ``start:stop`` of ``column`` ("" for an empty cell)."""
    if isinstance(column, list):
        cells = [
            "" if value is None else _cell_xml(f"{letter}{row}", value, styles)
            for row, value in zip(numbers.to_pylist(), column[start:stop], strict=True)
        ]
        return pa.array(cells, type=pa.string())
    values = column.slice(start, stop - start)
    kind = values.type
    ref = pc.binary_join_element_wise(f'<c r="{letter}', numbers, "")
    if pa.types.is_null(kind):
        return pa.array([""] * (stop - start), type=pa.string())
    if pa.types.is_boolean(kind):
        shown = pc.if_else(values, "1", "0")
        cells = pc.binary_join_element_wise(ref, '" t="b"><v>', shown, "</v></c>", "")
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        style = "" if money_style is None else money_style
        shown = pc.cast(values, pa.string())
        cells = pc.binary_join_element_wise(ref, '"', style, "><v>", shown, "</v></c>", "")
    else:
        text = pc.cast(values, pa.string())
        if pc.any(pc.match_substring_regex(text, _NOT_XML_RE2)).as_py():
            text = pc.replace_substring_regex(text, _NOT_XML_RE2, "\ufffd")
        if (pc.max(pc.utf8_length(text)).as_py() or 0) > MAX_TEXT:
            cut = pc.binary_join_element_wise(
                pc.utf8_slice_codeunits(text, 0, MAX_TEXT - 1), "…", ""
            )
            text = pc.if_else(pc.greater(pc.utf8_length(text), MAX_TEXT), cut, text)
        inert = pc.is_in(text, pa.array(ERROR_CODES, type=pa.string()))
        for trigger in _FORMULA_TRIGGERS:
            inert = pc.or_(inert, pc.starts_with(text, trigger))
        style = pc.if_else(inert, f' s="{styles[str]}"', "")
        for character, entity in _ESCAPES:
            text = pc.replace_substring(text, character, entity)
        cells = pc.binary_join_element_wise(ref, '"', style, _INLINE, text, "</t></is></c>", "")
    return pc.fill_null(cells, "")


def _rows_xml(rows: Iterable[list[Any]], first: int, styles: dict[Any, int]) -> bytes:
    """``<row>`` elements of ``rows``, cell by cell, numbered from ``first``."""
    out = []
    for number, row in enumerate(rows, start=first):
        cells = [
            _cell_xml(f"{get_column_letter(column)}{number}", value, styles)
            for column, value in enumerate(row, start=1)
            if value is not None
        ]
        if cells:
            out.append(f'<row r="{number}">{"".join(cells)}</row>')
    return "".join(out).encode("utf-8")


def _cell_xml(ref: str, value: Any, styles: dict[Any, int]) -> str:
    """One ``<c>``: text inline and inert, booleans, numbers, amounts in their currency."""
    kind = type(value)
    if kind is str:
        return _text_xml(ref, value, styles)
    if kind is bool:
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if _is_number(value):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if kind is _Money:
        style = styles.get((_Money, value.currency), styles[_Money, None])
        return f'<c r="{ref}" s="{style}"><v>{value.amount!r}</v></c>'
    if kind is _Heading:
        return _text_xml(ref, value.text, styles, style=styles[_Heading])
    return _text_xml(ref, str(value), styles)


def _text_xml(ref: str, value: str, styles: dict[Any, int], style: int | None = None) -> str:
    value = _clean(value)
    if style is None and (value.startswith(_FORMULA_TRIGGERS) or value in ERROR_CODES):
        style = styles[str]
    for character, entity in _ESCAPES:
        value = value.replace(character, entity)
    styled = "" if style is None else f' s="{style}"'
    return f'<c r="{ref}"{styled}{_INLINE}{value}</t></is></c>'


def _clean(value: str) -> str:
    """``value`` as a cell can hold it: XML-legal, within Excel's length."""
    if len(value) > MAX_TEXT:
        value = value[: MAX_TEXT - 1] + "…"
    if _NOT_XML.search(value):
        value = _NOT_XML.sub("\ufffd", value)
    return value


def _money_format(currency: str | None) -> str:
    if currency is not None and _CURRENCY_CODE.fullmatch(currency):
        return f'{_PLAIN_MONEY} "{currency}"'
    return _PLAIN_MONEY


def _is_number(value: Any) -> bool:
    """A finite int or float (findings.json writes non-finite ones as text)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _widths(header: Sequence[str], table: _Table, after: Sequence[list[Any]]) -> list[float]:
    """Column widths, in characters, from the header, the first rows and ``after``."""
    widths = [len(name) + 4 for name in header]  # room for the filter button
    sample = [
        column[:_WIDTH_SAMPLE] if isinstance(column, list) else column[:_WIDTH_SAMPLE].to_pylist()
        for column in table.columns
    ]
    rows = [*zip(*sample, strict=True), *after]
    for row in rows:
        for index, value in enumerate(row):
            if value is None:
                continue
            if index in table.money or type(value) is _Money:
                amount = value.amount if type(value) is _Money else value
                shown = len(f"{amount:,.2f}") + 6 if _is_number(amount) else len(str(amount))
            elif type(value) is _Heading:
                shown = len(value.text) + 2
            else:
                shown = len(str(value)) + 1
            if index >= len(widths):
                widths.append(_MIN_WIDTH)
            widths[index] = max(widths[index], shown)
    return [min(max(width, _MIN_WIDTH), _MAX_WIDTH) for width in widths]


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


class _StableZip(zipfile.ZipFile):
    """The xlsx archive: every entry dated ``when`` (not the clock), so the bytes repeat,
    and each sheet's placeholder row replaced by the rows of ``bodies``."""

    def __init__(
        self,
        file: io.BytesIO,
        when: dt.datetime,
        bodies: dict[bytes, Callable[[], Iterator[bytes]]],
    ) -> None:
        super().__init__(file, "w", zipfile.ZIP_DEFLATED)
        self._date_time = max(when, dt.datetime(1980, 1, 1)).timetuple()[:6]
        self._bodies = bodies

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):  # type: ignore[override]
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):  # type: ignore[override]
        # openpyxl streams each worksheet to a temporary file and adds it by name.
        path = Path(filename)
        data = path.read_bytes()
        found = [(at, marker) for marker in self._bodies if (at := data.find(marker)) >= 0]
        if not found:
            self.writestr(arcname or path.name, data)
            return
        ((at, marker),) = found
        start = data.rindex(b"<row", 0, at)
        end = data.index(b"</row>", at) + len(b"</row>")
        with tempfile.TemporaryFile() as spliced:
            spliced.write(data[:start])
            for chunk in self._bodies[marker]():
                spliced.write(chunk)
            spliced.write(data[end:])
            large = spliced.tell() > zipfile.ZIP64_LIMIT
            spliced.seek(0)
            with self.open(self._info(arcname or path.name), "w", force_zip64=large) as target:
                shutil.copyfileobj(spliced, target, 1 << 20)
