"""balance_mismatch and overdrawn_credit: each credit's ledger against its balances."""

from builders import assert_clean, audit_records, credit, finding, found, manual_use, use

# --- balance_mismatch ---------------------------------------------------------------------


def test_balance_mismatch__ledger_short_of_consumed_credit(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=60.0)],
        uses=[use(10, 1, CreditUsed=25.0), use(11, 1, CreditUsed=10.0)],
    )
    hit = finding(result, "balance_mismatch")
    assert (hit["record_id"], hit["credit_id"], hit["entity"]) == (1, 1, "CoworkerBookingCredit")
    assert (hit["expected"], hit["actual"]) == (40.0, 35.0)
    assert hit["message"] == (
        "TotalCredit - RemainingCredit = 100.00 GBP - 60.00 GBP = 40.00 GBP but its 2 uses "
        "sum to 35.00 GBP (difference 5.00 GBP, tolerance 0.005)"
    )


def test_balance_mismatch__reconciled_credit_is_clean(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=65.0)],
        uses=[use(10, 1, CreditUsed=25.0), use(11, 1, CreditUsed=10.0)],
    )
    assert_clean(result, "balance_mismatch", evaluated=1)


def test_balance_mismatch__within_tolerance_is_clean(tmp_path):
    result = audit_records(
        tmp_path, credits=[credit(1, RemainingCredit=59.997)], uses=[use(10, 1, CreditUsed=40.0)]
    )
    assert_clean(result, "balance_mismatch", evaluated=1)


def test_balance_mismatch__exactly_the_tolerance_is_clean(tmp_path):
    result = audit_records(
        tmp_path, credits=[credit(1, RemainingCredit=59.995)], uses=[use(10, 1, CreditUsed=40.0)]
    )
    assert_clean(result, "balance_mismatch", evaluated=1)


def test_balance_mismatch__just_beyond_tolerance_is_found(tmp_path):
    result = audit_records(
        tmp_path, credits=[credit(1, RemainingCredit=59.994)], uses=[use(10, 1, CreditUsed=40.0)]
    )
    assert finding(result, "balance_mismatch")["message"].endswith(
        "(difference 0.006 GBP, tolerance 0.005)"
    )


def test_balance_mismatch__tolerance_comes_from_the_rule_set(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[amounts]\ntolerance = 1.0\n")
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=59.5)],
        uses=[use(10, 1, CreditUsed=40.0)],
        rules=rules,
    )
    assert_clean(result, "balance_mismatch", evaluated=1)


def test_balance_mismatch__float_drift_reconciles_in_cents(tmp_path):
    # Naive float sums of these ledgers miss their totals; exact units do not. With a
    # tolerance of zero, only exact arithmetic passes.
    assert 0.1 + 0.2 != 0.3 and sum([0.1] * 10) != 1.0 and 4.35 + 4.35 + 4.35 != 13.05
    rules = tmp_path / "exact.toml"
    rules.write_text("[amounts]\ntolerance = 0\n")
    result = audit_records(
        tmp_path,
        rules=rules,
        credits=[
            credit(1, TotalCredit=0.3, RemainingCredit=0.0),
            credit(2, TotalCredit=1.0, RemainingCredit=0.0),
            credit(3, TotalCredit=13.05, RemainingCredit=0.0),
        ],
        uses=[use(10, 1, CreditUsed=0.1), use(11, 1, CreditUsed=0.2)]
        + [use(20 + n, 2, CreditUsed=0.1) for n in range(10)]
        + [use(40, 3, CreditUsed=4.35), use(41, 3, CreditUsed=4.35), use(42, 3, CreditUsed=4.35)],
    )
    assert_clean(result, "balance_mismatch", evaluated=3)
    assert_clean(result, "overdrawn_credit", evaluated=3)


def test_balance_mismatch__credit_without_uses(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1, RemainingCredit=80.0)], uses=[])
    hit = finding(result, "balance_mismatch")
    assert (hit["expected"], hit["actual"]) == (20.0, 0.0)
    assert "its 0 uses sum to 0.00" in hit["message"]


