"""A location scope that holds for the whole ledger, and progress bars that count records.

The real ``recon run``/``recon fetch`` in a subprocess against the sandbox on
127.0.0.1 serving ``sample_data/`` (four locations), with the related-property
filter honoured, rejected (HTTP 400) and ignored.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from builders import on_a_terminal

from recon.entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE, ENTITIES
from recon.errors import UsageError
from recon.fetch import filter_names
from recon.fetch import scope as scoping
from recon.sandbox import Hostile, LedgerChange, Sandbox, SandboxConfig

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
TOKEN = "tok-scope-SANDBOX-secret"
AS_OF = "2025-12-31T00:00:00Z"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUDUS_")}
    env["NEXUDUS_TOKEN"] = TOKEN
    return env


def recon_cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=240,
    )


def _sandbox(**settings: object) -> Sandbox:
    return Sandbox(SandboxConfig(snapshot=SAMPLE, token=TOKEN, limits="off", **settings))


def _run(sandbox: Sandbox, out: Path, *extra: object) -> subprocess.CompletedProcess[str]:
    return recon_cli(
        "run", "--base-url", sandbox.base_url, "--limits", "off", "--out", out,
        "--as-of", AS_OF, "--quiet", *extra,
    )  # fmt: skip


def _orphans(out: Path) -> set[int]:
    findings = json.loads((out / "findings.json").read_text())["findings"]
    return {f["record_id"] for f in findings if f["rule"] == "orphan_use"}


def _ids(out: Path, entity) -> list[int]:
    frame = pd.read_parquet(out / "snapshot" / f"{entity.stem}.parquet", columns=["Id"])
    return sorted(frame["Id"].tolist())


def _served_in(sandbox: Sandbox, locations: set[int]) -> dict:
    """The Ids of each entity's records at ``locations``, worked out from what is served."""
    credits = {r["Id"] for r in sandbox.records(CREDIT) if r.get("BusinessId") in locations}
    allowances = {r["Id"] for r in sandbox.records(ALLOWANCE) if r.get("BusinessId") in locations}
    uses = {
        r["Id"] for r in sandbox.records(CREDIT_USE) if r.get("CoworkerBookingCreditId") in credits
    }
    allowance_uses = {
        r["Id"]
        for r in sandbox.records(ALLOWANCE_USE)
        if r.get("CoworkerExtraServiceId") in allowances
    }
    return {
        CREDIT: sorted(credits),
        CREDIT_USE: sorted(uses),
        ALLOWANCE: sorted(allowances),
        ALLOWANCE_USE: sorted(allowance_uses),
    }


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    """An unscoped run of the whole sample: the orphans that really are there."""
    out = tmp_path_factory.mktemp("full") / "run"
    with _sandbox() as sandbox:
        done = _run(sandbox, out)
    assert done.returncode == 1, done.stderr
    assert _orphans(out)  # sample_data has true orphans, the scoped runs must add none
    return out


HOW = {
    "honour": "by the API",
    "reject": "after fetching: the API rejected",
    "ignore": "after fetching: the API ignored",
}


