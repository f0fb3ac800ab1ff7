"""--baseline: each finding new, unchanged or updated against an earlier run; the resolved
ones listed; first_seen carried from run to run; --fail-on-new gates on what is new."""

import json
import subprocess
import sys

import hypothesis
import pandas as pd
import pytest
from builders import audit, credit, use, write_snapshot

import recon


def _snapshot(directory, remaining=60.0, orphan=False, extra_mismatch=False):
    credits = [credit(1, RemainingCredit=remaining), credit(2)]
    if extra_mismatch:
        credits[1] = credit(2, RemainingCredit=1.0)
    uses = [use(10, 1, CreditUsed=35.0)]
    if orphan:
        uses.append(use(11, 99))
    return write_snapshot(directory, credits=credits, uses=uses)


def _write(result, out):
    recon.write_reports(result, out, ["json", "md", "html"])
    return json.loads((out / "findings.json").read_text())


def _by_rule(document):
    return {(f["rule"], f["record_id"]): f for f in document["findings"]}


def test_each_finding_is_new_unchanged_or_updated_and_gone_ones_are_resolved(tmp_path):
    first = _write(
        audit(_snapshot(tmp_path / "a", orphan=True), as_of="2025-11-30"), tmp_path / "r1"
    )
    assert all(f["baseline"] is None for f in first["findings"])
    assert all(f["first_seen"] == "2025-11-30T23:59:59Z" for f in first["findings"])

    # credit 1's difference grows (updated), the orphan is fixed (resolved), credit 2 breaks (new)
    second = audit(
        _snapshot(tmp_path / "b", remaining=50.0, extra_mismatch=True),
        as_of="2025-12-31",
        baseline=tmp_path / "r1",
    )
    document = _write(second, tmp_path / "r2")
    found = _by_rule(document)
    assert found["balance_mismatch", 1]["baseline"] == "updated"
    assert found["balance_mismatch", 2]["baseline"] == "new"
    orphan = _by_rule(first)["orphan_use", 11]["fingerprint"]
    assert document["summary"]["baseline"]["resolved"] == [orphan]
    counts = {key: document["summary"]["baseline"][key] for key in ("new", "unchanged", "updated")}
    assert counts == {"new": 1, "unchanged": 0, "updated": 1}
    # first_seen: the earlier run's for the updated one, this run's for the new one
    assert found["balance_mismatch", 1]["first_seen"] == "2025-11-30T23:59:59Z"
    assert found["balance_mismatch", 2]["first_seen"] == "2025-12-31T23:59:59Z"


def test_first_seen_is_carried_through_baselines(tmp_path):
    snapshot = _snapshot(tmp_path / "s")
    _write(audit(snapshot, as_of="2025-10-31"), tmp_path / "r1")
    _write(audit(snapshot, as_of="2025-11-30", baseline=tmp_path / "r1"), tmp_path / "r2")
    third = _write(
        audit(snapshot, as_of="2025-12-31", baseline=tmp_path / "r2" / "findings.json"),
        tmp_path / "r3",
    )
    (hit,) = third["findings"]
    assert (hit["baseline"], hit["first_seen"]) == ("unchanged", "2025-10-31T23:59:59Z")


def test_fail_on_new_gates_only_on_new_and_updated_findings(tmp_path):
    _write(audit(_snapshot(tmp_path / "a"), as_of="2025-11-30"), tmp_path / "r1")
    known = audit(_snapshot(tmp_path / "b"), baseline=tmp_path / "r1", fail_on_new=True)
    assert known.exit_code == 0 and known.summary["by_severity"]["error"] == 1
    grown = audit(
        _snapshot(tmp_path / "c", remaining=50.0), baseline=tmp_path / "r1", fail_on_new=True
    )
    assert grown.exit_code == 1
    fresh = audit(
        _snapshot(tmp_path / "d", orphan=True), baseline=tmp_path / "r1", fail_on_new=True
    )
    assert fresh.exit_code == 1


