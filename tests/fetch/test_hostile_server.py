"""The real ``recon fetch`` in a subprocess against a sandbox that misbehaves on purpose.

Each hostile behaviour (``recon.sandbox.Hostile``) targets the credit uses, the
second entity walked: the fetch either walks on where the pages prove the
snapshot whole, or stops with exit 2 and one line naming the entity, what the
server claimed, what it did and what to do; then no manifest.json exists and
the fetch state keeps what was fetched (the credits' pages), for a rerun.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fetch.test_cli_sandbox import SAMPLE_ONCE, _fetch_args, _frames, _sandbox, recon_cli

from recon.entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE
from recon.sandbox import Hostile

USES_PATH = f"/api/billing/{CREDIT_USE.stem}"


def _small_ledger() -> dict[str, list[dict]]:
    """A slice of sample_data: 30 credits with their uses, 10 allowances with theirs."""
    credits = SAMPLE_ONCE[CREDIT.name][:30]
    ids = {credit["Id"] for credit in credits}
    allowances = SAMPLE_ONCE[ALLOWANCE.name][:10]
    allowance_ids = {allowance["Id"] for allowance in allowances}
    return {
        CREDIT.name: credits,
        CREDIT_USE.name: [
            use for use in SAMPLE_ONCE[CREDIT_USE.name] if use["CoworkerBookingCreditId"] in ids
        ],
        ALLOWANCE.name: allowances,
        ALLOWANCE_USE.name: [
            use
            for use in SAMPLE_ONCE[ALLOWANCE_USE.name]
            if use["CoworkerExtraServiceId"] in allowance_ids
        ],
    }


LEDGER = _small_ledger()


def _hostile(**settings) -> Hostile:
    settings.setdefault("entity", CREDIT_USE)
    return Hostile(**settings)


def _fetch(tmp_path: Path, hostile: Hostile, *extra):
    out = tmp_path / "snap"
    with _sandbox(snapshot=LEDGER, hostile=hostile) as sandbox:
        run = recon_cli(*_fetch_args(sandbox, out, "--page-size", "25", *extra), timeout=120)
        stats = sandbox.stats
    return out, run, stats


def _stopped(run, out: Path) -> str:
    """The one stderr line of a fetch that stopped; and nothing that looks complete left."""
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line.startswith("recon: ") and CREDIT_USE.name in line, line
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert not (out / "manifest.json").exists()
    assert not list(out.glob("*.parquet")) and not list(out.glob(".*.tmp"))
    # Nothing fetched is lost: the credits' walk is complete and its pages are kept.
    state = json.loads((out / ".recon-fetch" / "state.json").read_text())
    assert state["entities"][CREDIT.stem]["complete"] is True
    assert (out / ".recon-fetch" / f"{CREDIT.stem}.pages").stat().st_size > 0
    return line


def _uses_requests(stats) -> int:
    """Searches of the uses the sandbox answered (written whole or not)."""
    return stats.searches[CREDIT_USE.name]


def test_a_total_items_too_low_is_walked_past_and_every_record_fetched(tmp_path):
    out, run, _ = _fetch(tmp_path, _hostile(total_items_scale=0.2))
    assert run.returncode == 0, run.stderr
    ids = sorted(_frames(out)[CREDIT_USE]["Id"].tolist())
    assert ids == sorted(use["Id"] for use in LEDGER[CREDIT_USE.name])
    assert len(ids) > 25, "the ledger must hold more than one page for this test to prove anything"
    uses = json.loads((out / "manifest.json").read_text())["entities"][CREDIT_USE.name]
    assert uses["records"] == len(ids) and uses["total_items"][0] < len(ids)
    assert any("TotalItems" in note and "too low" in note for note in uses["notes"]), uses


def test_pages_smaller_than_asked_each_claiming_to_be_the_only_one_are_walked_past(tmp_path):
    """The issue's case: 25 records a page whatever size asks, and TotalItems 25 on each."""
    out = tmp_path / "snap"
    hostile = _hostile(serve_size=25, total_items_at_most=25)
    with _sandbox(snapshot=LEDGER, hostile=hostile) as sandbox:
        run = recon_cli(*_fetch_args(sandbox, out), timeout=120)  # size=1000 asked
    assert run.returncode == 0, run.stderr
    ids = sorted(_frames(out)[CREDIT_USE]["Id"].tolist())
    assert ids == sorted(use["Id"] for use in LEDGER[CREDIT_USE.name]) and len(ids) > 25
    uses = json.loads((out / "manifest.json").read_text())["entities"][CREDIT_USE.name]
    assert any("but records followed it: walked on by Id" in note for note in uses["notes"])


