"""Exact arithmetic on amounts: at a scale as fine as the data needs, never rounded."""

from decimal import Decimal

import numpy as np
from builders import audit_records, credit, finding, found, rules_file, use
from hypothesis import given, settings
from hypothesis import strategies as st

from recon import money


def _units(values, decimals):
    return money.to_units(np.array(values, dtype=float), money.Scale(decimals))


def test_decimals_are_those_of_the_amount_as_sent():
    values = np.array([1.0, 0.1, 59.997, 1.66666667, 0.00004, -0.00001, 1e-30, np.nan, 12.5])
    assert money.decimals_of(values).tolist() == [0, 1, 3, 8, 5, 5, 30, 0, 1]


def test_scale_covers_every_amount_and_the_tolerance():
    assert money.Scale.of([np.array([1.5, 2.25])], 0.005).decimals == 3
    assert money.Scale.of([np.array([1.66666667])], 0.005).decimals == 8
    assert money.Scale.of([np.array([], dtype=float)], 0).decimals == 2  # cents at least


def test_units_make_float_sums_exact_and_order_free():
    assert _units([0.1, 0.2], 2).sum() == _units([0.3], 2)[0]
    assert _units([0.1] * 10, 2).sum() == _units([1.0], 2)[0]
    assert _units([1.66666667] * 200, 8).sum() == 33_333_333_400  # 333.333334 exactly
    assert _units([0.00004] * 1_000, 5).sum() == 4_000  # 0.04, not "0.00"


def test_missing_and_non_finite_are_zero_units():
    assert _units([np.nan, np.inf], 2).tolist() == [0, 0]


def test_amounts_beyond_int64_sums_are_python_integers_and_exact():
    big = _units([9.0e17, 9.0e17, -1.0], 2)
    assert big.dtype == object
    assert sum(big) == 2 * 9 * 10**19 - 100
    tiny = _units([1e-30, 2e-30], 30)
    assert tiny.tolist() == [1, 2]


def test_tolerance_units_and_comparisons_are_exact():
    scale = money.Scale(5)
    assert money.tolerance_units(0.005, scale) == 500
    assert money.exceeds(np.array([505, 500]), 500).tolist() == [True, False]
    huge = money.tolerance_units(1e308, money.Scale(2))
    assert huge == int(Decimal("1e308")) * 100
    assert money.exceeds(np.array([10**18]), huge).tolist() == [False]
    assert money.below(np.array([-(10**18)]), -huge).tolist() == [False]


def test_format_units_shows_the_exact_decimal():
    scale = money.Scale(4)
    units = np.array([400000, 30, -125000, 0, 599970, 5, 1_000_000_000_000])
    assert money.format_units(units, scale).tolist() == [
        "40.00",
        "0.003",
        "-12.50",
        "0.00",
        "59.997",
        "0.0005",
        "100000000.00",
    ]
    assert money.format_units(np.array([6_000_000, 15_000]), scale, min_decimals=0).tolist() == [
        "600",
        "1.5",
    ]
    assert money.format_units(np.array([], dtype=np.int64), scale).tolist() == []
    assert money.format_units(np.array([-1], dtype=object), money.Scale(30)).tolist() == [
        "-0.000000000000000000000000000001"
    ]


# --- the balance rules, on amounts the old four-decimal units got wrong ---------------------


def test_balance_mismatch__many_long_decimals_that_balance_exactly(tmp_path):
    uses = [use(100 + i, 1, CreditUsed=1.66666667) for i in range(200)]
    result = audit_records(
        tmp_path, credits=[credit(1, TotalCredit=333.333334, RemainingCredit=0.0)], uses=uses
    )
    assert found(result, "balance_mismatch") == []
    assert found(result, "overdrawn_credit") == []


def test_balance_mismatch__tiny_uses_are_not_lost(tmp_path):
    uses = [use(100 + i, 1, CreditUsed=0.00004) for i in range(1_000)]
    result = audit_records(
        tmp_path, credits=[credit(1, TotalCredit=1.0, RemainingCredit=1.0)], uses=uses
    )
    # 1,000 x 0.00004 is 0.04 spent while the balance says 0: beyond 0.005.
    hit = finding(result, "balance_mismatch")
    assert "uses sum to 0.04 GBP" in hit["message"] and "(difference -0.04 GBP" in hit["message"]


