"""Amounts no double holds are read, summed, judged and shown exactly, in every file form.

``9007199254740993`` is the first integer a double rounds (to ...992); a 25-digit amount
loses its last ten digits in a float. Each test writes real files whose amounts are JSON
number literals (or Parquet decimals, integers, or JSON text) with every digit, runs the
audit, and reads findings.json as written.
"""

from __future__ import annotations

import decimal
import json
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import AS_OF, STEMS, audit, credit, finding, outcome, use, write_file
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from recon import findings, money, readers
from recon.snapshot import JSON_TEXT

FORMS = ("json", "envelope", "jsonl", "parquet_decimal", "parquet_text")


class Raw(str):
    """An amount as the literal a file holds: ``Raw("9007199254740993")``."""


def _placeholder(text: str) -> str:
    return f"@@{text}@@"


def _write(directory: Path, stem: str, records: list[dict[str, Any]], form: str) -> None:
    if form.startswith("parquet"):
        _write_parquet(directory, stem, records, decimal=form == "parquet_decimal")
        return
    marked = [
        {k: _placeholder(v) if isinstance(v, Raw) else v for k, v in record.items()}
        for record in records
    ]
    path = write_file(directory, stem, marked, form)
    text = path.read_text()
    for record in records:
        for value in record.values():
            if isinstance(value, Raw):
                text = text.replace(json.dumps(_placeholder(value)), str(value))
    path.write_text(text)


def _write_parquet(directory: Path, stem: str, records: list[dict[str, Any]], *, decimal: bool):
    directory.mkdir(parents=True, exist_ok=True)
    names = dict.fromkeys(name for record in records for name in record)
    arrays, fields = [], []
    for name in names:
        values = [record.get(name) for record in records]
        if any(isinstance(value, Raw) for value in values):
            if decimal:  # the exact decimals, as a warehouse export types them
                array = pa.array([None if v is None else Decimal(v) for v in values])
                field = pa.field(name, array.type)
            else:  # JSON text, as recon fetch stores numbers pyarrow could not type
                array = pa.array([None if v is None else str(v) for v in values], pa.string())
                field = pa.field(name, pa.string(), metadata={JSON_TEXT: b"1"})
        else:
            array = pa.array(values)
            field = pa.field(name, array.type)
        arrays.append(array)
        fields.append(field)
    pq.write_table(
        pa.Table.from_arrays(arrays, schema=pa.schema(fields)), directory / f"{stem}.parquet"
    )


def _snapshot(directory: Path, form: str, credits, uses) -> Path:
    _write(directory, STEMS["credits"], credits, form)
    _write(directory, STEMS["uses"], uses, form)
    return directory


def _findings_json(out: Path) -> list[dict[str, Any]]:
    text = (out / "findings.json").read_text()
    return json.loads(text, parse_float=Decimal)["findings"]


