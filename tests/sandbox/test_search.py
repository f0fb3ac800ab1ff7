"""Search: the page envelope, paging, the two dir conventions, ordering, records as stored."""

import json
import math
from pathlib import Path

import pytest
from builders import credit, use, write_file

from recon.entities import ENTITIES

CREDITS = "/api/billing/coworkerbookingcredits"
USES = "/api/billing/coworkerbookingcreditusehistories"
ALLOWANCES = "/api/billing/coworkerextraservices"
SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"

ENVELOPE_KEYS = [
    "Records",
    "CurrentPageSize",
    "CurrentPage",
    "CurrentOrderField",
    "CurrentSortDirection",
    "FirstItem",
    "HasNextPage",
    "HasPreviousPage",
    "LastItem",
    "PageNumber",
    "PageSize",
    "TotalItems",
    "TotalPages",
]


def meta(response):
    return {key: value for key, value in response.json().items() if key != "Records"}


def test_first_middle_last_and_past_the_end_pages(start, client, ids):
    http = client(start())
    first = http.get(USES, params={"size": 15, "dir": 1})
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/json")
    assert list(first.json()) == ENVELOPE_KEYS
    assert ids(first) == list(range(101, 116))
    assert meta(first) == {
        "CurrentPageSize": 15,
        "CurrentPage": 1,
        "CurrentOrderField": "Id",
        "CurrentSortDirection": 1,
        "FirstItem": 1,
        "HasNextPage": True,
        "HasPreviousPage": False,
        "LastItem": 15,
        "PageNumber": 1,
        "PageSize": 15,
        "TotalItems": 40,
        "TotalPages": 3,
    }
    middle = http.get(USES, params={"size": 15, "page": 2, "dir": 1})
    assert ids(middle) == list(range(116, 131))
    assert (meta(middle)["FirstItem"], meta(middle)["LastItem"]) == (16, 30)
    assert meta(middle)["HasNextPage"] and meta(middle)["HasPreviousPage"]
    last = http.get(USES, params={"size": 15, "page": 3, "dir": 1})
    assert ids(last) == list(range(131, 141))
    assert (meta(last)["FirstItem"], meta(last)["LastItem"]) == (31, 40)
    assert not meta(last)["HasNextPage"] and meta(last)["HasPreviousPage"]
    past = http.get(USES, params={"size": 15, "page": 9})
    assert past.status_code == 200 and ids(past) == []
    assert meta(past)["TotalItems"] == 40 and meta(past)["CurrentPage"] == 9
    assert not meta(past)["HasNextPage"]


def test_defaults_page_1_size_25_by_id(start, client, ids):
    http = client(start())
    page = http.get(USES)
    assert ids(page) == list(range(101, 126))
    assert meta(page)["CurrentPageSize"] == 25 and meta(page)["TotalPages"] == 2
    # Values that are not positive integers fall back to the defaults.
    odd = http.get(USES, params={"page": "0", "size": "many"})
    assert ids(odd) == list(range(101, 126))


def test_size_is_clamped_to_1000(start, client, ids):
    records = [credit(i) for i in range(1, 1206)]
    http = client(start(snapshot={"CoworkerBookingCredit": records}))
    page = http.get(CREDITS, params={"size": 5000, "page": 2})
    assert meta(page)["CurrentPageSize"] == 1000 and meta(page)["TotalPages"] == 2
    assert ids(page) == list(range(1001, 1206))


def test_each_entity_has_its_documented_dir_convention(start, client, ids):
    http = client(start())
    # Use histories: 1 ascending, -1 descending.
    assert ids(http.get(USES, params={"size": 3, "dir": 1})) == [101, 102, 103]
    descending = http.get(USES, params={"size": 3, "dir": -1})
    assert ids(descending) == [140, 139, 138]
    assert meta(descending)["CurrentSortDirection"] == -1
    # Credits: 0 ascending, 1 descending; so dir=1 there means descending.
    ascending = http.get(CREDITS, params={"dir": 0})
    assert ids(ascending) == [1, 2, 3, 4, 5] and meta(ascending)["CurrentSortDirection"] == 0
    descending = http.get(CREDITS, params={"dir": 1})
    assert ids(descending) == [5, 4, 3, 2, 1] and meta(descending)["CurrentSortDirection"] == 1
    # A value outside the convention is ascending, echoed in the entity's convention.
    unknown = http.get(CREDITS, params={"dir": -1})
    assert ids(unknown) == [1, 2, 3, 4, 5] and meta(unknown)["CurrentSortDirection"] == 0
    assert meta(http.get(USES, params={"dir": 0}))["CurrentSortDirection"] == 1


