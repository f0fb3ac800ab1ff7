"""Strict ISO-8601 parsing and local wall clock."""

import datetime as dt
from itertools import pairwise
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon import datetimes
from recon.datetimes import Zones, localise, parse_iso, parse_with_regex


@pytest.mark.parametrize(
    ("text", "wall", "offset"),
    [
        ("2025-01-31T09:00:00", "2025-01-31T09:00:00", None),
        ("2025-01-31T09:00", "2025-01-31T09:00:00", None),
        ("2025-01-31T09:00:00Z", "2025-01-31T09:00:00", 0),
        ("2025-01-31T09:00:00.5Z", "2025-01-31T09:00:00.500000", 0),
        ("2025-01-31T09:00:00.123456789+01:00", "2025-01-31T09:00:00.123456", 60),
        ("2025-01-31T09:00:00-0530", "2025-01-31T09:00:00", -330),
        ("2025-01-31T09:00:00+02", "2025-01-31T09:00:00", 120),
        ("2024-02-29T00:00:00", "2024-02-29T00:00:00", None),
        ("0001-01-01T00:00:00", "0001-01-01T00:00:00", None),
    ],
)
def test_parse_iso__accepted(text, wall, offset):
    parsed = parse_iso(pa.array([text]))
    assert not parsed.invalid[0]
    assert parsed.wall[0] == np.datetime64(wall)
    assert (int(parsed.offset_minutes[0]) if parsed.has_offset[0] else None) == offset


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-30T10:00:00",
        "2025-02-29T10:00:00",
        "31/12/2025",
        "2025-1-31T09:00:00",
        "2025-01-31",
        "2025-01-31 09:00:00",
        "2025-01-31T24:00:00",
        "2025-01-31T09:60:00",
        "2025-13-01T00:00:00",
        "2025-01-31T09:00:00+25:00",
        "2025-01-31T09:00:00junk",
        "",
        "yesterday",
    ],
)
def test_parse_iso__rejected(text):
    parsed = parse_iso(pa.array([text, "2025-01-31T09:00:00"]))
    assert parsed.invalid.tolist() == [True, False]
    assert np.isnat(parsed.wall[0])


def test_parse_iso__null_is_neither_valid_nor_invalid():
    parsed = parse_iso(pa.array([None], pa.string()))
    assert not parsed.invalid[0] and np.isnat(parsed.wall[0])


def test_parse_iso__z_can_mean_local():
    parsed = parse_iso(
        pa.array(["2025-01-31T09:00:00Z", "2025-01-31T09:00:00+01:00"]), z_is_local=True
    )
    assert parsed.has_offset.tolist() == [False, True]


def test_localise__offsets_go_through_utc_into_each_rows_zone():
    parsed = parse_iso(
        pa.array(
            [
                "2025-03-30T00:30:00Z",
                "2025-03-30T01:30:00Z",
                "2025-07-01T12:00:00+02:00",
                "2025-07-01T12:00:00",
            ]
        )
    )
    zones = Zones(
        np.array([1, 1, 2, 2], dtype=np.int16), ("UTC", "Europe/London", "America/New_York")
    )
    local = localise(parsed, zones)
    # London changes to BST at 01:00 UTC on 30 March; values without offset stay as written.
    assert local.tolist() == [
        np.datetime64("2025-03-30T00:30:00"),
        np.datetime64("2025-03-30T02:30:00"),
        np.datetime64("2025-07-01T06:00:00"),
        np.datetime64("2025-07-01T12:00:00"),
    ]
    assert local.dtype == np.dtype("datetime64[us]")


