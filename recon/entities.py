"""The four billing entities of the Nexudus API, as data.

Everything that varies by entity (API path, snapshot file stem, whether a
snapshot must hold it) is declared here once; loading, schemas, rules and
reports look it up rather than spelling names again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    """One billing entity: its API name, where it lives and how it is stored."""

    name: str
    """The API's entity name, e.g. ``CoworkerBookingCredit``."""
    stem: str
    """The path under ``/api/billing/`` and the snapshot file stem (they are the same)."""
    required: bool
    """Whether an audit needs a file for it (the extra-service files are optional)."""

    def __str__(self) -> str:
        return self.name


CREDIT = Entity("CoworkerBookingCredit", "coworkerbookingcredits", required=True)
CREDIT_USE = Entity(
    "CoworkerBookingCreditUseHistory", "coworkerbookingcreditusehistories", required=True
)
ALLOWANCE = Entity("CoworkerExtraService", "coworkerextraservices", required=False)
ALLOWANCE_USE = Entity(
    "CoworkerExtraServiceUseHistory", "coworkerextraserviceusehistories", required=False
)

ENTITIES: tuple[Entity, ...] = (CREDIT, CREDIT_USE, ALLOWANCE, ALLOWANCE_USE)
"""In the order reports list them."""

BY_NAME: dict[str, Entity] = {entity.name: entity for entity in ENTITIES}