def test_balance_mismatch__manual_adjustments_count_in_the_sum(tmp_path):
    give_back = manual_use(11, 1, -10.0, "Goodwill: AC outage")
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=80.0)],
        uses=[use(10, 1, CreditUsed=30.0), give_back],
    )
    assert_clean(result, "balance_mismatch", evaluated=1)
    assert found(result, "manual_adjustment") == [11]


def test_balance_mismatch__rows_repeating_an_id_count_once(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=75.0)],
        uses=[use(10, 1, CreditUsed=25.0), use(10, 1, CreditUsed=25.0)],
    )
    assert_clean(result, "balance_mismatch", evaluated=1)
    assert found(result, "duplicate_record") == [10, 10]


def test_balance_mismatch__use_with_invalid_amount_left_out(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[use(10, 1, CreditUsed=10.0), use(11, 1, CreditUsed="60.00")],
    )
    # The credit is judged; only the use's bad amount is left out of its sum.
    assert_clean(result, "balance_mismatch", evaluated=1)
    assert found(result, "schema_violation") == [11]


def test_balance_mismatch__credit_with_invalid_amount_not_judged(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1, TotalCredit="N/A")], uses=[use(10, 1)])
    # Deliberately 0: the one credit's TotalCredit failed its schema, so it is not judged.
    assert_clean(result, "balance_mismatch", evaluated=0)
    assert finding(result, "schema_violation")["field"] == "TotalCredit"


def test_balance_mismatch__uses_of_other_credits_do_not_count(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0), credit(2, RemainingCredit=80.0)],
        uses=[
            use(10, 1, CreditUsed=10.0),
            use(11, 2, CreditUsed=20.0),
            use(12, 99, CreditUsed=5.0),
        ],
    )
    assert_clean(result, "balance_mismatch", evaluated=2)


def test_balance_mismatch__each_row_of_a_repeated_credit_is_judged(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[
            credit(1, RemainingCredit=90.0),
            credit(1, RemainingCredit=50.0, UniqueId="other"),
        ],
        uses=[use(10, 1, CreditUsed=10.0)],
    )
    mismatch = result.findings[result.findings["rule"] == "balance_mismatch"]
    assert mismatch["row"].tolist() == [2]


# --- overdrawn_credit ---------------------------------------------------------------------


def test_overdrawn_credit__negative_remaining(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, TotalCredit=50.0, RemainingCredit=-5.0)],
        uses=[use(10, 1, CreditUsed=55.0)],
    )
    hit = finding(result, "overdrawn_credit")
    assert hit["record_id"] == 1
    assert "RemainingCredit is -5.00 GBP, below zero" in hit["message"]
    assert "uses sum to 55.00 GBP, more than TotalCredit 50.00 GBP" in hit["message"]
    assert (hit["expected"], hit["actual"]) == (50.0, 55.0)
    assert_clean(result, "balance_mismatch", evaluated=1)


def test_overdrawn_credit__negative_remaining_alone(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, TotalCredit=50.0, RemainingCredit=-5.0)],
        uses=[use(10, 1, CreditUsed=50.0)],
    )
    hit = finding(result, "overdrawn_credit")
    assert hit["message"] == "RemainingCredit is -5.00 GBP, below zero"
    assert (hit["expected"], hit["actual"]) == (0.0, -5.0)


def test_overdrawn_credit__uses_beyond_total(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, TotalCredit=50.0, RemainingCredit=0.0)],
        uses=[use(10, 1, CreditUsed=40.0), use(11, 1, CreditUsed=20.0)],
    )
    assert found(result, "overdrawn_credit") == [1]
    assert found(result, "balance_mismatch") == [1]


def test_overdrawn_credit__fully_spent_is_clean(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, TotalCredit=50.0, RemainingCredit=0.0)],
        uses=[use(10, 1, CreditUsed=50.0)],
    )
    assert_clean(result, "overdrawn_credit", evaluated=1)


def test_overdrawn_credit__rounding_noise_within_tolerance(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, TotalCredit=50.0, RemainingCredit=-0.004)],
        uses=[use(10, 1, CreditUsed=50.004)],
    )
    assert_clean(result, "overdrawn_credit", evaluated=1)
