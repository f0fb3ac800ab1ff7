"""Throttling as the API documents it: HTTP 409 with Retry-After once a window is full.

Each limit is an exact sliding window: a log of the times of the requests
admitted within the last ``seconds``, per account. A request is admitted
when every window it counts in holds fewer than its maximum; then its time
is logged in each. Refused requests are not logged (a client that keeps
asking too early is not punished further), and ``Retry-After`` is the time
until the oldest request that fills the tightest window leaves it, rounded
up to whole seconds, at least 1.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from .config import Limits, Window


class Throttle:
    """Admits or refuses requests against ``limits``; thread-safe."""

    def __init__(self, limits: Limits | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._logs: dict[tuple[str, str, Window], deque[float]] = {}

    def admit(self, account: str, *, write: bool) -> int | None:
        """None when the request may proceed (it is then counted), else Retry-After seconds."""
        if self._limits is None:
            return None
        windows = [("all", window) for window in self._limits.all_methods]
        if write:
            windows += [("writes", window) for window in self._limits.writes]
        with self._lock:
            now = self._clock()
            logs = []
            wait = 0.0
            for group, window in windows:
                seconds, most = window
                log = self._logs.setdefault((account, group, window), deque())
                while log and log[0] <= now - seconds:
                    log.popleft()
                if len(log) >= most:
                    # Refused requests are never logged, so the log holds exactly the
                    # maximum and its oldest entry is the one that must leave.
                    wait = max(wait, log[0] + seconds - now)
                logs.append(log)
            if wait > 0:
                return max(1, math.ceil(wait))
            for log in logs:
                log.append(now)
            return None
