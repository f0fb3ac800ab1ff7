"""Loading files nobody here wrote (issue 8): each root cause that crashed the loader, on a
real file in every form it applies to. A bad value in a record is a schema_violation on that
record and field; a file that cannot be read is one line naming file and line or record."""

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import STEMS, audit, credit, use, write_file, write_snapshot

import recon
from recon import readers
from recon.entities import CREDIT, CREDIT_USE
from recon.findings import from_json_text

FORMS = ["json", "envelope", "envelopes", "jsonl", "parquet"]
JSON_FORMS = ["json", "envelope", "envelopes", "jsonl"]
USES = STEMS["uses"]


def _violations(result):
    found = result.findings[result.findings["rule"] == "schema_violation"]
    return sorted(zip(found["record_id"].astype(object), found["field"], strict=True))


def _with_uses_text(tmp_path, text: bytes, suffix="jsonl"):
    """A snapshot with one good credit and the given bytes as its uses file."""
    write_file(tmp_path, STEMS["credits"], [credit(1)], "jsonl")
    path = tmp_path / f"{USES}.{suffix}"
    path.write_bytes(text)
    return path


def _cli(snapshot, out, *extra, env=None):
    return subprocess.run(
        [sys.executable, "-m", "recon", "audit", str(snapshot), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def _one_line_exit_2(done, *expected):
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0], done.stderr
    for text in expected:
        assert text in lines[0], lines[0]


# --- JSON Lines lines that are not records ------------------------------------------------


@pytest.mark.parametrize(
    ("content", "line", "what"),
    [
        (b"null\n", 1, "a JSON null"),
        (b'{"Id": 1}\nnull\n', 2, "a JSON null"),
        (b'{"Id": 1}\n  null\n', 2, "a JSON null"),
        (b"5\n", 1, "a JSON number"),
        (b'"x"\n', 1, "a JSON string"),
        (b'{"Id": 1} {"Id": 2}\n', 1, "Extra data"),
        (b'{"Id": 1} null\n', 1, "Extra data"),
    ],
)
def test_a_jsonl_line_that_is_not_one_record_is_named(tmp_path, content, line, what):
    _with_uses_text(tmp_path, content)
    with pytest.raises(recon.SnapshotFileError) as raised:
        audit(tmp_path)
    message = str(raised.value)
    assert f"{USES}.jsonl: line {line}" in message and what in message


def test_a_null_first_line_is_one_line_on_the_real_cli_not_a_segfault(tmp_path):
    # pyarrow 26 crashes the process on pyarrow.json.read_json(b"null\n").
    _with_uses_text(tmp_path / "snap", b"null\n")
    done = _cli(tmp_path / "snap", tmp_path / "out")
    _one_line_exit_2(done, f"{USES}.jsonl: line 1 is a JSON null")
    assert not (tmp_path / "out").exists()


# --- arrays and objects where a scalar belongs --------------------------------------------


@pytest.mark.parametrize("form", JSON_FORMS)
@pytest.mark.parametrize("value", [[], [9], {"a": 1}, [[1, 2]]])
def test_an_array_or_object_in_a_typed_field_is_a_violation(tmp_path, form, value):
    write_snapshot(
        tmp_path,
        credits=[credit(1, BusinessId=value), credit(2)],
        uses=[use(10, 2, CreditUsed=value), use(11, 2)],
        fmt=form,
    )
    result = audit(tmp_path)
    assert _violations(result) == [(1, "BusinessId"), (10, "CreditUsed")]
    hit = result.findings[result.findings["field"] == "CreditUsed"].iloc[0]
    # the frame holds each value's JSON text; the value is the array as sent, as text
    assert from_json_text(hit["actual"]) == json.dumps(value)
    assert hit["message"].endswith(f"got {json.dumps(value)}")
    recon.write_reports(result, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert json.dumps(value) in [f["actual"] for f in written["findings"]]


def test_parquet_list_and_struct_columns_in_typed_fields_are_violations(tmp_path):
    write_file(
        tmp_path, STEMS["credits"], [credit(1, TotalCredit=100.0, RemainingCredit=80.0)], "parquet"
    )
    records = [use(10, 1), use(11, 1)]
    table = pa.Table.from_pylist(records).set_column(
        list(records[0]).index("CreditUsed"), "CreditUsed", pa.array([[10.0], [10.0, 0.0]])
    )
    table = table.append_column("BookingId2", pa.array([{"a": 1}, None]))
    table = table.set_column(
        table.column_names.index("CoworkerBookingCreditId"),
        "CoworkerBookingCreditId",
        pa.array([{"id": 1}, {"id": 1}]),
    )
    pq.write_table(table, tmp_path / f"{USES}.parquet")
    result = audit(tmp_path)
    assert _violations(result) == [
        (10, "CoworkerBookingCreditId"),
        (10, "CreditUsed"),
        (11, "CoworkerBookingCreditId"),
        (11, "CreditUsed"),
    ]
    recon.write_reports(result, tmp_path / "out", ["json"])


# --- text that is not Unicode -------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "where"),
    [
        ("json", "record 2"),
        ("envelope", "record 2"),
        ("envelopes", "record 2"),
        ("jsonl", "line 2"),
    ],
)
@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "x\\ud83d y"])
def test_a_lone_surrogate_makes_the_file_unreadable_naming_where(tmp_path, form, where, escape):
    path = write_snapshot(
        tmp_path, credits=[credit(1)], uses=[use(10, 1), use(11, 1, Description="MARK")], fmt=form
    )
    uses = next(path.glob(f"{USES}.*"))
    uses.write_text(uses.read_text().replace("MARK", escape))
    with pytest.raises(recon.SnapshotFileError) as raised:
        audit(tmp_path)
    assert f"{uses.name}: {where} holds a lone UTF-16 surrogate" in str(raised.value)


