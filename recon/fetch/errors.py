"""The ways a server can misbehave that no retry cures: each ends the fetch with exit 2.

They extend ``recon.errors.FetchError`` (one root, exit 2)::

    FetchError
     ├── ApiUnavailable (recon.errors)
     │    └── FilterRejected     a search refused with HTTP 400 (a filter the API does not take)
     └── ServerMisbehaved        the API's answers cannot make a snapshot that is proven whole
          ├── CountsContradictPages  TotalItems and the pages disagree, or pages never end
          ├── ResponseTooLarge       a body passed the size cap (--max-response-mb)
          ├── Redirected             a 3xx: recon never follows redirects
          └── NotOneMoment           records kept changing: no pass found the API still

Each message is one line: the entity, what the server claimed, what it did,
and what to do. What was fetched is kept for the next run.
"""

from __future__ import annotations

from ..errors import ApiUnavailable, FetchError

KEPT = "what was fetched is kept"


class ServerMisbehaved(FetchError):
    """Raised when the API's answers contradict each other or break a bound recon sets."""


class CountsContradictPages(ServerMisbehaved):
    """Raised when TotalItems and the pages served disagree beyond what changes explain,
    or full pages keep coming past every bound TotalItems allows."""


class ResponseTooLarge(ServerMisbehaved):
    """Raised when a response body passes the size cap; it is not retried."""


class Redirected(ServerMisbehaved):
    """Raised on a 3xx answer: it is neither retried nor followed (it may point elsewhere)."""


class NotOneMoment(ServerMisbehaved):
    """Raised when records kept changing through every re-read pass (``moment.MAX_PASSES``)."""


class FilterRejected(ApiUnavailable):
    """Raised when a search is refused with HTTP 400: the API does not take one of its
    filters. A location scope falls back to filtering after fetching; else it ends the fetch."""
