"""Which ``--filter`` names the API can understand, checked before any request.

The API takes ``<Entity>_<Property>`` (equality), ``<Entity>_<ForeignKey>`` (the
field ``<ForeignKey>Id``, given the Id), ``<Entity>_<ForeignKey>_<Property>`` (a
property of the related record) and ``from_``/``to_`` in front of any of them
(ranges). It ignores a name it does not know, which fetches everything: so a
mistyped name is refused here, naming the entity's fields that are close. The
fields known are the contract's (``recon.fields``) and those the API notes list.
The property of a related record whose fields recon does not know (``Business``,
``Coworker``, ...) cannot be checked, and is let through. This module imports
nothing heavy: the command line checks filters before loading the fetch.
"""

from __future__ import annotations

import difflib

from ..entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE, ENTITIES, Entity
from ..errors import UsageError
from ..fields import FIELDS

_BASE = ("Id", "UniqueId", "CreatedOn", "UpdatedOn", "UpdatedBy", "IsNew", "SystemId")

API_FIELDS: dict[Entity, tuple[str, ...]] = {
    # The fields /work/shared/API-NOTES.md lists beyond the contract's table.
    CREDIT: (
        "CoworkerId",
        "BusinessId",
        "BusinessName",
        "BusinessCurrencyCode",
        "Description",
        "TariffBookingCreditId",
        "TariffBookingCreditName",
        "RemainingCredit",
        "TotalCredit",
        "ValidFrom",
        "ExpireDate",
        "CaneBeUsedForBookings",
        "CaneBeUsedForEvents",
        "IsUniversalCredit",
        "AppliesToCharges",
        "UseCreditPrice",
        "CoworkerProductUniqueId",
        "CoworkerContractUniqueId",
        "ElegibleResourceTypes",
        "ElegibleProducts",
        "ElegibleTariffs",
        "ElegiblePasses",
        "EventCategories",
    ),
    CREDIT_USE: (),
    ALLOWANCE: (
        "CoworkerId",
        "BusinessId",
        "ExtraServiceId",
        "ExtraServiceName",
        "ExtraServiceCurrencyCode",
        "ExtraServiceIsPrintingCredit",
        "Description",
        "Notes",
        "TotalUses",
        "RemainingUses",
        "ChargePeriod",
        "Free",
        "Price",
        "ValidFrom",
        "ExpireDate",
        "DueDate",
        "Invoiced",
        "InvoiceDate",
        "IsFromTariff",
        "CoworkerContractUniqueId",
        "BookingId",
        "BookingFromTime",
        "BookingToTime",
        "BookingResourceName",
    ),
    ALLOWANCE_USE: (
        "CoworkerExtraServiceId",
        "BookingId",
        "BookingFromTime",
        "BookingToTime",
        "BookingResourceName",
        "CreditUsed",
    ),
}


def fields_of(entity: Entity) -> tuple[str, ...]:
    """Every field of ``entity`` recon knows, each once, in a stable order."""
    names = [*_BASE, *(field.name for field in FIELDS[entity]), *API_FIELDS[entity]]
    return tuple(dict.fromkeys(names))


def owner_of(name: str) -> Entity | None:
    """The entity a filter name is for (``from_``/``to_`` aside), or None."""
    bare = name.removeprefix("from_").removeprefix("to_")
    return next((e for e in ENTITIES if bare.startswith(f"{e.name}_")), None)


def check(name: str) -> Entity:
    """The entity ``name`` filters; a ``UsageError`` naming close fields when it is unknown."""
    owner = owner_of(name)
    if owner is None:
        names = ", ".join(f"{e.name}_..." for e in ENTITIES)
        raise UsageError(
            f"--filter '{name}' is for none of the entities; filters start with {names}"
        )
    bare = name.removeprefix("from_").removeprefix("to_")
    rest = bare[len(owner.name) + 1 :]
    if not _understood(owner, rest):
        raise UsageError(
            f"--filter '{name}': {owner.name} has no field '{rest}'; {_hint(owner, rest)}"
        )
    return owner


def _understood(entity: Entity, rest: str) -> bool:
    """Whether ``rest`` (after ``<Entity>_``) names a property, a foreign key, or a property
    of a related record. Case-insensitive, as the API binds parameter names."""
    if not rest:
        return False
    known = {field.lower() for field in fields_of(entity)}
    if rest.lower() in known or (rest + "Id").lower() in known:
        return True
    if rest.replace("_", "").lower() in known:
        return True  # a denormalised field: Booking_Resource_Name is BookingResourceName
    key, underscore, related = rest.partition("_")
    if not underscore or not related or (key + "Id").lower() not in known:
        return False
    target = next((e for e in ENTITIES if e.name.lower() == key.lower()), None)
    if target is None:
        # A record recon knows no fields of (Business, Coworker, Booking...): the
        # property cannot be checked, only that it is a name.
        return all(part.isidentifier() for part in related.split("_"))
    return _understood(target, related)


def _hint(entity: Entity, rest: str) -> str:
    fields = fields_of(entity)
    keys = [field.removesuffix("Id") for field in fields if field.endswith("Id") and field != "Id"]
    by_lower = {name.lower(): name for name in (*fields, *keys)}
    close = difflib.get_close_matches(rest.lower(), list(by_lower), n=4, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(f"{entity.name}_{by_lower[c]}" for c in close) + "?"
    return f"its fields: {', '.join(fields)}"