def _cli_audit(snapshot: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "recon",
            "audit",
            str(snapshot),
            "--out",
            str(out),
            "--as-of",
            AS_OF,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _one_credit(total: str, remaining: str, *used: str):
    credits = [credit(1, TotalCredit=Raw(total), RemainingCredit=Raw(remaining))]
    uses = [use(10 + n, 1, CreditUsed=Raw(amount)) for n, amount in enumerate(used)]
    return credits, uses


@pytest.mark.parametrize("form", FORMS)
def test_a_balance_that_ties_out_only_when_read_exactly_is_clean(tmp_path, form):
    # As floats: 9007199254740994 - 9007199254740992 = 2, against a use of 1.
    credits, uses = _one_credit("9007199254740994", "9007199254740993", "1")
    result = audit(_snapshot(tmp_path / "snapshot", form, credits, uses))
    ran = outcome(result, "balance_mismatch")
    assert (ran.evaluated, ran.findings) == (1, 0)
    assert not (result.findings["rule"] == "schema_violation").any()


@pytest.mark.parametrize("form", FORMS)
def test_a_mismatch_that_floats_hide_is_found_with_its_exact_digits(tmp_path, form):
    # As floats: 2 = 2, clean; exactly: 1 was consumed but the use is 2.
    credits, uses = _one_credit("9007199254740994", "9007199254740993", "2")
    result = audit(_snapshot(tmp_path / "snapshot", form, credits, uses))
    found = finding(result, "balance_mismatch")
    assert "9007199254740994.00 GBP - 9007199254740993.00 GBP = 1.00 GBP" in found["message"]
    assert (found["expected"], found["actual"]) == (1.0, 2.0)


@pytest.mark.parametrize("form", FORMS)
def test_expected_and_actual_beyond_a_double_are_written_with_every_digit(tmp_path, form):
    credits, uses = _one_credit("18014398509481987", "1", "9007199254740993", "9007199254740992")
    snapshot = _snapshot(tmp_path / "snapshot", form, credits, uses)
    run = _cli_audit(snapshot, tmp_path / "out")
    assert run.returncode == 1, run.stderr
    text = (tmp_path / "out" / "findings.json").read_text()
    assert '"expected": 18014398509481986,' in text
    assert '"actual": 18014398509481985,' in text
    for name in ("report.md", "report.html"):
        shown = (tmp_path / "out" / name).read_text()
        for exact in ("18014398509481987.00 GBP", "= 18014398509481986.00 GBP"):
            assert exact in shown, name
        assert "sum to 18014398509481985.00 GBP" in shown, name
        # Nowhere the floats' digits: ...988 (TotalCredit), ...984 (either use sum).
        for rounded in ("509481988", "509,481,988", "509481984", "509,481,984"):
            assert rounded not in shown, (name, rounded)


@pytest.mark.parametrize("form", FORMS)
def test_twenty_five_digit_amounts_balance_and_mismatch_exactly(tmp_path, form):
    clean = _one_credit("1234567890123456789012345.67", "1234567890123456789012344.66", "1.01")
    result = audit(_snapshot(tmp_path / "clean", form, *clean))
    assert outcome(result, "balance_mismatch").findings == 0
    assert outcome(result, "balance_mismatch").evaluated == 1

    wrong = _one_credit("1234567890123456789012345.67", "1.01", "1234567890123456789012344.65")
    snapshot = _snapshot(tmp_path / "wrong", form, *wrong)
    run = _cli_audit(snapshot, tmp_path / "out")
    assert run.returncode == 1, run.stderr
    [shown] = [f for f in _findings_json(tmp_path / "out") if f["rule"] == "balance_mismatch"]
    assert shown["expected"] == Decimal("1234567890123456789012344.66")
    assert shown["actual"] == Decimal("1234567890123456789012344.65")
    assert "(difference 0.01 GBP" in shown["message"]
    text = (tmp_path / "out" / "findings.json").read_text()
    assert '"expected": 1234567890123456789012344.66,' in text


@pytest.mark.parametrize("form", ("jsonl", "parquet_decimal"))
def test_a_use_beyond_a_double_is_shown_as_sent(tmp_path, form):
    credits, uses = _one_credit("100", "100", "-9007199254740993")
    run = _cli_audit(_snapshot(tmp_path / "snapshot", form, credits, uses), tmp_path / "out")
    assert run.returncode == 1, run.stderr
    text = (tmp_path / "out" / "findings.json").read_text()
    assert '"actual": -9007199254740993,' in text  # non_positive_use: the use as sent
    assert "linked use has CreditUsed = -9007199254740993.00 GBP" in text


def test_every_form_gives_the_same_findings(tmp_path):
    credits = [
        credit(1, TotalCredit=Raw("9007199254740994"), RemainingCredit=Raw("9007199254740993")),
        credit(2, TotalCredit=Raw("1234567890123456789012345.67"), RemainingCredit=Raw("0.5")),
        credit(3, TotalCredit=Raw("100.10"), RemainingCredit=Raw("0.000000000000000000001")),
    ]
    uses = [
        use(10, 1, CreditUsed=Raw("2")),
        use(11, 2, CreditUsed=Raw("1234567890123456789012345.1800000001")),
        use(12, 3, CreditUsed=Raw("100.1")),
    ]
    written = []
    for form in FORMS:
        out = tmp_path / f"out-{form}"
        run = _cli_audit(_snapshot(tmp_path / form, form, credits, uses), out)
        assert run.returncode == 1, run.stderr
        text = (out / "findings.json").read_text()
        written.append((form, text[text.rindex('"findings": [') :]))
    reference = written[0][1]
    assert '"expected": 1234567890123456789012345.17,' in reference
    assert '"actual": 1234567890123456789012345.1800000001,' in reference
    assert '"expected": 1.0,' in reference and '"actual": 2.0,' in reference  # credit 1
    for form, text in written[1:]:
        assert text == reference, form


def test_json_lines_blocks_keep_exact_amounts_on_every_path(tmp_path, monkeypatch):
    """Many small blocks: exact values in later blocks, in a block that only a second
    pyarrow read takes (a bad integer), in one only ``json`` reads (a line that opens with
    a space), beside amounts of 12 and 40 decimals and a text amount."""
    monkeypatch.setattr(readers, "JSONL_BLOCK", 700)
    credits, uses = [], []
    for n in range(1, 13):
        total, remaining = f"{9007199254740994 + 10 * n}", f"{9007199254740993 + 10 * n}"
        credits.append(credit(n, TotalCredit=Raw(total), RemainingCredit=Raw(remaining)))
        uses.append(use(100 + n, n, CreditUsed=Raw("1")))
    uses[4]["CoworkerBookingCreditId"] = 5  # keeps its parent; the next one's id is odd
    uses[5]["BookingId"] = "77"  # a wrong type: the block is read with text fields only
    uses[7]["CreditUsed"] = Raw("1.000000000000")  # twelve decimals: the wide decimals
    uses[9]["CreditUsed"] = Raw("1." + "0" * 40)  # beyond 38 decimals: json
    uses[11]["CreditUsed"] = "one"  # a text amount: json reads the block
    parsed_by_json = []
    records_to_table = readers.records_to_table
    monkeypatch.setattr(
        readers,
        "records_to_table",
        lambda records: parsed_by_json.append(len(records)) or records_to_table(records),
    )
    snapshot = _snapshot(tmp_path / "snapshot", "jsonl", credits, uses)
    path = snapshot / f"{STEMS['uses']}.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[9] = " " + lines[9]  # valid JSON, but not for pyarrow: json reads this block
    path.write_text("".join(lines))
    result = audit(snapshot)
    assert parsed_by_json  # the json path was taken for some block
    assert outcome(result, "balance_mismatch").findings == 1  # credit 12: its use is "one"
    assert finding(result, "balance_mismatch")["record_id"] == 12
    violations = result.findings[result.findings["rule"] == "schema_violation"]
    assert sorted(violations["field"]) == ["BookingId", "CreditUsed"]


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    digits=st.integers(min_value=16, max_value=30),
    decimals=st.integers(min_value=0, max_value=12),
    seed=st.integers(min_value=0, max_value=10**40),
    form=st.sampled_from(("json", "jsonl", "parquet_decimal")),
)
@example(digits=29, decimals=0, seed=6, form="json")  # past Decimal's 28 default digits
@example(digits=29, decimals=3, seed=6, form="jsonl")
@example(digits=17, decimals=0, seed=0, form="parquet_decimal")  # 99999999999999999
def test_any_long_amount_ties_out_exactly(tmp_path_factory, digits, decimals, seed, form):
    """A total of ``digits`` significant digits less one unit of its last place is what one
    use of that unit leaves: judged clean; a cent more is a mismatch of exactly a cent."""
    with decimal.localcontext() as exact:
        exact.prec = 100  # the test's own arithmetic, not rounded to 28 digits
        unit = Decimal(1).scaleb(-decimals)
        total = Decimal(10 ** (digits - 1) + seed % (9 * 10 ** (digits - 1))).scaleb(-decimals)
        remaining, spent = total - unit, unit + Decimal("0.01")
    directory = tmp_path_factory.mktemp("exact")
    credits, uses = _one_credit(f"{total:f}", f"{remaining:f}", f"{unit:f}")
    clean = audit(_snapshot(directory / "a", form, credits, uses))
    assert outcome(clean, "balance_mismatch").findings == 0
    cent = Decimal("0.01")
    credits, uses = _one_credit(f"{total:f}", f"{remaining:f}", f"{spent:f}")
    found = finding(audit(_snapshot(directory / "b", form, credits, uses)), "balance_mismatch")
    assert Decimal(str(found["actual"])) - Decimal(str(found["expected"])) == cent


