"""A finding's fingerprint names the same rule on the same record across runs: unchanged by
file order, file form, message wording or other findings; changed by the record's identity."""

import random
import re

import pytest
from builders import audit, credit, manual_use, use, write_snapshot

FORMS = ("json", "envelope", "envelopes", "jsonl", "parquet", "fetched")


def _records():
    return {
        "credits": [
            credit(1, RemainingCredit=50.0),  # balance_mismatch
            credit(2, CoworkerId=None),  # schema_violation: CoworkerId missing
            credit(3, RemainingCredit=-5.0, TotalCredit=0.0),  # overdrawn
            credit(4),
            credit(4, UniqueId="credit-dup-0004"),  # duplicate Id
        ],
        "uses": [
            use(10, 1, CreditUsed=25.0),
            use(11, 99),  # orphan
            manual_use(12, 1, 5.0, "goodwill"),
            use(13, 1, BookingId=None, BookingFromTime=None),  # unlinked
        ],
    }


def _by_record(result):
    """(rule, entity, record_id, field) -> the set of fingerprints of those findings."""
    table = {}
    for row in result.findings.itertuples():
        key = (row.rule, row.entity, row.record_id, row.field)
        table.setdefault(key, set()).add(row.fingerprint)
    return table


def test_every_finding_has_a_versioned_fingerprint(tmp_path):
    result = audit(write_snapshot(tmp_path / "s", **_records()))
    assert len(result.findings) >= 6
    assert all(re.fullmatch(r"v1:[0-9a-f]{32}", value) for value in result.findings.fingerprint)


@pytest.mark.parametrize("form", FORMS)
def test_fingerprints_survive_shuffling_and_every_file_form(tmp_path, form):
    reference = _by_record(audit(write_snapshot(tmp_path / "ref", **_records())))
    shuffled = {name: random.Random(7).sample(rows, len(rows)) for name, rows in _records().items()}
    other = _by_record(audit(write_snapshot(tmp_path / form, fmt=form, **shuffled)))
    assert other == reference


def test_fingerprints_survive_renamed_files_reworded_messages_and_other_findings(tmp_path):
    reference = _by_record(audit(write_snapshot(tmp_path / "ref", **_records())))
    records = _records()
    records["uses"][2] = manual_use(12, 1, 5.0, "a different note, a different message")
    records["uses"].append(use(14, 98))  # a new orphan comes
    records["credits"].pop(2)  # the overdrawn credit goes
    moved = write_snapshot(tmp_path / "elsewhere" / "renamed", **records)
    other = _by_record(audit(moved))
    for key, prints in reference.items():
        if key[2] != 3:
            assert other[key] == prints, key
    assert ("orphan_use", "CoworkerBookingCreditUseHistory", 14, None) in other


def test_a_record_that_changes_identity_changes_its_fingerprint(tmp_path):
    reference = _by_record(audit(write_snapshot(tmp_path / "ref", **_records())))
    records = _records()
    records["credits"][0] = credit(1, RemainingCredit=50.0, UniqueId="credit-new-identity")
    other = _by_record(audit(write_snapshot(tmp_path / "new", **records)))
    key = ("balance_mismatch", "CoworkerBookingCredit", 1, None)
    assert other[key] != reference[key]
    # The case of a UUID carries no meaning.
    records["credits"][0] = credit(1, RemainingCredit=50.0, UniqueId="CREDIT-00000001")
    upper = _by_record(audit(write_snapshot(tmp_path / "upper", **records)))
    assert upper[key] == reference[key]


def test_the_field_and_the_duplicated_key_tell_findings_of_one_record_apart(tmp_path):
    records = _records()
    records["credits"][1] = credit(2, CoworkerId=None, RemainingCredit="x")
    result = audit(write_snapshot(tmp_path / "s", **records))
    schema = result.findings[result.findings.rule == "schema_violation"]
    assert schema.fingerprint.nunique() == len(schema) == 2
    duplicates = result.findings[result.findings.rule == "duplicate_record"]
    assert duplicates.fingerprint.nunique() == 2  # two records share Id 4, each its own