@pytest.mark.parametrize("form", JSON_FORMS)
def test_surrogate_pairs_and_escaped_backslashes_are_text(tmp_path, form):
    write_snapshot(
        tmp_path, credits=[credit(1)], uses=[use(10, 1, Description="A"), use(11, 1)], fmt=form
    )
    uses = next(tmp_path.glob(f"{USES}.*"))
    uses.write_text(uses.read_text().replace('"A"', '"\\ud83d\\ude00 \\\\ud800"'))
    frame = recon.load_snapshot(tmp_path, recon.load_ruleset()).frame(CREDIT_USE)
    assert frame["Description"].tolist()[0] == "\U0001f600 \\ud800"


def test_invalid_utf8_in_a_jsonl_string_names_the_line(tmp_path):
    lines = [json.dumps(use(10 + n, 1)).encode() for n in range(3)]
    lines[1] = lines[1].replace(b'"use-', b'"\xff\xfe-')
    _with_uses_text(tmp_path, b"\n".join(lines) + b"\n")
    with pytest.raises(recon.SnapshotFileError, match=r"\.jsonl: line 2 is not UTF-8 text"):
        audit(tmp_path)


def test_invalid_utf8_in_a_json_file_names_the_byte(tmp_path):
    text = json.dumps([use(10, 1)]).encode().replace(b'"use-', b'"\xc3(-')
    _with_uses_text(tmp_path, text, suffix="json")
    with pytest.raises(recon.SnapshotFileError, match=r"\.json: is not UTF-8 text \(byte \d+"):
        audit(tmp_path)


# --- numbers beyond what floats and int64 hold --------------------------------------------


@pytest.mark.parametrize("form", JSON_FORMS)
def test_an_integer_of_5000_digits_is_a_violation_not_a_crash(tmp_path, form):
    write_snapshot(tmp_path, credits=[credit(1)], uses=[use(10, 1, CreditUsed=-7.25)], fmt=form)
    uses = next(tmp_path.glob(f"{USES}.*"))
    uses.write_text(uses.read_text().replace("-7.25", "9" * 5000).replace("10", "1" * 4400, 0))
    result = audit(tmp_path)
    assert _violations(result) == [(10, "CreditUsed")]
    recon.write_reports(result, tmp_path / "out")


@pytest.mark.parametrize("form", FORMS)
def test_int64_max_in_an_amount_is_judged_not_a_crash(tmp_path, form):
    """Money is exact at any size: an amount of 2**63 - 1 is judged like any other (read as
    the float it is nearest to: docs/money-and-time.md says so), never a crash or a warning."""
    big = 9223372036854775807
    if form == "parquet":
        write_file(tmp_path, STEMS["credits"], [credit(1)], "parquet")
        records = [use(10, 1, CreditUsed=0), use(11, 1, CreditUsed=0)]
        table = pa.Table.from_pylist(records)
        index = table.column_names.index("CreditUsed")
        table = table.set_column(index, "CreditUsed", pa.array([big, 10], pa.int64()))
        pq.write_table(table, tmp_path / f"{USES}.parquet")
    else:
        write_snapshot(
            tmp_path, credits=[credit(1)], uses=[use(10, 1, CreditUsed=big), use(11, 1)], fmt=form
        )
    result = audit(tmp_path)
    assert (10, "CreditUsed") not in _violations(result)
    mismatch = result.findings[result.findings["rule"] == "balance_mismatch"]
    # read exactly, in every form: 2**63 - 1 and 10 (no double holds 2**63 - 1)
    assert "uses sum to 9223372036854775817.00 GBP" in mismatch["message"].iloc[0]
    recon.write_reports(result, tmp_path / "out")