def test_exact_numbers_are_json_number_literals_and_read_back_exactly():
    value = money.exact_float("12345678901234567890123.45")
    assert isinstance(value, money.ExactNumber)
    assert money.exact_float("0.1") == 0.1 and type(money.exact_float("0.1")) is float
    assert money.exact_float("0.30000000000000004") == 0.30000000000000004
    text = findings.dumps({"a": value, "b": [money.ExactNumber("9007199254740993.50")]})
    assert text == '{"a": 12345678901234567890123.45, "b": [9007199254740993.5]}'
    assert findings.from_json_text("12345678901234567890123.45") == value


def test_a_close_writes_amounts_beyond_a_double_with_every_digit(tmp_path):
    from closes import row

    from recon.closing import Basis, close_snapshot, parse_period

    credits, uses = _one_credit(
        "1234567890123456789012345.67", "1234567890123456789012344.66", "1.01"
    )
    uses[0]["CreatedOn"] = "2025-03-14T09:00:00Z"
    snapshot = _snapshot(tmp_path / "snapshot", "jsonl", credits, uses)
    month = parse_period("2025-03")
    closed = close_snapshot(snapshot, month, Basis("recorded"), None)
    got = row(closed)
    assert got["issued"] == "1234567890123456789012345.67"
    assert got["used_bookings"] == "1.01"
    assert got["expired"] == "1234567890123456789012344.66"  # lapsed at the end of March


