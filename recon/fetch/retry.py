"""How failed requests are retried: backoff with jitter, and the server's wait.

Three budgets: failures (5xx, connection resets, timeouts, a deadline passed,
truncated or non-JSON bodies) back off exponentially with full jitter up to
``attempts``; a refused connection (nothing listens there: a wrong
``--base-url`` never starts working) only ``connect_attempts`` times;
throttled answers (409, which Nexudus sends "for legacy reasons", or 429)
wait as long as the server says, in ``Retry-After`` or in the body's text
("Wait 3 seconds", as some public clients read it), and count against
``throttled_waits``, so a busy API slows a fetch down without failing it.
What can never succeed (a redirect, a 4xx, a body over the size cap) is not
retried at all.
"""

from __future__ import annotations

import random
import re
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
    deadline: float = 300.0
    """Seconds one request may take from sending to its last byte, whatever the pace."""
    connect_attempts: int = 3
    """Tries per request when the connection is refused, before the fetch stops."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: random.Random = field(default_factory=random.Random, repr=False)

    def backoff_for(self, failures: int) -> float:
        """Full jitter: a uniform wait below the exponential bound."""
        bound = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
        return self.jitter.uniform(0, bound)


_WAIT_IN_TEXT = re.compile(
    rb"(?i)\b(?:wait|retry\s+after|try\s+again\s+in)\s+(\d+(?:\.\d+)?)\s*(?:s|secs?|seconds?)\b"
)
MAX_WAIT = 3600.0
"""The longest wait taken from a server (an hour): a larger figure is taken as this."""


def retry_after(headers: httpx.Headers, body: bytes = b"", default: float = 1.0) -> float:
    """Seconds the server asked us to wait: ``Retry-After`` as seconds or an HTTP date, else
    a number of seconds in the body's text ("Wait 3 seconds"), else ``default``."""
    return min(MAX_WAIT, _asked_wait(headers, body, default))


def _asked_wait(headers: httpx.Headers, body: bytes, default: float) -> float:
    value = headers.get("Retry-After")
    if value is None:
        match = _WAIT_IN_TEXT.search(body[:4096])
        return float(match.group(1)) if match else default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, moment.timestamp() - time.time())
