"""Link rules: orphan, unlinked, manual adjustment, multi-linked, non-positive,
denormalisation and eligibility of booking-credit uses."""

from builders import (
    MISSING,
    assert_clean,
    audit_records,
    credit,
    event_use,
    finding,
    found,
    invoice_use,
    manual_use,
    use,
)

# --- orphan_use ---------------------------------------------------------------------------


def test_orphan_use__credit_not_in_snapshot(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1)], uses=[use(10, 999)])
    hit = finding(result, "orphan_use")
    assert (hit["record_id"], hit["actual"]) == (10, 999)
    assert hit["credit_id"] is None or hit["credit_id"] is __import__("pandas").NA
    assert hit["message"] == "CoworkerBookingCreditId 999 matches no credit in the snapshot"


def test_orphan_use__zero_is_the_apis_none_and_an_orphan(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1)], uses=[use(10, 0)])
    assert found(result, "orphan_use") == [10]
    assert_clean(result, "schema_violation", evaluated=2)  # the credit and the use
    assert "(the API's 'none')" in finding(result, "orphan_use")["message"]


def test_orphan_use__existing_credit_is_clean(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1, RemainingCredit=90.0)], uses=[use(10, 1)])
    assert_clean(result, "orphan_use", evaluated=1)


def test_orphan_use__missing_key_is_a_schema_violation_not_an_orphan(tmp_path):
    result = audit_records(
        tmp_path, credits=[credit(1)], uses=[use(10, 1, CoworkerBookingCreditId=MISSING)]
    )
    # Deliberately 0: the use's only key is missing, so there is nothing to match.
    assert_clean(result, "orphan_use", evaluated=0)
    assert finding(result, "schema_violation")["field"] == "CoworkerBookingCreditId"


def test_orphan_use__credit_with_a_repeated_id_still_matches(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0), credit(1, RemainingCredit=90.0, UniqueId="x")],
        uses=[use(10, 1)],
    )
    assert_clean(result, "orphan_use", evaluated=1)


# --- unlinked_use and manual_adjustment ---------------------------------------------------


def test_unlinked_use__no_link_and_no_description(tmp_path):
    bare = manual_use(10, 1, 10.0, None)
    result = audit_records(tmp_path, credits=[credit(1, RemainingCredit=90.0)], uses=[bare])
    hit = finding(result, "unlinked_use")
    assert (hit["record_id"], hit["credit_id"], hit["expected"], hit["actual"]) == (10, 1, 1, 0)
    assert_clean(result, "manual_adjustment", evaluated=1)


def test_unlinked_use__blank_description_is_no_description(tmp_path):
    result = audit_records(
        tmp_path, credits=[credit(1, RemainingCredit=90.0)], uses=[manual_use(10, 1, 10.0, "  \t ")]
    )
    assert found(result, "unlinked_use") == [10]


def test_unlinked_use__link_id_zero_is_no_link(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[
            use(
                10,
                1,
                BookingId=0,
                BookingFromTime=None,
                BookingToTime=None,
                BookingResourceName=None,
            )
        ],
    )
    assert found(result, "unlinked_use") == [10]


def test_unlinked_use__each_kind_of_link_is_enough(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=70.0)],
        uses=[use(10, 1), event_use(11, 1), invoice_use(12, 1)],
    )
    assert_clean(result, "unlinked_use", evaluated=3)
    assert_clean(result, "multi_linked_use", evaluated=3)


def test_unlinked_use__invalid_link_field_is_not_judged(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[
            use(
                10,
                1,
                BookingId="B-17",
                BookingFromTime=None,
                BookingToTime=None,
                BookingResourceName=None,
            )
        ],
    )
    # Deliberately 0: the one use's BookingId failed its schema, so its links are unknown.
    assert_clean(result, "unlinked_use", evaluated=0)
    assert finding(result, "schema_violation")["field"] == "BookingId"


def test_manual_adjustment__note_without_link(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=110.0)],
        uses=[manual_use(10, 1, -10.0, "Goodwill credit for AC outage")],
    )
    hit = finding(result, "manual_adjustment")
    assert (hit["record_id"], hit["credit_id"], hit["severity"], hit["actual"]) == (
        10,
        1,
        "warning",
        -10.0,
    )
    assert (
        hit["message"]
        == "manual adjustment of -10.00 GBP by admin@example.com: Goodwill credit for AC outage"
    )
    assert_clean(result, "unlinked_use", evaluated=1)
    # Deliberately 0: non_positive_use judges linked uses only, and an adjustment has no link.
    assert_clean(result, "non_positive_use", evaluated=0)


