"""Each column of rollforward.csv by its definition (contract section 6b), on inline ledgers."""

from __future__ import annotations

from builders import MISSING, credit, event_use, invoice_use, manual_use, use
from closes import amounts, close_records, row

FLOW = ("opening", "issued", "used_bookings", "adjusted", "expired", "closing")


def test_issued_and_expired_in_the_same_month(tmp_path):
    # Issued 1 March, a midnight ExpireDate of 31 March: it lapses at 1 April 00:00 = E.
    result = close_records(
        tmp_path,
        "2025-03",
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[use(10, 1, CreatedOn="2025-03-14T09:00:00Z")],
    )
    got = row(result)
    assert amounts(got, *FLOW) == ("0.00", "100.00", "10.00", "0.00", "90.00", "0.00")
    assert amounts(got, "credits_open_start", "credits_open_end") == ("0", "0")
    assert got["closing_from_balances"] == "0.00"  # not outstanding at E: nothing to roll back
    assert got["opening_sealed"] == "" and got["opening_restatement"] == ""


def test_expiry_exactly_at_the_period_end_is_that_periods_breakage(tmp_path):
    # ExpireDate "30 November 00:00" covers the whole day: X = 1 December 00:00 = E.
    records = {
        "credits": [
            credit(1, CreatedOn="2025-11-02T09:00:00Z", ExpireDate="2025-11-30T00:00:00"),
        ]
    }
    november = row(close_records(tmp_path, "2025-11", **records))
    december = row(close_records(tmp_path, "2025-12", **records))
    assert amounts(november, "issued", "expired", "closing") == ("100.00", "100.00", "0.00")
    assert amounts(december, "opening", "expired", "closing") == ("0.00", "0.00", "0.00")


def test_a_non_midnight_expiry_lapses_at_that_moment(tmp_path):
    credits = [credit(1, CreatedOn="2025-03-02T09:00:00Z", ExpireDate="2025-03-31T18:00:00")]
    uses = [use(10, 1, CreatedOn="2025-03-31T19:00:00Z")]  # after X: lapsed already
    got = row(close_records(tmp_path, "2025-03", credits=credits, uses=uses))
    assert amounts(got, "used_bookings", "expired", "used_after_expiry") == (
        "0.00",
        "100.00",
        "10.00",
    )


def test_a_use_after_expiry_is_a_memo_and_moves_nothing(tmp_path):
    credits = [credit(1, CreatedOn="2025-03-02T09:00:00Z", RemainingCredit=80.0)]
    uses = [
        use(10, 1, CreatedOn="2025-03-10T09:00:00Z"),
        use(11, 1, CreatedOn="2025-04-03T09:00:00Z"),  # X was 1 April 00:00
    ]
    april = row(close_records(tmp_path, "2025-04", credits=credits, uses=uses))
    march = row(close_records(tmp_path, "2025-03", credits=credits, uses=uses))
    assert amounts(march, "used_bookings", "expired", "used_after_expiry") == (
        "10.00",
        "90.00",
        "0.00",
    )
    assert amounts(april, "opening", "used_bookings", "expired", "closing") == ("0.00",) * 4
    assert april["used_after_expiry"] == "10.00"


def test_uses_go_under_their_first_link_and_adjustments_may_be_negative(tmp_path):
    credits = [
        credit(1, CreatedOn="2025-02-20T09:00:00Z", ExpireDate=MISSING, RemainingCredit=88.0)
    ]
    march = "2025-03-05T09:00:00Z"
    uses = [
        use(10, 1, CreatedOn=march, CreditUsed=7.0, EventAttendeeId=77),  # booking first
        event_use(11, 1, CreatedOn=march, CreditUsed=3.0),
        invoice_use(12, 1, CreatedOn=march, CreditUsed=4.5),
        manual_use(13, 1, -5.0, "goodwill: room out of order"),
        manual_use(14, 1, 2.5, "correction"),
    ]
    for record in uses[3:]:
        record["CreatedOn"] = march
    got = row(close_records(tmp_path, "2025-03", credits=credits, uses=uses))
    assert amounts(
        got, "opening", "used_bookings", "used_events", "used_invoice_lines", "adjusted"
    ) == ("100.00", "7.00", "3.00", "4.50", "-2.50")
    assert got["closing"] == "88.00"  # 100 - 7 - 3 - 4.5 - (-2.5)
    assert amounts(got, "closing_from_balances", "unexplained") == ("88.00", "0.00")
    assert amounts(got, "credits_open_start", "credits_open_end") == ("1", "1")


def test_a_credit_never_outstanding_moves_nothing(tmp_path):
    # Created after its expiry moment: never outstanding, so never issued and never expired.
    credits = [credit(1, CreatedOn="2025-03-20T09:00:00Z", ExpireDate="2025-03-10T00:00:00")]
    uses = [use(10, 1, CreatedOn="2025-03-21T09:00:00Z")]
    result = close_records(tmp_path, "2025-03", credits=credits, uses=uses)
    got = row(result)
    assert amounts(got, *FLOW) == ("0.00",) * 6
    assert got["used_after_expiry"] == "10.00"
    cohort = result.breakage.iloc[0]
    assert (cohort["credits"], cohort["issued"], cohort["breakage_rate"]) == (1, 0, None)


