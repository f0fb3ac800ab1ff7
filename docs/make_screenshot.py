"""Regenerate docs/report-screenshot.png: the top of the sample snapshot's report.html.

    .venv/bin/python docs/make_screenshot.py

Audits ``sample_data`` as the README does (``--as-of 2025-12-31T00:00:00Z``), writes
report.html to a temporary directory and photographs its top 1,600 pixels at 1,280
wide in headless Chromium (``/usr/bin/chromium``, driven by playwright).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

import recon

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "report-screenshot.png"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main() -> None:
    result = recon.audit(ROOT / "sample_data", as_of="2025-12-31T00:00:00Z")
    with tempfile.TemporaryDirectory() as out, sync_playwright() as playwright:
        recon.write_reports(result, out, ["html"])
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.goto((Path(out) / "report.html").as_uri())
        page.screenshot(path=TARGET)
        browser.close()
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
