"""Extra-service rules: allowances and their uses."""

from builders import (
    allowance,
    allowance_use,
    assert_clean,
    audit_records,
    credit,
    finding,
    found,
    outcome,
)


def _audit(tmp_path, allowances, allowance_uses):
    return audit_records(
        tmp_path, credits=[credit(1)], uses=[], allowances=allowances, allowance_uses=allowance_uses
    )


def test_extra_service_unlinked__use_without_booking(tmp_path):
    result = _audit(
        tmp_path,
        [allowance(20, RemainingUses=480)],
        [
            allowance_use(30, 20),
            allowance_use(31, 20, BookingId=None),
            allowance_use(32, 20, BookingId=0),
        ],
    )
    assert found(result, "extra_service_unlinked") == [31, 32]
    assert outcome(result, "extra_service_unlinked").evaluated == 3


def test_extra_service_orphan__allowance_not_in_snapshot(tmp_path):
    result = _audit(
        tmp_path, [allowance(20, RemainingUses=540)], [allowance_use(30, 20), allowance_use(31, 21)]
    )
    hit = finding(result, "extra_service_orphan")
    assert (hit["record_id"], hit["actual"]) == (31, 21)


def test_extra_service_rules__skipped_without_allowances(tmp_path):
    result = audit_records(
        tmp_path, credits=[credit(1)], uses=[], allowance_uses=[allowance_use(30, 20)]
    )
    assert_clean(result, "extra_service_unlinked", evaluated=1)
    skipped = outcome(result, "extra_service_orphan")
    assert (skipped.outcome, skipped.evaluated) == ("skipped", 0)
    assert skipped.reason == "no coworkerextraservices file in the snapshot"


def test_extra_service_rules__all_skipped_without_either_file(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1)], uses=[])
    for rule in (
        "extra_service_unlinked",
        "extra_service_orphan",
        "extra_service_balance_mismatch",
        "extra_service_expired_use",
    ):
        assert outcome(result, rule).outcome == "skipped"
    assert "extra_service_unlinked" not in result.summary["by_rule"]


def test_extra_service_balance_mismatch__ledger_disagrees(tmp_path):
    result = _audit(
        tmp_path,
        [allowance(20, TotalUses=600, RemainingUses=480)],
        [allowance_use(30, 20, CreditUsed=60)],
    )
    hit = finding(result, "extra_service_balance_mismatch")
    assert (hit["record_id"], hit["expected"], hit["actual"], hit["severity"]) == (
        20,
        120.0,
        60.0,
        "warning",
    )
    assert (
        hit["message"] == "TotalUses - RemainingUses = 600 - 480 = 120 but its 1 use sums to 60 "
        "(difference 60, tolerance 0.005)"
    )


def test_extra_service_balance_mismatch__ledger_agrees(tmp_path):
    result = _audit(
        tmp_path,
        [allowance(20, RemainingUses=480)],
        [allowance_use(30, 20, CreditUsed=60), allowance_use(31, 20, CreditUsed=60)],
    )
    assert_clean(result, "extra_service_balance_mismatch", evaluated=1)


def test_extra_service_balance_mismatch__allowance_without_uses_is_not_judged(tmp_path):
    result = _audit(tmp_path, [allowance(20, RemainingUses=100)], [])
    # Deliberately 0: an allowance with no use is not reconciled (contract, section 5).
    assert_clean(result, "extra_service_balance_mismatch", evaluated=0)


def test_extra_service_expired_use__after_midnight_expiry_day(tmp_path):
    result = _audit(
        tmp_path,
        [allowance(20, RemainingUses=480)],
        [
            allowance_use(30, 20, BookingFromTime="2025-03-31T18:00:00"),
            allowance_use(31, 20, BookingFromTime="2025-04-01T09:00:00"),
        ],
    )
    hit = finding(result, "extra_service_expired_use")
    assert (hit["record_id"], hit["expected"], hit["actual"]) == (
        31,
        "2025-03-31T00:00:00",
        "2025-04-01T09:00:00",
    )
    assert outcome(result, "extra_service_expired_use").evaluated == 2
