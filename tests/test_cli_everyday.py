"""The command line as a new user meets it: dates for --as-of, errors that name the option
given, --quiet, a closed pipe, an ASCII terminal, recon rules, recon sample, typos."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from builders import credit, on_a_terminal, use, write_snapshot

import recon

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"


def run(*args, env=None, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


def _one_line_error(done, *fragments):
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("recon: "), done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_as_of_a_date_is_the_end_of_that_day(tmp_path):
    done = run("audit", SAMPLE, "--out", tmp_path, "--as-of", "2025-12-31", "--format", "json")
    assert done.returncode == 1, done.stderr
    summary = json.loads((tmp_path / "findings.json").read_text())["summary"]
    assert summary["as_of"] == "2025-12-31T23:59:59Z"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["audit", "SAMPLE", "--as-of", "yesterday"], "--as-of 'yesterday'"),
        (["audit", "SAMPLE", "--as-of", "9999-12-31"], "--as-of '9999-12-31'"),
        (["audit", "SAMPLE", "--as-of", "0001-01-01T00:00:00Z"], "--as-of '0001-01-01T00:00:00Z'"),
        (["fetch", "--out", "OUT", "--since", "yesterday"], "--since 'yesterday'"),
    ],
)
def test_a_bad_moment_names_the_option_given(tmp_path, args, option):
    args = [
        str(SAMPLE) if a == "SAMPLE" else str(tmp_path / "o") if a == "OUT" else a for a in args
    ]
    _one_line_error(run(*args, env={"NEXUDUS_TOKEN": "a-long-sandbox-token"}), option)


def test_python_errors_name_the_argument_not_the_flag():
    with pytest.raises(recon.UsageError, match=r"^as_of 'soon'"):
        recon.audit(SAMPLE, as_of="soon")
    with pytest.raises(recon.UsageError, match=r"^fail_on 'sometimes'"):
        recon.audit(SAMPLE, fail_on="sometimes")


def test_quiet_prints_nothing_on_a_pass_and_the_verdict_on_a_fail(tmp_path):
    clean = write_snapshot(
        tmp_path / "clean", credits=[credit(1, RemainingCredit=90.0)], uses=[use(10, 1)]
    )
    passed = run("audit", clean, "--out", tmp_path / "a", "-q")
    assert (passed.returncode, passed.stdout, passed.stderr) == (0, "", "")
    failed = run("audit", SAMPLE, "--out", tmp_path / "b", "-q", "--as-of", "2025-12-31")
    assert failed.returncode == 1
    assert failed.stdout == "FAIL (--fail-on error, exit 1): 36 errors, 21 warnings, 0 info\n"
    assert "--quiet" in run("audit", "--help").stdout
    assert "verdict" in run("audit", "--help").stdout


def test_a_closed_pipe_ends_quietly_with_the_audits_status(tmp_path):
    command = (
        f"{sys.executable} -m recon audit {SAMPLE} --out {tmp_path} --as-of 2025-12-31 | head -1;"
        " exit ${PIPESTATUS[0]}"
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("recon audit ")
    assert (tmp_path / "findings.json").exists()


def test_an_ascii_terminal_gets_escaped_text_not_an_error(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=90.0)], uses=[use(10, 1)]
    )
    named = tmp_path / "snäpshot→"
    snapshot.rename(named)
    done = run("audit", named, "--out", tmp_path / "out", env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert "\\xe4" in done.stdout or "\\u" in done.stdout
    assert (tmp_path / "out" / "report.html").exists()


def test_a_mistyped_command_is_suggested():
    _one_line_error(run("audt", "x"), "invalid choice: 'audt'", "did you mean 'audit'?")


def test_version_has_a_short_flag():
    assert run("-V").stdout == f"recon {recon.__version__}\n"


def test_rules_lists_explains_and_prints_the_default(tmp_path):
    listing = run("rules")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["rule", "severity", "runs", "what", "it", "finds"]
    assert any(line.split()[:3] == ["manual_adjustment", "warning", "yes"] for line in lines)
    tuned = tmp_path / "rules.toml"
    tuned.write_text('[rules.manual_adjustment]\nenabled = false\nseverity = "error"\n')
    tuned_lines = run("rules", "--rules", tuned).stdout.splitlines()
    assert any(line.split()[:3] == ["manual_adjustment", "error", "no"] for line in tuned_lines)

    explained = run("rules", "explain", "orphan_use")
    assert explained.returncode == 0
    assert explained.stdout.startswith("### `orphan_use`")
    assert (
        "CoworkerBookingCreditId" in explained.stdout
        and "### `unlinked_use`" not in explained.stdout
    )
    _one_line_error(run("rules", "explain", "orphn_use"), "did you mean 'orphan_use'?")

    default = run("rules", "--default")
    assert default.stdout == (ROOT / "rules" / "default.toml").read_text()


def test_sample_writes_a_snapshot_that_audits(tmp_path):
    done = run("sample", tmp_path / "sample")
    assert done.returncode == 0, done.stderr
    names = sorted(path.name for path in (tmp_path / "sample").iterdir())
    assert names == [
        "coworkerbookingcredits.json",
        "coworkerbookingcreditusehistories.jsonl",
        "coworkerextraservices.json",
        "coworkerextraserviceusehistories.jsonl",
    ]
    audited = run("audit", tmp_path / "sample", "--out", tmp_path / "out", "--as-of", "2025-12-31")
    assert audited.returncode == 1 and "57 findings" in audited.stdout
    _one_line_error(run("sample", tmp_path / "sample"), "not an empty directory")


def test_audit_result_reads_well_in_a_notebook():
    result = recon.audit(SAMPLE, as_of="2025-12-31")
    assert repr(result) == (
        "<AuditResult failed: 57 findings (36 error, 21 warning, 0 info) "
        "in 'sample_data' as of 2025-12-31T23:59:59Z>"
    )
    assert result.passed is False
    page = result._repr_html_()
    assert len(page) < 5_000 and "FAIL" in page and "balance_mismatch" in page
    assert recon.audit(SAMPLE, as_of="2025-12-31", fail_on="never").passed is True


def test_findings_frame_has_one_type_per_column_and_typed_amounts():
    result = recon.audit(SAMPLE, as_of="2025-12-31")
    found = result.findings
    for name in ("expected", "actual"):
        values = found[name].dropna().tolist()
        assert values and all(isinstance(value, str) for value in values), name
    schema = found[found["rule"] == "schema_violation"]
    assert '"2025-02-30T00:00:00"' in schema["actual"].tolist()  # the raw value, as sent
    money = found[found["rule"] == "balance_mismatch"]
    assert str(money["expected_amount"].dtype) == "Float64"
    assert money["expected_amount"].notna().all()
    assert found.loc[found["rule"] == "orphan_use", "expected_amount"].isna().all()


@pytest.mark.parametrize("keep_lower", [False, True])
def test_a_file_named_but_for_its_case_is_named_in_the_error(tmp_path, keep_lower):
    snapshot = write_snapshot(tmp_path / "s", credits=[credit(1)], uses=[use(10, 1)])
    lower = snapshot / "coworkerbookingcredits.jsonl"
    cased = snapshot / "CoworkerBookingCredits.jsonl"
    cased.write_bytes(lower.read_bytes())
    if not keep_lower:
        lower.unlink()
    done = run("audit", snapshot, "--out", tmp_path / "out")
    _one_line_error(done, "CoworkerBookingCredits.jsonl differs from coworkerbookingcredits.jsonl")
    assert ("remove one of the two" in done.stderr) == keep_lower
    assert not (tmp_path / "out").exists()


def test_audit_shows_its_stages_on_a_terminal_only(tmp_path):
    done, terminal = on_a_terminal(["audit", SAMPLE, "--out", tmp_path / "a"], timeout=120)
    assert done.returncode == 1
    for stage in ("reading and validating", "records; running 17 rules", "writing the reports"):
        assert f"recon: {stage}" in terminal or stage in terminal, terminal
    assert "4,967 records" in terminal
    piped = run("audit", SAMPLE, "--out", tmp_path / "b")
    assert piped.stderr == ""