def test_manual_adjustment__linked_use_with_description_is_not_one(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[use(10, 1, Description="Board meeting")],
    )
    assert_clean(result, "manual_adjustment", evaluated=1)


# --- multi_linked_use ---------------------------------------------------------------------


def test_multi_linked_use__two_links(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[use(10, 1, CoworkerInvoiceLineId=4411)],
    )
    hit = finding(result, "multi_linked_use")
    assert (hit["record_id"], hit["expected"], hit["actual"]) == (10, 1, 2)
    assert hit["message"].startswith("use links BookingId 9010, CoworkerInvoiceLineId 4411:")


def test_multi_linked_use__three_links(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[use(10, 1, CoworkerInvoiceLineId=4411, EventAttendeeId=12)],
    )
    assert finding(result, "multi_linked_use")["actual"] == 3


# --- non_positive_use ---------------------------------------------------------------------


def test_non_positive_use__zero_and_negative_linked_uses(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=105.0)],
        uses=[use(10, 1, CreditUsed=0.0), use(11, 1, CreditUsed=-5.0), use(12, 1, CreditUsed=0.01)],
    )
    assert found(result, "non_positive_use") == [10, 11]
    assert (
        "CreditUsed = -5.00"
        in result.findings.query("record_id == 11 and rule == 'non_positive_use'")["message"].iloc[
            0
        ]
    )


def test_non_positive_use__invalid_amount_is_not_judged(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1)], uses=[use(10, 1, CreditUsed=None)])
    # Deliberately 0: the one use's CreditUsed is null, which fails its schema.
    assert_clean(result, "non_positive_use", evaluated=0)
    assert finding(result, "schema_violation")["field"] == "CreditUsed"


# --- denormalisation_mismatch -------------------------------------------------------------


def test_denormalisation_mismatch__booking_fields_without_booking(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[
            invoice_use(
                10, 1, BookingResourceName="Meeting Room 2", BookingFromTime="2025-03-14T10:00:00"
            )
        ],
    )
    hit = finding(result, "denormalisation_mismatch")
    assert hit["record_id"] == 10
    assert hit["message"] == "BookingFromTime, BookingResourceName set while BookingId is empty"


def test_denormalisation_mismatch__event_and_invoice_fields_without_links(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=80.0)],
        uses=[
            use(10, 1, EventAttendeeFullName="Grace Hopper"),
            use(11, 1, CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber="INV-2025-0042"),
        ],
    )
    assert found(result, "denormalisation_mismatch") == [10, 11]


def test_denormalisation_mismatch__booking_ending_before_it_starts(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[
            use(10, 1, BookingFromTime="2025-03-14T11:00:00", BookingToTime="2025-03-14T10:00:00")
        ],
    )
    assert finding(result, "denormalisation_mismatch")["message"] == (
        "BookingToTime 2025-03-14T10:00:00 is before BookingFromTime 2025-03-14T11:00:00"
    )


def test_denormalisation_mismatch__consistent_uses_and_blank_strings_are_clean(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=70.0)],
        uses=[use(10, 1), event_use(11, 1), invoice_use(12, 1, BookingResourceName="")],
    )
    assert_clean(result, "denormalisation_mismatch", evaluated=3)


# --- ineligible_use -----------------------------------------------------------------------


def test_ineligible_use__booking_on_a_credit_not_for_bookings(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, CaneBeUsedForBookings=False)],
        uses=[use(10, 1)],
    )
    hit = finding(result, "ineligible_use")
    assert (hit["record_id"], hit["credit_id"], hit["expected"], hit["actual"]) == (
        10,
        1,
        True,
        False,
    )
    assert (
        hit["message"]
        == "booking-linked use of a credit with CaneBeUsedForBookings = false (credit 1)"
    )


def test_ineligible_use__event_on_a_credit_not_for_events(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, CaneBeUsedForEvents=False)],
        uses=[event_use(10, 1)],
    )
    assert found(result, "ineligible_use") == [10]


def test_ineligible_use__invoice_line_use_is_never_ineligible(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[
            credit(1, RemainingCredit=90.0, CaneBeUsedForBookings=False, CaneBeUsedForEvents=False)
        ],
        uses=[invoice_use(10, 1)],
    )
    # Deliberately 0: only booking- and event-linked uses are judged for eligibility.
    assert_clean(result, "ineligible_use", evaluated=0)


def test_ineligible_use__booking_on_a_credit_not_for_events_is_fine(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0, CaneBeUsedForEvents=False)],
        uses=[use(10, 1)],
    )
    assert_clean(result, "ineligible_use", evaluated=1)
