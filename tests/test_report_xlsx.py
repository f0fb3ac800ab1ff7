"""report.xlsx: read back cell by cell against findings.json, the credit reconciliation
against an independent computation, and API text that is never a formula."""

import csv
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from builders import audit, credit, manual_use, rules_file, use, write_snapshot
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

import recon
import recon.report.context
from recon.findings import COLUMNS
from recon.reconciliation import (
    RECONCILIATION_COLUMNS,
    credit_reconciliation,
    reconciliation_subtotals,
)
from recon.report import spreadsheet
from recon.report import xlsx as report_xlsx

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
AS_OF = "2025-12-31T00:00:00Z"
CREDIT_HEADER = (
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
AMOUNT_COLUMNS = (
    "TotalCredit",
    "RemainingCredit",
    "Uses sum",
    "Difference (Total - Remaining - Uses)",
)


def _write(result, out):
    recon.write_reports(result, out, ["json", "xlsx"])
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    data = (out / "report.xlsx").read_bytes()
    return document, openpyxl.load_workbook(io.BytesIO(data)), data


def _filter(sheet):
    """The first and last rows of the auto-filter: the header, and the last data row."""
    first, last = re.fullmatch(r"A(\d+):[A-Z]+(\d+)", sheet.auto_filter.ref).groups()
    return int(first), int(last)


def _data(sheet):
    """The rows under the header, down to the end of the auto-filter."""
    first, last = _filter(sheet)
    return list(sheet.iter_rows(min_row=first + 1, max_row=last, values_only=True))


def _header(sheet):
    first, _ = _filter(sheet)
    return next(sheet.iter_rows(min_row=first, max_row=first, values_only=True))


def _same(cell, value):
    """A cell holds ``value`` as findings.json does: same kind, same value."""
    if value is None:
        return cell is None
    if isinstance(value, bool):
        return cell is value
    if isinstance(value, int | float):
        return isinstance(cell, int | float) and not isinstance(cell, bool) and cell == value
    return isinstance(cell, str) and cell == value


def _credits_by_id(workbook):
    sheet = workbook["Credits"]
    assert _header(sheet) == CREDIT_HEADER
    return {row[0]: dict(zip(CREDIT_HEADER, row, strict=True)) for row in _data(sheet)}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    return _write(recon.audit(SAMPLE, as_of=AS_OF), out)


# --- findings and summary ------------------------------------------------------------------


def test_sheets_are_summary_credits_then_each_rule_with_findings(sample):
    document, workbook, _ = sample
    with_findings = [r["rule"] for r in document["summary"]["rules"] if r["findings"]]
    # The sample's findings move money, so the materiality sheet is there (no thresholds).
    assert document["summary"]["materiality"]["by_currency"]
    assert workbook.sheetnames == [
        "Summary",
        "Credits",
        "Credit totals",
        "Materiality",
        *with_findings,
    ]
    assert len(with_findings) == 17


@pytest.mark.parametrize("chunk", [None, 3])
def test_every_rule_sheet_holds_its_findings_cell_by_cell(tmp_path, monkeypatch, chunk):
    if chunk:  # rows are rendered a slice at a time: cross slice boundaries too
        monkeypatch.setattr(spreadsheet, "_CHUNK", chunk)
    document, workbook, _ = _write(recon.audit(SAMPLE, as_of=AS_OF), tmp_path)
    checked = 0
    for rule in {finding["rule"] for finding in document["findings"]}:
        sheet = workbook[rule]
        assert _header(sheet) == COLUMNS
        expected = [f for f in document["findings"] if f["rule"] == rule]
        rows = _data(sheet)
        assert len(rows) == len(expected) == sheet.max_row - 1
        for row, finding in zip(rows, expected, strict=True):
            for name, cell in zip(COLUMNS, row, strict=True):
                assert _same(cell, finding[name]), (rule, name, cell, finding[name])
                checked += 1
    assert checked == 57 * len(COLUMNS)


def test_summary_counts_each_rule_by_severity(sample):
    document, workbook, _ = sample
    summary = document["summary"]
    sheet = workbook["Summary"]
    assert _header(sheet) == (
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
    rows = _data(sheet)
    assert len(rows) == len(summary["rules"])
    for row, rule in zip(rows, summary["rules"], strict=True):
        found = [f for f in document["findings"] if f["rule"] == rule["rule"]]
        by_severity = [sum(f["severity"] == s for f in found) for s in ("error", "warning", "info")]
        assert row == (
            rule["rule"],
            rule["outcome"],
            rule["severity"],
            rule["evaluated"],
            len(found),
            *by_severity,
            None,
            rule["rule"],
        )
    first, _ = _filter(sheet)
    everything = list(sheet.iter_rows(values_only=True))
    assert everything[0][:2] == (
        "Verdict",
        "FAIL (--fail-on error, exit 1): 36 errors, 21 warnings, 0 info",
    )
    total = everything[first + len(rows)]
    assert total[:8] == ("All rules", None, None, None, 57, 36, 21, 0)
    facts = {row[0]: row[1] for row in everything[first + len(rows) + 1 :] if row[0]}
    assert facts["Verdict"] == "FAIL (--fail-on error, exit 1)"
    assert facts["As of (UTC)"] == AS_OF and facts["Snapshot"] == "sample_data"
    assert facts["Rule set"] == f"default (sha256 {summary['rule_set']['sources'][0]['sha256']})"
    files = {
        row[0]: row
        for row in everything
        if row[0] in {f["entity"] for f in summary["snapshot"]["files"]}
    }
    for file in summary["snapshot"]["files"]:
        assert files[file["entity"]][1:5] == (
            file["file"],
            file["format"],
            file["records"],
            file["sha256"],
        )


def test_skipped_rules_show_their_reason_and_no_sheet(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=80.0)], uses=[use(10, 1)]
    )
    _, workbook, _ = _write(audit(snapshot), tmp_path / "out")
    rows = {row[0]: row for row in _data(workbook["Summary"])}
    assert rows["extra_service_orphan"][1:5] == ("skipped", "error", None, 0)
    assert rows["extra_service_orphan"][8].startswith("no coworkerextraservices file")
    assert rows["balance_mismatch"][9] == "balance_mismatch"
    assert workbook.sheetnames == [
        "Summary",
        "Credits",
        "Credit totals",
        "Materiality",
        "balance_mismatch",
    ]


