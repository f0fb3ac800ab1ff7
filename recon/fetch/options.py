"""The command-line options of ``recon fetch`` and ``recon run`` that bound and scope a fetch.

Kept beside the fetch they configure; ``recon.cli`` adds them to its parsers
(``add_arguments``) and passes their values on to ``FetchOptions``
(``values``). Each bound names itself in the error that reaches it. This module
imports nothing heavy: ``recon --help`` reads it.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..argtypes import positive_number, positive_whole

MAX_RESPONSE_BYTES = 64 << 20
"""The default cap on one response body: a page of 1,000 records is a few MiB."""
MAX_REQUESTS = 200_000
"""The default cap on requests per entity: the API's documented daily limit."""
DEFAULT_REQUEST_TIMEOUT = 300.0
DEFAULT_TRIES = 8


def _business_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a location's BusinessId (a positive whole number)"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the scope and the bounds of a fetch to ``parser``."""
    parser.add_argument(
        "--location",
        dest="locations",
        action="append",
        type=_business_id,
        default=[],
        metavar="BUSINESS_ID",
        help="fetch only this location's ledger, e.g. --location 1201: its credits and "
        "allowances, and their uses (repeatable; default: every location)",
    )
    parser.add_argument(
        "--request-timeout",
        type=positive_number,
        default=DEFAULT_REQUEST_TIMEOUT,
        metavar="SECONDS",
        help="most seconds one request may take, first byte to last "
        f"(default {DEFAULT_REQUEST_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-response-mb",
        type=positive_number,
        default=MAX_RESPONSE_BYTES / 2**20,
        metavar="MIB",
        help=f"largest response body accepted, in MiB (default {MAX_RESPONSE_BYTES >> 20})",
    )
    parser.add_argument(
        "--tries",
        type=positive_whole,
        default=DEFAULT_TRIES,
        metavar="N",
        help=f"tries per request on errors that may pass (default {DEFAULT_TRIES})",
    )
    parser.add_argument(
        "--max-requests",
        type=positive_whole,
        default=MAX_REQUESTS,
        metavar="N",
        help=f"most requests per entity (default {MAX_REQUESTS:,}, the API's daily limit)",
    )

    parser.add_argument(
        "--entities",
        action="append",
        default=[],
        metavar="NAME[,NAME]",
        help="fetch only these entities (names or API paths; repeatable; default: all four)",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="discard an unfinished fetch in the snapshot directory instead of resuming it",
    )


def values(args: argparse.Namespace) -> dict[str, Any]:
    """``FetchOptions`` keyword arguments from the parsed options."""
    return {
        "locations": tuple(sorted(set(args.locations))),
        "entities": tuple(
            name.strip() for item in args.entities for name in item.split(",") if name.strip()
        ),
        "restart": args.restart,
        "request_timeout": args.request_timeout,
        "max_response_bytes": max(1, int(args.max_response_mb * 2**20)),
        "tries": args.tries,
        "max_requests": args.max_requests,
    }
