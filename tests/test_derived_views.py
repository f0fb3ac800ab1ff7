"""The fast paths of ``recon.derived`` held to their plain meaning on generated columns.

Each fast path (a table indexed by value, 32-bit folds of fingerprints, a check on whole
Arrow arrays) is compared with the obvious pandas or Python computation of the same
thing, on columns with nulls, repeats, several chunks and varying widths.
"""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recon.rows
from recon.byte_matrix import fingerprints, fixed_width_bytes
from recon.derived import NO_ROW, present, take, value_counts_per_row
from recon.rows import at_rows, frame_at

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _series(values: list, arrow_type: pa.DataType, cuts: list[int]) -> pd.Series:
    """``values`` as an Arrow-backed Series split into chunks at ``cuts``."""
    edges = sorted({0, len(values), *(cut % (len(values) + 1) for cut in cuts)})
    # Slices of one array, as Arrow's readers give them: each chunk starts at an offset.
    whole = pa.array(values, arrow_type)
    chunks = [whole.slice(a, b - a) for a, b in itertools.pairwise(edges)]
    array = pa.chunked_array(chunks, arrow_type)
    return pd.Series(pd.arrays.ArrowExtensionArray(array))


def _plain_counts(values: list) -> list[int]:
    present = [value for value in values if value is not None]
    return [0 if value is None else present.count(value) for value in values]


_chunk_cuts = st.lists(st.integers(0, 200), max_size=4)


@PROPERTY
@given(
    base=st.sampled_from([0, 50_000_001, -(2**63), 2**62]),
    spread=st.sampled_from([3, 40, 10**6, 2**40]),
    offsets=st.lists(st.one_of(st.none(), st.integers(0, 60)), max_size=120),
    cuts=_chunk_cuts,
)
def test_value_counts_per_row__integers_match_plain_counting(base, spread, offsets, cuts):
    # Dense and sparse ranges, at the edges of int64, with nulls and repeats.
    values = [
        None if o is None else max(-(2**63), min(2**63 - 1, base + o * spread)) for o in offsets
    ]
    counts = value_counts_per_row(_series(values, pa.int64(), cuts))
    assert counts.tolist() == _plain_counts(values)