# --- the credit reconciliation -------------------------------------------------------------


def _independent_ledger():
    """Each credit's TotalCredit, RemainingCredit and uses, from the raw sample files, in
    Decimal: a use counts when its credit Id and CreditUsed are numbers, each use Id once."""
    pages = json.loads((SAMPLE / "coworkerbookingcredits.json").read_text(encoding="utf-8"))
    credits = {r["Id"]: r for page in pages for r in page["Records"]}
    sums, seen = {}, set()
    for line in (SAMPLE / "coworkerbookingcreditusehistories.jsonl").read_text().splitlines():
        use_record = json.loads(line)
        amount, key = use_record.get("CreditUsed"), use_record.get("CoworkerBookingCreditId")
        if not (isinstance(amount, int | float) and amount == amount and isinstance(key, int)):
            continue
        if key not in credits or use_record["Id"] in seen:
            continue
        seen.add(use_record["Id"])
        sums[key] = sums.get(key, Decimal(0)) + Decimal(str(amount))
    return credits, sums


def _decimal(value):
    return Decimal(repr(value)).quantize(Decimal("0.0001"))


@pytest.mark.parametrize(
    ("credit_id", "status"),
    [
        (10124, "mismatch"),  # RemainingCredit 12.50 too high
        (10237, "mismatch"),  # 40.00 spent, no uses
        (10286, "mismatch"),  # one cent
        (10155, "balanced"),  # 0.003 off: within the tolerance
        (10107, "balanced"),  # 0.10 + 0.20 = 0.30 exactly
        (10260, "balanced"),  # 5 x 41.67 + 41.65 = 250.00
        # a use row repeated in the file counts once; its duplicate_record findings name it
        (10264, "see findings"),
        (10014, "see findings"),  # two uses sharing a UniqueId both count
        (10126, "uses left out"),  # its use with CreditUsed "60.00" is left out
        # its use with a string CoworkerBookingCreditId is left out, and names no credit
        (10115, "balanced"),
    ],
)
def test_credits_sheet_agrees_with_an_independent_computation(sample, credit_id, status):
    _, workbook, _ = sample
    credits, sums = _independent_ledger()
    raw = credits[credit_id]
    total, remaining = Decimal(str(raw["TotalCredit"])), Decimal(str(raw["RemainingCredit"]))
    uses = sums.get(credit_id, Decimal(0))
    difference = total - remaining - uses
    assert (abs(difference) > Decimal("0.005")) == (status == "mismatch")
    row = _credits_by_id(workbook)[credit_id]
    assert row["Status"] == status
    assert (row["CoworkerId"], row["BusinessId"]) == (raw.get("CoworkerId"), raw["BusinessId"])
    assert (row["Location"], row["Description"]) == (raw["BusinessName"], raw["Description"])
    assert row["Currency"] == raw["BusinessCurrencyCode"]
    assert _decimal(row["TotalCredit"]) == total
    assert _decimal(row["RemainingCredit"]) == remaining
    assert _decimal(row["Uses sum"]) == uses
    assert _decimal(row["Difference (Total - Remaining - Uses)"]) == difference


