"""The fields of each entity that the contract types (section 4b), as data.

Names are exactly the API's PascalCase JSON names, misspellings included.
Fields not declared here are optional and free: kept as read, never judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE, Entity


class Kind(Enum):
    """What a field's values must be; the value is how findings name it."""

    INTEGER = "integer"
    NUMBER = "finite number"
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "ISO-8601 date-time"

    @property
    def phrase(self) -> str:
        """The kind with its article, for messages: 'an integer'."""
        return ("an " if self.value[0] in "aeiouI" else "a ") + self.value


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = False


def _fields(*specs: tuple[str, Kind, bool]) -> tuple[Field, ...]:
    return tuple(Field(name, kind, required) for name, kind, required in specs)


INT, NUM, STR, BOOL, TIME = Kind.INTEGER, Kind.NUMBER, Kind.STRING, Kind.BOOLEAN, Kind.DATETIME

BASE = _fields(
    ("Id", INT, True),
    ("UniqueId", STR, True),
    ("CreatedOn", TIME, True),
    ("UpdatedOn", TIME, True),
    ("UpdatedBy", STR, False),
    ("SystemId", STR, False),
    ("IsNew", BOOL, False),
)

BOOKING_LINKS = ("BookingId", "EventAttendeeId", "CoworkerInvoiceLineId")
"""The links of a booking-credit use: each use points at exactly one of them."""

FIELDS: dict[Entity, tuple[Field, ...]] = {
    CREDIT: BASE
    + _fields(
        ("CoworkerId", INT, True),
        ("BusinessId", INT, True),
        ("TotalCredit", NUM, True),
        ("RemainingCredit", NUM, True),
        ("CaneBeUsedForBookings", BOOL, True),
        ("CaneBeUsedForEvents", BOOL, True),
        ("ValidFrom", TIME, False),
        ("ExpireDate", TIME, False),
        ("IsUniversalCredit", BOOL, False),
        ("BusinessCurrencyCode", STR, False),
        ("Description", STR, False),
    ),
    CREDIT_USE: BASE
    + _fields(
        ("CoworkerBookingCreditId", INT, True),
        ("CreditUsed", NUM, True),
        ("BookingId", INT, False),
        ("EventAttendeeId", INT, False),
        ("CoworkerInvoiceLineId", INT, False),
        ("CoworkerInvoiceLineCoworkerInvoiceId", INT, False),
        ("BookingFromTime", TIME, False),
        ("BookingToTime", TIME, False),
        ("Description", STR, False),
        ("BookingResourceName", STR, False),
        ("CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber", STR, False),
        ("EventAttendeeCalendarEventName", STR, False),
        ("EventAttendeeEventProductName", STR, False),
        ("EventAttendeeFullName", STR, False),
        ("EventAttendeeEmail", STR, False),
    ),
    ALLOWANCE: BASE
    + _fields(
        ("TotalUses", NUM, False),
        ("RemainingUses", NUM, False),
        ("ValidFrom", TIME, False),
        ("ExpireDate", TIME, False),
    ),
    ALLOWANCE_USE: BASE
    + _fields(
        ("CoworkerExtraServiceId", INT, True),
        ("BookingId", INT, False),
        ("CreditUsed", NUM, False),
        ("BookingFromTime", TIME, False),
        ("BookingToTime", TIME, False),
    ),
}

ALIASES: dict[Entity, dict[str, str]] = {
    # Some exports name the remaining balance ``Credit``; it is read as RemainingCredit.
    CREDIT: {"Credit": "RemainingCredit"},
}

LABELS: frozenset[str] = frozenset({"UpdatedBy", "BookingResourceName"})
"""Declared text fields whose values repeat across millions of records (who last changed a
record, a room's name): where an entity declares one, it is held as an Arrow dictionary,
each distinct value once per chunk (a free field of the same name stays as read). On 10M uses
the two as plain text are 600 MB; as dictionaries 80 MB and their distinct values. Fields
that are mostly null gain nothing so (an index costs what an offset does) and stay text."""

PRESENTATIONAL: frozenset[str] = frozenset({"ToStringText", "LocalizationDetails"})
"""Fields every API record carries for display (a label, translations), which no rule or
report reads; the contract lets unknown fields be ignored, and on millions of records
these are the largest column, so recon does not load them."""

DATETIME_NAMES: dict[Entity, tuple[str, ...]] = {
    entity: tuple(field.name for field in fields if field.kind is Kind.DATETIME)
    for entity, fields in FIELDS.items()
}
"""Each entity's date-time fields."""

DATETIME_FIELDS: frozenset[str] = frozenset(
    field.name for fields in FIELDS.values() for field in fields if field.kind is Kind.DATETIME
)
