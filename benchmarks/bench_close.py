"""Time ``recon close`` against ``recon audit`` on the same snapshot, in child processes.

    python benchmarks/bench_close.py benchmarks/data/small/parquet --period 2025-11

Runs, each the installed console script in its own process (interpreter start-up included):
the audit alone as of the period end, the close of the month before (the previous bundle),
the close alone, and the close with ``--previous`` (the previous bundle holding a snapshot of
the same size). Prints wall time, peak RSS (``ru_maxrss`` of the child, via ``os.wait4``),
and each close's ratio to the audit. The goals of issue 10: a close at most 1.5x the audit's
time, with ``--previous`` at most 2x, peak memory at most 1.5x the audit's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECON = [sys.executable, "-m", "recon"]


def run(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in GiB and exit status of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code == 2:
        raise SystemExit(f"{' '.join(command)} failed: {child.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 2**20, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--period", default="2025-11")
    parser.add_argument("--work", type=Path, help="where bundles go (default: a temp dir)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from recon.closing import parse_period

    period = parse_period(args.period)
    previous = period.preceding()
    as_of = f"{period.as_of:%Y-%m-%dT%H:%M:%SZ}"
    work = args.work or Path(tempfile.mkdtemp(prefix="recon-bench-close-"))
    for name in ("audit", "previous", "close", "chained"):
        shutil.rmtree(work / name, ignore_errors=True)
    snap = str(args.snapshot)
    runs = {
        "audit": [*RECON, "audit", snap, "--out", str(work / "audit"), "--as-of", as_of, "-q"],
        f"close {previous}": [
            *RECON,
            "close",
            snap,
            "--period",
            str(previous),
            "--out",
            str(work / "previous"),
            "-q",
        ],
        f"close {period}": [
            *RECON,
            "close",
            snap,
            "--period",
            str(period),
            "--out",
            str(work / "close"),
            "-q",
        ],
        f"close {period} --previous": [
            *RECON,
            "close",
            snap,
            "--period",
            str(period),
            "--out",
            str(work / "chained"),
            "--previous",
            str(work / "previous"),
            "-q",
        ],
    }
    results = {name: run(command) for name, command in runs.items()}
    base_seconds, base_rss, _ = results["audit"]
    print(f"{'run':<28} {'seconds':>8} {'peak GiB':>9} {'x audit time':>13} {'x audit RSS':>12}")
    for name, (seconds, rss, code) in results.items():
        print(
            f"{name:<28} {seconds:>8.1f} {rss:>9.2f} {seconds / base_seconds:>13.2f} "
            f"{rss / base_rss:>12.2f}   exit {code}"
        )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