def test_every_credit_is_listed_and_reconciles_to_the_cent(sample):
    document, workbook, _ = sample
    credits, _ = _independent_ledger()
    rows = _credits_by_id(workbook)
    assert sorted(rows) == sorted(credits) and len(rows) == 369
    for row in rows.values():
        total, remaining, uses, difference = (_decimal(row[name]) for name in AMOUNT_COLUMNS)
        assert total - remaining - uses == difference, row
    mismatched = {i for i, row in rows.items() if row["Status"] == "mismatch"}
    flagged = {f["record_id"] for f in document["findings"] if f["rule"] == "balance_mismatch"}
    assert mismatched == flagged == {10124, 10237, 10286}


def test_reconciliation_is_exact_and_says_what_it_could_not_judge(tmp_path):
    exact = rules_file(tmp_path, "[amounts]\ntolerance = 0\n")
    snapshot = write_snapshot(
        tmp_path / "s",
        credits=[
            credit(1, TotalCredit=0.3, RemainingCredit=0.0),
            credit(2, TotalCredit="100.00"),
            credit(3, RemainingCredit=100.01),
        ],
        uses=[use(10, 1, CreditUsed=0.1), use(11, 1, CreditUsed=0.2), use(12, 2)],
    )
    frame = credit_reconciliation(audit(snapshot, rules=exact))
    assert tuple(frame.columns) == RECONCILIATION_COLUMNS
    rows = {int(row["id"]): row for row in frame.to_dict("records")}
    assert rows[1]["status"] == "balanced" and rows[1]["difference"] == 0.0
    assert (rows[1]["uses"], rows[1]["uses_sum"]) == (2, 0.3)
    assert rows[2]["status"] == "not judged"
    assert rows[2]["total_credit"] != rows[2]["total_credit"]  # NaN: failed its schema
    assert rows[2]["difference"] != rows[2]["difference"]
    assert (rows[2]["remaining_credit"], rows[2]["uses"], rows[2]["uses_sum"]) == (100.0, 1, 10.0)
    assert rows[3]["status"] == "mismatch" and rows[3]["difference"] == -0.01


# --- layout and formats --------------------------------------------------------------------


def test_every_sheet_has_a_frozen_header_a_filter_and_widths(sample):
    _, workbook, data = sample
    for sheet in workbook:
        width = len(_header(sheet))
        rows = len(_data(sheet))
        first, _ = _filter(sheet)
        assert sheet.freeze_panes == f"A{first + 1}", sheet.title
        ref = f"A{first}:{get_column_letter(width)}{first + rows}"
        assert sheet.auto_filter.ref == ref, sheet.title
        for number in range(1, width + 1):
            assert 8 <= sheet.column_dimensions[get_column_letter(number)].width <= 80
        assert all(cell.font.b for cell in next(sheet.iter_rows(min_row=first, max_row=first)))
        # printed: landscape, fitted to the width, the header repeated on every page
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == f"${first}:${first}", sheet.title
    assert workbook["Summary"].auto_filter.ref == "A3:J20"
    workbook_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml").decode()
    assert workbook_xml.count('name="_xlnm._FilterDatabase"') == len(workbook.sheetnames)


