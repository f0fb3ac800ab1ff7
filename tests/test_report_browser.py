"""report.html in a real browser: headless Chromium opens the page from a file:// URL.

The page must load with no console or page errors and no network request at all,
show the counts findings.json holds, filter and sort its findings table, read the
same with JavaScript off, and keep data from the API inert text.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it), driven by the
``playwright`` package's own driver; no browser is downloaded. Without
``/usr/bin/chromium`` these tests are skipped on a workstation and fail in CI.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from builders import AS_OF, audit, credit, manual_use, use, write_snapshot

import recon
from recon.report import context as report_context

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAYLOADS = (
    "<script>window.__xss=1</script>",
    '"><img src=x onerror="window.__xss=1">',
    "</script><script>window.__xss=1</script>",
)


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent (Debian's chromium package)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


# On a workstation without a browser, skip; in CI (.ci/run sets CI), the fixture fails.
if _missing() and not os.environ.get("CI"):
    pytestmark = pytest.mark.skip(reason=f"{_missing()}: the browser tests need it")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if _missing():
        pytest.fail(f"{_missing()}; CI must run the browser tests (.ci/run installs chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Visit:
    """A page opened from a file:// URL, with everything it tried that it should not."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == []
        assert self.requests == [], "the page tried to reach the network"


