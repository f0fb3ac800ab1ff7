"""A whole fetch against the fake API: consistency while the table changes, resume, incremental
fetches, the manifest, and Parquet that audits like the same records as JSON."""

import copy
import json

import httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest
from builders import allowance, allowance_use, credit, event_use, invoice_use, use, write_snapshot
from fakeapi import FakeApi

import recon
from recon import stored_datetimes
from recon.entities import CREDIT, CREDIT_USE
from recon.fetch import Credentials, FetchOptions, RetryPolicy, fetch
from recon.fetch.errors import CountsContradictPages

TOKEN = "tok-SECRET-fetch"


def _records(credits=30, uses=95):
    return {
        "coworkerbookingcredits": [
            credit(i, RemainingCredit=100.0 - 10.0 * (95 // 30 + (i <= 95 % 30)))
            for i in range(1, credits + 1)
        ],
        "coworkerbookingcreditusehistories": [
            (use, event_use, invoice_use)[i % 3](1000 + i, 1 + i % credits) for i in range(uses)
        ],
        "coworkerextraservices": [allowance(20, RemainingUses=540)],
        "coworkerextraserviceusehistories": [allowance_use(30, 20)],
    }


def _fetch(tmp_path, api, name="snapshot", **options):
    options.setdefault("page_size", 10)
    options.setdefault("limits", "off")
    out = tmp_path / name
    manifest = fetch(
        out,
        FetchOptions(base_url="http://api.test", **options),
        credentials=Credentials(token=TOKEN),
        transport=httpx.MockTransport(api),
        retry=RetryPolicy(attempts=3, sleep=lambda s: None),
    )
    return out, manifest


def _ids(out, entity):
    return pq.read_table(out / f"{entity.stem}.parquet").column("Id").to_pylist()


@pytest.mark.parametrize(
    "server",
    [
        {},
        {"ascending_dir": 0},
        {"honour_id_ranges": False},
        {"ignore_order": True},
        {"page_cap": 7},
    ],
)
def test_every_record_once_whatever_the_server_honours(tmp_path, server):
    records = _records()
    out, manifest = _fetch(tmp_path, FakeApi(records, **server))
    for entity in (CREDIT, CREDIT_USE):
        assert _ids(out, entity) == sorted(r["Id"] for r in records[entity.stem])
    assert manifest["entities"]["CoworkerBookingCreditUseHistory"]["records"] == 95


@pytest.mark.parametrize(
    ("repeated_at", "copies"),
    [(9, 2), (4, 2), (8, 3), (19, 2)],
    ids=["across-a-page-boundary", "inside-a-page", "three-across-a-boundary", "end-of-a-range"],
)
def test_an_id_the_server_serves_more_than_once_neither_fails_nor_loses_a_row(
    tmp_path, repeated_at, copies
):
    records = _records()
    uses = sorted(records["coworkerbookingcreditusehistories"], key=lambda r: r["Id"])
    doubled = uses[repeated_at]
    for n in range(copies - 1):
        uses.insert(repeated_at + 1 + n, {**doubled, "Description": f"copy {n}"})
    records["coworkerbookingcreditusehistories"] = uses
    out, manifest = _fetch(tmp_path, FakeApi(records))
    entry = manifest["entities"][CREDIT_USE.name]
    assert entry["paging"] == "keyset", entry["notes"]
    assert _ids(out, CREDIT_USE) == sorted({r["Id"] for r in uses})
    assert entry["notes"] == [
        f"the server served {copies - 1} row(s) with an Id another row has too; each Id is kept "
        "once, as last received"
    ]


def _mutate_after(entity_stem, after, inserts, deletes):
    """A hook that, at the ``after``-th search of the entity, inserts records above the walk and
    deletes some below it."""
    state = {"searches": 0, "deleted": [], "inserted": []}

    def hook(api, request):
        if not request.url.path.endswith(entity_stem):
            return
        state["searches"] += 1
        if state["searches"] == after:
            rows = api.records[entity_stem]
            top = max(r["Id"] for r in rows)
            for n in range(inserts):
                new = copy.deepcopy(rows[0])
                new.update(Id=top + 1 + n, UniqueId=f"new-{n}")
                rows.append(new)
                state["inserted"].append(new["Id"])
            for victim in sorted(rows, key=lambda r: r["Id"])[2 : 2 + deletes]:
                rows.remove(victim)
                state["deleted"].append(victim["Id"])
        return

    return hook, state


@pytest.mark.parametrize("server", [{}, {"honour_id_ranges": False}])
def test_records_inserted_and_deleted_mid_walk_neither_lose_nor_repeat_the_others(tmp_path, server):
    records = _records(uses=200)
    existed = {r["Id"] for r in records["coworkerbookingcreditusehistories"]}
    hook, changes = _mutate_after(
        "coworkerbookingcreditusehistories", after=5, inserts=3, deletes=4
    )
    out, manifest = _fetch(tmp_path, FakeApi(records, before_request=hook, **server))
    fetched = _ids(out, CREDIT_USE)
    throughout = existed - set(changes["deleted"])
    assert len(changes["deleted"]) == 4 and len(fetched) == len(set(fetched))
    assert throughout <= set(fetched)
    if not server:  # keyset paging also picks up what was inserted
        assert set(changes["inserted"]) <= set(fetched)
    else:
        notes = manifest["entities"]["CoworkerBookingCreditUseHistory"]["notes"]
        assert any("walked again" in note for note in notes)


def test_an_interrupted_fetch_resumes_where_it_stopped(tmp_path):
    records = _records(uses=200)
    failing = {"on": True}

    def hook(api, request):
        if (
            failing["on"]
            and "coworkerbookingcreditusehistories" in request.url.path
            and len(api.requests) > 12
        ):
            return httpx.Response(503)
        return None

    api = FakeApi(records, before_request=hook)
    with pytest.raises(recon.errors.ApiUnavailable, match="run the same command again to resume"):
        _fetch(tmp_path, api)
    assert (tmp_path / "snapshot" / ".recon-fetch" / "state.json").exists()
    assert not (tmp_path / "snapshot" / "manifest.json").exists()
    with pytest.raises(recon.SnapshotError, match="unfinished fetch"):
        recon.audit(tmp_path / "snapshot")
    failing["on"] = False
    before = len(api.requests)
    out, manifest = _fetch(tmp_path, api)
    resumed_requests = sum("creditusehistories" in r.url.path for r in api.requests[before:])
    fresh = FakeApi(_records(uses=200))
    _fetch(tmp_path, fresh, name="fresh")
    fresh_requests = sum("creditusehistories" in r.url.path for r in fresh.requests)
    assert manifest["resumed"] and resumed_requests < fresh_requests
    assert _ids(out, CREDIT_USE) == sorted(
        r["Id"] for r in records["coworkerbookingcreditusehistories"]
    )
    assert not (out / ".recon-fetch").exists()


def test_resuming_with_other_options_is_refused(tmp_path):
    api = FakeApi(
        _records(), before_request=lambda a, r: httpx.Response(503) if len(a.requests) > 3 else None
    )
    with pytest.raises(recon.errors.ApiUnavailable):
        _fetch(tmp_path, api)
    with pytest.raises(recon.errors.FetchError, match="unfinished fetch with other options"):
        _fetch(tmp_path, FakeApi(_records()), filters={"CoworkerBookingCredit_BusinessId": "1"})


def test_since_merges_updates_and_find_deletions_drops_what_is_gone(tmp_path):
    records = _records()
    out, _ = _fetch(tmp_path, FakeApi(records))
    uses = records["coworkerbookingcreditusehistories"]
    uses[0]["CreditUsed"] = 12.5
    uses[0]["UpdatedOn"] = "2026-01-02T10:00:00Z"
    gone = uses.pop(5)["Id"]
    api = FakeApi(records)
    out, manifest = _fetch(
        tmp_path,
        api,
        since=pd.Timestamp("2026-01-01T00:00:00Z").to_pydatetime(),
        find_deletions=True,
    )
    assert any("from_CoworkerBookingCreditUseHistory_UpdatedOn" in str(r.url) for r in api.requests)
    table = pq.read_table(out / "coworkerbookingcreditusehistories.parquet").to_pandas()
    assert table.set_index("Id").loc[uses[0]["Id"], "CreditUsed"] == 12.5
    assert gone not in set(table["Id"]) and len(table) == 94
    assert manifest["since"] == "2026-01-01T00:00:00Z" and manifest["previous"]["records"]


def test_since_needs_an_earlier_snapshot(tmp_path):
    with pytest.raises(recon.UsageError, match="needs the snapshot of an earlier fetch"):
        _fetch(
            tmp_path,
            FakeApi(_records()),
            since=pd.Timestamp("2026-01-01T00:00:00Z").to_pydatetime(),
        )


def test_snapshot_files_recon_did_not_write_are_never_overwritten(tmp_path):
    write_snapshot(tmp_path / "snapshot", credits=[credit(1)], uses=[])
    with pytest.raises(recon.errors.FetchError, match="recon fetch did not write"):
        _fetch(tmp_path, FakeApi(_records()))


def test_manifest_records_the_fetch_and_no_secret(tmp_path):
    out, manifest = _fetch(
        tmp_path, FakeApi(_records()), filters={"CoworkerBookingCredit_BusinessId": "1"}
    )
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["base_url"] == "http://api.test"
    assert manifest["filters"] == {"CoworkerBookingCredit_BusinessId": "1"}
    entry = manifest["entities"]["CoworkerBookingCreditUseHistory"]
    assert entry["file"] == "coworkerbookingcreditusehistories.parquet" and entry["records"] == 95
    assert len(entry["sha256"]) == 64 and entry["paging"] == "keyset"
    assert (
        manifest["fetch_started"].endswith("Z") and manifest["recon_version"] == recon.__version__
    )
    for path in out.rglob("*"):
        assert TOKEN.encode() not in path.read_bytes()


def test_a_changed_file_no_longer_matches_its_manifest(tmp_path):
    out, _ = _fetch(tmp_path, FakeApi(_records()))
    table = pq.read_table(out / "coworkerbookingcredits.parquet")
    pq.write_table(table.slice(1), out / "coworkerbookingcredits.parquet")
    with pytest.raises(recon.SnapshotError, match="has changed since recon fetch wrote it"):
        recon.audit(out)


def test_parquet_audits_exactly_like_the_same_records_as_json(tmp_path):
    records = _records()
    uses = records["coworkerbookingcreditusehistories"]
    uses[3]["CreditUsed"] = "60.00"  # mixed types: stored as JSON text, read back as a string
    uses[4]["BookingFromTime"] = "2025-02-30T10:00:00"
    uses[5]["Description"] = {"note": "an object"}
    records["coworkerbookingcredits"][2]["RemainingCredit"] = -5.0
    out, _ = _fetch(tmp_path, FakeApi(records))
    as_json = write_snapshot(
        tmp_path / "json",
        credits=records["coworkerbookingcredits"],
        uses=uses,
        allowances=records["coworkerextraservices"],
        allowance_uses=records["coworkerextraserviceusehistories"],
        fmt="json",
    )
    fetched = recon.audit(out, as_of="2025-12-31T00:00:00Z").findings.drop(columns="row")
    reference = recon.audit(as_json, as_of="2025-12-31T00:00:00Z").findings.drop(columns="row")
    # Date-times are stored typed (the odd 2025-02-30 as its text beside them).
    stored = pq.read_schema(out / "coworkerbookingcreditusehistories.parquet")
    assert stored_datetimes.is_stored(stored.field("BookingFromTime"))
    assert len(fetched) >= 5
    pd.testing.assert_frame_equal(fetched, reference)


def test_fields_recon_does_not_know_are_kept_as_the_api_sent_them(tmp_path):
    records = _records()
    for offset, record in enumerate(records["coworkerbookingcredits"]):
        record["DueDate"] = f"2025-03-{1 + offset % 28:02d}T00:00:00+01:00"
        record["Archived"] = None
    out, _ = _fetch(tmp_path, FakeApi(records))
    table = pq.read_table(out / "coworkerbookingcredits.parquet")
    # Not a guessed timestamp (which would drop the offset): the text itself.
    assert table.schema.field("DueDate").type == "string"
    assert table.column("DueDate")[0].as_py() == "2025-03-01T00:00:00+01:00"
    as_json = write_snapshot(
        tmp_path / "json",
        credits=records["coworkerbookingcredits"],
        uses=records["coworkerbookingcreditusehistories"],
        fmt="jsonl",
    )
    ruleset = recon.load_ruleset()
    from_parquet = recon.load_snapshot(out, ruleset).frame(CREDIT)
    from_jsonl = recon.load_snapshot(as_json, ruleset).frame(CREDIT)
    # An undeclared field holding only nulls loads from no form (JSON Lines cannot type it).
    assert "Archived" not in from_parquet.columns and "Archived" not in from_jsonl.columns
    assert set(from_parquet.columns) == set(from_jsonl.columns)
    assert from_parquet["DueDate"].tolist() == from_jsonl["DueDate"].tolist()


def test_an_empty_page_that_claims_more_records_is_a_contradiction_not_a_crash(tmp_path):
    """No Id to page from: offset walks stop at the empty page, and agree on none served."""

    def api(request):
        body = {"Records": [], "TotalItems": 5}
        return httpx.Response(200, content=json.dumps(body).encode())

    with pytest.raises(CountsContradictPages) as raised:
        _fetch(tmp_path, api)
    message = str(raised.value)
    assert message.startswith("CoworkerBookingCredit: the API says TotalItems 5, but its pages")
    assert "after 0 records, the same in 2 walks" in message
