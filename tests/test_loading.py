"""Loading a snapshot: every file form of every entity, typed to Arrow dtypes; bad files refused
with one line naming file and position."""

import json
import re
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import (
    MISSING,
    STEMS,
    allowance,
    allowance_use,
    audit,
    credit,
    event_use,
    invoice_use,
    use,
    write_file,
    write_snapshot,
)

import recon
from recon import readers
from recon.entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE

FORMS = ["json", "envelope", "envelopes", "jsonl", "parquet", "fetched"]


def _records():
    return {
        "credits": [
            credit(1, RemainingCredit=70.0),
            credit(2, TotalCredit=0.3, RemainingCredit=0.0),
        ],
        "uses": [
            use(10, 1),
            event_use(11, 1),
            invoice_use(12, 1),
            use(13, 2, CreditUsed=0.1),
            use(14, 2, CreditUsed=0.2),
            use(15, 99),
        ],
        "allowances": [allowance(20, RemainingUses=540)],
        "allowance_uses": [allowance_use(30, 20), allowance_use(31, 21)],
    }


def _load(directory):
    return recon.load_snapshot(directory, recon.load_ruleset())


@pytest.mark.parametrize("form", FORMS)
def test_every_form_of_every_entity_loads_the_same_frames(tmp_path, form):
    reference = _load(write_snapshot(tmp_path / "jsonl", **_records(), fmt="jsonl"))
    loaded = _load(write_snapshot(tmp_path / form, **_records(), fmt=form))
    for entity in (CREDIT, CREDIT_USE, ALLOWANCE, ALLOWANCE_USE):
        declared = [
            name for name in reference.frame(entity).columns if name in loaded.frame(entity)
        ]
        pd.testing.assert_frame_equal(
            loaded.frame(entity)[declared], reference.frame(entity)[declared]
        )


@pytest.mark.parametrize("form", FORMS)
def test_every_form_gives_the_same_findings(tmp_path, form):
    reference = audit(write_snapshot(tmp_path / "jsonl", **_records(), fmt="jsonl")).findings
    findings = audit(write_snapshot(tmp_path / form, **_records(), fmt=form)).findings
    pd.testing.assert_frame_equal(findings, reference)
    assert set(findings["rule"]) == {"orphan_use", "extra_service_orphan"}


def test_typed_frames_use_arrow_dtypes(tmp_path):
    frame = _load(write_snapshot(tmp_path, **_records())).frame(CREDIT_USE)
    assert frame["Id"].dtype == pd.ArrowDtype(pa.int64())
    assert frame["CoworkerBookingCreditId"].dtype == pd.ArrowDtype(pa.int64())
    assert frame["CreditUsed"].dtype == pd.ArrowDtype(pa.float64())
    assert frame["BookingFromTime"].dtype == pd.ArrowDtype(pa.timestamp("us"))
    assert frame["Description"].dtype == pd.ArrowDtype(pa.string())
    assert frame["BookingId"].isna().sum() == 2


def test_unknown_fields_are_kept_and_never_an_error(tmp_path):
    snapshot = write_snapshot(
        tmp_path,
        credits=[credit(1, TariffBookingCreditName="Hot desk", CustomFields={"PO": "7"})],
        uses=[],
    )
    loaded = _load(snapshot)
    assert loaded.frame(CREDIT)["TariffBookingCreditName"].tolist() == ["Hot desk"]
    assert audit(snapshot).findings.empty


def test_unknown_fields_with_mixed_types_are_kept_as_json_text(tmp_path):
    snapshot = write_snapshot(
        tmp_path, credits=[credit(1, Extra=1), credit(2, Extra="two")], uses=[]
    )
    assert _load(snapshot).frame(CREDIT)["Extra"].tolist() == ["1", '"two"']


def test_credit_field_named_credit_is_read_as_remaining_credit(tmp_path):
    exported = credit(1, RemainingCredit=MISSING, Credit=90.0)
    result = audit(write_snapshot(tmp_path, credits=[exported], uses=[use(10, 1)]))
    assert result.findings.empty


