"""Fetching from the Nexudus REST API into audit-grade snapshots.

``fetch`` is the entry point; ``NexudusClient`` the API client it uses,
usable alone for search, get, batch get and create.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..argtypes import lazy_exports
from ..nexudus import DEFAULT_BASE_URL

# The client, the fetcher and the limits load httpx and pyarrow: imported on first use,
# so that `recon --help` (which reads fetch/options.py) loads neither.
_LAZY = {
    "NexudusClient": "client",
    "Page": "client",
    "Credentials": "credentials",
    "FetchOptions": "fetcher",
    "fetch": "fetcher",
    "DOCUMENTED": "limits",
    "DOCUMENTED_WRITES": "limits",
    "RateLimiter": "limits",
    "Unlimited": "limits",
    "Window": "limits",
    "RetryPolicy": "retry",
}


__getattr__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:
    from .client import NexudusClient, Page
    from .credentials import Credentials
    from .fetcher import FetchOptions, fetch
    from .limits import DOCUMENTED, DOCUMENTED_WRITES, RateLimiter, Unlimited, Window
    from .retry import RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "DOCUMENTED",
    "DOCUMENTED_WRITES",
    "Credentials",
    "FetchOptions",
    "NexudusClient",
    "Page",
    "RateLimiter",
    "RetryPolicy",
    "Unlimited",
    "Window",
    "fetch",
]
