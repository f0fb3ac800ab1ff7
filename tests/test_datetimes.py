"""Strict ISO-8601 parsing and local wall clock."""

import numpy as np
import pyarrow as pa
import pytest

from recon.datetimes import localise, parse_iso


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
    zones = np.array(
        ["Europe/London", "Europe/London", "America/New_York", "America/New_York"], dtype=object
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