@pytest.mark.parametrize("related", ["honour", "reject", "ignore"])
def test_one_location_fetches_exactly_its_ledger_with_no_false_orphans(tmp_path, full_run, related):
    out = tmp_path / "run"
    with _sandbox(related_filters=related) as sandbox:
        done = _run(sandbox, out, "--location", 1201)
        expected = _served_in(sandbox, {1201})
        refused = sum(
            counts[400] for path, counts in sandbox.stats.requests.items() if "usehistories" in path
        )
    assert done.returncode in (0, 1), done.stderr
    assert _orphans(out) <= _orphans(full_run)
    assert not _orphans(out)  # the orphans of the sample are uses of no location
    for entity in ENTITIES:
        assert _ids(out, entity) == expected[entity], entity.name
    assert expected[CREDIT] and expected[CREDIT_USE] and expected[ALLOWANCE_USE]
    manifest = json.loads((out / "snapshot" / "manifest.json").read_text())
    assert manifest["scope"]["locations"] == [1201]
    for entity in (CREDIT, ALLOWANCE):
        assert manifest["entities"][entity.name]["scope"]["applied"] == "by the API"
    for entity in (CREDIT_USE, ALLOWANCE_USE):
        scope = manifest["entities"][entity.name]["scope"]
        assert scope["applied"].startswith(HOW[related]), scope
        assert (scope["records_dropped"] > 0) == (related != "honour")
    assert (refused > 0) == (related == "reject")
    # The reports show the scope: among the manifest's facts, and in every title.
    assert re.search(r"scope.{0,200}1201", (out / "report.html").read_text(), re.S)
    assert "location 1201" in (out / "report.md").read_text().splitlines()[0]


def test_several_locations_fetch_whole_and_keep_theirs(tmp_path, full_run):
    out = tmp_path / "run"
    with _sandbox() as sandbox:
        done = _run(sandbox, out, "--location", 1203, "--location", 1201, "--location", 1203)
        expected = _served_in(sandbox, {1201, 1203})
        alone = _served_in(sandbox, {1201})
    assert done.returncode in (0, 1), done.stderr
    assert not _orphans(out) and _orphans(out) <= _orphans(full_run)
    for entity in ENTITIES:
        assert _ids(out, entity) == expected[entity], entity.name
        assert len(expected[entity]) > len(alone[entity])
    manifest = json.loads((out / "snapshot" / "manifest.json").read_text())
    assert manifest["scope"]["locations"] == [1201, 1203]
    for entity in ENTITIES:
        assert "several locations" in manifest["entities"][entity.name]["scope"]["applied"]
    frame = pd.read_parquet(out / "snapshot" / f"{CREDIT.stem}.parquet", columns=["BusinessId"])
    assert set(frame["BusinessId"]) == {1201, 1203}


def test_an_unknown_filter_field_is_refused_before_any_request(tmp_path):
    with _sandbox() as sandbox:
        bogus = recon_cli(
            "fetch", "--base-url", sandbox.base_url, "--out", tmp_path / "a",
            "--filter", "CoworkerBookingCredit_Bogus=1",
        )  # fmt: skip
        close = recon_cli(
            "fetch", "--base-url", sandbox.base_url, "--out", tmp_path / "b",
            "--filter", "CoworkerBookingCredit_BusinesId=1201",
        )  # fmt: skip
        requests = sum(sum(counts.values()) for counts in sandbox.stats.requests.values())
    for done in (bogus, close):
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "'CoworkerBookingCredit_Bogus'" in bogus.stderr and "BusinessId" in bogus.stderr
    assert "did you mean CoworkerBookingCredit_BusinessId" in close.stderr
    assert requests == 0
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    "name",
    [
        "CoworkerBookingCredit_BusinessId",
        "CoworkerBookingCredit_businessid",
        "from_CoworkerBookingCreditUseHistory_CreatedOn",
        "to_CoworkerExtraService_TotalUses",
        "CoworkerBookingCreditUseHistory_CoworkerBookingCredit",
        "CoworkerBookingCreditUseHistory_CoworkerBookingCredit_BusinessId",
        "CoworkerBookingCreditUseHistory_Booking_Resource_Name",
        "CoworkerExtraServiceUseHistory_CoworkerExtraService_BusinessId",
        "CoworkerBookingCredit_Business_Name",
    ],
)
def test_filter_names_the_api_documents_are_accepted(name):
    assert filter_names.check(name) is filter_names.owner_of(name)


@pytest.mark.parametrize(
    "name",
    [
        "CoworkerBookingCredit_Bogus",
        "from_CoworkerBookingCredit_",
        "CoworkerBookingCreditUseHistory_CoworkerBookingCredit_Bogus",
        "CoworkerBookingCreditUseHistory_Bogus_BusinessId",
        "Coworker_BusinessId",
    ],
)
def test_filter_names_with_an_unknown_part_are_refused(name):
    with pytest.raises(UsageError, match="--filter"):
        filter_names.check(name)


