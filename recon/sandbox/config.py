"""What a sandbox serves and how it behaves: the configuration dataclasses.

``SandboxConfig`` holds everything; ``Limits``, ``Faults`` and ``Mutations``
group the misbehaviour a real Nexudus API shows (throttling, flaky answers,
a table changing under a walk) so that tests switch each on by name.
``Hostile`` is a server that misbehaves in ways no retry cures (counts that
lie, pages that never end, huge or trickling or non-envelope bodies,
redirects); ``LedgerChange`` changes credits and their uses together while a
client walks from one entity to the next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..entities import BY_NAME, ENTITIES, Entity

VERBS: tuple[str, ...] = ("List", "Read", "Create", "Edit", "Delete")
ALL_ROLES: frozenset[str] = frozenset(f"{e.name}-{verb}" for e in ENTITIES for verb in VERBS)
"""Every role the sandbox knows: ``<Entity>-List``, ``-Read``, ``-Create``, ``-Edit``,
``-Delete`` for the four billing entities (a full administrator holds them all)."""

FAULT_KINDS: tuple[str, ...] = ("500", "503", "reset", "truncate", "html", "slow")
"""Kinds of injected fault. ``"token"`` may also appear in ``Faults.kinds``: it is not a
fault itself but lets faults hit ``/api/token`` too."""

Window = tuple[float, int]
"""(seconds, most requests allowed within any such span)."""


@dataclass(frozen=True)
class Limits:
    """Throttling windows, counted per account with exact sliding windows.

    The defaults are the documented limits: every method at most 1 request per
    100 ms, 120 a minute, 5,000 an hour and 200,000 a day; writes (POST, PUT,
    DELETE, PATCH) also at most 60 a minute and 5,000 a day.
    """

    all_methods: tuple[Window, ...] = ((0.1, 1), (60.0, 120), (3600.0, 5000), (86400.0, 200_000))
    writes: tuple[Window, ...] = ((60.0, 60), (86400.0, 5000))

    def __post_init__(self) -> None:
        for seconds, most in (*self.all_methods, *self.writes):
            if seconds <= 0 or most < 1:
                raise ValueError(
                    f"a throttling window needs seconds > 0 and at least 1 request, "
                    f"not ({seconds}, {most})"
                )


@dataclass(frozen=True)
class Faults:
    """Misbehaviour injected with probability ``rate`` per API request.

    The draw is seeded: for a given seed and order of requests, the same
    requests fail the same way. Faults never change the data.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ("500", "503", "reset", "truncate", "html")
    seed: int = 0
    slow_seconds: float = 5.0
    """How long a ``"slow"`` fault waits before answering (to exercise client timeouts)."""

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.kinds if kind not in (*FAULT_KINDS, "token")]
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; known: {', '.join(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, not {self.rate}")
        if self.rate > 0 and not self.fault_kinds:
            raise ValueError("a fault rate above 0 needs at least one fault kind")

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        """The kinds that are faults (``kinds`` without ``"token"``)."""
        return tuple(kind for kind in self.kinds if kind != "token")

    @property
    def on_token(self) -> bool:
        """Whether ``/api/token`` requests may fail too."""
        return "token" in self.kinds


@dataclass(frozen=True)
class Mutations:
    """Change ``entity``'s table once, right after its ``after_requests``-th search.

    ``inserts`` copies of random records (new, higher Ids; new UniqueIds;
    CreatedOn and UpdatedOn now) are added and ``deletes`` random records that
    existed before are removed. ``after_requests=0`` changes it before the
    first search.
    """

    after_requests: int = 0
    entity: Entity | str | None = None
    inserts: int = 0
    deletes: int = 0
    seed: int = 0


BODIES: tuple[str, ...] = ("null", "list", "number", "string", "records-null", "records-object")
"""What ``Hostile.body`` may serve instead of a search's page envelope: ``null``; the records
as a bare array; ``42``; ``"OK"``; an envelope whose ``Records`` is null, or an object."""


@dataclass(frozen=True)
class Hostile:
    """A server that misbehaves on the searches of ``entity`` (None: every entity), from its
    ``after_searches``-th search on (0: from the first). Everything is off by default and
    nothing draws at random, so a hostile sandbox answers the same requests the same way.
    """

    entity: Entity | str | None = None
    after_searches: int = 0
    total_items_scale: float = 1.0
    """``TotalItems`` is the true count times this, rounded down (0.2: too low; 10: too high)."""
    total_items_at_most: int | None = None
    """``TotalItems`` is never more than this (with ``serve_size`` the same: every page claims
    to be the only one)."""
    serve_size: int = 0
    """Serve at most this many records a page, whatever ``size`` asks (0: as asked), as the
    API does with its default of 25 when it ignores ``size``."""
    endless: bool = False
    """Pages past the last record are filled with made-up records (copies of the last one,
    with Ids past the highest), so every page is full and the pages never end."""
    padding: int = 0
    """Bytes of padding (a ``Padding`` field of that many ``x``) added to every page."""
    trickle: float = 0.0
    """Seconds between the bytes of a page's body (headers come at once)."""
    body: str | None = None
    """One of ``BODIES``: served, with HTTP 200, instead of the page envelope."""
    redirect: str | None = None
    """Answer every search with ``redirect_status`` and ``Location: <redirect><path?query>``."""
    redirect_status: int = 302

    def __post_init__(self) -> None:
        if self.body is not None and self.body not in BODIES:
            raise ValueError(f"unknown hostile body {self.body!r}; known: {', '.join(BODIES)}")
        if min(self.total_items_scale, self.padding, self.trickle, self.serve_size) < 0:
            raise ValueError("hostile total_items_scale, padding and trickle must be 0 or more")
        if not 300 <= self.redirect_status < 400:
            raise ValueError(f"a redirect status is 3xx, not {self.redirect_status}")
        if self.entity is not None:
            resolve_entity(self.entity)

    def applies(self, entity: Entity, searches_answered: int) -> bool:
        return (
            self.entity is None or resolve_entity(self.entity) is entity
        ) and searches_answered >= self.after_searches


@dataclass(frozen=True)
class LedgerChange:
    """Change ``credits`` booking credits and their uses together, once, just before the
    ``at_search``-th search of ``entity`` is answered (1: before its first page, i.e. while a
    client walks from the entity before it to this one).

    Each credit chosen (seeded, among those whose uses balance) gets a new use of 0.25 and
    one of its uses 0.25 more, and its ``RemainingCredit`` 0.50 less, all with ``UpdatedOn``
    now: the ledger balances before and after, and only a snapshot that mixes the two
    moments (the credit before, its uses after) shows a mismatch.
    """

    credits: int = 0
    entity: Entity | str = "CoworkerBookingCreditUseHistory"
    at_search: int = 1
    seed: int = 0


Source = Path | str | Mapping[Any, Sequence[Mapping[str, Any]]] | None
"""A snapshot directory, or records in memory keyed by Entity, entity name or stem."""


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a ``Sandbox`` needs; see the package docstring for each field."""

    snapshot: Source = None
    token: str = "sandbox-token"
    username: str = "admin@example.com"
    password: str = "sandbox-password"
    roles: frozenset[str] | set[str] | None = None
    token_ttl: float | None = None
    limits: Literal["documented", "off"] | Limits = "documented"
    dir_convention: Literal["one_minus_one", "zero_one"] | None = None
    latency: float = 0.0
    faults: Faults = field(default_factory=Faults)
    mutations: Mutations = field(default_factory=Mutations)
    hostile: Hostile = field(default_factory=Hostile)
    ledger_change: LedgerChange = field(default_factory=LedgerChange)
    throttle_status: int = 409
    """409 (what Nexudus sends) or 429 (what public clients also expect)."""
    throttle_wait_in: Literal["header", "body"] = "header"
    """Where a throttled answer says how long to wait: ``Retry-After``, or the body's text
    (``{"Message": "Too many requests. Wait N seconds."}``), as some real answers do."""
    honour_id_range: bool = True
    related_filters: Literal["honour", "reject", "ignore"] = "honour"
    """What a related-property filter (``<Entity>_<ForeignKey>_<Property>``) gets: applied
    through the related record (as documented), refused with HTTP 400, or ignored."""
    validation_as_200: bool = False
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        if self.dir_convention not in (None, "one_minus_one", "zero_one"):
            raise ValueError(
                f"dir_convention must be None, 'one_minus_one' or 'zero_one', "
                f"not {self.dir_convention!r}"
            )
        if not isinstance(self.limits, Limits) and self.limits not in ("documented", "off"):
            raise ValueError(f"limits must be 'documented', 'off' or a Limits, not {self.limits!r}")
        if self.roles is not None:
            unknown = sorted(set(self.roles) - ALL_ROLES)
            if unknown:
                raise ValueError(
                    f"unknown role(s) {unknown}; roles look like 'CoworkerBookingCredit-List'"
                )
        if self.mutations.entity is not None:
            resolve_entity(self.mutations.entity)
        resolve_entity(self.ledger_change.entity)
        if self.throttle_status not in (409, 429):
            raise ValueError(f"throttle_status must be 409 or 429, not {self.throttle_status}")
        if self.related_filters not in ("honour", "reject", "ignore"):
            raise ValueError(
                "related_filters must be 'honour', 'reject' or 'ignore', "
                f"not {self.related_filters!r}"
            )
        if self.throttle_wait_in not in ("header", "body"):
            raise ValueError(
                f"throttle_wait_in must be 'header' or 'body', not {self.throttle_wait_in!r}"
            )

    @property
    def effective_limits(self) -> Limits | None:
        """The throttling windows in force (None: no throttling)."""
        if self.limits == "off":
            return None
        return Limits() if self.limits == "documented" else self.limits  # type: ignore[return-value]


_BY_STEM = {entity.stem: entity for entity in ENTITIES}


def resolve_entity(value: Entity | str) -> Entity:
    """The entity given as an ``Entity``, its name or its stem (case-insensitive)."""
    if isinstance(value, Entity):
        return value
    lowered = str(value).lower()
    for entity in ENTITIES:
        if lowered in (entity.name.lower(), entity.stem):
            return entity
    known = ", ".join(BY_NAME)
    raise ValueError(f"unknown entity {value!r}; known: {known} (or their API paths)")


def stem_entity(stem: str) -> Entity | None:
    """The entity served under ``/api/billing/<stem>``, or None."""
    return _BY_STEM.get(stem.lower())
