"""Client-side rate limiting to the API's documented limits, so throttling is the exception.

Nexudus allows every caller 1 request per 100 ms, 120 per minute, 5,000 per
hour and 200,000 per day; writes 60 per minute and 5,000 per day. The limiter
keeps a sliding window per limit and hands out send times that respect all of
them at once; threads reserve a time under a lock and sleep outside it. A
small margin absorbs the jitter between when we send and when the server
counts. After a throttled answer (409/429) ``defer`` holds every thread back.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """At most ``requests`` in any ``seconds``."""

    requests: int
    seconds: float


DOCUMENTED: tuple[Window, ...] = (
    Window(1, 0.1),
    Window(120, 60.0),
    Window(5_000, 3_600.0),
    Window(200_000, 86_400.0),
)
DOCUMENTED_WRITES: tuple[Window, ...] = (Window(60, 60.0), Window(5_000, 86_400.0))

MARGIN = 0.01
"""Each window is held 1% longer than documented, and at least ``MIN_MARGIN`` more."""
MIN_MARGIN = 0.02
"""Seconds: a request paced 100 ms after another can reach the API less than 100 ms after
it when the first one was held up on its way (a busy interpreter, a slow connection);
10 ms was seen to provoke an occasional 409."""


class RateLimiter:
    """Send times that keep within every window; ``acquire`` blocks until the caller may send."""

    def __init__(
        self,
        windows: Sequence[Window] = DOCUMENTED,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._windows = [
            (window.requests, window.seconds + max(window.seconds * MARGIN, MIN_MARGIN), deque())
            for window in windows
        ]
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._resume_at = float("-inf")

    def acquire(self) -> float:
        """Wait for a slot; returns how long the caller waited."""
        with self._lock:
            now = self._clock()
            at = max(now, self._last, self._resume_at)
            for requests, seconds, sent in self._windows:
                if len(sent) >= requests:
                    at = max(at, sent[-requests] + seconds)
            for requests, _, sent in self._windows:
                sent.append(at)
                while len(sent) > requests:  # only the last ``requests`` can constrain
                    sent.popleft()
            self._last = at
        wait = at - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def defer(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (the server asked us to wait)."""
        with self._lock:
            self._resume_at = max(self._resume_at, self._clock() + seconds)


class Unlimited(RateLimiter):
    """No limits (a local sandbox, or a benchmark with limits off)."""

    def __init__(self) -> None:
        super().__init__(())

    def acquire(self) -> float:
        with self._lock:
            wait = max(0.0, self._resume_at - self._clock())
        if wait > 0:
            self._sleep(wait)
        return wait