def test_fetch_help_gives_location_as_the_example():
    text = " ".join(recon_cli("fetch", "--help").stdout.split())  # as read, not as wrapped
    assert "--location BUSINESS_ID" in text and "--location 1201" in text
    assert "CoworkerBookingCredit_BusinessId=1201" not in text
    assert "--location BUSINESS_ID" in recon_cli("run", "--help").stdout


def _on_a_terminal(args: list) -> tuple[int, str]:
    process, terminal = on_a_terminal(args, env=_env(), columns=120)
    return process.returncode, terminal


def test_progress_bars_count_whole_records_and_end_at_the_records_fetched(tmp_path):
    out = tmp_path / "snap"
    with _sandbox() as sandbox:
        # Pages of 300: keyset pages that repeat the last row of the page before them, and
        # thousands of records (which tqdm's unit scaling showed as 3.70k).
        code, terminal = _on_a_terminal(
            ["fetch", "--base-url", sandbox.base_url, "--limits", "off", "--out", out,
             "--page-size", 300]
        )  # fmt: skip
    assert code == 0, terminal
    manifest = json.loads((out / "manifest.json").read_text())
    lines = [line for line in re.split(r"[\r\n]", terminal) if line.strip()]
    for entity in ENTITIES:
        records = manifest["entities"][entity.name]["records"]
        bars = [line for line in lines if line.startswith(f"{entity.name} ")]
        assert bars, terminal
        final = re.search(r"(\d+)/(\d+) \[", bars[-1])
        assert final is not None, bars[-1]
        assert (int(final.group(1)), int(final.group(2))) == (records, records), bars[-1]
        assert "100%" in bars[-1]
        for line in bars:  # never past the total, never scaled
            shown = re.search(r"([\d.]+k?)/([\d.]+k?) \[", line)
            if shown:
                done, total = shown.groups()
                assert "k" not in done + total and "." not in done + total, line
                assert int(done) <= int(total), line
    assert manifest["entities"][CREDIT_USE.name]["records"] > 1000


