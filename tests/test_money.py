"""Exact arithmetic on float amounts."""

import numpy as np

from recon import money


def test_units_make_float_sums_exact():
    assert money.to_units(np.array([0.1, 0.2])).sum() == money.to_units(np.array([0.3]))[0]
    assert money.to_units(np.array([0.1] * 10)).sum() == money.to_units(np.array([1.0]))[0]


def test_units_are_the_nearest_ten_thousandth():
    amounts = np.array([0.00004, 0.00006, 59.997, -12.5, 19.99 * 3])
    assert money.to_units(amounts).tolist() == [0, 1, 599970, -125000, 599700]


def test_missing_and_non_finite_are_zero_units():
    assert money.to_units(np.array([np.nan, np.inf])).tolist() == [0, 0]


def test_tolerance_units():
    assert money.tolerance_units(0.005) == 50
    assert money.tolerance_units(0) == 0


def test_format_units():
    units = np.array([400000, 30, -125000, 0, 599970, 5, 1_000_000_000_000])
    assert money.format_units(units).tolist() == [
        "40.00",
        "0.003",
        "-12.50",
        "0.00",
        "59.997",
        "0.0005",
        "100000000.00",
    ]
    assert money.format_units(np.array([6_000_000, 15_000]), min_decimals=0).tolist() == [
        "600",
        "1.5",
    ]
    assert money.format_units(np.array([], dtype=np.int64)).tolist() == []
