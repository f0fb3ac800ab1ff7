"""A non-editable install works: the wheel carries the default rule set and the templates.

The wheel is built from this checkout, installed into a directory of its own,
and run from outside the source tree with that directory first on the path,
so nothing can come from the checkout.
"""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_wheel_install_audits_the_sample(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (wheel,) = dist.glob("recon-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for bundled in (
        "recon/_bundled/rules/default.toml",
        "recon/_bundled/reports/report.html",
        "recon/_bundled/reports/report.md",
    ):
        assert bundled in names

    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import recon; print(recon.__file__)"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site)

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "recon",
            "audit",
            str(ROOT / "sample_data"),
            "--out",
            "report",
            "--as-of",
            "2025-12-31T00:00:00Z",
        ],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    summary = json.loads((outside / "report" / "findings.json").read_text())["summary"]
    assert summary["findings"] == 57
    assert (outside / "report" / "report.html").read_text().startswith("<!DOCTYPE html>")

    # Without a checkout: the sample ships in the wheel (recon sample, recon sandbox), and so
    # does what `recon rules explain` prints.
    for bundled in (
        "recon/_bundled/docs/rules.md",
        "recon/_bundled/sample_data/coworkerbookingcredits.json",
    ):
        assert bundled in names
    sample = subprocess.run(
        [sys.executable, "-m", "recon", "sample", "my-sample"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sample.returncode == 0, sample.stderr
    assert (outside / "my-sample" / "coworkerbookingcredits.json").is_file()
    explained = subprocess.run(
        [sys.executable, "-m", "recon", "rules", "explain", "balance_mismatch"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert explained.returncode == 0 and explained.stdout.startswith("### `balance_mismatch`")
    from recon.sandbox.cli import default_snapshot

    served = subprocess.run(
        [sys.executable, "-c", "from recon.sandbox.cli import default_snapshot as d; print(d())"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(served.stdout.strip()).is_relative_to(site)
    assert default_snapshot() is not None