@PROPERTY
@given(
    values=st.lists(st.one_of(st.none(), st.integers(0, 2**64 - 1)), max_size=60), cuts=_chunk_cuts
)
def test_value_counts_per_row__unsigned_64_bit(values, cuts):
    values = values + values[: len(values) // 3]  # some repeats
    counts = value_counts_per_row(_series(values, pa.uint64(), cuts))
    assert counts.tolist() == _plain_counts(values)


@PROPERTY
@given(
    width=st.integers(0, 40),
    picks=st.lists(st.one_of(st.none(), st.integers(0, 30)), max_size=120),
    alphabet=st.sampled_from(["ab", "0123456789abcdef-", "é€x"]),
    ragged=st.booleans(),
    cuts=_chunk_cuts,
    large=st.booleans(),
)
def test_value_counts_per_row__strings_match_plain_counting(
    width, picks, alphabet, ragged, cuts, large
):
    # A small pool of strings, so values repeat; one width (the fingerprint path) or
    # several (the hashed path); multi-byte characters make byte widths differ too.
    rng = np.random.default_rng(width * 7 + len(picks))
    pool = [
        "".join(rng.choice(list(alphabet), size=width + (i % 3 if ragged else 0)))
        for i in range(31)
    ]
    values = [None if pick is None else pool[pick] for pick in picks]
    arrow_type = pa.large_string() if large else pa.string()
    counts = value_counts_per_row(_series(values, arrow_type, cuts))
    assert counts.tolist() == _plain_counts(values)


def test_value_counts_per_row__uuids_with_planted_repeats():
    # Enough rows that 32-bit folds of distinct UUIDs collide (about n**2 / 2**33 pairs):
    # those suspects must still be counted once each.
    rng = np.random.default_rng(12)
    digits = np.array(list("0123456789abcdef"))
    raw = digits[rng.integers(0, 16, size=(200_000, 32))]
    values = ["".join(row) for row in raw]
    for target, source in zip(
        rng.integers(0, len(values), 300), rng.integers(0, 200_000, 300), strict=True
    ):
        values[target] = values[source]
    for target in rng.integers(0, len(values), 50):
        values[target] = None
    series = _series(values, pa.string(), [50_000, 120_000])
    present = pd.Series([value for value in values if value is not None])
    counts = present.value_counts()
    expected = [0 if value is None else int(counts[value]) for value in values]
    assert value_counts_per_row(series).tolist() == expected


def _plain_fingerprints(matrix: np.ndarray) -> np.ndarray:
    """The fingerprint as first written: zero-padded 8-byte words, copied column by column."""
    mix = np.uint64(0x9E3779B97F4A7C15)
    rows, width = matrix.shape
    result = np.full(rows, width, dtype=np.uint64)
    for start in range(0, width, 8):
        chunk = np.ascontiguousarray(matrix[:, start : start + 8])
        if chunk.shape[1] < 8:
            chunk = np.pad(chunk, ((0, 0), (0, 8 - chunk.shape[1])))
        result = (result ^ chunk.view("<u8").ravel()) * mix
        result ^= result >> np.uint64(29)
    return result


@PROPERTY
@given(
    rows=st.integers(0, 40),
    width=st.integers(0, 41),
    skip=st.integers(0, 3),
    seed=st.integers(0, 99),
)
def test_fingerprints__match_the_padded_word_definition(rows, width, skip, seed):
    rng = np.random.default_rng(seed)
    wide = rng.integers(0, 256, size=(rows, width + skip), dtype=np.uint8)
    matrix = wide[:, skip:]  # a view that is not contiguous when skip > 0
    assert fingerprints(matrix).tolist() == _plain_fingerprints(matrix).tolist()


@PROPERTY
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=1, max_size=60),
    picks=st.lists(st.integers(0, 10**6), max_size=20),
    cuts=_chunk_cuts,
    kind=st.sampled_from(["string", "binary", "label"]),
)
def test_at_rows__is_iloc(values, picks, cuts, kind):
    # Rows in any order, repeated, from a column of several chunks; labels (fields.LABELS)
    # are text held as a dictionary.
    binary = kind == "binary"
    arrow_type = {
        "string": pa.string(),
        "binary": pa.binary(),
        "label": pa.dictionary(pa.int32(), pa.string()),
    }[kind]
    data = [None if v is None else (v.encode() if binary else v) for v in values]
    series = _series(data, arrow_type, cuts)
    rows = np.array([pick % len(values) for pick in picks], dtype=np.int64)
    taken, expected = at_rows(series, rows), series.iloc[rows]
    assert taken.dtype == expected.dtype
    assert taken.index.tolist() == expected.index.tolist()
    assert taken.tolist() == expected.tolist()


@PROPERTY
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=1),
    picks=st.lists(st.integers(0, 10**6), max_size=8),
    cuts=_chunk_cuts,
    kind=st.sampled_from([pa.int64(), pa.float64(), pa.timestamp("us")]),
    chunkwise=st.booleans(),
)
def test_at_rows__is_iloc_for_other_types(values, picks, cuts, kind, chunkwise):
    # Few rows of a chunked integer, float or timestamp column are taken chunk by chunk,
    # many in one take: both are iloc. The threshold is moved so that small columns take
    # either way.
    # Floats as the integers' sevenths; timestamps within the years Python's datetime has.
    shaped = {pa.float64(): lambda v: v / 7, pa.timestamp("us"): lambda v: v % 2**57}
    data = [None if v is None else shaped.get(kind, int)(v) for v in values]
    series = _series(data, kind, cuts)
    rows = np.array([pick % len(values) for pick in picks], dtype=np.int64)
    with mock.patch.object(recon.rows, "_FEW_ROWS", 0 if chunkwise else 10**9):
        taken = at_rows(series, rows)
    expected = series.iloc[rows]
    assert taken.dtype == expected.dtype
    assert taken.index.tolist() == expected.index.tolist()
    assert taken.isna().tolist() == expected.isna().tolist()
    assert taken.dropna().tolist() == expected.dropna().tolist()


def test_present__blank_is_what_trimming_whitespace_leaves_empty():
    # Every code point alone, after text and between spaces: ``present`` tests blankness
    # with utf8_is_space; its meaning is "trimmed of whitespace, something is left".
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    values = points + [p + " " for p in points] + [" x" + p for p in points]
    values += ["", None, "  ", "\u3000\u2028\t", "a\u00a0"]
    series = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([values[:7], values[7:]])))
    trimmed = pc.utf8_trim_whitespace(pa.array(values))
    expected = pc.fill_null(pc.not_equal(trimmed, ""), False).to_numpy(zero_copy_only=False)
    assert (present(series) == expected).all()
    assert not expected.all() and expected.any()
    # The same text held as labels (fields.LABELS): a dictionary per chunk.
    labels = pa.chunked_array(
        [pa.array(part).dictionary_encode() for part in (values[:7], values[7:])]
    )
    assert (present(pd.Series(pd.arrays.ArrowExtensionArray(labels))) == expected).all()


