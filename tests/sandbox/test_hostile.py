"""The hostile mode, ledger changes and throttling styles, as a client sees them."""

import json

import pytest

from recon.sandbox import Hostile, LedgerChange, Limits

USES = "/api/billing/coworkerbookingcreditusehistories"
CREDITS = "/api/billing/coworkerbookingcredits"


def test_total_items_lie_only_for_the_entity_and_from_the_search_given(start, client):
    http = client(
        start(
            hostile=Hostile(
                entity="coworkerbookingcreditusehistories", total_items_scale=10, after_searches=1
            )
        )
    )
    assert http.get(USES).json()["TotalItems"] == 40  # the first search: honest
    assert http.get(USES).json()["TotalItems"] == 400
    assert http.get(CREDITS).json()["TotalItems"] == 5


def test_endless_pages_are_full_of_made_up_records_past_the_highest_id(start, client, ids):
    http = client(start(hostile=Hostile(endless=True)))
    last = http.get(USES, params={"page": 2, "size": 30})
    assert ids(last) == list(range(131, 141)) + list(range(141, 161))
    beyond = http.get(USES, params={"from_CoworkerBookingCreditUseHistory_Id": 500, "size": 5})
    assert ids(beyond) == [500, 501, 502, 503, 504]
    assert beyond.json()["TotalItems"] == 0


def test_serve_size_and_total_items_at_most(start, client, ids):
    http = client(start(hostile=Hostile(serve_size=7, total_items_at_most=7)))
    page = http.get(USES, params={"size": 1000})
    assert ids(page) == list(range(101, 108)) and page.json()["TotalItems"] == 7


@pytest.mark.parametrize(
    ("body", "expected"),
    [("null", None), ("number", 42), ("string", "OK"), ("records-null", None)],
)
def test_bodies_that_are_not_envelopes(start, client, body, expected):
    answer = client(start(hostile=Hostile(body=body))).get(USES).json()
    value = answer["Records"] if body.startswith("records") else answer
    assert value == expected


def test_padding_and_redirects(start, client):
    sandbox = start(hostile=Hostile(padding=100_000, entity="CoworkerBookingCredit"))
    answer = client(sandbox).get(CREDITS)
    assert len(answer.json()["Padding"]) == 100_000 and len(answer.json()["Records"]) == 5
    moved = start(hostile=Hostile(redirect="http://other.invalid", redirect_status=307))
    answer = client(moved).get(USES, params={"size": 3})
    assert answer.status_code == 307
    assert answer.headers["Location"] == f"http://other.invalid{USES}?size=3"


def test_a_trickled_body_arrives_whole(start, client):
    """Only that it is whole: that it is slow shows in the fetch's deadline test
    (tests/fetch/test_hostile_server.py), where no whole answer can come in time."""
    plain = client(start()).get(CREDITS, params={"size": 1})
    sandbox = start(hostile=Hostile(trickle=0.001, entity="CoworkerBookingCredit"))
    with client(sandbox).stream("GET", CREDITS, params={"size": 1}) as answer:
        body = b"".join(answer.iter_raw())
    assert body == plain.content and json.loads(body)["Records"][0]["Id"] == 1


def test_a_ledger_change_keeps_the_ledger_balanced_before_and_after(start, client, data):
    uses = data["CoworkerBookingCreditUseHistory"]
    for record in data["CoworkerBookingCredit"]:  # balanced, as the change needs
        spent = sum(u["CreditUsed"] for u in uses if u["CoworkerBookingCreditId"] == record["Id"])
        record["RemainingCredit"] = record["TotalCredit"] - spent
    sandbox = start(snapshot=data, ledger_change=LedgerChange(credits=2, at_search=2))
    before = {
        entity: sandbox.records(entity)
        for entity in ("CoworkerBookingCredit", "CoworkerBookingCreditUseHistory")
    }
    http = client(sandbox)
    http.get(USES)
    assert sandbox.mutations_log == []
    http.get(USES)
    (event,) = sandbox.mutations_log
    assert event.cause == "ledger change" and len(event.inserted) == 2 and len(event.changed) == 4
    credits = {r["Id"]: r for r in sandbox.records("CoworkerBookingCredit")}
    old = {r["Id"]: r for r in before["CoworkerBookingCredit"]}
    uses = sandbox.records("CoworkerBookingCreditUseHistory")
    for credit_id in event.changed[::2]:
        assert credits[credit_id]["RemainingCredit"] == old[credit_id]["RemainingCredit"] - 0.5
        spent = sum(u["CreditUsed"] for u in uses if u["CoworkerBookingCreditId"] == credit_id)
        was = sum(
            u["CreditUsed"]
            for u in before["CoworkerBookingCreditUseHistory"]
            if u["CoworkerBookingCreditId"] == credit_id
        )
        assert spent == was + 0.5


@pytest.mark.parametrize("status", [409, 429])
def test_throttling_says_its_wait_in_the_header_or_the_body(start, client, status):
    limits = Limits(all_methods=((60.0, 1),))
    http = client(start(limits=limits, throttle_status=status, throttle_wait_in="body"))
    assert http.get(USES).status_code == 200
    throttled = http.get(USES)
    assert throttled.status_code == status and "Retry-After" not in throttled.headers
    assert throttled.json()["Message"].startswith("Too many requests. Wait ")
    http = client(start(limits=limits, throttle_status=status))
    http.get(USES)
    assert http.get(USES).headers["Retry-After"].isdigit()
