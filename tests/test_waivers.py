"""Waivers: each outcome (holds, expired, amount changed, unused) and each malformed file
(missing key, unknown key, owner approving their own, unknown rule) as the contract says."""

import json
import subprocess
import sys

import pytest
from builders import audit, credit, use, write_snapshot

import recon


def _snapshot(directory, remaining=60.0):
    # credit 1: TotalCredit 100 - RemainingCredit 60 = 40 consumed, uses sum to 35: off by 5
    return write_snapshot(
        directory,
        credits=[credit(1, RemainingCredit=remaining)],
        uses=[use(10, 1, CreditUsed=35.0)],
    )


def _waivers(path, **overrides):
    waiver = {
        "id": '"W-1"',
        "rule": '"balance_mismatch"',
        "record_id": "1",
        "reason": '"refund agreed, ticket FIN-412"',
        "owner": '"preparer@example.com"',
        "approved_by": '"controller@example.com"',
        "expires": "2026-01-31",
        "amount": '"5.00"',
    }
    waiver.update(overrides)
    lines = ["[[waiver]]"] + [
        f"{key} = {value}" for key, value in waiver.items() if value is not None
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _of(result, rule):
    return result.findings[result.findings["rule"] == rule]


def test_a_waiver_that_holds_keeps_the_finding_listed_and_out_of_the_gate(tmp_path):
    result = audit(
        _snapshot(tmp_path / "s"), as_of="2025-12-31", waivers=_waivers(tmp_path / "w.toml")
    )
    (hit,) = _of(result, "balance_mismatch").itertuples()
    assert hit.waiver == "W-1" and hit.impact == "5.00" and hit.currency == "GBP"
    assert result.exit_code == 0 and result.passed
    assert result.summary["waivers"]["held"] == 1
    recon.write_reports(result, tmp_path / "out", ["json"])
    document = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert document["findings"][0]["waiver"] == "W-1"


def test_an_expired_waiver_holds_for_nothing_and_says_so(tmp_path):
    result = audit(
        _snapshot(tmp_path / "s"), as_of="2026-02-01", waivers=_waivers(tmp_path / "w.toml")
    )
    assert _of(result, "balance_mismatch")["waiver"].isna().all()
    (note,) = _of(result, "waiver_expired").itertuples()
    assert (
        note.severity == "warning"
        and note.field == "W-1"
        and "expired on 2026-01-31" in note.message
    )
    assert result.exit_code == 1


def test_a_grown_difference_lapses_a_waiver_for_an_amount(tmp_path):
    # the difference grows from 5.00 to 15.00: the waiver accepted 5.00 only
    result = audit(
        _snapshot(tmp_path / "s", remaining=50.0),
        as_of="2025-12-31",
        waivers=_waivers(tmp_path / "w.toml"),
    )
    assert _of(result, "balance_mismatch")["waiver"].isna().all()
    (note,) = _of(result, "waiver_amount_changed").itertuples()
    assert "accepts 5.00 but the finding is now 15.00" in note.message
    assert note.record_id == 1 and note.impact == "15.00"
    assert result.exit_code == 1


def test_a_waiver_that_matches_nothing_is_reported_unused(tmp_path):
    clean = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=90.0)], uses=[use(10, 1)]
    )
    result = audit(clean, as_of="2025-12-31", waivers=_waivers(tmp_path / "w.toml"))
    (note,) = _of(result, "waiver_unused").itertuples()
    assert "holds for no finding" in note.message
    assert result.summary["by_severity"]["warning"] == 1 and result.exit_code == 0


def test_a_waiver_by_fingerprint_holds_whatever_the_record_id(tmp_path):
    plain = audit(_snapshot(tmp_path / "a"), as_of="2025-12-31")
    fingerprint = _of(plain, "balance_mismatch")["fingerprint"].iloc[0]
    waivers = _waivers(
        tmp_path / "w.toml", record_id=None, fingerprint=f'"{fingerprint}"', amount=None
    )
    result = audit(_snapshot(tmp_path / "b"), as_of="2025-12-31", waivers=waivers)
    assert _of(result, "balance_mismatch")["waiver"].tolist() == ["W-1"]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"reason": None}, "waiver 'W-1': 'reason' is required"),
        ({"expires": None}, "waiver 'W-1': 'expires' is required"),
        ({"approved_by": '"preparer@example.com"'}, "'approved_by' is the owner"),
        ({"expiry": "2026-01-31"}, "unknown key 'expiry'"),
        ({"rule": '"balance_mismatc"'}, "did you mean 'balance_mismatch'?"),
        ({"fingerprint": '"v1:00"'}, "exactly one of 'record_id' and 'fingerprint'"),
        ({"amount": '"twelve"'}, "'amount' must be a decimal amount"),
        ({"amount": '"1_250"'}, "'amount' must be a decimal amount"),
    ],
)
def test_a_malformed_waiver_file_is_one_line_naming_waiver_and_key(tmp_path, overrides, fragment):
    waivers = _waivers(tmp_path / "w.toml", **overrides)
    with pytest.raises(recon.ConfigError, match=fragment.replace("(", r"\(").replace("?", r"\?")):
        audit(_snapshot(tmp_path / "s"), waivers=waivers)
    checked = subprocess.run(
        [sys.executable, "-m", "recon", "waivers", "check", waivers],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 2 and fragment in checked.stderr
    assert len(checked.stderr.splitlines()) == 1
    audited = subprocess.run(
        [
            sys.executable,
            "-m",
            "recon",
            "audit",
            _snapshot(tmp_path / "c"),
            "--out",
            tmp_path / "out",
            "--waivers",
            waivers,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert audited.returncode == 2 and "--waivers" in audited.stderr and fragment in audited.stderr
    assert not (tmp_path / "out").exists()


def test_waivers_check_accepts_a_good_file(tmp_path):
    checked = subprocess.run(
        [sys.executable, "-m", "recon", "waivers", "check", _waivers(tmp_path / "w.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0 and "1 waivers, every one well formed" in checked.stdout


def test_reports_show_the_waiver_beside_the_finding(tmp_path):
    result = audit(
        _snapshot(tmp_path / "s"), as_of="2025-12-31", waivers=_waivers(tmp_path / "w.toml")
    )
    recon.write_reports(result, tmp_path / "out", ["html", "xlsx"])
    page = (tmp_path / "out" / "report.html").read_text()
    assert "waived: W-1" in page and "impact 5.00 GBP" in page


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"expires": "2025-06-30"}, "waiver_expired"),
        ({"amount": '"4.00"'}, "waiver_amount_changed"),
        ({"record_id": "999"}, "waiver_unused"),
    ],
)
def test_every_report_is_written_when_a_waiver_lapses_or_holds_for_nothing(
    tmp_path, overrides, rule
):
    # A waiver's own finding is about no record of the snapshot: report.html must still
    # show it (it once failed with an internal error, and wrote no report at all).
    waivers = _waivers(tmp_path / "w.toml", **overrides)
    out = tmp_path / "out"
    options = ["--out", out, "--waivers", waivers, "--as-of", "2025-12-31"]
    done = subprocess.run(
        [sys.executable, "-m", "recon", "audit", _snapshot(tmp_path / "s"), *options],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    names = ("findings.json", "report.html", "report.md", "junit.xml", "report.xlsx")
    assert sorted(path.name for path in out.iterdir()) == sorted(names)
    page = (out / "report.html").read_text()
    assert rule in page and "No record of the snapshot" in page
