"""The evidence bundle: byte-identical from the same inputs, and what verify catches."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from builders import MISSING, credit, use, write_snapshot

import recon
from recon.bundle.manifest import MANIFEST, manifest_text

LEDGER = {
    "credits": [
        credit(1, CreatedOn="2025-09-15T09:00:00Z", ExpireDate=MISSING, RemainingCredit=90.0),
        credit(2, CreatedOn="2025-10-02T09:00:00Z", ExpireDate="2025-10-31T00:00:00"),
    ],
    "uses": [use(10, 1, CreatedOn="2025-10-05T09:00:00Z")],
}


@pytest.fixture(scope="module")
def closes(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    snapshot = write_snapshot(root / "snapshot-in", **LEDGER)
    recon.close(snapshot, period="2025-09", out=root / "close-2025-09")
    recon.close(
        snapshot, period="2025-10", out=root / "close-2025-10", previous=root / "close-2025-09"
    )
    return root


def _copy(closes, name, tmp_path):
    return shutil.copytree(closes / name, tmp_path / name)


def _recon(*args):
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)], capture_output=True, text=True
    )


def test_the_bundle_holds_every_output(closes):
    bundle = closes / "close-2025-10"
    names = {path.relative_to(bundle).as_posix() for path in bundle.rglob("*") if path.is_file()}
    assert names == {
        "breakage.csv",
        "close.json",
        "findings.json",
        "junit.xml",
        "manifest-sha256.txt",
        "maturity.csv",
        "report.html",
        "report.md",
        "report.xlsx",
        "rollforward.csv",
        "rules.toml",
        "snapshot/coworkerbookingcredits.jsonl",
        "snapshot/coworkerbookingcreditusehistories.jsonl",
    }
    document = json.loads((bundle / "close.json").read_text())
    assert (document["period"], document["basis"], document["as_of"]) == (
        "2025-10",
        "recorded",
        "2025-11-01T00:00:00Z",
    )
    previous_manifest = (closes / "close-2025-09" / MANIFEST).read_bytes()
    import hashlib

    assert document["previous"] == {
        "period": "2025-09",
        "manifest_sha256": hashlib.sha256(previous_manifest).hexdigest(),
    }
    assert (
        "| GBP | 100.00 | 100.00 | 10.00 | 0.00 | 0.00 | 0.00 | 100.00 | 90.00 |"
        in (bundle / "report.md").read_text()
    )
    assert 'id="rollforward"' in (bundle / "report.html").read_text()


def test_the_same_inputs_give_a_byte_identical_bundle(closes, tmp_path):
    again = recon.close(
        closes / "close-2025-10" / "snapshot",
        period="2025-10",
        out=tmp_path / "elsewhere" / "again",
        previous=closes / "close-2025-09",
        rules=closes / "close-2025-10" / "rules.toml",
    )
    assert again.period.label == "2025-10"
    original = closes / "close-2025-10"
    for path in sorted(original.rglob("*")):
        if path.is_file():
            twin = tmp_path / "elsewhere" / "again" / path.relative_to(original)
            assert twin.read_bytes() == path.read_bytes(), path.name
    assert not [p for p in (tmp_path / "elsewhere").iterdir() if p.name != "again"]


def test_sha256sum_accepts_the_manifest(closes):
    if shutil.which("sha256sum") is None:
        pytest.skip("no sha256sum on this machine")
    done = subprocess.run(
        ["sha256sum", "-c", "--strict", MANIFEST],
        cwd=closes / "close-2025-10",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_verify_passes_an_untouched_bundle_and_its_chain(closes):
    done = recon.verify(closes / "close-2025-10", previous=closes / "close-2025-09")
    assert (done.verified, int(done.exit_code), done.files) == (True, 0, 12)


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (lambda b: b.joinpath("report.html").write_bytes(_flip(b / "report.html")), "report.html"),
        (lambda b: b.joinpath("notes.txt").write_text("added"), "notes.txt: not listed"),
        (lambda b: b.joinpath("snapshot", "coworkerbookingcredits.jsonl").unlink(), "removed"),
    ],
    ids=["flipped byte", "added file", "removed file"],
)
def test_verify_names_the_first_file_that_differs(closes, tmp_path, tamper, named):
    bundle = _copy(closes, "close-2025-10", tmp_path)
    tamper(bundle)
    done = recon.verify(bundle)
    assert int(done.exit_code) == 1
    assert named in done.problem


def _flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    return bytes(data)


def test_verify_catches_a_broken_chain(closes, tmp_path):
    # The October bundle was closed on the September one; a September close of other data
    # (same period, same files, other bytes) is not the one it records.
    other = write_snapshot(tmp_path / "other", credits=[credit(9)], uses=[])
    recon.close(other, period="2025-09", out=tmp_path / "other-2025-09")
    done = recon.verify(closes / "close-2025-10", previous=tmp_path / "other-2025-09")
    assert int(done.exit_code) == 1
    assert "chain is broken" in done.problem


def test_verify_cannot_verify_what_is_not_a_bundle(tmp_path):
    done = _recon("verify", tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "is not a close bundle" in done.stderr


def test_rederive_in_a_fresh_process_passes_and_catches_a_resealed_edit(closes, tmp_path):
    done = _recon(
        "verify", closes / "close-2025-10", "--previous", closes / "close-2025-09", "--rederive"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "closing again gives every file byte for byte" in done.stdout
    # Edit a figure and reseal the manifest: plain verify cannot tell, rederive can.
    bundle = _copy(closes, "close-2025-09", tmp_path)
    path = bundle / "rollforward.csv"
    path.write_text(path.read_text().replace("100.00", "99.00", 1))
    (bundle / MANIFEST).write_text(manifest_text(bundle))
    assert recon.verify(bundle).verified
    done = _recon("verify", bundle, "--rederive")
    assert done.returncode == 1
    assert "rollforward.csv: closing again gives other bytes" in done.stdout


def test_rederive_of_a_chained_bundle_needs_its_previous(closes):
    done = _recon("verify", closes / "close-2025-10", "--rederive")
    assert done.returncode == 2
    assert "give --previous" in done.stderr


def test_an_interrupted_close_leaves_nothing_that_looks_like_a_bundle(tmp_path, monkeypatch):
    from recon.bundle import write

    def fail(result):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write, "_contents", fail)
    snapshot = write_snapshot(tmp_path / "snap", **LEDGER)
    with pytest.raises(recon.OutputError, match="No space left on device; nothing was written"):
        recon.close(snapshot, period="2025-10", out=tmp_path / "bundle")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["snap"]


def test_a_close_with_waivers_keeps_the_file_and_rederives_with_it(tmp_path):
    # credit 1 holds 90 of 100 after one use of 10 in October: balanced; credit 3 is off by 5
    records = dict(LEDGER)
    records["credits"] = [
        *LEDGER["credits"],
        credit(3, CreatedOn="2025-10-01T09:00:00Z", RemainingCredit=95.0, ExpireDate=MISSING),
    ]
    snapshot = write_snapshot(tmp_path / "snapshot-w", **records)
    waivers = tmp_path / "accepted.toml"
    waivers.write_text(
        '[[waiver]]\nid = "W-3"\nrule = "balance_mismatch"\nrecord_id = 3\n'
        'reason = "agreed"\nowner = "a@example.com"\napproved_by = "b@example.com"\n'
        "expires = 2026-06-30\n"
    )
    for name in ("one", "two"):
        recon.close(snapshot, period="2025-10", out=tmp_path / name, waivers=waivers)
    bundle = tmp_path / "one"
    assert (bundle / "waivers.toml").read_bytes() == waivers.read_bytes()
    assert "waivers.toml" in (bundle / MANIFEST).read_text()
    document = json.loads((bundle / "findings.json").read_text())
    waived = [f for f in document["findings"] if f["rule"] == "balance_mismatch"]
    assert [f["waiver"] for f in waived] == ["W-3"]
    assert document["summary"]["waivers"]["file"] == "waivers.toml"
    for path in bundle.rglob("*"):
        if path.is_file():
            twin = tmp_path / "two" / path.relative_to(bundle)
            assert path.read_bytes() == twin.read_bytes(), path.name
    done = _recon("verify", bundle, "--rederive")
    assert done.returncode == 0, done.stdout + done.stderr
