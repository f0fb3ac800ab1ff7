"""What --baseline and --waivers add to an audit: the CLI timed with and without them.

The baseline is the same audit's findings.json (every finding unchanged); the waivers
(``--waivers N``, default a tenth of the findings) hold for distinct findings, nine in
ten of them (by record, or by fingerprint for every other one), and one in ten names a
record that has no finding, so it comes out unused. Both are written from a first run.
The goal (issue 11): on 10M uses with 100,000 findings, a baseline of 100,000 findings and
10,000 waivers, baseline and waivers add at most 10% to the audit's time.

    .venv/bin/python benchmarks/bench_over_time.py benchmarks/data/small --repeat 3

``--build`` first writes a Parquet snapshot of that size with about ``--findings``
findings (``make_snapshot.py``, its defect rate chosen for it), reused when present:

    .venv/bin/python benchmarks/bench_over_time.py benchmarks/data/ot-1m --build \
        --credits 100000 --uses 1000000 --findings 10000 --waivers 10000
    .venv/bin/python benchmarks/bench_over_time.py benchmarks/data/ot-10m --build \
        --credits 1000000 --uses 10000000 --findings 100000 --waivers 10000 --repeat 1
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
FINDINGS_PER_DEFECT = 1.1
"""Findings per planted defect in make_snapshot.py's data (measured: 11,660 findings from a
rate of 0.0088 over 1.21M records); a defect on a credit can raise more than one."""


def _build(snapshot: Path, credits: int, uses: int, findings: int) -> None:
    if (snapshot / "planted.json").is_file():
        return
    records = 1.1 * (credits + uses)  # make_snapshot adds a tenth of each as allowances
    rate = findings / (records * FINDINGS_PER_DEFECT)
    maker = Path(__file__).resolve().parent / "make_snapshot.py"
    subprocess.run(
        [
            sys.executable,
            str(maker),
            f"--credits={credits}",
            f"--uses={uses}",
            f"--out={snapshot}",
            "--format=parquet",
            f"--defect-rate={rate:.6f}",
        ],
        check=True,
    )


def _run(snapshot: Path, out: Path, *extra: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one audit in a child process. On a
    shared machine the CPU time varies far less than the wall time."""
    command = [sys.executable, "-m", "recon", "audit", str(snapshot), "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [*command, "--as-of", AS_OF, "-q", "--format", "json", *extra],
        check=False,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def _waivers(findings: list[dict], path: Path, count: int) -> tuple[int, int]:
    """``count`` waivers: nine in ten hold for a distinct finding, the rest match nothing.
    Returns how many hold and how many are unused."""
    unused = count // 10
    chosen = [f for f in findings if f["record_id"] is not None and f["entity"] != "Waiver"]
    holding = min(count - unused, len(chosen))
    step = max(1, len(chosen) // max(holding, 1))
    lines = []
    for number, finding in enumerate(chosen[::step][:holding]):
        target = (
            f'fingerprint = "{finding["fingerprint"]}"'
            if number % 2
            else f"record_id = {finding['record_id']}"
        )
        lines += _waiver(f"W-{number}", finding["rule"], target)
    for number in range(unused):
        lines += _waiver(f"U-{number}", "balance_mismatch", f"record_id = {10**15 + number}")
    path.write_text("\n".join(lines) + "\n")
    return holding, unused


def _waiver(waiver_id: str, rule: str, target: str) -> list[str]:
    return [
        "[[waiver]]",
        f'id = "{waiver_id}"',
        f'rule = "{rule}"',
        target,
        'reason = "benchmark"',
        'owner = "a@example.com"',
        'approved_by = "b@example.com"',
        "expires = 2026-12-31",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--waivers", type=int, help="how many waivers (default: findings / 10)")
    parser.add_argument("--build", action="store_true", help="write the snapshot first")
    parser.add_argument("--credits", type=int, default=100_000)
    parser.add_argument("--uses", type=int, default=1_000_000)
    parser.add_argument("--findings", type=int, default=10_000, help="about how many (--build)")
    args = parser.parse_args()
    if args.build:
        _build(args.snapshot, args.credits, args.uses, args.findings)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        first = _run(args.snapshot, work / "first")  # the baseline, and the first plain run
        findings = json.loads((work / "first" / "findings.json").read_text())["findings"]
        holding, unused = _waivers(
            findings, work / "waivers.toml", args.waivers or max(1, len(findings) // 10)
        )
        plain, timed = [first], []
        for number in range(args.repeat):  # interleaved: a machine that slows hurts both alike
            if number:
                plain.append(_run(args.snapshot, work / "plain"))
            timed.append(
                _run(
                    args.snapshot,
                    work / "timed",
                    "--baseline",
                    str(work / "first"),
                    "--waivers",
                    str(work / "waivers.toml"),
                )
            )
        summary = json.loads((work / "timed" / "findings.json").read_text())["summary"]
    print(
        f"{args.snapshot}: {len(findings):,} findings, a baseline of {len(findings):,}, "
        f"{holding + unused:,} waivers ({summary['waivers']['held']:,} findings held, "
        f"{summary['waivers']['waiver_unused']:,} unused)"
    )
    for label, index in (("wall", 0), ("CPU", 1)):
        base = statistics.median(run[index] for run in plain)
        over = statistics.median(run[index] for run in timed)
        print(
            f"{label}: audit alone median {base:.2f} s "
            f"({', '.join(f'{run[index]:.2f}' for run in plain)}); with baseline and waivers "
            f"median {over:.2f} s ({', '.join(f'{run[index]:.2f}' for run in timed)}); "
            f"added {100 * (over - base) / base:+.1f}% (goal: at most +10%)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