def test_validity_dates_are_shown_as_every_report_shows_a_date_time(tmp_path):
    """To the second, with the microseconds only where a value has a fraction: the
    evidence page's form (Arrow's strftime wrote '.000000' after every second)."""
    credits = [
        credit(1, ValidFrom="2025-01-01T00:00:00", ExpireDate="2025-12-31T00:00:00"),
        credit(2, ValidFrom="2025-01-01T08:30:00.25", ExpireDate=None),
    ]
    snapshot = write_snapshot(tmp_path / "s", credits=credits, uses=[use(10, 1)])
    _, workbook, _ = _write(recon.audit(snapshot, as_of=AS_OF), tmp_path / "out")
    dates = {
        row["Id"]: (row["ValidFrom"], row["ExpireDate"])
        for row in _credits_by_id(workbook).values()
    }
    assert dates == {
        1: ("2025-01-01T00:00:00", "2025-12-31T00:00:00"),
        2: ("2025-01-01T08:30:00.250000", None),
    }


def test_amounts_carry_their_currency_format(sample):
    _, workbook, _ = sample
    sheet = workbook["Credits"]
    columns = [CREDIT_HEADER.index(name) for name in AMOUNT_COLUMNS]
    currency_column = CREDIT_HEADER.index("Currency")
    currencies = {}
    for row in sheet.iter_rows(min_row=2):
        currency = row[currency_column].value
        currencies[row[0].value] = currency
        for column in columns:
            cell = row[column]
            assert cell.data_type == "n" and cell.number_format == f'#,##0.00## "{currency}"'
        assert row[CREDIT_HEADER.index("Uses")].number_format == "General"
    assert set(currencies.values()) == {"GBP", "EUR"}
    amounts = 0
    for rule in ("balance_mismatch", "overdrawn_credit", "manual_adjustment", "non_positive_use"):
        for row in workbook[rule].iter_rows(min_row=2):
            currency = currencies[row[COLUMNS.index("credit_id")].value]
            for name in ("expected", "actual"):
                cell = row[COLUMNS.index(name)]
                if isinstance(cell.value, int | float):  # non_positive_use expects "> 0"
                    assert cell.number_format == f'#,##0.00## "{currency}"', (rule, name)
                    amounts += 1
                else:
                    assert cell.number_format == "General"
    assert amounts == 2 * 3 + 2 * 2 + 4 + 3
    minutes = workbook["extra_service_balance_mismatch"]["J2"]  # uses, not money
    assert minutes.data_type == "n" and minutes.number_format == "General"


# --- API text is data ----------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example","click me")'


@pytest.fixture
def hostile(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s",
        credits=[
            credit(
                1,
                Description=FORMULA,
                BusinessName="+1",
                BusinessCurrencyCode="@SUM(A1)",
                RemainingCredit=95.0,
                ExpireDate="-2+3",
            ),
            credit(2, Description="#REF!", BusinessName="\tTab", ValidFrom="=1+1"),
            credit(3, TotalCredit=50.0, RemainingCredit=-2.5, Description="nul\x00 ]]> <b> 😀"),
            credit(4, Description="  two\rlines\r\nand  "),
        ],
        uses=[manual_use(10, 1, -5.0, "=cmd|' /C calc'!A0"), use(11, 3, CreditUsed=52.5)],
    )
    return _write(audit(snapshot), tmp_path / "out")


def test_no_cell_is_a_formula_or_an_error(hostile):
    _, workbook, data = hostile
    archive = zipfile.ZipFile(io.BytesIO(data))
    sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
    assert len(sheets) == len(workbook.sheetnames)
    for name in sheets:
        xml = archive.read(name).decode("utf-8")
        assert not re.search(r"<f[ >]", xml), name
        assert ' t="e"' not in xml and ' t="str"' not in xml, name
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type not in ("f", "e"), (sheet.title, cell.coordinate, cell.value)


def test_formula_like_text_is_kept_as_text_with_a_quote_prefix(hostile):
    _, workbook, _ = hostile
    sheet = workbook["Credits"]
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    index = {name: CREDIT_HEADER.index(name) for name in CREDIT_HEADER}
    for credit_id, column, text in [
        (1, "Description", FORMULA),
        (1, "Location", "+1"),
        (1, "Currency", "@SUM(A1)"),
        (2, "Description", "#REF!"),
        (2, "Location", "\tTab"),
    ]:
        cell = cells[credit_id][index[column]]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True), column
    plain = cells[1][index["Status"]]
    assert (plain.value, plain.quotePrefix) == ("mismatch", False)
    # A currency that is not an ISO code cannot reach the number format.
    assert cells[1][index["TotalCredit"]].number_format == "#,##0.00##"
    violations = {row[0].value: row for row in workbook["schema_violation"].iter_rows(min_row=2)}
    actual = [
        (row[COLUMNS.index("actual")].value, row[COLUMNS.index("actual")].quotePrefix)
        for row in workbook["schema_violation"].iter_rows(min_row=2)
    ]
    assert ("-2+3", True) in actual and ("=1+1", True) in actual
    assert violations  # the sheet is there
    message = workbook["manual_adjustment"]["H2"]
    assert message.value.endswith(": =cmd|' /C calc'!A0") and not message.quotePrefix


