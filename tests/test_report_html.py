"""What report.html shows beyond findings.json: evidence, places, monthly sums, the script.

The page itself is tested in a browser (test_report_browser.py); these tests read
the context ``recon.report.html`` builds, and the rendered text.
"""

import base64
import hashlib
import json
import re

from builders import audit, audit_records, credit, invoice_use, manual_use, use, write_snapshot

import recon
from recon.report import html as report_html
from recon.report.context import HTML_ROW_LIMIT, findings_records
from recon.report.html import html_context
from recon.snapshot import sha256_file


def _context(result, limit=HTML_ROW_LIMIT):
    return html_context(result, findings_records(result.findings), limit)


def _row(context, rule):
    (row,) = [row for row in context["rows"] if row["rule"] == rule]
    return row


def _fields(evidence):
    return {field["name"]: field for field in evidence["fields"]}


def test_balance_mismatch__evidence_is_the_ledger_and_the_arithmetic(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=60.0)],
        uses=[
            use(11, 1, CreditUsed=10.0, BookingFromTime="2025-03-20T10:00:00"),
            use(10, 1, CreditUsed=25.0),
            use(12, 1, CreditUsed="x", BookingFromTime="2025-03-25T10:00:00"),
        ],
    )
    evidence = _row(_context(result), "balance_mismatch")["evidence"]
    assert evidence["kind"] == "ledger"
    assert _fields(evidence)["TotalCredit"]["value"] == "100.00"
    assert [(line["label"], line["value"]) for line in evidence["arithmetic"]] == [
        ("TotalCredit", "100.00 GBP"),
        ("minus RemainingCredit", "60.00 GBP"),
        ("= consumed, by the balance", "40.00 GBP"),
        ("sum of CreditUsed over its 2 counted uses", "35.00 GBP"),
        ("difference", "5.00 GBP"),
        ("uses left out of the sum", "1"),
    ]
    assert "a mismatch" in evidence["arithmetic"][-2]["note"]
    assert "failed its schema" in evidence["arithmetic"][-1]["note"]
    table = evidence["table"]
    assert table["caption"] == "3 uses, by usage time"
    assert [row["cells"] for row in table["rows"]] == [
        ["10", "2025-03-14T10:00:00", "booking 9010", "25.00", "25.00"],
        ["11", "2025-03-20T10:00:00", "booking 9011", "10.00", "35.00"],
        [
            "12",
            "2025-03-25T10:00:00",
            "booking 9012",
            "?",
            "not counted: no valid CreditUsed",
        ],
    ]
    assert [row["muted"] for row in table["rows"]] == [False, False, True]


def test_balance_mismatch__sums_are_exact_and_a_repeated_use_counts_once(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, TotalCredit=0.3, RemainingCredit=0.0)],
        uses=[
            invoice_use(10, 1, CreditUsed=0.1),
            invoice_use(11, 1, CreditUsed=0.2),
            invoice_use(11, 1, CreditUsed=0.2),
            manual_use(12, 1, 0.1, "goodwill"),
        ],
    )
    evidence = _row(_context(result), "balance_mismatch")["evidence"]
    values = {line["label"]: line["value"] for line in evidence["arithmetic"]}
    assert values["sum of CreditUsed over its 3 counted uses"] == "0.40 GBP"
    assert values["difference"] == "-0.10 GBP"
    running = [row["cells"][4] for row in evidence["table"]["rows"]]
    assert running == ["0.10", "0.30", "not counted: a repeated use Id", "0.40"]


def test_expired_credit_use__evidence_is_the_window_beside_the_usage_time(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[use(10, 1, BookingFromTime="2025-04-02T09:30:00", BookingToTime=None)],
    )
    evidence = _row(_context(result), "expired_credit_use")["evidence"]
    fields = _fields(evidence)
    assert fields["credit's ExpireDate"]["value"] == "2025-03-31T00:00:00"
    assert fields["credit's ExpireDate"]["note"] == "midnight: covers all of 2025-03-31"
    used = fields["usage time (BookingFromTime)"]
    assert (used["value"], used["note"], used["flag"]) == (
        "2025-04-02T09:30:00",
        "1 d 9 h 30 min after the window closed",
        True,
    )
    timeline = evidence["timeline"]
    assert not timeline["inside"]
    assert timeline["left"] < timeline["left"] + timeline["width"] < timeline["used"]


def test_orphan_use__evidence_is_the_link_fields(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1)], uses=[use(10, 7, CreditUsed=0.0)])
    context = _context(result)
    fields = _fields(_row(context, "orphan_use")["evidence"])
    assert fields["CoworkerBookingCreditId"]["note"] == "matches no credit in the snapshot"
    assert fields["CoworkerBookingCreditId"]["flag"]
    assert (fields["BookingId"]["value"], fields["BookingId"]["note"]) == ("9010", "linked")
    assert fields["EventAttendeeId"]["value"] == "none"
    assert _row(context, "orphan_use")["location"] == ""


def test_schema_violation__evidence_is_the_record_with_the_value_as_sent(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1, TotalCredit="60.00")], uses=[])
    fields = _fields(_row(_context(result), "schema_violation")["evidence"])
    assert fields["TotalCredit"]["value"] == 'as sent: "60.00"'
    assert fields["TotalCredit"]["flag"]


def test_duplicate_record__evidence_lists_the_records_sharing_the_key(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1), credit(1, CoworkerId=7)], uses=[])
    rows = [row for row in _context(result)["rows"] if row["rule"] == "duplicate_record"]
    assert len(rows) == 2
    table = rows[0]["evidence"]["table"]
    assert [cells["cells"][:2] for cells in table["rows"]] == [["1", "1"], ["2", "1"]]