@pytest.fixture
def visit(browser):
    contexts = []

    def open_page(path: Path, *, javascript: bool = True) -> Visit:
        context = browser.new_context(
            java_script_enabled=javascript, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(5_000)  # a broken script fails fast, not after 30 s
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)

        def refuse(route):
            seen.requests.append(route.request.url)
            route.abort()

        # Everything that is not the file itself is refused and recorded.
        context.route(lambda url: not url.startswith("file://"), refuse)
        page.on(
            "request",
            lambda request: (
                None if request.url.startswith("file://") else seen.requests.append(request.url)
            ),
        )
        page.on(
            "console",
            lambda message: (
                seen.errors.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: seen.errors.append(f"page error: {error}"))
        page.goto(path.resolve().as_uri())
        page.wait_for_load_state("load")
        return seen

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """The sample snapshot's report.html, and its findings.json."""
    out = tmp_path_factory.mktemp("sample-report")
    result = recon.audit(ROOT / "sample_data", as_of=AS_OF)
    recon.write_reports(result, out, ["json", "html"])
    return out / "report.html", json.loads((out / "findings.json").read_text())


def _visible_indices(page) -> list[int]:
    return page.eval_on_selector_all(
        "#findings-table tbody tr[data-index]",
        "rows => rows.filter(row => !row.hidden && row.offsetParent !== null)"
        ".map(row => Number(row.dataset.index))",
    )


RANK = {"error": 0, "warning": 1, "info": 2}


def _page_order(findings: list, *, indexed: bool = False) -> list:
    """Findings in the order report.html lists them: severity, then rule, then position."""
    if indexed:
        return sorted(
            findings, key=lambda item: (RANK[item[1]["severity"]], item[1]["rule"], item[0])
        )
    positions = list(enumerate(findings))
    ordered = sorted(
        positions, key=lambda item: (RANK[item[1]["severity"]], item[1]["rule"], item[0])
    )
    return [finding for _, finding in ordered]


def test_the_sample_report_loads_with_no_error_and_no_network(sample, visit):
    path, _ = sample
    seen = visit(path)
    page = seen.page
    # Open every piece of evidence and sort once: still nothing may go wrong or out.
    page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")
    page.click("#findings-table thead th:nth-child(4) button")
    page.wait_for_timeout(100)
    seen.assert_clean()
    assert page.evaluate("document.scripts.length") == 1
    assert page.title() == "recon audit of sample_data"


def test_the_counts_shown_are_those_of_findings_json(sample, visit):
    path, document = sample
    page = visit(path).page
    summary = document["summary"]
    shown = {
        key: page.inner_text(f'[data-count="{key}"]').replace(",", "")
        for key in ("total", "error", "warning", "info")
    }
    assert shown == {
        "total": str(summary["findings"]),
        **{severity: str(count) for severity, count in summary["by_severity"].items()},
    }
    for rule in summary["rules"]:
        cell = page.inner_text(f'table.rules tr[data-rule="{rule["rule"]}"] td[data-findings]')
        assert cell.replace(",", "") == str(rule["findings"]), rule["rule"]
    listed = page.eval_on_selector_all(
        "#findings-table tbody tr[data-index]",
        "rows => rows.map(row => [row.dataset.rule, row.dataset.severity])",
    )
    # Most severe first, then by rule; each row keeps its position in findings.json.
    assert listed == [[f["rule"], f["severity"]] for f in _page_order(document["findings"])]
    assert page.inner_text("#filter-count") == f"Showing all {summary['findings']} rows."


def test_filtering_by_text_rule_and_severity_shows_the_matching_findings(sample, visit):
    path, document = sample
    page = visit(path).page
    findings = document["findings"]

    def expected(predicate) -> list[int]:
        return [index for index, finding in enumerate(findings) if predicate(finding)]

    page.fill("#filter-text", "orphan_use")
    assert sorted(_visible_indices(page)) == expected(lambda f: f["rule"] == "orphan_use")
    assert len(sorted(_visible_indices(page))) == document["summary"]["by_rule"]["orphan_use"]

    page.fill("#filter-text", "")
    page.select_option("#filter-rule", "balance_mismatch")
    # The select matches the rule id exactly: extra_service_balance_mismatch is not shown.
    assert sorted(_visible_indices(page)) == expected(lambda f: f["rule"] == "balance_mismatch")

    page.select_option("#filter-rule", "")
    page.select_option("#filter-severity", "warning")
    assert sorted(_visible_indices(page)) == expected(lambda f: f["severity"] == "warning")
    warnings = document["summary"]["by_severity"]["warning"]
    assert page.inner_text("#filter-count") == f"Showing {warnings} of {len(findings)} rows."

    page.fill("#filter-text", "manual adjustment")
    assert sorted(_visible_indices(page)) == expected(
        lambda f: f["severity"] == "warning" and "manual adjustment" in f["message"]
    )

    page.click("#filter-reset")
    assert sorted(_visible_indices(page)) == list(range(len(findings)))


def test_sorting_a_numeric_column_sorts_by_number(sample, visit):
    path, document = sample
    page = visit(path).page
    count = len(document["findings"])

    page.click("#findings-table thead th:nth-child(1) button")  # "#", ascending
    page.click("#findings-table thead th:nth-child(1) button")  # then descending
    assert _visible_indices(page) == list(range(count - 1, -1, -1))  # 57, 56, ..., 1: not "9" first
    header = page.get_attribute("#findings-table thead th:nth-child(1)", "aria-sort")
    assert header == "descending"

    page.click("#findings-table thead th:nth-child(4) button")  # record Id, ascending
    order = [document["findings"][index]["record_id"] for index in _visible_indices(page)]
    ids = [value for value in order if value is not None]
    assert ids == sorted(ids)
    assert order[len(ids) :] == [None] * (len(order) - len(ids))  # no Id: last

    page.click("#findings-table thead th:nth-child(4) button")  # descending
    order = [document["findings"][index]["record_id"] for index in _visible_indices(page)]
    ids = [value for value in order if value is not None]
    assert ids == sorted(ids, reverse=True)


def test_without_javascript_the_capped_table_is_all_there(tmp_path, visit, monkeypatch):
    monkeypatch.setattr(report_context, "HTML_ROW_LIMIT", 20)
    result = recon.audit(ROOT / "sample_data", as_of=AS_OF)
    recon.write_reports(result, tmp_path, ["json", "html"])
    document = json.loads((tmp_path / "findings.json").read_text())
    seen = visit(tmp_path / "report.html", javascript=False)
    page = seen.page
    order = _page_order(list(enumerate(document["findings"])), indexed=True)[:20]
    assert _visible_indices(page) == [index for index, _ in order]
    assert not page.is_visible("#findings-controls")
    note = page.inner_text("p.note")
    assert f"first 20 of {len(document['findings'])} findings" in note
    assert "findings.json" in note and "report.xlsx" in note
    assert page.inner_text('[data-count="total"]') == str(document["summary"]["findings"])
    # Evidence opens without script: it is a <details> element.
    page.click("#findings-table tbody tr:first-child summary")
    assert page.is_visible("#findings-table tbody tr:first-child .evidence table")
    seen.assert_clean()


def test_data_from_the_api_stays_inert_text(tmp_path, visit):
    first, second, third = PAYLOADS
    snapshot = write_snapshot(
        tmp_path / "snapshot",
        credits=[
            credit(1, Description=first, BusinessName=second, RemainingCredit=80.0),
            credit(2, Description=third, BusinessCurrencyCode=second, BusinessId=2),
        ],
        uses=[
            use(10, 1, CreditUsed=25.0, Description=second),
            manual_use(11, 1, -5.0, first),
            manual_use(12, 2, 5.0, third),
            manual_use(13, 99, 5.0, second),
        ],
    )
    result = audit(snapshot)
    recon.write_reports(result, tmp_path / "out", ["json", "html"])
    html = (tmp_path / "out" / "report.html").read_text()
    assert all(payload not in html for payload in PAYLOADS)

    seen = visit(tmp_path / "out" / "report.html")
    page = seen.page
    page.eval_on_selector_all("details", "all => all.forEach(d => { d.open = true; })")
    page.wait_for_timeout(100)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("document.images.length") == 0
    assert page.evaluate("document.scripts.length") == 1
    text = page.inner_text("body")
    for payload in PAYLOADS:
        assert payload in text, payload
    # In SVG <title> and attributes too: the currency code carries a payload.
    titles = page.eval_on_selector_all("svg title", "all => all.map(t => t.textContent)")
    assert any(second in title for title in titles)
    labels = page.eval_on_selector_all("svg[aria-label]", "all => all.map(s => s.ariaLabel)")
    assert any(second in label for label in labels)
    # The filter still works on such text, and finds it as text.
    page.fill("#filter-text", "window.__xss")
    assert len(_visible_indices(page)) >= 3
    assert page.evaluate("typeof window.__xss") == "undefined"
    seen.assert_clean()


def test_location_member_and_the_url_fragment_filter_and_share(sample, visit):
    path, document = sample
    page = visit(path).page
    findings = document["findings"]
    rows = page.eval_on_selector_all(
        "#findings-table tbody tr[data-index]",
        "rows => rows.map(r => [Number(r.dataset.index), r.dataset.location, r.dataset.member])",
    )
    places = {index: (location, member) for index, location, member in rows}
    location = next(loc for loc, _ in places.values() if loc)
    page.select_option("#filter-location", location)
    assert sorted(_visible_indices(page)) == sorted(
        i for i, (loc, _) in places.items() if loc == location
    )
    assert page.evaluate("window.location.hash") == f"#filter?location={location}"

    page.click("#filter-reset")
    member = next(m for _, m in places.values() if m)
    page.select_option("#filter-member", member)
    page.select_option("#filter-severity", "error")
    wanted = sorted(
        i for i, (_, m) in places.items() if m == member and findings[i]["severity"] == "error"
    )
    assert sorted(_visible_indices(page)) == wanted
    shared = page.evaluate("window.location.href")
    assert "member=" + member in shared and "severity=error" in shared

    # The shared link opens with the same filter applied.
    again = visit(path).page
    again.goto(shared)
    again.wait_for_load_state("load")
    assert sorted(_visible_indices(again)) == wanted
    assert again.input_value("#filter-member") == member


def test_printing_expands_evidence_and_clips_no_column(sample, visit):
    path, _ = sample
    seen = visit(path)
    page = seen.page
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 900, "height": 1200})
    # Every evidence shows its content in print, with or without the beforeprint handler.
    hidden = page.eval_on_selector_all(
        "details.evidence",
        "all => all.filter(d => d.querySelector('h4').getBoundingClientRect().height === 0).length",
    )
    assert hidden == 0
    # No column is cut: the table fits the page width and no cell overflows its column.
    table_width = page.evaluate("document.getElementById('findings-table').scrollWidth")
    page_width = page.evaluate("document.documentElement.clientWidth")
    assert table_width <= page_width
    clipped = page.eval_on_selector_all(
        "#findings-table tbody td",
        "cells => cells.filter(c => c.scrollWidth > c.clientWidth + 1).length",
    )
    assert clipped == 0
    # The verdict badge keeps its colour on paper.
    adjust = page.eval_on_selector(".status", "e => getComputedStyle(e).printColorAdjust")
    assert adjust == "exact"
    seen.assert_clean()


def test_the_gate_off_never_shows_pass(tmp_path, visit):
    snapshot = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=80.0)], uses=[use(10, 1)]
    )
    recon.write_reports(audit(snapshot, fail_on="never"), tmp_path / "out", ["html"])
    seen = visit(tmp_path / "out" / "report.html")
    badge = seen.page.inner_text(".verdict .status")
    assert badge == "NOT GATED"
    verdict = seen.page.inner_text(".verdict")
    assert "PASS" not in verdict and "1 errors" in verdict and "0 warnings" in verdict
    seen.assert_clean()
