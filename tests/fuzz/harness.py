"""Running an audit the way a user does, and judging what it left behind.

``run_in_process`` calls the real command line (``recon.cli.main``: the CLI's own
exception mapping, its "internal error" catch-all included) without a new Python
process; ``run_subprocess`` runs ``python -m recon`` for real. ``check_run`` is the
property every snapshot must satisfy, whatever is in it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from recon.cli import main

AS_OF = "2025-12-31T00:00:00Z"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def run_in_process(snapshot: Path, out: Path, *extra: str) -> Run:
    """``recon audit SNAPSHOT --out OUT`` through the CLI's own ``main``."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["audit", str(snapshot), "--out", str(out), "--as-of", AS_OF, *extra])
    for warning in caught:  # any warning is a defect: recon's arithmetic is exact at any size
        raise AssertionError(f"warning: {warning.category.__name__}: {warning.message}")
    return Run(code, stdout.getvalue(), stderr.getvalue())


def run_subprocess(snapshot: Path, out: Path, *extra: str, timeout: float = 120) -> Run:
    """``python -m recon audit SNAPSHOT --out OUT`` in a new process."""
    env = {key: value for key, value in os.environ.items() if key != "RECON_DEBUG"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recon",
            "audit",
            str(snapshot),
            "--out",
            str(out),
            "--as-of",
            AS_OF,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def check_run(run: Run, out: Path) -> None:
    """Exit 0, 1 or 2 only; never the catch-all; valid outputs on 0 and 1, none on 2."""
    assert run.code in (0, 1, 2), f"exit {run.code}: {run.stderr[-500:]}"
    assert "internal error" not in run.stderr, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    if run.code == 2:
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("recon: "), run.stderr
        assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())
        return
    check_outputs(out, run.code, formats=("json", "html", "md"))


def check_outputs(out: Path, code: int, formats: tuple[str, ...]) -> dict:
    """The outputs a successful run wrote are whole and valid; returns findings.json."""
    findings = json.loads(
        (out / "findings.json").read_text(encoding="utf-8"), parse_constant=_no_constant
    )
    assert findings["summary"]["exit_code"] == code
    assert findings["summary"]["findings"] == len(findings["findings"])
    if "html" in formats:
        html = (out / "report.html").read_text(encoding="utf-8")
        assert html.rstrip().endswith("</html>")
    if "md" in formats:
        assert (out / "report.md").read_text(encoding="utf-8").strip()
    return findings


def audit_checked(snapshot: Path, out: Path) -> Run:
    """``run_in_process`` and ``check_run``."""
    run = run_in_process(snapshot, out)
    check_run(run, out)
    return run


def _no_constant(token: str) -> None:
    raise AssertionError(f"findings.json holds {token}, which is not JSON")
