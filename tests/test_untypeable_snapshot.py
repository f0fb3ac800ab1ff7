"""Values pyarrow cannot type, as the benchmark generator plants them (issue 12).

``benchmarks/make_snapshot.py --untypeable`` writes a JSON Lines snapshot where some
records hold a string or ``true`` in an amount, an impossible or malformed date-time,
or an object or text in an integer field. The real generator and the real CLI, in
subprocesses: each planted value is a ``schema_violation`` on its record and field,
nothing else changes, and nothing crashes.
"""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from builders import STEMS, credit, use, write_file

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "benchmarks" / "make_snapshot.py"
AS_OF = "2025-12-31T00:00:00Z"


def _generate(out: Path, *extra: str) -> dict:
    subprocess.run(
        [
            *(sys.executable, str(GENERATOR), "--credits", "300", "--uses", "2000"),
            *("--out", str(out), "--format", "jsonl", *extra),
        ],
        check=True,
        capture_output=True,
    )
    return json.loads((out / "planted.json").read_text(encoding="utf-8"))


def _audit(snapshot: Path, out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "recon", "audit", str(snapshot), "--out", str(out)),
            *("--as-of", AS_OF, "--format", "json", "-q"),
        ],
        capture_output=True,
        text=True,
    )
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return done, document


@pytest.fixture(scope="module")
def untypeable(tmp_path_factory):
    """A generated snapshot with 2% of its credits and uses holding an untypeable value,
    the same seed without them, and both audits."""
    root = tmp_path_factory.mktemp("untypeable")
    planted = _generate(root / "bad", "--untypeable", "0.02")
    clean_planted = _generate(root / "clean")
    done, document = _audit(root / "bad", root / "out-bad")
    clean_done, clean_document = _audit(root / "clean", root / "out-clean")
    return {
        "root": root,
        "planted": planted,
        "clean_planted": clean_planted,
        "done": done,
        "findings": document,
        "clean_done": clean_done,
        "clean_findings": clean_document,
    }


def test_the_generator_plants_every_kind_of_untypeable_value(untypeable):
    planted = untypeable["planted"]["untypeable"]
    assert planted["values"] == sum(
        count for fields in planted["by_field"].values() for count in fields.values()
    )
    uses = untypeable["root"] / "bad" / f"{STEMS['uses']}.jsonl"
    values = Counter()
    for line in uses.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        for name in ("CreditUsed", "BookingId"):
            value = record[name]
            if value is not None and (
                isinstance(value, bool | str | dict) or not isinstance(value, int | float)
            ):
                values[(name, type(value).__name__)] += 1
    # Strings and true in amounts, objects and text in integers, all in the file itself.
    assert values[("CreditUsed", "str")] and values[("CreditUsed", "bool")]
    assert values[("BookingId", "dict")] and values[("BookingId", "str")]
    assert sum(values.values()) == (
        planted["by_field"]["CoworkerBookingCreditUseHistory"]["CreditUsed"]
        + planted["by_field"]["CoworkerBookingCreditUseHistory"]["BookingId"]
    )


def test_each_planted_value_is_a_schema_violation_naming_its_field(untypeable):
    done, document = untypeable["done"], untypeable["findings"]
    assert done.returncode == 1, done.stderr  # error findings; 2 or a traceback would be a crash
    assert "Traceback" not in done.stderr
    found = {
        (finding["entity"], finding["record_id"], finding["field"])
        for finding in document["findings"]
        if finding["rule"] == "schema_violation"
    }
    planted = untypeable["planted"]["untypeable"]["record_ids"]
    expected = {
        (entity, record_id, field)
        for entity, fields in planted.items()
        for field, ids in fields.items()
        for record_id in ids
    }
    assert len(expected) == untypeable["planted"]["untypeable"]["values"] > 20
    assert expected <= found, sorted(expected - found)[:5]


def test_findings_are_exactly_what_was_planted(untypeable):
    """Per rule, and schema_violation per entity and field: the untypeable values add their
    violations and nothing else (no balance broken, no other rule disturbed)."""
    planted, document = untypeable["planted"], untypeable["findings"]
    by_rule = {rule: count for rule, count in document["summary"]["by_rule"].items() if count}
    assert by_rule == {rule: count for rule, count in planted["expected_by_rule"].items() if count}
    per_field = Counter(
        (finding["entity"], finding["field"])
        for finding in document["findings"]
        if finding["rule"] == "schema_violation"
    )
    expected = Counter(
        {
            (entity, field): count
            for entity, fields in planted["expected_schema_violations_by_field"].items()
            for field, count in fields.items()
            if count
        }
    )
    assert per_field == expected


def test_without_the_option_the_same_seed_gives_the_clean_snapshot(untypeable):
    clean = untypeable["clean_findings"]["summary"]["by_rule"]
    bad = untypeable["findings"]["summary"]["by_rule"]
    added = untypeable["planted"]["untypeable"]["values"]
    assert untypeable["clean_done"].returncode == 1
    assert bad["schema_violation"] - clean["schema_violation"] == added
    assert {k: v for k, v in bad.items() if k != "schema_violation"} == {
        k: v for k, v in clean.items() if k != "schema_violation"
    }
    assert untypeable["clean_planted"]["untypeable"]["values"] == 0


def test_parquet_cannot_hold_untypeable_values(tmp_path):
    done = subprocess.run(
        [
            *(sys.executable, str(GENERATOR), "--credits", "100", "--uses", "100"),
            *("--out", str(tmp_path), "--format", "parquet", "--untypeable", "0.01"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "--untypeable needs --format jsonl" in done.stderr


@pytest.mark.parametrize("form", ["jsonl", "json", "envelope"])
def test_true_among_numbers_is_a_schema_violation(tmp_path, form):
    # Read by json, [12.5, true] would become the numbers [12.5, 1.0] in pyarrow.
    write_file(tmp_path, STEMS["credits"], [credit(1, RemainingCredit=80.0)], form)
    uses = [use(10, 1), use(11, 1, CreditUsed=True), use(12, 1, CreditUsed=10.0)]
    write_file(tmp_path, STEMS["uses"], uses, form)
    done, document = _audit(tmp_path, tmp_path / "out")
    assert done.returncode == 1, done.stderr
    found = [
        (finding["record_id"], finding["field"])
        for finding in document["findings"]
        if finding["rule"] == "schema_violation"
    ]
    assert found == [(11, "CreditUsed")]