def test_reports_open_with_what_is_new(tmp_path):
    _write(audit(_snapshot(tmp_path / "a"), as_of="2025-11-30"), tmp_path / "r1")
    result = audit(_snapshot(tmp_path / "b", orphan=True), baseline=tmp_path / "r1")
    _write(result, tmp_path / "r2")
    markdown = (tmp_path / "r2" / "report.md").read_text()
    section = markdown.index("### New since last run (1 new, 0 updated, 1 unchanged, 0 resolved)")
    assert section < markdown.index("| entity | file | records |")
    assert "| new | error | `orphan_use` |" in markdown
    page = (tmp_path / "r2" / "report.html").read_text()
    assert page.index('id="new"') < page.index('id="summary"')
    assert 'data-count="new">1<' in page


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--fail-on-new"], "--fail-on-new needs --baseline"),
        (["--baseline", "missing.json"], "--baseline 'missing.json' is not a findings.json"),
        (["--baseline", "SNAPSHOT_FILE"], "is not a readable findings.json"),
    ],
)
def test_a_bad_baseline_is_one_line_and_exit_2(tmp_path, extra, fragment):
    snapshot = _snapshot(tmp_path / "s")
    extra = [
        str(snapshot / "coworkerbookingcredits.jsonl") if e == "SNAPSHOT_FILE" else e for e in extra
    ]
    done = _cli("audit", snapshot, "--out", tmp_path / "out", *extra)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and fragment in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_baseline_from_a_later_run_is_refused_and_one_of_the_same_moment_holds(tmp_path):
    snapshot = _snapshot(tmp_path / "s")
    _write(audit(snapshot, as_of="2025-12-31"), tmp_path / "december")

    def run(out, as_of):
        return _cli(
            "audit", snapshot, "--out", tmp_path / out, "--as-of", as_of,
            "--baseline", tmp_path / "december",
        )  # fmt: skip

    earlier = run("november", "2025-11-30")
    assert earlier.returncode == 2, earlier.stderr
    assert len(earlier.stderr.splitlines()) == 1
    assert "as of 2025-12-31T23:59:59Z, later than this run's as-of 2025-11-30T23:59:59Z" in (
        earlier.stderr
    )
    assert not (tmp_path / "november").exists()
    again = run("again", "2025-12-31")
    assert again.returncode == 1, again.stderr  # credit 1's balance_mismatch, unchanged
    document = json.loads((tmp_path / "again" / "findings.json").read_text())
    assert [f["baseline"] for f in document["findings"]] == ["unchanged"]


def test_a_close_refuses_a_baseline_from_after_its_month(tmp_path):
    snapshot = _snapshot(tmp_path / "s")
    _write(audit(snapshot, as_of="2026-01-31"), tmp_path / "january")
    done = _cli(
        "close", snapshot, "--period", "2025-11", "--out", tmp_path / "close",
        "--baseline", tmp_path / "january",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "later than this run's as-of" in done.stderr
    assert not (tmp_path / "close").exists()


def test_a_baseline_whose_as_of_is_not_a_moment_is_refused(tmp_path):
    snapshot = _snapshot(tmp_path / "s")
    _write(audit(snapshot, as_of="2025-11-30"), tmp_path / "r1")
    document = json.loads((tmp_path / "r1" / "findings.json").read_text())
    document["summary"]["as_of"] = "last Tuesday"
    (tmp_path / "r1" / "findings.json").write_text(json.dumps(document))
    done = _cli("audit", snapshot, "--out", tmp_path / "out", "--baseline", tmp_path / "r1")
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "as_of 'last Tuesday' is not a date-time" in done.stderr


@hypothesis.given(
    hypothesis.strategies.one_of(
        hypothesis.strategies.none(),
        hypothesis.strategies.booleans(),
        hypothesis.strategies.integers(),
        hypothesis.strategies.floats(allow_nan=True, allow_infinity=True),
        hypothesis.strategies.text(max_size=5),
    )
)
def test_a_baseline_value_is_read_as_the_audit_writes_it(value):
    """load_baseline writes each value's JSON text by a fast path for the common kinds; it
    must be what findings.as_json_text writes, or every finding would come out updated."""
    from recon.baseline import _text
    from recon.findings import as_json_text

    written = as_json_text(pd.Series([value], dtype=object)).iloc[0]
    assert _text(value) == (written if value is not None else "null")