def test_negative_amounts_stay_numbers(hostile):
    _, workbook, _ = hostile
    adjustment = workbook["manual_adjustment"][f"{get_column_letter(COLUMNS.index('actual') + 1)}2"]
    assert (adjustment.value, adjustment.data_type, adjustment.quotePrefix) == (-5, "n", False)
    overdrawn = _credits_by_id(workbook)[3]
    assert overdrawn["RemainingCredit"] == -2.5
    row = next(r for r in workbook["Credits"].iter_rows(min_row=2) if r[0].value == 3)
    remaining = row[CREDIT_HEADER.index("RemainingCredit")]
    assert remaining.data_type == "n" and remaining.number_format == '#,##0.00## "GBP"'


def test_text_xml_cannot_carry_is_replaced_and_the_rest_kept(hostile):
    _, workbook, _ = hostile
    credits = _credits_by_id(workbook)
    assert credits[3]["Description"] == "nul\ufffd ]]> <b> 😀"
    assert credits[4]["Description"] == "  two\rlines\r\nand  "  # CR and spaces kept


# --- stability, limits, names --------------------------------------------------------------


def test_workbook_is_byte_stable_and_dated_as_of(tmp_path):
    first = _write(recon.audit(SAMPLE, as_of=AS_OF), tmp_path / "a")
    second = _write(recon.audit(SAMPLE, as_of=AS_OF), tmp_path / "b")
    assert first[2] == second[2]
    properties = first[1].properties
    assert str(properties.created) == str(properties.modified) == "2025-12-31 00:00:00"
    # No entry is dated by the clock: each carries the zip format's zero date, as Excel's own.
    dates = {info.date_time for info in zipfile.ZipFile(io.BytesIO(first[2])).infolist()}
    assert dates == {(1980, 1, 1, 0, 0, 0)}


