"""The client-side rate limiter, on a fake clock."""

import itertools

import pytest

from recon.fetch.limits import DOCUMENTED, RateLimiter, Window


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _send_times(windows, count):
    clock = FakeClock()
    limiter = RateLimiter(windows, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(count):
        limiter.acquire()
        times.append(clock.now)
    return times


def _most_in_any(times, seconds):
    return max(sum(1 for other in times if start <= other < start + seconds) for start in times)


def test_documented_limits_are_never_exceeded_and_nearly_reached():
    times = _send_times(DOCUMENTED, 300)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.1
    assert _most_in_any(times, 60.0) <= 120
    # 300 requests: two full minutes of 120, then 60 more; the margin costs about 1%.
    assert times[-1] == pytest.approx(2 * 60.61 + 59 * 0.12, rel=0.02)


def test_a_burst_window_alone():
    times = _send_times([Window(3, 1.0)], 7)
    assert times[:3] == [0.0, 0.0, 0.0]
    assert _most_in_any(times, 1.0) <= 3 and times[3] == pytest.approx(1.02)  # 20 ms margin


def test_defer_holds_every_caller_back():
    clock = FakeClock()
    limiter = RateLimiter([], clock=clock, sleep=clock.sleep)
    limiter.defer(5.0)
    assert limiter.acquire() == pytest.approx(5.0)
    assert limiter.acquire() == 0.0
