"""Time writing every report format for an audit with about 100,000 findings.

    .venv/bin/python benchmarks/bench_report.py                # generates the snapshot once
    .venv/bin/python benchmarks/bench_report.py --repeat 5
    .venv/bin/python benchmarks/bench_report.py --browser     # and time the page in Chromium

The snapshot is generated on first use by ``make_snapshot.py`` (100,000 credits,
1,000,000 uses, ``--defect-rate 0.085``: about 97,000 findings) and cached in
``benchmarks/data/report100k/`` (git-ignored). The audit runs once, in process;
then, ``--repeat`` times, the script times ``recon.report.build_context`` (the one
context every format renders from), each format's rendering (html includes building
what only the page needs, ``report.html.html_context``: evidence, places, monthly sums,
chart geometry; "html context" times that part alone), and
``recon.write_reports`` with every format in ``recon.report.FORMATS`` (the whole
thing: context, rendering and the atomic write). It prints the seconds of each,
best of the runs, each file's size, and the goal: all formats in at most 15 s.

``--browser`` then opens the report.html written in headless Chromium
(``/usr/bin/chromium``, through playwright, as the browser tests do) and times
what a reader waits for: the page loading, sorting the listed findings by record
Id, and filtering them by a text.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / "data" / "report100k"
AS_OF = "2025-12-31T00:00:00Z"
GOAL_SECONDS = 15.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="time the page in Chromium")
    args = parser.parse_args(argv)

    import recon
    from recon import report
    from recon.report import context as report_context
    from recon.report import html as report_html

    if not (args.snapshot / "planted.json").exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "make_snapshot.py"),
                "--credits=100000",
                "--uses=1000000",
                "--defect-rate=0.085",
                "--format=parquet",
                f"--out={args.snapshot}",
            ],
            check=True,
        )
    started = time.perf_counter()
    result = recon.audit(args.snapshot, as_of=AS_OF)
    print(
        f"audit of {args.snapshot}: {len(result.findings):,} findings "
        f"in {time.perf_counter() - started:.2f} s (not counted below)"
    )

    timings: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    for _ in range(args.repeat):
        began = time.perf_counter()
        context = report_context.build_context(result)
        timings.setdefault("context", []).append(time.perf_counter() - began)
        for fmt, name in report.FORMATS.items():
            began = time.perf_counter()
            rendered = report._render(fmt, context)
            timings.setdefault(fmt, []).append(time.perf_counter() - began)
            sizes[name] = len(rendered.encode() if isinstance(rendered, str) else rendered)
            if fmt == "html":
                began = time.perf_counter()
                report_html.html_context(result, context["findings"], report_context.HTML_ROW_LIMIT)
                timings.setdefault("  html context", []).append(time.perf_counter() - began)
        with tempfile.TemporaryDirectory() as out:
            began = time.perf_counter()
            recon.write_reports(result, out)
            timings.setdefault("write_reports", []).append(time.perf_counter() - began)
            if args.browser:
                for step, seconds in _browse(Path(out) / "report.html").items():
                    timings.setdefault(step, []).append(seconds)

    print(f"\n{'step':<16}{'best s':>9}{'median s':>10}  file size")
    for step, seconds in timings.items():
        name = report.FORMATS.get(step, "")
        size = f"{name} {sizes[name] / 1e6:,.1f} MB" if name else ""
        print(f"{step:<16}{min(seconds):>9.2f}{statistics.median(seconds):>10.2f}  {size}")
    total = min(timings["write_reports"])
    verdict = "meets" if total <= GOAL_SECONDS else "MISSES"
    formats = ", ".join(report.FORMATS.values())
    print(f"\nall formats ({formats}): {total:.2f} s, goal <= {GOAL_SECONDS:.0f} s: {verdict}")
    return 0 if total <= GOAL_SECONDS else 1


def _browse(page_path: Path) -> dict[str, float]:
    """Seconds Chromium takes to load the page, sort it by record Id and filter it."""
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    seconds = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        began = time.perf_counter()
        page.goto(page_path.as_uri())
        page.evaluate("document.body.offsetHeight")  # laid out, not just parsed
        seconds["page load"] = time.perf_counter() - began
        button = "#findings-table thead th:nth-child(4) button"
        page.locator(button).scroll_into_view_if_needed()
        began = time.perf_counter()
        page.click(button)
        page.evaluate("document.body.offsetHeight")
        seconds["page sort"] = time.perf_counter() - began
        began = time.perf_counter()
        page.fill("#filter-text", "mismatch")
        page.evaluate("document.body.offsetHeight")
        seconds["page filter"] = time.perf_counter() - began
        browser.close()
    return seconds


if __name__ == "__main__":
    sys.exit(main())
