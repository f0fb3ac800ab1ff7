"""expired_credit_use and premature_credit_use: usage time against the validity window,
in the wall clock of the credit's location."""

import pytest
from builders import (
    assert_clean,
    audit_records,
    credit,
    finding,
    found,
    invoice_use,
    rules_file,
    use,
)

MARCH = {"ValidFrom": "2025-03-01T00:00:00", "ExpireDate": "2025-03-31T00:00:00"}


def _booking(record_id, start, **overrides):
    return use(record_id, 1, BookingFromTime=start, BookingToTime=start, **overrides)


@pytest.mark.parametrize(
    ("start", "expired"),
    [
        ("2025-03-31T17:30:00", False),  # later on the day of a midnight ExpireDate
        ("2025-03-31T23:59:59", False),
        ("2025-04-01T00:00:00", True),  # the day after is not covered
        ("2025-04-02T09:00:00", True),
    ],
)
def test_expired_credit_use__midnight_expiry_covers_the_whole_day(tmp_path, start, expired):
    result = audit_records(
        tmp_path, credits=[credit(1, RemainingCredit=90.0, **MARCH)], uses=[_booking(10, start)]
    )
    if expired:
        assert found(result, "expired_credit_use") == [10]
    else:
        assert_clean(result, "expired_credit_use", evaluated=1)


def test_expired_credit_use__finding_shows_both_times(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, **MARCH)],
        uses=[_booking(10, "2025-04-01T09:00:00")],
    )
    hit = finding(result, "expired_credit_use")
    assert (hit["record_id"], hit["credit_id"]) == (10, 1)
    assert (hit["expected"], hit["actual"]) == ("2025-03-31T00:00:00", "2025-04-01T09:00:00")
    assert hit["message"] == (
        "used 2025-04-01T09:00:00 (BookingFromTime), after credit 1's ExpireDate "
        "2025-03-31T00:00:00 (a midnight ExpireDate covers that whole day)"
    )


@pytest.mark.parametrize(
    ("start", "expired"), [("2025-03-31T12:00:00", False), ("2025-03-31T12:00:01", True)]
)
def test_expired_credit_use__expiry_with_a_time_is_exact(tmp_path, start, expired):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, ExpireDate="2025-03-31T12:00:00")],
        uses=[_booking(10, start)],
    )
    if expired:
        assert found(result, "expired_credit_use") == [10]
    else:
        assert_clean(result, "expired_credit_use", evaluated=1)


def test_expired_credit_use__booking_time_wins_over_creation_time(tmp_path):
    booked_late = _booking(10, "2025-03-20T10:00:00", CreatedOn="2025-04-03T08:00:00Z")
    result = audit_records(
        tmp_path, credits=[credit(1, RemainingCredit=90.0, **MARCH)], uses=[booked_late]
    )
    assert_clean(result, "expired_credit_use", evaluated=1)


def test_expired_credit_use__invoice_use_is_dated_by_creation(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, **MARCH)],
        uses=[invoice_use(10, 1, CreatedOn="2025-04-01T08:00:00Z")],
    )
    assert "(CreatedOn)" in finding(result, "expired_credit_use")["message"]


def test_expired_credit_use__booking_without_its_time_falls_back_to_creation(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, **MARCH)],
        uses=[
            use(10, 1, BookingFromTime=None, BookingToTime=None, CreatedOn="2025-04-01T08:00:00Z")
        ],
    )
    assert found(result, "expired_credit_use") == [10]


def test_expired_credit_use__credit_without_expiry_is_not_judged(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, ExpireDate=None)],
        uses=[_booking(10, "2030-01-01T00:00:00")],
    )
    # Deliberately 0: a credit with no ExpireDate never expires, so its use is not judged.
    assert_clean(result, "expired_credit_use", evaluated=0)


