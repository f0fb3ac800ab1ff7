"""recon close on the command line: its output, and every bad input one line and exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from builders import MISSING, credit, use, write_snapshot

import recon

LEDGER = {
    "credits": [credit(1, CreatedOn="2025-09-15T09:00:00Z", ExpireDate=MISSING)],
    "uses": [use(10, 1, CreatedOn="2025-10-05T09:00:00Z")],
}


def _recon(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_snapshot(root / "snap", **LEDGER)
    recon.close(root / "snap", period="2025-09", out=root / "close-2025-09")
    return root


def test_close_prints_the_totals_and_exits_on_the_findings(work, tmp_path):
    out = tmp_path / "b"
    out.mkdir()  # an empty directory is a fine --out
    done = _recon("close", work / "snap", "--period", "2025-10", "--out", out)
    assert done.returncode == 1, done.stderr  # the credit's RemainingCredit does not tie out
    assert "GBP: opening 100.00, issued 0.00, used 10.00 + 0.00 + 0.00" in done.stdout
    assert json.loads((out / "close.json").read_text())["verdict"]["exit_code"] == 1
    assert _recon("verify", out).returncode == 0


def _tampered(work, tmp_path):
    bundle = shutil.copytree(work / "close-2025-09", tmp_path / "tampered")
    (bundle / "rollforward.csv").write_text("period\n")
    return bundle


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--period", "2025-13"], "--period '2025-13' is not a month"),
        (["--period", "2025-10", "--previous", "{snap}"], "is not a close bundle"),
        (["--period", "2025-11", "--previous", "{prev}"], "closed 2025-09, not 2025-10"),
        (
            ["--period", "2025-10", "--previous", "{prev}", "--basis", "usage"],
            "closed with --basis recorded",
        ),
        (["--period", "2025-10", "--previous", "{tampered}"], "fails verify: rollforward.csv"),
        (["--period", "2025-10", "--rules", "{missing}"], "does not exist"),
    ],
    ids=[
        "month 13",
        "not a bundle",
        "not the month before",
        "other basis",
        "fails verify",
        "bad rules",
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(work, tmp_path, extra, says):
    places = {
        "snap": work / "snap",
        "prev": work / "close-2025-09",
        "tampered": _tampered(work, tmp_path),
        "missing": tmp_path / "missing.toml",
    }
    args = [arg.format(**places) for arg in extra]
    out = tmp_path / "out" / "bundle"
    done = _recon("close", work / "snap", "--out", out, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_out_that_is_not_empty_is_refused(work, tmp_path):
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    done = _recon("close", work / "snap", "--period", "2025-10", "--out", out)
    assert done.returncode == 2
    assert "exists and is not empty" in done.stderr
    assert [path.name for path in out.iterdir()] == ["keep.txt"]
