"""The four billing entities of the Nexudus API, as data.

Everything that varies by entity is declared here once: API path, snapshot file
stem, whether a snapshot must hold it, the parent a child record points at, the
fields of a parent's balance, the unit its amounts count in, and the short label
reports use. Loading, derived values, rules and reports look it up rather than
spelling names again. Every entity's records are ordered by ``Id`` (the API's
own order, and the order findings and reports use).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    """What an amount counts: money of the credit's currency, or an allowance's minutes."""

    MONEY = "money"
    """An amount of the credit's currency (``BusinessCurrencyCode``)."""
    QUANTITY = "quantity"
    """A count of an allowance (minutes, days or uses, by its ChargePeriod): never money."""


@dataclass(frozen=True)
class Balance:
    """The fields of a parent record that its ledger of uses must reconcile with."""

    total: str
    """The amount granted, e.g. ``TotalCredit``."""
    remaining: str
    """What the record says is left, e.g. ``RemainingCredit``."""
    unit: Unit


@dataclass(frozen=True)
class Parent:
    """What a child record points at: ``entity`` by the Id in ``key``."""

    entity: Entity
    key: str
    """The child's foreign-key field, e.g. ``CoworkerBookingCreditId``."""


@dataclass(frozen=True)
class Entity:
    """One billing entity: its API name, where it lives, how it relates to the others."""

    name: str
    """The API's entity name, e.g. ``CoworkerBookingCredit``."""
    stem: str
    """The path under ``/api/billing/`` and the snapshot file stem (they are the same)."""
    required: bool
    """Whether an audit needs a file for it (the extra-service files are optional)."""
    short: str
    """The label reports use where room is short: ``credit``, ``use``, ..."""
    parent: Parent | None = None
    """The record each of its records belongs to (a use's credit); None for a parent."""
    balance: Balance | None = None
    """The balance fields its ledger of uses reconciles with; None for a child."""

    def __str__(self) -> str:
        return self.name

    @property
    def amount(self) -> str:
        """The field every use of a ledger counts (both use histories call it CreditUsed)."""
        return "CreditUsed"

    @property
    def unit(self) -> Unit:
        """The unit of this entity's amounts: its own balance's, or its parent's."""
        if self.balance is not None:
            return self.balance.unit
        assert self.parent is not None and self.parent.entity.balance is not None
        return self.parent.entity.balance.unit


CREDIT = Entity(
    "CoworkerBookingCredit",
    "coworkerbookingcredits",
    required=True,
    short="credit",
    balance=Balance("TotalCredit", "RemainingCredit", Unit.MONEY),
)
CREDIT_USE = Entity(
    "CoworkerBookingCreditUseHistory",
    "coworkerbookingcreditusehistories",
    required=True,
    short="use",
    parent=Parent(CREDIT, "CoworkerBookingCreditId"),
)
ALLOWANCE = Entity(
    "CoworkerExtraService",
    "coworkerextraservices",
    required=False,
    short="allowance",
    balance=Balance("TotalUses", "RemainingUses", Unit.QUANTITY),
)
ALLOWANCE_USE = Entity(
    "CoworkerExtraServiceUseHistory",
    "coworkerextraserviceusehistories",
    required=False,
    short="allowance use",
    parent=Parent(ALLOWANCE, "CoworkerExtraServiceId"),
)

ENTITIES: tuple[Entity, ...] = (CREDIT, CREDIT_USE, ALLOWANCE, ALLOWANCE_USE)
"""In the order reports list them."""

BY_NAME: dict[str, Entity] = {entity.name: entity for entity in ENTITIES}

CHILDREN: dict[Entity, Entity] = {
    entity.parent.entity: entity for entity in ENTITIES if entity.parent is not None
}
"""Each parent entity's use history."""
