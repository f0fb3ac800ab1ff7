"""Period ends fall at each location's local midnight (contract section 6a)."""

from __future__ import annotations

from builders import MISSING, credit, use
from closes import amounts, close_records, row

LONDON, BERLIN = 1201, 1204


def _ledger(instant: str) -> dict:
    credits = [
        credit(1, BusinessId=LONDON, CreatedOn="2025-09-15T09:00:00Z", ExpireDate=MISSING),
        credit(
            2,
            BusinessId=BERLIN,
            BusinessCurrencyCode="EUR",
            CreatedOn="2025-09-15T09:00:00Z",
            ExpireDate=MISSING,
        ),
    ]
    uses = [use(10, 1, CreatedOn=instant), use(11, 2, CreatedOn=instant)]
    return {"credits": credits, "uses": uses}


def test_the_same_instant_is_octobers_in_london_and_novembers_in_berlin(tmp_path):
    records = _ledger("2025-10-31T23:30:00Z")  # 23:30 GMT in London, 00:30 CET in Berlin
    october = close_records(tmp_path, "2025-10", zones=True, **records)
    november = close_records(tmp_path, "2025-11", zones=True, **records)
    assert row(october, str(LONDON))["used_bookings"] == "10.00"
    assert row(october, str(BERLIN), "EUR")["used_bookings"] == "0.00"
    assert row(october, str(BERLIN), "EUR")["closing"] == "100.00"
    assert row(november, str(LONDON))["used_bookings"] == "0.00"
    assert amounts(row(november, str(BERLIN), "EUR"), "opening", "used_bookings") == (
        "100.00",
        "10.00",
    )


def test_without_zones_both_locations_close_on_utc(tmp_path):
    october = close_records(tmp_path, "2025-10", **_ledger("2025-10-31T23:30:00Z"))
    assert row(october, str(BERLIN), "EUR")["used_bookings"] == "10.00"


def test_summer_time_moves_the_utc_instant_of_a_month_end(tmp_path):
    # London is on BST (UTC+1) at the end of March 2025: 31 March 23:30 UTC is already
    # 1 April 00:30 local, so April's; 22:30 UTC is still March's.
    records = _ledger("2025-03-31T23:30:00Z")
    for record in records["credits"]:
        record["CreatedOn"] = "2025-03-01T09:00:00Z"
    records["uses"].append(use(12, 1, CreatedOn="2025-03-31T22:30:00Z", CreditUsed=1.0))
    march = row(close_records(tmp_path, "2025-03", zones=True, **records), str(LONDON))
    april = row(close_records(tmp_path, "2025-04", zones=True, **records), str(LONDON))
    assert amounts(march, "used_bookings", "closing") == ("1.00", "99.00")
    assert amounts(april, "opening", "used_bookings", "closing") == ("99.00", "10.00", "89.00")


def test_cohorts_and_expiry_follow_the_local_clock(tmp_path):
    # Created 31 August 23:30 UTC = 1 September 01:30 in Berlin (CEST): September's cohort.
    credits = [
        credit(
            1,
            BusinessId=BERLIN,
            BusinessCurrencyCode="EUR",
            CreatedOn="2025-08-31T23:30:00Z",
            ExpireDate="2025-09-30T00:00:00",
        )
    ]
    result = close_records(tmp_path, "2025-09", zones=True, credits=credits)
    assert list(result.breakage["cohort"]) == ["2025-09"]
    assert amounts(row(result, str(BERLIN), "EUR"), "issued", "expired") == ("100.00", "100.00")