@pytest.mark.parametrize(
    ("convention", "ascending", "descending"), [("one_minus_one", 1, -1), ("zero_one", 0, 1)]
)
def test_dir_convention_can_be_forced_for_every_entity(
    start, client, ids, convention, ascending, descending
):
    http = client(start(dir_convention=convention))
    for path in (CREDITS, USES):
        down = http.get(path, params={"dir": descending, "size": 2})
        assert ids(down)[0] > ids(down)[1]
        assert meta(down)["CurrentSortDirection"] == descending
        up = http.get(path, params={"dir": ascending, "size": 2})
        assert ids(up)[0] < ids(up)[1]
        assert meta(up)["CurrentSortDirection"] == ascending


def test_descending_pages_walk_from_the_top(start, client, ids):
    http = client(start())
    pages = [ids(http.get(USES, params={"size": 15, "page": p, "dir": -1})) for p in (1, 2, 3)]
    assert pages[0] == list(range(140, 125, -1))
    assert [i for page in pages for i in page] == list(range(140, 100, -1))


def test_order_by_a_field_breaks_ties_by_id(start, client, data):
    http = client(start())
    expected = sorted(
        data["CoworkerBookingCreditUseHistory"], key=lambda r: (r["CreditUsed"], r["Id"])
    )
    walked = []
    for page in (1, 2, 3):
        body = http.get(USES, params={"orderBy": "CreditUsed", "size": 15, "page": page}).json()
        assert body["CurrentOrderField"] == "CreditUsed"
        walked += body["Records"]
    assert [r["Id"] for r in walked] == [r["Id"] for r in expected]
    # Descending by value, ties still by ascending Id.
    body = http.get(USES, params={"orderBy": "creditused", "dir": -1, "size": 100}).json()
    pairs = [(r["CreditUsed"], r["Id"]) for r in body["Records"]]
    assert pairs == sorted(pairs, key=lambda pair: (-pair[0], pair[1]))


def test_unknown_order_field_orders_by_id(start, client, ids):
    http = client(start())
    body = http.get(CREDITS, params={"orderBy": "NoSuchField"})
    assert ids(body) == [1, 2, 3, 4, 5] and body.json()["CurrentOrderField"] == "Id"


def test_entities_absent_from_the_snapshot_serve_zero_records(start, client):
    http = client(start())
    body = http.get(ALLOWANCES).json()
    assert body["Records"] == [] and body["TotalItems"] == 0 and body["TotalPages"] == 0
    assert http.get(ALLOWANCES + "/1").status_code == 404


def test_sample_data_is_served_exactly_as_stored(start, client):
    sandbox = start(snapshot=SAMPLE)
    http = client(sandbox)
    lines = (SAMPLE / "coworkerbookingcreditusehistories.jsonl").read_text().splitlines()
    stored = [json.loads(line) for line in lines if line.strip()]
    served = []
    page = 1
    while True:
        body = http.get(USES, params={"size": 1000, "page": page, "dir": 1}).json()
        served += body["Records"]
        if not body["HasNextPage"]:
            break
        page += 1
    assert len(served) == len(stored) == 3699  # a duplicated Id is served twice
    by_id = sorted(stored, key=lambda record: record["Id"])
    for got, want in zip(served, by_id, strict=True):
        assert list(got) == list(want)  # same fields, same order, none dropped
        for key in want:
            same_nan = isinstance(want[key], float) and math.isnan(want[key])
            assert (
                (isinstance(got[key], float) and math.isnan(got[key]))
                if same_nan
                else (got[key] == want[key] and type(got[key]) is type(want[key]))
            )
    credits = json.loads((SAMPLE / "coworkerbookingcredits.json").read_text())
    assert sandbox.records("CoworkerBookingCredit") == [
        r for page in credits for r in page["Records"]
    ]


@pytest.mark.parametrize("fmt", ["json", "envelope", "envelopes", "jsonl", "parquet"])
def test_every_snapshot_form_serves_the_same_records(tmp_path, start, client, fmt):
    records = [use(i, 1, CreditUsed=float(i) / 4) for i in (5, 3, 9, 1, 7)]
    records[2]["Extra"] = {"nested": [1, 2]}
    write_file(tmp_path, "coworkerbookingcreditusehistories", records, fmt)
    sandbox = start(snapshot=tmp_path)
    served = client(sandbox).get(USES).json()["Records"]
    expected = sorted(records, key=lambda record: record["Id"])
    if fmt == "parquet":  # Parquet has a column for every field: absent values are null
        names = dict.fromkeys(name for record in records for name in record)
        expected = [{name: record.get(name) for name in names} for record in expected]
    assert served == expected
    assert sandbox.records("coworkerbookingcreditusehistories") == expected
    assert all(sandbox.records(entity) == [] for entity in ENTITIES[2:])
