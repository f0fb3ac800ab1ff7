"""Edge cases found in review, each once a crash or a wrong finding."""

import json

from builders import (
    MISSING,
    allowance,
    allowance_use,
    assert_clean,
    audit,
    audit_records,
    credit,
    finding,
    found,
    use,
    write_snapshot,
)

import recon
from recon.checks import RULE_IDS


def test_uses_against_an_empty_credits_file_are_orphans(tmp_path):
    result = audit_records(tmp_path, credits=[], uses=[use(10, 5)])
    assert found(result, "orphan_use") == [10]


def test_extra_service_uses_against_an_empty_allowances_file_are_orphans(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1)],
        uses=[],
        allowances=[],
        allowance_uses=[allowance_use(30, 20)],
    )
    assert found(result, "extra_service_orphan") == [30]


def test_missing_required_field_has_a_null_actual_beside_text_actuals(tmp_path):
    result = audit_records(
        tmp_path, credits=[credit(1, CoworkerId=MISSING), credit(2, BusinessId="x")], uses=[]
    )
    recon_out = tmp_path / "out"
    recon.write_reports(result, recon_out, ["json"])
    violations = json.loads((recon_out / "findings.json").read_text())["findings"]
    actuals = {(v["record_id"], v["field"]): v["actual"] for v in violations}
    assert actuals == {(1, "CoworkerId"): None, (2, "BusinessId"): "x"}


def test_denormalised_zero_and_false_are_the_apis_none(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[use(10, 1, CoworkerInvoiceLineCoworkerInvoiceId=0, EventAttendeeIsCheckedIn=False)],
    )
    assert_clean(result, "denormalisation_mismatch", evaluated=1)


def test_blank_unique_ids_are_quoted_in_the_message(tmp_path):
    result = audit_records(
        tmp_path, credits=[credit(1, UniqueId=""), credit(2, UniqueId="")], uses=[]
    )
    assert (
        result.findings["message"].iloc[0] == 'UniqueId "" occurs 2 times in CoworkerBookingCredit'
    )


def test_zero_tolerance_is_shown_as_zero(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[amounts]\ntolerance = 0\n")
    result = audit_records(
        tmp_path, credits=[credit(1, RemainingCredit=99.0)], uses=[], rules=rules
    )
    assert finding(result, "balance_mismatch")["message"].endswith(
        "(difference 1.00 GBP, tolerance 0)"
    )


def test_booking_use_dated_by_its_booking_needs_no_valid_created_on(tmp_path):
    late = use(
        10,
        1,
        BookingFromTime="2025-04-02T10:00:00",
        BookingToTime="2025-04-02T11:00:00",
        CreatedOn="not a date",
    )
    result = audit_records(tmp_path, credits=[credit(1, RemainingCredit=90.0)], uses=[late])
    assert found(result, "expired_credit_use") == [10]


def test_allowance_with_uses_of_unknown_amount_is_not_judged(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1)],
        uses=[],
        allowances=[allowance(20, RemainingUses=480)],
        allowance_uses=[allowance_use(30, 20, CreditUsed=None)],
    )
    # Deliberately 0: its one use has no amount, so its ledger cannot be summed.
    assert_clean(result, "extra_service_balance_mismatch", evaluated=0)


def test_snapshot_with_nothing_but_empty_files(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s", credits=[], uses=[], allowances=[], allowance_uses=[], fmt="json"
    )
    result = audit(snapshot)
    assert result.findings.empty and result.exit_code == 0
    # Every rule ran (all four files are there) and, with no record, judged none.
    for rule in RULE_IDS:
        assert_clean(result, rule, evaluated=0)


def test_value_counts_per_row_is_exact_on_every_key_path():
    import pandas as pd
    import pyarrow as pa

    from recon.derived import value_counts_per_row

    def counts(values, arrow_type):
        return value_counts_per_row(
            pd.Series(pd.arrays.ArrowExtensionArray(pa.array(values, arrow_type)))
        )

    assert counts([1, 2, 3, None], pa.int64()).tolist() == [1, 1, 1, 0]  # increasing
    assert counts([5, 3, 5, None, 5, 1], pa.int64()).tolist() == [3, 1, 3, 0, 3, 1]  # sorted path
    uuids = ["a" * 36, "b" * 36, "a" * 36, None, "c" * 36]
    assert counts(uuids, pa.string()).tolist() == [2, 1, 2, 0, 1]  # fingerprints
    assert counts(["x", "yy", "x", "", ""], pa.string()).tolist() == [2, 1, 2, 2, 2]  # hashed
    assert counts([], pa.string()).tolist() == []
