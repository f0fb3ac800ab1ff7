"""findings.json, report.md and report.html: one context, escaped, byte-stable, and
written atomically."""

import hashlib
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from builders import AS_OF, audit, credit, manual_use, use, write_file, write_snapshot

import recon
from recon.report import context as report_context

XSS = '<script>alert("recon-xss")</script>'
SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


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
        "impact": "5.00",  # TotalCredit - RemainingCredit - uses, exact
        "currency": "GBP",
        # v1: sha256 of rule, entity, UniqueId and discriminator, joined by U+001F
        "fingerprint": "v1:1e7fd9b5be25411165af72acdf27ead7",
        "baseline": None,  # no --baseline given
        "first_seen": "2025-12-31T00:00:00Z",  # this run: the first that saw it
        "waiver": None,
    }


def _records(path):
    """The records of a snapshot file as sent: JSON Lines, an array, or an array of pages."""
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    document = json.loads(path.read_text())
    if document and all(isinstance(item, dict) and "Records" in item for item in document):
        return [record for page in document for record in page["Records"]]
    return document


# Each sample file, and the other form its shuffled copy is written in.
_OTHER_FORM = {
    "coworkerbookingcredits": "jsonl",  # the sample's is an array of API pages
    "coworkerbookingcreditusehistories": "envelope",  # the sample's is JSON Lines
    "coworkerextraservices": "jsonl",  # a plain array
    "coworkerextraserviceusehistories": "json",  # JSON Lines
}


def _shuffled_copy(directory):
    """The sample's records in another order, in every file, each file in another form.

    Returns, per file, the old and new file names and where each old row went
    (``moved[entity_file][old_row] == new_row``, 1-based as findings' ``row``).
    """
    rng = random.Random(2)  # a shuffle that swaps the two rows of a repeated use
    renamed, moved = {}, {}
    for path in sorted(SAMPLE.glob("coworker*")):
        records = _records(path)
        order = list(range(len(records)))
        rng.shuffle(order)
        assert order != sorted(order)
        written = write_file(
            directory, path.stem, [records[i] for i in order], _OTHER_FORM[path.stem]
        )
        renamed[path.name] = written.name
        moved[path.name] = {old + 1: new + 1 for new, old in enumerate(order)}
    return renamed, moved


def _in_sort_order(findings):
    """Findings that differ only from the ``row`` on keep recon's order: by row, then message."""
    keys = ("rule", "entity", "record_id", "credit_id", "field")
    ordered = []
    for _, group in itertools.groupby(findings, key=lambda f: tuple(f[k] for k in keys)):
        ordered += sorted(group, key=lambda f: (f["row"], f["message"]))
    return ordered


def test_outputs_do_not_depend_on_the_order_or_form_of_the_input(tmp_path):
    """The sample (every rule fires), and a copy with every file shuffled and in another
    form, audited by the real CLI in another process (another hash seed): the outputs are
    the same bytes, but for what describes the input itself.

    What may differ, exactly: each finding's ``row`` is where its record moved, and the
    snapshot's file names, formats and SHA-256 are those of the new files. Nothing else.
    """
    shuffled = tmp_path / SAMPLE.name
    renamed, moved = _shuffled_copy(shuffled)
    before, after = tmp_path / "before", tmp_path / "after"
    recon.write_reports(audit(SAMPLE, fail_on="never"), before, ["json", "md", "junit"])
    command = [sys.executable, "-m", "recon", "audit", str(shuffled), "--out", str(after), "-q"]
    command += ["--as-of", AS_OF, "--fail-on", "never"]
    subprocess.run(
        [*command, "--format", "json", "--format", "md", "--format", "junit"], check=True
    )

    assert (after / "junit.xml").read_bytes() == (before / "junit.xml").read_bytes()

    markdown = (before / "report.md").read_text()
    for old, new in renamed.items():
        assert f"`{old}`" in markdown
        markdown = markdown.replace(f"`{old}`", f"`{new}`")
    assert (after / "report.md").read_bytes() == markdown.encode()

    original = (before / "findings.json").read_text()
    expected = json.loads(original)
    assert _findings_json(expected) == original  # the test writes JSON as recon does
    file_of = {file["entity"]: file["file"] for file in expected["summary"]["snapshot"]["files"]}
    for file in expected["summary"]["snapshot"]["files"]:
        file["file"] = renamed[file["file"]]
        file["format"] = Path(file["file"]).suffix.removeprefix(".")
        file["sha256"] = hashlib.sha256((shuffled / file["file"]).read_bytes()).hexdigest()
    for finding in expected["findings"]:
        finding["row"] = moved[file_of[finding["entity"]]][finding["row"]]
    in_order = _in_sort_order(expected["findings"])
    assert in_order != expected["findings"]  # two findings told apart by row alone swapped
    expected["findings"] = in_order
    assert (after / "findings.json").read_bytes() == _findings_json(expected).encode()


def _findings_json(document):
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def test_html_is_byte_stable_across_runs(tmp_path):
    # Not from a shuffled copy: the evidence of a repeated key lists its records in file
    # order, with their rows (see the test above for every other output).
    snapshot = _snapshot(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    recon.write_reports(audit(snapshot), first, ["html"])
    recon.write_reports(audit(snapshot), second, ["html"])
    assert (first / "report.html").read_bytes() == (second / "report.html").read_bytes()


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


def test_markdown_never_makes_api_text_a_link_image_or_mention(tmp_path):
    note = "see [link](http://evil.example) ![x](http://evil.example/x.png) @admin www.evil.example"
    snapshot = write_snapshot(
        tmp_path / "s",
        credits=[credit(1, RemainingCredit=95.0)],
        uses=[manual_use(10, 1, 5.0, note)],
    )
    recon.write_reports(audit(snapshot), tmp_path / "out", ["md"])
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "[link](" not in markdown and "![x](" not in markdown
    assert "\\[link\\]\\(" in markdown  # shown as text, escaped
    assert "http://" not in markdown and "@admin" not in markdown and "www.evil" not in markdown


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


@pytest.mark.parametrize("credits", [[], [credit(1, Id=None)], [credit(1, Id="x")]])
def test_uses_without_a_usable_credit_still_get_every_report(tmp_path, credits):
    """The API's own example responses hold uses and an empty credit page: every report is
    still written, each use an orphan (report_html._places raised IndexError here)."""
    snapshot = write_snapshot(tmp_path / "s", credits=credits, uses=[use(10, 1), use(11, 2)])
    result = audit(snapshot)
    written = recon.write_reports(result, tmp_path / "out")
    assert len(written) == 5
    document = json.loads((tmp_path / "out" / "findings.json").read_text())
    orphans = [f["record_id"] for f in document["findings"] if f["rule"] == "orphan_use"]
    assert orphans == [10, 11]
    assert "orphan_use" in (tmp_path / "out" / "report.html").read_text()