def _fuzzed(count: int, seed: int) -> list[str]:
    """Strings of the fast path's widths, mostly near-valid, with every kind of defect."""
    rng = np.random.default_rng(seed)
    base = np.datetime64("0001-01-01T00:00:00") + rng.integers(0, 9999 * 365 * 86400, count).astype(
        "timedelta64[s]"
    )
    texts = np.datetime_as_string(base, unit="s").astype(object)
    alphabet = list("0123456789-T:Z +.x")
    out = []
    for text in texts:
        chars = list(text + ("Z" if rng.random() < 0.5 else ""))
        for _ in range(rng.integers(0, 3)):
            chars[rng.integers(0, len(chars))] = alphabet[rng.integers(0, len(alphabet))]
        out.append("".join(chars))
    # Calendar edges the random walk rarely reaches.
    out += [
        "2024-02-29T00:00:00",
        "2025-02-29T00:00:00",
        "2100-02-29T00:00:00",
        "2000-02-29T23:59:59Z",
        "2025-00-10T00:00:00",
        "2025-13-10T00:00:00",
        "2025-04-31T00:00:00",
        "2025-04-30T24:00:00",
        "2025-04-30T23:60:00",
        "2025-04-30T23:59:60",
        "0000-01-01T00:00:00",
        "9999-12-31T23:59:59Z",
    ]
    return out


@pytest.mark.parametrize("z_is_local", [False, True])
def test_fast_path_agrees_with_the_general_path(z_is_local):
    strings = pa.array(_fuzzed(20_000, seed=7))
    fast = parse_iso(strings, z_is_local=z_is_local)
    wall, offset = parse_with_regex(strings, z_is_local=z_is_local)
    assert 0.2 < fast.invalid.mean() < 0.9  # both valid and invalid strings were exercised
    np.testing.assert_array_equal(fast.wall, wall)
    np.testing.assert_array_equal(fast.offset_minutes, offset)


@pytest.mark.parametrize("z_is_local", [False, True])
def test_fast_path_agrees_with_the_general_path__one_string_a_block(z_is_local):
    """Alone in its block, each string takes Arrow's cast unless its separators are off:
    what Arrow accepts and refuses must be what the contract's parser does."""
    strings = _fuzzed(1_500, seed=11)
    fast = [parse_iso(pa.array([text]), z_is_local=z_is_local) for text in strings]
    wall, offset = parse_with_regex(pa.array(strings), z_is_local=z_is_local)
    assert 0.2 < np.mean([parsed.invalid[0] for parsed in fast]) < 0.9
    np.testing.assert_array_equal(np.concatenate([parsed.wall for parsed in fast]), wall)
    np.testing.assert_array_equal(
        np.concatenate([parsed.offset_minutes for parsed in fast]), offset
    )


def test_fast_path__bad_values_leave_the_rest_of_their_block_parsed():
    """Arrow refuses a block with a bad value in it: the pieces are cast again, and the
    answer is the same as the general path's for every string."""
    base = np.datetime64("2025-01-01T00:00:00") + np.arange(50_000).astype("timedelta64[m]")
    strings = [f"{text}Z" for text in np.datetime_as_string(base, unit="s")]
    impossible = {
        7: "2025-02-30T10:00:00Z",
        4_095: "2025-04-31T10:00:00Z",
        4_096: "2025-13-01T10:00:00Z",
        30_001: "2025-01-01T24:00:00Z",
        49_999: "2025-02-29T10:00:00Z",
    }
    for row, text in impossible.items():
        strings[row] = text
    parsed = parse_iso(pa.array(strings))
    wall, offset = parse_with_regex(pa.array(strings), z_is_local=False)
    np.testing.assert_array_equal(parsed.wall, wall)
    np.testing.assert_array_equal(parsed.offset_minutes, offset)
    assert np.flatnonzero(parsed.invalid).tolist() == sorted(impossible)


@settings(max_examples=60, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    nulls=st.lists(st.integers(min_value=0, max_value=399), max_size=20),
    z_is_local=st.booleans(),
)
def test_parse_iso__chunk_by_chunk_is_the_whole_columns_answer(cuts, nulls, z_is_local):
    """A column read in chunks (Parquet row groups, JSON Lines blocks) is parsed chunk by
    chunk: the answer is the one of the same strings in one array, chunk edges anywhere."""
    texts: list[str | None] = list(_fuzzed(388, seed=3))
    for row in nulls:
        texts[row] = None
    edges = sorted({0, len(texts), *(cut for cut in cuts if cut <= len(texts))})
    chunked = pa.chunked_array(
        [pa.array(texts[start:stop], type=pa.string()) for start, stop in pairwise(edges)],
        type=pa.string(),
    )
    whole = parse_iso(pa.array(texts, type=pa.string()), z_is_local=z_is_local)
    # Chunks joined into pieces of at most 37 rows (a larger chunk is a piece alone).
    with mock.patch.object(datetimes, "_BLOCK", 37):
        pieces = parse_iso(chunked, z_is_local=z_is_local)
    np.testing.assert_array_equal(pieces.wall, whole.wall)
    np.testing.assert_array_equal(pieces.offset_minutes, whole.offset_minutes)
    np.testing.assert_array_equal(pieces.invalid, whole.invalid)


