"""A location scope that holds for the whole ledger (``--location BUSINESS_ID``).

A use belongs to the location of its credit, an allowance use to that of its
allowance: so a scope filters every entity the same way, the parents by their
``BusinessId``, the uses through their parent with the API's related-property
filter (``CoworkerBookingCreditUseHistory_CoworkerBookingCredit_BusinessId``).
Filtering credits alone would leave every other location's uses looking like
orphans.

The API is not trusted to apply a filter: every entity is filtered again after
fetching (parents by ``BusinessId``, uses by the Ids of the parents kept), which
costs nothing when the API did it, and catches a server that ignores the filter.
A server that rejects it (HTTP 400) has the entity fetched whole, then filtered.
An equality filter takes one value, so several locations fetch every entity
whole and filter after fetching: one walk instead of one per location, and no
record counted in two walks. The manifest says, per entity, how the scope held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..entities import ENTITIES, Entity
from ..errors import UsageError

BY_API = "by the API"
AFTER_FETCH = "after fetching"


@dataclass(frozen=True)
class Scope:
    """The locations (``BusinessId``) a fetch is limited to; none: every location."""

    locations: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.locations)

    def api_filter(self, entity: Entity) -> dict[str, str]:
        """The filter that asks the API for the entity's records in scope (empty when the
        API cannot be asked: no scope, or several locations)."""
        if len(self.locations) != 1:
            return {}
        return {filter_name(entity): str(self.locations[0])}

    def manifest(self) -> dict[str, Any] | None:
        """The ``scope`` of the manifest (None: not scoped)."""
        if not self:
            return None
        how = (
            "each entity filtered by the API where it applies the filter, and again after "
            "fetching: parents by BusinessId, uses by the Ids of the parents kept"
            if len(self.locations) == 1
            else "every entity fetched whole (an API filter takes one value) and filtered "
            "after fetching: parents by BusinessId, uses by the Ids of the parents kept"
        )
        return {"locations": list(self.locations), "method": how}


def check_filters(scope: Scope, filters: Mapping[str, str]) -> None:
    """Refuse a ``--filter`` that names the location filter a scope sets (one would
    silently override the other)."""
    if not scope:
        return
    taken = {filter_name(entity).lower() for entity in ENTITIES}
    for name in filters:
        if name.lower() in taken:
            raise UsageError(
                f"--filter '{name}' and --location both choose locations; give the locations "
                "with --location only"
            )


def filter_name(entity: Entity) -> str:
    """The API filter on the entity's location: its own ``BusinessId``, or its parent's."""
    if entity.parent is None:
        return f"{entity.name}_BusinessId"
    return f"{entity.name}_{entity.parent.key.removesuffix('Id')}_BusinessId"


def keep_parents(table: pa.Table, locations: tuple[int, ...]) -> pa.Table:
    """The parent records of ``locations`` (a record with no usable BusinessId is in none)."""
    return table.filter(_is_in(table, "BusinessId", pa.array(locations, pa.int64())))


def keep_children(table: pa.Table, entity: Entity, parent_ids: pa.ChunkedArray | None) -> pa.Table:
    """The use records whose parent is among ``parent_ids`` (the parents kept)."""
    assert entity.parent is not None
    wanted = pa.array([], pa.int64())
    if parent_ids is not None and pa.types.is_integer(parent_ids.type):
        wanted = pc.cast(parent_ids.combine_chunks().drop_null(), pa.int64())
    elif parent_ids is not None:
        # Parents whose Ids are not all integers: only the integer ones can be pointed at.
        wanted = pa.array(
            [i for i in map(_as_int, parent_ids.to_pylist()) if i is not None], pa.int64()
        )
    return table.filter(_is_in(table, entity.parent.key, wanted))


def _is_in(table: pa.Table, column: str, wanted: pa.Array) -> pa.Array:
    if column not in table.column_names:
        return pa.array([False] * table.num_rows, pa.bool_())
    data = table.column(column)
    if pa.types.is_integer(data.type):
        found = pc.is_in(pc.cast(data, pa.int64()), value_set=wanted)
        return pc.fill_null(found, False).combine_chunks()
    # A column that is not all integers (a bad value makes it text): compare each value as
    # the API would, an integer or its digits; anything else is in no location.
    values = set(wanted.to_pylist())
    return pa.array([_as_int(value) in values for value in data.to_pylist()], pa.bool_())


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def record(
    scope: Scope, entity: Entity, *, rejected: bool, dropped: int, parent_fetched: bool
) -> dict[str, Any]:
    """How the scope held for one entity, for its manifest entry: ``applied`` says whether
    the API filtered (``by the API``) or recon did (``after fetching: why``)."""
    name = filter_name(entity)
    if not parent_fetched:
        how = (
            f"{BY_API}, unchecked: its parents were not fetched"
            if len(scope.locations) == 1 and not rejected
            else "not applied: its parents were not fetched, so it holds every location"
        )
    elif len(scope.locations) > 1:
        how = f"{AFTER_FETCH}: several locations, so fetched whole"
    elif rejected:
        how = f"{AFTER_FETCH}: the API rejected {name} (HTTP 400), so fetched whole"
    elif dropped:
        how = f"{AFTER_FETCH}: the API ignored {name} (records of other locations came back)"
    else:
        how = BY_API
    return {"filter": name, "applied": how, "records_dropped": dropped}
