"""A Nexudus API simulator: a snapshot served over real HTTP on 127.0.0.1.

It lets the fetcher's tests run the real ``recon fetch`` against an API,
benchmarks measure fetching, and a newcomer try ``recon run`` without a
Nexudus account (``recon sandbox``). It behaves as ``API-NOTES.md`` and the
seeds describe the real API, and switches on, by configuration, the
misbehaviour a real one shows::

    config = SandboxConfig(
        snapshot=Path("sample_data"),   # a snapshot directory, or {entity: [records]}
        token="sandbox-token",          # accepted as Bearer without sign-in
        username="admin@example.com", password="sandbox-password",
        roles=None,                     # None: full administrator; else {"<Entity>-List", ...}
        token_ttl=None,                 # issued tokens stop working after this many seconds
        limits="documented",            # "documented" | "off" | Limits(...)
        dir_convention=None,            # None: as documented; or "one_minus_one", "zero_one"
        latency=0.0,                    # seconds added to every request
        faults=Faults(rate=0.0, kinds=("500", "503", "reset", "truncate", "html"), seed=0),
        mutations=Mutations(after_requests=0, entity=None, inserts=0, deletes=0, seed=0),
        honour_id_range=True,           # whether from_/to_<Entity>_Id filters work
        related_filters="honour",       # <Entity>_<ForeignKey>_<Property>: or "reject" (400),
                                        # "ignore"
        validation_as_200=False,        # create failures as HTTP 200 WasSuccessful:false
        hostile=Hostile(entity=None, after_searches=0, total_items_scale=1.0, endless=False,
                        padding=0, trickle=0.0, body=None, redirect=None),
        ledger_change=LedgerChange(credits=0, entity=..., at_search=1, seed=0),
        throttle_status=409,            # or 429
        throttle_wait_in="header",      # or "body": "Wait N seconds." in the body text
    )
    with Sandbox(config) as sandbox:
        sandbox.base_url               # "http://127.0.0.1:PORT"
        sandbox.records(entity)        # what is served now
        sandbox.mutations_log          # what changed, at which search
        sandbox.stats                  # requests by path and status, 409s, faults, tokens
    serve(config)                      # blocking, for the command line

Modules: ``config`` (the settings), ``store`` (loading, tables in memory),
``query`` (search semantics and the envelope), ``auth`` (tokens, roles),
``throttle`` (409s), ``app`` (the answer to each request), ``server`` (HTTP,
``Sandbox``, ``serve``), ``cli`` (``recon sandbox``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..argtypes import lazy_exports
from .config import ALL_ROLES, Faults, Hostile, LedgerChange, Limits, Mutations, SandboxConfig

# The server and its tables load pyarrow: imported on first use, so that registering
# `recon sandbox` with the command line (cli.add_parser) costs nothing.
_LAZY = {"MutationEvent": "app", "Stats": "app", "Sandbox": "server", "serve": "server"}


__getattr__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:
    from .app import MutationEvent, Stats
    from .server import Sandbox, serve

__all__ = [
    "ALL_ROLES",
    "Faults",
    "Hostile",
    "LedgerChange",
    "Limits",
    "MutationEvent",
    "Mutations",
    "Sandbox",
    "SandboxConfig",
    "Stats",
    "serve",
]