def test_parse_iso__a_column_of_no_chunks_is_empty():
    parsed = parse_iso(pa.chunked_array([], type=pa.string()))
    assert len(parsed.wall) == len(parsed.offset_minutes) == len(parsed.invalid) == 0


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
        ),
        max_size=40,
    )
)
@settings(deadline=None)
def test_shown_is_isoformat_to_the_second_or_the_microsecond(values):
    """The reports' form of a date-time, in bulk: what the evidence page gives one value."""
    shown = datetimes.shown(pa.array(values, type=pa.timestamp("us"))).to_pylist()
    assert shown == [
        None if v is None else v.isoformat(timespec="microseconds" if v.microsecond else "seconds")
        for v in values
    ]


@given(
    st.lists(st.integers(-(2**62), 2**62), max_size=50),
    st.integers(-(10**17), 10**17),
    st.sampled_from([1, 10**6, 86_400 * 10**6, 10**14]),
)
@settings(deadline=None)
def test_months_of_is_numpys_month_of_each_value(offsets, start, spread):
    """Values a few days apart (the table) or centuries apart (numpy directly)."""
    bound = 2**62  # well inside datetime64[us], whose extremes numpy also prints as months
    micros = [max(-bound, min(bound, start + (offset % 10**9) * spread)) for offset in offsets]
    times = np.array(micros, dtype=np.int64).astype("datetime64[us]")
    expected = times.astype("datetime64[M]").astype(np.int64)
    assert datetimes.months_of(times).tolist() == expected.tolist()


@given(st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), max_size=70))
@settings(deadline=None)
def test_arrow_of_is_the_column_pyarrow_makes_nat_null(values):
    wall = np.array(
        [np.datetime64("NaT") if v is None else np.datetime64(v, "us") for v in values],
        dtype="datetime64[us]",
    )
    expected = pa.array(wall, type=pa.timestamp("us"), from_pandas=True)
    made = datetimes.arrow_of(wall)
    made.validate(full=True)
    assert made.equals(expected) and made.null_count == expected.null_count


@settings(deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.integers(-(2**62), 2**62),
            st.integers(-(2**42), 2**42).map(lambda seconds: seconds * 1_000_000),  # whole
        ),
        max_size=40,
    )
)
def test_shown_writes_any_year_as_isoformat_does(values):
    """Years beyond 9999 or before 1 (a Parquet timestamp may hold them) as pandas'
    isoformat writes them, not cut to four digits."""
    wall = np.array(
        [np.datetime64("NaT") if v is None else np.datetime64(v, "us") for v in values],
        dtype="datetime64[us]",
    )
    shown = datetimes.shown(pa.array(wall, type=pa.timestamp("us"), from_pandas=True))
    expected = []
    for value in wall:
        moment = None if np.isnat(value) else pd.Timestamp(value)
        expected.append(
            None
            if moment is None
            else moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
        )
    assert shown.to_pylist() == expected


@settings(deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=4),
)
def test_timestamps_of_a_chunked_column_is_each_value_nat_for_null(values, cuts):
    edges = sorted({0, len(values), *(cut % (len(values) + 1) for cut in cuts)})
    whole = pa.array(values, pa.timestamp("us"))
    chunked = pa.chunked_array([whole.slice(a, b - a) for a, b in pairwise(edges)], whole.type)
    micros = datetimes.timestamps_of(chunked)
    assert micros.dtype == np.dtype("datetime64[us]")
    expected = [np.datetime64("NaT") if v is None else np.datetime64(v, "us") for v in values]
    assert micros.tolist() == np.array(expected, dtype="datetime64[us]").tolist()
