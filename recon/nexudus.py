"""Facts about the Nexudus API that more than one layer needs, without importing a client."""

DEFAULT_BASE_URL = "https://spaces.nexudus.com"
"""The admin API's host (contract section 3: ``--base-url`` defaults to it)."""

MAX_PAGE_SIZE = 1000
"""The largest ``size`` a search page takes."""
