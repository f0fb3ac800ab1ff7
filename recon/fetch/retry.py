"""How failed requests are retried: backoff with jitter, and the server's Retry-After.

Two budgets: failures (5xx, connection resets, timeouts, truncated or
non-JSON bodies) back off exponentially with full jitter up to ``attempts``;
throttled answers (409, which Nexudus sends "for legacy reasons", or 429)
wait as long as ``Retry-After`` says and count against ``throttled_waits``, so
a busy API slows a fetch down without failing it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

THROTTLED = frozenset({409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    """Tries per request before a failure is final."""
    backoff: float = 0.5
    """Upper bound of the first wait; it doubles with each failure, up to ``max_backoff``."""
    max_backoff: float = 30.0
    throttled_waits: int = 50
    """Throttled answers honoured per request before giving up."""
    timeout: float = 60.0
    """Seconds to wait for a response (connect, read, write, pool each)."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: random.Random = field(default_factory=random.Random, repr=False)

    def backoff_for(self, failures: int) -> float:
        """Full jitter: a uniform wait below the exponential bound."""
        bound = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
        return self.jitter.uniform(0, bound)


def retry_after(response: httpx.Response, default: float = 1.0) -> float:
    """Seconds the server asked us to wait: ``Retry-After`` as seconds or an HTTP date."""
    value = response.headers.get("Retry-After")
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, moment.timestamp() - time.time())
