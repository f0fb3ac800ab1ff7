"""Snapshot directories read only regular files, under a size limit that names itself, and
refuse a malformed manifest in one line; ``--as-of`` values outside what outputs record are
one line too. Run through the real CLI where a hang or a crash is what is being ruled out."""

import json
import os
import subprocess
import sys

import pytest
from builders import STEMS, credit, use, write_snapshot

import recon

CREDITS = STEMS["credits"]


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,  # a generous bound on a hang, not a timing assertion
        env={**os.environ, **(env or {})},
        check=False,
    )


def _one_line_exit_2(done, *fragments):
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "internal error" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _snapshot(tmp_path):
    return write_snapshot(tmp_path / "snap", credits=[credit(1)], uses=[use(10, 1)])


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_file_linked_to_a_device_is_refused_unread(tmp_path, device):
    snapshot = _snapshot(tmp_path)
    (snapshot / f"{CREDITS}.jsonl").unlink()
    (snapshot / f"{CREDITS}.jsonl").symlink_to(device)
    done = _cli("audit", snapshot, "--out", tmp_path / "out")
    _one_line_exit_2(done, f"{CREDITS}.jsonl: is a character device, not a regular file")
    assert not (tmp_path / "out").exists()


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    snapshot = _snapshot(tmp_path)
    (snapshot / f"{CREDITS}.jsonl").unlink()
    os.mkfifo(snapshot / f"{CREDITS}.jsonl")
    done = _cli("audit", snapshot, "--out", tmp_path / "out")
    _one_line_exit_2(done, "is a FIFO (named pipe), not a regular file")


def test_a_directory_named_like_a_file_and_a_broken_link_are_refused(tmp_path):
    snapshot = _snapshot(tmp_path)
    (snapshot / f"{CREDITS}.jsonl").unlink()
    (snapshot / f"{CREDITS}.jsonl").mkdir()
    with pytest.raises(recon.SnapshotFileError, match="is a directory, not a regular file"):
        recon.audit(snapshot)
    (snapshot / f"{CREDITS}.jsonl").rmdir()
    (snapshot / f"{CREDITS}.jsonl").symlink_to(tmp_path / "gone.jsonl")
    with pytest.raises(recon.SnapshotFileError, match="is a link to nothing"):
        recon.audit(snapshot)