def test_ids_beyond_float_precision_survive(tmp_path):
    big = 2**53 + 1
    snapshot = write_snapshot(
        tmp_path, credits=[credit(big, RemainingCredit=90.0)], uses=[use(10, big)]
    )
    assert _load(snapshot).frame(CREDIT)["Id"].tolist() == [big]
    assert audit(snapshot).findings.empty


def test_mixed_types_in_jsonl_take_the_line_by_line_path_and_still_load(tmp_path):
    snapshot = write_snapshot(
        tmp_path, credits=[credit(1)], uses=[use(10, 1), use(11, 1, CreditUsed="7")]
    )
    result = audit(snapshot)
    assert result.findings[["rule", "record_id", "field"]].values.tolist() == [
        ["balance_mismatch", 1, None],
        ["schema_violation", 11, "CreditUsed"],
    ]


def test_empty_jsonl_is_zero_records(tmp_path):
    write_snapshot(tmp_path, credits=[credit(1)], uses=[])
    (tmp_path / "coworkerbookingcreditusehistories.jsonl").write_text("")
    assert len(_load(tmp_path).frame(CREDIT_USE)) == 0


def test_blank_lines_in_jsonl_are_skipped(tmp_path):
    write_snapshot(tmp_path, credits=[credit(1)], uses=[])
    lines = "\n" + json.dumps(use(10, 1, CreditUsed="x")) + "\n\n" + json.dumps(use(11, 1)) + "\n\n"
    (tmp_path / "coworkerbookingcreditusehistories.jsonl").write_text(lines)
    assert _load(tmp_path).frame(CREDIT_USE)["Id"].tolist() == [10, 11]


def test_parquet_from_other_tools_with_decimal_and_timestamp_columns(tmp_path):
    write_file(tmp_path, STEMS["uses"], [], "jsonl")
    table = pa.table(
        {
            "Id": pa.array([1], pa.int32()),
            "UniqueId": ["u"],
            "CreatedOn": pa.array(
                [pd.Timestamp("2025-03-01T08:00:00Z")], pa.timestamp("ms", tz="UTC")
            ),
            "UpdatedOn": pa.array([pd.Timestamp("2025-03-01T08:00:00")], pa.timestamp("s")),
            "CoworkerId": [5],
            "BusinessId": [1],
            "TotalCredit": pa.array([Decimal("100.10")], pa.decimal128(10, 2)),
            "RemainingCredit": [100.1],
            "CaneBeUsedForBookings": [True],
            "CaneBeUsedForEvents": [True],
        }
    )
    pq.write_table(table, tmp_path / "coworkerbookingcredits.parquet")
    result = audit(tmp_path)
    assert result.findings.empty
    assert _load(tmp_path).frame(CREDIT)["TotalCredit"].tolist() == [100.1]


# --- files that cannot be read: SnapshotError, one line --------------------------------------


def _snapshot_with_uses_file(tmp_path, name, content):
    write_file(tmp_path, STEMS["credits"], [credit(1)], "jsonl")
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "coworkerbookingcreditusehistories.json",
            '[{"Id": 1,\n  "X": }]',
            "coworkerbookingcreditusehistories.json: line 2 column 8: Expecting value",
        ),
        ("coworkerbookingcreditusehistories.json", "", "line 1 column 1: Expecting value"),
        (
            "coworkerbookingcreditusehistories.json",
            '{"Id": 1}',
            "not an array of records, a page envelope",
        ),
        (
            "coworkerbookingcreditusehistories.json",
            '[{"Records": []}, {"Id": 1}]',
            "mixes page envelopes and plain records",
        ),
        (
            "coworkerbookingcreditusehistories.json",
            "[1, 2]",
            "record 1 is a JSON number, not an object",
        ),
        ("coworkerbookingcreditusehistories.json", b'[{"Id": "\xff"}]', "is not UTF-8 text"),
        (
            "coworkerbookingcreditusehistories.jsonl",
            '{"Id": 1}\n{"Id": 2,, }\n',
            "coworkerbookingcreditusehistories.jsonl: line 2 column 10",
        ),
        (
            "coworkerbookingcreditusehistories.jsonl",
            '{"Id": 1}\n[1, 2]\n',
            "line 2 is a JSON array where a record",
        ),
        (
            "coworkerbookingcreditusehistories.parquet",
            b"PAR1 not really",
            "is not a readable Parquet file",
        ),
        ("coworkerbookingcreditusehistories.parquet", b"", "is not a readable Parquet file"),
    ],
)
def test_unreadable_file_is_one_clear_error(tmp_path, name, content, message):
    _snapshot_with_uses_file(tmp_path, name, content)
    with pytest.raises(recon.SnapshotFileError) as raised:
        audit(tmp_path)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_required_file(tmp_path):
    write_file(tmp_path, STEMS["credits"], [credit(1)], "jsonl")
    with pytest.raises(
        recon.SnapshotError,
        match=re.escape("has no coworkerbookingcreditusehistories.json, .jsonl or .parquet"),
    ):
        audit(tmp_path)