def test_a_filter_on_the_location_beside_location_is_refused(tmp_path):
    done = recon_cli(
        "fetch", "--out", tmp_path / "a", "--location", 1201,
        "--filter", "CoworkerBookingCredit_BusinessId=1202",
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--location" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("related", ["honour", "reject"])
def test_a_ledger_changed_mid_fetch_stays_in_scope_and_at_one_moment(tmp_path, related):
    """Credits and their uses change while the fetch walks from credits to uses: the passes
    to one moment re-read them, and the uses are scoped again by the credits re-read."""
    out = tmp_path / "run"
    with _sandbox(related_filters=related, ledger_change=LedgerChange(credits=40)) as sandbox:
        done = _run(sandbox, out, "--location", 1201)
        expected = _served_in(sandbox, {1201})
        changed = [entry for entry in sandbox.mutations_log if entry]
    assert done.returncode in (0, 1), done.stderr
    assert changed
    for entity in ENTITIES:
        assert _ids(out, entity) == expected[entity], entity.name
    manifest = json.loads((out / "snapshot" / "manifest.json").read_text())
    assert manifest["moment"]["records_reread"][CREDIT.name] > 0
    assert not _orphans(out)
    findings = json.loads((out / "findings.json").read_text())["summary"]["by_rule"]
    # Taken at one moment, the changed credits balance (a mix of moments would not).
    full = tmp_path / "full"
    with _sandbox() as sandbox:
        assert _run(sandbox, full, "--location", 1201).returncode in (0, 1)
    before = json.loads((full / "findings.json").read_text())["summary"]["by_rule"]
    assert findings["balance_mismatch"] == before["balance_mismatch"]


def test_since_keeps_the_scope_of_the_snapshot_it_merges_into(tmp_path):
    out = tmp_path / "snap"
    with _sandbox() as sandbox:
        first = recon_cli(
            "fetch", "--base-url", sandbox.base_url, "--limits", "off", "--out", out,
            "--location", 1201, "--quiet",
        )  # fmt: skip
        other = recon_cli(
            "fetch", "--base-url", sandbox.base_url, "--limits", "off", "--out", out,
            "--location", 1202, "--since", "2025-01-01T00:00:00Z",
        )  # fmt: skip
        same = recon_cli(
            "fetch", "--base-url", sandbox.base_url, "--limits", "off", "--out", out,
            "--location", 1201, "--since", "2025-01-01T00:00:00Z", "--quiet",
        )  # fmt: skip
        expected = _served_in(sandbox, {1201})
    assert first.returncode == 0, first.stderr
    assert other.returncode == 2 and other.stderr.count("\n") == 1
    assert "1201" in other.stderr and "1202" in other.stderr and "--location" in other.stderr
    assert same.returncode == 0, same.stderr
    for entity in ENTITIES:
        frame = pd.read_parquet(out / f"{entity.stem}.parquet", columns=["Id"])
        assert sorted(frame["Id"]) == expected[entity]


def test_records_with_a_bad_location_or_parent_are_in_no_location():
    credits = pa.table({"Id": [1, 2, 3, 4], "BusinessId": ["1201", "x", None, "1202"]})
    kept = scoping.keep_parents(credits, (1201,))
    assert kept.column("Id").to_pylist() == [1]
    uses = pa.table({"Id": [10, 11, 12], "CoworkerBookingCreditId": [1, 4, None]})
    assert scoping.keep_children(uses, CREDIT_USE, kept.column("Id")).column("Id").to_pylist() == [
        10
    ]
    text_ids = pa.table({"Id": [10, 11], "CoworkerBookingCreditId": ["1", "oops"]})
    assert scoping.keep_children(text_ids, CREDIT_USE, kept.column("Id")).num_rows == 1


def test_a_fetch_resumed_after_a_rejected_filter_does_not_ask_again(tmp_path):
    """The API rejected the uses' related filter, the fetch fell back to the whole table and
    was cut short; run again, it resumes the whole-table walk without asking the filter."""
    out = tmp_path / "snap"
    stopping = Hostile(entity=CREDIT_USE.name, after_searches=3, body="null")
    with _sandbox(related_filters="reject", hostile=stopping) as sandbox:
        port = int(sandbox.base_url.rsplit(":", 1)[1])
        cut = recon_cli(
            "fetch", "--base-url", sandbox.base_url, "--limits", "off", "--out", out,
            "--location", 1201, "--page-size", 500, "--tries", 1, "--concurrency", 1,
        )  # fmt: skip
    assert cut.returncode == 2 and "CoworkerBookingCreditUseHistory" in cut.stderr, cut.stderr
    assert (out / ".recon-fetch").is_dir()
    with _sandbox(related_filters="reject", port=port) as sandbox:
        resumed = recon_cli(
            "fetch", "--base-url", sandbox.base_url, "--limits", "off", "--out", out,
            "--location", 1201, "--page-size", 500, "--tries", 1, "--concurrency", 1,
        )  # fmt: skip
        expected = _served_in(sandbox, {1201})
        refused = sum(counts[400] for counts in sandbox.stats.requests.values())
    assert resumed.returncode == 0, resumed.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed"] is True
    assert "rejected" in manifest["entities"][CREDIT_USE.name]["scope"]["applied"]
    # Asked once more only by the allowance uses, which had not been walked yet.
    assert refused == 1
    for entity in ENTITIES:
        frame = pd.read_parquet(out / f"{entity.stem}.parquet", columns=["Id"])
        assert sorted(frame["Id"]) == expected[entity], entity.name