def test_sheets_stop_at_excels_row_limit_and_say_so(tmp_path, monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_ROWS", 2)
    _, workbook, _ = _write(recon.audit(SAMPLE, as_of=AS_OF), tmp_path)
    sheet = workbook["schema_violation"]
    assert sheet.max_row == 3 and sheet.auto_filter.ref == "A1:P3"
    assert workbook["Credits"].max_row == 3
    notes = [row[1] for row in workbook["Summary"].iter_rows(values_only=True) if row[0] == "Note"]
    assert "sheet schema_violation lists the first 2 of 8 rows (Excel's limit)" in notes
    assert "sheet Credits lists the first 2 of 369 rows (Excel's limit)" in notes


def test_sheet_names_are_legal_short_and_unique():
    names = report_xlsx._sheet_names(
        ["a" * 40, "a" * 40 + "b", "what?[is]:this*/\\", "summary", "History", "'quoted'"]
    )
    assert list(names.values()) == [
        "a" * 31,
        "a" * 29 + "~2",
        "what__is__this___",
        "summary~2",
        "History~2",
        "quoted",
    ]
    assert all(len(name) <= 31 for name in names.values())


def test_cli_writes_only_the_formats_asked_for(tmp_path):
    formats = ["--format", "junit", "--format", "xlsx"]
    run = subprocess.run(
        [sys.executable, "-m", "recon", "audit", SAMPLE, "--out", tmp_path / "out", *formats, "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "junit.xml",
        "report.xlsx",
    ]
    assert zipfile.is_zipfile(tmp_path / "out" / "report.xlsx")


def test_every_credit_status_agrees_with_findings_json(sample):
    """The Credits sheet never calls a credit balanced that findings.json names, and each
    balance verdict is exactly the balance rules' findings."""
    document, workbook, _ = sample
    rows = _credits_by_id(workbook)
    named: dict[int, set[str]] = {}
    for finding in document["findings"]:
        if finding["credit_id"] is not None:
            named.setdefault(finding["credit_id"], set()).add(finding["rule"])
    for credit_id, row in rows.items():
        rules = named.get(credit_id, set())
        assert ("mismatch" in row["Status"]) == ("balance_mismatch" in rules), row
        assert ("overdrawn" in row["Status"]) == ("overdrawn_credit" in rules), row
        assert row["Findings"] == sum(f["credit_id"] == credit_id for f in document["findings"]), (
            row
        )
        assert (row["Rules"] or "") == ", ".join(sorted(rules)), row
        if rules:
            assert row["Status"] != "balanced", row
    assert {10272, 10342} <= {i for i, row in rows.items() if "overdrawn" in row["Status"]}


def test_credit_totals_sum_each_location_and_currency(sample):
    _, workbook, _ = sample
    credits = _credits_by_id(workbook).values()
    sheet = workbook["Credit totals"]
    header = _header(sheet)
    totals = [dict(zip(header, row, strict=True)) for row in _data(sheet)]
    by_location = [row for row in totals if row["BusinessId"] != "total"]
    assert sum(row["Credits"] for row in by_location) == len(credits)
    for row in totals:
        mine = [
            c
            for c in credits
            if (row["BusinessId"] == "total" or str(c["BusinessId"]) == row["BusinessId"])
            and (c["Currency"] or "") == row["Currency"]
        ]
        assert row["Credits"] == len(mine), row
        expected = sum(Decimal(repr(c["TotalCredit"] or 0)) for c in mine)
        assert _decimal(row["TotalCredit"]) == expected, row
        assert row["Not balanced"] == sum(c["Status"] != "balanced" for c in mine), row
    currencies = {row["Currency"] for row in by_location}
    assert {row["Currency"] for row in totals if row["BusinessId"] == "total"} == currencies


def test_the_gate_off_is_never_called_a_pass(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=80.0)], uses=[use(10, 1)]
    )
    _, workbook, _ = _write(audit(snapshot, fail_on="never"), tmp_path / "out")
    verdict = next(workbook["Summary"].iter_rows(max_row=1, values_only=True))
    assert verdict[0] == "Verdict" and verdict[1].startswith(
        "NOT GATED (--fail-on never): 1 errors"
    )
    assert "PASS" not in verdict[1]


def test_every_amount_on_the_credits_sheet_is_the_reconciliations_float_exactly(sample):
    """Money cells hold the reconciliation's values bit for bit (no rounding on the way to
    text and back); an amount the reconciliation could not compute is an empty cell."""
    _, workbook, _ = sample
    frame = credit_reconciliation(recon.audit(SAMPLE, as_of=AS_OF))
    rows = _credits_by_id(workbook)
    names = dict(zip(AMOUNT_COLUMNS, report_xlsx._CREDIT_AMOUNTS, strict=True))
    checked = 0
    for record in frame.to_dict("records"):
        row = rows[int(record["id"])]
        for header, name in names.items():
            value = record[name]
            if value != value:  # NaN: not computed
                assert row[header] is None, (record["id"], header)
            else:
                assert row[header] == value and type(row[header]) in (int, float), (
                    record["id"],
                    header,
                    row[header],
                    value,
                )
            checked += 1
    assert checked == 4 * 369


def test_a_sheet_that_might_pass_4_gib_is_measured_first_and_gives_the_same_bytes(
    tmp_path, monkeypatch
):
    """A sheet whose XML could exceed what a plain zip entry holds is written to a file
    first, to learn whether it needs zip64; the workbook is the same either way."""
    result = recon.audit(SAMPLE, as_of=AS_OF)
    recon.write_reports(result, tmp_path / "streamed", ["xlsx"])
    monkeypatch.setattr(spreadsheet, "_most", lambda sheet: 1 << 40)
    recon.write_reports(result, tmp_path / "measured", ["xlsx"])
    streamed = (tmp_path / "streamed" / "report.xlsx").read_bytes()
    assert (tmp_path / "measured" / "report.xlsx").read_bytes() == streamed