def test_a_use_never_takes_effect_before_its_credit_is_issued(tmp_path):
    # Recorded on 28 February, before the credit was created on 2 March: it takes effect then.
    credits = [credit(1, CreatedOn="2025-03-02T09:00:00Z", RemainingCredit=90.0)]
    uses = [use(10, 1, CreatedOn="2025-02-28T09:00:00Z")]
    february = row(close_records(tmp_path, "2025-02", credits=credits, uses=uses))
    march = row(close_records(tmp_path, "2025-03", credits=credits, uses=uses))
    assert amounts(february, "issued", "used_bookings") == ("0.00", "0.00")
    assert amounts(march, "issued", "used_bookings", "expired") == ("100.00", "10.00", "90.00")


def test_basis_usage_dates_a_booking_use_by_its_booking(tmp_path):
    credits = [credit(1, CreatedOn="2025-02-20T09:00:00Z", ExpireDate=MISSING)]
    uses = [use(10, 1, CreatedOn="2025-02-25T09:00:00Z", BookingFromTime="2025-03-14T10:00:00")]
    recorded = row(close_records(tmp_path, "2025-03", credits=credits, uses=uses))
    usage = row(close_records(tmp_path, "2025-03", credits=credits, uses=uses, basis="usage"))
    assert amounts(recorded, "opening", "used_bookings") == ("90.00", "0.00")
    assert amounts(usage, "opening", "used_bookings") == ("100.00", "10.00")


def test_closing_from_balances_rolls_remaining_credit_back_to_the_period_end(tmp_path):
    credits = [
        credit(1, CreatedOn="2025-02-20T09:00:00Z", ExpireDate=MISSING, RemainingCredit=70.0)
    ]
    uses = [
        use(10, 1, CreatedOn="2025-03-10T09:00:00Z"),
        use(11, 1, CreatedOn="2025-04-02T09:00:00Z", CreditUsed=20.0),  # after E
    ]
    result = close_records(tmp_path, "2025-03", credits=credits, uses=uses)
    got = row(result)
    assert amounts(got, "closing", "closing_from_balances", "unexplained") == (
        "90.00",
        "90.00",
        "0.00",
    )
    assert "rollforward_unexplained" not in set(result.findings["rule"])


def test_an_unexplained_difference_beyond_tolerance_is_a_finding(tmp_path):
    credits = [
        credit(1, CreatedOn="2025-02-20T09:00:00Z", ExpireDate=MISSING, RemainingCredit=85.0)
    ]
    uses = [use(10, 1, CreatedOn="2025-03-10T09:00:00Z")]
    result = close_records(tmp_path, "2025-03", credits=credits, uses=uses)
    got = row(result)
    assert amounts(got, "closing", "closing_from_balances", "unexplained") == (
        "90.00",
        "85.00",
        "-5.00",
    )
    found = result.findings[result.findings["rule"] == "rollforward_unexplained"]
    assert len(found) == 1
    assert found.iloc[0]["impact"] == "-5.00" and found.iloc[0]["currency"] == "GBP"
    assert "location 1 (GBP)" in found.iloc[0]["message"]
    assert int(result.exit_code) == 1


def test_rows_per_location_and_currency_then_totals_per_currency(tmp_path):
    credits = [
        credit(1, BusinessId=2, CreatedOn="2025-03-02T09:00:00Z"),
        credit(2, BusinessId=1, CreatedOn="2025-03-02T09:00:00Z", TotalCredit=50.5),
        credit(3, BusinessId=1, CreatedOn="2025-03-02T09:00:00Z", BusinessCurrencyCode="EUR"),
        credit(4, BusinessId=10, CreatedOn="2025-03-02T09:00:00Z", BusinessCurrencyCode=None),
    ]
    result = close_records(tmp_path, "2025-03", credits=credits)
    keys = list(zip(result.rollforward["business_id"], result.rollforward["currency"], strict=True))
    assert keys == [
        ("1", "EUR"),
        ("1", "GBP"),
        ("2", "GBP"),
        ("10", ""),
        ("total", ""),
        ("total", "EUR"),
        ("total", "GBP"),
    ]
    assert row(result, "total", "GBP")["issued"] == "150.50"  # never summed across currencies
    assert row(result, "total", "EUR")["issued"] == "100.00"


def test_amounts_are_exact_at_any_precision(tmp_path):
    credits = [credit(1, CreatedOn="2025-03-02T09:00:00Z", ExpireDate=MISSING, TotalCredit=1.0)]
    uses = [use(10 + i, 1, CreatedOn="2025-03-03T09:00:00Z", CreditUsed=0.00001) for i in range(7)]
    got = row(close_records(tmp_path, "2025-03", credits=credits, uses=uses))
    assert amounts(got, "used_bookings", "closing") == ("0.00007", "0.99993")


def test_a_credit_that_cannot_be_placed_is_left_out_and_counted(tmp_path):
    credits = [
        credit(1, CreatedOn="2025-03-02T09:00:00Z"),
        credit(2, CreatedOn="31/03/2025"),
        credit(3, TotalCredit="N/A"),
    ]
    uses = [use(10, 2, CreatedOn="2025-03-03T09:00:00Z"), use(11, 99)]
    result = close_records(tmp_path, "2025-03", credits=credits, uses=uses)
    assert row(result)["issued"] == "100.00"
    assert result.excluded == {"credit_schema": 2, "use_orphan": 1, "use_of_excluded_credit": 1}