# --- nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "where"), [("json", "record 2"), ("jsonl", "line 2"), ("envelopes", "record 2")]
)
@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
def test_nesting_deeper_than_the_limit_is_refused_naming_where(tmp_path, form, where, depth):
    write_snapshot(tmp_path, credits=[credit(1)], uses=[use(10, 1), use(11, 1, Deep="D")], fmt=form)
    uses = next(tmp_path.glob(f"{USES}.*"))
    uses.write_text(uses.read_text().replace('"D"', "[" * depth + "]" * depth))
    with pytest.raises(recon.SnapshotFileError) as raised:
        audit(tmp_path)
    message = str(raised.value)
    assert uses.name in message and "deep" in message
    if depth < 900:  # Python's json itself gives up near 1,000: no position then
        assert where in message


@pytest.mark.parametrize("form", JSON_FORMS)  # Parquet's own schema limit is lower
def test_nesting_up_to_the_limit_is_kept(tmp_path, form):
    deep = 0
    for _ in range(readers.MAX_DEPTH):
        deep = [deep]
    write_snapshot(
        tmp_path, credits=[credit(1)], uses=[use(10, 1, Deep=deep), use(11, 1)], fmt=form
    )
    result = audit(tmp_path)
    assert _violations(result) == []
    assert "Deep" in result.snapshot.frame(CREDIT_USE).columns


def test_very_deep_jsonl_is_one_line_on_the_real_cli_not_a_segfault(tmp_path):
    line = json.dumps(use(10, 1)).replace(
        '"use-', '"x", "D": ' + "[" * 100_000 + "]" * 100_000 + ', "u": "use-', 1
    )
    _with_uses_text(tmp_path / "snap", line.encode() + b"\n")
    done = _cli(tmp_path / "snap", tmp_path / "out")
    _one_line_exit_2(done, f"{USES}.jsonl: line 1 nests")


# --- Parquet columns of other types in declared fields ------------------------------------


def test_parquet_columns_of_other_types_are_typed_or_violations_and_serialise(tmp_path):
    write_file(
        tmp_path, STEMS["credits"], [credit(1, TotalCredit=100.0, RemainingCredit=80.0)], "parquet"
    )
    records = [use(10, 1), use(11, 1)]
    table = pa.Table.from_pylist(records)

    def put(name, array):
        nonlocal table
        table = table.set_column(table.column_names.index(name), name, array)

    put("CreditUsed", pa.array([Decimal("10.00"), Decimal("10.00")], pa.decimal128(10, 2)))
    put("Description", pa.array([b"\xff\x00", b"text"], pa.binary()))
    put("BookingResourceName", pa.array([Decimal("1.50"), None], pa.decimal128(5, 2)))
    put("BookingFromTime", pa.array([dt.date(2025, 3, 14), dt.date(2025, 3, 14)], pa.date32()))
    put("BookingToTime", pa.array([dt.time(11, 0), None], pa.time64("us")))
    put("UpdatedOn", pa.array([dt.timedelta(days=1, seconds=7200), None], pa.duration("us")))
    pq.write_table(table, tmp_path / f"{USES}.parquet")
    result = audit(tmp_path)
    assert _violations(result) == [
        (10, "BookingResourceName"),
        (10, "BookingToTime"),
        (10, "Description"),
        (10, "UpdatedOn"),
        (11, "Description"),
        (11, "UpdatedOn"),
    ]
    recon.write_reports(result, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "findings.json").read_text())
    actual = {
        (f["record_id"], f["field"]): f["actual"]
        for f in written["findings"]
        if f["rule"] == "schema_violation"
    }
    assert actual == {
        (10, "BookingResourceName"): "1.50",
        (10, "BookingToTime"): "11:00:00",
        (10, "Description"): "0xff00",
        (10, "UpdatedOn"): "P1DT7200S",
        (11, "Description"): "text",
        (11, "UpdatedOn"): None,
    }


