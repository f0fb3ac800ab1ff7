"""junit.xml: one test case per rule, failing, passing or skipped as --fail-on says, counts
that agree with findings.json, and well-formed whatever text the API sent."""

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from builders import audit, credit, manual_use, rules_file, use, write_snapshot

import recon
from recon.report import junit as report_junit
from recon.report.junit import xml_text

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2025-12-31T00:00:00Z"


def _reports(result, out):
    recon.write_reports(result, out, ["json", "junit"])
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document, ET.parse(out / "junit.xml").getroot()


def _cases(root):
    (suite,) = root.findall("testsuite")
    return {case.get("name"): case for case in suite.findall("testcase")}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    return _reports(recon.audit(ROOT / "sample_data", as_of=AS_OF), out)


def test_one_suite_with_the_counts_of_findings_json(sample):
    document, root = sample
    summary = document["summary"]
    (suite,) = root.findall("testsuite")
    failing = {rule for rule, count in summary["by_rule"].items() if count} - {
        rule["rule"] for rule in summary["rules"] if rule["severity"] != "error"
    }
    assert root.tag == "testsuites"
    assert suite.get("name") == "recon audit"
    assert suite.get("tests") == str(len(summary["rules"])) == "17"
    assert suite.get("failures") == str(len(failing)) == "10"
    assert (suite.get("errors"), suite.get("skipped")) == ("0", "0")
    assert suite.get("timestamp") == "2025-12-31T00:00:00"
    assert suite.get("time") is None  # not the clock: the file is byte-stable
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["as_of"] == AS_OF and properties["status"] == "fail"
    assert properties["findings"] == "57"


def test_each_rule_is_a_test_case_with_its_findings(sample):
    document, root = sample
    by_rule = Counter(finding["rule"] for finding in document["findings"])
    cases = _cases(root)
    assert list(cases) == [rule["rule"] for rule in document["summary"]["rules"]]
    for rule in document["summary"]["rules"]:
        case = cases[rule["rule"]]
        assert case.get("classname") == "recon.rules"
        failure = case.find("failure")
        out = case.find("system-out").text
        assert out.splitlines()[0] == (
            f"{rule['evaluated']:,} records evaluated, {by_rule[rule['rule']]:,} findings"
        )
        if rule["severity"] == "error":
            assert failure is not None, rule["rule"]
            count = by_rule[rule["rule"]]
            assert failure.get("message") == f"{count} error findings (--fail-on error)"
            assert failure.get("type") == "error"
            assert len(failure.text.splitlines()) == count
        else:  # warnings are below --fail-on error: the case passes and lists them
            assert failure is None, rule["rule"]
            assert len(out.splitlines()) == 1 + by_rule[rule["rule"]]


def test_a_listed_finding_gives_record_entity_and_message(sample):
    document, root = sample
    hit = next(f for f in document["findings"] if f["rule"] == "balance_mismatch")
    lines = _cases(root)["balance_mismatch"].find("failure").text.splitlines()
    assert lines[0] == f"{hit['record_id']} {hit['entity']}: {hit['message']}"


def test_manual_adjustments_pass_below_the_gate_but_are_listed(sample):
    _, root = sample
    case = _cases(root)["manual_adjustment"]
    assert case.find("failure") is None and case.find("skipped") is None
    out = case.find("system-out").text
    assert '<script>alert("recon-xss")</script>' in out  # parsed back: escaped in the file
    assert '=HYPERLINK("http://evil.example","click me")' in out


@pytest.mark.parametrize(("fail_on", "failures"), [("warning", 17), ("never", 0)])
def test_fail_on_decides_which_rules_fail(tmp_path, fail_on, failures):
    result = recon.audit(ROOT / "sample_data", as_of=AS_OF, fail_on=fail_on)
    _, root = _reports(result, tmp_path)
    (suite,) = root.findall("testsuite")
    assert suite.get("failures") == str(failures)
    assert len(root.findall(".//failure")) == failures
    if fail_on == "never":
        out = _cases(root)["balance_mismatch"].find("system-out").text
        assert len(out.splitlines()) == 1 + 3


def test_skipped_and_disabled_rules_are_skipped_with_the_reason(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=90.0)], uses=[use(10, 1)]
    )
    disabled = rules_file(tmp_path, "[rules.unlinked_use]\nenabled = false\n")
    result = audit(snapshot, rules=disabled)
    document, root = _reports(result, tmp_path / "out")
    (suite,) = root.findall("testsuite")
    cases = _cases(root)
    skipped = {name: case.find("skipped") for name, case in cases.items()}
    reasons = {
        name: element.get("message") for name, element in skipped.items() if element is not None
    }
    assert reasons["unlinked_use"] == "disabled by the rule set"
    assert reasons["extra_service_orphan"] == (
        "no coworkerextraservices file and no coworkerextraserviceusehistories file in the snapshot"
    )
    assert reasons["extra_service_unlinked"] == (
        "no coworkerextraserviceusehistories file in the snapshot"
    )
    expected = {
        r["rule"]: r["reason"] for r in document["summary"]["rules"] if r["outcome"] != "ran"
    }
    assert reasons == expected and len(reasons) == 5
    assert suite.get("skipped") == "5" and suite.get("failures") == "0"
    assert all(cases[name].find("system-out") is None for name in reasons)


def test_long_lists_are_cut_and_say_so(tmp_path, monkeypatch):
    monkeypatch.setattr(report_junit, "LINE_LIMIT", 2)
    _, root = _reports(recon.audit(ROOT / "sample_data", as_of=AS_OF), tmp_path)
    lines = _cases(root)["schema_violation"].find("failure").text.splitlines()
    assert len(lines) == 3
    assert lines[-1] == "... and 6 more, see findings.json"


NASTY = "nul\x00 bell\x07 <script>alert(1)</script> ]]> &amp; \"q\" 'a' 😀 done\r\nnext"


def test_any_api_text_gives_well_formed_xml(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s",
        credits=[credit(1, RemainingCredit=110.0)],
        uses=[manual_use(10, 1, -10.0, NASTY)],
    )
    document, root = _reports(audit(snapshot, fail_on="warning"), tmp_path / "out")
    (adjustment,) = [f for f in document["findings"] if f["rule"] == "manual_adjustment"]
    assert "nul\x00 bell\x07 <script>" in adjustment["message"]  # as the API sent it
    text = _cases(root)["manual_adjustment"].find("failure").text
    (line,) = text.splitlines()
    assert line == f"10 CoworkerBookingCreditUseHistory: {xml_text(adjustment['message'])}"
    assert line.endswith(
        "nul\ufffd bell\ufffd <script>alert(1)</script> ]]> &amp; \"q\" 'a' 😀 done next"
    )
    raw = (tmp_path / "out" / "junit.xml").read_text(encoding="utf-8")
    assert "\x00" not in raw and "<script>" not in raw and "]]>" not in raw


def test_xml_text_replaces_what_xml_cannot_carry():
    assert xml_text("a\x00b\x1fc\ud800d\ufffee\uffff\tf\ng\rh😀") == (
        "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd\tf\ng\rh😀"
    )
    assert xml_text(None) == "" and xml_text(12) == "12"


def test_junit_is_byte_stable(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=80.0)], uses=[use(10, 1)]
    )
    first, second = tmp_path / "a", tmp_path / "b"
    recon.write_reports(audit(snapshot), first, ["junit"])
    recon.write_reports(audit(snapshot), second, ["junit"])
    assert (first / "junit.xml").read_bytes() == (second / "junit.xml").read_bytes()
