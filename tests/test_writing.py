"""Writing a run's outputs: all of them or none, with real files in a real directory.

``write_atomically`` stages every file, moves the old ones aside, moves the new
ones in, and puts everything back if any move fails. These tests fail each move
in turn, and check the directory afterwards byte for byte and inode for inode.
"""

import os
import subprocess
import sys

import pytest
from builders import AS_OF, credit, use, write_snapshot

from recon.errors import OutputError
from recon.report.formats import FORMATS, OUTPUT_FILES
from recon.report.writing import STAGING_PREFIX, write_atomically

NEW = {"findings.json": '{"new": true}\n', "report.md": "# new\n", "junit.xml": b"<new/>"}


def _directory(out):
    """Everything in ``out``: each entry's name, and for a file its bytes and identity (an
    old file put back is the same file, not a copy)."""
    state = {}
    for path in sorted(out.iterdir()):
        if path.is_dir():
            state[path.name] = "directory"
        else:
            stat = path.stat()
            state[path.name] = (path.read_bytes(), stat.st_ino, stat.st_mtime_ns)
    return state


def _old_run(out):
    """A report directory from an earlier run (every format), with a user's own file."""
    out.mkdir()
    (out / "findings.json").write_text('{"old": true}\n')
    (out / "report.md").write_text("# old\n")
    (out / "report.html").write_text("<p>old</p>")  # recon's, but not written by the new run
    (out / "notes.txt").write_text("mine")
    return out


class _Renames:
    """``os.replace`` (which ``Path.replace`` calls) counted; the ``fail_at``-th call fails."""

    def __init__(self, fail_at=None):
        self.calls = 0
        self.fail_at = fail_at
        self._replace = os.replace

    def __call__(self, source, target, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            raise OSError(28, "No space left on device")
        return self._replace(source, target, **kwargs)


def test_a_later_rename_failing_leaves_the_directory_as_it_was(tmp_path, monkeypatch):
    # How many renames a successful write makes into such a directory...
    spy = _Renames()
    monkeypatch.setattr(os, "replace", spy)
    write_atomically(_old_run(tmp_path / "counted"), NEW, owned=OUTPUT_FILES)
    # ... old findings.json, report.md and the stale report.html aside, then three new in.
    assert spy.calls == 6

    # ... and then each of them failing in turn, after the ones before it succeeded.
    for fail_at in range(1, spy.calls + 1):
        out = _old_run(tmp_path / f"fail-at-{fail_at}")
        before = _directory(out)
        renames = _Renames(fail_at)
        monkeypatch.setattr(os, "replace", renames)
        with pytest.raises(OutputError, match=r"No space left on device.*nothing was changed"):
            write_atomically(out, NEW, owned=OUTPUT_FILES)
        assert renames.calls >= fail_at, fail_at
        assert _directory(out) == before, f"rename {fail_at} of {spy.calls} failed"


def test_a_staging_directory_of_a_dead_run_is_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(child.stdout)  # a process that ran and has exited (and was reaped)
    with pytest.raises(ProcessLookupError):
        os.kill(dead_pid, 0)
    dead = out / f"{STAGING_PREFIX}{dead_pid}-0a1b2c3d"
    (dead / "new").mkdir(parents=True)
    (dead / "new" / "findings.json").write_text("half written")

    write_atomically(out, NEW, owned=OUTPUT_FILES)
    assert sorted(path.name for path in out.iterdir()) == sorted(NEW)


def test_a_staging_directory_of_a_live_run_is_left_alone(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    # Another process, alive for the whole write: its staging directory is in use.
    alive = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        staging = out / f"{STAGING_PREFIX}{alive.pid}-0a1b2c3d"
        (staging / "new").mkdir(parents=True)
        (staging / "new" / "findings.json").write_text("being written")
        write_atomically(out, NEW, owned=OUTPUT_FILES)
        assert (staging / "new" / "findings.json").read_text() == "being written"
        assert sorted(path.name for path in out.iterdir()) == sorted([*NEW, staging.name])
    finally:
        alive.communicate(b"")  # end of its input: it exits
    assert alive.returncode == 0


def test_outputs_of_an_earlier_run_that_this_run_did_not_write_are_removed(tmp_path):
    out = _old_run(tmp_path / "out")
    (out / "report.xlsx").write_bytes(b"old workbook")
    notes = _directory(out)["notes.txt"]
    written = write_atomically(out, {"findings.json": "{}\n"}, owned=OUTPUT_FILES)
    assert written == [out / "findings.json"]
    after = _directory(out)
    assert sorted(after) == ["findings.json", "notes.txt"]
    assert after["findings.json"][0] == b"{}\n"
    assert after["notes.txt"] == notes  # the user's own file: untouched


def test_a_json_run_of_the_cli_removes_the_other_reports_of_an_earlier_run(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=90.0)], uses=[use(10, 1)]
    )
    out = tmp_path / "out"

    def audit(*options):
        command = [sys.executable, "-m", "recon", "audit", str(snapshot), "--out", str(out)]
        return subprocess.run([*command, "--as-of", AS_OF, "-q", *options], check=True)

    audit(*[option for name in FORMATS for option in ("--format", name)])
    assert sorted(path.name for path in out.iterdir()) == sorted(OUTPUT_FILES)
    (out / "notes.txt").write_text("mine")
    audit("--format", "json")
    assert sorted(path.name for path in out.iterdir()) == ["findings.json", "notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"
