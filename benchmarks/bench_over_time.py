"""What --baseline and --waivers add to an audit: the CLI timed with and without them.

The baseline is the same audit's findings.json (every finding unchanged); the waivers
are one per finding for a tenth of them, by record (and as many again naming records
that have no finding, so they come out unused). Both are written from a first run.

    .venv/bin/python benchmarks/bench_over_time.py benchmarks/data/small --repeat 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = "2025-12-31T00:00:00Z"


def _run(snapshot: Path, out: Path, *extra: str) -> tuple[float, float]:
    command = [sys.executable, "-m", "recon", "audit", str(snapshot), "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--as-of", AS_OF, "-q", "--format", "json", *extra],
        check=False,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return seconds, peak


def _waivers(findings: list[dict], path: Path) -> int:
    lines = []
    chosen = [f for f in findings if f["record_id"] is not None][::10]
    for number, finding in enumerate(chosen):
        lines += _waiver(f"W-{number}", finding["rule"], finding["record_id"])
    for number in range(len(chosen)):  # as many that match nothing
        lines += _waiver(f"U-{number}", "balance_mismatch", 10**15 + number)
    path.write_text("\n".join(lines) + "\n")
    return 2 * len(chosen)


def _waiver(waiver_id: str, rule: str, record_id: int) -> list[str]:
    return [
        "[[waiver]]",
        f'id = "{waiver_id}"',
        f'rule = "{rule}"',
        f"record_id = {record_id}",
        'reason = "benchmark"',
        'owner = "a@example.com"',
        'approved_by = "b@example.com"',
        "expires = 2026-12-31",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        _run(args.snapshot, work / "first")
        findings = json.loads((work / "first" / "findings.json").read_text())["findings"]
        waivers = _waivers(findings, work / "waivers.toml")
        plain, timed = [], []
        for _ in range(args.repeat):
            plain.append(_run(args.snapshot, work / "plain")[0])
            timed.append(
                _run(
                    args.snapshot,
                    work / "timed",
                    "--baseline",
                    str(work / "first"),
                    "--waivers",
                    str(work / "waivers.toml"),
                )[0]
            )
    base, over = statistics.median(plain), statistics.median(timed)
    print(f"{len(findings):,} findings, a baseline of {len(findings):,}, {waivers:,} waivers")
    print(f"audit alone: median {base:.2f} s; with baseline and waivers: median {over:.2f} s")
    print(f"added: {100 * (over - base) / base:+.1f}% (goal: at most +10%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
