"""schema_violation and duplicate_record, and how a failed field keeps a record out of the
rules that need it."""

import json

import pandas as pd
import pytest
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
    outcome,
    use,
)


def _violations(result):
    rows = result.findings[result.findings["rule"] == "schema_violation"]
    return sorted(
        (None if pd.isna(record_id) else int(record_id), field)
        for record_id, field in zip(rows["record_id"], rows["field"], strict=True)
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("CreditUsed", "60.00", 'CreditUsed must be a finite number, got "60.00"'),
        ("CreditUsed", "N/A", 'CreditUsed must be a finite number, got "N/A"'),
        ("CreditUsed", True, "CreditUsed must be a finite number, got true"),
        ("CreditUsed", None, "CreditUsed is required but missing or null"),
        ("CreditUsed", MISSING, "CreditUsed is required but missing or null"),
        ("CoworkerBookingCreditId", 1.5, "CoworkerBookingCreditId must be an integer, got 1.5"),
        ("CoworkerBookingCreditId", "1", 'CoworkerBookingCreditId must be an integer, got "1"'),
        (
            "BookingFromTime",
            "2025-02-30T10:00:00",
            'BookingFromTime must be an ISO-8601 date-time, got "2025-02-30T10:00:00"',
        ),
        (
            "BookingFromTime",
            "31/12/2025",
            'BookingFromTime must be an ISO-8601 date-time, got "31/12/2025"',
        ),
        (
            "BookingFromTime",
            20250301,
            "BookingFromTime must be an ISO-8601 date-time, got 20250301",
        ),
        ("UniqueId", 42, "UniqueId must be a string, got 42"),
        ("IsNew", "false", 'IsNew must be a boolean, got "false"'),
        ("Description", {"text": "x"}, 'Description must be a string, got {"text": "x"}'),
    ],
)
def test_schema_violation__one_finding_naming_record_and_field(tmp_path, field, value, message):
    result = audit_records(tmp_path, credits=[credit(1)], uses=[use(10, 1, **{field: value})])
    hit = finding(result, "schema_violation")
    assert (hit["record_id"], hit["field"], hit["entity"]) == (
        10,
        field,
        "CoworkerBookingCreditUseHistory",
    )
    assert hit["message"] == message


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_schema_violation__non_finite_json_tokens(tmp_path, token):
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "coworkerbookingcredits.jsonl").write_text(json.dumps(credit(1)) + "\n")
    line = json.dumps(use(10, 1)).replace('"CreditUsed": 10.0', f'"CreditUsed": {token}')
    (snapshot / "coworkerbookingcreditusehistories.jsonl").write_text(line + "\n")
    hit = finding(audit(snapshot), "schema_violation")
    assert (hit["record_id"], hit["field"], hit["actual"]) == (10, "CreditUsed", token)
    assert hit["message"] == f"CreditUsed must be a finite number, got {token}"


def test_schema_violation__several_fields_of_one_record(tmp_path):
    bad = credit(1, CoworkerId=MISSING, TotalCredit="100", ExpireDate="2025-13-01T00:00:00")
    result = audit_records(tmp_path, credits=[bad], uses=[])
    assert _violations(result) == [(1, "CoworkerId"), (1, "ExpireDate"), (1, "TotalCredit")]


def test_schema_violation__record_without_usable_id_is_located_by_row(tmp_path):
    result = audit_records(
        tmp_path, credits=[credit(1), credit("two", RemainingCredit=100.0)], uses=[]
    )
    hit = finding(result, "schema_violation")
    assert (hit["record_id"], hit["row"], hit["field"]) is not None
    assert pd.isna(hit["record_id"]) and hit["row"] == 2 and hit["field"] == "Id"


def test_schema_violation__optional_fields_may_be_null_and_unknown_fields_are_free(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[
            credit(
                1,
                ValidFrom=None,
                ExpireDate=None,
                Description=None,
                ElegibleResourceTypes=["Room"],
                CustomFields={"PO": 17},
                TariffBookingCreditName=42,
            )
        ],
        uses=[],
    )
    assert_clean(result, "schema_violation", evaluated=1)


def test_schema_violation__every_entity_is_validated(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, BusinessId="London")],
        uses=[use(10, 1, CreatedOn="yesterday")],
        allowances=[allowance(20, TotalUses="600")],
        allowance_uses=[allowance_use(30, 20, CoworkerExtraServiceId=None)],
    )
    assert _violations(result) == [
        (1, "BusinessId"),
        (10, "CreatedOn"),
        (20, "TotalUses"),
        (30, "CoworkerExtraServiceId"),
    ]
    assert outcome(result, "schema_violation").evaluated == 4


def test_schema_violation__failed_field_keeps_the_record_out_of_rules_needing_it(tmp_path):
    # An unparseable booking id is not "no booking": the use is not called unlinked.
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=90.0)],
        uses=[
            use(
                10,
                1,
                BookingId="B-1",
                BookingFromTime=None,
                BookingToTime=None,
                BookingResourceName=None,
            )
        ],
    )
    assert set(result.findings["rule"]) == {"schema_violation"}
    # Deliberately 0: every rule that needs the use's links (and so its usage time) left it out.
    for rule in (
        "unlinked_use",
        "manual_adjustment",
        "multi_linked_use",
        "non_positive_use",
        "ineligible_use",
        "expired_credit_use",
        "premature_credit_use",
    ):
        assert_clean(result, rule, evaluated=0)
    assert_clean(result, "orphan_use", evaluated=1)  # its CoworkerBookingCreditId is fine


# --- duplicate_record ---------------------------------------------------------------------


def test_duplicate_record__every_record_sharing_an_id(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, RemainingCredit=80.0)],
        uses=[use(10, 1), use(10, 1, UniqueId="another"), use(11, 1)],
    )
    assert found(result, "duplicate_record") == [10, 10]
    hits = result.findings[result.findings["rule"] == "duplicate_record"]
    assert hits["field"].tolist() == ["Id", "Id"]
    assert (
        hits["message"].tolist() == ["Id 10 occurs 2 times in CoworkerBookingCreditUseHistory"] * 2
    )
    assert hits["row"].tolist() == [1, 2]


def test_duplicate_record__unique_id_shared_by_different_ids(tmp_path):
    result = audit_records(
        tmp_path, credits=[credit(1), credit(2, UniqueId=credit(1)["UniqueId"])], uses=[]
    )
    assert found(result, "duplicate_record") == [1, 2]
    assert set(result.findings.loc[result.findings["rule"] == "duplicate_record", "field"]) == {
        "UniqueId"
    }


def test_duplicate_record__exact_repeat_names_both_keys(tmp_path):
    result = audit_records(tmp_path, credits=[credit(1), credit(1), credit(1)], uses=[])
    hits = result.findings[result.findings["rule"] == "duplicate_record"]
    assert len(hits) == 3
    assert hits["message"].iloc[0] == (
        'Id 1 occurs 3 times; UniqueId "credit-00000001" occurs 3 times in CoworkerBookingCredit'
    )
    assert hits["actual"].tolist() == ["3", "3", "3"]  # the frame holds each value's JSON text


def test_duplicate_record__same_id_in_different_entities_is_fine(tmp_path):
    result = audit_records(tmp_path, credits=[credit(10, RemainingCredit=90.0)], uses=[use(10, 10)])
    assert_clean(result, "duplicate_record", evaluated=2)
