"""Time ``recon audit`` end to end on generated snapshots, against the project's goals.

    .venv/bin/python benchmarks/bench_audit.py                       # both sizes, both formats
    .venv/bin/python benchmarks/bench_audit.py --sizes small --repeat 5
    .venv/bin/python benchmarks/bench_audit.py --sizes large --formats parquet --outputs json

Snapshots are generated on first use by ``make_snapshot.py`` and cached in
``benchmarks/data/<size>/{parquet,jsonl}/`` (git-ignored); a cached snapshot
is reused when its ``planted.json`` matches the size and seed asked for.

Each run is the real command line in a child process,
``recon audit SNAPSHOT --out DIR --as-of 2025-12-31T00:00:00Z -q`` with
``--format json`` (outputs ``json``) or without it (outputs ``all``: findings.json,
report.md and report.html). The table shows the wall time (best and median of
``--repeat`` runs), the child's peak resident memory (``ru_maxrss`` from
``os.wait4``, the largest over the runs), the findings count with the count the
generator planted, and the exit status (1 is expected: the planted defects are
error findings).

The files are read from the page cache after the first run (the machine has
room for them), so the figures are for warm files.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
AS_OF = "2025-12-31T00:00:00Z"

SIZES = {
    # name: (credits, uses)
    "small": (100_000, 1_000_000),
    "large": (1_000_000, 10_000_000),
}

GOALS = {
    # (size, format): (seconds, peak RSS in GB or None)
    ("large", "parquet"): (20.0, 6.0),
    ("large", "jsonl"): (45.0, None),
    ("small", "parquet"): (3.0, None),
}


@dataclass
class Run:
    seconds: float
    max_rss_kb: int
    exit_status: int
    findings: int | None
    stderr: str


def source_fingerprint() -> str:
    """A short hash of the recon package, rule set and templates being measured, with the time
    of the newest file: recon is edited while benchmarks run, so each table says which code."""
    root = HERE.parent
    files = sorted([*root.glob("recon/**/*.py"), *root.glob("rules/*"), *root.glob("reports/*")])
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    newest = time.localtime(max(path.stat().st_mtime for path in files))
    return f"{digest.hexdigest()[:12]} (newest file {time.strftime('%H:%M:%S', newest)})"


def recon_command() -> list[str]:
    """The ``recon`` console script beside this interpreter, else ``python -m recon``."""
    script = Path(sys.executable).with_name("recon")
    return [str(script)] if script.exists() else [sys.executable, "-m", "recon"]


def ensure_snapshot(size: str, fmt: str, *, seed: int, regenerate: bool) -> Path:
    """The cached snapshot of ``size`` in ``fmt``, generated (both formats at once) if missing."""
    credits, uses = SIZES[size]
    root = DATA / size
    target = root / fmt
    planted = root / "planted.json"
    if not regenerate and _matches(planted, credits, uses, seed) and _complete(target, fmt):
        return target
    print(
        f"generating {size} snapshot ({credits:,} credits, {uses:,} uses) in {root} ...",
        file=sys.stderr,
        flush=True,
    )
    generate(credits, uses, root, "both", seed)
    return target


def generate(credits: int, uses: int, out: Path, fmt: str, seed: int) -> None:
    """A fresh snapshot from ``make_snapshot.py`` in ``out`` (what was there is removed)."""
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            str(HERE / "make_snapshot.py"),
            "--credits",
            str(credits),
            "--uses",
            str(uses),
            "--out",
            str(out),
            "--format",
            fmt,
            "--seed",
            str(seed),
        ],
        check=True,
    )


def _matches(planted: Path, credits: int, uses: int, seed: int) -> bool:
    try:
        info = json.loads(planted.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (info.get("credits"), info.get("uses"), info.get("seed")) == (credits, uses, seed)


def _complete(directory: Path, fmt: str) -> bool:
    stems = (
        "coworkerbookingcredits",
        "coworkerbookingcreditusehistories",
        "coworkerextraservices",
        "coworkerextraserviceusehistories",
    )
    return all((directory / f"{stem}.{fmt}").is_file() for stem in stems)


def run_audit(snapshot: Path, out: Path, outputs: str, extra: list[str]) -> Run:
    """One ``recon audit`` in a child process: wall time, peak RSS, exit status, findings."""
    shutil.rmtree(out, ignore_errors=True)
    command = [
        *recon_command(),
        "audit",
        str(snapshot),
        "--out",
        str(out),
        "--as-of",
        AS_OF,
        "-q",
        *extra,
    ]
    if outputs == "json":
        command += ["--format", "json"]
    stderr_path = out.with_name(out.name + ".stderr")
    out.parent.mkdir(parents=True, exist_ok=True)
    with stderr_path.open("w+b") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        message = stderr.read().decode("utf-8", "replace").strip()
    findings = None
    with contextlib.suppress(OSError, ValueError, KeyError):
        summary = json.loads((out / "findings.json").read_text(encoding="utf-8"))["summary"]
        findings = summary["findings"]
    return Run(seconds, usage.ru_maxrss, child.returncode, findings, message)


def goal_text(size: str, fmt: str) -> tuple[str, float | None, float | None]:
    seconds, rss = GOALS.get((size, fmt), (None, None))
    if seconds is None:
        return "", None, None
    text = f"<= {seconds:g} s" + (f", <= {rss:g} GB" if rss else "")
    return text, seconds, rss


def print_table(header: list[str], rows: list[list[object]]) -> None:
    """A Markdown table of ``rows`` under ``header``, columns padded to their widest cell."""
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    print()
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="small,large", help="comma-separated: small, large")
    parser.add_argument(
        "--formats", default="parquet,jsonl", help="comma-separated: parquet, jsonl"
    )
    parser.add_argument(
        "--outputs",
        default="json,all",
        help="comma-separated: json (--format json) and/or all (every report)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per cell (best and median shown)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached snapshots")
    parser.add_argument("--rules", type=Path, help="a rule-set file passed to recon audit --rules")
    parser.add_argument("--results", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    sizes = [s for s in args.sizes.split(",") if s]
    formats = [f for f in args.formats.split(",") if f]
    outputs = [o for o in args.outputs.split(",") if o]
    for value, allowed, name in (
        (sizes, SIZES, "--sizes"),
        (formats, ("parquet", "jsonl"), "--formats"),
        (outputs, ("json", "all"), "--outputs"),
    ):
        unknown = [v for v in value if v not in allowed]
        if unknown:
            parser.error(f"{name}: unknown {unknown[0]!r}; choose from {', '.join(allowed)}")
    extra = ["--rules", str(args.rules)] if args.rules else []

    header = (
        "size",
        "uses",
        "format",
        "outputs",
        "best s",
        "median s",
        "peak RSS GiB",
        "findings",
        "expected",
        "exit",
        "goal",
        "verdict",
    )
    rows, results, failures = [], [], []
    fingerprint = source_fingerprint()
    print(
        f"recon audit benchmark, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"repeat {args.repeat}, recon source {fingerprint}",
        flush=True,
    )
    for size in sizes:
        for fmt in formats:
            snapshot = ensure_snapshot(size, fmt, seed=args.seed, regenerate=args.regenerate)
            planted = json.loads((DATA / size / "planted.json").read_text(encoding="utf-8"))
            for output in outputs:
                out = DATA / "out" / f"{size}-{fmt}-{output}"
                runs = [run_audit(snapshot, out, output, extra) for _ in range(args.repeat)]
                times = [run.seconds for run in runs]
                best, median = min(times), statistics.median(times)
                rss_gb = max(run.max_rss_kb for run in runs) / 1024**2
                last = runs[-1]
                goal, goal_s, goal_rss = goal_text(size, fmt)
                verdict = ""
                if goal_s is not None:
                    ok = best <= goal_s and (goal_rss is None or rss_gb <= goal_rss)
                    verdict = "meets" if ok else "MISSES"
                if last.exit_status == 2 or last.findings is None:
                    verdict = "FAILED"
                    failures.append((size, fmt, output, last))
                elif last.findings != planted["expected_findings"]:
                    verdict += " (findings differ!)"
                row = (
                    size,
                    f"{planted['records']['uses']:,}",
                    fmt,
                    output,
                    f"{best:.2f}",
                    f"{median:.2f}",
                    f"{rss_gb:.2f}",
                    "" if last.findings is None else f"{last.findings:,}",
                    f"{planted['expected_findings']:,}",
                    str(last.exit_status),
                    goal,
                    verdict,
                )
                rows.append(row)
                results.append(dict(zip(header, row, strict=True)) | {"times": times})
                print("  " + " | ".join(row), flush=True)

    print_table(header, rows)
    print(
        "\nGoals: 10M uses from Parquet <= 20 s and <= 6 GB peak RSS; from JSON Lines <= 45 s; "
        "1M uses from Parquet <= 3 s."
    )
    if source_fingerprint() != fingerprint:
        print(
            f"WARNING: recon's source changed during the run (now {source_fingerprint()}); "
            "runs that started after the change measured the new code",
            file=sys.stderr,
        )
    for size, fmt, output, run in failures:
        print(
            f"\nFAILED {size} {fmt} {output}: exit {run.exit_status}\n{run.stderr}", file=sys.stderr
        )
    if args.results:
        document = {"recon_source": fingerprint, "runs": results}
        args.results.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