def test_balance_mismatch__a_difference_of_half_a_cent_and_a_bit_is_found(tmp_path):
    rules = rules_file(tmp_path, "[amounts]\ntolerance = 0.005\n")
    snapshot_records = {
        "credits": [credit(1, TotalCredit=10.0, RemainingCredit=4.99495)],
        "uses": [use(10, 1, CreditUsed=5.0)],
    }
    from builders import audit, write_snapshot

    result = audit(write_snapshot(tmp_path / "s", **snapshot_records), rules=rules)
    hit = finding(result, "balance_mismatch")
    assert "(difference 0.00505 GBP, tolerance 0.005)" in hit["message"]


def test_amounts_of_any_finite_size_are_judged(tmp_path):
    result = audit_records(
        tmp_path,
        credits=[credit(1, TotalCredit=5e15, RemainingCredit=4e15)],
        uses=[use(10, 1, CreditUsed=1e15)],
    )
    assert found(result, "schema_violation") == []
    assert found(result, "balance_mismatch") == []
    result = audit_records(
        tmp_path / "b",
        credits=[credit(1, TotalCredit=1e300, RemainingCredit=0.0)],
        uses=[use(10, 1, CreditUsed=1e300)],
    )
    assert found(result, "schema_violation") == []
    assert found(result, "balance_mismatch") == []


_amount = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda whole, k: round(whole / 7.0, k), st.integers(-(10**9), 10**9), st.integers(0, 17)
    ),
    st.builds(lambda whole, k: whole / 10.0**k, st.integers(-(10**12), 10**12), st.integers(0, 20)),
)


@settings(max_examples=400, deadline=None)
@given(
    columns=st.lists(st.lists(_amount, max_size=40), max_size=4),
    tolerance=st.sampled_from([0.0, 0.005, 0.01, 1e-9, 1e-16, 1e-20, 0.5]),
    least=st.integers(0, 3),
    exact=st.lists(st.decimals(allow_nan=False, allow_infinity=False, places=18), max_size=2),
)
def test_scale_of__matches_the_maximum_of_every_amount_s_decimals(columns, tolerance, least, exact):
    # Scale.of checks only the values not whole at the floor the tolerance sets; the answer
    # must be the plain one: the most decimals any amount, the tolerance or ``least`` needs.
    arrays = [np.array(column, dtype=np.float64) for column in columns]
    plain = max(
        [least, money.decimals_of_number(tolerance)]
        + [int(money.decimals_of(array).max(initial=0)) for array in arrays]
        + [money.decimals_of_exact(value) for value in exact]
    )
    assert money.Scale.of(iter(arrays), tolerance, least=least, exact=exact).decimals == plain


def _plain_float_units(floats: np.ndarray, scale: money.Scale) -> np.ndarray:
    """Units as first written: every temporary made anew, magnitudes tested one by one."""
    finite = np.isfinite(floats)
    safe = np.where(finite, floats, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = safe * float(scale.factor) if scale.decimals <= 300 else np.full_like(safe, np.inf)
    fast = np.abs(scaled) < 2.0**53
    if fast.all():
        units = np.rint(scaled).astype(np.int64)
        if float(np.abs(units).sum(dtype=np.float64)) < 2**62:
            return units
        return units.astype(object)
    units = np.rint(np.where(fast, scaled, 0.0)).astype(np.int64).astype(object)
    for row in np.flatnonzero(~fast):
        units[row] = money._exact_units(float(safe[row]), scale)
    return units


@settings(max_examples=300, deadline=None)
@given(amounts=st.lists(_amount, max_size=40), decimals=st.sampled_from([0, 2, 8, 15, 20, 301]))
def test_to_units__matches_the_plain_computation(amounts, decimals):
    floats = np.array(amounts, dtype=np.float64)
    scale = money.Scale(decimals)
    kept = floats.copy()
    units, plain = money.to_units(floats, scale), _plain_float_units(kept, scale)
    np.testing.assert_array_equal(floats, kept)  # the amounts are not rounded in place
    assert units.dtype == plain.dtype
    assert units.tolist() == plain.tolist()