def test_the_sheets_xml_bound_holds_for_the_sample(sample):
    """``_most`` is an upper bound of each sheet's XML: the size that decides zip64."""
    _, workbook, data = sample
    archive = zipfile.ZipFile(io.BytesIO(data))
    sizes = {
        info.filename: info.file_size
        for info in archive.infolist()
        if info.filename.startswith("xl/worksheets/")
    }
    assert len(sizes) == len(workbook.sheetnames)
    # re-render the sheets to read the bound report_xlsx gives each
    context = recon.report.context.build_context(recon.audit(SAMPLE, as_of=AS_OF), ["xlsx"])
    paper = report_xlsx.Workpaper.of(context)
    sheets = [sheet for make in report_xlsx._SHEETS for sheet in make(paper)]
    sheets = [report_xlsx._summary_sheet(paper, sheets), *sheets]
    for number, sheet in enumerate(sheets, start=1):
        assert sizes[f"xl/worksheets/sheet{number}.xml"] < spreadsheet._most(sheet), sheet.title


@pytest.mark.skipif(
    shutil.which("libreoffice") is None and shutil.which("soffice") is None,
    reason="LibreOffice is not installed (not installed for this test)",
)
def test_libreoffice_opens_the_workpaper_and_reads_the_credits(sample, tmp_path):
    """A real spreadsheet application opens the file and finds every credit's status."""
    _, workbook, data = sample
    (tmp_path / "report.xlsx").write_bytes(data)
    office = shutil.which("libreoffice") or shutil.which("soffice")
    converted = subprocess.run(
        [
            office,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(tmp_path / "csv"),
            str(tmp_path / "report.xlsx"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert converted.returncode == 0, converted.stderr
    credits = tmp_path / "csv" / "report-Credits.csv"  # -1 above: each sheet to its own file
    lines = list(csv.reader(credits.read_text(encoding="utf-8").splitlines()))
    assert tuple(lines[0]) == CREDIT_HEADER
    statuses = {int(line[0]): line[-1] for line in lines[1:]}
    assert statuses == {i: row["Status"] for i, row in _credits_by_id(workbook).items()}


def test_infinity_in_a_column_of_amounts_is_text_and_the_rest_stay_amounts():
    """An XML number cannot hold infinity: such a cell shows its text, and its neighbours
    keep their currency format."""
    amounts = pa.array([1.5, float("inf"), None, -float("inf"), -2.25])
    table = spreadsheet.Table(
        [pa.array([1, 2, 3, 4, 5]), amounts],
        5,
        frozenset({1}),
        pa.array(["GBP", "GBP", "EUR", None, "EUR"]),
    )
    sheet = spreadsheet.Sheet("Amounts", ("Id", "Amount"), table)
    properties = spreadsheet.Properties("recon test", "infinity", dt.datetime(2025, 12, 31))
    data = spreadsheet.write_workbook([sheet], properties, ["GBP", "EUR"])
    rows = list(openpyxl.load_workbook(io.BytesIO(data))["Amounts"].iter_rows(min_row=2))
    shown = [(row[1].value, row[1].number_format) for row in rows]
    assert shown == [
        (1.5, '#,##0.00## "GBP"'),
        ("inf", "General"),
        (None, "General"),
        ("-inf", "General"),
        (-2.25, '#,##0.00## "EUR"'),
    ]


def test_subtotals_count_the_reconciliations_statuses_as_worked_out_alone():
    """The totals sheet takes each credit's status from the Credits sheet's table (one
    place works it out); without that table it works it out the same way."""
    result = recon.audit(SAMPLE, as_of=AS_OF)
    table = credit_reconciliation(result)
    given, alone = reconciliation_subtotals(result, table), reconciliation_subtotals(result)
    pd.testing.assert_frame_equal(given, alone)
    assert given["not_balanced"].sum() > 0  # the sample has credits of several statuses


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.text(), max_size=30),
    start=st.integers(0, 30),
    length=st.integers(0, 30),
    split=st.integers(0, 30),
)
def test_concatenated_rows_are_their_text_in_order(values, start, length, split):
    # A sheet's rows are read from Arrow's value buffer between the first and last offset:
    # slices (an offset into the buffers) and chunks give the same bytes as joining.
    from recon.report.spreadsheet import _concatenated

    array = pa.array(values, pa.string())
    part = array.slice(start, length)
    assert _concatenated(part) == "".join(part.to_pylist()).encode()
    cut = min(split, len(values))
    chunked = pa.chunked_array([array.slice(0, cut), array.slice(cut)], pa.string())
    assert _concatenated(chunked) == "".join(values).encode()