def test_parquet_timestamp_ns_at_its_maximum_loads(tmp_path):
    write_file(tmp_path, STEMS["credits"], [credit(1)], "parquet")
    table = pa.Table.from_pylist([use(10, 1)])
    biggest = pa.array([2**63 - 1], pa.timestamp("ns"))
    table = table.set_column(table.column_names.index("BookingToTime"), "BookingToTime", biggest)
    pq.write_table(table, tmp_path / f"{USES}.parquet")
    result = audit(tmp_path)
    assert _violations(result) == []
    assert str(result.snapshot.frame(CREDIT_USE)["BookingToTime"][0]) == (
        "2262-04-11 23:47:16.854775"
    )


def test_parquet_seconds_beyond_microseconds_are_violations(tmp_path):
    write_file(tmp_path, STEMS["credits"], [credit(1)], "parquet")
    table = pa.Table.from_pylist([use(10, 1), use(11, 1)])
    far = pa.array([2**62, 0], pa.timestamp("ms"))
    table = table.set_column(table.column_names.index("BookingToTime"), "BookingToTime", far)
    pq.write_table(table, tmp_path / f"{USES}.parquet")
    result = audit(tmp_path)
    assert _violations(result) == [(10, "BookingToTime")]
    recon.write_reports(result, tmp_path / "out", ["json", "md"])


# --- JSON Lines blocks: every block read alike --------------------------------------------


def _jsonl_uses(tmp_path, records):
    write_file(
        tmp_path, STEMS["credits"], [credit(1, TotalCredit=1e6, RemainingCredit=1e6)], "jsonl"
    )
    write_file(tmp_path, USES, records, "jsonl")


def _frame(tmp_path, block_size):
    return recon.load_snapshot(tmp_path, recon.load_ruleset(), block_size=block_size).frame(
        CREDIT_USE
    )


def test_an_unknown_field_first_seen_in_a_later_block_is_kept(tmp_path):
    records = [use(10 + n, 1, CreditUsed=0.0) for n in range(40)]
    records[35]["LateField"] = "late"
    _jsonl_uses(tmp_path, records)
    frame = _frame(tmp_path, 1500)
    assert frame["LateField"].tolist()[35] == "late"
    assert frame["LateField"].isna().sum() == 39


def test_unknown_date_time_text_stays_text_in_every_block(tmp_path):
    records = [use(10 + n, 1, CreditUsed=0.0) for n in range(40)]
    for n in (2, 38):
        records[n]["InvoiceDate"] = "2025-01-31T09:00:00Z"
        records[n]["Nested"] = {"When": "2025-01-31T09:00:00+01:00"}
    _jsonl_uses(tmp_path, records)
    small, whole = _frame(tmp_path, 1500), _frame(tmp_path, None)
    for frame in (small, whole):
        assert frame["InvoiceDate"].tolist()[2] == frame["InvoiceDate"].tolist()[38]
        assert frame["InvoiceDate"].tolist()[38] == "2025-01-31T09:00:00Z"
    assert small["InvoiceDate"].dtype == whole["InvoiceDate"].dtype


def _not_utf8(values: list[bytes]) -> pa.Array:
    """A string array holding ``values`` as they are: Arrow does not check what
    ``from_buffers`` is given, and Parquet writes it, as another tool might."""
    offsets = [0]
    for value in values:
        offsets.append(offsets[-1] + len(value))
    return pa.Array.from_buffers(
        pa.string(),
        len(values),
        [
            None,
            pa.py_buffer(pa.array(offsets, pa.int32()).buffers()[1]),
            pa.py_buffer(b"".join(values)),
        ],
    )


@pytest.mark.parametrize(
    "where", ["UpdatedBy", "UniqueId", "CreatedOn", "Description", "BookingResourceName"]
)
def test_a_parquet_text_column_that_is_not_utf8_is_one_line_and_exit_2(tmp_path, where):
    write_file(tmp_path, STEMS["credits"], [credit(1)], "parquet")
    records = [use(10 + n, 1) for n in range(3)]
    column = _not_utf8([b"ok", b"\xff\xfe", b"ok"])
    if where in ("Description", "BookingResourceName"):
        # Text stored as a Parquet dictionary column (as pandas writes a categorical):
        # its dictionary's text is checked like any other.
        column = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int32()), column)
    if where == "CreatedOn":  # the text of a date-time stored as recon fetch stores it
        text = pa.StructArray.from_arrays(
            [pa.nulls(3, pa.timestamp("us")), column], names=["wall", "text"]
        )
        field = pa.field("CreatedOn", text.type, metadata={b"recon.datetime": b"Z"})
        table = pa.Table.from_pylist(records)
        index = table.column_names.index(where)
        pq.write_table(table.set_column(index, field, text), tmp_path / f"{USES}.parquet")
    else:
        _parquet_with_column(tmp_path, USES, records, where, column)
    done = _cli(tmp_path, tmp_path / "out")
    _one_line_exit_2(done, f"{USES}.parquet: column {where} is not valid", "fetch it again")
    assert not (tmp_path / "out").exists()