def test_a_link_to_a_regular_file_is_read(tmp_path):
    snapshot = _snapshot(tmp_path)
    (snapshot / f"{CREDITS}.jsonl").rename(tmp_path / "elsewhere.jsonl")
    (snapshot / f"{CREDITS}.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    assert len(recon.audit(snapshot).snapshot.frame(recon.entities.CREDIT)) == 1


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet"])
def test_a_file_over_the_size_limit_names_the_limit_and_how_to_raise_it(tmp_path, fmt):
    snapshot = write_snapshot(
        tmp_path / "snap", credits=[credit(n) for n in range(1, 40)], uses=[], fmt=fmt
    )
    done = _cli("audit", snapshot, "--out", tmp_path / "out", env={"RECON_MAX_FILE_BYTES": "2000"})
    _one_line_exit_2(
        done,
        f"{CREDITS}.{fmt}: holds",
        "over recon's limit of 2,000 bytes",
        "set RECON_MAX_FILE_BYTES",
    )
    done = _cli(
        "audit", snapshot, "--out", tmp_path / "out", env={"RECON_MAX_FILE_BYTES": "10000000"}
    )
    assert done.returncode == 0, done.stderr


def test_a_limit_that_is_not_a_number_is_one_line(tmp_path):
    done = _cli(
        "audit", _snapshot(tmp_path), "--out", tmp_path / "o", env={"RECON_MAX_FILE_BYTES": "4G"}
    )
    _one_line_exit_2(done, "RECON_MAX_FILE_BYTES='4G' is not a size in bytes")


@pytest.mark.parametrize("target", ["/dev/zero", "FIFO"])
def test_rules_that_are_not_a_regular_file_are_refused_unread(tmp_path, target):
    rules = tmp_path / "rules.toml"
    if target == "FIFO":
        os.mkfifo(rules)
    else:
        rules = target
    done = _cli("audit", _snapshot(tmp_path), "--out", tmp_path / "out", "--rules", rules)
    _one_line_exit_2(done, "not a regular file")


@pytest.mark.parametrize(
    "entities",
    [
        {"CoworkerBookingCredit": ["coworkerbookingcredits.jsonl"]},
        {"CoworkerBookingCredit": {"file": 5, "sha256": "ab"}},
        {"CoworkerBookingCredit": {"file": "coworkerbookingcredits.jsonl"}},
        {"CoworkerBookingCredit": {"sha256": "ab"}},
        {"CoworkerBookingCredit": {"file": "../../etc/passwd", "sha256": "ab"}},
        {"CoworkerBookingCredit": None},
        [],
    ],
)
def test_a_malformed_manifest_entry_is_one_line(tmp_path, entities):
    snapshot = _snapshot(tmp_path)
    (snapshot / "manifest.json").write_text(json.dumps({"format": 1, "entities": entities}))
    done = _cli("audit", snapshot, "--out", tmp_path / "out")
    _one_line_exit_2(done, "manifest.json")
    assert not (tmp_path / "out").exists()


def test_a_manifest_that_is_a_device_is_refused(tmp_path):
    snapshot = _snapshot(tmp_path)
    (snapshot / "manifest.json").symlink_to("/dev/zero")
    _one_line_exit_2(_cli("audit", snapshot, "--out", tmp_path / "out"), "manifest.json: is a")


@pytest.mark.parametrize(
    "as_of", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1979-12-31T23:59:59Z"]
)
def test_an_as_of_outside_the_years_outputs_record_is_one_line(tmp_path, as_of):
    done = _cli("audit", _snapshot(tmp_path), "--out", tmp_path / "out", "--as-of", as_of)
    _one_line_exit_2(done, f"--as-of '{as_of}' is outside the years 1980 to 2107")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("as_of", ["1980-01-01T00:00:00Z", "2107-12-31T23:59:59Z"])
def test_an_as_of_at_the_edges_of_those_years_audits(tmp_path, as_of):
    done = _cli("audit", _snapshot(tmp_path), "--out", tmp_path / "out", "--as-of", as_of, "-q")
    assert done.returncode in (0, 1), done.stderr
    assert json.loads((tmp_path / "out" / "findings.json").read_text())["summary"]["as_of"] == (
        as_of
    )


@pytest.mark.parametrize("tolerance", ["1e308", "-1", "nan", "inf"])
def test_an_unusable_tolerance_is_one_line(tmp_path, tolerance):
    rules = tmp_path / "rules.toml"
    rules.write_text(f"[amounts]\ntolerance = {tolerance}\n")
    done = _cli("audit", _snapshot(tmp_path), "--out", tmp_path / "out", "--rules", rules)
    _one_line_exit_2(done, "'amounts.tolerance'")


def test_a_deeply_nested_rules_file_is_one_line(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    done = _cli("audit", _snapshot(tmp_path), "--out", tmp_path / "out", "--rules", rules)
    _one_line_exit_2(done, "nests arrays or tables too deep")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('"\\ud800"', "holds a lone UTF-16 surrogate escape"),
        ("NaN", "holds NaN, which is not JSON"),
        ("1e400", "holds the number 1e400, beyond any float"),
        ("[" * 40 + "]" * 40, "nests deeper than a manifest does"),
        ("1" * 5000, "Exceeds the limit (4300 digits)"),
    ],
)
def test_a_manifest_that_matches_its_files_but_holds_no_json_text_is_one_line(
    tmp_path, extra, message
):
    # The manifest is copied into findings.json and the reports, so this is checked on read.
    snapshot = _snapshot(tmp_path)
    entities = {
        entity.name: {"file": path.name, "sha256": recon.snapshot.sha256_file(path)}
        for entity, path in (
            (recon.entities.CREDIT, snapshot / f"{CREDITS}.jsonl"),
            (recon.entities.CREDIT_USE, snapshot / f"{STEMS['uses']}.jsonl"),
        )
    }
    text = json.dumps({"note": "EXTRA", "entities": entities}).replace('"EXTRA"', extra)
    (snapshot / "manifest.json").write_text(text)
    done = _cli("audit", snapshot, "--out", tmp_path / "out")
    _one_line_exit_2(done, "manifest.json: ", message)
