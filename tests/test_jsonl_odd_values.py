"""JSON Lines holding values of the wrong JSON type, at random places: the block reader's
fast path (odd lines found in bulk and set apart, the rest read typed by pyarrow) types
and judges every record exactly as reading each line with ``json`` does.

Small blocks, so that many blocks, block edges, pieces and the search before the typed
read (once a block held an odd line) are all exercised.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from recon import datetimes, readers, schemas
from recon.entities import ENTITIES
from recon.fields import FIELDS
from recon.snapshot import SnapshotFile

USE = ENTITIES[1]

_GOOD = {
    "Id": st.integers(1, 10**9),
    "CoworkerBookingCreditId": st.integers(1, 10**6),
    "CreditUsed": st.one_of(
        st.integers(0, 10**6),
        st.floats(0, 1e6, allow_nan=False).map(lambda x: round(x, 2)),
        st.sampled_from(["12345678901234567.5", "9007199254740993"]).map(json.loads),
    ),
    "BookingId": st.one_of(st.none(), st.integers(-(10**18), 10**18)),
    "UniqueId": st.uuids().map(str),
    "CreatedOn": st.sampled_from(["2025-01-02T09:00:00Z", "2025-03-04T10:11:12Z"]),
    "UpdatedOn": st.sampled_from(["2025-01-02T09:00:00Z", "2025-05-06T07:08:09Z"]),
    "Description": st.one_of(st.none(), st.text(max_size=12)),
    "IsNew": st.one_of(st.none(), st.booleans()),
    "Extra": st.integers(0, 9),
}

_ODD = st.one_of(
    st.sampled_from(["12,50", "n/a", "", "7", "2025-02-30T10:00:00Z", "yesterday"]),
    st.booleans(),
    st.sampled_from([{"Id": 2000123}, [1, 2], {}, [], 5.0, -0.5, 1e300, 10**19, 12, -3]),
    st.text(max_size=6),
)
"""Values some declared field does not take (and some it does, written another way)."""


@st.composite
def _lines(draw) -> list[str]:
    count = draw(st.integers(1, 60))
    lines = []
    for _ in range(count):
        record = {name: draw(values) for name, values in _GOOD.items()}
        for name in draw(st.sets(st.sampled_from(sorted(_GOOD)), max_size=2)):
            if draw(st.integers(0, 3)) == 0:
                record[name] = draw(_ODD)
        compact = draw(st.booleans())
        lines.append(json.dumps(record, separators=(",", ":") if compact else None))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), "")  # a blank line holds no record
    return lines


def _typed(raw: readers.RawTable) -> tuple[pd.DataFrame, pd.DataFrame]:
    coerced = schemas.coerce(USE, raw, z_is_local=frozenset())
    schemas.localise_datetimes(coerced, datetimes.Zones.uniform(coerced.num_rows, "UTC"))
    typed = schemas.validate(coerced)
    exact = {
        name: {row: str(value) for row, value in rows.items()} for name, rows in typed.exact.items()
    }
    return typed.frame, typed.violations.assign(exact=[exact] * len(typed.violations))


def _by_json(lines: list[str]) -> readers.RawTable:
    records = [json.loads(line, parse_float=readers.exact_float) for line in lines if line]
    return readers._exact_amounts(readers.records_to_table(records), USE)


@settings(
    max_examples=150,
    phases=[Phase.explicit, Phase.generate],
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(lines=_lines(), block_size=st.sampled_from([300, 700, 2000, 1 << 20]))
@example(lines=['{"Id": 1, "CreditUsed": true}', '{"Id": 2, "CreditUsed": 1.5}'], block_size=300)
def test_odd_values_anywhere_read_as_json_reads_them(tmp_path_factory, lines, block_size):
    path = Path(tmp_path_factory.mktemp("odd")) / f"{USE.stem}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast = readers.read(SnapshotFile(USE, path, "jsonl"), block_size=block_size)
    frame, violations = _typed(fast)
    expected_frame, expected_violations = _typed(_by_json(lines))
    # Declared fields; a free field of mixed types is read per block by pyarrow in both
    # readers' ways (an int beside a float in one block is a float), which is not this test.
    declared = [spec.name for spec in FIELDS[USE]]
    pd.testing.assert_frame_equal(frame[declared], expected_frame[declared])
    pd.testing.assert_frame_equal(violations, expected_violations)


@pytest.mark.parametrize(
    ("value", "wrong"),
    [
        ("12.5", ["BookingId", "CreditUsed"]),
        (True, ["BookingId", "CreditUsed"]),
        (False, ["BookingId", "CreditUsed"]),
        ({"Id": 1}, ["BookingId", "CreditUsed"]),
        ([1], ["BookingId", "CreditUsed"]),
        ("n/a", ["BookingId", "CreditUsed"]),
        (5.5, ["BookingId"]),  # an amount, not an integer
        (10**19, ["BookingId"]),  # beyond int64, an amount all the same
    ],
)
def test_an_odd_amount_or_id_is_one_violation_never_coerced(tmp_path, value, wrong):
    lines = [json.dumps({"Id": n, "CreditUsed": 1.5, "BookingId": n}) for n in range(1, 200)]
    lines[150] = json.dumps({"Id": 151, "CreditUsed": value, "BookingId": value})
    path = tmp_path / f"{USE.stem}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    frame, violations = _typed(readers.read(SnapshotFile(USE, path, "jsonl"), block_size=1000))
    violations = violations[violations["reason"] == "type"]
    assert violations["row"].tolist() == [150] * len(wrong)
    assert violations["field"].tolist() == wrong
    assert violations["actual"].tolist() == [schemas._plain(value)] * len(wrong)
    assert frame["CreditUsed"].iloc[149] == 1.5
    if "CreditUsed" in wrong:
        assert pd.isna(frame["CreditUsed"].iloc[150])


def test_a_declared_key_nested_in_a_free_field_does_not_send_later_blocks_the_slow_way(
    tmp_path, monkeypatch
):
    # Once BookingId held an odd value, later blocks are searched for it first; a free
    # object holding a "BookingId" string on every line matches that search everywhere,
    # yet those blocks hold nothing odd and pyarrow reads them typed (about 20 blocks).
    lines = [
        json.dumps({"Id": n, "CreditUsed": 1.5, "BookingId": n, "Meta": {"BookingId": "x"}})
        for n in range(1, 300)
    ]
    lines[2] = json.dumps({"Id": 3, "CreditUsed": 1.5, "BookingId": "B-3", "Meta": {}})
    path = tmp_path / f"{USE.stem}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    slow = []
    refused = readers._read_refused
    monkeypatch.setattr(readers, "_read_refused", lambda *a: slow.append(1) or refused(*a))
    frame, violations = _typed(readers.read(SnapshotFile(USE, path, "jsonl"), block_size=2000))
    assert len(slow) <= 1  # the block holding B-3, where the search names every line
    violations = violations[violations["reason"] == "type"]
    assert violations[["row", "field", "actual"]].values.tolist() == [[2, "BookingId", "B-3"]]
    assert frame["BookingId"].iloc[298] == 299


def test_a_free_field_of_wide_integers_in_one_block_and_floats_in_another_is_kept(tmp_path):
    # Merging int64 and float64 blocks casts the integers to floats, which pyarrow refuses
    # beyond 2**53: such a free field is kept as JSON text, every digit, not a traceback.
    lines = [json.dumps({"Id": n, "CreditUsed": 1.5, "Note": 2**53 + n}) for n in range(1, 40)]
    lines += [json.dumps({"Id": n, "CreditUsed": 1.5, "Note": 0.5}) for n in range(40, 80)]
    path = tmp_path / f"{USE.stem}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    frame, _ = _typed(readers.read(SnapshotFile(USE, path, "jsonl"), block_size=1500))
    assert frame["Note"].iloc[0] == str(2**53 + 1) and frame["Note"].iloc[-1] == "0.5"


@given(
    lines=_lines(),
    names=st.sets(st.sampled_from(sorted(set(_GOOD) - {"Extra"})), min_size=1),
    trailing=st.booleans(),
)
@settings(deadline=None)
def test_the_keyed_search_names_the_lines_pythons_re_finds(lines, names, trailing):
    """Arrow's RE2 over every line at once finds the lines that Python's re finds line by
    line, with each line's first byte and the byte after its last."""
    import re

    from recon.odd_lines import _key_pattern, keyed_odd_lines

    block = ("\n".join(lines) + ("\n" if trailing else "")).encode()
    patterns = [re.compile(_key_pattern(USE, name).encode()) for name in names]
    expected, start = [], 0
    for index, line in enumerate(block.split(b"\n")[: len(lines)]):
        if any(pattern.search(line) for pattern in patterns):
            expected.append((index, start, start + len(line)))
        start += len(line) + 1
    assert keyed_odd_lines(bytearray(block), USE, names) == expected
    assert keyed_odd_lines(bytearray(block), USE, names | {"NotAField"}) is None
