"""Time ``recon fetch`` against the sandbox, against the bounds and the goals of the fetch issue.

    .venv/bin/python benchmarks/bench_fetch.py                 # both scenarios
    .venv/bin/python benchmarks/bench_fetch.py --scenario limits
    .venv/bin/python benchmarks/bench_fetch.py --scenario throughput --concurrency 16

Two scenarios, each against ``recon sandbox`` in its own process (so it does
not share an interpreter lock with what is measured) serving a generated
snapshot (``make_snapshot.py``, cached under ``benchmarks/data/``):

``limits``
    About 200,000 records, the documented limits on at both ends (the sandbox
    answers 409 past them, ``recon fetch`` paces itself). The bound is the
    earliest moment the last of the pages a perfect client needs (each
    entity's records / 1,000, rounded up) may be sent under those limits:
    1 per 100 ms, 120 a minute, 5,000 an hour; the simple bound, pages /
    (120 per minute), is shown too. Goal: within 10% of the bound, no 409.

``throughput``
    About 1,200,000 records (the 1M-use snapshot of ``bench_audit.py``),
    limits off, 50 ms latency added to every answer. Baseline: a plain
    sequential loop over ``page=1, 2, ...`` with one httpx client, each page
    parsed with ``response.json()`` and its records counted (no file
    written: the baseline is flattered). Goal: ``recon fetch`` at least 5x its
    throughput, Parquet and manifest written.

``recon fetch`` runs as the installed command in a child process: wall time
from spawn to exit, peak RSS from ``os.wait4``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE))

from bench_audit import ensure_snapshot, generate, recon_command  # noqa: E402

TOKEN = "bench-token"
PAGE_SIZE = 1000
LIMITS_SNAPSHOT = (16_530, 165_300)  # credits, uses: with the generator's allowances, ~200k
DOCUMENTED = ((1, 0.1), (120, 60.0), (5_000, 3_600.0), (200_000, 86_400.0))
STEMS = {
    "CoworkerBookingCredit": "coworkerbookingcredits",
    "CoworkerBookingCreditUseHistory": "coworkerbookingcreditusehistories",
    "CoworkerExtraService": "coworkerextraservices",
    "CoworkerExtraServiceUseHistory": "coworkerextraserviceusehistories",
}


@dataclass
class Fetch:
    seconds: float
    max_rss_kb: int
    exit_status: int
    manifest: dict | None
    stderr: str

    @property
    def records(self) -> int:
        return sum(e["records"] for e in self.manifest["entities"].values())


def limits_snapshot(seed: int) -> Path:
    credits, uses = LIMITS_SNAPSHOT
    root = DATA / "fetch-200k"
    if not (root / "coworkerbookingcreditusehistories.parquet").is_file():
        print(f"generating {root} ...", file=sys.stderr, flush=True)
        generate(credits, uses, root, "parquet", seed)
    return root


class SandboxProcess:
    """``recon sandbox`` in a child process, on a free port."""

    def __init__(self, snapshot: Path, *extra: str) -> None:
        self.command = [
            *recon_command(),
            "sandbox",
            "--snapshot",
            str(snapshot),
            "--port",
            "0",
            "--token",
            TOKEN,
            *extra,
        ]

    def __enter__(self) -> SandboxProcess:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        first = self.process.stdout.readline()
        if not first.startswith("Nexudus API sandbox serving"):
            self.process.kill()
            raise SystemExit(f"the sandbox did not start: {first}{self.process.stderr.read()}")
        self.base_url = first.split(" at ")[1].split()[0]
        print(
            f"  sandbox {self.base_url} ready in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process.stdout.close()
        self.process.stderr.close()


def run_fetch(base_url: str, out: Path, *extra: str) -> Fetch:
    shutil.rmtree(out, ignore_errors=True)
    command = [*recon_command(), "fetch", "--base-url", base_url, "--out", str(out), "-q", *extra]
    env = {**os.environ, "NEXUDUS_TOKEN": TOKEN}
    stderr_path = out.with_name(out.name + ".stderr")
    out.parent.mkdir(parents=True, exist_ok=True)
    with stderr_path.open("w+b") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        stderr.seek(0)
        message = stderr.read().decode("utf-8", "replace").strip()
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    return Fetch(seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status), manifest, message)


def schedule_bound(requests: int, windows=DOCUMENTED) -> float:
    """When the ``requests``-th request may be sent at the earliest, the first at 0."""
    sent: deque[float] = deque()
    at = 0.0
    for _ in range(requests):
        at = max([at] + [sent[-n] + s for n, s in windows if len(sent) >= n])
        sent.append(at)
        while len(sent) > max(n for n, _ in windows):
            sent.popleft()
    return at


def minimal_pages(manifest: dict) -> int:
    return sum(max(1, math.ceil(e["records"] / PAGE_SIZE)) for e in manifest["entities"].values())


def sequential_baseline(base_url: str) -> tuple[float, int, int, int]:
    """A plain page loop: seconds, records, distinct (entity, Id) pairs, requests."""
    records = requests = 0
    ids: set[tuple[str, int]] = set()
    started = time.perf_counter()
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    ) as client:
        for stem in STEMS.values():
            page = 1
            while True:
                response = client.get(
                    f"/api/billing/{stem}",
                    params={"page": page, "size": PAGE_SIZE, "orderBy": "Id", "dir": 1},
                )
                response.raise_for_status()
                body = response.json()
                requests += 1
                records += len(body["Records"])
                ids.update((stem, record["Id"]) for record in body["Records"])
                if not body.get("HasNextPage"):
                    break
                page += 1
    return time.perf_counter() - started, records, len(ids), requests


def _gib(kb: int) -> str:
    return f"{kb / 2**20:.2f} GiB"


def _check(fetch: Fetch) -> None:
    if fetch.exit_status != 0 or fetch.manifest is None:
        raise SystemExit(f"recon fetch failed (exit {fetch.exit_status}): {fetch.stderr}")


def bench_limits(seed: int, concurrency: int) -> dict:
    snapshot = limits_snapshot(seed)
    print(f"limits: documented, at the sandbox and in recon fetch ({snapshot})", file=sys.stderr)
    with SandboxProcess(snapshot, "--limits", "documented") as sandbox:
        fetch = run_fetch(
            sandbox.base_url, DATA / "fetch-out" / "limits", "--concurrency", str(concurrency)
        )
    _check(fetch)
    pages = minimal_pages(fetch.manifest)
    bound = schedule_bound(pages)
    simple = pages / (120 / 60)
    result = {
        "scenario": "limits",
        "records": fetch.records,
        "pages_needed": pages,
        "requests_sent": fetch.manifest["requests"],
        "throttled_409": fetch.manifest["throttled"],
        "seconds": round(fetch.seconds, 2),
        "bound_seconds": round(bound, 2),
        "simple_bound_seconds": round(simple, 2),
        "ratio_to_bound": round(fetch.seconds / bound, 3),
        "peak_rss_gib": round(fetch.max_rss_kb / 2**20, 2),
        "meets_goal": fetch.seconds <= 1.10 * bound and fetch.manifest["throttled"] == 0,
    }
    print(
        f"  {fetch.records:,} records, {pages} pages needed, "
        f"{result['requests_sent']} requests sent, {result['throttled_409']} answered 409\n"
        f"  recon fetch {fetch.seconds:.1f} s; bound {bound:.1f} s (simple: pages / 2 per s "
        f"= {simple:.1f} s); {result['ratio_to_bound']:.3f}x the bound; "
        f"peak RSS {_gib(fetch.max_rss_kb)}\n"
        f"  goal: within 10% of the bound, no 409: "
        f"{'meets' if result['meets_goal'] else 'MISSES'}",
        file=sys.stderr,
    )
    return result


def bench_throughput(seed: int, concurrency: int, latency_ms: int) -> dict:
    snapshot = ensure_snapshot("small", "parquet", seed=seed, regenerate=False)
    print(f"throughput: limits off, {latency_ms} ms latency ({snapshot})", file=sys.stderr)
    with SandboxProcess(snapshot, "--limits", "off", "--latency-ms", str(latency_ms)) as sandbox:
        fetch = run_fetch(
            sandbox.base_url,
            DATA / "fetch-out" / "throughput",
            "--limits",
            "off",
            "--concurrency",
            str(concurrency),
        )
        _check(fetch)
        print(f"  recon fetch: {fetch.seconds:.1f} s; now the sequential loop ...", file=sys.stderr)
        base_seconds, base_records, base_distinct, base_requests = sequential_baseline(
            sandbox.base_url
        )
    ours = fetch.records / fetch.seconds
    theirs = base_records / base_seconds
    result = {
        "scenario": "throughput",
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "records": fetch.records,
        "requests_sent": fetch.manifest["requests"],
        "seconds": round(fetch.seconds, 2),
        "records_per_second": round(ours),
        "baseline_records": base_records,
        "baseline_distinct_ids": base_distinct,
        "baseline_requests": base_requests,
        "baseline_seconds": round(base_seconds, 2),
        "baseline_records_per_second": round(theirs),
        "speedup": round(ours / theirs, 2),
        "peak_rss_gib": round(fetch.max_rss_kb / 2**20, 2),
        # Both saw the same records: the generator repeats a few Ids, which a fetch keeps once.
        "meets_goal": ours >= 5 * theirs and base_distinct == fetch.records,
    }
    print(
        f"  recon fetch: {fetch.records:,} records in {fetch.seconds:.1f} s "
        f"({ours:,.0f}/s, {result['requests_sent']} requests, --concurrency {concurrency}), "
        f"peak RSS {_gib(fetch.max_rss_kb)}\n"
        f"  sequential loop: {base_records:,} records in {base_seconds:.1f} s "
        f"({theirs:,.0f}/s, {base_requests} requests)\n"
        f"  speed-up {ours / theirs:.2f}x; goal >= 5x: "
        f"{'meets' if result['meets_goal'] else 'MISSES'}",
        file=sys.stderr,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("limits", "throughput", "both"), default="both")
    parser.add_argument("--concurrency", type=int, default=16, help="for throughput")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7, help="as bench_audit.py, to share its data")
    args = parser.parse_args(argv)
    results = []
    if args.scenario in ("limits", "both"):
        results.append(bench_limits(args.seed, concurrency=4))
    if args.scenario in ("throughput", "both"):
        results.append(bench_throughput(args.seed, args.concurrency, args.latency_ms))
    print(json.dumps(results, indent=2))
    return 0 if all(r["meets_goal"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