def test_expired_credit_use__invalid_booking_time_is_not_judged(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, **MARCH)],
        uses=[use(10, 1, BookingFromTime="01/04/2025 09:00", CreatedOn="2025-04-05T08:00:00Z")],
    )
    # Deliberately 0: a booking use whose BookingFromTime failed has no usage time (no
    # fallback to CreatedOn), so it is not judged.
    assert_clean(result, "expired_credit_use", evaluated=0)
    assert finding(result, "schema_violation")["field"] == "BookingFromTime"


def test_expired_credit_use__orphans_are_not_judged(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, **MARCH)],
        uses=[use(10, 2, BookingFromTime="2026-01-01T00:00:00")],
    )
    # Deliberately 0: an orphan has no credit, so no window to be judged against.
    assert_clean(result, "expired_credit_use", evaluated=0)
    assert found(result, "orphan_use") == [10]


def test_premature_credit_use__used_before_valid_from(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, **MARCH)],
        uses=[_booking(10, "2025-02-28T17:00:00")],
    )
    hit = finding(result, "premature_credit_use")
    assert (hit["severity"], hit["expected"], hit["actual"]) == (
        "warning",
        "2025-03-01T00:00:00",
        "2025-02-28T17:00:00",
    )


def test_premature_credit_use__booked_early_for_a_meeting_inside_the_window(tmp_path):
    early_booking = _booking(10, "2025-03-03T09:00:00", CreatedOn="2025-02-20T11:00:00Z")
    result = audit_records(
        tmp_path, credits=[credit(1, RemainingCredit=90.0, **MARCH)], uses=[early_booking]
    )
    assert_clean(result, "premature_credit_use", evaluated=1)


# --- time zones ---------------------------------------------------------------------------

BERLIN = """
[time.zones]
2 = "Europe/Berlin"
"""


def test_expired_credit_use__utc_times_are_read_in_the_location_zone(tmp_path):
    # 22:30Z on 31 March is 00:30 on 1 April in Berlin (CEST, UTC+2).
    late_invoice = invoice_use(10, 1, CreatedOn="2025-03-31T22:30:00Z")
    records = {
        "credits": [credit(1, BusinessId=2, RemainingCredit=90.0, **MARCH)],
        "uses": [late_invoice],
    }
    in_utc = audit_records(tmp_path / "utc", **records)
    in_berlin = audit_records(tmp_path / "berlin", **records, rules=rules_file(tmp_path, BERLIN))
    assert_clean(in_utc, "expired_credit_use", evaluated=1)
    assert found(in_berlin, "expired_credit_use") == [10]
    assert finding(in_berlin, "expired_credit_use")["actual"] == "2025-04-01T00:30:00"


def test_expired_credit_use__local_times_without_offset_are_not_converted(tmp_path):
    records = {
        "credits": [credit(1, BusinessId=2, RemainingCredit=90.0, **MARCH)],
        "uses": [_booking(10, "2025-03-31T23:30:00")],
    }
    result = audit_records(tmp_path, **records, rules=rules_file(tmp_path, BERLIN))
    assert_clean(result, "expired_credit_use", evaluated=1)


def test_expired_credit_use__explicit_offsets_are_honoured(tmp_path):
    # 00:30+02:00 on 1 April is 22:30 UTC on 31 March: inside the window in a UTC location.
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, **MARCH)],
        uses=[_booking(10, "2025-04-01T00:30:00+02:00")],
    )
    assert_clean(result, "expired_credit_use", evaluated=1)


def test_expired_credit_use__z_can_be_declared_local_wall_clock(tmp_path):
    records = {
        "credits": [credit(1, BusinessId=2, RemainingCredit=90.0, **MARCH)],
        "uses": [_booking(10, "2025-03-31T23:30:00Z")],
    }
    as_utc = audit_records(tmp_path / "a", **records, rules=rules_file(tmp_path, BERLIN))
    as_local = audit_records(
        tmp_path / "b",
        **records,
        rules=rules_file(
            tmp_path, BERLIN + '\n[time]\nz_is_local = ["BookingFromTime", "BookingToTime"]\n'
        ),
    )
    assert found(as_utc, "expired_credit_use") == [10]
    assert_clean(as_local, "expired_credit_use", evaluated=1)