_cell = st.one_of(st.none(), st.sampled_from(["", " ", "\t\u3000", "x", " y "]))


@PROPERTY
@given(
    kind=st.sampled_from(["string", "label", "int64", "bool"]),
    cells=st.lists(
        st.tuples(_cell, st.integers(-1, 2), st.booleans(), st.integers(0, 9)), max_size=80
    ),
    cuts=_chunk_cuts,
)
def test_set_where__is_the_mask_and_is_set(kind, cells, cuts):
    # Few candidates (the judged-row path) and many (the whole-column path) alike.
    from recon.checks.links import _is_set, _set_where

    if kind == "string":
        values, arrow_type = [c[0] for c in cells], pa.string()
    elif kind == "label":  # text held as a dictionary (fields.LABELS)
        values, arrow_type = [c[0] for c in cells], pa.dictionary(pa.int32(), pa.string())
    elif kind == "int64":
        values, arrow_type = [None if c[0] is None else c[1] for c in cells], pa.int64()
    else:
        values, arrow_type = [None if c[0] is None else c[2] for c in cells], pa.bool_()
    series = _series(values, arrow_type, cuts)
    where = np.array([c[3] < 2 for c in cells], dtype=bool)  # sparse: both paths
    assert (_set_where(series, where) == (where & _is_set(series))).all()


@given(
    values=st.lists(st.integers(-(2**40), 2**40), max_size=30),
    picks=st.lists(st.integers(0, 1000), max_size=40),
    fill=st.integers(-5, 5),
)
@settings(deadline=None)
def test_take_is_each_rows_value_or_the_fill_for_no_row(values, picks, fill):
    array = np.array(values, dtype=np.int64)
    rows = np.array(
        [NO_ROW if not values or pick % 4 == 0 else pick % len(values) for pick in picks],
        dtype=np.int64,
    )
    expected = [fill if row == NO_ROW else values[row] for row in rows.tolist()]
    taken = take(array, rows, fill)
    assert taken.dtype == array.dtype and taken.tolist() == expected
    # A new array: writing into it leaves the view it came from as it was.
    if len(taken):
        taken[:] = fill + 1
        assert array.tolist() == values


@given(
    texts=st.lists(st.one_of(st.none(), st.text("ab0-:", min_size=0, max_size=4)), max_size=40),
    width=st.integers(1, 4),
    start=st.integers(0, 5),
    large=st.booleans(),
)
@settings(deadline=None)
def test_fixed_width_bytes__are_the_bytes_of_the_rows_of_that_width(texts, width, start, large):
    """Rows back to back (a view) or not (one of another width between them), of a slice."""
    array = pa.array(texts, pa.large_string() if large else pa.string()).slice(start)
    values = array.to_pylist()
    rows = np.array([i for i, v in enumerate(values) if v is not None and len(v) == width])
    matrix = fixed_width_bytes(array, rows.astype(np.int64), width)
    assert matrix.shape == (len(rows), width)
    assert [bytes(row).decode() for row in matrix] == [values[i] for i in rows.tolist()]


@PROPERTY
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=1, max_size=60),
    picks=st.lists(st.integers(0, 10**6), max_size=20),
    cuts=_chunk_cuts,
)
def test_frame_at__is_iloc(values, picks, cuts):
    """Every column of a frame (chunked text, Arrow integers, numpy floats) at any rows."""
    frame = pd.DataFrame(
        {
            "text": _series(values, pa.string(), cuts).array,
            "number": pd.array(range(len(values)), dtype="int64[pyarrow]"),
            "float": np.arange(len(values), dtype=float) / 3,
        },
        index=pd.RangeIndex(len(values)) + 5,
    )
    assert frame["text"].fillna("∅").tolist() == [("∅" if v is None else v) for v in values]
    rows = np.array([pick % len(values) for pick in picks], dtype=np.int64)
    pd.testing.assert_frame_equal(frame_at(frame, rows), frame.iloc[rows])