# --- booleans and numbers -----------------------------------------------------------------


def _parquet_with_column(tmp_path, stem, records, name, array):
    table = pa.Table.from_pylist(records)
    table = table.set_column(table.column_names.index(name), name, array)
    pq.write_table(table, tmp_path / f"{stem}.parquet")


@pytest.mark.parametrize("form", FORMS)
def test_a_boolean_is_never_an_amount_nor_a_number_a_boolean(tmp_path, form):
    credits = [credit(1, TotalCredit=True), credit(2, CaneBeUsedForBookings=1)]
    uses = [use(10, 2, CreditUsed=False)]
    if form == "parquet":
        _parquet_with_column(
            tmp_path,
            STEMS["credits"],
            [credit(1), credit(2)],
            "TotalCredit",
            pa.array([True, False]),
        )
        table = pq.read_table(tmp_path / f"{STEMS['credits']}.parquet")
        index = table.column_names.index("CaneBeUsedForBookings")
        table = table.set_column(index, "CaneBeUsedForBookings", pa.array([1, 1]))
        pq.write_table(table, tmp_path / f"{STEMS['credits']}.parquet")
        _parquet_with_column(tmp_path, USES, [use(10, 2)], "CreditUsed", pa.array([False]))
        expected = [
            (1, "CaneBeUsedForBookings"),
            (1, "TotalCredit"),
            (2, "CaneBeUsedForBookings"),
            (2, "TotalCredit"),
            (10, "CreditUsed"),
        ]
    else:
        write_snapshot(tmp_path, credits=credits, uses=uses, fmt=form)
        expected = [(1, "TotalCredit"), (2, "CaneBeUsedForBookings"), (10, "CreditUsed")]
    assert _violations(audit(tmp_path)) == expected


@pytest.mark.parametrize("form", FORMS)
def test_the_balance_alias_is_read_per_record(tmp_path, form):
    aliased = credit(1, TotalCredit=100.0, Credit=90.0)
    del aliased["RemainingCredit"]
    write_snapshot(
        tmp_path,
        credits=[aliased, credit(2, RemainingCredit=100.0)],
        uses=[use(10, 1)],
        fmt=form,
    )
    result = audit(tmp_path)
    assert _violations(result) == []
    assert result.snapshot.frame(CREDIT)["RemainingCredit"].tolist() == [90.0, 100.0]


@pytest.mark.parametrize(
    ("block", "records"),
    [
        (b'{"a": 1}\n\n{"a": 2}\n', 2),
        (b"", 0),
        (b'{"a": 1}\nnull\n', None),
        (b' {"a": 1}\n', None),  # json takes leading spaces; pyarrow is not asked to
        (b'{"a": "\xff"}\n', None),
        (b'{"a": "\\ud800"}\n', None),
        (b'{"a": "\\ud83d\\ude00"}\n', 1),
        (b'{"a": ' + b"[" * 1_001 + b"\n", None),  # unclosed, still too deep for pyarrow
        (b'{"a": ' + b"[" * 900 + b"]" * 900 + b"}\n", 1),
    ],
)
def test_the_screen_hands_pyarrow_only_blocks_it_reads_safely(block, records):
    screened = readers._screen(bytearray(block))
    assert (screened if screened is None else screened.records) == records


def test_the_screen_knows_the_record_of_each_line_across_empty_lines():
    block = b'\n{"a": 1}\n\n\n{"a": 2}\n{"a": 3}\n\n{"a": 4}\n'
    screened = readers._screen(bytearray(block))
    assert screened.records == 4
    assert screened.record_rows([1, 4, 5, 7]) == [0, 1, 2, 3]
    assert readers._screen(bytearray(b'{"a": 1}\n{"a": 2}\n')).record_rows([1]) == [1]