def test_a_total_items_too_high_stops_the_fetch_naming_both_counts(tmp_path):
    out, run, stats = _fetch(tmp_path, _hostile(total_items_scale=10))
    line = _stopped(run, out)
    served = len(LEDGER[CREDIT_USE.name])
    assert f"TotalItems {served * 10}" in line and f"after {served} records" in line, line
    assert "report it to Nexudus" in line and "what was fetched is kept" in line
    # A keyset walk and two offset walks that agree, each stopping a few requests past the
    # pages' end: fewer requests in all than one walk of the pages TotalItems claims.
    assert _uses_requests(stats) < served * 10 // 25


def test_endless_full_pages_stop_at_the_bound_from_total_items(tmp_path):
    out, run, stats = _fetch(tmp_path, _hostile(endless=True))
    line = _stopped(run, out)
    served = len(LEDGER[CREDIT_USE.name])
    assert f"at most {served} records" in line and "pages had not ended" in line, line
    bound = int(line.split("bound of ")[1].split()[0])
    assert _uses_requests(stats) == bound
    assert "(the absolute cap)" not in line


def test_endless_pages_with_a_huge_total_stop_at_the_absolute_cap(tmp_path):
    hostile = _hostile(endless=True, total_items_scale=10**6)
    out, run, stats = _fetch(tmp_path, hostile, "--max-requests", "40")
    line = _stopped(run, out)
    assert "bound of 40 requests (the absolute cap)" in line and "--max-requests" in line, line
    assert _uses_requests(stats) == 40


def test_a_huge_body_is_cut_at_the_cap_and_not_retried(tmp_path):
    out, run, stats = _fetch(tmp_path, _hostile(padding=3 << 20), "--max-response-mb", "1")
    line = _stopped(run, out)
    assert "over the cap of 1 MiB per response (--max-response-mb)" in line, line
    assert _uses_requests(stats) == 1


def test_a_trickling_server_meets_the_deadline_per_request(tmp_path):
    hostile = _hostile(trickle=0.2)
    out, run, stats = _fetch(tmp_path, hostile, "--request-timeout", "1", "--tries", "2")
    line = _stopped(run, out)
    assert "2 tries failed" in line and "1 s deadline per request (--request-timeout" in line
    assert _uses_requests(stats) == 2


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("null", "not a page envelope but a JSON null"),
        ("records-object", "Records is a JSON object, not a list"),
    ],
)  # every other shape: tests/fetch/test_client.py, against the client alone
def test_a_body_that_is_not_a_page_envelope_is_retried_then_fatal(tmp_path, body, said):
    out, run, stats = _fetch(tmp_path, _hostile(body=body), "--tries", "2")
    line = _stopped(run, out)
    assert said in line and "2 tries failed" in line and "HTTP 200" in line, line
    assert _uses_requests(stats) == 2


def test_a_redirect_is_neither_retried_nor_followed(tmp_path):
    hostile = _hostile(redirect="http://elsewhere.invalid:8080", redirect_status=301)
    out, run, stats = _fetch(tmp_path, hostile)
    line = _stopped(run, out)
    assert f"HTTP 301 pointing to http://elsewhere.invalid:8080{USES_PATH}?" in line, line
    assert "--base-url http://elsewhere.invalid:8080" in line
    assert _uses_requests(stats) == 1