def test_the_workpaper_is_written_beside_ordinary_amounts(tmp_path):
    """A location whose sums no double holds beside one whose sums are ordinary: the
    workpaper is written, its findings sheet with every digit."""
    credits, uses = _one_credit("1234567890123456789012345.67", "1.01", "1.02")
    credits.append(credit(2, BusinessId=2))
    snapshot = _snapshot(tmp_path / "snapshot", "jsonl", credits, uses)
    out = tmp_path / "out"
    command = ["audit", str(snapshot), "--out", str(out), "--as-of", AS_OF, "--format", "xlsx"]
    run = subprocess.run([sys.executable, "-m", "recon", *command], capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    with zipfile.ZipFile(out / "report.xlsx") as book:
        sheets = "".join(
            book.read(name).decode()
            for name in book.namelist()
            if "worksheets/sheet" in name or name.endswith("sharedStrings.xml")
        )
    assert "1234567890123456789012344.66" in sheets  # balance_mismatch's expected


@pytest.mark.parametrize(("used", "clean"), [("1", True), ("2", False)])
def test_a_fetch_keeps_every_digit_the_api_sent(tmp_path, used, clean):
    """A real sandbox on 127.0.0.1 serves the records' own JSON text; recon fetch writes
    the snapshot, and its audit reads the amounts as the API sent them."""
    import os

    from recon.sandbox import Sandbox, SandboxConfig

    credits, uses = _one_credit("9007199254740994", "9007199254740993", used)
    served = _snapshot(tmp_path / "served", "jsonl", credits, uses)
    fetched = tmp_path / "fetched"
    with Sandbox(SandboxConfig(snapshot=served, token="tok", limits="off")) as sandbox:
        command = ["fetch", "--base-url", sandbox.base_url, "--out", str(fetched)]
        done = subprocess.run(
            [sys.executable, "-m", "recon", *command, "--limits", "off"],
            capture_output=True,
            text=True,
            env={**os.environ, "NEXUDUS_TOKEN": "tok"},
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    run = _cli_audit(fetched, tmp_path / "out")
    mismatches = [f for f in _findings_json(tmp_path / "out") if f["rule"] == "balance_mismatch"]
    if clean:
        assert mismatches == [], run.stderr
    else:
        (found,) = mismatches  # as doubles, 2 consumed and 2 used: no finding at all
        assert "9007199254740994.00 GBP - 9007199254740993.00 GBP = 1.00 GBP" in found["message"]


def test_an_incremental_fetch_keeps_the_exact_amounts_of_the_one_before(tmp_path):
    """An earlier fetch's amounts held as JSON text (exact) meet this fetch's doubles: the
    merged file holds both as JSON text, and the loader reads each as it was sent."""
    from recon.entities import CREDIT_USE
    from recon.fetch import writer
    from recon.snapshot import SnapshotFile

    marked = pa.field("CreditUsed", pa.string(), metadata={JSON_TEXT: b"1"})
    existing = pa.table(
        {"Id": pa.array([1, 2]), "CreditUsed": pa.array(["9007199254740993", "1.5"])}
    ).cast(pa.schema([pa.field("Id", pa.int64()), marked]))
    fresh = pa.table({"Id": pa.array([3]), "CreditUsed": pa.array([2.25])})
    merged = writer.merge(existing, fresh)
    assert merged.column("Id").to_pylist() == [1, 2, 3]
    assert merged.schema.field("CreditUsed").metadata == {JSON_TEXT: b"1"}
    path = tmp_path / f"{CREDIT_USE.stem}.parquet"
    pq.write_table(merged, path)
    raw = readers.read(SnapshotFile(CREDIT_USE, path, "parquet"))
    amounts = raw.columns["CreditUsed"]
    amounts = amounts if isinstance(amounts, list) else amounts.to_pylist()
    assert amounts == [9007199254740992.0, 1.5, 2.25]
    assert raw.exact["CreditUsed"] == {0: money.ExactNumber("9007199254740993")}


def test_an_amount_too_small_for_a_double_is_read_alike_from_every_form(tmp_path):
    """pyarrow reads 1e-400 as 0; the JSON Lines reader reads such a line again, so the
    findings are those of the same records read by json, whatever the form."""
    credits, uses = _one_credit("10", "1e-400", "2")
    credits[0]["Description"] = "sent by e-mail"  # a line with 'e-' and no tiny amount
    seen = {}
    for form in ("json", "jsonl"):
        result = audit(_snapshot(tmp_path / form, form, credits, uses))
        seen[form] = result.findings.drop(columns=["row"]).to_dict("records")
    assert seen["json"] == seen["jsonl"]
    (found,) = [f for f in seen["jsonl"] if f["rule"] == "balance_mismatch"]
    assert "0.00 GBP" not in found["message"].split("=")[0]  # 1e-400 is not 0


# A Parquet decimal holds at most 76 digits: 1e-400 is not one.
@pytest.mark.parametrize("form", [form for form in FORMS if form != "parquet_decimal"])
@pytest.mark.parametrize(
    ("used", "non_positive"), [("1e-400", False), ("-1e-400", True), ("0E-400", True)]
)
def test_a_use_too_small_for_a_double_is_judged_by_its_sign_as_sent(
    tmp_path, form, used, non_positive
):
    """1e-400 reads as the float 0.0, yet it is above zero; -1e-400 (the float -0.0)
    and 0E-400 are not."""
    credits, uses = _one_credit("10", "10", used)
    result = audit(_snapshot(tmp_path / "snapshot", form, credits, uses))
    ran = outcome(result, "non_positive_use")
    assert (ran.evaluated, ran.findings) == (1, int(non_positive))
    if non_positive:
        actual = finding(result, "non_positive_use")["actual"]
        assert Decimal(str(actual)) == Decimal(used)


def test_a_change_after_close_past_a_doubles_digits_is_found(tmp_path):
    """9007199254740993 -> 9007199254740992 is the same double; the close compares the
    amounts as sent, so the edit is a change after close, shown with every digit."""
    import recon

    def snapshot(name, total):
        credits, uses = _one_credit(total, "9007199254740990", "1")
        credits[0].update(CreatedOn="2025-09-15T09:00:00Z", ExpireDate=None)
        uses[0]["CreatedOn"] = "2025-10-05T09:00:00Z"
        return _snapshot(tmp_path / name, "jsonl", credits, uses)

    october = snapshot("october", "9007199254740993")
    november = snapshot("november", "9007199254740992")
    recon.close(october, period="2025-10", out=tmp_path / "close-2025-10")
    closed = recon.close(
        november,
        period="2025-11",
        out=tmp_path / "close-2025-11",
        previous=tmp_path / "close-2025-10",
    )
    changes = closed.findings[
        closed.findings["rule"].isin(["changed_after_close", "silent_change"])
    ]
    assert list(changes["record_id"]) == [1]
    (message,) = changes["message"]
    assert "TotalCredit 9007199254740993 -> 9007199254740992" in message


def test_a_close_keeps_amounts_longer_than_pythons_default_decimal_precision(tmp_path):
    """Python's decimals hold 28 digits by default: a 40-digit amount once made recon close
    stop with an internal error. Its bundle now writes it whole."""
    import csv

    import recon

    total = "1234567890123456789012345678901234567890.13"
    credits, uses = _one_credit(total, "1234567890123456789012345678901234567889.12", "1.01")
    uses[0]["CreatedOn"] = "2025-03-14T09:00:00Z"
    snapshot = _snapshot(tmp_path / "snapshot", "jsonl", credits, uses)
    recon.close(snapshot, period="2025-03", out=tmp_path / "bundle")
    with (tmp_path / "bundle" / "rollforward.csv").open() as handle:
        rows = {row["business_id"]: row for row in csv.DictReader(handle)}
    assert rows["total"]["issued"] == total
    assert rows["total"]["used_bookings"] == "1.01"
    assert rows["total"]["expired"] == "1234567890123456789012345678901234567889.12"
    assert total in (tmp_path / "bundle" / "report.md").read_text()