def test_findings_are_counted_by_location_and_currency(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[
            credit(1, RemainingCredit=50.0),
            credit(2, BusinessId=2, BusinessName="Berlin", BusinessCurrencyCode="EUR"),
        ],
        uses=[use(10, 2, CreditUsed=-1.0), use(11, 99)],
    )
    context = _context(result)
    places = {row["business"]: row for row in context["by_location"]}
    assert places["1"]["name"] == "Shoreditch" and places["1"]["total"] == 1
    assert places["2"]["name"] == "Berlin" and places["2"]["currency"] == "EUR"
    assert places[""]["name"] == "no location known" and places[""]["total"] == 1  # the orphan
    assert sum(row["total"] for row in context["by_location"]) == len(result.findings)
    currencies = {row["currency"]: row for row in context["by_currency"]}
    assert currencies["EUR"]["total"] == places["2"]["total"]
    assert currencies["GBP"]["issued"] == "100.00" and currencies["EUR"]["consumed"] == "-1.00"
    assert _row(context, "orphan_use")["currency"] == ""
    berlin = next(row for row in context["rows"] if row["record"] == "10")
    assert (berlin["location"], berlin["currency"]) == ("Berlin (2)", "EUR")


def test_credit_issued_and_consumed_by_month_per_currency(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[
            credit(1, TotalCredit=0.1, RemainingCredit=0.0),
            credit(2, TotalCredit=0.2, RemainingCredit=0.0, ValidFrom="2025-05-01T00:00:00"),
            credit(3, BusinessCurrencyCode="EUR", ValidFrom=None, CreatedOn="2025-02-03T00:00:00Z"),
        ],
        uses=[
            invoice_use(10, 1, CreditUsed=0.1),
            invoice_use(11, 2, CreditUsed=0.2, CreatedOn="2025-05-02T00:00:00Z"),
        ],
    )
    charts = {chart["currency"]: chart for chart in _context(result)["monthly"]}
    gbp = charts["GBP"]
    assert [month["label"] for month in gbp["months"]] == ["2025-03", "2025-04", "2025-05"]
    assert (gbp["issued"], gbp["consumed"]) == ("0.30", "0.30")
    titles = [bar["title"] for month in gbp["months"] for bar in month["bars"]]
    assert titles[:2] == ["2025-03: issued GBP 0.10", "2025-03: consumed GBP 0.10"]
    assert "2025-04: issued GBP 0.00" in titles
    heights = [bar["height"] for month in gbp["months"] for bar in month["bars"]]
    assert heights[4] == max(heights) and heights[2] == 0
    assert [month["label"] for month in charts["EUR"]["months"]] == ["2025-02"]


def test_the_page_lists_at_most_the_row_limit(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1, RemainingCredit=1.0)], uses=[use(10, 9)])
    context = _context(result, limit=1)
    assert (context["total"], context["shown"], len(context["rows"])) == (2, 1, 1)


def test_the_content_security_policy_names_the_inlined_script(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1)], uses=[])
    recon.write_reports(result, tmp_path / "out", ["html"])
    html = (tmp_path / "out" / "report.html").read_text()
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    (policy,) = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy
    assert "http" not in html.replace("http-equiv", "")  # no URL to fetch anything from


def test_the_manifest_of_a_fetched_snapshot_is_shown(tmp_path):
    snapshot = write_snapshot(tmp_path / "snapshot", credits=[credit(1)], uses=[])
    entities = {
        name: {"file": path.name, "sha256": sha256_file(path), "notes": notes}
        for name, path, notes in (
            ("CoworkerBookingCredit", snapshot / "coworkerbookingcredits.jsonl", []),
            (
                "CoworkerBookingCreditUseHistory",
                snapshot / "coworkerbookingcreditusehistories.jsonl",
                ["offset paging"],
            ),
        )
    }
    manifest = {"base_url": "https://spaces.nexudus.com", "filters": {"BusinessId": "1"}}
    (snapshot / "manifest.json").write_text(json.dumps({**manifest, "entities": entities}))
    facts = {fact["label"]: fact["value"] for fact in _context(audit(snapshot))["manifest"]}
    assert facts == {
        "fetched from": "https://spaces.nexudus.com",
        "filters": '{"BusinessId": "1"}',
        "CoworkerBookingCreditUseHistory notes": "offset paging",
    }
    assert _context(audit_records(tmp_path / "other", credits=[credit(1)]))["manifest"] is None


def test_a_run_that_writes_no_html_does_not_build_its_context(tmp_path, monkeypatch):
    def refuse(*arguments):
        raise AssertionError("html_context built for a run without report.html")

    monkeypatch.setattr(report_html, "html_context", refuse)
    result = audit_records(tmp_path, credits=[credit(1, RemainingCredit=1.0)], uses=[])
    recon.write_reports(result, tmp_path / "out", ["json", "md"])
    assert (tmp_path / "out" / "findings.json").exists()


def test_amounts_on_the_page_have_thousands_separators_and_their_currency(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, TotalCredit=1234567.5, RemainingCredit=1000000.0)],
        uses=[use(10, 1, CreditUsed=1234.5)],
    )
    evidence = _row(_context(result), "balance_mismatch")["evidence"]
    lines = {line["label"]: line["value"] for line in evidence["arithmetic"]}
    assert lines["TotalCredit"] == "1,234,567.50 GBP"
    assert lines["= consumed, by the balance"] == "234,567.50 GBP"
    assert _fields(evidence)["TotalCredit"]["value"] == "1,234,567.50"
    assert evidence["table"]["rows"][0]["cells"][3] == "1,234.50"
