"""Fetching from the Nexudus REST API into audit-grade snapshots.

``fetch`` is the entry point; ``NexudusClient`` the API client it uses,
usable alone for search, get, batch get and create.
"""

from ..nexudus import DEFAULT_BASE_URL
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
