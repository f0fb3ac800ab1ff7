"""The real ``recon`` command in a subprocess: exit statuses, one-line errors, outputs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from builders import credit, rules_file, use, write_snapshot

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def recon(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def _assert_run_error(run, *fragments):
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("recon: "), run.stderr
    assert "Traceback" not in run.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_audit_of_sample_data(tmp_path):
    run = recon("audit", SAMPLE, "--out", tmp_path / "out", "--as-of", "2025-12-31T00:00:00Z")
    assert run.returncode == 1, run.stderr
    assert "57 findings: 36 error, 21 warning, 0 info" in run.stdout
    assert f"Report: {tmp_path / 'out' / 'report.html'}" in run.stdout
    assert run.stdout.rstrip().splitlines()[-2] == "FAIL (--fail-on error, exit 1)"
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "findings.json",
        "junit.xml",
        "report.html",
        "report.md",
        "report.xlsx",
    ]


def test_clean_snapshot_passes(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=90.0)], uses=[use(10, 1)]
    )
    run = recon("audit", snapshot, "--out", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert "PASS (--fail-on error, exit 0)" in run.stdout


@pytest.mark.parametrize(("fail_on", "status"), [("error", 0), ("warning", 1), ("never", 0)])
def test_fail_on_sets_the_gate(tmp_path, fail_on, status):
    warning_only = use(10, 1, CreditUsed=10.0, BookingFromTime="2025-02-27T10:00:00")  # premature
    snapshot = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=90.0)], uses=[warning_only]
    )
    run = recon("audit", snapshot, "--out", tmp_path / "out", "--fail-on", fail_on)
    assert run.returncode == status, run.stderr


def test_fail_on_never_passes_and_quiet_prints_nothing(tmp_path):
    run = recon("audit", SAMPLE, "--out", tmp_path / "out", "--fail-on", "never", "-q")
    assert run.returncode == 0 and run.stdout == ""


def test_format_and_quiet(tmp_path):
    run = recon(
        "audit", SAMPLE, "--out", tmp_path / "out", "--format", "json", "--format", "md", "--quiet"
    )
    # --quiet on a failed gate: only the one-line verdict
    assert run.returncode == 1 and run.stdout.startswith("FAIL (--fail-on error, exit 1): ")
    assert len(run.stdout.splitlines()) == 1
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "findings.json",
        "report.md",
    ]


def test_rules_file_changes_severity_and_gate(tmp_path):
    planted = {
        finding["rule"] for finding in json.loads((SAMPLE / "expected_findings.json").read_text())
    }
    demoted = "".join(f"[rules.{rule}]\nseverity = 'info'\n" for rule in sorted(planted))
    run = recon(
        "audit",
        SAMPLE,
        "--out",
        tmp_path / "out",
        "--rules",
        rules_file(tmp_path, demoted),
        "--fail-on",
        "warning",
        "-q",
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads((tmp_path / "out" / "findings.json").read_text())["summary"]
    assert summary["by_severity"] == {"error": 0, "warning": 0, "info": 57}


def test_snapshot_from_the_current_directory(tmp_path):
    run = recon("audit", ".", "--out", tmp_path / "out", "-q", cwd=SAMPLE)
    assert run.returncode == 1, run.stderr


# --- the run cannot be done: exit 2, one line, nothing written ----------------------------


def test_missing_snapshot(tmp_path):
    run = recon("audit", tmp_path / "nowhere", "--out", tmp_path / "out")
    _assert_run_error(run, "snapshot", "nowhere", "does not exist")
    assert not (tmp_path / "out").exists()


def test_broken_json_names_file_line_and_column(tmp_path):
    snapshot = write_snapshot(tmp_path / "s", credits=[credit(1)], uses=[])
    (snapshot / "coworkerbookingcredits.jsonl").write_text('{"Id": 1}\n{"Id": 2\n')
    run = recon("audit", snapshot, "--out", tmp_path / "out")
    _assert_run_error(run, "coworkerbookingcredits.jsonl: line 2 column 9")
    assert not (tmp_path / "out").exists()


def test_failed_run_leaves_an_existing_report_untouched(tmp_path):
    out = tmp_path / "out"
    assert recon("audit", SAMPLE, "--out", out, "-q").returncode == 1
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    broken = write_snapshot(tmp_path / "s", credits=[credit(1)], uses=[])
    (broken / "coworkerbookingcreditusehistories.jsonl").write_text("not json\n")
    _assert_run_error(recon("audit", broken, "--out", out), "line 1 column 1")
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["audit", "SAMPLE", "--bogus"], ["unrecognized arguments: --bogus"]),
        (
            ["audit", "SAMPLE", "--fail-on", "sometimes"],
            ["--fail-on", "invalid choice: 'sometimes'"],
        ),
        (
            ["audit", "SAMPLE", "--as-of", "31/12/2025"],
            ["--as-of '31/12/2025' is not an ISO-8601 date-time"],
        ),
        (["audit", "SAMPLE", "--rules", "RULES"], ["unknown key 'rules.ghost_rule'"]),
        (["audit", "SAMPLE", "--rules", "MISSING"], ["does not exist"]),
        (["audit"], ["the following arguments are required: SNAPSHOT"]),
        (["publish"], ["invalid choice: 'publish'"]),
        ([], ["the following arguments are required: COMMAND"]),
    ],
)
def test_bad_command_lines(tmp_path, args, fragments):
    rules = rules_file(tmp_path, "[rules.ghost_rule]\nenabled = false\n")
    replace = {"SAMPLE": SAMPLE, "RULES": rules, "MISSING": tmp_path / "missing.toml"}
    run = (
        recon(*[replace.get(arg, arg) for arg in args], "--out", tmp_path / "out")
        if args
        else recon()
    )
    _assert_run_error(run, *fragments)
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file(tmp_path):
    (tmp_path / "taken").write_text("x")
    _assert_run_error(
        recon("audit", SAMPLE, "--out", tmp_path / "taken"), "is a file, not a directory"
    )


def test_version():
    run = recon("--version")
    assert run.returncode == 0 and run.stdout.startswith("recon ")
