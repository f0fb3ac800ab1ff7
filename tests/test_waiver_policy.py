"""The rule set's waiver policy ([waivers] approvers and max_days), applied by recon audit,
recon close and recon waivers check --rules: who may approve, and how long a waiver lives
(from its 'approved' date, or from the audit's as-of when it gives none)."""

import subprocess
import sys

import pytest
from builders import audit, credit, rules_file, use, write_snapshot

import recon


def _snapshot(directory):
    # credit 1: 100 - 60 - 35 = 5.00 off: one balance_mismatch (an error)
    return write_snapshot(
        directory, credits=[credit(1, RemainingCredit=60.0)], uses=[use(10, 1, CreditUsed=35.0)]
    )


def _waivers(path, *, approved_by="controller@example.com", approved=None, expires="2026-01-31"):
    lines = [
        "[[waiver]]",
        'id = "W-1"',
        'rule = "balance_mismatch"',
        "record_id = 1",
        'reason = "refund agreed"',
        'owner = "preparer@example.com"',
        f'approved_by = "{approved_by}"',
        f"expires = {expires}",
    ]
    if approved is not None:
        lines.append(f"approved = {approved}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _policy(directory, text):
    return rules_file(directory, "[waivers]\n" + text + "\n")


def _recon(*args):
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)], capture_output=True, text=True
    )


APPROVERS = 'approvers = ["Controller@example.com", "cfo@example.com"]'


def test_an_approver_on_the_list_holds_whatever_the_case(tmp_path):
    result = audit(
        _snapshot(tmp_path / "s"),
        as_of="2025-12-31",
        rules=_policy(tmp_path, APPROVERS),
        waivers=_waivers(tmp_path / "w.toml"),
    )
    mismatch = result.findings[result.findings["rule"] == "balance_mismatch"]
    assert mismatch["waiver"].tolist() == ["W-1"]
    assert result.exit_code == 0
    assert result.summary["rule_set"]["waivers"] == {
        "approvers": ["Controller@example.com", "cfo@example.com"],
        "max_days": None,
    }


@pytest.mark.parametrize("command", ["audit", "close"])
def test_an_approver_not_on_the_list_is_exit_2_naming_waiver_and_key(tmp_path, command):
    waivers = _waivers(tmp_path / "w.toml", approved_by="intern@example.com")
    rules = _policy(tmp_path, APPROVERS)
    where = ["--period", "2025-03"] if command == "close" else ["--as-of", "2025-12-31"]
    run = _recon(
        command, _snapshot(tmp_path / "s"), "--out", tmp_path / "out", *where,
        "--rules", rules, "--waivers", waivers,
    )  # fmt: skip
    assert run.returncode == 2, run.stdout
    assert run.stderr.count("\n") == 1
    assert "waiver 'W-1': 'approved_by' intern@example.com is not among the rule set's" in (
        run.stderr
    )
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


def test_waivers_check_applies_the_policy_only_with_rules(tmp_path):
    waivers = _waivers(tmp_path / "w.toml", approved_by="intern@example.com")
    plain = _recon("waivers", "check", waivers)
    assert plain.returncode == 0 and "1 waivers, every one well formed" in plain.stdout
    checked = _recon("waivers", "check", waivers, "--rules", _policy(tmp_path, APPROVERS))
    assert checked.returncode == 2 and checked.stderr.count("\n") == 1
    assert "'approved_by' intern@example.com" in checked.stderr
    good = _recon(
        "waivers", "check", _waivers(tmp_path / "ok.toml"), "--rules", _policy(tmp_path, APPROVERS)
    )
    assert good.returncode == 0, good.stderr
    assert "under" in good.stdout and "2 approvers" in good.stdout


@pytest.mark.parametrize(
    ("approved", "max_days", "as_of", "ok"),
    [
        # from the approval date: 2025-12-01 to 2026-01-31 is 61 days
        ("2025-12-01", 61, "2025-12-31", True),
        ("2025-12-01", 60, "2025-12-31", False),
        # no approval date: from the audit's as-of, 2025-12-31 to 2026-01-31 is 31 days
        (None, 31, "2025-12-31", True),
        (None, 30, "2025-12-31", False),
        (None, 30, "2026-01-02", True),  # a later audit: 29 days left
    ],
)
def test_max_days_counts_from_approval_or_else_the_as_of(tmp_path, approved, max_days, as_of, ok):
    waivers = _waivers(tmp_path / "w.toml", approved=approved)
    rules = _policy(tmp_path, f"max_days = {max_days}")
    run = _recon(
        "waivers", "check", waivers, "--rules", rules, "--as-of", as_of,
    )  # fmt: skip
    assert run.returncode == (0 if ok else 2), run.stdout + run.stderr
    if not ok:
        assert run.stderr.count("\n") == 1
        assert "waiver 'W-1': 'expires' 2026-01-31 is" in run.stderr
        assert f"at most {max_days} days ([waivers] max_days)" in run.stderr
        if approved is None:
            assert "the audit's as-of date" in run.stderr
    audited = _recon(
        "audit", _snapshot(tmp_path / "s"), "--out", tmp_path / "out", "--as-of", as_of,
        "--rules", rules, "--waivers", waivers, "--format", "json",
    )  # fmt: skip
    # held, it gates nothing (exit 0); refused, nothing is audited (exit 2)
    assert audited.returncode == (0 if ok else 2), audited.stdout + audited.stderr


def test_an_approval_after_the_expiry_is_refused(tmp_path):
    waivers = _waivers(tmp_path / "w.toml", approved="2026-02-01")
    run = _recon("waivers", "check", waivers)
    assert run.returncode == 2
    assert "waiver 'W-1': 'approved' 2026-02-01 is after 'expires' 2026-01-31" in run.stderr


def test_the_approval_date_is_kept_in_the_summary(tmp_path):
    result = recon.audit(
        _snapshot(tmp_path / "s"),
        as_of="2025-12-31",
        waivers=_waivers(tmp_path / "w.toml", approved="2025-12-01"),
    )
    assert result.summary["waivers"]["list"][0]["approved"] == "2025-12-01"


@pytest.mark.parametrize(("as_of", "holds"), [("2025-12-01", False), ("2026-01-30", True)])
def test_a_waiver_holds_from_the_day_it_was_approved(tmp_path, as_of, holds):
    waivers = _waivers(tmp_path / "w.toml", approved="2026-01-30")
    result = audit(_snapshot(tmp_path / "s"), as_of=as_of, waivers=waivers)
    mismatch = result.findings[result.findings["rule"] == "balance_mismatch"]
    assert mismatch["waiver"].tolist() == (["W-1"] if holds else [None])
    unused = result.findings[result.findings["rule"] == "waiver_unused"]
    assert len(unused) == (0 if holds else 1)
    assert holds or "approved on 2026-01-30, after this audit's as-of" in unused["message"].iloc[0]
    assert result.exit_code == (0 if holds else 1)