def test_two_files_for_one_entity(tmp_path):
    write_snapshot(tmp_path, credits=[credit(1)], uses=[])
    write_file(tmp_path, STEMS["credits"], [credit(1)], "parquet")
    with pytest.raises(
        recon.SnapshotError,
        match=re.escape("has both coworkerbookingcredits.jsonl and coworkerbookingcredits.parquet"),
    ):
        audit(tmp_path)


def test_snapshot_that_is_not_a_directory(tmp_path):
    with pytest.raises(recon.SnapshotError, match="does not exist"):
        audit(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(recon.SnapshotError, match="is not a directory"):
        audit(tmp_path / "file")


def test_broken_manifest_is_an_error(tmp_path):
    write_snapshot(tmp_path, credits=[credit(1)], uses=[])
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(recon.SnapshotFileError, match=re.escape("manifest.json: line 1 column 2")):
        audit(tmp_path)


# --- JSON Lines that pyarrow cannot take whole: read block by block -----------------------


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few lines, so that a test file spans many of them."""
    monkeypatch.setattr(readers, "JSONL_BLOCK", 1500)


def _uses_file(tmp_path, records):
    spent = 10.0 * len(records)
    write_snapshot(
        tmp_path, credits=[credit(1, TotalCredit=1000.0, RemainingCredit=1000.0 - spent)]
    )
    lines = "".join(json.dumps(record) + "\n" for record in records)
    (tmp_path / "coworkerbookingcreditusehistories.jsonl").write_text(lines)


def test_one_odd_value_costs_one_block_and_keeps_everything_else(tmp_path, small_blocks):
    records = [use(10 + n, 1) for n in range(40)]
    records[33]["CreditUsed"] = "10.00"
    _uses_file(tmp_path, records)
    result = audit(tmp_path)
    assert result.findings[["rule", "record_id", "field"]].values.tolist() == [
        ["balance_mismatch", 1, None],
        ["schema_violation", 43, "CreditUsed"],
    ]
    assert result.findings["row"].tolist()[1] == 34


def test_block_by_block_reads_the_same_frame_as_a_whole_file_read(tmp_path, monkeypatch):
    records = [use(10 + n, 1, Note=n if n % 2 else n + 0.5) for n in range(40)]
    _uses_file(tmp_path / "whole", records)
    whole = _load(tmp_path / "whole").frame(CREDIT_USE)
    monkeypatch.setattr(readers, "JSONL_BLOCK", 1500)
    _uses_file(tmp_path / "blocks", records)
    blocks = _load(tmp_path / "blocks").frame(CREDIT_USE)
    pd.testing.assert_frame_equal(blocks, whole)
    assert blocks["Note"].tolist()[:3] == [0.5, 1.0, 2.5]  # ints and floats: JSON numbers


def test_syntax_error_deep_in_a_file_names_its_line(tmp_path, small_blocks):
    _uses_file(tmp_path, [use(10 + n, 1) for n in range(40)])
    path = tmp_path / "coworkerbookingcreditusehistories.jsonl"
    lines = path.read_text().splitlines()
    lines[36] = lines[36][:-1]  # drop the closing brace of line 37
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(recon.SnapshotFileError, match=r"\.jsonl: line 37 column \d+: Expecting"):
        audit(tmp_path)


def test_free_field_with_conflicting_types_across_blocks_is_kept(tmp_path, small_blocks):
    records = [use(10 + n, 1, Extra=n) for n in range(40)]
    records[35]["Extra"] = "thirty-five"
    _uses_file(tmp_path, records)
    extra = _load(tmp_path).frame(CREDIT_USE)["Extra"].tolist()
    assert extra[:2] == ["0", "1"] and extra[35] == '"thirty-five"'


@pytest.mark.parametrize("form", FORMS)
def test_a_partial_load_keeps_the_entities_and_fields_asked_for_and_the_required_ones(
    tmp_path, form
):
    # What a close reads of the previous month's snapshot: held beside this month's.
    records = _records()
    records["uses"][0]["BookingResourceName"] = "Room 1"
    directory = write_snapshot(tmp_path / form, **records, fmt=form)
    whole = _load(directory)
    partial = recon.load_snapshot(
        directory,
        recon.load_ruleset(),
        only=(CREDIT_USE,),
        fields={CREDIT_USE: ("CreditUsed", "BookingId")},
    )
    assert list(partial.entities) == [CREDIT_USE]
    frame, reference = partial.frame(CREDIT_USE), whole.frame(CREDIT_USE)
    for name in ("Id", "UniqueId", "CreatedOn", "CoworkerBookingCreditId", "CreditUsed"):
        pd.testing.assert_series_equal(frame[name], reference[name])
    assert frame["BookingResourceName"].isna().all()  # declared, not asked for: all null
    assert reference["BookingResourceName"].iloc[0] == "Room 1"
    assert partial[CREDIT_USE].invalid.keys() == whole[CREDIT_USE].invalid.keys()


@pytest.mark.parametrize("search", [False, True])
@pytest.mark.parametrize("smallest", [256, 4096, 1 << 30])
def test_a_block_pyarrow_refuses_is_cut_up_and_loads_as_json_would(
    tmp_path, monkeypatch, smallest, search
):
    # Values pyarrow cannot type, spread over the file: each block holding one is cut up
    # down to pieces of ``smallest`` bytes (1 << 30: not at all, the whole block by json),
    # when the lines holding them are not found first (``search``: they are, and set apart).
    if not search:
        monkeypatch.setattr(readers, "odd_lines", lambda block, entity: [])
        monkeypatch.setattr(readers, "keyed_odd_lines", lambda block, entity, names: [])
    uses = [use(100 + i, 1 + i % 2, CreditUsed=1.0) for i in range(400)]
    uses[3]["CreditUsed"] = "12,50"
    uses[150]["CreditUsed"] = True
    uses[151]["BookingId"] = {"Id": 9}
    uses[290]["CreatedOn"] = "2025-02-30T10:00:00Z"
    uses[399]["CreditUsed"] = "n/a"
    records = {"credits": [credit(1), credit(2)], "uses": uses}
    reference = audit(write_snapshot(tmp_path / "json", **records, fmt="json"))
    monkeypatch.setattr(readers, "_SMALLEST_PIECE", smallest)
    halved = []
    cut = readers._read_pieces
    monkeypatch.setattr(readers, "_read_pieces", lambda *a: halved.append(1) or cut(*a))
    snapshot = write_snapshot(tmp_path / "jsonl", **records, fmt="jsonl")
    loaded = recon.load_snapshot(snapshot, recon.load_ruleset(), block_size=8192)
    whole = _load(tmp_path / "json")
    assert bool(halved) is (smallest < 8192 and not search)
    for entity in (CREDIT, CREDIT_USE):
        pd.testing.assert_frame_equal(loaded.frame(entity), whole.frame(entity))
    monkeypatch.setattr(readers, "JSONL_BLOCK", 8192)
    found = audit(snapshot).findings
    pd.testing.assert_frame_equal(found, reference.findings)
    violations = found[found["rule"] == "schema_violation"]
    assert sorted(zip(violations["record_id"], violations["field"], strict=True)) == [
        (103, "CreditUsed"),
        (250, "CreditUsed"),
        (251, "BookingId"),
        (390, "CreatedOn"),
        (499, "CreditUsed"),
    ]
