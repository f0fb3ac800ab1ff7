"""Get-one, batch, and creating a booking-credit use (success and both failure shapes)."""

import re

import pytest

CREDITS = "/api/billing/coworkerbookingcredits"
USES = "/api/billing/coworkerbookingcreditusehistories"
E = "CoworkerBookingCreditUseHistory"
NOT_FOUND = '"Not found"'


def test_get_one_and_404(start, client, data):
    http = client(start())
    one = http.get(USES + "/117")
    assert one.status_code == 200
    assert one.json() == next(r for r in data[E] if r["Id"] == 117)
    for missing in ("/99999", "/abc"):
        answer = http.get(USES + missing)
        assert answer.status_code == 404 and answer.text == NOT_FOUND


def test_batch_is_a_bare_array_of_the_records_found(start, client, ids):
    http = client(start())
    found = http.get(CREDITS, params={"id": "[4,2,99]"})
    assert found.status_code == 200 and isinstance(found.json(), list)
    assert ids(found) == [4, 2]
    assert http.get(CREDITS, params={"id": "[]"}).json() == []
    assert http.get(CREDITS, params={"id": "[1,x]"}).status_code == 400


def test_create_success(start, client, ids):
    sandbox = start()
    http = client(sandbox)
    before = {r["UniqueId"] for r in sandbox.records(E)}
    body = {"CoworkerBookingCreditId": 2, "CreditUsed": 12.5, "Description": "Manual top-up"}
    answer = http.post(USES, json=body)
    assert answer.status_code == 200
    result = answer.json()
    new_id = result["Value"]["Id"]
    assert new_id == 141
    assert result == {
        "Status": 200,
        "Message": "CoworkerBookingCreditUseHistory was successfully created.",
        "Value": {"Id": 141},
        "OpenInDialog": False,
        "OpenInWindow": False,
        "RedirectURL": None,
        "JavaScript": None,
        "UpdatedOn": result["UpdatedOn"],
        "UpdatedBy": "admin@example.com",
        "Errors": None,
        "WasSuccessful": True,
    }
    created = http.get(f"{USES}/{new_id}").json()
    assert created["CoworkerBookingCreditId"] == 2 and created["CreditUsed"] == 12.5
    assert created["Description"] == "Manual top-up" and created["BookingId"] is None
    assert created["UniqueId"] not in before
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created["CreatedOn"])
    assert created["UpdatedOn"] == created["CreatedOn"] == result["UpdatedOn"]
    # Served from then on: by search too, and logged.
    assert ids(http.get(USES, params={"dir": -1, "size": 1})) == [141]
    assert http.get(USES).json()["TotalItems"] == 41
    [event] = sandbox.mutations_log
    assert (event.entity, event.inserted, event.cause) == (E, (141,), "create")
    assert http.post(USES, json=body).json()["Value"]["Id"] == 142


@pytest.mark.parametrize(("as_200", "status"), [(False, 400), (True, 200)])
def test_create_failures_list_every_property(start, client, as_200, status):
    sandbox = start(validation_as_200=as_200)
    http = client(sandbox)
    answer = http.post(USES, json={"CreditUsed": None})
    assert answer.status_code == status
    assert answer.json() == {
        "Message": "CoworkerBookingCreditId: is a required field, CreditUsed: is a required field",
        "Value": None,
        "Errors": [
            {
                "AttemptedValue": None,
                "Message": "is a required field",
                "PropertyName": "CoworkerBookingCreditId",
            },
            {
                "AttemptedValue": None,
                "Message": "is a required field",
                "PropertyName": "CreditUsed",
            },
        ],
        "WasSuccessful": False,
    }
    unknown = http.post(USES, json={"CoworkerBookingCreditId": 77, "CreditUsed": "ten"}).json()
    assert [(e["PropertyName"], e["AttemptedValue"]) for e in unknown["Errors"]] == [
        ("CoworkerBookingCreditId", 77),
        ("CreditUsed", "ten"),
    ]
    assert http.post(USES, content=b"not json").json()["WasSuccessful"] is False
    assert len(sandbox.records(E)) == 40 and sandbox.mutations_log == []


def test_other_entities_and_verbs_are_not_allowed(start, client):
    http = client(start())
    assert http.post(CREDITS, json={"CoworkerId": 1}).status_code == 405
    assert http.put(USES + "/101", json={}).status_code == 405
    assert http.delete(USES + "/101").status_code == 405
    unknown = http.get("/api/billing/coworkers")
    assert unknown.status_code == 404 and "No HTTP resource" in unknown.json()["Message"]
