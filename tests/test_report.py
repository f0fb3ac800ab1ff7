"""findings.json, report.md and report.html: one context, escaped, byte-stable, and
written atomically."""

import json
from pathlib import Path

import pytest
from builders import audit, credit, manual_use, use, write_snapshot

import recon
from recon.report import context as report_context

XSS = '<script>alert("recon-xss")</script>'


def _snapshot(tmp_path):
    note = manual_use(11, 1, -10.0, f"{XSS} | pipe")
    return write_snapshot(
        tmp_path / "snapshot",
        credits=[credit(1, RemainingCredit=80.0)],
        uses=[use(10, 1, CreditUsed=25.0), note],
    )


def test_findings_json_has_the_contract_shape(tmp_path):
    result = audit(_snapshot(tmp_path))
    recon.write_reports(result, tmp_path / "out", ["json"])
    document = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert list(document) == ["summary", "findings"]
    summary = document["summary"]
    assert summary["findings"] == 2
    assert summary["by_rule"]["balance_mismatch"] == 1 and summary["by_rule"]["orphan_use"] == 0
    assert summary["by_severity"] == {"error": 1, "warning": 1, "info": 0}
    assert summary["as_of"] == "2025-12-31T00:00:00Z"
    assert (summary["status"], summary["fail_on"], summary["exit_code"]) == ("fail", "error", 1)
    assert [file["entity"] for file in summary["snapshot"]["files"]] == [
        "CoworkerBookingCredit",
        "CoworkerBookingCreditUseHistory",
    ]
    assert [finding["rule"] for finding in document["findings"]] == [
        "balance_mismatch",
        "manual_adjustment",
    ]
    assert all(list(finding) == list(recon.findings.COLUMNS) for finding in document["findings"])


def test_findings_json_values(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s",
        credits=[credit(1, RemainingCredit=60.0)],
        uses=[use(10, 1, CreditUsed=35.0)],
    )
    result = audit(snapshot)
    recon.write_reports(result, tmp_path / "out", ["json"])
    (hit,) = json.loads((tmp_path / "out" / "findings.json").read_text())["findings"]
    assert hit == {
        "rule": "balance_mismatch",
        "severity": "error",
        "entity": "CoworkerBookingCredit",
        "record_id": 1,
        "credit_id": 1,
        "field": None,
        "row": 1,
        "message": "TotalCredit - RemainingCredit = 100.00 GBP - 60.00 GBP = 40.00 GBP but its "
        "1 use sums to 35.00 GBP (difference 5.00 GBP, tolerance 0.005)",
        "expected": 40.0,
        "actual": 35.0,
    }


def test_every_output_is_byte_stable_across_runs(tmp_path):
    snapshot = _snapshot(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    recon.write_reports(audit(snapshot), first)
    recon.write_reports(audit(snapshot), second)
    for name in ("findings.json", "report.md", "report.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_html_escapes_data_from_the_api(tmp_path):
    recon.write_reports(audit(_snapshot(tmp_path)), tmp_path / "out", ["html"])
    html = (tmp_path / "out" / "report.html").read_text()
    assert XSS not in html
    assert "&lt;script&gt;alert(&#34;recon-xss&#34;)&lt;/script&gt;" in html


def test_markdown_keeps_html_inert_and_tables_intact(tmp_path):
    recon.write_reports(audit(_snapshot(tmp_path)), tmp_path / "out", ["md"])
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "<script>" not in markdown
    assert "&lt;script&gt;" in markdown and "\\| pipe" in markdown
    row = next(
        line for line in markdown.splitlines() if "manual_adjustment" in line and "pipe" in line
    )
    assert row.count(" | ") == 5  # six cells: the pipe in the data did not split one


def test_long_reports_cap_the_rows_they_list(tmp_path, monkeypatch):
    monkeypatch.setattr(report_context, "HTML_ROW_LIMIT", 1)
    monkeypatch.setattr(report_context, "MARKDOWN_ROW_LIMIT", 1)
    recon.write_reports(audit(_snapshot(tmp_path)), tmp_path / "out")
    assert (
        "This page lists the first 1 of 2 findings"
        in (tmp_path / "out" / "report.html").read_text()
    )
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "### Findings (first 1 of 2, errors first)" in markdown and "…and 1 more" in markdown


def test_write_reports_replaces_files_and_leaves_no_temporaries(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "findings.json").write_text("old")
    (out / "notes.txt").write_text("mine")
    written = recon.write_reports(audit(_snapshot(tmp_path)), out)
    assert sorted(path.name for path in written) == [
        "findings.json",
        "junit.xml",
        "report.html",
        "report.md",
        "report.xlsx",
    ]
    assert sorted(path.name for path in out.iterdir()) == [
        "findings.json",
        "junit.xml",
        "notes.txt",
        "report.html",
        "report.md",
        "report.xlsx",
    ]
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "findings.json").read_text() != "old"


def test_a_failed_write_leaves_the_directory_as_it_was(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "findings.json").write_text("old")
    original = Path.replace
    calls = []

    def flaky(self, target):
        calls.append(target)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", flaky)
    with pytest.raises(recon.OutputError, match="No space left on device"):
        recon.write_reports(audit(_snapshot(tmp_path)), out)
    monkeypatch.setattr(Path, "replace", original)
    assert calls
    assert sorted(path.name for path in out.iterdir()) == ["findings.json"]
    assert (out / "findings.json").read_text() == "old"


def test_out_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(recon.OutputError, match="is a file, not a directory"):
        recon.write_reports(audit(_snapshot(tmp_path)), tmp_path / "taken")


def test_as_of_is_recorded_in_every_output(tmp_path):
    recon.write_reports(
        audit(_snapshot(tmp_path), as_of="2025-09-30T23:59:59+02:00"), tmp_path / "out"
    )
    for name in ("findings.json", "report.md", "report.html"):
        assert "2025-09-30T21:59:59Z" in (tmp_path / "out" / name).read_text(), name


def test_a_fetched_snapshot_is_titled_by_its_run_source_and_date(tmp_path):
    from recon.report.context import title_of

    summary = {
        "snapshot": {
            "name": "snapshot",
            "manifest": {
                "base_url": "http://127.0.0.1:8080",
                "fetch_finished": "2025-12-31T06:00:00Z",
            },
        }
    }
    assert title_of(summary, "recon run nightly") == (
        "recon run nightly (from http://127.0.0.1:8080, fetched 2025-12-31)"
    )
    summary["snapshot"]["manifest"] = None
    assert title_of(summary) == "recon audit of snapshot"
    out = tmp_path / "nightly"
    recon.write_reports(audit(_snapshot(tmp_path)), out, ["md"], title="recon run nightly")
    assert (out / "report.md").read_text().startswith("## recon run nightly: ")
