"""The chart's sums by month held to a plain Python sum, on generated uses."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.report.charts import _sum_by_month

_use = st.tuples(
    st.integers(0, 3),  # currency code
    st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 12, 31)),
    st.one_of(st.integers(-(10**6), 10**6), st.integers(-(2**62), 2**62)),
    st.booleans(),  # masked in
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uses=st.lists(_use, max_size=40), as_objects=st.booleans(), near=st.booleans())
def test_sums_by_month_are_exact(uses, as_objects, near):
    if near:  # all in a few days: the by-day path, whatever the amounts
        uses = [
            (c, dt.datetime(2025, 1, 30) + dt.timedelta(hours=i), u, m)
            for i, (c, _, u, m) in enumerate(uses)
        ]
    codes = np.array([u[0] for u in uses], dtype=np.int64)
    times = np.array([np.datetime64(u[1], "us") for u in uses], dtype="datetime64[us]")
    # recon.money gives int64 units only where every sum of them fits (else Python ints).
    as_objects = as_objects or sum(abs(u[2]) for u in uses) >= 2**62
    units = np.array([u[2] for u in uses], dtype=object if as_objects else np.int64)
    mask = np.array([u[3] for u in uses], dtype=bool)
    expected: dict[tuple[int, int], int] = defaultdict(int)
    for code, moment, amount, kept in uses:
        if kept:
            expected[code, (moment.year - 1970) * 12 + moment.month - 1] += amount
    got = _sum_by_month(codes, times, units, mask)
    assert {(int(c), int(m)): int(v) for (c, m), v in got.items()} == dict(expected)
